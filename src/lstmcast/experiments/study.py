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
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from lstmcast.data.io import load_data
from lstmcast.data.validate import check_int
from lstmcast.errors import InputError
from lstmcast.data.timeindex import season_length
from lstmcast.evaluation.baselines import BASELINES
from lstmcast.evaluation.split import resolve_test_size
from lstmcast.evaluation.walk_forward import target_series, walk_forward
from lstmcast.experiments.plan import FORECASTER_PARAMS, Group, Plan, canonical, make_plan
from lstmcast.experiments.store import Store, StoreError
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
        """Return the study's name: ``name``, or the data label joined with the grid's parameter names."""
        if self.name is not None:
            if not isinstance(self.name, str) or not self.name.strip():
                raise InputError(f"a study name needs at least one visible character; got name={self.name!r}")
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
        y = self.series()
        self._check_against(y)
        done: set = set()
        if store is not None:  # read-only: a dry run must not register the study
            study_id = store.matching_study(self.study_name, _data_label(self.data, y), self.spec(), fingerprint(y))
            if study_id is not None:
                done = store.done_runs(study_id)
        return make_plan(self.study_name, configs, self.repeats, done)

    def _check_against(self, y) -> int:
        """Return the test size after checking every configuration against the data (before anything trains)."""
        test = resolve_test_size(len(y), self.test_size)
        for config in self.config_list():
            f = Forecaster(**_forecaster_params(config))
            target_series(f, y)
            f.check_data(len(y) - test, what=f"the training part (all but the last {test})")
        return test

    def facts(self, y, test: int) -> "DataFacts":
        """Return what ``show`` prints about the data: label, fingerprint, sizes, season and baseline RMSEs."""
        scored = target_series(Forecaster(**_forecaster_params(self.config_list()[0])), y)
        m = season_length(scored.index)
        baselines = {}
        for name, kind in BASELINES.items():
            if name == "seasonal-naive" and m == 1:
                continue  # no season: it would be persistence again
            baseline = kind(m=m) if name == "seasonal-naive" else kind()
            try:
                baselines[name] = float(walk_forward(baseline, scored, test, baselines=(), m=m).rmse)
            except InputError:  # too short for this baseline (e.g. less than a season of training data)
                baselines[name] = None
        return DataFacts(_data_label(self.data, y), fingerprint(y), len(y), test, m if m > 1 else None, baselines)

    def _open(self, store: Store, facts: "DataFacts") -> int:
        configs = [(canonical(c), c) for c in self.config_list()]
        return store.open_study(self.study_name, facts.data, self.spec(), configs,
                                fingerprint=facts.fingerprint, facts=asdict(facts))

    def run(self, store: Store | None = None, progress=None) -> "StudyResult":
        """Run every unfinished group, committing each to ``store`` as it finishes; return the results.

        ``progress`` (optional) is a tqdm-like object: ``total`` is set to the epochs to train and
        ``update(n)`` is called as epochs finish.
        """
        check_int(self.repeats, "repeats", 1)
        store = store if store is not None else Store(":memory:")
        name = self.study_name
        y = self.series()
        test = self._check_against(y)
        study_id = self._open(store, self.facts(y, test))
        plan = make_plan(name, self.config_list(), self.repeats, store.done_runs(study_id))
        if progress is not None:
            progress.total = sum(g.epochs for g in plan.groups)
            progress.refresh()
        for i, group in enumerate(plan.groups):
            if progress is not None and hasattr(progress, "set_description"):
                progress.set_description(f"group {i + 1}/{len(plan.groups)} ({len(group.members)} members)")
            if i and _runs_of(group) <= store.done_runs(study_id):
                # another process sharing the store finished this group meanwhile
                if progress is not None:
                    progress.update(group.epochs)
                continue
            t0 = time.perf_counter()
            results = run_group(group, y, test, self.diagnostics, self.keep_predictions, progress)
            store.save_group(study_id, results, time.perf_counter() - t0)
        return StudyResult.load(store, name)  # seconds: all training time stored for the study


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
            first = f.layout().first_prediction if diagnostics else start
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


@dataclass(frozen=True)
class DataFacts:
    """What a study's data was when the study was registered: everything ``show`` prints about it.

    ``baselines`` maps each baseline (persistence, seasonal-naive when the index has a season,
    mean, drift) to its walk-forward RMSE on the study's test split, or None when the training
    part is too short for it. ``fingerprint`` is ``fingerprint(y)`` of the loaded data.
    """

    data: str
    fingerprint: str
    n: int
    test_size: int
    season_length: int | None
    baselines: dict[str, float | None]


@dataclass
class StudyResult:
    """A stored study's runs and data facts, read back from the store: nothing is recomputed or reloaded."""

    name: str
    data: str
    configs: list[tuple[str, dict]]
    runs: pd.DataFrame
    seconds: float
    store: Store
    study_id: int
    repeats: int
    facts: DataFacts | None = None  # None for a study registered without them (Store.open_study alone)

    @classmethod
    def load(cls, store: Store, name: str) -> "StudyResult":
        """Return the results of study ``name`` in ``store``, without reading its data source."""
        row = store.study(name)
        try:
            facts = DataFacts(**row["facts"]) if row["facts"] else None
        except TypeError as exc:
            raise StoreError(f"{store.path} is not a usable lstmcast store: the stored facts of study {name!r} "
                             f"do not fit ({exc}); restore a backup or pass another --store path") from None
        return cls(name, row["data"], store.configs(row["id"]), store.runs(row["id"]), row["seconds"], store,
                   row["id"], int(row["spec"].get("repeats", 0)), facts)

    @property
    def persistence(self) -> float | None:
        """Return persistence's test RMSE on the study's split, as stored when the study was registered."""
        return self.facts.baselines.get("persistence") if self.facts else None

    @property
    def planned_runs(self) -> int:
        """Return the runs the study defines: configurations x repeats."""
        return len(self.configs) * self.repeats

    @property
    def missing_runs(self) -> int:
        """Return how many planned runs are not stored (a killed or still running study)."""
        return self.planned_runs - len(self.runs)

    @property
    def complete(self) -> bool:
        """Return whether every planned run is stored."""
        return self.missing_runs == 0

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
        baselines = dict(self.facts.baselines) if self.facts else {"persistence": None}
        return {"data": self.data, "study": self.name, "configs": configs, "best": label,
                "baselines": baselines, "seconds": self.seconds}


def _num(v):
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)


def fingerprint(y: pd.Series | pd.DataFrame) -> str:
    """Return the SHA-256 (hex) of the data's float64 values, index labels and column names.

    Stored with a study, it tells whether the data a study resumes on is the data it began on,
    whatever the source (a CSV rewritten in place keeps its path, not its fingerprint).
    """
    digest = hashlib.sha256()
    names = list(y.columns) if isinstance(y, pd.DataFrame) else [y.name]
    for part in (names, [str(label) for label in y.index]):
        digest.update("\x1f".join(map(str, part)).encode("utf-8") + b"\x1e")
    digest.update(np.ascontiguousarray(y.to_numpy(dtype=np.float64), dtype="<f8").tobytes())
    return digest.hexdigest()


def _data_label(data, y) -> str:
    """Return the stored label of the data: its name or path, or for in-memory data its length and a content hash."""
    if isinstance(data, str):
        return data
    # in-memory data: identified by its content, so two series never mix under one name
    digest = hashlib.sha256(pd.util.hash_pandas_object(y, index=True).to_numpy().tobytes()).hexdigest()
    return f"pandas:{len(y)}:{digest[:16]}"


def _runs_of(group: Group) -> set[tuple[str, int]]:
    return {(run.config_key, run.repeat) for member in group.members for run in member.runs}


def _forecaster_params(config: dict) -> dict:
    return {k: v for k, v in config.items() if k in FORECASTER_PARAMS}
