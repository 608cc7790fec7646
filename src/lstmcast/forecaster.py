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

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator

from lstmcast.data.transforms import Scaler, difference, undifference_recursive
from lstmcast.data.validate import check_int, validate_series
from lstmcast.data.windows import last_window, windows
from lstmcast.errors import InputError, NotFittedError
from lstmcast.evaluation.split import future_index
from lstmcast.models.zoo import ModelConfig, Network, build_network
from lstmcast.training.fast import SMALL_STEP
from lstmcast.training.trainer import TrainConfig, TrainHistory, ensure_tensor, predict, train


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
        look_back: int = 1,
        steps_out: int = 1,
        units: int | list[int] = 50,
        layers: int | None = None,
        activation: str = "tanh",
        dropout: float = 0.0,
        subsequences: int = 2,
        filters: int = 64,
        kernel: int | None = None,
        framing: str = "steps",
        epochs: int = 100,
        batch_size: int = 32,
        learning_rate: float = 1e-3,
        optimizer: str = "adam",
        loss: str = "mse",
        shuffle: bool = True,
        stateful: bool = False,
        patience: int | None = None,
        validation_size: int = 0,
        difference: int = 0,
        scale: str = "minmax-sym",
        target: str | None = None,
        members: int = 1,
        seed: int | list[int] | None = None,
        trim: int = 0,
    ):
        self.model = model
        self.look_back = look_back
        self.steps_out = steps_out
        self.units = units
        self.layers = layers
        self.activation = activation
        self.dropout = dropout
        self.subsequences = subsequences
        self.filters = filters
        self.kernel = kernel
        self.framing = framing
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.loss = loss
        self.shuffle = shuffle
        self.stateful = stateful
        self.patience = patience
        self.validation_size = validation_size
        self.difference = difference
        self.scale = scale
        self.target = target
        self.members = members
        self.seed = seed
        self.trim = trim

    # ---- configuration -----------------------------------------------------------------------

    def min_train_size(self) -> int:
        """Return the fewest observations ``fit`` accepts: differencing + look-back + steps out."""
        return self.difference + self.look_back + self.steps_out

    def model_config(self, n_features: int, n_targets: int) -> ModelConfig:
        """Return the network configuration for data with these feature and target counts."""
        features_in = n_features * self.look_back if self.framing == "features" else n_features
        return ModelConfig(
            architecture=self.model, n_in=1 if self.framing == "features" else self.look_back,
            n_features=features_in, n_out=self.steps_out, n_targets=n_targets, units=max(self._unit_list()),
            layers=self.layers, activation=self.activation, dropout=self.dropout,
            subsequences=self.subsequences, filters=self.filters, kernel=self.kernel,
        ).validated()

    def _unit_list(self) -> list[int]:
        return [int(u) for u in self.units] if isinstance(self.units, (list, tuple)) else [int(self.units)]

    def train_config(self) -> TrainConfig:
        """Return the trainer's configuration."""
        return TrainConfig(
            epochs=self.epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
            optimizer=self.optimizer, loss=self.loss, shuffle=self.shuffle, stateful=self.stateful,
            patience=self.patience,
        )

    def check_params(self) -> "Forecaster":
        """Return self after checking every parameter's type and range (no data needed), or raise InputError."""
        check_int(self.look_back, "look_back", 1)
        check_int(self.steps_out, "steps_out", 1)
        check_int(self.members, "members", 1)
        check_int(self.difference, "difference", 0)
        check_int(self.validation_size, "validation_size", 0)
        check_int(self.trim, "trim", 0)
        check_int(self.epochs, "epochs", 1)
        check_int(self.batch_size, "batch_size", 1)
        for u in self._unit_list() if isinstance(self.units, (list, tuple)) else [self.units]:
            check_int(u, "units", 1)
        if self.layers is not None:
            check_int(self.layers, "layers", 1)
        if self.framing not in ("steps", "features"):
            raise InputError(f"framing must be 'steps' or 'features'; got {self.framing!r}")
        if isinstance(self.learning_rate, bool) or not isinstance(self.learning_rate, (int, float)) \
                or not self.learning_rate > 0:
            raise InputError(f"learning_rate must be a positive number; got {self.learning_rate!r}")
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise InputError(f"dropout must be a number in [0, 1); got {self.dropout!r}")
        for name in ("stateful", "shuffle"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"{name} must be true or false; got {getattr(self, name)!r}")
        Scaler(self.scale)._check_kind()
        if self.patience is not None:
            check_int(self.patience, "patience", 1)
            if not self.validation_size:
                raise InputError("patience (early stopping) watches the validation loss; set validation_size too")
        self.model_config(1, 1)  # architecture, activation, subsequences and kernel
        self.train_config().validated(self.batch_size if self.stateful else 1)
        return self

    def check_data(self, n_obs: int, what: str = "the series") -> int:
        """Return the number of training windows ``n_obs`` training observations give, or raise InputError.

        Checked before any training (studies check every configuration before the first group):
        enough observations for differencing, look-back, steps out, trim and validation, and a
        stateful batch size that divides the training windows.
        """
        windows_ = n_obs - self.difference - self.look_back - self.steps_out + 1 - self.trim - self.validation_size
        if windows_ < 1:
            parts = [f"look_back {self.look_back}", f"steps_out {self.steps_out}"]
            parts += [f"{name} {getattr(self, name)}" for name in ("difference", "trim", "validation_size")
                      if getattr(self, name)]
            needed = n_obs - windows_ + 1
            raise InputError(
                f"{' + '.join(parts)} need at least {needed} observations; {what} has {n_obs}"
            )
        if self.stateful and windows_ % self.batch_size:
            divisors = [b for b in range(1, min(self.batch_size, windows_) + 1) if windows_ % b == 0]
            raise InputError(
                f"stateful training needs a batch_size that divides the {windows_} training samples; "
                f"batch_size={self.batch_size} does not (try batch_size={divisors[-1]}"
                + (f", or trim={windows_ % self.batch_size} to drop the oldest windows)" if windows_ > self.batch_size
                   else ")")
            )
        return windows_

    # ---- fitting -----------------------------------------------------------------------------

    def fit(self, y, callbacks=()) -> "Forecaster":
        """Return self, trained on the series or frame ``y`` (all of it is training data)."""
        self.check_params()
        data = validate_series(y, "y")
        frame = data.to_frame() if isinstance(data, pd.Series) else data
        self.columns_ = list(frame.columns)
        self.target_idx_ = self._target_indices(frame)
        self.index_ = frame.index
        self.values_ = frame.to_numpy(dtype=np.float64)  # (T, columns), original units
        self.check_data(len(frame))
        diffed = difference(self.values_, self.difference) if self.difference else self.values_
        fit_rows = diffed[: len(diffed) - self.validation_size] if self.validation_size else diffed
        self.scaler_ = Scaler(self.scale).fit(fit_rows)
        z = self.scaler_.transform(diffed)
        X, Y = self._frame(z)
        X, Y = X[self.trim :], Y[self.trim :]
        cfg = self.model_config(len(self.columns_), len(self.target_idx_))
        self.seeds_ = self._member_seeds()
        X_t, Y_t = ensure_tensor(X), ensure_tensor(Y)
        validation = None
        if self.validation_size:
            X_t, Y_t, validation = X_t[: -self.validation_size], Y_t[: -self.validation_size], (
                X_t[-self.validation_size :], Y_t[-self.validation_size :])
        self.n_train_windows_ = len(X_t)
        units = self._unit_list()
        if len(units) > 1 and len(units) != len(self.seeds_):
            raise InputError(f"{len(units)} unit counts for {len(self.seeds_)} members; give one per member")
        with _threads_for(cfg.units * len(self.seeds_) * min(self.batch_size, len(X_t))):
            # network_ exists before training so that callbacks can predict with it
            self.network_: Network = build_network(cfg, self.seeds_, units if len(units) > 1 else None)
            self.history_: TrainHistory = train(
                self.network_, X_t, Y_t, self.train_config(), self.seeds_, tuple(callbacks), validation)
        return self

    def _target_indices(self, frame: pd.DataFrame) -> list[int]:
        if self.target == "all":
            return list(range(frame.shape[1]))
        if self.target is None:
            return [frame.shape[1] - 1]
        if self.target not in frame.columns:
            raise InputError(f"target {self.target!r} is not a column; columns are {list(frame.columns)}")
        return [list(frame.columns).index(self.target)]

    def _member_seeds(self) -> list[int]:
        if isinstance(self.seed, (list, tuple, np.ndarray)):
            if self.members not in (1, len(self.seed)):
                raise InputError(f"members={self.members} but {len(self.seed)} seeds were given; pass one seed per member")
            seeds = [int(s) for s in self.seed]
        else:
            base = self.seed if self.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
            seeds = [int(base) + k for k in range(self.members)]
        if not all(0 <= s < 2**31 for s in seeds):
            raise InputError(f"seeds must be integers in [0, 2**31); got {min(seeds)}..{max(seeds)}")
        return seeds

    def _frame(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the training windows of the scaled, differenced values z (rows, columns)."""
        return windows(z, self.look_back, self.steps_out, targets=self.target_idx_, framing=self.framing)

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise NotFittedError("this Forecaster is not fitted yet; call fit(y) first")

    def save(self, path):
        """Return the path written: this fitted forecaster as one safetensors file (see lstmcast.persist)."""
        from lstmcast.persist import save  # persist imports this module

        return save(self, path)

    # ---- prediction --------------------------------------------------------------------------

    def _run(self, X: np.ndarray) -> np.ndarray:
        """Return the network's scaled outputs for windows X, (members, samples, steps_out, targets).

        X is (samples, steps, features), or (members, samples, ...) for one input set per member.
        A stateful network is run from a zero state over X in the training batch layout, so X must
        start with the first training window: the state carried into later windows is then the one
        the training set builds up, as the seeds do before forecasting.
        """
        with _threads_for(self.network_.config.units * self.network_.members * self.batch_size):
            out, _ = predict(self.network_, ensure_tensor(X), batch_size=self.batch_size if self.stateful else 1024,
                             stateful=self.stateful)
        return out.numpy()

    def _diffed(self, values: np.ndarray) -> np.ndarray:
        return difference(values, self.difference) if self.difference else values

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

    def one_step_evaluator(self, y, start: int):
        """Return a function giving the current network's one-step forecasts (members, n, targets).

        Windows, history and the inverse transform are prepared once, so calling it after every
        epoch (study diagnostics and snapshots) costs one forward pass. Stateful networks replay
        every window from the start of ``y``, which must be where the fitted data began.
        """
        self._check_fitted()
        data = validate_series(y, "y")
        values = (data.to_frame() if isinstance(data, pd.Series) else data).to_numpy(dtype=np.float64)
        lag, lb = self.difference, self.look_back
        if values.shape[1] != len(self.columns_):
            raise InputError(f"y has {values.shape[1]} columns; the forecaster was fitted on {len(self.columns_)}")
        first = start - lag - lb  # window i predicts z row i + lb, i.e. position i + lb + lag
        if not lag + lb + (self.trim if self.stateful else 0) <= start < len(values):
            raise InputError(
                f"start={start} must leave look_back + difference{' + trim' if self.stateful and self.trim else ''}"
                f" = {lag + lb + (self.trim if self.stateful else 0)} observations before it and lie inside y "
                f"(length {len(values)})"
            )
        z = self.scaler_.transform(self._diffed(values))
        X, _ = windows(z, lb, 1, framing=self.framing)
        X = X[self.trim :] if self.stateful else X[first:]
        skip = first - self.trim if self.stateful else 0
        X_t = ensure_tensor(X)
        slope, offset = self._inverse_affine()
        # one-step forecast = network output (scaled difference) -> difference -> + true value lag back
        base = values[start - lag : len(values) - lag, self.target_idx_] if lag else 0.0

        def evaluate() -> np.ndarray:
            step1 = self._run(X_t)[:, skip:, 0, :]  # (members, n, targets), scaled
            return step1 * slope + offset + base

        return evaluate

    def _inverse_affine(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (slope, offset) with inverse_scale(z) = z * slope + offset for the targets (scalers are affine)."""
        zero = self._inverse_scale(np.zeros((1, len(self.target_idx_))))[0]
        one = self._inverse_scale(np.ones((1, len(self.target_idx_))))[0]
        return one - zero, zero

    def forecast(self, horizon: int, return_members: bool = False):
        """Return the next ``horizon`` values after the fitted data, dated.

        Direct from the network when ``horizon <= steps_out``, else recursive (each forecast fed
        back as input); ``result.attrs["method"]`` says which. The ensemble mean by default; with
        ``return_members=True`` a DataFrame with one column per member (single target only).
        """
        self._check_fitted()
        horizon = check_int(horizon, "horizon", 1)
        recursive = horizon > self.steps_out
        if recursive and len(self.target_idx_) != len(self.columns_):
            raise InputError(
                f"horizon={horizon} exceeds steps_out={self.steps_out}, and forecasting recursively needs "
                "future values of every input column; use steps_out >= horizon or target='all'"
            )
        z = self.scaler_.transform(self._diffed(self.values_))  # (rows, columns)
        members = self.network_.members
        z = np.broadcast_to(z, (members,) + z.shape).copy()  # each member extends its own history
        steps: list[np.ndarray] = []
        done = 0
        while done < horizon:
            out = self._next_block(z)  # (members, steps_out, targets)
            steps.append(out)
            done += out.shape[1]
            if done < horizon:
                z = np.concatenate([z, out], axis=1)
        zf = np.concatenate(steps, axis=1)[:, :horizon]  # (members, horizon, targets)
        future = self._inverse_scale(zf)
        if self.difference:
            last = self.values_[-self.difference :][:, self.target_idx_]
            future = undifference_recursive(future, last, self.difference)
        index = future_index(self.index_, horizon)
        method = "recursive" if recursive else "direct"
        if return_members:
            if len(self.target_idx_) != 1:
                raise InputError("return_members=True needs a single target")
            out = pd.DataFrame(future[:, :, 0].T, index=index, columns=[f"member_{k}" for k in range(members)])
        elif len(self.target_idx_) == 1:
            out = pd.Series(future[:, :, 0].mean(axis=0), index=index, name=self.columns_[self.target_idx_[0]])
        else:
            out = pd.DataFrame(future.mean(axis=0), index=index, columns=[self.columns_[i] for i in self.target_idx_])
        out.attrs["method"] = method
        return out

    def _next_block(self, z: np.ndarray) -> np.ndarray:
        """Return each member's next ``steps_out`` scaled values after its history z (members, rows, columns)."""
        if self.stateful:  # replay each member's whole history, its own forecasts included
            return self._run(np.stack([_all_windows(zk, self.look_back, self.framing)[self.trim :] for zk in z]))[:, -1]
        X = np.stack([last_window(zk, self.look_back, framing=self.framing)[0] for zk in z])  # (members, steps, features)
        return self._run(X[:, None])[:, 0]

    def _squeeze(self, a: np.ndarray) -> np.ndarray:
        if a.shape[-1] == 1:
            a = a[..., 0]
        return a[0] if a.shape[0] == 1 else a


def _all_windows(z: np.ndarray, look_back: int, framing: str) -> np.ndarray:
    """Return every input window of z, the final one (ending at the last row) included."""
    padded = np.concatenate([z, z[-1:]])  # a dummy target row so the final window is framed
    X, _ = windows(padded, look_back, 1, framing=framing)
    return X


class _threads_for:
    """Run small steps (units x members x batch <= 4096) on one thread: waking a second costs more than it saves."""

    def __init__(self, work: int):
        self.work = work

    def __enter__(self):
        self.saved = torch.get_num_threads()
        if self.work <= SMALL_STEP:
            torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.saved)
