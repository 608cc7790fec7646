"""Time-ordered train/test splits and the periods that follow a series."""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from lstmcast.data.validate import check_int
from lstmcast.errors import InputError


def resolve_test_size(n: int, test_size: int | float) -> int:
    """Return the number of test observations out of ``n``: a count (int >= 1) or a fraction in (0, 1).

    A fraction is rounded half up and gives at least 1. At least one observation must remain
    for training.

    >>> resolve_test_size(36, 0.25), resolve_test_size(36, 12)
    (9, 12)
    """
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise InputError(f"test_size must be a count (int >= 1) or a fraction in (0, 1); got {test_size!r}")
    if isinstance(test_size, numbers.Integral):
        count = int(test_size)
        if count < 1:
            raise InputError(f"test_size must be at least 1; got {count} (series length {n})")
    else:
        fraction = float(test_size)
        if not 0.0 < fraction < 1.0:
            raise InputError(
                f"test_size={test_size} is a float, so it must be a fraction in (0, 1); "
                f"pass an int for a count (series length {n})"
            )
        count = max(1, math.floor(n * fraction + 0.5))
    if count >= n:
        raise InputError(
            f"test_size={test_size} gives {count} test observations but the series has {n}; "
            "at least one must remain for training"
        )
    return count


def train_test_split(series: pd.Series | pd.DataFrame, test_size: int | float):
    """Return ``(train, test)``: the series cut in time order, the last ``test_size`` rows as test."""
    count = resolve_test_size(len(series), test_size)
    return series.iloc[:-count], series.iloc[-count:]


def future_index(index: pd.Index, horizon: int) -> pd.Index:
    """Return the ``horizon`` periods that follow ``index``, of the same kind.

    Works for a PeriodIndex, a DatetimeIndex with a set or inferable frequency, and an integer
    index with a constant step (a RangeIndex included).

    >>> future_index(pd.period_range("2000-01", periods=3, freq="M"), 2).astype(str).tolist()
    ['2000-04', '2000-05']
    """
    horizon = check_int(horizon, "horizon", minimum=1)
    if len(index) == 0:
        raise InputError("cannot extend an empty index; fit on at least one observation")
    if isinstance(index, pd.PeriodIndex):
        return pd.period_range(start=index[-1] + 1, periods=horizon, freq=index.freq)
    if isinstance(index, pd.DatetimeIndex):
        # freq="infer" gives an offset without pandas 3's warning about infer_freq returning strings
        freq = index.freq or pd.DatetimeIndex(index, freq="infer").freq
        if freq is None:
            raise InputError(
                "the series' DatetimeIndex has no frequency and none can be inferred; "
                "set one with series.asfreq(...) or use a PeriodIndex"
            )
        # start at the last date so that anchored frequencies (month start/end) stay anchored
        return pd.date_range(start=index[-1], periods=horizon + 1, freq=freq)[1:]
    if pd.api.types.is_integer_dtype(index):
        steps = np.diff(index.to_numpy())
        step = int(steps[0]) if steps.size else 1
        if step == 0 or (steps != step).any():
            raise InputError("the series' integer index has no constant step; cannot extend it")
        start = int(index[-1]) + step
        return pd.RangeIndex(start, start + step * horizon, step)
    raise InputError(
        f"cannot extend an index of type {type(index).__name__}; "
        "use a PeriodIndex, a DatetimeIndex with a frequency or an integer index"
    )
