"""Input checks at the public boundary; code behind them trusts its inputs."""

from __future__ import annotations

import numbers

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


def _describe_position(index: pd.Index, i: int) -> str:
    return f"row {i} ({index[i]})"


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


def _check_regular_index(index: pd.Index, name: str) -> None:
    """Raise InputError when a time index is unsorted, duplicated or has gaps."""
    if isinstance(index, pd.DatetimeIndex):
        if index.hasnans:
            raise InputError(f"{name} has a missing date in its index")
        if len(index) < 3:
            return
        freq = index.freq or pd.infer_freq(index)
        if freq is None:
            i = _first_irregular(index.asi8)
            raise InputError(
                f"{name} has an irregular or gapped time index at row {i} ({index[i]}); "
                "resample or fill it to a regular frequency first"
            )
    elif isinstance(index, pd.PeriodIndex):
        if len(index) < 2:
            return
        steps = np.diff(index.asi8)
        if not (steps == 1).all():
            i = int(np.argmax(steps != 1)) + 1
            raise InputError(
                f"{name} has a gap or disorder in its time index at row {i} ({index[i]}); "
                "fill the missing periods first"
            )


def _first_irregular(ticks: np.ndarray) -> int:
    steps = np.diff(ticks)
    if (steps <= 0).any():
        return int(np.argmax(steps <= 0)) + 1
    return int(np.argmax(steps != steps[0])) + 1
