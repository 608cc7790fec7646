"""The SQLite study store: studies, whole-group transactions, uniqueness and exact array round trips."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from lstmcast.errors import InputError
from lstmcast.experiments.store import Store

CONFIGS = [("a", {"units": 1, "epochs": 5}), ("b", {"units": 1, "epochs": 10})]
SPEC = {"configs": [p for _, p in CONFIGS], "repeats": 2, "test_size": 12, "diagnostics": True}


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "studies.db")
    yield s
    s.close()


def _result(key: str, repeat: int, rmse: float, epochs: int = 3, n_test: int = 4) -> dict:
    rng = np.random.default_rng(repeat + 10 * len(key))
    return {
        "config_key": key, "repeat": repeat, "seed": 1000 + repeat, "rmse": rmse,
        "metrics": {"rmse": rmse, "mae": rmse / 2},
        "diagnostics": (rng.normal(size=epochs), rng.normal(size=epochs)),
        "predictions": rng.normal(size=n_test) * 1e3,
    }


def _count(store: Store, table: str) -> int:
    return store.conn.execute(f"SELECT COUNT(*) FROM lc_{table}").fetchone()[0]


def test_open_study_creates_and_reopens(tmp_path):
    path = tmp_path / "studies.db"
    first = Store(path)
    study_id = first.open_study("s", "shampoo", SPEC, CONFIGS)
    assert first.open_study("s", "shampoo", SPEC, CONFIGS) == study_id
    first.close()

    again = Store(path)
    reordered = dict(reversed(list(SPEC.items())))  # key order is irrelevant
    assert again.open_study("s", "shampoo", reordered, CONFIGS) == study_id
    assert again.configs(study_id) == CONFIGS  # definition order kept
    row = again.study("s")
    assert (row["id"], row["name"], row["data"], row["spec"]) == (study_id, "s", "shampoo", SPEC)
    again.close()


@pytest.mark.parametrize("data, spec", [("shampoo", {**SPEC, "repeats": 3}), ("airline", SPEC)])
def test_another_definition_under_the_same_name_raises(store, data, spec):
    study_id = store.open_study("s", "shampoo", SPEC, CONFIGS)
    store.save_group(study_id, [_result("a", 0, 101.5)], seconds=1.0)
    with pytest.raises(InputError, match="'s' already exists.*another definition"):
        store.open_study("s", data, spec, CONFIGS)
    assert _count(store, "studies") == 1


def test_a_definition_without_finished_runs_may_change(store):
    store.open_study("s", "shampoo", SPEC, CONFIGS)
    second = store.open_study("s", "shampoo", {**SPEC, "repeats": 3}, CONFIGS)
    assert _count(store, "studies") == 1
    assert store.study("s")["spec"] == {**SPEC, "repeats": 3}
    assert store.configs(second) == CONFIGS


def test_save_group_writes_runs_diagnostics_and_predictions(store):
    study_id = store.open_study("s", "shampoo", SPEC, CONFIGS)
    results = [_result("a", 0, 101.5), _result("a", 1, 99.25), _result("b", 0, 98.0), _result("b", 1, 97.0)]
    store.save_group(study_id, results, seconds=1.5)

    runs = store.runs(study_id)
    assert list(runs.columns) == ["config", "repeat", "seed", "status", "rmse", "val_rmse", "metrics"]
    assert runs[["config", "repeat", "seed", "status", "rmse"]].values.tolist() == [
        ["a", 0, 1000, "done", 101.5], ["a", 1, 1001, "done", 99.25],
        ["b", 0, 1000, "done", 98.0], ["b", 1, 1001, "done", 97.0],
    ]
    assert runs["metrics"][0] == {"rmse": 101.5, "mae": 50.75}
    assert store.done_runs(study_id) == {("a", 0), ("a", 1), ("b", 0), ("b", 1)}
    assert store.study("s")["seconds"] == 1.5

    preds = store.predictions(study_id)
    assert set(preds) == {("a", 0), ("a", 1), ("b", 0), ("b", 1)}
    for r in results:
        got = preds[(r["config_key"], r["repeat"])]
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, r["predictions"])  # bit-exact, no text round trip


def test_diagnostics_are_a_tidy_table_that_round_trips_exactly(store):
    study_id = store.open_study("s", "shampoo", SPEC, CONFIGS)
    results = [_result("b", 0, 1.0, epochs=4), _result("a", 1, 2.0, epochs=3)]
    store.save_group(study_id, results, seconds=0.1)

    frame = store.diagnostics(study_id)
    assert list(frame.columns) == ["config", "repeat", "seed", "epoch", "split", "rmse"]
    assert len(frame) == 2 * (4 + 3)
    # ordered by configuration position, then repeat
    assert list(dict.fromkeys(zip(frame["config"], frame["repeat"]))) == [("a", 1), ("b", 0)]
    for r in results:
        part = frame[(frame["config"] == r["config_key"]) & (frame["repeat"] == r["repeat"])]
        assert set(part["seed"]) == {r["seed"]}
        for split, values in zip(("train", "test"), r["diagnostics"]):
            rows = part[part["split"] == split]
            assert rows["epoch"].tolist() == list(range(1, len(values) + 1))
            np.testing.assert_array_equal(rows["rmse"].to_numpy(), values)


def test_special_float_values_round_trip(store):
    study_id = store.open_study("s", "shampoo", SPEC, CONFIGS)
    values = np.array([1 / 3, np.pi, -0.0, 1e-300, 1e300, np.nan, np.inf])
    store.save_group(study_id, [{**_result("a", 0, 1.0), "predictions": values}], seconds=0.0)

    got = store.predictions(study_id)[("a", 0)]
    np.testing.assert_array_equal(got, values)
    assert np.signbit(got[2])


def test_runs_without_diagnostics_or_predictions_store_only_the_run(store):
    study_id = store.open_study("s", "shampoo", SPEC, CONFIGS)
    store.save_group(study_id, [{**_result("a", 0, 5.0), "diagnostics": None, "predictions": None}], seconds=0.0)

    assert len(store.runs(study_id)) == 1
    assert store.predictions(study_id) == {}
    frame = store.diagnostics(study_id)
    assert frame.empty
    assert list(frame.columns) == ["config", "repeat", "seed", "epoch", "split", "rmse"]


def _assert_nothing_saved(store: Store, study_id: int) -> None:
    assert store.runs(study_id).empty
    assert store.diagnostics(study_id).empty
    assert store.predictions(study_id) == {}
    assert _count(store, "runs") == _count(store, "diagnostics") == _count(store, "predictions") == 0
    assert store.study("s")["seconds"] == 0
    assert not store.conn.in_transaction  # rolled back, the connection is usable


@pytest.mark.parametrize(
    "broken, error",
    [
        ({"config_key": "a", "repeat": 1, "seed": 1}, KeyError),  # no rmse
        ({**_result("a", 1, 1.0), "config_key": "nope"}, KeyError),  # unknown configuration
        (_result("a", 0, 7.0), ValueError),  # the same (config, repeat) twice in one group
        ({**_result("b", 0, 1.0), "diagnostics": (np.zeros(2),)}, ValueError),  # malformed diagnostics
    ],
    ids=["missing-key", "unknown-config", "duplicate-run", "bad-diagnostics"],
)
def test_a_failing_group_leaves_no_row_behind(store, broken, error):
    study_id = store.open_study("s", "shampoo", SPEC, CONFIGS)
    results = [_result("a", 0, 1.0), _result("b", 1, 2.0), broken, _result("b", 0, 3.0)]
    with pytest.raises(error):
        store.save_group(study_id, results, seconds=4.0)

    _assert_nothing_saved(store, study_id)
    store.save_group(study_id, [_result("a", 0, 1.0)], seconds=1.0)  # the store still works
    assert len(store.runs(study_id)) == 1


def test_runs_already_stored_are_kept_and_only_new_runs_are_added(store):
    # another process sharing the store may commit some of a group's runs first
    study_id = store.open_study("s", "shampoo", SPEC, CONFIGS)
    assert store.save_group(study_id, [_result("a", 0, 1.0), _result("a", 1, 2.0)], seconds=1.0) == 2
    assert store.save_group(study_id, [_result("b", 0, 5.0), _result("a", 1, 9.0)], seconds=1.0) == 1

    runs = store.runs(study_id)
    assert runs[["config", "repeat", "rmse"]].values.tolist() == [["a", 0, 1.0], ["a", 1, 2.0], ["b", 0, 5.0]]
    assert _count(store, "predictions") == _count(store, "diagnostics") == 3
    assert store.study("s")["seconds"] == 2.0

    assert store.save_group(study_id, [_result("a", 0, 3.0)], seconds=7.0) == 0  # all stored: nothing changes
    assert store.study("s")["seconds"] == 2.0
    assert len(store.runs(study_id)) == 3
    with pytest.raises(sqlite3.IntegrityError):  # enforced by the schema itself
        store.conn.execute(
            "INSERT INTO lc_runs (config_id, repeat, seed, status, rmse, finished) "
            "SELECT id, 0, 1, 'done', 1.0, 0 FROM lc_configs WHERE key = 'a'"
        )


def test_a_group_is_not_stored_into_a_study_another_process_redefined(tmp_path):
    path = tmp_path / "studies.db"
    first, second = Store(path), Store(path)
    study_id = first.open_study("s", "shampoo", SPEC, CONFIGS)  # first trains its first group ...
    second.open_study("s", "shampoo", {**SPEC, "test_size": 6}, CONFIGS)  # ... and second redefines the empty study
    with pytest.raises(InputError, match="study 's' was redefined .* by another process"):
        first.save_group(study_id, [_result("a", 0, 1.0)], seconds=1.0)

    assert _count(second, "runs") == 0
    assert second.study("s")["spec"]["test_size"] == 6
    first.close()
    second.close()


def test_a_changed_definition_names_the_parameter_that_differs(store):
    study_id = store.open_study("s", "shampoo", SPEC, CONFIGS)
    store.save_group(study_id, [_result("a", 0, 1.0)], seconds=1.0)
    with pytest.raises(InputError) as info:
        store.open_study("s", "shampoo", {**SPEC, "test_size": 6}, CONFIGS)
    message = str(info.value)
    assert "study 's' already exists in" in message and "studies.db" in message
    assert "was defined with test_size=12; this run asks test_size=6" in message
    assert "--name" in message and "\n" not in message

    with pytest.raises(InputError, match="units=1 in configuration 2; this run asks units=2"):
        configs = [SPEC["configs"][0], {"units": 2, "epochs": 10}]
        store.open_study("s", "shampoo", {**SPEC, "configs": configs}, CONFIGS)
    with pytest.raises(InputError, match="2 configurations; this run asks 1"):
        store.open_study("s", "shampoo", {**SPEC, "configs": SPEC["configs"][:1]}, CONFIGS)
    assert store.study("s")["spec"] == SPEC


def test_other_data_under_the_same_name_names_both_fingerprints(store):
    study_id = store.open_study("s", "sales.csv", SPEC, CONFIGS, fingerprint="a" * 64)
    store.save_group(study_id, [_result("a", 0, 1.0)], seconds=1.0)
    assert store.open_study("s", "sales.csv", SPEC, CONFIGS, fingerprint="a" * 64) == study_id
    assert store.matching_study("s", "sales.csv", SPEC, "a" * 64) == study_id

    expected = "sales.csv with data fingerprint aaaaaaaaaaaa; sales.csv now has fingerprint bbbbbbbbbbbb"
    with pytest.raises(InputError, match=expected):
        store.open_study("s", "sales.csv", SPEC, CONFIGS, fingerprint="b" * 64)
    with pytest.raises(InputError, match=expected):  # the read-only check of a dry run says the same
        store.matching_study("s", "sales.csv", SPEC, "b" * 64)
    assert store.study("s")["fingerprint"] == "a" * 64


def test_facts_are_stored_with_the_study_and_kept_on_resume(store):
    facts = {"n": 36, "baselines": {"persistence": 136.761, "mean": None}}
    study_id = store.open_study("s", "shampoo", SPEC, CONFIGS, fingerprint="f" * 64, facts=facts)
    assert store.open_study("s", "shampoo", SPEC, CONFIGS, fingerprint="f" * 64, facts={"n": 1}) == study_id
    row = store.study("s")
    assert (row["fingerprint"], row["facts"]) == ("f" * 64, facts)


@pytest.mark.parametrize("name", ["", "   ", "\t\n", None])
def test_a_study_name_without_visible_characters_is_refused(store, name):
    with pytest.raises(InputError, match="study name needs at least one visible character"):
        store.open_study(name, "shampoo", SPEC, CONFIGS)
    assert _count(store, "studies") == 0


def test_matching_study_reads_without_registering(store):
    assert store.matching_study("s", "shampoo", SPEC) is None
    assert _count(store, "studies") == 0
    store.open_study("s", "shampoo", SPEC, CONFIGS)
    assert store.matching_study("s", "shampoo", {**SPEC, "repeats": 5}) is None  # no runs yet: replaceable


def test_studies_are_kept_apart_and_listed(store):
    s1 = store.open_study("first", "shampoo", SPEC, CONFIGS)
    s2 = store.open_study("second", "airline", {**SPEC, "repeats": 1}, CONFIGS[:1])
    store.save_group(s1, [_result("a", 0, 1.0), _result("b", 0, 2.0)], seconds=2.0)
    store.save_group(s2, [_result("a", 0, 3.0)], seconds=0.5)
    store.save_group(s1, [_result("a", 1, 4.0)], seconds=1.0)

    listing = store.list_studies()
    assert list(listing.columns) == ["name", "data", "configs", "runs", "seconds", "created"]
    assert listing[["name", "data", "configs", "runs", "seconds"]].values.tolist() == [
        ["first", "shampoo", 2, 3, 3.0], ["second", "airline", 1, 1, 0.5],
    ]
    assert pd.to_datetime(listing["created"]).notna().all()
    assert store.runs(s2)["rmse"].tolist() == [3.0]
    assert store.done_runs(s2) == {("a", 0)}
    assert set(store.predictions(s2)) == {("a", 0)}
    assert set(zip(store.diagnostics(s2)["config"], store.diagnostics(s2)["repeat"])) == {("a", 0)}


def test_empty_store_lists_nothing(store):
    assert store.list_studies().empty
    assert list(store.list_studies().columns) == ["name", "data", "configs", "runs", "seconds", "created"]


def test_unknown_study_raises_and_names_the_stored_ones(store):
    store.open_study("known", "shampoo", SPEC, CONFIGS)
    with pytest.raises(InputError, match="no study named 'other'.*known"):
        store.study("other")


def test_a_file_that_is_not_sqlite_is_an_input_error(tmp_path):
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database\x00\xff" * 200)
    with pytest.raises(InputError, match="garbage.db is not a usable lstmcast store"):
        Store(path)
    assert path.read_bytes() == b"this is not a database\x00\xff" * 200  # left untouched


def test_a_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not a usable lstmcast store"):
        Store(tmp_path)


def test_commits_are_visible_to_another_connection(tmp_path):
    store = Store(tmp_path / "studies.db")
    study_id = store.open_study("s", "shampoo", SPEC, CONFIGS)
    store.save_group(study_id, [_result("a", 0, 1.0), _result("a", 1, 2.0)], seconds=1.0)

    other = sqlite3.connect(tmp_path / "studies.db")
    assert other.execute("SELECT COUNT(*) FROM lc_runs").fetchone()[0] == 2
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
    store.close()
