"""Studies: configurations x repeats, evaluated by one-step walk-forward, trained group by group.

A configuration is a distribution, not a number (the seeds' lesson), so every configuration is
run ``repeats`` times and compared by summary statistics. The plan (plan.py) puts every run that
shares tensor shapes into one ensemble, so a whole study is a few training loops.

Selection is honest: each run is fit on the training part minus a *validation tail* (by default
as long as the test part, shortened until every configuration still has enough observations to
fit) and its one-step walk-forward forecasts are scored on that tail and, separately, on the test
part. ``best`` is chosen on validation; the test score is only reported. ``validation_tail=0``
keeps the seeds' protocol (fit on the whole training part, selection on the test part itself),
and every summary says which protocol chose.

    study = Study("shampoo", grid={"epochs": [500, 1000], "batch_size": [1, 2, 4]}, repeats=30,
                  base={"stateful": True, "units": 1, "difference": 1}, name="batch-vs-epochs")
    result = study.run(Store("lstmcast.db"))
    result.summary()                 # describe() of test RMSE per configuration
    result.table()                   # validation and test side by side; result.best() uses validation
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
from lstmcast.experiments.executors import InlineExecutor, check_workers
from lstmcast.experiments.executors import executor as make_executor
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
    validation_tail: int | float | None = None  # None: as long as the test, capped; 0: select on test
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
        """Return the definition stored with the study (what must match to resume it).

        ``validation_tail`` is stored as given: with the data fingerprint it fixes the resolved tail.
        """
        return {"configs": self.config_list(), "repeats": self.repeats, "test_size": self.test_size,
                "validation_tail": self.validation_tail, "column": self.column, "date_column": self.date_column,
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

    def _check_against(self, y) -> tuple[int, int]:
        """Return (test size, validation size) after checking every configuration against the data.

        Done before anything trains, so a study never fails halfway for a reason visible up front.
        """
        test = resolve_test_size(len(y), self.test_size)
        forecasters = [Forecaster(**_forecaster_params(c)) for c in self.config_list()]
        n_train = len(y) - test
        for f in forecasters:
            target_series(f, y)
            f.check_data(n_train, what=f"the training part (all but the last {test})")
        return test, self._resolve_validation(forecasters, n_train, test)

    def _resolve_validation(self, forecasters: list, n_train: int, test: int) -> int:
        """Return the validation tail's length (0: the seeds' protocol, selection on the test part)."""
        given = self.validation_tail
        if given is None:
            # as long as the test part, shortened until every configuration can still be fit on
            # what is left (stateful batches may need a particular count of windows)
            for val in range(min(test, n_train - 1), 0, -1):
                if all(_fits(f, n_train - val) for f in forecasters):
                    return val
            raise InputError(
                f"the training part ({n_train} observations) is too short to keep a validation tail for "
                "choosing the configuration; give a longer series, or validation_tail=0 (--validation-tail 0) "
                "to choose on the test part itself"
            )
        val = _count(given, n_train)
        if val:
            for f in forecasters:
                f.check_data(n_train - val, what=f"the fitting part (training part less the validation tail of {val})")
        return val

    def facts(self, y, test: int, validation: int = 0) -> "DataFacts":
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
        return DataFacts(_data_label(self.data, y), fingerprint(y), len(y), test, m if m > 1 else None, baselines,
                         validation)

    def _open(self, store: Store, facts: "DataFacts") -> int:
        configs = [(canonical(c), c) for c in self.config_list()]
        return store.open_study(self.study_name, facts.data, self.spec(), configs,
                                fingerprint=facts.fingerprint, facts=asdict(facts))

    def run(self, store: Store | None = None, progress=None, workers: int | None = None, executor: str = "local",
            address: str | None = None) -> "StudyResult":
        """Run every unfinished group, committing each to ``store`` as it finishes; return the results.

        Groups run in ``workers`` processes (None: one per core), or as Ray tasks with
        ``executor="ray"`` on the cluster at ``address``; either way results come back to this
        process, which alone writes the store, and equal a sequential run's (``workers=1``) bit for bit.
        ``progress`` (optional) is a tqdm-like object: ``total`` is set to the epochs to train and
        ``update(n)`` is called as epochs (in-process) or whole groups (workers) finish.
        """
        check_int(self.repeats, "repeats", 1)
        check_workers(workers)
        store = store if store is not None else Store(":memory:")
        name = self.study_name
        y = self.series()
        test, val = self._check_against(y)
        study_id = self._open(store, self.facts(y, test, val))
        plan = make_plan(name, self.config_list(), self.repeats, store.done_runs(study_id))
        if progress is not None:
            progress.total = sum(g.epochs for g in plan.groups)
            progress.refresh()
        with make_executor(executor, workers, address, tasks=len(plan.groups)) as ex:
            if type(ex) is InlineExecutor:
                self._run_here(plan, store, study_id, y, test, val, progress)
            else:
                self._run_on(ex, plan, store, study_id, y, test, val, progress)
        return StudyResult.load(store, name)  # seconds: all training time stored for the study

    def _run_on(self, ex, plan: Plan, store: Store, study_id: int, y, test: int, val: int, progress) -> None:
        """Submit every group to ``ex`` (longest first, so the last to finish is short) and store each as it returns."""
        n_fit = len(y) - test - val
        order = sorted(range(len(plan.groups)), key=lambda i: -plan.groups[i].work(n_fit))
        for i in order:
            ex.submit(i, timed_group, plan.groups[i], y, test, self.diagnostics, self.keep_predictions, val)
        while ex.pending:
            i, (results, seconds) = ex.next_result()
            store.save_group(study_id, results, seconds)
            if progress is not None:
                progress.update(plan.groups[i].epochs)

    def _run_here(self, plan: Plan, store: Store, study_id: int, y, test: int, val: int, progress) -> None:
        """Train the groups one after another in this process, with per-epoch progress."""
        for i, group in enumerate(plan.groups):
            if progress is not None and hasattr(progress, "set_description"):
                progress.set_description(f"group {i + 1}/{len(plan.groups)} ({len(group.members)} members)")
            if i and _runs_of(group) <= store.done_runs(study_id):
                # another process sharing the store finished this group meanwhile
                if progress is not None:
                    progress.update(group.epochs)
                continue
            results, seconds = timed_group(group, y, test, self.diagnostics, self.keep_predictions, val, progress)
            store.save_group(study_id, results, seconds)


def timed_group(group: Group, y, test: int, diagnostics: bool, keep_predictions: bool, validation: int = 0,
                progress=None) -> tuple[list[dict], float]:
    """Return ``run_group``'s results and the seconds it took (the task a worker or Ray runs)."""
    t0 = time.perf_counter()
    results = run_group(group, y, test, diagnostics, keep_predictions, progress, validation=validation)
    return results, time.perf_counter() - t0


def run_group(group: Group, y, test: int, diagnostics: bool, keep_predictions: bool, progress=None,
              validation: int = 0) -> list[dict]:
    """Train one group as a single ensemble; return one result per run (at its own epoch count).

    The ensemble is fit on all but the last ``validation + test`` observations; one pass of
    one-step forecasts over the rest scores the validation tail (``val_rmse``) and the test part
    (``rmse``) of each run.
    """
    start = len(y) - test
    fit_end = start - validation
    train = y.iloc[:fit_end]
    f = Forecaster(**group.forecaster_params())
    scored = target_series(f, y)  # the column the forecaster predicts
    actual = scored.to_numpy()[start:]
    val_actual = scored.to_numpy()[fit_end:start]
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
            first = f.layout().first_prediction if diagnostics else fit_end
            evaluators["all"] = f.one_step_evaluator(y, first)
            evaluators["split"] = fit_end - first
            evaluators["train_actual"] = scored.to_numpy()[first:fit_end]
        if diagnostics or epoch in snapshots:
            every = evaluators["all"]()[..., 0]  # (members, positions)
            pred = every[:, evaluators["split"] + validation :]  # (members, n_test)
            err = pred - actual
            test_rmse = np.sqrt(np.mean(err**2, axis=1))
            if validation:
                val_err = every[:, evaluators["split"] : evaluators["split"] + validation] - val_actual
                val_rmse = np.sqrt(np.mean(val_err**2, axis=1))
            if diagnostics:
                curves[1, epoch - 1] = test_rmse
                tp = every[:, : evaluators["split"]]
                curves[0, epoch - 1] = np.sqrt(np.mean((tp - evaluators["train_actual"]) ** 2, axis=1))
            for k, run in snapshots.get(epoch, ()):
                metrics = {"rmse": float(test_rmse[k]), "mae": float(np.mean(np.abs(err[k])))}
                if validation:
                    metrics.update(val_rmse=float(val_rmse[k]), val_mae=float(np.mean(np.abs(val_err[k]))))
                results.append({
                    "config_key": run.config_key, "repeat": run.repeat, "seed": run.seed,
                    "rmse": float(test_rmse[k]), "val_rmse": metrics.get("val_rmse"), "metrics": metrics,
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
    validation_tail: int = 0  # the validation tail each run was scored on (0: selection on the test part)


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

    @property
    def validation_tail(self) -> int:
        """Return the validation tail the runs were scored on (0: the seeds' protocol, chosen on the test part)."""
        return self.facts.validation_tail if self.facts else 0

    @property
    def selected_on(self) -> str:
        """Return the split ``best`` chooses on: "validation", or "test" for the seeds' protocol."""
        return "validation" if self.validation_tail else "test"

    def summary(self, split: str = "test") -> pd.DataFrame:
        """Return describe() of RMSE per configuration (count, mean, std, min, 25%, 50%, 75%, max).

        ``split`` is "test" (the reported score) or "validation" (the score ``best`` chooses on).
        """
        column = {"test": "rmse", "validation": "val_rmse"}[split]
        rows = []
        for key, params in self.configs:
            rmse = self.runs.loc[self.runs["config"] == key, column].dropna()
            stats = rmse.describe() if len(rmse) else pd.Series(dtype=float)
            rows.append(pd.Series(stats, name=self.label(params)))
        table = pd.DataFrame(rows)
        return table.reindex(columns=["count", "mean", "std", "min", "25%", "50%", "75%", "max"])

    def table(self) -> pd.DataFrame:
        """Return validation and test RMSE side by side per configuration (runs, mean, std, min, max of each).

        Without a validation tail (the seeds' protocol) only the test columns are given.
        """
        parts = {"validation": self.summary("validation")} if self.validation_tail else {}
        parts["test"] = self.summary("test")
        table = pd.concat({k: v[["mean", "std", "min", "max"]] for k, v in parts.items()}, axis=1)
        table.insert(0, ("", "runs"), parts["test"]["count"].fillna(0).astype(int))
        return table

    def best(self) -> tuple[str, dict] | None:
        """Return the label and parameters of the configuration with the lowest mean RMSE on ``selected_on``.

        That is the validation tail, or the test part for a study run with the seeds' protocol
        (validation_tail=0). None before any run.
        """
        column = "val_rmse" if self.validation_tail else "rmse"
        means = {key: self.runs.loc[self.runs["config"] == key, column].mean() for key, _ in self.configs}
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
        validation = self.summary("validation") if self.validation_tail else None
        configs = []
        for i, ((key, params), (_, stats)) in enumerate(zip(self.configs, table.iterrows())):
            entry = {"params": params, "rmse": {k: _num(v) for k, v in stats.items()}}
            if validation is not None:
                entry["validation_rmse"] = {k: _num(v) for k, v in validation.iloc[i].items()}
            configs.append(entry)
        best = self.best()
        label = best[0] if best else None
        baselines = dict(self.facts.baselines) if self.facts else {"persistence": None}
        return {"data": self.data, "study": self.name, "configs": configs, "best": label,
                "selected_on": self.selected_on, "validation_tail": self.validation_tail,
                "planned_runs": self.planned_runs, "complete": self.complete,
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


def _fits(f: Forecaster, n_obs: int) -> bool:
    try:
        f.check_data(n_obs)
    except InputError:
        return False
    return True


def _count(size, n_train: int) -> int:
    """Return the validation tail for ``size``: a count (int >= 0) or a fraction in (0, 1) of the training part."""
    if isinstance(size, bool) or not isinstance(size, (int, float, np.integer, np.floating)):
        raise InputError(f"validation_tail must be a count (int >= 0) or a fraction in (0, 1); got {size!r}")
    if isinstance(size, (int, np.integer)):
        count = int(size)
    elif 0.0 < float(size) < 1.0:
        count = max(1, int(np.floor(n_train * float(size) + 0.5)))
    else:
        raise InputError(f"validation_tail={size} is a float, so it must be a fraction in (0, 1); pass an int for a "
                         "count (0 chooses on the test part)")
    if not 0 <= count < n_train:
        raise InputError(f"validation_tail={size} gives {count} validation observations but the training part has "
                         f"{n_train}; pass a count from 0 to {n_train - 1}")
    return count


def _forecaster_params(config: dict) -> dict:
    return {k: v for k, v in config.items() if k in FORECASTER_PARAMS}
