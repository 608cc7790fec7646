"""Two processes running the same study name in one store: one definition wins, no run is stored twice."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lstmcast.experiments.store import Store

HELPER = Path(__file__).with_name("_race_study.py")
_spec = importlib.util.spec_from_file_location("_race_study", HELPER)
race = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(race)

ROUNDS = 4
PLANNED = 4 * 2  # 4 configurations x 2 repeats


def _race(folder: Path, test_sizes: tuple[int, int]) -> list[dict[str, str]]:
    """Run two racing processes for ROUNDS rounds; return each round's outcome per process."""
    procs = [subprocess.Popen([sys.executable, str(HELPER), str(folder), who, str(ROUNDS), str(size)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for who, size in zip("AB", test_sizes)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()[-2000:]
    return [{who: (folder / f"result-{k}-{who}").read_text() for who in "AB"} for k in range(ROUNDS)]


def _stored(path: Path) -> tuple[dict, dict[tuple[str, int], tuple[int, float]], dict]:
    """Return the stored spec, (seed, rmse) per run and the predictions of study 'race'."""
    store = Store(path)
    row = store.study("race")
    runs = store.runs(row["id"])
    assert not runs.duplicated(["config", "repeat"]).any()
    scores = {(c, r): (s, x) for c, r, s, x in zip(runs["config"], runs["repeat"], runs["seed"], runs["rmse"])}
    predictions = store.predictions(row["id"])
    store.close()
    return row["spec"], scores, predictions


@pytest.mark.slow
def test_two_processes_with_the_same_definition_share_one_study(tmp_path):
    reference = race.study(12).run(Store(tmp_path / "alone.db"))
    expected = {(c, r): (s, x) for c, r, s, x in
                zip(reference.runs["config"], reference.runs["repeat"], reference.runs["seed"], reference.runs["rmse"])}

    outcomes = _race(tmp_path, (12, 12))

    for k, outcome in enumerate(outcomes):
        assert outcome == {"A": "ok", "B": "ok"}, (k, outcome)
        _, scores, predictions = _stored(tmp_path / f"race{k}.db")
        assert scores == expected  # every run once, bit-identical to a study run alone
        assert len(predictions) == PLANNED


@pytest.mark.slow
def test_two_processes_with_different_definitions_one_is_refused(tmp_path):
    outcomes = _race(tmp_path, (12, 6))

    for k, outcome in enumerate(outcomes):
        assert not any(o.startswith("crash") for o in outcome.values()), (k, outcome)
        winners = [who for who, o in outcome.items() if o == "ok"]
        assert len(winners) == 1, (k, outcome)
        refusal = next(o for o in outcome.values() if o != "ok")
        assert f"race{k}.db" in refusal and "'race'" in refusal and "\n" not in refusal
        # refused at registration (naming the parameter) or, when it registered first and was replaced
        # before its first commit, at its commit
        assert ("test_size=" in refusal and "--name" in refusal) or "redefined" in refusal, refusal

        spec, scores, predictions = _stored(tmp_path / f"race{k}.db")
        assert spec["test_size"] == {"A": 12, "B": 6}[winners[0]]
        assert len(scores) == PLANNED
        # every stored run was made under the stored definition: its predictions cover that test size
        assert {len(p) for p in predictions.values()} == {spec["test_size"]}, (k, outcome)
        assert all(json.loads(key)["batch_size"] in (1, 4) for key, _ in scores)
        assert all(np.isfinite(x) for _, x in scores.values())


@pytest.mark.slow
def test_processes_creating_one_store_and_registering_one_study_at_once_all_succeed(tmp_path):
    helper, copies, rounds = HELPER.with_name("_race_store.py"), 4, 15
    procs = [subprocess.Popen([sys.executable, str(helper), str(tmp_path), str(who), str(copies), str(rounds)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for who in range(copies)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-2000:]

    for k in range(rounds):
        outcomes = [(tmp_path / f"result-{k}-{who}").read_text() for who in range(copies)]
        assert all(o.startswith("ok ") for o in outcomes), (k, outcomes)
        assert sum(int(o.split()[1]) for o in outcomes) == 6, (k, outcomes)  # each run stored by exactly one copy
        store = Store(tmp_path / f"store{k}.db")
        assert store.list_studies()[["name", "configs", "runs"]].values.tolist() == [["s", 2, 6]]
        store.close()
