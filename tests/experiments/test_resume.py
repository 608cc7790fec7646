"""Resuming studies: reruns skip stored runs, and a process killed with SIGKILL leaves whole groups only."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lstmcast.errors import InputError
from lstmcast.experiments.store import Store
from lstmcast.experiments.study import Study

HELPER = Path(__file__).with_name("_run_study.py")
_spec = importlib.util.spec_from_file_location("_run_study", HELPER)
run_study = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_study)

SHAMPOO = {"units": 1, "batch_size": 4, "stateful": True, "difference": 1, "trim": 2, "look_back": 1}


def _study(**kwargs) -> Study:
    args = {"grid": {"batch_size": [2, 4], "epochs": [5, 10]}, "repeats": 2, "base": SHAMPOO, "name": "resume"}
    return Study("shampoo", **{**args, **kwargs})


def _scores(store: Store, name: str) -> dict[tuple[str, int], tuple[int, float]]:
    """Return (seed, rmse) of every stored run keyed by (config key, repeat)."""
    runs = store.runs(store.study(name)["id"])
    return {(c, r): (s, x) for c, r, s, x in zip(runs["config"], runs["repeat"], runs["seed"], runs["rmse"])}


class _Progress:
    total = None

    def refresh(self):
        pass

    def update(self, n):
        pass


def test_rerunning_a_finished_study_trains_and_adds_nothing(tmp_path):
    path = tmp_path / "studies.db"
    first = _study().run(Store(path))
    stored = Store(path)
    seconds = stored.study("resume")["seconds"]

    progress = _Progress()
    again = _study().run(Store(path), progress=progress)

    assert progress.total == 0  # nothing left to train
    assert len(again.runs) == len(first.runs) == 8
    runs = first.runs
    assert _scores(stored, "resume") == {
        (c, r): (s, x) for c, r, s, x in zip(runs["config"], runs["repeat"], runs["seed"], runs["rmse"])
    }
    assert again.summary().equals(first.summary())
    assert stored.study("resume")["seconds"] == seconds
    assert stored.conn.execute("SELECT COUNT(*) FROM lc_runs").fetchone()[0] == 8
    assert stored.conn.execute("SELECT COUNT(*) FROM lc_predictions").fetchone()[0] == 8


def test_resumed_runs_equal_uninterrupted_runs(tmp_path):
    whole = _study().run(Store(tmp_path / "whole.db"))

    path = tmp_path / "resumed.db"
    _study().run(Store(path))
    store = Store(path)
    # lose the 10-epoch snapshots of batch_size=2 (part of a member) and all of batch_size=4 (a whole group)
    lost = [k for k, p in whole.configs if p["batch_size"] == 4 or p["epochs"] == 10]
    with store.transaction():
        for key in lost:
            ids = "SELECT r.id FROM lc_runs r JOIN lc_configs c ON r.config_id = c.id WHERE c.key = ?"
            store.conn.execute(f"DELETE FROM lc_predictions WHERE run_id IN ({ids})", (key,))
            store.conn.execute(f"DELETE FROM lc_runs WHERE id IN ({ids})", (key,))
    assert len(store.runs(store.study("resume")["id"])) == 2

    plan = _study().plan(store)
    assert plan.skipped_runs == 2
    assert [(g.params["batch_size"], g.epochs, g.n_runs) for g in plan.groups] == [(2, 10, 2), (4, 10, 4)]
    resumed = _study().run(store)

    assert _scores(store, "resume") == _scores(whole.store, "resume")  # a run's result does not depend on its grouping
    assert resumed.summary().equals(whole.summary())
    preds, expected = store.predictions(resumed.study_id), whole.store.predictions(whole.study_id)
    assert set(preds) == set(expected)
    for key in expected:
        np.testing.assert_array_equal(preds[key], expected[key])


def test_a_changed_definition_needs_a_new_name(tmp_path):
    path = tmp_path / "studies.db"
    _study().run(Store(path))

    with pytest.raises(InputError, match="'resume' already exists"):
        _study(repeats=3).run(Store(path))
    with pytest.raises(InputError, match="another definition"):
        _study(grid={"batch_size": [4], "epochs": [5, 10]}).plan(Store(path))

    more = _study(repeats=3, name="resume-3").run(Store(path))
    assert len(more.runs) == 12
    listing = Store(path).list_studies()
    assert listing[["name", "configs", "runs"]].values.tolist() == [["resume", 4, 8], ["resume-3", 4, 12]]


# ---- killed processes ------------------------------------------------------------------------


def _start(path: Path, name: str, epochs: int, batch_sizes: list[int], repeats: int) -> subprocess.Popen:
    args = [sys.executable, str(HELPER), str(path), name, str(epochs), ",".join(map(str, batch_sizes)), str(repeats)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_when(proc: subprocess.Popen, path: Path, query: str, timeout: float = 120.0) -> None:
    """SIGKILL ``proc`` as soon as ``query`` on the store (read by another connection) returns > 0."""
    wal = path.with_name(path.name + "-wal")
    conn = None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the study process ended (rc {proc.returncode}) before it was killed: "
                            f"{proc.stderr.read().decode()[-2000:]}")
            if conn is None and wal.exists():  # WAL mode is set: reading cannot get in the writer's way
                conn = sqlite3.connect(path, timeout=0.1)
            if conn is not None:
                try:
                    if conn.execute(query).fetchone()[0] > 0:
                        os.kill(proc.pid, signal.SIGKILL)
                        return
                except sqlite3.OperationalError:  # tables not created yet, or busy
                    pass
            time.sleep(0.005)
        pytest.fail(f"no {query!r} > 0 within {timeout} s")
    finally:
        if conn is not None:
            conn.close()


def _reap(proc: subprocess.Popen) -> None:
    proc.wait(timeout=30)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def _runs_per_config(path: Path, name: str) -> dict[str, int]:
    store = Store(path)
    try:
        study_id = store.study(name)["id"]
        counts = {key: 0 for key, _ in store.configs(study_id)}
        for key, n in store.conn.execute(
            "SELECT c.key, COUNT(*) FROM lc_runs r JOIN lc_configs c ON r.config_id = c.id "
            "WHERE c.study_id = ? GROUP BY c.key",
            (study_id,),
        ):
            counts[key] = n
        return counts
    finally:
        store.close()


def _assert_valid_and_whole(path: Path, name: str, repeats: int) -> dict[str, int]:
    """Assert the store opens, passes SQLite's integrity check and holds whole groups only; return runs per config."""
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    counts = _runs_per_config(path, name)
    assert set(counts.values()) <= {0, repeats}, counts
    by_group: dict[int, set[int]] = {}
    for key, n in counts.items():
        by_group.setdefault(json.loads(key)["batch_size"], set()).add(n)
    assert all(len(ns) == 1 for ns in by_group.values()), by_group  # both snapshots of a group, or neither
    return counts


def _assert_complete(path: Path, name: str, n_runs: int) -> Store:
    store = Store(path)
    study_id = store.study(name)["id"]
    runs = store.runs(study_id)
    assert len(runs) == n_runs
    assert not runs.duplicated(["config", "repeat"]).any()
    assert store.conn.execute("SELECT COUNT(*) FROM lc_predictions").fetchone()[0] == n_runs
    assert np.isfinite(runs["rmse"]).all()
    return store


@pytest.mark.slow
def test_a_killed_study_keeps_whole_groups_and_resumes(tmp_path):
    path, name, epochs, batch_sizes, repeats = tmp_path / "killed.db", "killed", 400, [2, 4, 5], 2
    proc = _start(path, name, epochs, batch_sizes, repeats)
    _kill_when(proc, path, "SELECT COUNT(*) FROM lc_runs")  # the first group is committed
    _reap(proc)

    counts = _assert_valid_and_whole(path, name, repeats)
    stored = sum(counts.values())
    assert 0 < stored < 2 * len(batch_sizes) * repeats  # killed between groups: some, not all
    before = _scores(Store(path), name)

    run_study.study(name, epochs, batch_sizes, repeats).run(Store(path))

    store = _assert_complete(path, name, 2 * len(batch_sizes) * repeats)
    after = _scores(store, name)
    assert {k: after[k] for k in before} == before  # groups finished before the kill are untouched
    assert store.conn.execute(
        "SELECT COUNT(*) FROM (SELECT config_id, repeat FROM lc_runs GROUP BY config_id, repeat HAVING COUNT(*) > 1)"
    ).fetchone()[0] == 0


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["0.5 s after start", "while the first group trains"])
def test_a_study_killed_before_any_commit_leaves_a_valid_store(tmp_path, moment):
    path, name, epochs, batch_sizes, repeats = tmp_path / "early.db", "early", 200, [4, 5], 2
    proc = _start(path, name, epochs, batch_sizes, repeats)
    if moment == "0.5 s after start":
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
    else:
        _kill_when(proc, path, "SELECT COUNT(*) FROM lc_configs")  # the study is registered, training begins
    _reap(proc)

    if path.exists():  # a kill during start-up may come before the file is created
        store = Store(path)
        assert store.conn.execute("SELECT COUNT(*) FROM lc_runs").fetchone()[0] in (0, 2 * repeats, 4 * repeats)
        store.close()
        if moment != "0.5 s after start":
            assert _assert_valid_and_whole(path, name, repeats) == {k: 0 for k in _runs_per_config(path, name)}

    run_study.study(name, epochs, batch_sizes, repeats).run(Store(path))
    _assert_complete(path, name, 2 * len(batch_sizes) * repeats)


# ---- the data a study resumes on ---------------------------------------------------------------


def _csv(path: Path, values) -> Path:
    """Write a monthly CSV (Time, Sales) of ``values`` and return its path."""
    lines = ["Time,Sales"] + [f"{1991 + i // 12}-{i % 12 + 1:02d},{v}" for i, v in enumerate(values)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _csv_study(path: Path, **kwargs) -> Study:
    args = {"grid": {"epochs": [3]}, "repeats": 2, "base": {**SHAMPOO, "batch_size": 2}, "name": "csv"}
    return Study(str(path), **{**args, **kwargs})


@pytest.fixture
def sales() -> np.ndarray:
    from lstmcast.data.datasets import load

    return load("shampoo").to_numpy()


def test_changed_data_under_the_same_path_is_refused(tmp_path, sales):
    data, path = _csv(tmp_path / "sales.csv", sales), tmp_path / "studies.db"
    first = _csv_study(data).run(Store(path))
    stored = first.store.study("csv")["fingerprint"]

    _csv(data, np.r_[sales[:-1], sales[-1] * 100])  # one value changed, same path, same length
    with pytest.raises(InputError) as info:
        _csv_study(data).run(Store(path))
    message = str(info.value)
    assert f"study 'csv' in {path} was run on {data} with data fingerprint {stored[:12]};" in message
    assert "now has fingerprint " in message and "the data changed" in message
    new = message.split("now has fingerprint ")[1][:12]
    assert new != stored[:12] and len(new) == 12
    with pytest.raises(InputError, match="the data changed"):  # a dry run refuses as well
        _csv_study(data).plan(Store(path))
    assert len(Store(path).runs(first.study_id)) == 2


def test_the_same_data_rewritten_resumes_without_training(tmp_path, sales):
    data, path = _csv(tmp_path / "sales.csv", sales), tmp_path / "studies.db"
    first = _csv_study(data).run(Store(path))
    _csv(data, [f"{v:.2f}" for v in sales])  # other text, the same float64 values and dates

    progress = _Progress()
    again = _csv_study(data).run(Store(path), progress=progress)
    assert progress.total == 0
    assert again.runs["rmse"].tolist() == first.runs["rmse"].tolist()


@pytest.mark.parametrize("change", ["index", "column"])
def test_the_fingerprint_covers_dates_and_column_names(tmp_path, sales, change):
    from lstmcast.experiments.study import fingerprint

    data = _csv(tmp_path / "sales.csv", sales)
    y = _csv_study(data).series()
    other = y.copy()
    if change == "index":
        other.index = other.index + 1  # the same values a month later
    else:
        other.name = "Units"
    assert fingerprint(other) != fingerprint(y)
    assert fingerprint(y.copy()) == fingerprint(y)
    assert len(fingerprint(y)) == 64
