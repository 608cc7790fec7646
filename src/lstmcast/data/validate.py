"""Input checks at the public boundary; code behind them trusts its inputs."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd

from lstmcast.errors import InputError


def check_int(value, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise InputError when it is not an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise InputError(f"{name} must be >= {minimum}; got {value}")
    return int(value)


def _label(value) -> str:
    """Return a time label as users write it: dates at midnight without the clock time."""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.strftime("%Y-%m-%d")
    return str(value)


def _describe_position(index: pd.Index, i: int) -> str:
    return f"row {i} ({_label(index[i])})"


def validate_series(data, name: str = "series", min_length: int = 1):
    """Return ``data`` as a float64 Series or DataFrame with a regular time index, or raise InputError.

    Accepts a pandas Series/DataFrame or a numpy array (1-D or 2-D, given a RangeIndex). Rejects
    empty input, non-numeric columns, NaN or infinite values and gaps in a DatetimeIndex/PeriodIndex,
    each with a message that says where.
    """
    if isinstance(data, np.ndarray) or isinstance(data, (list, tuple)):
        arr = np.asarray(data)
        if arr.ndim == 1:
            data = pd.Series(arr, name="y")
        elif arr.ndim == 2:
            data = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
        else:
            raise InputError(f"{name} must be 1-D or 2-D; got an array of shape {arr.shape}")
    if not isinstance(data, (pd.Series, pd.DataFrame)):
        raise InputError(
            f"{name} must be a pandas Series/DataFrame or a numpy array; got {type(data).__name__}"
        )
    if len(data) == 0:
        raise InputError(f"{name} is empty; it needs at least {min_length} observations")
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    if frame.shape[1] == 0:
        raise InputError(f"{name} has no columns")
    for col in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col]):
            bad = pd.to_numeric(frame[col], errors="coerce").isna() & frame[col].notna()
            where = _describe_position(frame.index, int(np.argmax(bad.to_numpy()))) if bad.any() else "its dtype"
            raise InputError(
                f"column {col!r} of {name} is not numeric (see {where}); select numeric columns with --column"
            )
    values = frame.to_numpy(dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        i = int(np.argmin(finite.all(axis=1)))
        kind = "NaN" if np.isnan(values[i]).any() else "an infinite value"
        raise InputError(
            f"{name} has {kind} at {_describe_position(frame.index, i)}; fill or drop missing values first"
        )
    _check_regular_index(frame.index, name)
    if len(frame) < min_length:
        raise InputError(f"{name} has {len(frame)} observations; at least {min_length} are needed")
    out = frame.astype(np.float64)
    return out.iloc[:, 0].rename(data.name if isinstance(data, pd.Series) else out.columns[0]) if isinstance(data, pd.Series) else out


def infer_freq(index: pd.DatetimeIndex) -> str | None:
    """Return the frequency string pandas infers for ``index`` (None when irregular or < 3 entries)."""
    if len(index) < 3:
        return None
    with warnings.catch_warnings():
        # pandas 3 warns that infer_freq will return an offset; we only need the string
        warnings.simplefilter("ignore")
        freq = pd.infer_freq(index)
    return getattr(freq, "freqstr", freq)


def _check_regular_index(index: pd.Index, name: str) -> None:
    """Raise InputError when a time index has missing entries, duplicates, disorder or gaps."""
    if not isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex)):
        return
    if index.hasnans:
        i = int(np.argmax(index.isna()))
        raise InputError(f"{name} has a missing date in its index at row {i}; fill or drop it first")
    if index.has_duplicates:
        i = int(np.argmax(index.duplicated()))
        raise InputError(
            f"{name} has a duplicate time {_label(index[i])} at row {i}; drop or aggregate duplicates first"
        )
    ticks = index.asi8
    if len(ticks) > 1 and (np.diff(ticks) < 0).any():
        i = int(np.argmax(np.diff(ticks) < 0)) + 1
        raise InputError(f"{name} is out of time order at {_describe_position(index, i)}; sort it by time first")
    if isinstance(index, pd.PeriodIndex):
        steps = np.diff(ticks)
        if len(steps) and not (steps == 1).all():
            i = int(np.argmax(steps != 1)) + 1
            raise InputError(
                f"{name} has a gap in its time index between {_describe_position(index, i - 1)} and "
                f"{_describe_position(index, i)}; fill the missing periods first"
            )
        return
    if index.freq is not None or infer_freq(index) is not None:
        return
    if len(index) < 3:
        return
    i, expected = _first_gap(index)
    if expected is not None:
        raise InputError(
            f"{name} has a gap in its time index at row {i}: expected {_label(expected)}, found {_label(index[i])}; "
            "fill the missing dates first"
        )
    raise InputError(
        f"{name} has an irregular time index at {_describe_position(index, i)}; "
        "resample or fill it to a regular frequency first"
    )


def _first_gap(index: pd.DatetimeIndex) -> tuple[int, pd.Timestamp | None]:
    """Return (row, expected time) of the first break in an irregular index.

    The frequency is the one most often inferred from runs of three consecutive times, so a gap
    near the start does not hide it; month lengths make raw tick differences useless for this.
    """
    guesses = [infer_freq(index[j : j + 3]) for j in range(min(len(index) - 2, 50))]
    guesses = [g for g in guesses if g is not None]
    if guesses:
        freq = max(set(guesses), key=guesses.count)
        expected = pd.date_range(index[0], periods=len(index), freq=freq)
        if expected[0] == index[0]:
            i = int(np.argmax(expected != index))
            return i, expected[i]
    steps = np.diff(index.asi8)
    values, counts = np.unique(steps, return_counts=True)
    return int(np.argmax(steps != values[np.argmax(counts)])) + 1, None
