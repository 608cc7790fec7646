"""Studies on all cores: groups in worker processes give exactly the sequential results; the driver writes."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from lstmcast.errors import InputError
from lstmcast.experiments.executors import InlineExecutor, ProcessExecutor, check_workers, executor
from lstmcast.experiments.store import Store
from lstmcast.experiments.study import Study

# three groups (batch sizes differ in shape), a few epochs each
SHAMPOO = {"units": 2, "difference": 1, "look_back": 2, "epochs": 4}
GRID = {"batch_size": [1, 2, 4]}


def _study(**kwargs) -> Study:
    return Study("shampoo", grid=GRID, repeats=2, base=SHAMPOO, name="cores", **kwargs)


def _table(result) -> pd.DataFrame:
    return result.runs.drop(columns=["metrics"]).sort_values(["config", "repeat"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("seq") / "s.db")
    return _study(diagnostics=True).run(store, workers=1)


@pytest.mark.slow
def test_worker_processes_give_the_sequential_results_bit_for_bit(sequential, tmp_path):
    store = Store(tmp_path / "p.db")
    parallel = _study(diagnostics=True).run(store, workers=2)

    assert len(_study().plan().groups) == 3
    pd.testing.assert_frame_equal(_table(parallel), _table(sequential), check_exact=True)
    assert parallel.runs["val_rmse"].notna().all()
    a, b = sequential.store.predictions(sequential.study_id), store.predictions(parallel.study_id)
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    pd.testing.assert_frame_equal(sequential.diagnostics(), parallel.diagnostics(), check_exact=True)


def test_a_study_of_one_group_runs_in_process(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise AssertionError("no worker process is needed for one group")

    monkeypatch.setattr(ProcessExecutor, "__init__", refuse)
    study = Study("shampoo", grid={"epochs": [1, 2]}, repeats=2, base={**SHAMPOO, "batch_size": 4}, name="one")
    result = study.run(Store(tmp_path / "s.db"), workers=4)
    assert len(result.runs) == 4


def test_executor_picks_in_process_for_one_worker_or_one_task():
    assert type(executor("local", workers=1)) is InlineExecutor
    assert type(executor("local", workers=8, tasks=1)) is InlineExecutor


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_workers_must_be_a_positive_whole_number(bad):
    with pytest.raises(InputError, match="workers must be a whole number"):
        check_workers(bad)


def test_an_address_without_the_ray_executor_is_refused():
    with pytest.raises(InputError, match="executor='ray'"):
        executor("local", address="ray://head:10001")


def test_an_unknown_executor_is_refused():
    with pytest.raises(InputError, match="executor must be one of local, ray"):
        executor("dask")


def test_the_default_path_does_not_import_ray():
    code = ("import sys, lstmcast.cli, lstmcast.experiments.study as s; "
            "s.make_executor('local', workers=2, tasks=2).close(); print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"



def _fail_on(x: int) -> int:
    if x == 0:
        raise ValueError("task 0 failed")
    import time

    time.sleep(600)  # a long group nobody will store
    return x


@pytest.mark.slow
def test_a_failing_task_reaches_the_driver_and_stops_the_others():
    with pytest.raises(ValueError, match="task 0 failed"):
        with executor("local", workers=2) as ex:
            ex.submit(1, _fail_on, 1)
            ex.submit(0, _fail_on, 0)
            workers = list(ex._pool._processes.values())  # started by the submissions
            while ex.pending:
                ex.next_result()
    assert workers and not any(p.is_alive() for p in workers)  # stopped, not waited for
