"""Invertible transforms: differencing at any lag and per-column scaling.

Differencing is a pair of pure functions; ``Scaler`` is a class because it keeps what it learned
from the training rows.

>>> d = difference(np.array([1.0, 3.0, 6.0, 10.0]))                 # [2, 3, 4]
>>> undifference_recursive(d[1:], last_values=np.array([3.0]))     # [6, 10]
array([ 6., 10.])
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from lstmcast.data.validate import check_int
from lstmcast.errors import InputError, ModelFileError, NotFittedError


def difference(x, lag: int = 1) -> np.ndarray:
    """Return ``x[lag:] - x[:-lag]`` along axis 0, shape (n - lag, ...).

    Works for a 1-D series or a 2-D (time, features) array; ``lag=12`` is the seasonal
    difference of monthly data.
    """
    lag = check_int(lag, "lag", 1)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        raise InputError("difference needs a 1-D or 2-D array; got a scalar")
    if len(x) <= lag:
        raise InputError(
            f"difference with lag={lag} needs at least {lag + 1} observations; got {len(x)}"
        )
    return x[lag:] - x[:-lag]


def undifference_one_step(diffs, history, start: int, lag: int = 1) -> np.ndarray:
    """Return one-step forecasts in original units: ``diffs[..., i, :] + history[start + i - lag]``.

    For forecasts of positions ``t = start, start + 1, ...`` each made from the true past, so
    each differenced forecast is added to the true value ``lag`` steps before it.
    ``history`` is the original series, shape (T, *features); ``diffs`` has shape
    (..., n, *features) (leading axes, e.g. ensemble members, broadcast). Positions may run one
    lag past the end of ``history`` (forecasting the first unseen values).
    """
    lag = check_int(lag, "lag", 1)
    start = check_int(start, "start", 0)
    diffs = np.asarray(diffs, dtype=np.float64)
    history = np.asarray(history, dtype=np.float64)
    time_axis = diffs.ndim - history.ndim
    if history.ndim == 0 or time_axis < 0 or diffs.shape[time_axis + 1 :] != history.shape[1:]:
        raise InputError(
            f"diffs of shape {diffs.shape} do not match history of shape {history.shape}; "
            "diffs must be (..., n, *features) for history (T, *features)"
        )
    n = diffs.shape[time_axis]
    first, last = start - lag, start - lag + n  # rows of history added to diffs
    if first < 0 or last > len(history):
        raise InputError(
            f"undifferencing positions {start}..{start + n - 1} with lag={lag} needs history rows "
            f"{first}..{last - 1}; history has rows 0..{len(history) - 1}"
        )
    return diffs + history[first:last]


def undifference_recursive(diffs, last_values, lag: int = 1) -> np.ndarray:
    """Return multi-step forecasts in original units from differenced forecasts.

    ``y[T+h] = diffs[h] + y[T+h-lag]``, where values beyond the end T are the forecasts
    themselves. ``last_values`` are the final ``lag`` true observations, shape (lag, *features);
    ``diffs`` has shape (..., horizon, *features), leading axes (e.g. members) broadcast.
    Vectorised: every lag-th step forms one chain, a cumulative sum over the blocks.
    """
    lag = check_int(lag, "lag", 1)
    diffs = np.asarray(diffs, dtype=np.float64)
    last_values = np.asarray(last_values, dtype=np.float64)
    time_axis = diffs.ndim - last_values.ndim
    if (
        last_values.ndim == 0
        or len(last_values) != lag
        or time_axis < 0
        or diffs.shape[time_axis + 1 :] != last_values.shape[1:]
    ):
        raise InputError(
            f"last_values must hold the final lag={lag} observations, shape ({lag}, *features), "
            f"matching diffs of shape (..., horizon, *features); got last_values {last_values.shape} "
            f"and diffs {diffs.shape}"
        )
    lead, horizon, features = diffs.shape[:time_axis], diffs.shape[time_axis], diffs.shape[time_axis + 1 :]
    blocks = -(-horizon // lag)  # ceil
    pad = [(0, 0)] * diffs.ndim
    pad[time_axis] = (0, blocks * lag - horizon)
    chains = np.pad(diffs, pad).reshape(*lead, blocks, lag, *features)  # (..., blocks, lag, *features)
    # forecast k * lag + j = last_values[j] + sum of diffs[i * lag + j] for i <= k
    levels = np.cumsum(chains, axis=time_axis) + last_values
    return levels.reshape(*lead, blocks * lag, *features)[(slice(None),) * time_axis + (slice(0, horizon),)]


_KINDS = ("minmax", "minmax-sym", "standard", "none")


class Scaler(BaseEstimator):
    """Per-column scaler fitted on training rows: "minmax" to (0, 1), "minmax-sym" to (-1, 1)
    (the seeds' choice), "standard" (zero mean, unit variance) or "none".

    Wraps scikit-learn's MinMaxScaler / StandardScaler. Accepts 1-D arrays (one column) and
    arrays of shape (..., features), and returns the shape it was given.

    A column with no spread in the training rows (all values equal) has no scale to learn:
    ``transform`` maps it to the middle of the range (0.5, 0 or 0) and ``inverse_transform``
    maps any finite value back to the training constant, exactly, so a series of 7s forecasts 7s
    whatever the network emits. (scikit-learn would map it to the bottom of the range and read
    the network's output in arbitrary units.) Non-finite values stay non-finite, so a diverged
    prediction is never hidden.

    >>> s = Scaler("minmax-sym").fit(np.array([0.0, 5.0, 10.0]))
    >>> s.transform(np.array([0.0, 10.0]))
    array([-1.,  1.])

    Fitted attributes: ``n_features_`` and ``scaler_`` (the scikit-learn object; None for "none").
    """

    def __init__(self, kind: str = "minmax-sym"):
        self.kind = kind

    def fit(self, values) -> Scaler:
        """Return self, fitted on ``values`` (training rows only), shape (n,) or (..., features)."""
        self._check_kind()
        rows = _as_rows(values)  # (n, features)
        if not np.isfinite(rows).all():
            raise InputError("Scaler.fit got NaN or infinite values; fill or drop them first")
        self.n_features_ = rows.shape[1]
        self.scaler_ = _new_sklearn_scaler(self.kind)
        if self.scaler_ is not None:
            self.scaler_.fit(rows)
            if self.kind == "standard":
                # a summed mean of equal values can be off by an ulp (0.1 x 37); keep the value itself
                flat = np.ptp(rows, axis=0) == 0
                self.scaler_.mean_ = np.where(flat, rows[0], self.scaler_.mean_)
        return self

    def transform(self, values) -> np.ndarray:
        """Return ``values`` scaled, in the same shape."""
        return self._apply(values, "transform")

    def inverse_transform(self, values) -> np.ndarray:
        """Return scaled ``values`` back in original units, in the same shape."""
        return self._apply(values, "inverse_transform")

    def fit_transform(self, values) -> np.ndarray:
        """Return ``values`` scaled after fitting on them."""
        return self.fit(values).transform(values)

    def to_dict(self) -> dict:
        """Return the kind and fitted state as plain JSON-able floats and lists."""
        self._check_fitted()
        state = {}
        if self.scaler_ is not None:
            state = {name: np.asarray(getattr(self.scaler_, name)).tolist() for name in _STATE[self.kind]}
        return {"kind": self.kind, "n_features": self.n_features_, "state": state}

    @classmethod
    def from_dict(cls, data: dict) -> Scaler:
        """Return a fitted Scaler rebuilt from ``to_dict()``'s output."""
        try:
            scaler = cls(data["kind"])
            scaler._check_kind()
            scaler.n_features_ = int(data["n_features"])
            scaler.scaler_ = _new_sklearn_scaler(scaler.kind)
            if scaler.scaler_ is not None:
                for name in _STATE[scaler.kind]:
                    value = np.asarray(data["state"][name], dtype=np.float64)
                    if value.ndim == 1 and value.shape != (scaler.n_features_,):
                        raise ValueError(f"{name} has shape {value.shape}")
                    setattr(scaler.scaler_, name, value)
                scaler.scaler_.n_features_in_ = scaler.n_features_
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(
                f"saved scaler state is incomplete or corrupt ({exc!r}); refit the model"
            ) from None
        return scaler

    def _apply(self, values, method: str) -> np.ndarray:
        self._check_fitted()
        values = np.asarray(values, dtype=np.float64)
        rows = _as_rows(values)  # (n, features)
        if rows.shape[1] != self.n_features_:
            raise InputError(
                f"Scaler was fitted on {self.n_features_} column(s); got an array of shape {values.shape}"
            )
        if self.scaler_ is None:
            return rows.copy().reshape(values.shape)
        out = self._affine(rows, method)
        flat = self._flat()
        if flat.any():
            target = self._middle() if method == "transform" else self._level()
            given = rows[:, flat]
            out[:, flat] = np.where(np.isfinite(given), target[flat], given)
        return out.reshape(values.shape)

    def _affine(self, rows: np.ndarray, method: str) -> np.ndarray:
        """Return scikit-learn's arithmetic, in its order, but letting NaN and inf through.

        scikit-learn refuses infinite input; a diverged network's infinite prediction must
        reach the caller's finiteness check as inf, not as a ValueError from inside the scaler.
        """
        s = self.scaler_
        with np.errstate(over="ignore", invalid="ignore"):
            if self.kind == "standard":
                return (rows - s.mean_) / s.scale_ if method == "transform" else rows * s.scale_ + s.mean_
            return rows * s.scale_ + s.min_ if method == "transform" else (rows - s.min_) / s.scale_

    def _flat(self) -> np.ndarray:
        """Return a mask of the columns that had no spread in the training rows."""
        if self.kind == "standard":
            return np.asarray(self.scaler_.var_) == 0
        return np.asarray(self.scaler_.data_range_) == 0

    def _middle(self) -> np.ndarray:
        """Return, per column, the middle of the scaled range: where a column without spread goes."""
        low, high = (0.0, 0.0) if self.kind == "standard" else self.scaler_.feature_range
        return np.full(self.n_features_, (low + high) / 2)

    def _level(self) -> np.ndarray:
        """Return, per column, the training value that a column without spread comes back to."""
        return np.asarray(self.scaler_.mean_ if self.kind == "standard" else self.scaler_.data_min_, dtype=np.float64)

    def _check_kind(self) -> None:
        if self.kind not in _KINDS:
            raise InputError(f"unknown scaling {self.kind!r}; choose one of: {', '.join(_KINDS)}")

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_"):
            raise NotFittedError("this Scaler is not fitted yet; call fit(training_values) first")


# The scikit-learn attributes that make up a fitted scaler, per kind.
_STATE = {
    "minmax": ("min_", "scale_", "data_min_", "data_max_", "data_range_"),
    "minmax-sym": ("min_", "scale_", "data_min_", "data_max_", "data_range_"),
    "standard": ("mean_", "var_", "scale_"),
}


def _new_sklearn_scaler(kind: str) -> MinMaxScaler | StandardScaler | None:
    if kind == "minmax":
        return MinMaxScaler(feature_range=(0, 1))
    if kind == "minmax-sym":
        return MinMaxScaler(feature_range=(-1, 1))
    if kind == "standard":
        return StandardScaler()
    return None


def _as_rows(values) -> np.ndarray:
    """Return ``values`` as a 2-D float64 array (rows, features): 1-D is one column."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 0 or values.size == 0:
        raise InputError(f"Scaler needs a non-empty 1-D or (..., features) array; got shape {values.shape}")
    return values.reshape(-1, 1) if values.ndim == 1 else values.reshape(-1, values.shape[-1])
