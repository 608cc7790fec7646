"""Input checks at the public boundary; code behind them trusts its inputs."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd

from lstmcast.errors import InputError

# Largest magnitude accepted in a series. Training and scoring square values and sum the squares
# (MSE, RMSE, variance, standard scaling): (1e150)**2 = 1e300 leaves float64 (max ~1.8e308) room
# for sums over 10**8 observations, while larger values overflow to inf in those sums silently.
MAX_ABS_VALUE = 1e150


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

    Accepts a pandas Series/DataFrame, a numpy array or a (nested) list (1-D or 2-D, given a
    RangeIndex). Rejects empty input, ragged nested lists, duplicate column names, non-numeric or
    complex columns, NaN or infinite values, magnitudes over ``MAX_ABS_VALUE``, and time indexes
    with gaps (DatetimeIndex/PeriodIndex), duplicates or disorder (integer indexes too), each
    with a message that says where.
    """
    if isinstance(data, np.ndarray) or isinstance(data, (list, tuple)):
        arr = _as_array(data, name)
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
    _check_unique_columns(frame, name)
    for col in frame.columns:
        _check_numeric_column(frame[col], col, name)
    values = frame.to_numpy(dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        i = int(np.argmin(finite.all(axis=1)))
        kind = "NaN" if np.isnan(values[i]).any() else "an infinite value"
        raise InputError(
            f"{name} has {kind} at {_describe_position(frame.index, i)}; fill or drop missing values first"
        )
    too_large = np.abs(values) > MAX_ABS_VALUE
    if too_large.any():
        i = int(np.argmax(too_large.any(axis=1)))
        value = values[i][too_large[i]][0]
        raise InputError(
            f"{name} has the value {value:.3g} at {_describe_position(frame.index, i)}, beyond the limit "
            f"of {MAX_ABS_VALUE:g} in magnitude (its square would overflow float64 sums); "
            "rescale the data first, e.g. divide it by a power of ten"
        )
    _check_regular_index(frame.index, name)
    if len(frame) < min_length:
        raise InputError(f"{name} has {len(frame)} observations; at least {min_length} are needed")
    out = frame.astype(np.float64)
    return out.iloc[:, 0].rename(data.name if isinstance(data, pd.Series) else out.columns[0]) if isinstance(data, pd.Series) else out


def _as_array(data, name: str) -> np.ndarray:
    """Return ``data`` (an array or nested list) as a numpy array, naming the row of a ragged list."""
    try:
        return np.asarray(data)
    except ValueError:
        # numpy refuses inhomogeneous nesting ("setting an array element with a sequence")
        lengths = [len(row) if isinstance(row, (list, tuple, np.ndarray)) else None for row in data]
        bad = next((i for i, n in enumerate(lengths) if n != lengths[0]), None)
        if bad is None:
            where = "its rows hold lists of different depths"
        else:
            def count(n):
                return "a single value" if n is None else f"{n} values"

            where = f"row 0 has {count(lengths[0])} but row {bad} has {count(lengths[bad])}"
        raise InputError(
            f"{name} is a ragged nested list: {where}; give every row the same number of values"
        ) from None


def _check_unique_columns(frame: pd.DataFrame, name: str) -> None:
    """Raise InputError naming the column names that appear more than once."""
    duplicated = frame.columns[frame.columns.duplicated()].unique()
    if len(duplicated):
        names = ", ".join(repr(c) for c in duplicated)
        raise InputError(f"{name} has duplicate column names: {names}; rename or drop the repeated columns")


def _check_numeric_column(column: pd.Series, col, name: str) -> None:
    """Raise InputError when ``column`` is not real-valued numbers, naming the first offending row."""
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if not numeric:
        coerced = pd.to_numeric(column, errors="coerce")
        bad = coerced.isna() & column.notna()
        if not bad.any() and pd.api.types.is_complex_dtype(coerced):
            column, numeric = coerced, True  # Python complex numbers in an object column
        else:
            where = _describe_position(column.index, int(np.argmax(bad.to_numpy()))) if bad.any() else "its dtype"
            raise InputError(
                f"column {col!r} of {name} is not numeric (see {where}); select numeric columns with column="
            )
    if pd.api.types.is_complex_dtype(column):
        imaginary = np.imag(column.to_numpy()) != 0
        i = int(np.argmax(imaginary)) if imaginary.any() else 0
        raise InputError(
            f"column {col!r} of {name} holds complex numbers ({column.iloc[i]} at "
            f"{_describe_position(column.index, i)}); pass real values, e.g. np.real(x) or np.abs(x)"
        )


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
    """Raise InputError when a time index has missing entries, duplicates, disorder or gaps.

    Integer indexes (time steps) are checked for duplicates and disorder only: in-memory data may
    number its rows in any increasing way.
    """
    if pd.api.types.is_integer_dtype(index):
        _check_increasing(index, name)
        return
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


def _check_increasing(index: pd.Index, name: str) -> None:
    """Raise InputError naming the first row of an integer index that repeats or goes back."""
    steps = np.diff(index.to_numpy().astype(np.int64))  # signed, so a step back is negative
    if (steps > 0).all():
        return
    i = int(np.argmax(steps <= 0)) + 1
    if steps[i - 1] == 0:
        raise InputError(
            f"{name} has a duplicate time step {index[i]} at row {i}; drop or aggregate duplicates first"
        )
    raise InputError(
        f"{name} is out of time order at row {i} (time step {index[i]} after {index[i - 1]}); sort it by time first"
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
