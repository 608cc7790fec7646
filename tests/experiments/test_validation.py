"""Honest selection: every run is scored on a validation tail inside the training part and, apart, on the test."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest

from lstmcast.data.datasets import load as load_dataset
from lstmcast.errors import InputError
from lstmcast.experiments.store import SCHEMA_VERSION, Store, StoreError
from lstmcast.experiments.study import Study, StudyResult
from lstmcast.forecaster import Forecaster

BASE = {"units": 2, "difference": 1, "look_back": 2, "batch_size": 4}


def _study(**kwargs) -> Study:
    args = {"grid": {"epochs": [2, 4]}, "repeats": 2, "base": BASE, "test_size": 12, "name": "val"}
    return Study("shampoo", **{**args, **kwargs})


def _solo(params: dict, seed: int, y: pd.Series, fit_end: int) -> np.ndarray:
    """Return the one-step forecasts from ``fit_end`` on of one Forecaster fit on y[:fit_end]."""
    f = Forecaster(**{**params, "seed": [seed]}).fit(y.iloc[:fit_end])
    return f.predict(y, fit_end)


def _rmse(pred, actual) -> float:
    return float(np.sqrt(np.mean((np.ravel(pred) - actual) ** 2)))


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> StudyResult:
    return _study().run(Store(tmp_path_factory.mktemp("val") / "s.db"), workers=1)


def test_each_run_is_scored_on_the_validation_tail_and_apart_on_the_test(result):
    y = load_dataset("shampoo")
    assert result.validation_tail == 12  # as long as the test part: the training part can spare it
    n_test, fit_end = 12, len(y) - 24
    for key, params in result.configs:
        for _, run in result.runs[result.runs["config"] == key].iterrows():
            pred = _solo(params, int(run["seed"]), y, fit_end)  # one fit, one-step forecasts over both parts
            actual = y.to_numpy()
            assert run["val_rmse"] == pytest.approx(_rmse(pred[:12], actual[fit_end:-n_test]), rel=1e-4)
            assert run["rmse"] == pytest.approx(_rmse(pred[12:], actual[-n_test:]), rel=1e-4)


def test_best_is_chosen_on_validation_even_when_the_test_disagrees(result):
    (k1, p1), (k2, p2) = result.configs
    runs = result.runs.copy()
    runs.loc[runs["config"] == k1, ["val_rmse", "rmse"]] = [1.0, 9.0]  # best on validation, worst on test
    runs.loc[runs["config"] == k2, ["val_rmse", "rmse"]] = [2.0, 3.0]
    rigged = StudyResult(result.name, result.data, result.configs, runs, 0.0, result.store, result.study_id,
                         result.repeats, result.facts)

    assert rigged.selected_on == "validation"
    assert rigged.best() == (rigged.label(p1), p1)


def test_the_table_shows_validation_and_test_side_by_side(result):
    table = result.table()

    assert [c for c in table.columns if c[0]] == [(s, m) for s in ("validation", "test")
                                                  for m in ("mean", "std", "min", "max")]
    assert (table[("", "runs")] == 2).all()
    for key, params in result.configs:
        runs = result.runs[result.runs["config"] == key]
        row = table.loc[result.label(params)]
        assert row[("validation", "mean")] == pytest.approx(runs["val_rmse"].mean())
        assert row[("test", "mean")] == pytest.approx(runs["rmse"].mean())


def test_json_reports_both_splits_and_what_chose(result):
    out = result.to_json()

    assert out["selected_on"] == "validation" and out["validation_tail"] == 12
    for entry in out["configs"]:
        assert entry["validation_rmse"]["count"] == 2 and entry["rmse"]["count"] == 2
        assert entry["validation_rmse"]["mean"] != entry["rmse"]["mean"]


def test_validation_tail_zero_is_the_seeds_protocol(tmp_path):
    y = load_dataset("shampoo")
    result = _study(validation_tail=0, grid={"epochs": [2]}).run(Store(tmp_path / "s.db"), workers=1)

    assert result.selected_on == "test" and result.validation_tail == 0
    assert result.runs["val_rmse"].isna().all()
    run = result.runs.iloc[0]
    pred = _solo(result.configs[0][1], int(run["seed"]), y, len(y) - 12)  # fit on the whole training part
    assert run["rmse"] == pytest.approx(_rmse(pred, y.to_numpy()[-12:]), rel=1e-4)
    assert "validation_rmse" not in result.to_json()["configs"][0]


def test_the_default_tail_is_shortened_until_every_configuration_fits():
    y = load_dataset("shampoo")  # 36 months: 24 train
    study = _study(grid={"look_back": [2, 14]})
    test, val = study._check_against(y)

    assert test == 12 and 0 < val < 12
    long = Forecaster(**{**BASE, "look_back": 14})
    long.check_data(24 - val)
    with pytest.raises(InputError):
        long.check_data(24 - val - 1)


def test_a_training_part_too_short_for_any_tail_names_the_way_out():
    with pytest.raises(InputError, match="too short to keep a validation tail.*validation_tail=0"):
        _study(grid={"look_back": [22]})._check_against(load_dataset("shampoo"))


@pytest.mark.parametrize("bad", [-1, 24, 1.5, "3", True])
def test_a_bad_validation_tail_is_refused(bad):
    with pytest.raises(InputError, match="validation_tail"):
        _study(validation_tail=bad)._check_against(load_dataset("shampoo"))


def test_a_given_tail_the_configuration_cannot_fit_is_refused():
    with pytest.raises(InputError, match="the fitting part"):
        _study(validation_tail=22)._check_against(load_dataset("shampoo"))


def test_a_study_resumed_with_another_tail_is_refused(result):
    with pytest.raises(InputError, match="validation_tail"):
        _study(validation_tail=6).run(result.store, workers=1)


# ---- format 2 -> 3 -------------------------------------------------------------------------

V2 = """
CREATE TABLE studies (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE NOT NULL, data TEXT NOT NULL,
    fingerprint TEXT NOT NULL, spec TEXT NOT NULL, facts TEXT NOT NULL, created REAL NOT NULL,
    seconds REAL NOT NULL DEFAULT 0);
CREATE TABLE configs (id INTEGER PRIMARY KEY AUTOINCREMENT, study_id INTEGER NOT NULL REFERENCES studies(id),
    key TEXT NOT NULL, params TEXT NOT NULL, position INTEGER NOT NULL, UNIQUE (study_id, key));
CREATE TABLE runs (id INTEGER PRIMARY KEY, config_id INTEGER NOT NULL REFERENCES configs(id),
    repeat INTEGER NOT NULL, seed INTEGER NOT NULL, status TEXT NOT NULL, rmse REAL, metrics TEXT,
    finished REAL NOT NULL, UNIQUE (config_id, repeat));
CREATE TABLE diagnostics (run_id INTEGER PRIMARY KEY REFERENCES runs(id), train BLOB NOT NULL, test BLOB NOT NULL);
CREATE TABLE predictions (run_id INTEGER PRIMARY KEY REFERENCES runs(id), test BLOB NOT NULL);
"""


def _v2_store(path) -> None:
    spec = {"configs": [{"epochs": 3}], "repeats": 1, "test_size": 12}
    facts = {"data": "shampoo", "fingerprint": "f", "n": 36, "test_size": 12, "season_length": 12,
             "baselines": {"persistence": 136.7}}
    with sqlite3.connect(path) as conn:
        conn.executescript(V2)
        conn.execute("INSERT INTO studies VALUES (1, 'old', 'shampoo', 'f', ?, ?, 0, 1.5)",
                     (json.dumps(spec, sort_keys=True), json.dumps(facts)))
        conn.execute("INSERT INTO configs VALUES (1, 1, 'k', ?, 0)", (json.dumps({"epochs": 3}),))
        conn.execute("INSERT INTO runs VALUES (1, 1, 0, 7, 'done', 101.5, ?, 0)", (json.dumps({"rmse": 101.5}),))
        conn.execute("INSERT INTO predictions VALUES (1, ?)", (np.arange(12.0).tobytes(),))
        conn.execute("PRAGMA application_id = 1819505763")
        conn.execute("PRAGMA user_version = 2")
    conn.close()


def test_a_format_2_store_is_migrated_in_place_keeping_every_row(tmp_path):
    path = tmp_path / "old.db"
    _v2_store(path)
    store = Store(path)

    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"lc_studies", "lc_configs", "lc_runs", "lc_predictions"} <= tables and "studies" not in tables
    old = StudyResult.load(store, "old")
    assert old.runs[["repeat", "seed", "rmse"]].values.tolist() == [[0, 7, 101.5]]
    assert np.isnan(old.runs["val_rmse"].iloc[0])
    assert old.selected_on == "test"  # stored before validation tails: chosen on the test part
    assert store.study("old")["spec"]["validation_tail"] == 0
    assert (store.predictions(old.study_id)[("k", 0)] == np.arange(12.0)).all()
    store.close()
    Store(path).close()  # a second opening finds format 3 and changes nothing


def test_a_format_2_store_opened_read_only_asks_to_be_opened_for_writing(tmp_path):
    path = tmp_path / "old.db"
    _v2_store(path)
    with pytest.raises(StoreError, match="store format 2.*writes to it"):
        Store(path, read_only=True)
