"""Damaged, read-only, foreign and old store files: each gives one StoreError naming the file and the problem."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from lstmcast.errors import InputError
from lstmcast.experiments import store as store_module
from lstmcast.experiments.store import APPLICATION_ID, Store, StoreError
from lstmcast.experiments.study import StudyResult

CONFIGS = [("a", {"units": 1, "epochs": 5}), ("b", {"units": 1, "epochs": 10})]
SPEC = {"configs": [p for _, p in CONFIGS], "repeats": 2, "test_size": 12, "diagnostics": True}
FACTS = {"data": "shampoo", "fingerprint": "f" * 64, "n": 36, "test_size": 12, "season_length": 12,
         "baselines": {"persistence": 136.761}}
PAGE = 4096  # SQLite's default page size


def _build(path: Path, runs: int = 40) -> Path:
    """Write a store with one study of ``runs`` runs (enough for several pages of each table) and close it."""
    store = Store(path)
    study_id = store.open_study("s", "shampoo", SPEC, CONFIGS, fingerprint="f" * 64, facts=FACTS)
    rng = np.random.default_rng(0)
    results = [{"config_key": key, "repeat": r, "seed": r, "rmse": float(r), "metrics": {"rmse": float(r)},
                "diagnostics": (rng.normal(size=200), rng.normal(size=200)), "predictions": rng.normal(size=12)}
               for key, _ in CONFIGS for r in range(runs // 2)]
    store.save_group(study_id, results, seconds=1.0)
    store.close()  # the last connection checkpoints the WAL into the file and removes it
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture
def built(tmp_path) -> Path:
    return _build(tmp_path / "good.db")


def _read_everything(path: Path, read_only: bool = False) -> None:
    store = Store(path, read_only=read_only)
    try:
        result = StudyResult.load(store, "s")
        result.diagnostics()
        store.predictions(result.study_id)
        store.list_studies()
    finally:
        store.close()


def _assert_store_error(path: Path, *fragments: str, read_only: bool = False) -> str:
    """Assert that opening and reading the store raises one StoreError naming the file and ``fragments``."""
    with pytest.raises(StoreError) as info:
        _read_everything(path, read_only)
    message = str(info.value)
    assert isinstance(info.value, InputError)  # the CLI's exit 2
    assert "\n" not in message
    assert str(path) in message and "not a usable lstmcast store" in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_the_built_store_reads_back(built):
    _read_everything(built)
    _read_everything(built, read_only=True)


@pytest.mark.parametrize("pages", ["header", "tables", "last"])
def test_zeroed_pages_are_a_store_error(built, pages):
    data = bytearray(built.read_bytes())
    n = len(data) // PAGE
    span = {"header": (0, 1), "tables": (1, n), "last": (n - 1, n)}[pages]
    data[span[0] * PAGE : span[1] * PAGE] = bytes((span[1] - span[0]) * PAGE)
    built.write_bytes(bytes(data))
    _assert_store_error(built, "damaged")


@pytest.mark.parametrize("where", ["magic", "page-types", "every-page"])
def test_flipped_bytes_are_a_store_error(built, where):
    data = bytearray(built.read_bytes())
    if where == "magic":
        offsets = [0, 5]  # the "SQLite format 3" string
    elif where == "page-types":
        offsets = [p * PAGE for p in range(1, len(data) // PAGE)]  # the b-tree page type of every page but the first
    else:
        offsets = [p * PAGE + 7 for p in range(1, len(data) // PAGE)]  # the fragmented-bytes count of every page
    for offset in offsets:
        data[offset] ^= 0xFF
    built.write_bytes(bytes(data))
    _assert_store_error(built, "damaged")


def test_a_truncated_file_is_a_store_error(built):
    data = built.read_bytes()
    built.write_bytes(data[: len(data) // 2])
    _assert_store_error(built, "damaged")


def test_an_sqlite_file_of_another_program_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
        conn.execute("CREATE TABLE studies (id INTEGER PRIMARY KEY, title TEXT)")
    conn.close()
    before = path.read_bytes()
    _assert_store_error(path, "another program", "tables: studies, users")
    with pytest.raises(StoreError, match="another program"):
        Store(path, read_only=True)
    assert path.read_bytes() == before  # not converted to WAL, no tables added


def test_our_stamp_with_missing_tables_is_a_store_error(tmp_path):
    path = tmp_path / "half.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE studies (id INTEGER PRIMARY KEY)")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    _assert_store_error(path, "tables configs, runs, diagnostics, predictions are missing")


def test_a_store_of_a_newer_format_is_refused(built):
    with sqlite3.connect(built) as conn:
        conn.execute("PRAGMA user_version = 4")
    conn.close()
    _assert_store_error(built, "newer lstmcast (store format 4", "upgrade lstmcast")


def test_a_store_of_the_first_format_asks_for_a_new_store_file(tmp_path):
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as conn:  # the tables lstmcast wrote before data fingerprints
        conn.executescript("""
            CREATE TABLE studies (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, data TEXT NOT NULL,
                spec TEXT NOT NULL, created REAL NOT NULL, seconds REAL NOT NULL DEFAULT 0);
            CREATE TABLE configs (id INTEGER PRIMARY KEY, study_id INTEGER NOT NULL, key TEXT NOT NULL,
                params TEXT NOT NULL, position INTEGER NOT NULL, UNIQUE (study_id, key));
            CREATE TABLE runs (id INTEGER PRIMARY KEY, config_id INTEGER NOT NULL, repeat INTEGER NOT NULL,
                seed INTEGER NOT NULL, status TEXT NOT NULL, rmse REAL, metrics TEXT, finished REAL NOT NULL);
            CREATE TABLE diagnostics (run_id INTEGER PRIMARY KEY, train BLOB NOT NULL, test BLOB NOT NULL);
            CREATE TABLE predictions (run_id INTEGER PRIMARY KEY, test BLOB NOT NULL);
            INSERT INTO studies VALUES (1, 'old', 'shampoo', '{}', 0, 0);
        """)
    conn.close()
    before = path.read_bytes()
    _assert_store_error(path, "older lstmcast (store format 1", "pass a new --store path")
    assert path.read_bytes() == before


@pytest.mark.parametrize(("sql", "fragment"), [
    ("UPDATE lc_configs SET params = '{\"units\": 1,' WHERE key = 'b'", "configuration row 2 holds bad JSON"),
    ("UPDATE lc_runs SET metrics = 'rmse=1' WHERE id = 3", "run row 3 holds bad JSON"),
    ("UPDATE lc_studies SET spec = '[1, 2' WHERE name = 's'", "the definition of study 's' holds bad JSON"),
    ("UPDATE lc_studies SET facts = '{\"n\": 36}' WHERE name = 's'", "the stored facts of study 's' do not fit"),
    ("UPDATE lc_predictions SET test = x'0102030405' WHERE run_id = 2", "the predictions of run row 2"),
    ("UPDATE lc_diagnostics SET train = 'text' WHERE run_id = 1", "the train diagnostics of run row 1"),
], ids=["config-json", "metrics-json", "spec-json", "facts-shape", "short-blob", "text-blob"])
def test_a_bad_row_is_a_store_error_naming_the_row(built, sql, fragment):
    with sqlite3.connect(built) as conn:
        conn.execute(sql)
    conn.close()
    _assert_store_error(built, fragment)


@pytest.fixture
def read_only_file(built, monkeypatch) -> Path:
    os.chmod(built, 0o444)
    if os.access(built, os.W_OK):  # root ignores file modes: simulate what another user sees
        real = os.access
        monkeypatch.setattr(store_module.os, "access",
                            lambda p, mode, **k: False if Path(p) == built and mode == os.W_OK else real(p, mode, **k))
    yield built
    os.chmod(built, 0o644)


def test_a_read_only_store_is_refused_for_writing_and_readable_for_reading(read_only_file):
    before = read_only_file.read_bytes()
    with pytest.raises(StoreError, match="good.db is not a usable lstmcast store: the file is read-only; make it"):
        Store(read_only_file)
    _read_everything(read_only_file, read_only=True)  # show and studies still work
    assert read_only_file.read_bytes() == before


def test_writing_through_a_read_only_connection_is_a_store_error(built):
    store = Store(built, read_only=True)
    study_id = store.study("s")["id"]
    with pytest.raises(StoreError, match="good.db is not a usable lstmcast store: the file is read-only"):
        store.save_group(study_id, [{"config_key": "a", "repeat": 99, "seed": 1, "rmse": 1.0}], seconds=1.0)
    with pytest.raises(StoreError, match="read-only"):
        store.open_study("t", "shampoo", SPEC, CONFIGS)
    store.close()
    assert len(Store(built).runs(study_id)) == 40


def test_read_only_needs_an_existing_store(tmp_path):
    with pytest.raises(StoreError, match="no such file"):
        Store(tmp_path / "none.db", read_only=True)
    assert not (tmp_path / "none.db").exists()


def test_an_empty_file_becomes_a_new_store(tmp_path):
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    store = Store(path)
    assert store.list_studies().empty
    assert store.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    store.close()

