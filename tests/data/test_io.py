"""load_csv and load_data: index parsing, column choice, and one-line errors that say where."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstmcast.data import datasets
from lstmcast.data.io import load_csv, load_data
from lstmcast.errors import InputError

FILES = Path(datasets.__file__).parent / "files"
SALES = "Time,Sales\n1991-01,266.0\n1991-02,145.9\n1991-03,183.1\n1991-04,119.3\n"
MULTI = "Date,in1,in2,out\n2000-01,10,15,25\n2000-02,20,25,45\n2000-03,30,35,65\n"


def raises_one_line(match: str):
    """pytest.raises for an InputError whose message matches and fits on one line."""

    class OneLine:
        def __enter__(self):
            self.ctx = pytest.raises(InputError, match=match)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self.ctx.__exit__(*exc)
            assert "\n" not in str(self.info.value)
            return handled

    return OneLine()


# --- index parsing ---------------------------------------------------------------------------------


def test_monthly_strings_become_a_monthly_period_index_like_the_bundled_data():
    y = load_csv(FILES / "shampoo-sales.csv")
    pd.testing.assert_series_equal(y, datasets.load("shampoo"))
    assert isinstance(y.index, pd.PeriodIndex) and y.index.freqstr == "M"


def test_single_value_column_gives_a_named_float_series(write_csv):
    y = load_csv(write_csv(SALES))
    assert isinstance(y, pd.Series)
    assert y.name == "Sales" and y.dtype == np.float64 and y.index.name == "Time"
    assert y.index[0] == pd.Period("1991-01", "M")


@pytest.mark.parametrize(
    "text, freq",
    [
        ("Date,v\n1990-03-31,1\n1990-06-30,2\n1990-09-30,3\n", "Q-DEC"),
        ("Date,v\n1990-01-01,1\n1990-04-01,2\n1990-07-01,3\n", "Q-DEC"),
        ("Year,v\n1949,1\n1950,2\n1951,3\n", "Y-DEC"),
        ("Date,v\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n", "D"),
        ("Date,v\n1991-01-31,1\n1991-02-28,2\n1991-03-31,3\n", "M"),
        ("Date,v\n01/15/1991,1\n02/15/1991,2\n03/15/1991,3\n", "M"),
    ],
    ids=["quarter-ends", "quarter-starts", "integer-years", "days", "month-ends", "mid-month-us-format"],
)
def test_regular_calendar_dates_become_a_period_index(write_csv, text, freq):
    y = load_csv(write_csv(text))
    assert isinstance(y.index, pd.PeriodIndex)
    assert y.index.freqstr == freq


@pytest.mark.parametrize(
    "text, freq",
    [
        ("Date,v\n2020-01-05,1\n2020-01-12,2\n2020-01-19,3\n", "W-SUN"),
        ("Date,v\n2020-01-01 00:00,1\n2020-01-01 01:00,2\n2020-01-01 02:00,3\n", "h"),
    ],
)
def test_weekly_and_hourly_dates_keep_a_datetime_index_with_its_frequency(write_csv, text, freq):
    y = load_csv(write_csv(text))
    assert isinstance(y.index, pd.DatetimeIndex)
    assert y.index.freqstr == freq


# --- choosing columns --------------------------------------------------------------------------------


def test_all_value_columns_are_kept_by_default(write_csv):
    frame = load_csv(write_csv(MULTI))
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["in1", "in2", "out"]
    np.testing.assert_array_equal(frame.to_numpy(), datasets.toy_multivariate().to_numpy()[:3])


def test_columns_selects_one_column_as_a_series_or_several_as_a_frame(write_csv):
    path = write_csv(MULTI)
    assert load_csv(path, columns="out").name == "out"
    assert load_csv(path, columns=["out"]).name == "out"
    assert list(load_csv(path, columns=["in2", "in1"]).columns) == ["in2", "in1"]


def test_date_column_may_be_any_column(write_csv):
    y = load_csv(write_csv("Sales,Time\n1,1991-01\n2,1991-02\n3,1991-03\n"), date_column="Time")
    assert y.name == "Sales" and y.index.freqstr == "M"


# --- errors --------------------------------------------------------------------------------------------


def test_missing_file_is_an_input_error(tmp_path):
    with raises_one_line("file not found: .*nope.csv"):
        load_csv(tmp_path / "nope.csv")


def test_empty_file_and_header_only_file_are_input_errors(write_csv):
    with raises_one_line("is empty"):
        load_csv(write_csv(""))
    with raises_one_line("has a header but no data rows"):
        load_csv(write_csv("Time,Sales\n"))


def test_unreadable_csv_is_an_input_error(write_csv, tmp_path):
    with raises_one_line("not a readable CSV file .*Expected 2 fields in line 3"):
        load_csv(write_csv("Time,Sales\n1991-01,1\n1991-02,2,3,4\n"))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage\n\x80,\x81\n")
    with raises_one_line("not a readable CSV file"):
        load_csv(binary)


def test_unknown_column_lists_the_available_ones(write_csv):
    path = write_csv(MULTI)
    with raises_one_line("has no column 'sales'; available columns: Date, in1, in2, out"):
        load_csv(path, columns="sales")
    with raises_one_line("has no column 'When'"):
        load_csv(path, date_column="When")
    with raises_one_line("'Date' .* is the time index"):
        load_csv(path, columns=["Date", "out"])


def test_a_file_with_only_a_time_column_is_an_input_error(write_csv):
    with raises_one_line("needs at least one value column"):
        load_csv(write_csv("Time\n1991-01\n1991-02\n"))


def test_non_numeric_value_names_the_row_and_date(write_csv):
    with raises_one_line(r"column 'Sales' .* is not numeric \(see row 1 \(1991-02\)\)"):
        load_csv(write_csv("Time,Sales\n1991-01,1\n1991-02,x\n1991-03,3\n"))


def test_missing_value_names_the_row_and_date(write_csv):
    with raises_one_line(r"NaN at row 1 \(1991-02\)"):
        load_csv(write_csv("Time,Sales\n1991-01,1\n1991-02,\n1991-03,3\n"))


def test_gap_in_time_says_between_which_periods(write_csv):
    with raises_one_line(r"gap in its time index between row 1 \(1991-02\) and row 2 \(1991-04\)"):
        load_csv(write_csv("Time,Sales\n1991-01,1\n1991-02,2\n1991-04,3\n1991-05,3\n"))


def test_gap_in_weekly_dates_says_what_was_expected(write_csv):
    text = "Date,v\n2020-01-05,1\n2020-01-12,2\n2020-01-26,3\n2020-02-02,4\n2020-02-09,5\n"
    with raises_one_line("gap in its time index at row 2: expected 2020-01-19, found 2020-01-26"):
        load_csv(write_csv(text))


def test_duplicate_time_names_it(write_csv):
    with raises_one_line("duplicate time 1991-02 at row 2"):
        load_csv(write_csv("Time,Sales\n1991-01,1\n1991-02,2\n1991-02,3\n1991-03,3\n"))


def test_unsorted_time_says_where(write_csv):
    with raises_one_line(r"out of time order at row 2 \(1991-01\)"):
        load_csv(write_csv("Time,Sales\n1991-02,1\n1991-03,2\n1991-01,3\n"))


def test_index_column_without_dates_is_an_input_error(write_csv):
    with raises_one_line("column 'Time' does not hold dates .*--date-column"):
        load_csv(write_csv("Time,Sales\nfoo,1\nbar,2\n"))
    with raises_one_line("column 'id' holds numbers, not dates"):
        load_csv(write_csv("id,a\n0,1\n1,2\n"))


def test_one_unparseable_date_names_its_row(write_csv):
    with raises_one_line("cannot read 'bar' in row 1 of column 'Time' as a date"):
        load_csv(write_csv("Time,Sales\n1991-01,1\nbar,2\n1991-03,3\n"))


# --- load_data -----------------------------------------------------------------------------------------


def test_load_data_reads_a_bundled_name():
    pd.testing.assert_series_equal(load_data("airline"), datasets.load("airline"))
    assert load_data("shampoo", column="Sales").name == "Sales"


def test_load_data_reads_a_csv_path_as_str_or_path(write_csv):
    path = write_csv(MULTI)
    assert list(load_data(path).columns) == ["in1", "in2", "out"]
    assert list(load_data(str(path)).columns) == ["in1", "in2", "out"]
    assert load_data(path, column="out").name == "out"
    assert load_data(write_csv(SALES)).name == "Sales"


def test_load_data_accepts_pandas_and_numpy():
    y = load_data(pd.Series([1, 2, 3], name="units"))
    assert y.dtype == np.float64 and y.name == "units"
    frame = load_data(np.arange(6).reshape(3, 2))
    assert list(frame.columns) == ["x0", "x1"]
    assert load_data(np.arange(6).reshape(3, 2), column="x1").tolist() == [1.0, 3.0, 5.0]
    assert load_data([1.0, 2.0]).tolist() == [1.0, 2.0]


def test_load_data_sets_a_dataframes_date_column_as_the_index():
    raw = pd.DataFrame({"when": ["2000-01", "2000-02", "2000-03"], "a": [1, 2, 3], "b": [4, 5, 6]})
    frame = load_data(raw, date_column="when", column="b")
    assert frame.index.freqstr == "M" and frame.tolist() == [4.0, 5.0, 6.0]


def test_load_data_validates_in_memory_data():
    with raises_one_line("NaN"):
        load_data(pd.Series([1.0, np.nan]))


def test_load_data_unknown_name_lists_the_bundled_datasets():
    with raises_one_line("'shampo' is neither a bundled dataset \\(airline, shampoo\\) nor an existing CSV file"):
        load_data("shampo")


def test_load_data_missing_csv_path_is_file_not_found(tmp_path):
    with raises_one_line("file not found"):
        load_data(str(tmp_path / "sales.csv"))


def test_load_data_rejects_other_types_and_bad_columns():
    with raises_one_line("got dict"):
        load_data({"a": 1})
    with raises_one_line("has no column 'Passengers'"):
        load_data("shampoo", column="Passengers")
    with raises_one_line("date_column applies to CSV files"):
        load_data("shampoo", date_column="Time")
