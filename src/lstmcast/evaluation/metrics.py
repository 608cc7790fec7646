"""Forecast accuracy metrics, in the units of the data (MAPE and sMAPE in percent).

Every metric takes ``y_true`` of shape ``(n,)`` and ``y_pred`` of shape ``(n,)`` or
``(members, n)``: one model gives a float, an ensemble gives one value per member (an array),
computed in one vectorised pass.

>>> rmse([1.0, 2.0], [[1.0, 2.0], [2.0, 3.0]])
array([0., 1.])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lstmcast.data.validate import check_int
from lstmcast.errors import InputError

Score = float | np.ndarray


class UndefinedMetricError(InputError):
    """A metric is undefined for these data (MAPE with zeros, MASE with a zero scale)."""


def _as_float_array(values, name: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric; {exc}") from None


def _check_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(y_true, y_pred)`` as float arrays, or raise InputError when their shapes disagree."""
    true = _as_float_array(y_true, "y_true")
    pred = _as_float_array(y_pred, "y_pred")
    if true.ndim != 1:
        raise InputError(f"y_true must be 1-D; got shape {true.shape}")
    if true.size == 0:
        raise InputError("y_true is empty; a metric needs at least one observation")
    if pred.ndim not in (1, 2) or pred.shape[-1] != true.size:
        raise InputError(
            f"y_pred must have shape ({true.size},) or (members, {true.size}) to match y_true "
            f"of length {true.size}; got shape {pred.shape}"
        )
    if not np.isfinite(true).all():
        bad = np.flatnonzero(~np.isfinite(true))
        raise InputError(f"y_true has NaN or infinite values (first at position {bad[0]})")
    # NaN predictions (a diverged ensemble member) are allowed: they give NaN for that member only.
    return true, pred


def _as_score(value: np.ndarray) -> Score:
    """Return a float for one model's score, the array itself for one score per member."""
    return float(value) if np.ndim(value) == 0 else value


def rmse(y_true, y_pred) -> Score:
    """Return the root mean squared error."""
    true, pred = _check_pair(y_true, y_pred)
    return _as_score(np.sqrt(((pred - true) ** 2).mean(axis=-1)))


def mae(y_true, y_pred) -> Score:
    """Return the mean absolute error."""
    true, pred = _check_pair(y_true, y_pred)
    return _as_score(np.abs(pred - true).mean(axis=-1))


def mape(y_true, y_pred) -> Score:
    """Return the mean absolute percentage error, in percent; undefined when ``y_true`` has zeros."""
    true, pred = _check_pair(y_true, y_pred)
    zeros = np.flatnonzero(true == 0)
    if zeros.size:
        raise UndefinedMetricError(
            f"MAPE is undefined because y_true contains {zeros.size} zero(s) (first at position "
            f"{zeros[0]}); use smape or mase instead"
        )
    return _as_score(100.0 * (np.abs(pred - true) / np.abs(true)).mean(axis=-1))


def smape(y_true, y_pred) -> Score:
    """Return the symmetric MAPE, ``200 * mean(|e| / (|y| + |yhat|))``, in percent (0 to 200).

    A point where both the actual and the prediction are 0 counts as a perfect forecast (0).
    """
    true, pred = _check_pair(y_true, y_pred)
    denom = np.abs(true) + np.abs(pred)
    ratio = np.divide(np.abs(pred - true), denom, out=np.zeros(denom.shape), where=denom != 0)
    return _as_score(200.0 * ratio.mean(axis=-1))


def mase(y_true, y_pred, y_train, m: int = 1) -> Score:
    """Return the mean absolute scaled error: MAE over the in-sample MAE of the lag-``m`` naive forecast.

    Undefined (UndefinedMetricError) when ``y_train`` has ``m`` or fewer values or when its
    lag-``m`` naive forecast is exact (a constant series for ``m=1``), since the scale is then 0.
    """
    true, pred = _check_pair(y_true, y_pred)
    m = check_int(m, "m", minimum=1)
    train = _as_float_array(y_train, "y_train")
    if train.ndim != 1 or not np.isfinite(train).all():
        raise InputError(f"y_train must be a 1-D array of finite values; got shape {train.shape}")
    if train.size <= m:
        raise UndefinedMetricError(
            f"MASE with m={m} needs more than {m} training values; y_train has {train.size}"
        )
    scale = np.abs(train[m:] - train[:-m]).mean()
    if scale == 0:
        raise UndefinedMetricError(
            f"MASE is undefined because the training series repeats exactly at lag m={m} "
            "(for m=1: it is constant), so its naive-forecast scale is 0"
        )
    return _as_score(np.abs(pred - true).mean(axis=-1) / scale)


METRICS: dict[str, Callable[..., Score]] = {
    "rmse": rmse,
    "mae": mae,
    "mape": mape,
    "smape": smape,
    "mase": mase,  # the only one that also takes y_train and m
}


def score_all(y_true, y_pred, y_train, m: int = 1) -> dict[str, Score | None]:
    """Return every metric in ``METRICS`` by name; a metric undefined for these data is None."""
    scores: dict[str, Score | None] = {}
    for name, metric in METRICS.items():
        args = (y_true, y_pred, y_train, m) if name == "mase" else (y_true, y_pred)
        try:
            scores[name] = metric(*args)
        except UndefinedMetricError:
            scores[name] = None
    return scores
