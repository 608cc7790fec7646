"""An embedded SQLite store of studies, configurations, runs, diagnostics and test predictions.

Every finished group is written in one transaction, so a killed process loses at most the group
in flight and never leaves half a group behind; rerunning a study skips the runs already stored.
Per-epoch diagnostics and test predictions are stored as one float array per run (a BLOB) rather
than one row per epoch: a 6000-epoch run is then two rows, not 12,000, and reads back as numpy.
``Store.diagnostics`` turns them into the tidy table (config, repeat, seed, epoch, split, rmse).
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lstmcast.errors import InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, data TEXT NOT NULL, spec TEXT NOT NULL,
    created REAL NOT NULL, seconds REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS configs (
    id INTEGER PRIMARY KEY, study_id INTEGER NOT NULL REFERENCES studies(id), key TEXT NOT NULL,
    params TEXT NOT NULL, position INTEGER NOT NULL, UNIQUE (study_id, key));
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, config_id INTEGER NOT NULL REFERENCES configs(id), repeat INTEGER NOT NULL,
    seed INTEGER NOT NULL, status TEXT NOT NULL, rmse REAL, metrics TEXT, finished REAL NOT NULL,
    UNIQUE (config_id, repeat));
CREATE TABLE IF NOT EXISTS diagnostics (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id), train BLOB NOT NULL, test BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS predictions (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id), test BLOB NOT NULL);
"""


def _blob(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype="<f8").tobytes()


def _array(b: bytes) -> np.ndarray:
    return np.frombuffer(b, dtype="<f8")


class Store:
    """A study database at ``path`` (created on first use).

        store = Store("lstmcast.db")
        store.list_studies()                 # DataFrame: name, data, configs, runs, created
    """

    def __init__(self, path: str | Path = "lstmcast.db"):
        self.path = Path(path)
        try:
            self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # explicit transactions
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives a killed process
            self.conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path} is not a usable lstmcast store ({exc}); choose another --store path") from None

    def close(self) -> None:
        self.conn.close()

    # ---- studies and configurations ----------------------------------------------------------

    def open_study(self, name: str, data: str, spec: dict, configs: list[tuple[str, dict]]) -> int:
        """Return the id of study ``name``, creating it with its configurations if new.

        A stored study with the same name but another definition is an error: results of two
        different studies must never mix under one name.
        """
        spec_text = json.dumps(spec, sort_keys=True, default=str)
        row = self.conn.execute("SELECT id, data, spec FROM studies WHERE name = ?", (name,)).fetchone()
        if row is not None and (row[1] != data or row[2] != spec_text) and not self.done_runs(row[0]):
            self._forget(row[0])  # a definition with no finished run (e.g. its first fit failed) may change
            row = None
        if row is not None:
            if row[1] != data or row[2] != spec_text:
                raise InputError(
                    f"study {name!r} already exists in {self.path} with another definition; "
                    "choose a new --name or another --store"
                )
            return row[0]
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO studies (name, data, spec, created) VALUES (?, ?, ?, ?)", (name, data, spec_text, time.time())
            )
            study_id = cur.lastrowid
            self.conn.executemany(
                "INSERT INTO configs (study_id, key, params, position) VALUES (?, ?, ?, ?)",
                [(study_id, key, json.dumps(params, default=str), i) for i, (key, params) in enumerate(configs)],
            )
        return study_id

    def _forget(self, study_id: int) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM configs WHERE study_id = ?", (study_id,))
            self.conn.execute("DELETE FROM studies WHERE id = ?", (study_id,))

    def find_study(self, name: str) -> dict | None:
        """Return a stored study's row (see ``study``), or None when there is none of that name."""
        try:
            return self.study(name)
        except InputError:
            return None

    def done_runs(self, study_id: int) -> set[tuple[str, int]]:
        """Return the (config key, repeat) pairs already finished in a study."""
        rows = self.conn.execute(
            "SELECT c.key, r.repeat FROM runs r JOIN configs c ON r.config_id = c.id WHERE c.study_id = ?", (study_id,)
        )
        return {(k, rep) for k, rep in rows}

    def transaction(self):
        return _Transaction(self.conn)

    def save_group(self, study_id: int, results: list[dict], seconds: float) -> None:
        """Write every run of a finished group in one transaction.

        Each result: config_key, repeat, seed, rmse, metrics (dict), and optionally
        diagnostics (train, test arrays per epoch) and predictions (test array).
        """
        ids = dict(self.conn.execute("SELECT key, id FROM configs WHERE study_id = ?", (study_id,)).fetchall())
        now = time.time()
        with self.transaction():
            for r in results:
                cur = self.conn.execute(
                    "INSERT INTO runs (config_id, repeat, seed, status, rmse, metrics, finished) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (ids[r["config_key"]], r["repeat"], r["seed"], r.get("status", "done"), r["rmse"],
                     json.dumps(r.get("metrics", {})), now),
                )
                if r.get("diagnostics") is not None:
                    train, test = r["diagnostics"]
                    self.conn.execute("INSERT INTO diagnostics VALUES (?, ?, ?)", (cur.lastrowid, _blob(train), _blob(test)))
                if r.get("predictions") is not None:
                    self.conn.execute("INSERT INTO predictions VALUES (?, ?)", (cur.lastrowid, _blob(r["predictions"])))
            self.conn.execute("UPDATE studies SET seconds = seconds + ? WHERE id = ?", (seconds, study_id))

    # ---- reading -----------------------------------------------------------------------------

    def study(self, name: str) -> dict:
        """Return a stored study's row (id, name, data, spec, created, seconds); InputError if absent."""
        row = self.conn.execute("SELECT id, name, data, spec, created, seconds FROM studies WHERE name = ?", (name,)).fetchone()
        if row is None:
            known = [r[0] for r in self.conn.execute("SELECT name FROM studies ORDER BY created")]
            raise InputError(f"no study named {name!r} in {self.path}; stored studies: {', '.join(known) or 'none'}")
        return {"id": row[0], "name": row[1], "data": row[2], "spec": json.loads(row[3]), "created": row[4], "seconds": row[5]}

    def list_studies(self) -> pd.DataFrame:
        """Return one row per study: name, data, configurations, finished runs, seconds, created."""
        rows = self.conn.execute(
            """SELECT s.name, s.data, (SELECT COUNT(*) FROM configs c WHERE c.study_id = s.id),
                      (SELECT COUNT(*) FROM runs r JOIN configs c ON r.config_id = c.id WHERE c.study_id = s.id),
                      s.seconds, s.created FROM studies s ORDER BY s.created"""
        ).fetchall()
        frame = pd.DataFrame(rows, columns=["name", "data", "configs", "runs", "seconds", "created"])
        frame["created"] = pd.to_datetime(frame["created"], unit="s").dt.strftime("%Y-%m-%d %H:%M:%S")
        return frame

    def configs(self, study_id: int) -> list[tuple[str, dict]]:
        """Return a study's (key, params) in definition order."""
        rows = self.conn.execute("SELECT key, params FROM configs WHERE study_id = ? ORDER BY position", (study_id,))
        return [(k, json.loads(p)) for k, p in rows]

    def runs(self, study_id: int) -> pd.DataFrame:
        """Return the tidy run table: config key, repeat, seed, status, rmse and the other metrics."""
        rows = self.conn.execute(
            """SELECT c.key, r.repeat, r.seed, r.status, r.rmse, r.metrics FROM runs r
               JOIN configs c ON r.config_id = c.id WHERE c.study_id = ? ORDER BY c.position, r.repeat""",
            (study_id,),
        ).fetchall()
        frame = pd.DataFrame(rows, columns=["config", "repeat", "seed", "status", "rmse", "metrics"])
        frame["metrics"] = frame["metrics"].map(json.loads)
        return frame

    def diagnostics(self, study_id: int) -> pd.DataFrame:
        """Return per-epoch train/test RMSE as a tidy table: config, repeat, seed, epoch, split, rmse."""
        rows = self.conn.execute(
            """SELECT c.key, r.repeat, r.seed, d.train, d.test FROM diagnostics d JOIN runs r ON d.run_id = r.id
               JOIN configs c ON r.config_id = c.id WHERE c.study_id = ? ORDER BY c.position, r.repeat""",
            (study_id,),
        ).fetchall()
        parts = []
        for key, rep, seed, train, test in rows:
            for split, blob in (("train", train), ("test", test)):
                values = _array(blob)
                parts.append(pd.DataFrame({"config": key, "repeat": rep, "seed": seed,
                                           "epoch": np.arange(1, len(values) + 1), "split": split, "rmse": values}))
        cols = ["config", "repeat", "seed", "epoch", "split", "rmse"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)

    def predictions(self, study_id: int) -> dict[tuple[str, int], np.ndarray]:
        """Return each run's test predictions keyed by (config key, repeat)."""
        rows = self.conn.execute(
            """SELECT c.key, r.repeat, p.test FROM predictions p JOIN runs r ON p.run_id = r.id
               JOIN configs c ON r.config_id = c.id WHERE c.study_id = ?""",
            (study_id,),
        )
        return {(k, rep): _array(b) for k, rep, b in rows}


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb):
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        return False
