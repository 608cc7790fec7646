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
    with raises_one_line("column 'Time' does not hold dates .*date_column="):
        load_csv(write_csv("Time,Sales\nfoo,1\nbar,2\n"))
    with raises_one_line(r"column 'id' holds numbers, not dates or whole time steps \('0.5' in row 1\)"):
        load_csv(write_csv("id,a\n0,1\n0.5,2\n"))


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


def test_messages_name_parameters_not_cli_flags(write_csv):
    path = write_csv(MULTI)
    with raises_one_line("name another time column with date_column=") as info:
        load_csv(path, columns=["Date", "out"])
    assert "--" not in str(info.value)


# --- dates users have ------------------------------------------------------------------------------


@pytest.mark.parametrize("quarter", ["{y} Q{q}", "{y}Q{q}", "{y}-Q{q}", "Q{q} {y}"])
def test_quarter_labels_become_a_quarterly_period_index(write_csv, quarter):
    rows = [(1970, 1), (1970, 2), (1970, 3), (1970, 4), (1971, 1)]
    text = "Quarter,gdp\n" + "".join(f"{quarter.format(y=y, q=q)},{i}\n" for i, (y, q) in enumerate(rows))
    y = load_csv(write_csv(text))
    assert isinstance(y.index, pd.PeriodIndex) and y.index.freqstr == "Q-DEC"
    assert y.index[0] == pd.Period("1970Q1", "Q") and y.index[-1] == pd.Period("1971Q1", "Q")


def test_shampoo_tutorial_year_less_months_count_years_from_1901(write_csv):
    months = [f"{year}-{month:02d}" for year in (1, 2, 3) for month in range(1, 13)]
    text = "Month,Sales\n" + "".join(f"{m},{i}\n" for i, m in enumerate(months))
    y = load_csv(write_csv(text))
    assert y.index.freqstr == "M" and len(y) == 36
    assert y.index[0] == pd.Period("1901-01", "M") and y.index[-1] == pd.Period("1903-12", "M")


def test_the_tutorials_quoted_csv_matches_the_bundled_shampoo_values(write_csv):
    bundled = datasets.load("shampoo")
    rows = [f'"{p.year - 1990}-{p.month:02d}",{v}\n' for p, v in zip(bundled.index, bundled)]
    y = load_csv(write_csv('"Month","Sales of shampoo over a three year period"\n' + "".join(rows)))
    np.testing.assert_array_equal(y.to_numpy(), bundled.to_numpy())
    assert y.index[0] == pd.Period("1901-01", "M")


def test_day_first_dates_are_detected_when_a_first_field_exceeds_12(write_csv):
    y = load_csv(write_csv("Date,v\n30/01/2020,1\n31/01/2020,2\n01/02/2020,3\n02/02/2020,4\n"))
    assert y.index.freqstr == "D" and y.index[2] == pd.Period("2020-02-01", "D")


def test_month_first_dates_are_detected_when_a_second_field_exceeds_12(write_csv):
    y = load_csv(write_csv("Date,v\n01/30/2020,1\n01/31/2020,2\n02/01/2020,3\n"))
    assert y.index[2] == pd.Period("2020-02-01", "D")


def test_ambiguous_dates_take_the_order_that_gives_a_regular_series(write_csv):
    # month-first these are monthly; day-first they would be Jan 1..12 and then a jump to 2021
    text = "Date,v\n" + "".join(f"{m:02d}/01/2020,{m}\n" for m in range(1, 13)) + "01/01/2021,13\n"
    y = load_csv(write_csv(text))
    assert y.index.freqstr == "M" and y.index[-1] == pd.Period("2021-01", "M")
    # day-first these are monthly (the 1st of each month), month-first they break after 12 days
    text = "Date,v\n" + "".join(f"01/{m:02d}/2020,{m}\n" for m in range(1, 13)) + "01/01/2021,13\n"
    y = load_csv(write_csv(text))
    assert y.index.freqstr == "M" and y.index[1] == pd.Period("2020-02", "M")


def test_dates_regular_in_both_orders_ask_for_dayfirst(write_csv):
    path = write_csv("Date,v\n01/02/2020,1\n01/03/2020,2\n01/04/2020,3\n")
    with raises_one_line(r"regular series both month-first \(2020-01-02, 2020-01-03, ...\) "
                         r"and day-first \(2020-02, 2020-03, ...\); pass dayfirst=True or dayfirst=False"):
        load_csv(path)
    assert load_csv(path, dayfirst=True).index[0] == pd.Period("2020-02", "M")
    assert load_csv(path, dayfirst=False).index[0] == pd.Period("2020-01-02", "D")
    assert load_data(str(path), dayfirst=True).index.freqstr == "M"


def test_forced_dayfirst_names_the_row_it_cannot_read(write_csv):
    with raises_one_line(r"cannot read '01/13/2020' in row 1 of column 'Date' as a date with dayfirst=True"):
        load_csv(write_csv("Date,v\n01/12/2020,1\n01/13/2020,2\n"), dayfirst=True)


def test_utc_offsets_changing_at_a_daylight_saving_switch_give_regular_utc_hours(write_csv):
    text = (
        "time,load\n"
        "2021-03-28T00:00:00+01:00,1\n"
        "2021-03-28T01:00:00+01:00,2\n"
        "2021-03-28T03:00:00+02:00,3\n"
        "2021-03-28T04:00:00+02:00,4\n"
    )
    y = load_csv(write_csv(text))
    assert isinstance(y.index, pd.DatetimeIndex) and str(y.index.tz) == "UTC"
    assert y.index.freqstr == "h"
    assert y.index[0] == pd.Timestamp("2021-03-27 23:00", tz="UTC")


def test_pandas_to_csv_row_numbers_are_skipped_when_another_column_holds_dates(write_csv, tmp_path):
    series = datasets.load("shampoo")
    frame = pd.DataFrame({"Month": series.index.astype(str), "Sales": series.to_numpy()})
    path = tmp_path / "written.csv"
    frame.to_csv(path)  # header ",Month,Sales", first column 0, 1, 2, ...
    y = load_csv(path)
    pd.testing.assert_series_equal(y, series.rename_axis("Month"))


def test_row_numbers_are_not_a_value_column_when_date_column_is_given(write_csv):
    y = load_csv(write_csv(",Sales,Month\n0,1,2000-01\n1,2,2000-02\n2,3,2000-03\n"), date_column="Month")
    assert y.name == "Sales" and y.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    "text, start, step",
    [("t,v\n1,10\n2,20\n3,30\n", 1, 1), ("step,v\n0,10\n5,20\n10,30\n", 0, 5)],
)
def test_integer_time_steps_give_a_regular_integer_index(write_csv, text, start, step):
    y = load_csv(write_csv(text))
    assert pd.api.types.is_integer_dtype(y.index)
    assert y.index.tolist() == [start, start + step, start + 2 * step]
    assert y.tolist() == [10.0, 20.0, 30.0]


@pytest.mark.parametrize(
    "text, message",
    [
        ("t,v\n1,10\n3,20\n2,30\n", r"column 't' is out of time order in row 2 \(2 after 3\)"),
        ("t,v\n1,10\n2,20\n2,30\n", "column 't' repeats the time step 2 in row 2"),
        ("t,v\n1,10\n2,20\n4,30\n5,40\n", "column 't' have a gap at row 2: expected 3, found 4"),
    ],
    ids=["decreasing", "duplicated", "gapped"],
)
def test_broken_integer_time_steps_name_the_row(write_csv, text, message):
    with raises_one_line(message):
        load_csv(write_csv(text))


def test_in_memory_frame_with_an_integer_time_column():
    raw = pd.DataFrame({"t": [10, 11, 12], "y": [1.0, 2.0, 3.0]})
    y = load_data(raw, date_column="t", column="y")
    assert y.index.tolist() == [10, 11, 12]


# --- file shapes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters_are_detected(write_csv, delimiter):
    y = load_csv(write_csv(SALES.replace(",", delimiter)))
    pd.testing.assert_series_equal(y, load_csv(write_csv(SALES)))


def test_semicolon_file_with_decimal_commas(write_csv):
    y = load_csv(write_csv("Time;Sales\n1991-01;266,0\n1991-02;145,9\n1991-03;183,1\n"))
    assert y.tolist() == [266.0, 145.9, 183.1]


def test_file_without_header_is_read_with_generated_names(write_csv):
    from lstmcast.data.io import csv_columns

    path = write_csv("1991-01,266.0\n1991-02,145.9\n1991-03,183.1\n")
    y = load_csv(path)
    assert y.name == "value" and y.index.name == "time" and len(y) == 3  # the first row is data, not lost
    assert y.iloc[0] == 266.0 and y.index[0] == pd.Period("1991-01", "M")
    assert csv_columns(path) == ["time", "value"]
    multi = write_csv("1,10,1.5\n2,20,2.5\n3,30,3.5\n")
    assert csv_columns(multi) == ["time", "value1", "value2"]
    assert list(load_csv(multi).columns) == ["value1", "value2"]
    assert csv_columns(write_csv(MULTI)) == ["Date", "in1", "in2", "out"]
    assert csv_columns(write_csv(MULTI.replace(",", ";"))) == ["Date", "in1", "in2", "out"]


def test_directory_is_named_as_such(tmp_path):
    with raises_one_line("is a directory, not a regular file"):
        load_csv(tmp_path)


def test_device_is_named_as_such():
    with raises_one_line("/dev/null is a character device, not a regular file"):
        load_csv("/dev/null")


def test_fifo_is_refused_without_opening_it(tmp_path):
    import os
    import threading

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    errors = []
    # opening a FIFO blocks until a writer appears; run in a thread so a regression fails, not hangs
    reader = threading.Thread(target=lambda: errors.append(_error_of(load_csv, fifo)), daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "load_csv blocked on a FIFO"
    assert "is a named pipe (FIFO), not a regular file" in errors[0]


def _error_of(function, *args) -> str:
    try:
        function(*args)
    except InputError as exc:
        return str(exc)
    return "no error"


def test_symlink_loop_and_broken_link_are_named(tmp_path):
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    with raises_one_line("is a symbolic link loop"):
        load_csv(loop)
    with raises_one_line("is a symbolic link loop"):
        load_data(str(loop))
    broken = tmp_path / "broken.csv"
    broken.symlink_to(tmp_path / "gone.csv")
    with raises_one_line("is a broken symbolic link: it points to .*gone.csv"):
        load_csv(broken)


def test_files_over_the_size_limit_are_refused(write_csv, monkeypatch):
    from lstmcast.data import io

    path = write_csv(SALES)
    monkeypatch.setattr(io, "MAX_FILE_BYTES", 16)
    with raises_one_line("files over .* GiB \\(MAX_FILE_BYTES\\) are refused"):
        load_csv(path)
    assert io.MAX_FILE_BYTES < path.stat().st_size  # the limit, not the content, refused it
