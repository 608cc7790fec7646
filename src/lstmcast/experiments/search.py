"""Search beyond grids: Optuna (TPE) over a space of Forecaster parameters, kept in the study store.

Each trial is one configuration trained ``repeats`` times at once (one ensemble, one seed per
member): a configuration is a distribution, so the objective is the members' mean validation
RMSE (one-step walk-forward over the validation tail, fit on what precedes it, as in studies).
The test RMSE is computed by the same networks and kept with the trial (user attribute
``test_rmse``), never used to choose. Trials are pruned on per-epoch snapshots by Optuna's
median rule against the trials finished when they started.

Optuna's storage is the SQLite file of the studies (its tables beside lstmcast's ``lc_`` ones),
so ``optuna-dashboard sqlite:///lstmcast.db`` opens it, and a killed search resumes: trials left
running by a killed driver are evaluated again with their stored parameters and told once, so
no trial is lost or counted twice. One driver per search at a time; trials run in worker
processes (or Ray tasks), and only the driver writes.

    result = search("airline", trials=50, repeats=10, store="lstmcast.db")
    result.best                      # {"params", "validation_rmse", "test_rmse", ...}
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstmcast.data.timeindex import season_length
from lstmcast.errors import InputError, TrainingDivergedError
from lstmcast.evaluation.walk_forward import target_series
from lstmcast.experiments.executors import check_workers
from lstmcast.experiments.executors import executor as make_executor
from lstmcast.experiments.plan import stable_seed
from lstmcast.experiments.store import Store
from lstmcast.experiments.study import Study, fingerprint
from lstmcast.forecaster import Forecaster
from lstmcast.params import PARAMS

SNAPSHOTS = 10  # pruning checkpoints per trial
N_STARTUP = 5  # trials finished before any is pruned


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: an int or float range (``log`` scale or not) or a list of choices."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple | None = None

    def suggest(self, trial):
        """Return a value for ``trial`` (an Optuna trial)."""
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        if PARAMS[self.name].kind is int:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)

    def describe(self) -> str:
        if self.choices is not None:
            return f"{self.name}={','.join(map(str, self.choices))}"
        return f"{self.name}={self.low}..{self.high}{' (log)' if self.log else ''}"


def default_space(m: int) -> dict[str, Dimension]:
    """Return the default LSTM space for season length ``m`` (look-back from half a season to two)."""
    lo, hi = (max(1, m // 2), 2 * m) if m > 1 else (1, 12)
    return {
        "look_back": Dimension("look_back", lo, hi),
        "units": Dimension("units", 2, 64, log=True),
        "layers": Dimension("layers", 1, 2),
        "epochs": Dimension("epochs", 20, 300, log=True),
        "learning_rate": Dimension("learning_rate", 1e-4, 3e-2, log=True),
        "dropout": Dimension("dropout", 0.0, 0.3),
    }


def parse_space(texts: list[str]) -> dict[str, Dimension]:
    """Return the dimensions of ``NAME=LOW..HIGH`` (a range) or ``NAME=A,B,C`` (choices) texts.

    Values are checked by the parameter's declaration (lstmcast.params); int and float ranges
    spanning more than a factor of 20 are searched on a log scale.
    """
    space = {}
    for text in texts:
        name, sep, values = text.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not values.strip():
            raise InputError(f"--space takes NAME=LOW..HIGH or NAME=A,B,C; got {text!r}")
        if name not in PARAMS or name in ("seed", "members"):
            raise InputError(f"--space names an unknown or fixed parameter {name!r}; searchable: "
                             f"{', '.join(sorted(set(PARAMS) - {'seed', 'members'}))}")
        param = PARAMS[name]
        if ".." in values:
            low_text, _, high_text = values.partition("..")
            if param.kind not in (int, float):
                raise InputError(f"--space {name} is not numeric; list its values: {name}=A,B")
            low, high = param.parse(low_text.strip(), name), param.parse(high_text.strip(), name)
            if not low < high:
                raise InputError(f"--space {name}={values}: the low end must be below the high end")
            log = low > 0 and high / low > 20
            space[name] = Dimension(name, low, high, log=log)
        else:
            choices = tuple(param.parse(v.strip(), name) for v in values.split(","))
            space[name] = Dimension(name, choices=choices)
    return space


def evaluate_trial(params: dict, seeds: list[int], y, fit_end: int, test: int, validation: int,
                   history: list, prune: bool) -> dict:
    """Train one trial's ensemble and return its per-snapshot and final validation and test RMSEs.

    ``history`` holds the Optuna trials finished when this one started: at each snapshot the
    median pruner compares the members' mean validation RMSE with theirs at the same epoch.
    """
    import optuna

    f = Forecaster(**params, seed=seeds)
    scored = target_series(f, y).to_numpy()
    start = len(y) - test
    epochs = int(params.get("epochs", PARAMS["epochs"].default))
    every = max(1, epochs // SNAPSHOTS)
    judge = None
    if prune and len(history) >= N_STARTUP:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        local = optuna.create_study(direction="minimize", sampler=optuna.samplers.RandomSampler(0),
                                    pruner=optuna.pruners.MedianPruner(n_startup_trials=N_STARTUP))
        local.add_trials(history)
        judge = local.ask()
    out = {"reports": [], "pruned": False}
    evaluator = {}

    def snapshot(epoch: int, net, losses) -> bool:
        if epoch % every and epoch != epochs:
            return False
        if not evaluator:
            evaluator["f"] = f.one_step_evaluator(y, fit_end)
        pred = evaluator["f"]()[..., 0]  # (members, validation + test)
        val = np.sqrt(np.mean((pred[:, :validation] - scored[fit_end:start]) ** 2, axis=1))
        tst = np.sqrt(np.mean((pred[:, validation:] - scored[start:]) ** 2, axis=1))
        value = float(np.mean(val))
        out.update(epoch=epoch, validation=val.tolist(), test=tst.tolist())
        if not math.isfinite(value):
            return True
        out["reports"].append((epoch, value))
        if judge is not None and epoch != epochs:
            judge.report(value, epoch)
            if judge.should_prune():
                out["pruned"] = True
                return True
        return False

    try:
        f.fit(y.iloc[:fit_end], callbacks=(snapshot,))
    except TrainingDivergedError as exc:  # a configuration that diverges fails its trial, not the search
        out["error"] = str(exc)
    return out


@dataclass
class SearchResult:
    """The trials of a stored search: parameters, validation and test RMSE, state; ``best`` chosen on validation."""

    name: str
    trials: list[dict]
    seconds: float

    @property
    def best(self) -> dict | None:
        done = [t for t in self.trials if t["state"] == "COMPLETE" and t["validation_rmse"] is not None]
        return min(done, key=lambda t: t["validation_rmse"]) if done else None

    def to_json(self) -> dict:
        return {"search": self.name, "selected_on": "validation", "best": self.best, "trials": self.trials,
                "seconds": self.seconds}


def search(data, trials: int = 50, space: dict | list | None = None, repeats: int = 10,
           store: str | Path | Store = "lstmcast.db", name: str | None = None, base: dict | None = None,
           test_size: int | float = 12, validation_tail: int | float | None = None, column=None, date_column=None,
           workers: int | None = None, executor: str = "local", address: str | None = None, seed: int = 0,
           prune: bool = True) -> SearchResult:
    """Run (or resume) an Optuna search of ``trials`` trials on ``data``; return its stored trials.

    ``space`` maps names to Dimensions, or lists ``NAME=LOW..HIGH`` / ``NAME=A,B,C`` texts; None
    is ``default_space`` of the data's season length. ``base`` holds fixed Forecaster parameters.
    A search of the same ``name`` in ``store`` resumes when its definition and data match.
    """
    import optuna
    import time

    check_workers(workers)
    for value, what in ((trials, "trials"), (repeats, "repeats")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{what} must be a whole number, at least 1; got {value!r}")
    probe = Study(data, configs=[dict(base or {})], repeats=1, test_size=test_size, column=column,
                  date_column=date_column, validation_tail=validation_tail)
    y = probe.series()
    m = season_length(target_series(Forecaster(**(base or {})), y).index)
    space = space if isinstance(space, dict) else parse_space(space) if space else default_space(m)
    base = {"model": "vanilla", **(base or {})}
    name = name or f"{data if isinstance(data, str) else 'data'}-search"
    # the validation tail must suit the most demanding configuration of the space
    widest = {**base, **{k: (d.high if d.choices is None else max(d.choices)) for k, d in space.items()
                         if k in ("look_back", "steps_out", "difference", "trim") and (d.choices is None or
                                                                                      _numeric(d.choices))}}
    probe.configs = [widest]
    test, val = probe._check_against(y)
    if val == 0:
        raise InputError("a search chooses on a validation tail; validation_tail=0 would choose on the test part")
    fit_end = len(y) - test - val
    spec = {"data": data if isinstance(data, str) else "data", "fingerprint": fingerprint(y),
            "space": [d.describe() for d in space.values()], "base": base, "repeats": repeats,
            "test_size": test, "validation_tail": val, "seed": seed}
    st = store if isinstance(store, Store) else Store(store)  # stamps a new file as an lstmcast store first
    url = f"sqlite:///{Path(st.path).resolve()}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=url, direction="minimize", load_if_exists=True,
                                sampler=optuna.samplers.TPESampler(seed=seed))
    stored = study.user_attrs.get("lstmcast")
    if stored is None:
        study.set_user_attr("lstmcast", spec)
    elif json.loads(json.dumps(stored)) != json.loads(json.dumps(spec, default=str)):
        diff = sorted(k for k in spec if stored.get(k) != json.loads(json.dumps(spec[k], default=str)))
        raise InputError(f"search {name!r} already exists in {st.path} with another definition ({', '.join(diff)} "
                         "differ); choose another --name")
    storage = study._storage
    t0 = time.perf_counter()

    def finished() -> int:
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        return len(study.get_trials(deepcopy=False, states=states))

    def dispatch(ex, trial_number: int, params: dict) -> None:
        history = study.get_trials(deepcopy=True, states=(optuna.trial.TrialState.COMPLETE,))
        seeds = [stable_seed(name, trial_number, r) for r in range(repeats)]
        full = {**base, **params}
        Forecaster(**full).check_params()
        ex.submit(trial_number, evaluate_trial, full, seeds, y, fit_end, test, val, history, prune)

    stale = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    failures = 0
    with make_executor(executor, workers, address, tasks=max(1, trials - finished())) as ex:
        for frozen in stale:  # a killed driver's trials: evaluated again with their parameters, told once
            dispatch(ex, frozen.number, frozen.params)
        while ex.pending or (finished() < trials and failures < trials):
            # keep every worker busy, never asking for more trials than are left to finish
            while finished() + ex.pending < trials and failures < trials and ex.pending < ex.slots:
                trial = study.ask()
                params = {k: d.suggest(trial) for k, d in space.items()}
                dispatch(ex, trial.number, params)
            number, out = ex.next_result()
            trial_id = storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
            for epoch, value in out["reports"]:
                storage.set_trial_intermediate_value(trial_id, epoch, value)
            if "validation" in out:
                storage.set_trial_user_attr(trial_id, "test_rmse", float(np.mean(out["test"])))
                storage.set_trial_user_attr(trial_id, "validation_rmse_members", out["validation"])
                storage.set_trial_user_attr(trial_id, "test_rmse_members", out["test"])
                storage.set_trial_user_attr(trial_id, "epochs_trained", out["epoch"])
            if out["pruned"]:
                study.tell(number, state=optuna.trial.TrialState.PRUNED)
            elif out["reports"]:
                study.tell(number, out["reports"][-1][1])
            else:  # diverged: failed, and replaced by another trial (at most ``trials`` times)
                storage.set_trial_user_attr(trial_id, "error", out.get("error", "no finite validation RMSE"))
                study.tell(number, state=optuna.trial.TrialState.FAIL)
                failures += 1
    return load_search(st, name, seconds=time.perf_counter() - t0)


def load_search(store: Store, name: str, seconds: float = 0.0) -> SearchResult:
    """Return the stored trials of search ``name`` in ``store``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{Path(store.path).resolve()}")
    rows = []
    for t in study.get_trials(deepcopy=False):
        value = t.value if t.value is not None else (t.intermediate_values[max(t.intermediate_values)]
                                                     if t.intermediate_values else None)
        rows.append({"number": t.number, "state": t.state.name, "params": t.params,
                     "validation_rmse": value, "test_rmse": t.user_attrs.get("test_rmse"),
                     "epochs_trained": t.user_attrs.get("epochs_trained")})
    return SearchResult(name, rows, seconds)


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
