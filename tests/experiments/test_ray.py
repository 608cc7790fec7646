"""Studies and searches on Ray: a local Ray instance gives exactly the local executor's results."""

from __future__ import annotations

import pandas as pd
import pytest

from lstmcast.experiments.search import search
from lstmcast.experiments.store import Store
from lstmcast.experiments.study import Study

ray = pytest.importorskip("ray")  # the optional extra: pip install 'lstmcast[ray]'

BASE = {"units": 2, "difference": 1, "look_back": 2, "epochs": 3}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield
    ray.shutdown()


def _study() -> Study:
    return Study("shampoo", grid={"batch_size": [1, 2, 4]}, repeats=2, base=BASE, name="on-ray", diagnostics=True)


def _table(result) -> pd.DataFrame:
    return result.runs.drop(columns=["metrics"]).sort_values(["config", "repeat"]).reset_index(drop=True)


@pytest.mark.slow
def test_a_study_on_ray_equals_the_same_study_run_locally(local_ray, tmp_path):
    local = _study().run(Store(tmp_path / "local.db"), workers=1)
    on_ray = _study().run(Store(tmp_path / "ray.db"), executor="ray")

    pd.testing.assert_frame_equal(_table(on_ray), _table(local), check_exact=True)
    pd.testing.assert_frame_equal(on_ray.diagnostics(), local.diagnostics(), check_exact=True)
    a, b = local.store.predictions(local.study_id), on_ray.store.predictions(on_ray.study_id)
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


@pytest.mark.slow
def test_a_search_on_ray_stores_every_trial_in_the_driver_store(local_ray, tmp_path):
    result = search("shampoo", trials=3, space=["epochs=2..4"], repeats=2, store=tmp_path / "s.db", executor="ray")

    assert len(result.trials) == 3
    assert all(t["state"] == "COMPLETE" and t["test_rmse"] is not None for t in result.trials)
