"""Read user data (CSV files, bundled names, pandas or numpy) into validated Series/DataFrames.

>>> y = load_data("shampoo")                       # bundled dataset
>>> frame = load_csv("sales.csv", columns=["units", "price"])   # doctest: +SKIP

What a CSV file may look like:

- delimiter: comma, semicolon, tab or ``|``, detected from the first lines (the one that splits
  every line into the same number of fields, at least two; comma first). In a semicolon- or
  tab-delimited file, numbers written with a decimal comma ("266,0") are read as decimals.
- header: the first row names the columns. A file whose first row is already data (a date or a
  number, then numbers only) is read without a header, its columns named ``time`` and ``value``
  (several value columns: ``value1``, ``value2``, ...); ``csv_columns`` says which names a file gets.
- time column: ``date_column``, else the first column. An unnamed first column of integers (the
  row numbers pandas' ``to_csv`` writes) is skipped when another column holds dates.
- time values: anything pandas parses as a date; quarters ("1970 Q1", "1970Q1", "1970-Q1",
  "Q1 1970"); the Shampoo tutorial's year-less months "1-01" .. "3-12" (year 1 is 1901, as the
  tutorial adds 1900); day-first dates (``dayfirst``); timestamps with UTC offsets, which become
  UTC (so an offset change at a daylight-saving switch leaves hourly data regular); integer years
  1000-2999; other integers are time steps (an integer index with a constant step).
"""

from __future__ import annotations

import csv
import errno
import os
import re
import stat
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lstmcast.data import datasets
from lstmcast.data.validate import _check_regular_index, infer_freq, validate_series
from lstmcast.errors import InputError

# Files larger than this are refused before reading: a forecasting series this large is almost
# surely the wrong file, and pandas would need several times its size in memory.
MAX_FILE_BYTES = 2 * 1024**3

# Period frequencies tried, in order, when turning parsed dates into a PeriodIndex.
_PERIOD_FREQS = ("M", "Q-DEC", "Y-DEC", "D")

_DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_LINES = 20  # lines read to detect the delimiter, the decimal mark and a missing header
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_DECIMAL_COMMA = re.compile(r"[-+]?\d*,\d+")
_QUARTER_YEAR_FIRST = re.compile(r"(\d{4})\s*[-/ ]?\s*[Qq]([1-4])")
_QUARTER_YEAR_LAST = re.compile(r"[Qq]([1-4])\s*[-/ ]?\s*(\d{4})")
_YEARLESS_MONTH = re.compile(r"(\d{1,2})-(0[1-9]|1[0-2])")
# The Shampoo tutorial's dates count years from 1 ("1-01" is January of year 1); it adds 1900.
YEARLESS_BASE_YEAR = 1900
# Numeric dates with the year last (15/01/1991, 01.15.1991, 1-15-91): day and month may swap.
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})([ T].*)?")
_UTC_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_UNNAMED = re.compile(r"Unnamed: \d+")


def load_csv(
    path: str | Path,
    date_column: str | None = None,
    columns: str | Sequence[str] | None = None,
    dayfirst: bool | None = None,
) -> pd.Series | pd.DataFrame:
    """Return the CSV's value column(s) as a float64 Series (one column) or DataFrame (several).

    The time index comes from ``date_column`` (default: the first column, see the module notes
    for an unnamed row-number column) and becomes a PeriodIndex when the dates are cleanly
    monthly, quarterly, yearly or daily ("1991-01" -> Period('1991-01', 'M')), otherwise a
    DatetimeIndex, or a RangeIndex for integer time steps. ``columns`` (a name or list of names)
    selects the values; by default every other column is kept. ``dayfirst`` says how to read
    numeric dates such as 01/02/2020 (see ``parse_time_index``). Raises InputError, naming the
    problem and where, for a missing/empty/unreadable file or one that is not a regular file,
    unknown columns, dates that do not parse, non-numeric or missing values, and gaps or
    duplicates in time.
    """
    path = Path(path)
    frame = _read_csv(path)
    source = path.name
    time_column = _time_column(frame, date_column, source)
    value_columns = _value_columns(frame, time_column, columns, source)
    index = parse_time_index(frame[time_column], source, dayfirst=dayfirst)
    values = frame[value_columns].set_axis(index, axis=0)
    data = values.iloc[:, 0] if len(value_columns) == 1 else values
    return validate_series(data, name=source)


def load_data(
    source,
    column: str | Sequence[str] | None = None,
    date_column: str | None = None,
    dayfirst: bool | None = None,
) -> pd.Series | pd.DataFrame:
    """Return ``source`` as a validated float64 Series/DataFrame with a regular time index.

    ``source`` is a bundled dataset name (``datasets.names()``), a CSV path, a pandas
    Series/DataFrame or a numpy array (1-D, or 2-D with columns named x0, x1, ...). ``column``
    keeps one column (-> Series) or a list of columns; by default all value columns are kept,
    and the caller (the CLI) picks the target. ``date_column`` names the time column of a CSV
    file or an in-memory DataFrame; ``dayfirst`` says how to read its numeric dates.
    """
    if isinstance(source, (str, Path)):
        return _load_named(source, column, date_column, dayfirst)
    if isinstance(source, (pd.Series, pd.DataFrame, np.ndarray, list, tuple)):
        data = source
        if date_column is not None:
            if not isinstance(data, pd.DataFrame):
                raise InputError(
                    f"date_column={date_column!r} needs a DataFrame; got {type(data).__name__}"
                )
            time_column = _time_column(data, date_column, "data")
            index = parse_time_index(data[time_column], "data", dayfirst=dayfirst)
            data = data.drop(columns=time_column).set_axis(index)
        return _select(validate_series(data, name="data"), column, "data")
    raise InputError(
        "data must be a dataset name, a CSV path, a pandas Series/DataFrame or a numpy array; "
        f"got {type(source).__name__}"
    )


def csv_columns(path: str | Path) -> list[str]:
    """Return the column names ``load_csv`` sees in a CSV file (delimiter and missing header detected).

    Reads only the first lines. Raises InputError as ``load_csv`` does for a file it cannot read.
    """
    path = Path(path)
    _check_path(path)
    with _readable(path):
        dialect = _sniff(path)
        if not dialect.header:
            return _generated_names(dialect.fields)
        header = pd.read_csv(path, sep=dialect.delimiter, nrows=0)
    return [str(c) for c in header.columns]


def parse_time_index(
    column: pd.Series, source: str = "data", dayfirst: bool | None = None
) -> pd.PeriodIndex | pd.DatetimeIndex | pd.RangeIndex:
    """Return ``column`` as a time index: PeriodIndex when clean, else DatetimeIndex; RangeIndex for steps.

    Strings in any format pandas recognises are accepted, plus quarters ("1970 Q1") and year-less
    months ("1-01" -> 1901-01). Integers 1000-2999 are years; other integers are time steps with a
    constant step (a duplicate, a step back or a gap is an InputError naming the row).
    Timestamps with UTC offsets become UTC. Numeric dates with the year last (01/02/2020) are read
    day-first when ``dayfirst=True``, month-first when ``False``; with ``None`` a first field over
    12 means day-first and a second field over 12 month-first; when neither occurs the order that
    gives a regular series is taken, month-first when neither does (validation then reports where
    the dates break), and an InputError asks for ``dayfirst=`` when both orders give regular but
    different series. Raises InputError when the column holds no dates at all, or names the
    first row that is not one.
    """
    name = column.name
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return _numeric_index(column, source)
    text = column.astype(str).str.strip()
    special = _quarters(text)
    if special is None:
        special = _yearless_months(text)
    if special is not None:
        return special.rename(name)
    if text.str.fullmatch(_DAY_MONTH_YEAR).all():
        return _day_month_index(text, column, source, dayfirst)
    return _as_index(_checked_dates(_parse_dates(text), column, source), name)


def _as_index(parsed: pd.Series, name) -> pd.PeriodIndex | pd.DatetimeIndex:
    """Return parsed dates as a PeriodIndex when they cleanly are one, else as a DatetimeIndex."""
    dates = pd.DatetimeIndex(parsed, name=name)
    periods = _as_periods(dates)
    if periods is not None:
        return periods
    freq = infer_freq(dates)
    return pd.DatetimeIndex(dates, freq=freq) if freq is not None else dates


def _checked_dates(parsed: pd.Series, column: pd.Series, source: str, hint: str = "") -> pd.Series:
    """Return ``parsed``, or raise InputError naming the column or first row that is not a date."""
    name = column.name
    if parsed.isna().all():
        raise InputError(
            f"{source}: column {name!r} does not hold dates (first value {str(column.iloc[0])!r}){hint}; "
            "name the time column with date_column="
        )
    if parsed.isna().any():
        i = int(np.argmax(parsed.isna().to_numpy()))
        raise InputError(
            f"{source}: cannot read {str(column.iloc[i])!r} in row {i} of column {name!r} as a date{hint}; "
            "fix or remove that row"
        )
    return parsed


def _parse_dates(text: pd.Series) -> pd.Series:
    """Return ``text`` parsed as datetimes, NaT where a value is not one; UTC when any has an offset."""
    # offsets differ across a daylight-saving switch (+01:00, +02:00); pandas refuses mixed offsets
    # unless it converts them to one zone, and UTC is the one that keeps hourly data regular
    utc = bool(text.str.contains(_UTC_OFFSET).any())
    with warnings.catch_warnings():
        # pandas warns when it falls back to parsing element by element; NaT marks failures
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=utc)
        if parsed.isna().any():
            try:
                fallback = pd.to_datetime(text, errors="coerce", utc=utc)
            except ValueError:  # mixed time zone names and offsets pandas cannot reconcile
                fallback = parsed
            if fallback.isna().sum() < parsed.isna().sum():
                parsed = fallback
    return parsed


def _day_month_index(text: pd.Series, column: pd.Series, source: str, dayfirst: bool | None):
    """Return the index of numeric year-last dates, day and month in the order ``dayfirst`` says.

    With ``dayfirst=None`` the values decide (see ``parse_time_index``).
    """
    fields = text.str.extract(_DAY_MONTH_YEAR)
    first, second = fields[0].astype(int), fields[2].astype(int)
    if dayfirst is None:
        if (first > 12).any():
            dayfirst = True
        elif (second > 12).any():
            dayfirst = False
    if dayfirst is not None:
        hint = f" with dayfirst={dayfirst}"
        return _as_index(_checked_dates(_parse_day_month(text, dayfirst), column, source, hint), column.name)
    readings = {flag: _as_index(_checked_dates(_parse_day_month(text, flag), column, source), column.name)
                for flag in (False, True)}
    regular = [flag for flag, index in readings.items() if _is_regular(index)]
    if len(regular) == 2 and not readings[False].equals(readings[True]):
        example = text.iloc[0]
        raise InputError(
            f"{source}: the dates in column {column.name!r} ({example!r}, ...) make a regular series both "
            f"month-first ({_opening(readings[False])}) and day-first ({_opening(readings[True])}); "
            "pass dayfirst=True or dayfirst=False"
        )
    return readings[regular[0]] if len(regular) == 1 else readings[False]


def _parse_day_month(text: pd.Series, dayfirst: bool) -> pd.Series:
    """Return numeric year-last dates parsed day-first or month-first, NaT where impossible."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # element-wise fallback for times after the date; NaT marks failures
        return pd.to_datetime(text, dayfirst=dayfirst, errors="coerce")


def _opening(index: pd.Index) -> str:
    """Return how a reading of the dates starts: "2020-01-02, 2020-01-03, ..."."""
    return ", ".join(str(value) for value in index[:2]) + ", ..."


def _is_regular(index: pd.Index) -> bool:
    try:
        _check_regular_index(index, "dates")
    except InputError:
        return False
    return True


def _quarters(text: pd.Series) -> pd.PeriodIndex | None:
    """Return quarters such as "1970 Q1", "1970Q1", "1970-Q1" or "Q1 1970" as a PeriodIndex, else None."""
    for pattern, year, quarter in ((_QUARTER_YEAR_FIRST, 0, 1), (_QUARTER_YEAR_LAST, 1, 0)):
        if text.str.fullmatch(pattern).all():
            fields = text.str.extract(pattern).astype(int)
            return pd.PeriodIndex.from_fields(
                year=fields[year].to_numpy(), quarter=fields[quarter].to_numpy(), freq="Q-DEC"
            )
    return None


def _yearless_months(text: pd.Series) -> pd.PeriodIndex | None:
    """Return year-less months "1-01" .. "3-12" as monthly periods from 1901-01, else None.

    Applies when every value is year-month with a one- or two-digit year and the first year has
    one digit (a count of years from 1, as in the Shampoo tutorial), never to real dates.
    """
    if not text.str.fullmatch(_YEARLESS_MONTH).all():
        return None
    fields = text.str.extract(_YEARLESS_MONTH)
    if len(fields[0].iloc[0]) != 1:
        return None
    return pd.PeriodIndex.from_fields(
        year=fields[0].astype(int).to_numpy() + YEARLESS_BASE_YEAR, month=fields[1].astype(int).to_numpy(),
        freq="M",
    )


def _numeric_index(column: pd.Series, source: str) -> pd.PeriodIndex | pd.DatetimeIndex | pd.RangeIndex:
    """Return integer years (1000-2999) as yearly periods, and other integers as a RangeIndex."""
    name = column.name
    numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(numbers) | (numbers != np.round(numbers))
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(
            f"{source}: column {name!r} holds numbers, not dates or whole time steps "
            f"({str(column.iloc[i])!r} in row {i}); name the time column with date_column="
        )
    steps = numbers.astype(np.int64)
    if ((steps >= 1000) & (steps <= 2999)).all():
        return _as_index(pd.Series(pd.to_datetime(steps.astype(str), format="%Y")), name)
    return _integer_steps(steps, name, source)


def _integer_steps(steps: np.ndarray, name, source: str) -> pd.RangeIndex:
    """Return integer time steps as a RangeIndex, or raise InputError naming the row that breaks it."""
    if len(steps) == 1:
        return pd.RangeIndex(steps[0], steps[0] + 1, name=name)
    diffs = np.diff(steps)
    if (diffs <= 0).any():
        i = int(np.argmax(diffs <= 0)) + 1
        if diffs[i - 1] == 0:
            raise InputError(
                f"{source}: column {name!r} repeats the time step {steps[i]} in row {i}; "
                "drop or aggregate duplicates first"
            )
        raise InputError(
            f"{source}: column {name!r} is out of time order in row {i} ({steps[i]} after {steps[i - 1]}); "
            "sort the rows by time first"
        )
    values, counts = np.unique(diffs, return_counts=True)
    step = int(values[np.argmax(counts)])  # the most common step; a gap is the exception
    if (diffs != step).any():
        i = int(np.argmax(diffs != step)) + 1
        raise InputError(
            f"{source}: the time steps in column {name!r} have a gap at row {i}: expected {steps[i - 1] + step}, "
            f"found {steps[i]}; fill the missing steps first"
        )
    return pd.RangeIndex(steps[0], steps[-1] + step, step, name=name)


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


# ---- reading the file ------------------------------------------------------------------------------


def _check_path(path: Path) -> None:
    """Raise InputError unless ``path`` is an existing regular file of at most MAX_FILE_BYTES.

    Checked before anything opens it: opening a named pipe would block until a writer appears.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise InputError(
                f"{path} is a broken symbolic link: it points to {os.readlink(path)}, which does not exist"
            ) from None
        raise InputError(
            f"file not found: {path}; check the path, "
            f"or use a bundled dataset ({', '.join(datasets.names())})"
        ) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(
                f"{path} is a symbolic link loop (following it never reaches a file); point it at a CSV file"
            ) from None
        raise InputError(f"cannot open {path} ({exc.strerror or exc}); check the path and its permissions") from None
    mode = info.st_mode
    if stat.S_ISREG(mode):
        if info.st_size > MAX_FILE_BYTES:
            raise InputError(
                f"{path} is {info.st_size / 2**30:.1f} GiB; files over {MAX_FILE_BYTES / 2**30:g} GiB "
                "(MAX_FILE_BYTES) are refused; aggregate or cut the series to the part you model"
            )
        return
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]
    kind = next((label for test, label in kinds if test(mode)), "not a regular file")
    raise InputError(f"{path} is {kind}, not a regular file; give the path of a CSV file")


@contextmanager
def _readable(path: Path) -> Iterator[None]:
    """Turn pandas' errors while reading ``path`` into InputError."""
    try:
        yield
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


@dataclass(frozen=True)
class _Dialect:
    """How a CSV file is written: delimiter, decimal mark, whether it has a header, fields per row."""

    delimiter: str
    decimal: str
    header: bool
    fields: int


def _sniff(path: Path) -> _Dialect:
    """Return the dialect of ``path`` read off its first lines (see the module notes)."""
    # pandas reads the lines so that its compression and encoding handling applies; a separator
    # that never occurs and no quoting give each line whole
    sample = pd.read_csv(path, sep="\x1f", header=None, nrows=_SAMPLE_LINES, dtype=str, quoting=csv.QUOTE_NONE,
                         keep_default_na=False, encoding="utf-8")
    lines = sample.astype(str).agg("\x1f".join, axis=1).tolist()
    delimiter = ","
    for candidate in _DELIMITERS:
        counts = {len(row) for row in csv.reader(lines, delimiter=candidate)}
        if len(counts) == 1 and counts.pop() > 1:
            delimiter = candidate
            break
    rows = list(csv.reader(lines, delimiter=delimiter))
    data_fields = [field.strip() for row in rows[1:] for field in row]
    decimal = "," if delimiter != "," and any(_DECIMAL_COMMA.fullmatch(f) for f in data_fields) else "."
    first = [field.strip() for field in rows[0]]
    return _Dialect(delimiter, decimal, header=not _is_data_row(first, decimal), fields=len(first))


def _is_data_row(fields: list[str], decimal: str) -> bool:
    """Return True when a first row is data, not names: a date or number, then numbers only."""
    if len(fields) < 2:
        return False

    def number(text: str) -> bool:
        return bool(_NUMBER.fullmatch(text.replace(decimal, ".") if decimal != "." else text))

    if not all(number(f) for f in fields[1:]):
        return False
    return number(fields[0]) or _looks_like_date(fields[0])


def _looks_like_date(text: str) -> bool:
    one = pd.Series([text])
    if _quarters(one) is not None or _yearless_months(one) is not None or _DAY_MONTH_YEAR.fullmatch(text):
        return True
    return bool(_parse_dates(one).notna().all())


def _generated_names(fields: int) -> list[str]:
    """Return the names of a headerless file's columns: time, then value or value1, value2, ..."""
    if fields <= 2:
        return ["time", "value"][:fields]
    return ["time", *(f"value{i}" for i in range(1, fields))]


def _read_csv(path: Path) -> pd.DataFrame:
    """Return the raw CSV as a DataFrame, or raise InputError for a missing, empty or unreadable file."""
    _check_path(path)
    with _readable(path):
        dialect = _sniff(path)
        frame = pd.read_csv(path, sep=dialect.delimiter, decimal=dialect.decimal,
                            header=0 if dialect.header else None)
    if not dialect.header:
        frame.columns = _generated_names(frame.shape[1])
    if len(frame) == 0:
        raise InputError(f"{path} has a header but no data rows")
    return frame


# ---- choosing columns ------------------------------------------------------------------------------


def _time_column(frame: pd.DataFrame, date_column: str | None, source: str) -> str:
    """Return the name of the time column: ``date_column``, else the first column.

    An unnamed first column of integers (pandas' row numbers) gives way to a column of dates.
    """
    if date_column is not None:
        _check_columns_exist(frame, [date_column], source)
        return date_column
    first = frame.columns[0]
    if _is_row_numbers(frame, first):
        dated = next((c for c in frame.columns[1:] if _holds_dates(frame[c])), None)
        if dated is not None:
            return dated
    return first


def _is_row_numbers(frame: pd.DataFrame, column) -> bool:
    """Return True for pandas' ``to_csv`` index column: first, unnamed in the header, integers."""
    return (
        column == frame.columns[0]
        and isinstance(column, str)
        and bool(_UNNAMED.fullmatch(column))
        and pd.api.types.is_integer_dtype(frame[column])
    )


def _holds_dates(column: pd.Series) -> bool:
    """Return True when a text column parses as dates in every row."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return False
    text = column.astype(str).str.strip()
    if _quarters(text) is not None or _yearless_months(text) is not None:
        return True
    if text.str.fullmatch(_DAY_MONTH_YEAR).all():
        return bool(_parse_day_month(text, False).notna().all() or _parse_day_month(text, True).notna().all())
    return bool(_parse_dates(text).notna().all())


def _value_columns(
    frame: pd.DataFrame, time_column: str, columns: str | Sequence[str] | None, source: str
) -> list[str]:
    """Return the value columns to keep: ``columns``, or every column but the time and row-number ones."""
    if columns is None:
        chosen = [c for c in frame.columns if c != time_column and not _is_row_numbers(frame, c)]
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
            "or name another time column with date_column="
        )
    return chosen


def _check_columns_exist(frame: pd.DataFrame, wanted: list, source: str) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        available = ", ".join(str(c) for c in frame.columns)
        raise InputError(f"{source} has no column {missing[0]!r}; available columns: {available}")


def _load_named(source: str | Path, column, date_column: str | None, dayfirst: bool | None):
    """Return a bundled dataset (a bare known name) or a CSV file's contents."""
    path = Path(source)
    if isinstance(source, str) and source in datasets.names() and not path.is_file():
        if date_column is not None:
            raise InputError(f"date_column applies to CSV files, not the bundled dataset {source!r}")
        return _select(datasets.load(source), column, source)
    # lexists: a broken link or a link loop is reported as such by load_csv, not as an unknown name
    if not os.path.lexists(path) and isinstance(source, str) and path.suffix == "" and len(path.parts) == 1:
        raise InputError(
            f"{source!r} is neither a bundled dataset ({', '.join(datasets.names())}) "
            "nor an existing CSV file"
        )
    return load_csv(path, date_column=date_column, columns=column, dayfirst=dayfirst)


def _select(data: pd.Series | pd.DataFrame, column, source: str) -> pd.Series | pd.DataFrame:
    """Return the column(s) named by ``column`` (one name or a one-item list -> Series)."""
    if column is None:
        return data
    chosen = [column] if isinstance(column, str) else list(column)
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    _check_columns_exist(frame, chosen, source)
    selected = frame[chosen]
    return selected.iloc[:, 0] if len(chosen) == 1 else selected
