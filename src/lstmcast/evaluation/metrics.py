"""Forecast accuracy metrics, in the units of the data (MAPE, sMAPE and coverage in percent).

Every metric takes ``y_true`` of shape ``(n,)`` and ``y_pred`` of shape ``(n,)`` or
``(members, n)``: one model gives a float, an ensemble gives one value per member (an array),
computed in one vectorised pass. The interval metrics (``coverage``, ``mean_width``,
``winkler``) take ``lower``/``upper`` bounds shaped like ``y_pred``.

Coverage levels are percentages in (0, 100), as users write them (``level=[80, 95]``);
``check_levels`` validates them and ``level_label`` names their columns (``lower_80``).

>>> rmse([1.0, 2.0], [[1.0, 2.0], [2.0, 3.0]])
array([0., 1.])
>>> coverage([1.0, 5.0], lower=[0.0, 0.0], upper=[2.0, 2.0])
50.0
"""

from __future__ import annotations

from collections.abc import Callable

import numbers

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


def _check_true(y_true) -> np.ndarray:
    """Return ``y_true`` as a 1-D float array of finite values, or raise InputError."""
    true = _as_float_array(y_true, "y_true")
    if true.ndim != 1:
        raise InputError(f"y_true must be 1-D; got shape {true.shape}")
    if true.size == 0:
        raise InputError("y_true is empty; a metric needs at least one observation")
    if not np.isfinite(true).all():
        bad = np.flatnonzero(~np.isfinite(true))
        raise InputError(f"y_true has NaN or infinite values (first at position {bad[0]})")
    return true


def _check_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(y_true, y_pred)`` as float arrays, or raise InputError when their shapes disagree."""
    true = _check_true(y_true)
    pred = _as_float_array(y_pred, "y_pred")
    if pred.ndim not in (1, 2) or pred.shape[-1] != true.size:
        raise InputError(
            f"y_pred must have shape ({true.size},) or (members, {true.size}) to match y_true "
            f"of length {true.size}; got shape {pred.shape}"
        )
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


def check_levels(level) -> tuple[float | int, ...]:
    """Return coverage levels (percent) as a sorted tuple without repeats, or raise InputError.

    Accepts one number or a list of numbers, each strictly between 0 and 100; integral values
    come back as ints (``80``, not ``80.0``) so that labels and JSON keys read as users wrote them.
    """
    values = [level] if isinstance(level, numbers.Real) else level
    try:
        values = list(values)
    except TypeError:
        raise InputError(
            f"level must be a coverage level in percent or a list of them, e.g. [80, 95]; got {level!r}"
        ) from None
    if not values:
        raise InputError("level is an empty list; give at least one coverage level in percent, e.g. [80, 95]")
    out = set()
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 100:
            raise InputError(
                f"each level must be a coverage percentage strictly between 0 and 100 (e.g. 80 or 95); "
                f"got {value!r}"
            )
        out.add(int(value) if float(value).is_integer() else float(value))
    return tuple(sorted(out))


def level_label(level: float) -> str:
    """Return the label of a coverage level in column names and JSON keys: ``80``, ``97.5``."""
    return f"{level:g}"


def _check_bounds(lower, upper, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(lower, upper)`` as float arrays shaped (n,) or (members, n), or raise InputError."""
    low = _as_float_array(lower, "lower")
    up = _as_float_array(upper, "upper")
    if low.shape != up.shape or low.ndim not in (1, 2) or low.shape[-1] == 0:
        raise InputError(
            f"lower and upper must have the same non-empty shape (n,) or (members, n); got {low.shape} and {up.shape}"
        )
    if n is not None and low.shape[-1] != n:
        raise InputError(
            f"lower and upper must have shape ({n},) or (members, {n}) to match y_true of length {n}; got {low.shape}"
        )
    crossed = np.flatnonzero((low > up).reshape(-1))
    if crossed.size:
        raise InputError(
            f"lower is above upper at {crossed.size} position(s) (first at flat position {crossed[0]}); "
            "pass the bounds in the order (lower, upper)"
        )
    return low, up


def coverage(y_true, lower, upper) -> Score:
    """Return the percentage of ``y_true`` inside ``[lower, upper]`` (bounds included)."""
    true = _check_true(y_true)
    low, up = _check_bounds(lower, upper, true.size)
    return _as_score(100.0 * ((true >= low) & (true <= up)).mean(axis=-1))


def mean_width(lower, upper) -> Score:
    """Return the mean width ``upper - lower`` of the intervals."""
    low, up = _check_bounds(lower, upper)
    return _as_score((up - low).mean(axis=-1))


def winkler(y_true, lower, upper, level: float) -> Score:
    """Return the mean Winkler (interval) score of central ``level``% intervals; lower is better.

    Gneiting & Raftery (2007): the width plus ``2 / alpha`` times the distance by which ``y_true``
    falls outside, with ``alpha = 1 - level / 100``; a narrow interval that misses pays for it.
    """
    (level,) = check_levels([level])
    true = _check_true(y_true)
    low, up = _check_bounds(lower, upper, true.size)
    alpha = 1.0 - level / 100.0
    below = np.clip(low - true, 0.0, None)
    above = np.clip(true - up, 0.0, None)
    return _as_score((up - low + (2.0 / alpha) * (below + above)).mean(axis=-1))


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
