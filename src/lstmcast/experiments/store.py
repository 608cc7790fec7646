"""An embedded SQLite store of studies, configurations, runs, diagnostics and test predictions.

Every finished group is written in one transaction, so a killed process loses at most the group
in flight and never leaves half a group behind; rerunning a study skips the runs already stored.
Several processes may share one store: a study is registered atomically, a run another process
committed first is not stored twice, and a study name keeps one definition and one data
fingerprint. Per-epoch diagnostics and test predictions are stored as one float array per run (a
BLOB) rather than one row per epoch: a 6000-epoch run is then two rows, not 12,000, and reads back
as numpy. ``Store.diagnostics`` turns them into the tidy table (config, repeat, seed, epoch, split, rmse).

Its tables are prefixed ``lc_`` so that Optuna's storage (``lstmcast search``) lives in the same
file beside them. A store file is stamped with ``APPLICATION_ID`` and its format ``SCHEMA_VERSION`` (SQLite's
application_id and user_version), so a database of another program, a store of another format and
a damaged file each give one ``StoreError`` naming the file and the problem.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from lstmcast.errors import InputError

APPLICATION_ID = 0x6C737463  # "lstc": marks a file as an lstmcast store
# 1: before data fingerprints and stored facts (no stamp); 2: fingerprints and facts;
# 3: tables prefixed lc_ (Optuna's tables share the file: it has its own "studies") and each run's
#    validation RMSE (val_rmse). A format-2 file is migrated in place when opened for writing.
SCHEMA_VERSION = 3
PREFIX = "lc_"
TABLES = tuple(PREFIX + t for t in ("studies", "configs", "runs", "diagnostics", "predictions"))
_V2_TABLES = ("studies", "configs", "runs", "diagnostics", "predictions")
_V1_STUDY_COLUMNS = {"id", "name", "data", "spec", "created", "seconds"}

# AUTOINCREMENT: a study id is never reused, so a process still holding the id of a study that
# another process redefined cannot write into the new definition.
SCHEMA = """
CREATE TABLE IF NOT EXISTS lc_studies (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE NOT NULL, data TEXT NOT NULL,
    fingerprint TEXT NOT NULL, spec TEXT NOT NULL, facts TEXT NOT NULL,
    created REAL NOT NULL, seconds REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS lc_configs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, study_id INTEGER NOT NULL REFERENCES lc_studies(id), key TEXT NOT NULL,
    params TEXT NOT NULL, position INTEGER NOT NULL, UNIQUE (study_id, key));
CREATE TABLE IF NOT EXISTS lc_runs (
    id INTEGER PRIMARY KEY, config_id INTEGER NOT NULL REFERENCES lc_configs(id), repeat INTEGER NOT NULL,
    seed INTEGER NOT NULL, status TEXT NOT NULL, rmse REAL, metrics TEXT, finished REAL NOT NULL,
    val_rmse REAL, UNIQUE (config_id, repeat));
CREATE TABLE IF NOT EXISTS lc_diagnostics (
    run_id INTEGER PRIMARY KEY REFERENCES lc_runs(id), train BLOB NOT NULL, test BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS lc_predictions (
    run_id INTEGER PRIMARY KEY REFERENCES lc_runs(id), test BLOB NOT NULL);
"""
_FIX = "restore a backup or pass another --store path"


class StoreError(InputError):
    """A store file that cannot be used: unreadable, read-only, damaged, of another program or format."""


def _blob(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype="<f8").tobytes()


class Store:
    """A study database at ``path`` (created on first use; ``read_only`` opens an existing one for reading).

        store = Store("lstmcast.db")
        store.list_studies()                 # DataFrame: name, data, configs, runs, created
    """

    def __init__(self, path: str | Path = "lstmcast.db", read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        self._names: dict[int, str] = {}  # study ids this connection registered -> names
        self.conn = None
        try:
            with self._guard("opening the store"):
                self.conn = self._connect()
                self._prepare()
        except BaseException:
            self.close()  # an unusable file is not kept open
            raise

    def close(self) -> None:
        """Close the connection (committed runs are on disk already)."""
        if self.conn is not None:
            self.conn.close()

    def _connect(self) -> sqlite3.Connection:
        memory = str(self.path) == ":memory:"
        if self.path.is_dir():
            raise self._error("it is a folder", "pass a file path")
        if not memory and self.path.exists() and not self.read_only and not os.access(self.path, os.W_OK):
            raise self._error("the file is read-only", "make it writable or pass another --store path")
        if self.read_only and not memory:
            if not self.path.exists():
                raise self._error("there is no such file", "check the path")
            uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
            return sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)  # explicit transactions

    def _prepare(self) -> None:
        """Check what the file holds (creating the tables in a new file) and set the journal mode."""
        self.conn.execute("PRAGMA cell_size_check = ON")  # notice damaged pages early
        app, version, tables = self._stamp()
        if app == 0 and not tables and not self.read_only:
            with self.transaction():  # a second process may create the same new file at once
                app, version, tables = self._stamp()
                if app == 0 and not tables:
                    for statement in SCHEMA.split(";")[:-1]:  # executescript would commit the transaction
                        self.conn.execute(statement)
                    self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    app, version, tables = APPLICATION_ID, SCHEMA_VERSION, set(TABLES)
        if app == APPLICATION_ID and version == 2 and not self.read_only:
            app, version, tables = self._migrate_v2()
        self._check_stamp(app, version, tables)
        if not self.read_only:
            # before a study trains for hours into it: a damaged file is found now, not at the first commit
            problems = [" ".join(r[0].split()) for r in self.conn.execute("PRAGMA quick_check(3)")]
            if problems != ["ok"]:
                raise self._error(f"the file is damaged (SQLite's check: {'; '.join(problems)})", _FIX)
            self._use_wal()
            self.conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives a killed process

    def _migrate_v2(self) -> tuple[int, int, set[str]]:
        """Bring a format-2 store to format 3 in one transaction; return the new stamp.

        Renaming keeps every row and id (SQLite rewrites the foreign keys that name a renamed
        table); runs stored before validation scoring existed get val_rmse NULL.
        """
        with self._guard("upgrading the store from format 2"), self.transaction():
            app, version, tables = self._stamp()
            if version != 2:  # another process upgraded it meanwhile
                return app, version, tables
            missing = [t for t in _V2_TABLES if t not in tables]
            if missing:
                raise self._error(f"its tables {', '.join(missing)} are missing", _FIX)
            for table in _V2_TABLES:
                self.conn.execute(f"ALTER TABLE {table} RENAME TO {PREFIX}{table}")
            self.conn.execute(f"ALTER TABLE {PREFIX}runs ADD COLUMN val_rmse REAL")
            # format-2 studies were scored without a validation tail: say so in their definitions,
            # so that resuming one with another protocol is refused instead of mixing runs
            for study_id, spec in self.conn.execute(f"SELECT id, spec FROM {PREFIX}studies").fetchall():
                spec = {"validation_tail": 0, **self._json(spec, f"the definition of study #{study_id}")}
                self.conn.execute(f"UPDATE {PREFIX}studies SET spec = ? WHERE id = ?",
                                  (json.dumps(spec, sort_keys=True, default=str), study_id))
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return self._stamp()

    def _use_wal(self, patience: float = 30.0) -> None:
        """Switch the file to WAL journaling (readers never block the writer), waiting while others use it."""
        deadline = time.monotonic() + patience
        while self.conn.execute("PRAGMA journal_mode").fetchone()[0] not in ("wal", "memory"):  # in-memory: no WAL
            try:
                self.conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:
                # the switch needs the file to itself, and SQLite reports "busy" at once instead of
                # waiting (a second process opening a new store at the same moment): wait here
                busy = str(getattr(exc, "sqlite_errorname", "")).startswith("SQLITE_BUSY")
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _stamp(self) -> tuple[int, int, set[str]]:
        """Return the file's application id, format version and table names."""
        # one statement reads one snapshot: another process may be creating this store right now
        app, version, names = self.conn.execute(
            """SELECT (SELECT application_id FROM pragma_application_id),
                      (SELECT user_version FROM pragma_user_version),
                      (SELECT group_concat(name, char(31)) FROM sqlite_master
                       WHERE type = 'table' AND name NOT LIKE 'sqlite_%')"""
        ).fetchone()
        return app, version, set(names.split("\x1f")) if names else set()

    def _check_stamp(self, app: int, version: int, tables: set[str]) -> None:
        if app == APPLICATION_ID:
            if version > SCHEMA_VERSION:
                raise self._error(f"it was written by a newer lstmcast (store format {version}; this one reads "
                                  f"{SCHEMA_VERSION})", "upgrade lstmcast or pass another --store path")
            if version == 2:  # opened read-only: it is upgraded by the first command that writes to it
                raise self._error("it is in store format 2, which this lstmcast upgrades only when it may write "
                                  "to the file", "run a command that writes to it (e.g. tune) once, or make it writable")
            if version < SCHEMA_VERSION:
                raise self._error(f"its store format {version} is unknown", _FIX)
            missing = [t for t in TABLES if t not in tables]
            if missing:
                raise self._error(f"its tables {', '.join(missing)} are missing", _FIX)
            return
        if app == 0 and not tables:  # an empty database opened read-only
            raise self._error("it holds no lstmcast tables (an empty database)", "pass the store a study was run in")
        columns = {r[1] for r in self.conn.execute("PRAGMA table_info(studies)")} if "studies" in tables else set()
        if app == 0 and columns == _V1_STUDY_COLUMNS and tables <= set(_V2_TABLES):
            raise self._error(
                "it was written by an older lstmcast (store format 1, without data fingerprints or stored "
                "baselines), which this version does not resume or show",
                "pass a new --store path (the old file is left as it is)",
            )
        raise self._error(f"it is an SQLite database of another program (tables: {', '.join(sorted(tables)) or 'none'}"
                          f"{f', application id {app}' if app else ''})", "pass another --store path")

    def _error(self, problem: str, fix: str) -> StoreError:
        return StoreError(f"{self.path} is not a usable lstmcast store: {problem}; {fix}")

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Turn SQLite's errors about the file into one StoreError naming the file, the problem and the fix."""
        try:
            yield
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise  # a caller's mistake, not the file's
        except sqlite3.DatabaseError as exc:
            raise self._classify(exc, doing) from None

    def _classify(self, exc: sqlite3.DatabaseError, doing: str) -> StoreError:
        code = getattr(exc, "sqlite_errorname", "") or ""
        if code.startswith("SQLITE_READONLY"):
            return self._error(f"the file is read-only ({exc}) while {doing}",
                               "make it and its folder writable or pass another --store path")
        if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return self._error(f"another process kept it locked while {doing} ({exc})",
                               "wait for that process or pass another --store path")
        if code.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
            return self._error(f"the file is damaged or not an SQLite database ({exc}) while {doing}", _FIX)
        if code.startswith("SQLITE_CANTOPEN"):
            return self._error(f"the file cannot be opened ({exc})", "check the path and its permissions")
        if code.startswith("SQLITE_FULL"):
            return self._error(f"the disk is full ({exc}) while {doing}", "free space or pass another --store path")
        return self._error(f"{exc} while {doing}", _FIX)

    def _json(self, text: str | None, where: str):
        """Return the JSON value of a stored text, or StoreError naming the row when it does not parse."""
        try:
            return json.loads(text)
        except (TypeError, ValueError) as exc:
            raise self._error(f"{where} holds bad JSON ({exc})", _FIX) from None

    def _array(self, blob: bytes, where: str) -> np.ndarray:
        if not isinstance(blob, bytes) or len(blob) % 8:
            raise self._error(f"{where} holds a damaged array ({type(blob).__name__} of length {len(blob)})", _FIX)
        return np.frombuffer(blob, dtype="<f8")

    # ---- studies and configurations ----------------------------------------------------------

    def open_study(self, name: str, data: str, spec: dict, configs: list[tuple[str, dict]], *,
                   fingerprint: str = "", facts: dict | None = None) -> int:
        """Return the id of study ``name``, registering it with its configurations if new.

        Registration is one write transaction, so processes racing on a name agree on one
        definition. A stored study of the same name with another data label, data ``fingerprint``
        or ``spec`` is an InputError naming the difference: two studies' runs never mix under one
        name. A definition with no finished run (its first group failed) may be replaced.
        ``facts`` (JSON-able) is kept as the first registration wrote it.
        """
        _check_name(name)
        spec_text = json.dumps(spec, sort_keys=True, default=str)
        with self._guard(f"registering study {name!r}"), self.transaction():
            row = self._definition(name)
            if row is not None and (row[1], row[2], row[3]) != (data, fingerprint, spec_text):
                if self._has_runs(row[0]):
                    raise InputError(self._conflict(name, row[1:], (data, fingerprint, spec_text)))
                self._forget(row[0])  # a definition with no finished run (e.g. its first fit failed) may change
                row = None
            if row is None:
                cur = self.conn.execute(
                    "INSERT INTO lc_studies (name, data, fingerprint, spec, facts, created) VALUES (?, ?, ?, ?, ?, ?)",
                    (name, data, fingerprint, spec_text, json.dumps(facts or {}, default=str), time.time()),
                )
                row = (cur.lastrowid,)
                self.conn.executemany(
                    "INSERT INTO lc_configs (study_id, key, params, position) VALUES (?, ?, ?, ?)",
                    [(row[0], key, json.dumps(params, default=str), i) for i, (key, params) in enumerate(configs)],
                )
        self._names[row[0]] = name
        return row[0]

    def matching_study(self, name: str, data: str, spec: dict, fingerprint: str = "") -> int | None:
        """Return the id of study ``name`` when it is stored with this definition; None when absent or replaceable.

        Reads only (a dry run must not register a study); a conflicting definition that has
        finished runs raises the InputError ``open_study`` would.
        """
        _check_name(name)
        spec_text = json.dumps(spec, sort_keys=True, default=str)
        with self._guard(f"reading study {name!r}"):
            row = self._definition(name)
            if row is None:
                return None
            if (row[1], row[2], row[3]) == (data, fingerprint, spec_text):
                return row[0]
            if self._has_runs(row[0]):
                raise InputError(self._conflict(name, row[1:], (data, fingerprint, spec_text)))
            return None

    def _definition(self, name: str) -> tuple | None:
        """Return (id, data label, fingerprint, spec text) of study ``name``, or None."""
        return self.conn.execute("SELECT id, data, fingerprint, spec FROM lc_studies WHERE name = ?", (name,)).fetchone()

    def _conflict(self, name: str, stored: tuple, asked: tuple) -> str:
        """Return the message for a study name stored with another data label, data fingerprint or spec."""
        (data0, fp0, spec0), (data1, fp1, spec1) = stored, asked
        if data0 != data1:
            return (f"study {name!r} already exists in {self.path} with another definition: it was run on "
                    f"{data0}; this run asks {data1}; choose another --name")
        if fp0 != fp1:
            return (f"study {name!r} in {self.path} was run on {data0} with data fingerprint {fp0[:12] or 'none'}; "
                    f"{data1} now has fingerprint {fp1[:12] or 'none'}: the data changed, and resuming would mix "
                    "runs of different data; restore the data or choose another --name")
        was, asks = _spec_difference(self._json(spec0, f"study {name!r}"), json.loads(spec1))
        return (f"study {name!r} already exists in {self.path} with another definition: it was defined with "
                f"{was}; this run asks {asks}; choose another --name")

    def _forget(self, study_id: int) -> None:
        """Delete a study without runs and its configurations (inside the caller's transaction)."""
        self.conn.execute("DELETE FROM lc_configs WHERE study_id = ?", (study_id,))
        self.conn.execute("DELETE FROM lc_studies WHERE id = ?", (study_id,))

    def _has_runs(self, study_id: int) -> bool:
        return self.conn.execute(
            "SELECT EXISTS (SELECT 1 FROM lc_runs r JOIN lc_configs c ON r.config_id = c.id WHERE c.study_id = ?)",
            (study_id,),
        ).fetchone()[0] == 1

    def find_study(self, name: str) -> dict | None:
        """Return a stored study's row (see ``study``), or None when there is none of that name."""
        with self._guard(f"reading study {name!r}"):
            if self.conn.execute("SELECT 1 FROM lc_studies WHERE name = ?", (name,)).fetchone() is None:
                return None
        return self.study(name)

    def done_runs(self, study_id: int) -> set[tuple[str, int]]:
        """Return the (config key, repeat) pairs already finished in a study."""
        with self._guard("reading finished runs"):
            rows = self.conn.execute(
                "SELECT c.key, r.repeat FROM lc_runs r JOIN lc_configs c ON r.config_id = c.id WHERE c.study_id = ?",
                (study_id,),
            ).fetchall()
        return {(k, rep) for k, rep in rows}

    def transaction(self):
        return _Transaction(self.conn)

    def save_group(self, study_id: int, results: list[dict], seconds: float) -> int:
        """Write the runs of a finished group in one transaction; return how many were new.

        Each result: config_key, repeat, seed, rmse (test), metrics (dict), and optionally val_rmse
        (the validation tail's RMSE),
        diagnostics (train, test arrays per epoch) and predictions (test array). A run that is
        already stored (another process sharing the store committed it first) is left as it is:
        runs are deterministic, so both copies are the same. ``seconds`` is added to the study's
        training time when at least one run is new.
        """
        keys = [(r["config_key"], r["repeat"]) for r in results]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise ValueError(f"run {dup} appears twice in one group")
        name = self._names.get(study_id, f"#{study_id}")
        with self._guard(f"saving runs of study {name!r}"), self.transaction():
            if self.conn.execute("SELECT 1 FROM lc_studies WHERE id = ?", (study_id,)).fetchone() is None:
                raise InputError(
                    f"study {name!r} was redefined or deleted in {self.path} by another process while this one "
                    "was training; its runs were not stored; run it again under another --name"
                )
            ids = dict(self.conn.execute("SELECT key, id FROM lc_configs WHERE study_id = ?", (study_id,)).fetchall())
            done = self.done_runs(study_id)
            now, new = time.time(), 0
            for r in results:
                config_id = ids[r["config_key"]]
                if (r["config_key"], r["repeat"]) in done:
                    continue
                cur = self.conn.execute(
                    "INSERT INTO lc_runs (config_id, repeat, seed, status, rmse, val_rmse, metrics, finished) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (config_id, r["repeat"], r["seed"], r.get("status", "done"), r["rmse"], r.get("val_rmse"),
                     json.dumps(r.get("metrics", {})), now),
                )
                if r.get("diagnostics") is not None:
                    train, test = r["diagnostics"]
                    self.conn.execute("INSERT INTO lc_diagnostics VALUES (?, ?, ?)",
                                      (cur.lastrowid, _blob(train), _blob(test)))
                if r.get("predictions") is not None:
                    self.conn.execute("INSERT INTO lc_predictions VALUES (?, ?)", (cur.lastrowid, _blob(r["predictions"])))
                new += 1
            if new:
                self.conn.execute("UPDATE lc_studies SET seconds = seconds + ? WHERE id = ?", (seconds, study_id))
        return new

    # ---- reading -----------------------------------------------------------------------------

    def study(self, name: str) -> dict:
        """Return a stored study's row (id, name, data, fingerprint, spec, facts, created, seconds).

        InputError when there is no study of that name.
        """
        with self._guard(f"reading study {name!r}"):
            row = self.conn.execute(
                "SELECT id, name, data, fingerprint, spec, facts, created, seconds FROM lc_studies WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                known = [r[0] for r in self.conn.execute("SELECT name FROM lc_studies ORDER BY created")]
                raise InputError(
                    f"no study named {name!r} in {self.path}; stored studies: {', '.join(known) or 'none'}"
                )
        where = f"study {name!r}"
        return {"id": row[0], "name": row[1], "data": row[2], "fingerprint": row[3],
                "spec": self._json(row[4], f"the definition of {where}"),
                "facts": self._json(row[5], f"the stored facts of {where}"), "created": row[6], "seconds": row[7]}

    def list_studies(self) -> pd.DataFrame:
        """Return one row per study: name, data, configurations, finished runs, seconds, created."""
        with self._guard("listing studies"):
            rows = self.conn.execute(
                """SELECT s.name, s.data, (SELECT COUNT(*) FROM lc_configs c WHERE c.study_id = s.id),
                          (SELECT COUNT(*) FROM lc_runs r JOIN lc_configs c ON r.config_id = c.id WHERE c.study_id = s.id),
                          s.seconds, s.created FROM lc_studies s ORDER BY s.created"""
            ).fetchall()
        frame = pd.DataFrame(rows, columns=["name", "data", "configs", "runs", "seconds", "created"])
        frame["created"] = pd.to_datetime(frame["created"], unit="s").dt.strftime("%Y-%m-%d %H:%M:%S")
        return frame

    def configs(self, study_id: int) -> list[tuple[str, dict]]:
        """Return a study's (key, params) in definition order."""
        with self._guard("reading configurations"):
            rows = self.conn.execute(
                "SELECT id, key, params FROM lc_configs WHERE study_id = ? ORDER BY position", (study_id,)
            ).fetchall()
        return [(k, self._json(p, f"configuration row {i}")) for i, k, p in rows]

    def runs(self, study_id: int) -> pd.DataFrame:
        """Return the tidy run table: config key, repeat, seed, status, rmse (test), val_rmse and the other metrics.

        val_rmse is NaN for runs scored without a validation tail (the seeds' protocol, or runs
        stored before format 3).
        """
        with self._guard("reading runs"):
            rows = self.conn.execute(
                """SELECT c.key, r.repeat, r.seed, r.status, r.rmse, r.val_rmse, r.metrics, r.id FROM lc_runs r
                   JOIN lc_configs c ON r.config_id = c.id WHERE c.study_id = ? ORDER BY c.position, r.repeat""",
                (study_id,),
            ).fetchall()
        columns = ["config", "repeat", "seed", "status", "rmse", "val_rmse", "metrics"]
        frame = pd.DataFrame([row[:7] for row in rows], columns=columns)
        frame["val_rmse"] = frame["val_rmse"].astype(float)
        frame["metrics"] = [self._json(row[6], f"run row {row[7]}") for row in rows]
        return frame

    def diagnostics(self, study_id: int) -> pd.DataFrame:
        """Return per-epoch train/test RMSE as a tidy table: config, repeat, seed, epoch, split, rmse."""
        with self._guard("reading diagnostics"):
            rows = self.conn.execute(
                """SELECT c.key, r.repeat, r.seed, d.train, d.test, r.id FROM lc_diagnostics d
                   JOIN lc_runs r ON d.run_id = r.id JOIN lc_configs c ON r.config_id = c.id
                   WHERE c.study_id = ? ORDER BY c.position, r.repeat""",
                (study_id,),
            ).fetchall()
        parts = []
        for key, rep, seed, train, test, run_id in rows:
            for split, blob in (("train", train), ("test", test)):
                values = self._array(blob, f"the {split} diagnostics of run row {run_id}")
                parts.append(pd.DataFrame({"config": key, "repeat": rep, "seed": seed,
                                           "epoch": np.arange(1, len(values) + 1), "split": split, "rmse": values}))
        cols = ["config", "repeat", "seed", "epoch", "split", "rmse"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)

    def predictions(self, study_id: int) -> dict[tuple[str, int], np.ndarray]:
        """Return each run's test predictions keyed by (config key, repeat)."""
        with self._guard("reading predictions"):
            rows = self.conn.execute(
                """SELECT c.key, r.repeat, p.test, r.id FROM lc_predictions p JOIN lc_runs r ON p.run_id = r.id
                   JOIN lc_configs c ON r.config_id = c.id WHERE c.study_id = ?""",
                (study_id,),
            ).fetchall()
        return {(k, rep): self._array(b, f"the predictions of run row {i}") for k, rep, b, i in rows}


def _check_name(name) -> None:
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"a study name needs at least one visible character; got {name!r}")


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _spec_difference(stored: dict, asked: dict) -> tuple[str, str]:
    """Return (what the stored spec says, what the asked spec says) for the first parameters that differ."""
    if stored.get("configs") != asked.get("configs"):
        old, new = stored.get("configs") or [], asked.get("configs") or []
        if len(old) != len(new):
            return f"{len(old)} configurations", f"{len(new)}"
        i = next(i for i, (a, b) in enumerate(zip(old, new)) if a != b)
        keys = sorted(k for k in set(old[i]) | set(new[i]) if old[i].get(k, "unset") != new[i].get(k, "unset"))
        show = lambda c: ", ".join(f"{k}={_short(c.get(k, 'unset'))}" for k in keys)  # noqa: E731
        return f"{show(old[i])} in configuration {i + 1}", show(new[i])
    keys = sorted(k for k in set(stored) | set(asked) if stored.get(k) != asked.get(k))
    return (", ".join(f"{k}={_short(stored.get(k))}" for k in keys),
            ", ".join(f"{k}={_short(asked.get(k))}" for k in keys))


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:  # SQLite may already have rolled back after some errors
            self.conn.execute("ROLLBACK")
        return False
