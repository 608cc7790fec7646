"""Forecaster: one pipeline of differencing, scaling, windowing, an LSTM ensemble and its trainer.

The constructor only stores parameters (scikit-learn's contract); ``fit`` validates the series,
fits the transforms on it alone (so the scaler never sees test data), frames windows, builds and
trains the network, and keeps what forecasting needs in attributes ending in ``_``. Every output is
inverted back to the data's own units and dated.

    f = Forecaster(model="stacked", look_back=12, epochs=300, difference=1, seed=7)
    f.fit(y[:-12]).forecast(horizon=12)      # pandas Series indexed by the next 12 periods
    walk_forward(f, y, test_size=12).rmse    # rolling one-step evaluation, original units
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from lstmcast.data.timeindex import future_index, season_length
from lstmcast.data.transforms import Scaler, difference, undifference_recursive
from lstmcast.data.validate import validate_series
from lstmcast.data.windows import WindowLayout, windows
from lstmcast.errors import InputError, NotFittedError, TrainingDivergedError
from lstmcast.evaluation.baselines import interval_frame
from lstmcast.evaluation.conformal import ConformalBands, calibrate
from lstmcast.evaluation.metrics import check_levels
from lstmcast.models.zoo import ModelConfig, Network, build_network
from lstmcast.params import HORIZON, PARAMS, SEED_LIMIT, check_params, resolve
from lstmcast.training.trainer import TrainConfig, TrainHistory, ensure_tensor, predict, train
from lstmcast.training.threads import threads_for


# A forecast this many data ranges outside the training data is reported as divergence (docs/reliability.md).
ABSURD_RANGES = 1e6
SKELETON_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)  # the skeleton's shares model="auto" chooses among


def weight_not_chosen(reason: Exception) -> dict:
    """Return the report keys of a skeleton weight that could not be chosen: the LSTM alone, and why."""
    return {"skeleton_weight": 0.0, "skeleton_weight_tail_rmse": None,
            "skeleton_weight_note": f"not chosen (the LSTM alone): {reason}"}


class Forecaster(BaseEstimator):
    """An LSTM forecaster (an ensemble of ``members`` networks) following the forecaster protocol.

    ``predict(y, start)`` gives one-step-ahead forecasts from the true past (the seeds' walk-forward
    scheme) and ``forecast(horizon)`` extends the fitted data, directly from the network's
    ``steps_out`` outputs or recursively beyond them. With ``members > 1`` the ensemble mean is
    returned and ``forecast(..., return_members=True)`` gives every member.
    A DataFrame is modelled with all columns as inputs; ``target`` (default: the last column)
    is forecast, or every column with ``target="all"`` (parallel series).

    ``seed`` is an int (member k gets ``seed + k``) or one seed per member; ``units`` is an int or
    one unit count per member (vanilla/stacked/vector; see ``build_network``). ``trim`` leaves the
    oldest training windows out of training and out of the stateful replay (seed 002 drops 2 of
    its 22 windows so that a stateful batch of 4 divides the rest).
    """

    def __init__(
        self,
        model: str = "vanilla",
        look_back: int | None = None,
        steps_out: int = 1,
        units: int | list[int] | None = None,
        layers: int | None = None,
        activation: str = "tanh",
        dropout: float = 0.0,
        subsequences: int = 2,
        filters: int = 64,
        kernel: int | None = None,
        framing: str = "steps",
        epochs: int = 100,
        batch_size: int | None = None,
        learning_rate: float = 1e-3,
        optimizer: str = "adam",
        loss: str = "mse",
        shuffle: bool = True,
        stateful: bool = False,
        patience: int | None = None,
        validation_size: int = 0,
        difference: int = 0,
        scale: str | None = None,
        target: str | None = None,
        members: int | None = None,
        seed: int | list[int] | None = None,
        trim: int = 0,
        season_length: int | None = None,
        skeleton_weight: float | None = None,
        engine: str = "auto",
        device: str = "cpu",
        max_steps: int | None = None,
    ):
        # scikit-learn's contract: store every argument under its own name, nothing else
        for name, value in locals().items():
            if name != "self":
                setattr(self, name, value)

    # ---- configuration -----------------------------------------------------------------------

    @classmethod
    @functools.cache
    def _get_param_names(cls) -> list[str]:
        """Return scikit-learn's parameter names, read off the signature once per class (it inspected
        the signature on every ``get_params``: ~6 calls per fit, a third of preparing a panel's series)."""
        return super()._get_param_names()

    def check_params(self) -> "Forecaster":
        """Return self after checking every parameter against its declaration (lstmcast.params), or raise InputError.

        No data is needed; ``fit`` checks the data against the configuration (``check_data``).
        """
        p = resolve(check_params(self.get_params()))
        if self.patience is not None and not self.validation_size:
            raise InputError("patience (early stopping) watches the validation loss; set validation_size too")
        units = p["units"] if isinstance(p["units"], list) else [p["units"]]
        seeds = p["seed"] if isinstance(p["seed"], list) else None
        if len(units) > 1 and len(units) != len(seeds or units) or (len(units) > 1 and p["members"] not in (1, len(units))):
            raise InputError(f"{len(units)} unit counts for {len(seeds) if seeds else p['members']} members; "
                             "give one per member")
        if seeds is not None and p["members"] not in (1, len(seeds)):
            raise InputError(f"members={p['members']} but {len(seeds)} seeds were given; pass one seed per member")
        self.model_config(1, 1, p)  # architecture, activation, subsequences and kernel
        return self

    def resolved(self, season_length: int = 1) -> dict:
        """Return the parameters with every None that means "the model's default" filled in (see params.resolve)."""
        return resolve(self.get_params(), season_length)

    def layout(self, warmup: int | None = None, season_length: int = 1) -> WindowLayout:
        """Return the window layout of this configuration (observations needed, windows, first prediction).

        ``warmup`` is the number of leading rows the transforms lose; by default the difference lag.
        """
        p = self.resolved(season_length)
        return WindowLayout(
            look_back=p["look_back"], steps_out=p["steps_out"], warmup=p["difference"] if warmup is None else warmup,
            trim=p["trim"], validation=p["validation_size"], batch_size=p["batch_size"], stateful=p["stateful"],
            max_steps=p["max_steps"],
        )

    def min_train_size(self) -> int:
        """Return the fewest observations ``fit`` accepts.

        For model="auto" the skeleton is chosen to fit the data (no seasonal candidate on a short
        series), so only the level anchor's one-row warm-up is certain.
        """
        m = getattr(self, "season_length_", None) or self.season_length or 1
        warmup = self.difference + (1 if self.model == "auto" else 0)
        return self.layout(warmup, season_length=m).needed

    def model_config(self, n_features: int, n_targets: int, p: dict | None = None) -> ModelConfig:
        """Return the network configuration for data with these feature and target counts."""
        p = p or self.resolved()
        features = p["framing"] == "features"
        units = p["units"] if isinstance(p["units"], list) else [p["units"]]
        return ModelConfig(
            architecture="vanilla" if p["model"] == "auto" else p["model"], n_in=1 if features else p["look_back"],
            n_features=n_features * p["look_back"] if features else n_features, n_out=p["steps_out"],
            n_targets=n_targets, units=max(units), layers=p["layers"], activation=p["activation"],
            dropout=p["dropout"], subsequences=p["subsequences"], filters=p["filters"], kernel=p["kernel"],
        ).validated()

    def train_config(self, p: dict | None = None) -> TrainConfig:
        """Return the trainer's configuration."""
        p = p or self.resolved()
        fields = {f.name for f in dataclasses.fields(TrainConfig)}
        return TrainConfig(**{name: p[name] for name in fields if name in p})

    # ---- fitting -----------------------------------------------------------------------------

    def fit(self, y, callbacks=()) -> "Forecaster":
        """Return self, trained on the series or frame ``y`` (all of it is training data)."""
        X, Y, validation = self.prepare(y)
        self.choose_skeleton_weight()  # before training, so that callbacks score the forecast as it will be
        return self.fit_windows(X, Y, validation, callbacks)

    def prepare(self, y) -> tuple:
        """Return (X, Y, validation) training windows of ``y`` after fitting the transforms on it.

        The first half of ``fit``: validates ``y``, infers the season length, chooses the skeleton
        (model="auto"), fits difference and scaling on the training rows and frames the windows
        (``fit_transforms`` then ``training_windows``). Many series can share one network: fit
        each series' own transforms, pool their values, train once with ``fit_windows(rows=)`` and
        hand the network to the others with ``share_network`` (PanelForecaster does this).
        """
        self.check_params()
        return self.training_windows(self.fit_transforms(validate_series(y, "y")))

    def fit_transforms(self, data) -> np.ndarray:
        """Return the network's float32 view (rows, columns) of ``data`` after fitting the transforms on it.

        The inner part of ``prepare``, which trusts its input: the parameters already checked
        (``check_params``) and ``data`` a Series or DataFrame as ``validate_series`` returns it. A
        caller that checked both once for many series (PanelForecaster) saves repeating it per series.
        The first ``_warmup()`` rows, undefined after the transforms, are not in the result.
        """
        frame = data.to_frame() if isinstance(data, pd.Series) else data
        self.columns_ = list(frame.columns)
        self.target_idx_ = self._target_indices(frame)
        self.index_ = frame.index
        self.values_ = frame.to_numpy(dtype=np.float64)  # (T, columns), original units
        self.season_length_ = self.season_length or season_length(frame.index)
        p = self.resolved(self.season_length_)
        self.skeleton_, self.chosen_, self.bands_ = None, None, None  # nothing of an earlier fit survives
        if p["model"] == "auto":
            self.skeleton_, self.chosen_ = self._choose_skeleton(p)
        # the weight in effect until fit (or a single-series caller) chooses one: given, else the LSTM alone
        self.skeleton_weight_ = 0.0 if self.skeleton_weight is None else float(self.skeleton_weight)
        self.check_data(len(frame))
        return self._transformed(self.values_, fit=True).astype(np.float32)

    def training_windows(self, z: np.ndarray) -> tuple:
        """Return (X, Y, validation): the training windows of ``z`` (from ``fit_transforms``) as float32 tensors.

        The ``trim`` oldest windows are dropped and the newest ``validation_size`` held out as the
        (X, Y) validation pair (None without). Views of ``z``: the tensors share it, never copy every window.
        """
        X, Y = self._frame(z)
        X_t, Y_t = ensure_tensor(X[self.trim :]), ensure_tensor(Y[self.trim :])
        validation = None
        if self.validation_size:
            X_t, Y_t, validation = X_t[: -self.validation_size], Y_t[: -self.validation_size], (
                X_t[-self.validation_size :], Y_t[-self.validation_size :])
        return X_t, Y_t, validation

    def fit_windows(self, X, Y, validation=None, callbacks=(), rows=None) -> "Forecaster":
        """Return self after building the network and training it on prepared windows (see ``prepare``).

        ``rows`` names the windows of X and Y to train on (default all): many series' windows
        pooled in one array, less those that cross a series boundary (see ``training.trainer.train``).
        """
        p = self.resolved(self.season_length_)
        cfg = self.model_config(len(self.columns_), len(self.target_idx_), p)
        self.seeds_ = self._member_seeds(p)
        self.n_train_windows_ = len(X) if rows is None else len(rows)
        units = p["units"] if isinstance(p["units"], list) else [p["units"]]
        # network_ exists before training so that callbacks can predict with it. One thread: the
        # orthogonal initialisation's QR gives the same bits on one thread in microseconds, and
        # 0.1-0.7 s per member on two here (OpenMP's spin-wait, training/threads.py)
        with threads_for(0):
            self.network_: Network = build_network(cfg, self.seeds_, units if len(units) > 1 else None)
        self.history_: TrainHistory = train(
            self.network_, X, Y, self.train_config(p), self.seeds_, tuple(callbacks), validation, rows)
        return self

    def share_network(self, other: "Forecaster") -> "Forecaster":
        """Return self (prepared, see ``prepare``) predicting with ``other``'s trained network (one global model)."""
        other._check_fitted()
        self.network_, self.seeds_, self.history_ = other.network_, other.seeds_, other.history_
        self.n_train_windows_ = other.n_train_windows_
        return self

    def check_data(self, n_obs: int, what: str = "the series") -> int:
        """Return the number of training windows ``n_obs`` training observations give, or raise InputError.

        Checked before any training (studies check every configuration before the first group):
        enough observations for the transforms, look-back, steps out, trim and validation, and a
        stateful batch size that divides the training windows.
        """
        warmup = self._warmup()
        parts = {"difference": self.difference, "transform warm-up": warmup - self.difference}
        m = getattr(self, "season_length_", None) or self.season_length or 1
        return self.layout(warmup, m).check(n_obs, what, parts)

    def _warmup(self) -> int:
        """Return the leading rows the transforms leave undefined (skeleton warm-up + difference lag)."""
        skeleton = getattr(self, "skeleton_", None)
        return self.difference + (skeleton.warmup() if skeleton is not None else 0)

    def _choose_skeleton(self, p: dict):
        """Return (skeleton, report): the statistical skeleton of model="auto", chosen on the training part."""
        if len(self.target_idx_) != 1:
            raise InputError(
                f"model='auto' forecasts one target column; target='all' asks for {len(self.columns_)}. "
                "Set target to one column, or choose an architecture such as model='vanilla'"
            )
        from lstmcast.data.skeleton_choice import choose_skeleton

        # the skeleton is the target's; other columns (covariates) enter the network as they are
        skeleton, report = choose_skeleton(self.values_[:, self.target_idx_[0]], self.season_length_)
        report = {**report, "look_back": p["look_back"], "units": p["units"], "members": p["members"],
                  "epochs": p["epochs"], "batch_size": p["batch_size"], "scale": p["scale"]}
        return skeleton, report

    def _transformed(self, values: np.ndarray, fit: bool = False, skeleton=None) -> np.ndarray:
        """Return the network's view of ``values`` (T, columns): skeleton, difference and scaling applied.

        The first ``_warmup()`` rows, undefined after the transforms, are dropped. With ``fit`` the
        scaler is fitted here, on the training rows only (never the validation windows' targets).
        """
        work = self._skeletal(values, skeleton)
        if self.difference:
            work = difference(work, self.difference)
        if fit:
            rows = work[: len(work) - self.validation_size] if self.validation_size else work
            self.scaler_ = Scaler(self.resolved()["scale"]).fit(rows)
        return self.scaler_.transform(work)

    def _skeletal(self, values: np.ndarray, skeleton=None) -> np.ndarray:
        """Return ``values`` with the skeleton applied to the target column and its warm-up rows dropped."""
        skeleton = skeleton or self.skeleton_
        if skeleton is None:
            return values
        w = skeleton.warmup()
        out = values.copy()
        out[:, self.target_idx_[0]] = skeleton.transform(values[:, self.target_idx_[0]])
        return out[w:]

    def _aligned_skeleton(self, index: pd.Index):
        """Return the skeleton for data starting at ``index[0]``: seasonal positions counted from the fitted start.

        The skeleton's seasonal indices are by position (t mod m from the first training row);
        a history that starts elsewhere (new data, a later window) is shifted by its distance
        from the fitted start, read off the time index (periods, dated steps or integer steps).
        """
        if self.skeleton_ is None or self.season_length_ <= 1:
            return self.skeleton_
        phase = _periods_between(self.index_, index) % self.season_length_
        return self.skeleton_ if phase == 0 else _Shifted(self.skeleton_, phase)

    def _unskeletal(self, s_hat: np.ndarray, x: np.ndarray, start: int, skeleton=None) -> np.ndarray:
        """Return skeleton-space forecasts ``s_hat`` (members, n) for positions start.. in original units.

        Each is inverted with the true values before it in ``x`` (T,) (or the forecasts, when x
        was extended with them).
        """
        skeleton = skeleton or self.skeleton_
        z = np.full((len(x),), np.nan)
        out = np.empty_like(s_hat)
        for k, row in enumerate(s_hat):
            z[start : start + len(row)] = row
            out[k] = skeleton.inverse(z, x)[start : start + len(row)]
        return out

    def _target_indices(self, frame: pd.DataFrame) -> list[int]:
        if self.target == "all":
            return list(range(frame.shape[1]))
        if self.target is None:
            return [frame.shape[1] - 1]
        if self.target not in frame.columns:
            raise InputError(f"target {self.target!r} is not a column; columns are {list(frame.columns)}")
        return [list(frame.columns).index(self.target)]

    def _member_seeds(self, p: dict) -> list[int]:
        if isinstance(p["seed"], list):
            return list(p["seed"])
        base = p["seed"] if p["seed"] is not None else int(np.random.SeedSequence().entropy % 2**31)
        seeds = [base + k for k in range(p["members"])]
        if seeds[-1] >= SEED_LIMIT:
            raise InputError(f"seed={base} with members={p['members']} gives seeds up to {seeds[-1]}; "
                             f"member seeds must stay below 2**31; use a smaller seed")
        return seeds

    def _frame(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the training windows of the transformed values z (rows, columns)."""
        return windows(z, self.network_look_back, self.steps_out, targets=self.target_idx_, framing=self.framing)

    @property
    def network_look_back(self) -> int:
        """Return the look-back in use (resolved for model="auto" from the season length)."""
        return self.resolved(getattr(self, "season_length_", None) or 1)["look_back"]

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise NotFittedError("this Forecaster is not fitted yet; call fit(y) first")

    # ---- fitted state (model files) ------------------------------------------------------------

    def fitted_state(self) -> dict:
        """Return everything a fitted forecaster needs to predict, as plain objects.

        Keys: columns, target_idx, index, values (float64 array), scaler (its to_dict()), seeds,
        network (the nn.Module), history, n_train_windows, season_length, skeleton (state dict or
        None), chosen (what model="auto" chose, or None). ``from_fitted_state`` is its inverse;
        lstmcast.persist turns it into a file.
        """
        self._check_fitted()
        return {
            "columns": list(self.columns_), "target_idx": list(self.target_idx_), "index": self.index_,
            "values": self.values_, "scaler": self.scaler_.to_dict(), "seeds": list(self.seeds_),
            "network": self.network_, "history": getattr(self, "history_", None),
            "n_train_windows": int(self.n_train_windows_), "season_length": int(self.season_length_),
            "skeleton": None if self.skeleton_ is None else self.skeleton_.state(),
            "chosen": self.chosen_,
            "bands": None if getattr(self, "bands_", None) is None else self.bands_.state(),
        }

    @classmethod
    def from_fitted_state(cls, params: dict, state: dict) -> "Forecaster":
        """Return a fitted forecaster with ``params`` and a ``fitted_state()``; InputError when they disagree."""
        f = cls(**params).check_params()
        n_cols = len(state["columns"])
        values = np.asarray(state["values"], dtype=np.float64)
        target_idx = [int(i) for i in state["target_idx"]]
        if values.shape != (len(state["index"]), n_cols) or not np.isfinite(values).all():
            raise InputError(f"fitted values of shape {values.shape} (finite: {np.isfinite(values).all()}) "
                             f"do not match an index of {len(state['index'])} and {n_cols} columns")
        if not target_idx or not all(0 <= i < n_cols for i in target_idx):
            raise InputError(f"target indices {target_idx} do not fit {n_cols} columns")
        f.columns_, f.target_idx_, f.index_, f.values_ = list(state["columns"]), target_idx, state["index"], values
        f.scaler_ = Scaler.from_dict(state["scaler"])
        f.seeds_ = [int(s) for s in state["seeds"]]
        f.network_, f.history_ = state["network"], state.get("history")
        f.n_train_windows_ = int(state["n_train_windows"])
        f.season_length_ = PARAMS["season_length"].check(state.get("season_length", 1), "season_length")
        f.chosen_ = state.get("chosen")
        given = params.get("skeleton_weight")  # as fit set it: the parameter, else the weight chosen
        f.skeleton_weight_ = float(given if given is not None else (f.chosen_ or {}).get("skeleton_weight", 0.0))
        if state.get("bands") is not None:
            f.bands_ = ConformalBands.from_state(state["bands"])
        f.skeleton_ = None
        if state.get("skeleton") is not None:
            from lstmcast.data.skeleton import Chain

            f.skeleton_ = Chain.from_state(state["skeleton"])
        return f

    # ---- prediction --------------------------------------------------------------------------

    def _run(self, X: np.ndarray) -> np.ndarray:
        """Return the network's scaled outputs for windows X, (members, samples, steps_out, targets).

        X is (samples, steps, features), or (members, samples, ...) for one input set per member.
        A stateful network is run from a zero state over X in the training batch layout, so X must
        start with the first training window: the state carried into later windows is then the one
        the training set builds up, as the seeds do before forecasting.
        """
        batch = self.resolved()["batch_size"]
        out, _ = predict(self.network_, ensure_tensor(X), batch_size=batch if self.stateful else 1024,
                         stateful=self.stateful)
        return out.numpy()

    def _inverse_scale(self, z: np.ndarray) -> np.ndarray:
        """Return scaled target values z (..., targets) in differenced units."""
        full = np.zeros(z.shape[:-1] + (len(self.columns_),))
        full[..., self.target_idx_] = z
        return self.scaler_.inverse_transform(full)[..., self.target_idx_]

    def predict(self, y, start: int) -> np.ndarray:
        """Return one-step-ahead forecasts for positions ``start .. len(y)-1`` of ``y``, no refitting.

        Each forecast uses the true values before its position. Shape (n,) for one member,
        (members, n) for an ensemble; with several targets a trailing targets axis is added.
        """
        return self._squeeze(self.one_step_evaluator(y, start)())

    def _values_of(self, y) -> tuple[np.ndarray, pd.Index]:
        """Return ``y`` validated once: its (T, columns) float64 values, with the fitted column count, and its index."""
        data = validate_series(y, "y")
        values = (data.to_frame() if isinstance(data, pd.Series) else data).to_numpy(dtype=np.float64)
        if values.shape[1] != len(self.columns_):
            raise InputError(f"y has {values.shape[1]} columns; the forecaster was fitted on {len(self.columns_)}")
        return values, data.index

    def one_step_evaluator(self, y, start: int):
        """Return a function giving the current network's one-step forecasts (members, n, targets).

        Windows, history and the inverse transform are prepared once, so calling it after every
        epoch (study diagnostics and snapshots) costs one forward pass. Stateful networks replay
        every window from the start of ``y``, which must be where the fitted data began.
        """
        self._check_fitted()
        values, index = self._values_of(y)
        start = PARAMS["trim"].check(start, "start")  # a non-negative integer
        layout = self.layout(self._warmup(), self.season_length_)
        if not layout.first_prediction <= start < len(values):
            raise InputError(
                f"start={start} must leave {layout.first_prediction} observations before it (look_back + "
                f"transform warm-up{' + trim' if self.stateful and self.trim else ''}) and lie inside y "
                f"(length {len(values)})"
            )
        w, lag, lb = self._warmup() - self.difference, self.difference, self.network_look_back
        skeleton = self._aligned_skeleton(index)
        z = self._transformed(values, skeleton=skeleton)  # rows w + lag .. of values
        X, _ = windows(z, lb, 1, framing=self.framing)  # window i predicts values row i + lb + lag + w
        first = start - lag - lb - w
        X = X[self.trim :] if self.stateful else X[first:]
        skip = first - self.trim if self.stateful else 0
        X_t = ensure_tensor(X)
        slope, offset = self._inverse_affine()
        s_values = self._skeletal(values, skeleton)  # skeleton space, rows w..
        # one-step forecast = network output (scaled difference) -> difference -> + true value lag back
        base = s_values[start - w - lag : len(values) - w - lag, self.target_idx_] if lag else 0.0
        target = values[:, self.target_idx_[0]]
        keep = self._network_share()

        def evaluate() -> np.ndarray:
            step1 = self._run(X_t)[:, skip:, 0, :]  # (members, n, targets), scaled
            s_hat = (step1 * slope + offset) * keep + base
            if self.skeleton_ is None:
                return s_hat
            return self._unskeletal(s_hat[..., 0], target, start, skeleton)[..., None]

        return evaluate

    def _inverse_affine(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (slope, offset) with inverse_scale(z) = z * slope + offset for the targets (scalers are affine)."""
        zero = self._inverse_scale(np.zeros((1, len(self.target_idx_))))[0]
        one = self._inverse_scale(np.ones((1, len(self.target_idx_))))[0]
        return one - zero, zero

    def forecast(self, horizon: int, return_members: bool = False, y=None, level=None):
        """Return the next ``horizon`` values after the fitted data (or after ``y``), dated.

        Direct from the network when ``horizon <= steps_out``, else recursive (each forecast fed
        back as input); ``result.attrs["method"]`` says which. The ensemble mean by default; with
        ``return_members=True`` a DataFrame with one column per member (single target only).
        ``y`` is a history to forecast from instead of the fitted data (same columns; no refitting:
        the fitted transforms and network are applied to it). ``level`` (e.g. [80, 95]) adds
        conformal prediction intervals: a DataFrame with ``forecast``, ``lower_80``, ``upper_80``, ...
        calibrated once per horizon on walk-forward errors inside the training data (``calibration``).
        """
        if level is not None:
            if return_members:
                raise InputError("return_members=True gives the members' forecasts; ask for level separately")
            point = self.forecast(horizon, y=y)
            if not isinstance(point, pd.Series):
                raise InputError("prediction intervals cover a single target; set target to one column")
            bands = self.calibration(HORIZON.check(horizon), check_levels(level))
            out = interval_frame(point.to_numpy(), bands.apply(point.to_numpy()), point.index, name=point.name)
            out.attrs["method"] = point.attrs["method"]
            return out
        self._check_fitted()
        horizon = HORIZON.check(horizon)
        values, index = (self.values_, self.index_) if y is None else self._values_of(y)
        future = self._paths(values, index, self._checked_origins([len(values)], len(values), "y"), horizon)[:, 0]
        members = self.network_.members
        recursive = horizon > self.steps_out
        index = future_index(index, horizon)
        method = "recursive" if recursive else "direct"
        if return_members:
            self._check_one_target_for_members()
            out = pd.DataFrame(future[:, :, 0].T, index=index, columns=[f"member_{k}" for k in range(members)])
        elif len(self.target_idx_) == 1:
            out = pd.Series(future[:, :, 0].mean(axis=0), index=index, name=self.columns_[self.target_idx_[0]])
        else:
            out = pd.DataFrame(future.mean(axis=0), index=index, columns=[self.columns_[i] for i in self.target_idx_])
        out.attrs["method"] = method
        return out

    def forecast_origins(self, y, origins, horizon: int, return_members: bool = False) -> np.ndarray:
        """Return the ``horizon``-step forecasts from many origins of ``y`` at once, shape (origins, horizon).

        Row i is what ``forecast(horizon, y=y.iloc[:origins[i]])`` gives (to rounding), the
        ensemble mean; ``return_members=True`` gives every member, (members, origins, horizon);
        with several targets (``target="all"``) a trailing targets axis is added. ``origins`` are
        history lengths, in any order. One pass serves them all: ``y`` is validated and
        transformed once (the transforms are causal, so each origin's history is a prefix of
        the transformed series), every origin's windows run through the network together at each
        recursive block, and the skeleton is undone for all members and origins together
        (``data.skeleton.inverse_recursive``). Conformal calibration and multi-horizon walk-forward
        forecast this way from every origin of a block fitted once.

            f.forecast_origins(y, range(100, 124), 12)   # (24, 12): 12 steps after y[:100], ..., y[:123]
        """
        self._check_fitted()
        horizon = HORIZON.check(horizon)
        values, index = self._values_of(y)
        ends = self._checked_origins(origins, len(values), "origins")
        if return_members:
            self._check_one_target_for_members()
        future = self._paths(values[: ends.max()], index, ends, horizon)  # (members, origins, horizon, targets)
        if len(self.target_idx_) == 1:
            future = future[..., 0]
        return future if return_members else future.mean(axis=0)

    def _checked_origins(self, origins, n: int, what: str) -> np.ndarray:
        """Return ``origins`` as an int array after checking each leaves enough history inside ``n`` observations."""
        ends = np.asarray(origins)
        if ends.ndim != 1 or not len(ends) or not np.issubdtype(ends.dtype, np.integer):
            raise InputError(f"origins must be a non-empty list of integers (history lengths); got {origins!r:.80}")
        ends = ends.astype(np.int64)
        needs = self.layout(self._warmup(), self.season_length_).first_prediction
        short = ends[(ends < needs) | (ends > n)]
        if len(short):
            if what == "y":
                raise InputError(f"y has {n} observations; forecasting needs at least {needs}")
            raise InputError(f"origin {int(short[0])} must leave at least {needs} observations before it (look_back + "
                             f"transform warm-up) and lie inside y (length {n}); use origins in {needs}..{n}")
        return ends

    def _paths(self, values: np.ndarray, index: pd.Index, ends: np.ndarray, horizon: int) -> np.ndarray:
        """Return each member's forecasts (members, origins, horizon, targets) after ``values[:end]``, in original units.

        The common part of ``forecast`` and ``forecast_origins``: ``values`` validated and ``ends`` checked.
        """
        if horizon > self.steps_out and len(self.target_idx_) != len(self.columns_):
            raise InputError(
                f"horizon={horizon} exceeds steps_out={self.steps_out}, and forecasting recursively needs "
                "future values of every input column; use steps_out >= horizon or target='all'"
            )
        skeleton = self._aligned_skeleton(index)
        # causal transforms: the rows of values[:end] are the first end - warmup rows of z
        z = self._transformed(values, skeleton=skeleton)  # (rows, columns)
        future = self._inverse_scale(self._network_paths(z, ends - self._warmup(), horizon))
        if self.difference:
            lag, w = self.difference, self._warmup() - self.difference
            s_values = self._skeletal(values, skeleton)[:, self.target_idx_]  # skeleton space, rows w..
            last = s_values[ends[:, None] - w - lag + np.arange(lag)]  # (origins, lag, targets)
            # the origins ride along as a feature axis: (members, horizon, origins, targets)
            future = undifference_recursive(future.transpose(0, 2, 1, 3), last.transpose(1, 0, 2), lag)
            future = future.transpose(0, 2, 1, 3)
        if self.skeleton_ is not None:
            from lstmcast.data.skeleton import inverse_recursive  # statsmodels loads with a skeleton only

            members, n = future.shape[:2]
            rows = np.tile(ends, members)  # row k * n + i: member k from origin i
            flat = inverse_recursive(skeleton, future[..., 0].reshape(members * n, horizon),
                                     values[:, self.target_idx_[0]], rows)
            future = flat.reshape(members, n, horizon, 1)
        self._check_sane_origins(future, values[:, self.target_idx_], ends)
        return future

    def _network_paths(self, z: np.ndarray, lengths: np.ndarray, horizon: int) -> np.ndarray:
        """Return each member's next ``horizon`` scaled values (members, origins, horizon, targets) after ``z[:length]``.

        Direct from the network when ``horizon <= steps_out``, else recursively: each block's
        forecasts are appended to each member's history and the next block read from there.
        Every origin's window goes through the network in one batch per block.
        """
        if self.stateful:  # the state carried into the last window depends on where each history ends
            return np.stack([self._replayed_paths(z[:length], horizon) for length in lengths], axis=1)
        lb, members = self.network_look_back, self.network_.members
        recent = z[lengths[:, None] - lb + np.arange(lb)]  # (origins, look_back, columns): each origin's last window
        history = np.broadcast_to(recent, (members,) + recent.shape)  # each member extends its own history
        steps, done = [], 0
        while done < horizon:
            X = history[:, :, -lb:]  # (members, origins, look_back, columns)
            if self.framing == "features":
                X = X.reshape(X.shape[:2] + (1, -1))  # lags as features, as windows frames them
            out = self._shared(self._run(X))  # (members, origins, steps_out, targets)
            steps.append(out)
            done += out.shape[2]
            if done < horizon:
                history = np.concatenate([history, out], axis=2)
        return np.concatenate(steps, axis=2)[:, :, :horizon]

    def _replayed_paths(self, z: np.ndarray, horizon: int) -> np.ndarray:
        """Return each member's next ``horizon`` scaled values (members, horizon, targets) of a stateful network after z."""
        z = np.broadcast_to(z, (self.network_.members,) + z.shape).copy()  # each member extends its own history
        steps, done = [], 0
        while done < horizon:
            # replay each member's whole history, its own forecasts included: the state depends on all of it
            windows_k = np.stack([_all_windows(zk, self.network_look_back, self.framing)[self.trim :] for zk in z])
            out = self._shared(self._run(windows_k)[:, -1])  # (members, steps_out, targets)
            steps.append(out)
            done += out.shape[1]
            if done < horizon:
                z = np.concatenate([z, out], axis=1)
        return np.concatenate(steps, axis=1)[:, :horizon]

    def _check_sane_origins(self, future: np.ndarray, history: np.ndarray, ends: np.ndarray) -> None:
        """Raise what ``_check_sane`` raises for the first origin whose forecasts (members, origins, horizon, targets) it refuses."""
        low = np.minimum.accumulate(history)[ends - 1][:, None]  # (origins, 1, targets): the range before each origin
        high = np.maximum.accumulate(history)[ends - 1][:, None]
        spread = np.maximum(high - low, np.maximum(np.abs(high), np.abs(low)))
        spread = np.where(spread > 0, spread, 1.0)
        with np.errstate(invalid="ignore"):
            outside = np.maximum(low - future, future - high) / spread
        bad = ~np.isfinite(future).all(axis=(0, 2, 3)) | (outside > ABSURD_RANGES).any(axis=(0, 2, 3))
        for i in np.flatnonzero(bad)[:1]:
            self._check_sane(future[:, i], history[: ends[i]])

    def calibration(self, horizon: int, levels) -> ConformalBands:
        """Return the conformal bands of 1..``horizon``-step forecasts at ``levels``, calibrating once.

        A forecaster with these parameters (and the skeleton weight this one uses) is fitted on the
        training data minus a calibration tail and forecasts ``horizon`` steps from every origin of
        the tail; the absolute errors per step give the widths (evaluation.conformal.calibrate).
        Coverage therefore holds whatever the network; the bands widen with the horizon. Kept in
        ``bands_`` (and in model files) until the next fit.
        """
        self._check_fitted()
        bands = getattr(self, "bands_", None)
        if bands is None or bands.horizon < horizon or not set(levels) <= set(bands.levels):
            wanted = sorted(set(levels) | (set(bands.levels) if bands is not None else set()))
            params = {**self.get_params(), "season_length": self.season_length_}
            if self.skeleton_ is not None:
                params["skeleton_weight"] = self.skeleton_weight_
            history = pd.DataFrame(self.values_, index=self.index_, columns=self.columns_)
            if len(self.columns_) == 1:
                history = history.iloc[:, 0]
            self.bands_ = calibrate(Forecaster(**params), history, max(horizon, bands.horizon if bands else 0), wanted)
        return self.bands_

    @staticmethod
    def _check_sane(future: np.ndarray, history: np.ndarray) -> None:
        """Raise TrainingDivergedError when a forecast is not finite or absurdly far from the data.

        Absurd: further outside the history's range than ABSURD_RANGES times that range (or than
        ABSURD_RANGES times its largest magnitude for a constant history). A diverged network
        produces such values (1e38 from a relu LSTM at learning rate 1000); no real forecast does.
        """
        if not np.isfinite(future).all():
            raise TrainingDivergedError(
                "the forecast is not finite (the network or the inverse transforms overflowed); "
                "refit with a lower learning_rate or fewer epochs"
            )
        low, high = history.min(axis=0), history.max(axis=0)
        spread = np.maximum(high - low, np.maximum(np.abs(high), np.abs(low)))
        spread = np.where(spread > 0, spread, 1.0)
        outside = np.maximum(low - future, future - high) / spread  # in ranges beyond the data
        if (outside > ABSURD_RANGES).any():
            worst = float(future.flat[np.argmax(outside)])
            raise TrainingDivergedError(
                f"the forecast {worst:.4g} lies more than {ABSURD_RANGES:g} data ranges outside the data "
                f"({float(low.min()):.4g} .. {float(high.max()):.4g}): the network diverged; refit with a lower "
                "learning_rate, fewer epochs or activation tanh"
            )

    def _shared(self, out: np.ndarray) -> np.ndarray:
        """Return the network's scaled outputs (..., targets) scaled to its share of the combined forecast."""
        keep = self._network_share()
        if keep != 1.0:  # the combined forecast is what the recursion continues from
            slope, offset = self._inverse_affine()
            out = ((out * slope + offset) * keep - offset) / slope
        return out

    def _check_one_target_for_members(self) -> None:
        if len(self.target_idx_) != 1:
            raise InputError(f"return_members=True gives one column per member of one target; this forecaster has "
                             f"{len(self.target_idx_)} targets: set target to one column, or drop return_members")

    def _network_share(self) -> float:
        """Return the LSTM's share of the forecast: 1 - ``skeleton_weight_`` with a skeleton, else 1.

        The skeleton's own forecast is zero in the space the network models, so combining the
        two forecasts is scaling the network's output by this share. ``skeleton_weight_`` is fixed
        when fitting: the parameter when given, else the weight chosen on the validation tail,
        else 0 (a model file from before the choice existed), so
        ``set_params`` after fitting changes nothing until the next fit.
        """
        return 1.0 if self.skeleton_ is None else 1.0 - self.skeleton_weight_

    def choose_skeleton_weight(self) -> "Forecaster":
        """Return self with ``skeleton_weight_`` chosen on the validation tail (model="auto", weight not given).

        Called by ``fit`` between the transforms and training, and by a panel fitting one network
        per series (a global network's panel chooses every series' weight with one second network:
        ``PanelForecaster._choose_skeleton_weights``). The choice and every weight's tail RMSE are
        added to ``chosen_``.
        """
        if self.skeleton_ is not None and self.skeleton_weight is None:
            report = self._choose_skeleton_weight()
            self.chosen_ = {**self.chosen_, **report}
            self.skeleton_weight_ = float(report["skeleton_weight"])
        return self

    def _choose_skeleton_weight(self) -> dict:
        """Return the skeleton's weight chosen on the validation tail of the training data, as report keys.

        A forecaster with these parameters and the LSTM alone (weight 0) is fitted on the training
        data minus the skeleton's validation tail (choosing its own skeleton there); its one-step
        forecasts of the tail are combined with its skeleton's at each of ``SKELETON_WEIGHTS`` and
        the weight with the lowest tail RMSE wins (ties to the smaller: the LSTM). The network
        fitted on all the data keeps the LSTM where the tail says it adds to the skeleton and
        shrinks it towards the skeleton where it fits noise. On the public series of
        benchmarks/accuracy (RMSE over the best statistical model, geometric mean) it took
        auto from 1.041 to 1.035 on the 12 public series and from 0.975 to 0.971 on the 7
        held-out ones, at the cost of a second, slightly shorter fit.
        """
        tail = int(self.chosen_["tail"])
        history = pd.DataFrame(self.values_, index=self.index_, columns=self.columns_)
        history = history.iloc[:, 0] if len(self.columns_) == 1 else history
        inner = Forecaster(**{**self.get_params(), "skeleton_weight": 0.0,
                              "season_length": self.season_length_})
        try:
            inner.fit(history.iloc[:-tail])
        except (InputError, TrainingDivergedError) as exc:  # too short without the tail, or unstable there
            return weight_not_chosen(exc)
        return inner.tail_weight_report(history, tail)

    def tail_weight_report(self, history, tail: int) -> dict:
        """Return the report keys of the skeleton weight whose blend has the lowest RMSE on ``history``'s last ``tail``.

        ``self`` is fitted on ``history`` minus that tail; its one-step forecasts of the tail are
        blended with its skeleton's at each of ``SKELETON_WEIGHTS`` (ties to the smaller weight:
        the LSTM). Leaves ``skeleton_weight_`` at the last weight tried.
        """
        start = len(history) - tail
        truth = self._values_of(history)[0][start:, self.target_idx_[0]]
        scores = {}
        for weight in SKELETON_WEIGHTS:
            self.skeleton_weight_ = weight  # the same fitted networks, blended at each weight
            point = np.asarray(self.predict(history, start)).reshape(-1, tail).mean(axis=0)
            scores[weight] = float(np.sqrt(np.mean((truth - point) ** 2)))
        best = min(SKELETON_WEIGHTS, key=lambda w: (scores[w], w))
        return {"skeleton_weight": best, "skeleton_weight_tail_rmse": {str(w): scores[w] for w in SKELETON_WEIGHTS}}

    def _squeeze(self, a: np.ndarray) -> np.ndarray:
        if a.shape[-1] == 1:
            a = a[..., 0]
        return a[0] if a.shape[0] == 1 else a


def _periods_between(fitted: pd.Index, index: pd.Index) -> int:
    """Return how many steps ``index[0]`` lies after ``fitted[0]`` (0 when the indexes cannot be compared)."""
    try:
        if isinstance(fitted, pd.PeriodIndex) and isinstance(index, pd.PeriodIndex) and fitted.freq == index.freq:
            return int((index[0] - fitted[0]).n)
        if isinstance(fitted, pd.DatetimeIndex) and isinstance(index, pd.DatetimeIndex) and fitted.freq is not None:
            return len(pd.date_range(fitted[0], index[0], freq=fitted.freq)) - 1 if index[0] >= fitted[0] else \
                -(len(pd.date_range(index[0], fitted[0], freq=fitted.freq)) - 1)
        if pd.api.types.is_integer_dtype(fitted) and pd.api.types.is_integer_dtype(index) and len(fitted) > 1:
            return int((index[0] - fitted[0]) // (fitted[1] - fitted[0]))
    except (TypeError, ValueError, AttributeError):
        pass
    return 0


class _Shifted:
    """A fitted skeleton applied to data whose first row sits ``phase`` seasonal positions after the fitted start.

    Leading NaN rows are warm-up to every skeleton transform, so padding ``phase`` of them puts
    each real row at its seasonal position; they are cut off again.
    """

    def __init__(self, skeleton, phase: int):
        self.skeleton, self.phase = skeleton, phase

    def warmup(self) -> int:
        return self.skeleton.warmup()

    def transform(self, x: np.ndarray) -> np.ndarray:
        return self.skeleton.transform(self._pad(x))[self.phase :]

    def inverse(self, z: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.skeleton.inverse(self._pad(z), self._pad(x))[self.phase :]

    def cursor(self, x: np.ndarray, ends: np.ndarray):
        return self.skeleton.cursor(self._pad(x), np.asarray(ends) + self.phase)

    def _pad(self, a: np.ndarray) -> np.ndarray:
        return np.concatenate([np.full(self.phase, np.nan), a])


def _all_windows(z: np.ndarray, look_back: int, framing: str) -> np.ndarray:
    """Return every input window of z, the final one (ending at the last row) included."""
    padded = np.concatenate([z, z[-1:]])  # a dummy target row so the final window is framed
    X, _ = windows(padded, look_back, 1, framing=framing)
    return X
