"""Facts about a series' time index: its season length and the periods that follow it.

>>> season_length(pd.period_range("1949-01", periods=24, freq="M"))
12
>>> future_index(pd.RangeIndex(0, 10, 2), 2).tolist()
[10, 12]
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from lstmcast.data.validate import check_int
from lstmcast.errors import InputError

_DAY = pd.Timedelta(days=1)

# Finest step whose daily cycle counts as a season. 15-minute data (96 a day: electricity
# metering) has an obvious daily cycle; a season of 1440 minutes or 86400 seconds is longer than
# most such series hold, and STL or seasonal differencing cannot learn from so few cycles.
MIN_SEASONAL_STEP = pd.Timedelta(minutes=15)

# Observations per natural cycle of each calendar frequency (the cycle: a year for months,
# quarters and weeks, a week for days and business days, a day for hours). Order matters only
# in that no class here subclasses another.
_CALENDAR_SEASONS: tuple[tuple[type, int], ...] = (
    (pd.offsets.MonthEnd, 12),
    (pd.offsets.MonthBegin, 12),
    (pd.offsets.BusinessMonthEnd, 12),
    (pd.offsets.BusinessMonthBegin, 12),
    (pd.offsets.SemiMonthEnd, 24),
    (pd.offsets.SemiMonthBegin, 24),
    (pd.offsets.QuarterEnd, 4),
    (pd.offsets.QuarterBegin, 4),
    (pd.offsets.BQuarterEnd, 4),
    (pd.offsets.BQuarterBegin, 4),
    (pd.offsets.YearEnd, 1),
    (pd.offsets.YearBegin, 1),
    (pd.offsets.BYearEnd, 1),
    (pd.offsets.BYearBegin, 1),
    (pd.offsets.Week, 52),
    (pd.offsets.BusinessDay, 5),
    (pd.offsets.Day, 7),
)


def season_length(index: pd.Index) -> int:
    """Return the number of observations in one seasonal cycle of ``index`` (1 when there is none).

    From the frequency of a PeriodIndex, or of a DatetimeIndex (set or inferable): monthly 12,
    quarterly 4, weekly 52, daily 7, business daily 5, semi-monthly 24, annual 1; sub-daily steps
    from 15 minutes up count one day (hourly 24, half-hourly 48, quarter-hourly 96), finer steps
    (minutes, seconds) give 1. A multiple of a frequency divides its cycle when it can (2-monthly
    6, 6-hourly 4) and gives 1 otherwise. Integer indexes, irregular or unknown frequencies: 1.

    >>> season_length(pd.date_range("2021-01-01", periods=48, freq="h"))
    24
    """
    offset = _offset(index)
    if offset is None:
        return 1
    for kind, cycle in _CALENDAR_SEASONS:
        if isinstance(offset, kind):
            return _per_cycle(cycle, offset.n)
    if isinstance(offset, pd.offsets.Tick):
        step = pd.Timedelta(offset.nanos, unit="ns")
        if MIN_SEASONAL_STEP <= step < _DAY and _DAY % step == pd.Timedelta(0):
            return int(_DAY // step)
    return 1


def _per_cycle(cycle: int, multiple: int) -> int:
    """Return how many steps of ``multiple`` base units make ``cycle`` units, 1 when they do not divide."""
    multiple = abs(multiple)
    if multiple == 0 or cycle % multiple:
        return 1
    return cycle // multiple


def _offset(index: pd.Index) -> pd.DateOffset | None:
    """Return the frequency of a PeriodIndex or DatetimeIndex (inferred when not set), else None."""
    if isinstance(index, pd.PeriodIndex):
        return index.freq
    if not isinstance(index, pd.DatetimeIndex):
        return None
    if index.freq is not None:
        return index.freq
    if len(index) < 3:
        return None
    with warnings.catch_warnings():
        # pandas 3 warns that infer_freq will return an offset; the string is converted below
        warnings.simplefilter("ignore")
        freq = pd.infer_freq(index)
    return pd.tseries.frequencies.to_offset(freq) if freq is not None else None


def future_index(index: pd.Index, horizon: int) -> pd.Index:
    """Return the ``horizon`` periods that follow ``index``, of the same kind.

    Works for a PeriodIndex, a DatetimeIndex with a set or inferable frequency (time zone kept),
    and an integer index with a constant step (a RangeIndex included; a one-row integer index
    steps by 1): the next integers with the same step, as a RangeIndex.

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
