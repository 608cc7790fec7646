"""Many series at once: read a panel into one validated series per id, derive calendar features, and back.

A panel is a ``dict`` from series id to a Series (the target alone) or a DataFrame (covariate
columns, then the target column last), each with its own regular time index. Series may have
different lengths and start at different times.

>>> long = pd.DataFrame({"unique_id": ["a"] * 3 + ["b"] * 4, "ds": [1, 2, 3, 1, 2, 3, 4], "y": range(7)})
>>> {k: len(v) for k, v in to_panel(long).items()}
{'a': 3, 'b': 4}
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from lstmcast.data.io import _read_csv, parse_time_index
from lstmcast.data.validate import validate_series
from lstmcast.errors import InputError

_LONG_FORMAT = ("a long frame with one row per series and time (columns {id}, {time}, {value}, plus any "
                "covariate columns), a dict of Series, a frame indexed by ({id}, {time}) or a list of Series")

# Longest step (in days) for which each calendar feature varies within a cycle: hour of the day
# for sub-daily data, day of the week for daily (and business-daily) data, month of the year for
# anything up to quarterly (a quarter's month still says which quarter it is).
_CALENDAR = (("hour", 1.0, 24), ("dow", 7.0, 7), ("month", 100.0, 12))


def to_panel(
    data, id_column: str = "unique_id", time_column: str = "ds", value_column: str = "y"
) -> dict:
    """Return ``{id: Series | DataFrame}``: one validated series per id, covariates first, the target last.

    ``data`` is one of: a long DataFrame with ``id_column``, ``time_column`` and ``value_column``
    (other columns are covariates; rows may come in any order); a CSV path holding such a frame;
    a dict of Series/DataFrames (a DataFrame must hold ``value_column``); a DataFrame with a
    two-level (id, time) MultiIndex; or a list of Series/DataFrames (ids: the Series names when
    all are named and distinct, else 0..k-1). A series without covariates comes back as a Series
    named ``value_column``. Raises InputError naming the series for bad values or time indexes,
    and naming the long format for anything else (a single series is not a panel).
    """
    fmt = _LONG_FORMAT.format(id=id_column, time=time_column, value=value_column)
    if isinstance(data, (str, Path)):
        frame = _read_csv(Path(data))
        return _from_long(frame, id_column, time_column, value_column, Path(data).name, fmt)
    if isinstance(data, Mapping):
        items = list(data.items())
    elif isinstance(data, (list, tuple)) and data and all(isinstance(s, (pd.Series, pd.DataFrame)) for s in data):
        names = [getattr(s, "name", None) for s in data]
        named = all(isinstance(s, pd.Series) and n is not None for s, n in zip(data, names)) and len(set(names)) == len(names)
        items = list(zip(names if named else range(len(data)), data))
    elif isinstance(data, pd.DataFrame) and isinstance(data.index, pd.MultiIndex):
        items = _from_multiindex(data, fmt)
    elif isinstance(data, pd.DataFrame) and id_column in data.columns:
        return _from_long(data, id_column, time_column, value_column, "data", fmt)
    else:
        what = type(data).__name__
        if isinstance(data, pd.DataFrame):
            what = f"a DataFrame without an {id_column!r} column (columns: {list(data.columns)})"
        raise InputError(f"a panel of many series must be {fmt}; got {what}. For one series use Forecaster")
    if not items:
        raise InputError(f"the panel is empty; give at least one series as {fmt}")
    return {key: _series(value, key, value_column) for key, value in items}


def _from_multiindex(frame: pd.DataFrame, fmt: str) -> list:
    """Return [(id, frame indexed by time)] from a frame indexed by (id, time)."""
    if frame.index.nlevels != 2:
        raise InputError(f"a MultiIndex panel needs exactly two levels (id, time); got {frame.index.nlevels}. "
                         f"Give {fmt}")
    return [(key, part.droplevel(0)) for key, part in frame.groupby(level=0, sort=False)]


def _from_long(frame: pd.DataFrame, id_column, time_column, value_column, source: str, fmt: str) -> dict:
    """Return the panel of a long frame: rows grouped by id, each group's times parsed and sorted."""
    missing = [c for c in (id_column, time_column, value_column) if c not in frame.columns]
    if missing:
        raise InputError(f"{source} has no column {missing[0]!r} (columns: {list(frame.columns)}); "
                         f"a panel must be {fmt}; name the columns with id_column=, time_column=, value_column=")
    if frame[id_column].isna().any():
        row = int(np.argmax(frame[id_column].isna().to_numpy()))
        raise InputError(f"{source} has no series id in row {row} (column {id_column!r}); fill or drop that row")
    panel = {}
    for key, part in frame.groupby(id_column, sort=False):
        times = part[time_column]
        if pd.api.types.is_numeric_dtype(times) or pd.api.types.is_datetime64_any_dtype(times):
            part = part.sort_values(time_column, kind="stable")  # a long frame's rows may come in any order
        label = f"series {key!r} of {source}"
        index = parse_time_index(part[time_column].reset_index(drop=True), label)
        values = part.drop(columns=[id_column, time_column]).set_axis(index, axis=0)
        if not index.is_monotonic_increasing:
            values = values.sort_index(kind="stable")
        panel[key] = _series(values, key, value_column, source)
    return panel


def _series(data, key, value_column: str, source: str = "the panel"):
    """Return one panel member validated: a Series named ``value_column``, or covariates + target last."""
    label = f"series {key!r} of {source}"
    if isinstance(data, pd.DataFrame):
        if value_column not in data.columns:
            raise InputError(f"{label} has no value column {value_column!r} (columns: {list(data.columns)}); "
                             "name the target with value_column=")
        if data.shape[1] == 1:
            data = data[value_column]
        else:
            data = data[[c for c in data.columns if c != value_column] + [value_column]]
    elif not isinstance(data, pd.Series):
        raise InputError(f"{label} must be a pandas Series or DataFrame; got {type(data).__name__}")
    out = validate_series(data, label)
    return out.rename(value_column) if isinstance(out, pd.Series) else out


def calendar_features(index: pd.Index) -> pd.DataFrame:
    """Return sin/cos pairs of the calendar positions that vary at ``index``'s frequency, indexed by it.

    Sub-daily data get hour of day, day of week and month; daily data day of week and month;
    weekly to quarterly data month of year (``month_sin``, ``month_cos``, ``dow_sin``, ...). Each
    pair places the position on a circle, so December sits next to January. Raises InputError
    for integer indexes, indexes without a frequency and yearly or coarser data (no cycle to encode).

    >>> list(calendar_features(pd.period_range("2000-01", periods=3, freq="M")).columns)
    ['month_sin', 'month_cos']
    """
    freq = getattr(index, "freq", None)
    if isinstance(index, pd.DatetimeIndex) and freq is None and len(index) >= 3:
        freq = pd.DatetimeIndex(index, freq="infer").freq
    if not isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex)) or freq is None:
        raise InputError(f"calendar features need a DatetimeIndex with a frequency or a PeriodIndex; got "
                         f"{type(index).__name__}{' without a frequency' if freq is None else ''}; "
                         "turn calendar off or give the series dates")
    stamps = index.to_timestamp() if isinstance(index, pd.PeriodIndex) else index
    probe = pd.date_range("2001-01-01", periods=3, freq=freq)  # the step's nominal length
    step_days = (probe[2] - probe[1]) / pd.Timedelta(days=1)
    position = {"hour": stamps.hour + stamps.minute / 60, "dow": stamps.day_of_week, "month": stamps.month - 1}
    columns = {}
    for name, longest_step, cycle in _CALENDAR:
        if step_days < longest_step:
            angle = 2 * np.pi * np.asarray(position[name], dtype=np.float64) / cycle
            columns[f"{name}_sin"], columns[f"{name}_cos"] = np.sin(angle), np.cos(angle)
    if not columns:
        raise InputError(f"calendar features need data finer than yearly; the index steps by {freq}; "
                         "turn calendar off")
    ordered = {k: columns[k] for k in sorted(columns, key=lambda c: ("month", "dow", "hour").index(c.split("_")[0]))}
    return pd.DataFrame(ordered, index=index)


def to_long(results: Mapping, id_column: str = "unique_id", time_column: str = "ds") -> pd.DataFrame:
    """Return one long DataFrame of per-series results: ``id_column``, ``time_column``, then their columns.

    ``results`` maps ids to time-indexed Series (one column, named by the Series or ``value``)
    or DataFrames, in the order given.
    """
    parts = []
    for key, result in results.items():
        frame = result.to_frame(result.name if result.name is not None else "value") if isinstance(
            result, pd.Series) else result
        frame = frame.rename_axis(time_column).reset_index()
        frame.insert(0, id_column, [key] * len(frame))
        parts.append(frame)
    if not parts:
        return pd.DataFrame(columns=[id_column, time_column])
    return pd.concat(parts, ignore_index=True)
