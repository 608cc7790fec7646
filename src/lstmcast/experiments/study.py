"""Studies: configurations x repeats, evaluated by one-step walk-forward, trained group by group.

A configuration is a distribution, not a number (the seeds' lesson), so every configuration is
run ``repeats`` times and compared by summary statistics. The plan (plan.py) puts every run that
shares tensor shapes into one ensemble, so a whole study is a few training loops.

    study = Study("shampoo", grid={"epochs": [500, 1000], "batch_size": [1, 2, 4]}, repeats=30,
                  base={"stateful": True, "units": 1, "difference": 1}, name="batch-vs-epochs")
    result = study.run(Store("lstmcast.db"))
    result.summary()                 # describe() of test RMSE per configuration
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstmcast.data.io import load_data
from lstmcast.data.validate import check_int
from lstmcast.errors import InputError
from lstmcast.evaluation.baselines import Persistence
from lstmcast.evaluation.split import resolve_test_size
from lstmcast.evaluation.walk_forward import target_series, walk_forward
from lstmcast.experiments.plan import FORECASTER_PARAMS, Group, Plan, canonical, make_plan
from lstmcast.experiments.store import Store
from lstmcast.forecaster import Forecaster


@dataclass
class Study:
    """A grid (or list) of configurations, each run ``repeats`` times and scored on the test split.

    ``grid`` maps parameter names to values (the product is taken); ``configs`` lists explicit
    configurations instead (keys that are not Forecaster parameters are labels, e.g. which
    experiment a configuration belongs to). ``base`` holds Forecaster parameters shared by all.
    """

    data: object
    grid: dict = field(default_factory=dict)
    repeats: int = 30
    base: dict = field(default_factory=dict)
    configs: list | None = None
    test_size: int | float = 12
    column: str | list | None = None  # for a CSV/dataset source: the column(s) to keep (load_data)
    date_column: str | None = None
    name: str | None = None
    diagnostics: bool = False
    keep_predictions: bool = True

    def config_list(self) -> list[dict]:
        """Return every configuration: ``base`` overlaid with each grid point (or each explicit config)."""
        if self.configs is not None:
            points = [dict(c) for c in self.configs]
        else:
            keys = list(self.grid)
            points = [dict(zip(keys, combo)) for combo in itertools.product(*(self.grid[k] for k in keys))]
        if not points:
            raise InputError("the study has no configurations; give --grid NAME=V1,V2 or a configs list")
        configs = [{**self.base, **p} for p in points]
        keys = [canonical(c) for c in configs]
        if len(set(keys)) != len(keys):
            dup = next(c for c, k in zip(configs, keys) if keys.count(k) > 1)
            raise InputError(f"configuration {dup} is listed twice; list each configuration once")
        for c in configs:
            member_level = sorted(set(c) & {"seed", "members"})
            if member_level:
                raise InputError(
                    f"{member_level} cannot vary in a study: seeds are set per repeat by the study; use --repeats"
                )
            Forecaster(**_forecaster_params(c)).check_params()
            if c.get("patience") is not None:
                raise InputError(
                    "early stopping (patience) cannot be used in a study: runs are read off at fixed epoch counts; "
                    "put the epoch counts in the grid instead"
                )
            unknown = [k for k in c if k not in FORECASTER_PARAMS and self.configs is None]
            if unknown:
                raise InputError(
                    f"unknown parameter(s) {unknown} in the grid; known: {', '.join(sorted(FORECASTER_PARAMS))}"
                )
        return configs

    @property
    def study_name(self) -> str:
        if self.name:
            return self.name
        label = self.data if isinstance(self.data, str) else "data"
        return f"{label}-" + "-".join(self.grid) if self.grid else f"{label}-study"

    def spec(self) -> dict:
        """Return the definition stored with the study (what must match to resume it)."""
        return {"configs": self.config_list(), "repeats": self.repeats, "test_size": self.test_size,
                "column": self.column, "date_column": self.date_column,
                "diagnostics": self.diagnostics}

    def series(self) -> pd.Series:
        return load_data(self.data, column=self.column, date_column=self.date_column)

    def plan(self, store: Store | None = None) -> Plan:
        """Return the execution plan, leaving out runs already finished in ``store``."""
        check_int(self.repeats, "repeats", 1)
        configs = self.config_list()
        self._check_against(self.series())
        done: set = set()
        if store is not None:  # read-only: a dry run must not register the study
            stored = store.find_study(self.study_name)
            if stored is not None:
                if stored["spec"] == json.loads(json.dumps(self.spec(), default=str)):
                    done = store.done_runs(stored["id"])
                elif store.done_runs(stored["id"]):
                    raise InputError(
                        f"study {self.study_name!r} already exists in {store.path} with another definition; "
                        "choose a new --name or another --store"
                    )
        return make_plan(self.study_name, configs, self.repeats, done)

    def _check_against(self, y) -> int:
        """Return the test size after checking every configuration against the data (before anything trains)."""
        test = resolve_test_size(len(y), self.test_size)
        for config in self.config_list():
            f = Forecaster(**_forecaster_params(config))
            target_series(f, y)
            f.check_data(len(y) - test, what=f"the training part (all but the last {test})")
        return test

    def _open(self, store: Store, y) -> int:
        if isinstance(self.data, str):
            data_label = self.data
        else:  # in-memory data: identified by its content, so two series never mix under one name
            digest = hashlib.sha256(pd.util.hash_pandas_object(y, index=True).to_numpy().tobytes()).hexdigest()
            data_label = f"pandas:{len(y)}:{digest[:16]}"
        configs = [(canonical(c), c) for c in self.config_list()]
        return store.open_study(self.study_name, data_label, self.spec(), configs)

    def run(self, store: Store | None = None, progress=None) -> "StudyResult":
        """Run every unfinished group, committing each to ``store`` as it finishes; return the results.

        ``progress`` (optional) is a tqdm-like object: ``total`` is set to the epochs to train and
        ``update(n)`` is called as epochs finish.
        """
        check_int(self.repeats, "repeats", 1)
        store = store if store is not None else Store(":memory:")
        y = self.series()
        test = self._check_against(y)
        study_id = self._open(store, y)
        plan = make_plan(self.study_name, self.config_list(), self.repeats, store.done_runs(study_id))
        if progress is not None:
            progress.total = sum(g.epochs for g in plan.groups)
            progress.refresh()
        for i, group in enumerate(plan.groups):
            if progress is not None and hasattr(progress, "set_description"):
                progress.set_description(f"group {i + 1}/{len(plan.groups)} ({len(group.members)} members)")
            t0 = time.perf_counter()
            results = run_group(group, y, test, self.diagnostics, self.keep_predictions, progress)
            store.save_group(study_id, results, time.perf_counter() - t0)
        return StudyResult.load(store, self.study_name)  # seconds: all training time stored for the study


def run_group(group: Group, y, test: int, diagnostics: bool, keep_predictions: bool, progress=None) -> list[dict]:
    """Train one group as a single ensemble; return one result per run (at its own epoch count)."""
    start = len(y) - test
    train = y.iloc[:start]
    f = Forecaster(**group.forecaster_params())
    scored = target_series(f, y)  # the column the forecaster predicts
    actual = scored.to_numpy()[start:]
    snapshots: dict[int, list[tuple[int, object]]] = {}
    for k, member in enumerate(group.members):
        for run in member.runs:
            snapshots.setdefault(run.epochs, []).append((k, run))
    n = len(group.members)
    curves = np.full((2, group.epochs, n), np.nan) if diagnostics else None
    results: list[dict] = []
    evaluators: dict = {}

    def on_epoch(epoch: int, net, losses) -> None:
        if not evaluators:
            # one evaluator from the first predictable training position to the end: a single
            # (stateful) replay gives both the train curve and the test predictions
            first = f.difference + f.look_back + (f.trim if f.stateful else 0) if diagnostics else start
            evaluators["all"] = f.one_step_evaluator(y, first)
            evaluators["split"] = start - first
            evaluators["train_actual"] = scored.to_numpy()[first:start]
        if diagnostics or epoch in snapshots:
            every = evaluators["all"]()[..., 0]  # (members, positions)
            pred = every[:, evaluators["split"] :]  # (members, n_test)
            err = pred - actual
            test_rmse = np.sqrt(np.mean(err**2, axis=1))
            if diagnostics:
                curves[1, epoch - 1] = test_rmse
                tp = every[:, : evaluators["split"]]
                curves[0, epoch - 1] = np.sqrt(np.mean((tp - evaluators["train_actual"]) ** 2, axis=1))
            for k, run in snapshots.get(epoch, ()):
                results.append({
                    "config_key": run.config_key, "repeat": run.repeat, "seed": run.seed,
                    "rmse": float(test_rmse[k]),
                    "metrics": {"rmse": float(test_rmse[k]), "mae": float(np.mean(np.abs(err[k])))},
                    "predictions": pred[k].copy() if keep_predictions else None,
                    "diagnostics": (curves[0, : run.epochs, k].copy(), curves[1, : run.epochs, k].copy())
                    if diagnostics else None,
                })
        if progress is not None:
            progress.update(1)

    f.fit(train, callbacks=(on_epoch,))
    return results


@dataclass
class StudyResult:
    """A stored study's runs, read back from the store: summaries need no recomputation."""

    name: str
    data: str
    configs: list[tuple[str, dict]]
    runs: pd.DataFrame
    persistence: float | None
    seconds: float
    store: Store
    study_id: int

    @classmethod
    def load(cls, store: Store, name: str) -> "StudyResult":
        """Return the results of study ``name`` in ``store``."""
        row = store.study(name)
        spec = row["spec"]
        persistence = _persistence_rmse(row["data"], spec)
        return cls(name, row["data"], store.configs(row["id"]), store.runs(row["id"]), persistence,
                   row["seconds"], store, row["id"])

    def varying(self) -> list[str]:
        """Return the parameters that differ between configurations (the table's labels)."""
        keys = sorted({k for _, p in self.configs for k in p})
        return [k for k in keys if len({canonical(p.get(k)) for _, p in self.configs}) > 1]

    def label(self, params: dict) -> str:
        vary = self.varying()
        return ", ".join(f"{k}={params.get(k)}" for k in vary) if vary else "config"

    def summary(self) -> pd.DataFrame:
        """Return describe() of test RMSE per configuration (count, mean, std, min, 25%, 50%, 75%, max)."""
        rows = []
        for key, params in self.configs:
            rmse = self.runs.loc[self.runs["config"] == key, "rmse"]
            stats = rmse.describe() if len(rmse) else pd.Series(dtype=float)
            rows.append(pd.Series(stats, name=self.label(params)))
        table = pd.DataFrame(rows)
        return table.reindex(columns=["count", "mean", "std", "min", "25%", "50%", "75%", "max"])

    def best(self) -> tuple[str, dict] | None:
        """Return the label and parameters of the configuration with the lowest mean test RMSE (None before any run)."""
        means = {key: self.runs.loc[self.runs["config"] == key, "rmse"].mean() for key, _ in self.configs}
        finite = [k for k in means if np.isfinite(means[k])]
        if not finite:
            return None
        key = min(finite, key=means.get)
        params = dict(self.configs)[key]
        return self.label(params), params

    def scores(self) -> pd.DataFrame:
        """Return test RMSE as a (repeat x configuration) table, the seeds' ``results`` frame."""
        cols = {}
        for key, params in self.configs:
            cols[self.label(params)] = self.runs.loc[self.runs["config"] == key].set_index("repeat")["rmse"]
        return pd.DataFrame(cols)

    def diagnostics(self) -> pd.DataFrame:
        """Return the tidy per-epoch table (config label, repeat, seed, epoch, split, rmse)."""
        frame = self.store.diagnostics(self.study_id)
        labels = {key: self.label(p) for key, p in self.configs}
        frame["config"] = frame["config"].map(labels)
        return frame

    def to_json(self) -> dict:
        """Return the CLI's JSON for a study (DESIGN.md contract)."""
        table = self.summary()
        configs = []
        for (key, params), (_, stats) in zip(self.configs, table.iterrows()):
            configs.append({"params": params, "rmse": {k: _num(v) for k, v in stats.items()}})
        best = self.best()
        label = best[0] if best else None
        return {"data": self.data, "study": self.name, "configs": configs, "best": label,
                "baselines": {"persistence": self.persistence}, "seconds": self.seconds}


def _num(v):
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)


def _persistence_rmse(data: str, spec: dict) -> float | None:
    """Return persistence's walk-forward RMSE on the study's data and split (None for in-memory data)."""
    if data.startswith("pandas:"):
        return None
    y = load_data(data, column=spec.get("column"), date_column=spec.get("date_column"))
    scored = target_series(Forecaster(**_forecaster_params(spec["configs"][0])), y)
    return float(walk_forward(Persistence(), scored, spec["test_size"], baselines=()).rmse)


def _forecaster_params(config: dict) -> dict:
    return {k: v for k, v in config.items() if k in FORECASTER_PARAMS}
