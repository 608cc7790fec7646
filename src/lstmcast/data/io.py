"""Read user data (CSV files, bundled names, pandas or numpy) into validated Series/DataFrames.

>>> y = load_data("shampoo")                       # bundled dataset
>>> frame = load_csv("sales.csv", columns=["units", "price"])   # doctest: +SKIP
"""

from __future__ import annotations

import csv
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from lstmcast.data import datasets
from lstmcast.data.validate import infer_freq, validate_series
from lstmcast.errors import InputError

# Period frequencies tried, in order, when turning parsed dates into a PeriodIndex.
_PERIOD_FREQS = ("M", "Q-DEC", "Y-DEC", "D")


def load_csv(
    path: str | Path,
    date_column: str | None = None,
    columns: str | Sequence[str] | None = None,
) -> pd.Series | pd.DataFrame:
    """Return the CSV's value column(s) as a float64 Series (one column) or DataFrame (several).

    The time index comes from ``date_column`` (default: the first column) and becomes a
    PeriodIndex when the dates are cleanly monthly, quarterly, yearly or daily ("1991-01" ->
    Period('1991-01', 'M')), otherwise a DatetimeIndex. ``columns`` (a name or list of names)
    selects the values; by default every other column is kept. Raises InputError, naming the
    problem and where, for a missing/empty/unreadable file, unknown columns, dates that do not
    parse, non-numeric or missing values, and gaps or duplicates in time.
    """
    path = Path(path)
    frame = _read_csv(path)
    source = path.name
    time_column = _time_column(frame, date_column, source)
    value_columns = _value_columns(frame, time_column, columns, source)
    index = parse_time_index(frame[time_column], source)
    values = frame[value_columns].set_axis(index, axis=0)
    data = values.iloc[:, 0] if len(value_columns) == 1 else values
    return validate_series(data, name=source)


def load_data(
    source,
    column: str | Sequence[str] | None = None,
    date_column: str | None = None,
) -> pd.Series | pd.DataFrame:
    """Return ``source`` as a validated float64 Series/DataFrame with a regular time index.

    ``source`` is a bundled dataset name (``datasets.names()``), a CSV path, a pandas
    Series/DataFrame or a numpy array (1-D, or 2-D with columns named x0, x1, ...). ``column``
    keeps one column (-> Series) or a list of columns; by default all value columns are kept,
    and the caller (the CLI) picks the target. ``date_column`` names the time column of a CSV
    file or an in-memory DataFrame.
    """
    if isinstance(source, (str, Path)):
        return _load_named(source, column, date_column)
    if isinstance(source, (pd.Series, pd.DataFrame, np.ndarray, list, tuple)):
        data = source
        if date_column is not None:
            if not isinstance(data, pd.DataFrame):
                raise InputError(
                    f"date_column={date_column!r} needs a DataFrame; got {type(data).__name__}"
                )
            time_column = _time_column(data, date_column, "data")
            data = data.drop(columns=time_column).set_axis(parse_time_index(data[time_column], "data"))
        return _select(validate_series(data, name="data"), column, "data")
    raise InputError(
        "data must be a dataset name, a CSV path, a pandas Series/DataFrame or a numpy array; "
        f"got {type(source).__name__}"
    )


def parse_time_index(column: pd.Series, source: str = "data") -> pd.PeriodIndex | pd.DatetimeIndex:
    """Return ``column`` parsed as dates: a PeriodIndex when it cleanly is one, else a DatetimeIndex.

    Strings in any format pandas recognises are accepted, and integer years (1949, 1950, ...).
    Raises InputError when the column holds no dates at all, or names the first row that is not one.
    """
    name = column.name
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
        if not (np.isfinite(numbers).all() and (numbers == np.round(numbers)).all()
                and ((numbers >= 1000) & (numbers <= 2999)).all()):
            raise InputError(
                f"{source}: column {name!r} holds numbers, not dates (first value {str(column.iloc[0])!r}); "
                "name the time column with --date-column"
            )
        parsed = pd.to_datetime(numbers.astype(np.int64).astype(str), format="%Y")
    else:
        parsed = _parse_dates(column)
        if parsed.isna().all():
            raise InputError(
                f"{source}: column {name!r} does not hold dates (first value {str(column.iloc[0])!r}); "
                "name the time column with --date-column"
            )
        if parsed.isna().any():
            i = int(np.argmax(parsed.isna().to_numpy()))
            raise InputError(
                f"{source}: cannot read {str(column.iloc[i])!r} in row {i} of column {name!r} as a date; "
                "fix or remove that row"
            )
    dates = pd.DatetimeIndex(parsed, name=name)
    periods = _as_periods(dates)
    if periods is not None:
        return periods
    freq = infer_freq(dates)
    return pd.DatetimeIndex(dates, freq=freq) if freq is not None else dates


def _parse_dates(column: pd.Series) -> pd.Series:
    """Return ``column`` parsed as datetimes, NaT where a value is not a date."""
    with warnings.catch_warnings():
        # pandas warns when it falls back to parsing element by element; NaT marks failures
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(column, format="ISO8601", errors="coerce")
        if parsed.isna().any():
            fallback = pd.to_datetime(column, errors="coerce")
            if fallback.isna().sum() < parsed.isna().sum():
                parsed = fallback
    return parsed


def _as_periods(dates: pd.DatetimeIndex) -> pd.PeriodIndex | None:
    """Return ``dates`` as a PeriodIndex when each date names one period at the same place in it.

    Monthly dates on the 1st (or all on the 15th, or all month ends) become freq "M"; likewise
    quarterly, yearly and midnight daily dates. Gaps and repeated dates are kept (validation
    reports them by period), but sub-period data and mixed anchors leave the DatetimeIndex alone.
    """
    distinct = dates.unique()
    if len(distinct) < 2 or dates.tz is not None:  # periods would silently drop the time zone
        return None
    for freq in _PERIOD_FREQS:
        periods = distinct.to_period(freq)
        if periods.has_duplicates or np.median(np.diff(np.sort(periods.asi8))) != 1:
            continue
        offsets = distinct - periods.start_time
        same_offset = (offsets == offsets[0]).all() and (freq != "D" or offsets[0] == pd.Timedelta(0))
        at_end = freq != "D" and (distinct.normalize() == periods.end_time.normalize()).all()
        if same_offset or at_end:
            return dates.to_period(freq)
    return None


def _read_csv(path: Path) -> pd.DataFrame:
    """Return the raw CSV as a DataFrame, or raise InputError for a missing, empty or unreadable file."""
    if not path.exists():
        raise InputError(
            f"file not found: {path}; check the path, "
            f"or use a bundled dataset ({', '.join(datasets.names())})"
        )
    if not path.is_file():
        raise InputError(f"{path} is not a file; give the path of a CSV file")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty; it needs a header row and at least one data row") from None
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error, OSError, EOFError, zipfile.BadZipFile) as exc:
        # OSError covers unreadable files and pandas' compression guess from the extension
        # (a plain-text file named .gz raises gzip.BadGzipFile, an OSError)
        reason = " ".join(str(exc).split())
        raise InputError(
            f"{path} is not a readable CSV file ({reason}); "
            "save it as comma-separated UTF-8 text with a header row"
        ) from None
    if len(frame) == 0:
        raise InputError(f"{path} has a header but no data rows")
    return frame


def _time_column(frame: pd.DataFrame, date_column: str | None, source: str) -> str:
    """Return the name of the time column: ``date_column`` or else the first column."""
    if date_column is None:
        return frame.columns[0]
    _check_columns_exist(frame, [date_column], source)
    return date_column


def _value_columns(
    frame: pd.DataFrame, time_column: str, columns: str | Sequence[str] | None, source: str
) -> list[str]:
    """Return the value columns to keep: ``columns``, or every column but the time column."""
    if columns is None:
        chosen = [c for c in frame.columns if c != time_column]
        if not chosen:
            raise InputError(
                f"{source} has only the time column {time_column!r}; it needs at least one value column"
            )
        return chosen
    chosen = [columns] if isinstance(columns, str) else list(columns)
    if not chosen:
        raise InputError(f"no columns selected from {source}; name at least one value column")
    _check_columns_exist(frame, chosen, source)
    if time_column in chosen:
        raise InputError(
            f"column {time_column!r} of {source} is the time index; choose value columns, "
            "or name another time column with --date-column"
        )
    return chosen


def _check_columns_exist(frame: pd.DataFrame, wanted: list, source: str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        available = ", ".join(str(c) for c in frame.columns)
        raise InputError(f"{source} has no column {missing[0]!r}; available columns: {available}")


def _load_named(source: str | Path, column, date_column: str | None) -> pd.Series | pd.DataFrame:
    """Return a bundled dataset (a bare known name) or a CSV file's contents."""
    path = Path(source)
    if isinstance(source, str) and source in datasets.names() and not path.is_file():
        if date_column is not None:
            raise InputError(f"date_column applies to CSV files, not the bundled dataset {source!r}")
        return _select(datasets.load(source), column, source)
    if not path.exists() and isinstance(source, str) and path.suffix == "" and len(path.parts) == 1:
        raise InputError(
            f"{source!r} is neither a bundled dataset ({', '.join(datasets.names())}) "
            "nor an existing CSV file"
        )
    return load_csv(path, date_column=date_column, columns=column)


def _select(data: pd.Series | pd.DataFrame, column, source: str) -> pd.Series | pd.DataFrame:
    """Return the column(s) named by ``column`` (one name or a one-item list -> Series)."""
    if column is None:
        return data
    chosen = [column] if isinstance(column, str) else list(column)
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    _check_columns_exist(frame, chosen, source)
    selected = frame[chosen]
    return selected.iloc[:, 0] if len(chosen) == 1 else selected
