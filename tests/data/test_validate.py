"""check_int and validate_series: what passes, and errors that say what and where."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmcast.data.validate import check_int, validate_series
from lstmcast.errors import InputError


def test_check_int_returns_a_plain_int():
    value = check_int(np.int64(3), "epochs")
    assert value == 3 and type(value) is int


@pytest.mark.parametrize("value", [0, -2, 1.0, "3", True, None])
def test_check_int_rejects_non_integers_and_values_below_minimum(value):
    with pytest.raises(InputError, match="epochs"):
        check_int(value, "epochs", minimum=1)


def test_check_int_accepts_the_minimum():
    assert check_int(0, "start", minimum=0) == 0


def test_numpy_1d_becomes_a_float_series_named_y():
    y = validate_series(np.array([1, 2, 3]))
    assert isinstance(y, pd.Series) and y.name == "y" and y.dtype == np.float64


def test_numpy_2d_becomes_a_frame_with_columns_x0_x1():
    frame = validate_series(np.arange(6).reshape(3, 2))
    assert list(frame.columns) == ["x0", "x1"] and (frame.dtypes == np.float64).all()


def test_series_keeps_its_name_and_index():
    index = pd.period_range("2000-01", periods=3, freq="M")
    y = validate_series(pd.Series([1, 2, 3], index=index, name="units"))
    assert y.name == "units" and y.index.equals(index)
    assert validate_series(pd.Series([1.0, 2.0])).name is None


def test_three_dimensional_array_is_rejected():
    with pytest.raises(InputError, match="1-D or 2-D"):
        validate_series(np.zeros((2, 2, 2)))


def test_empty_and_too_short_inputs_are_rejected():
    with pytest.raises(InputError, match="empty"):
        validate_series(np.array([]))
    with pytest.raises(InputError, match="has 2 observations; at least 5 are needed"):
        validate_series(np.array([1.0, 2.0]), min_length=5)


def test_nan_and_infinity_are_located():
    index = pd.period_range("2000-01", periods=3, freq="M")
    with pytest.raises(InputError, match=r"NaN at row 1 \(2000-02\)"):
        validate_series(pd.Series([1.0, np.nan, 3.0], index=index))
    with pytest.raises(InputError, match=r"infinite value at row 2"):
        validate_series(np.array([1.0, 2.0, np.inf]))


def test_nullable_integer_missing_value_is_reported_as_nan():
    with pytest.raises(InputError, match="NaN at row 1"):
        validate_series(pd.Series([1, None, 3], dtype="Int64"))


def test_non_numeric_column_is_located():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["3", "x"]})
    with pytest.raises(InputError, match=r"column 'b' of series is not numeric \(see row 1"):
        validate_series(frame)


def test_gap_in_a_monthly_datetime_index_is_found_where_it_is():
    # months differ in length, so the gap must be found against the calendar, not raw tick steps
    index = pd.date_range("1991-01-01", periods=12, freq="MS").delete(6)
    with pytest.raises(InputError, match="at row 6: expected 1991-07-01, found 1991-08-01"):
        validate_series(pd.Series(np.arange(11.0), index=index))


def test_gap_near_the_start_is_found():
    index = pd.date_range("1991-01-01", periods=12, freq="MS").delete(1)
    with pytest.raises(InputError, match="at row 1: expected 1991-02-01, found 1991-03-01"):
        validate_series(pd.Series(np.arange(11.0), index=index))


def test_gap_in_a_period_index_names_both_sides():
    index = pd.period_range("2000-01", periods=5, freq="M").delete(2)
    with pytest.raises(InputError, match=r"between row 1 \(2000-02\) and row 2 \(2000-04\)"):
        validate_series(pd.Series(np.arange(4.0), index=index))


@pytest.mark.parametrize(
    "index",
    [
        pd.date_range("2020-01-01", periods=4, freq="D")[[0, 1, 1, 2]],
        pd.period_range("2020-01", periods=4, freq="M")[[0, 1, 1, 2]],
    ],
)
def test_duplicate_times_are_named(index):
    with pytest.raises(InputError, match="duplicate time 2020-01-02|duplicate time 2020-02"):
        validate_series(pd.Series(np.arange(4.0), index=index))


def test_unsorted_time_index_is_reported():
    index = pd.date_range("2020-01-01", periods=4, freq="D")[[0, 2, 1, 3]]
    with pytest.raises(InputError, match=r"out of time order at row 2 \(2020-01-02\)"):
        validate_series(pd.Series(np.arange(4.0), index=index))


def test_irregular_dates_without_a_frequency_are_reported():
    index = pd.DatetimeIndex(["2020-01-01", "2020-01-02", "2020-01-05", "2020-01-09"])
    with pytest.raises(InputError, match=r"irregular time index at row 2 \(2020-01-05\)"):
        validate_series(pd.Series(np.arange(4.0), index=index))


def test_regular_datetime_index_passes_without_warnings(recwarn):
    index = pd.date_range("2020-01-01", periods=30, freq="W")
    validate_series(pd.Series(np.arange(30.0), index=index))
    assert not [w for w in recwarn if "infer_freq" in str(w.message)]


# --- inputs that must not pass silently -------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [np.array([1.0, 2.0 + 3.0j, 4.0]), pd.Series([1.0, 2.0 + 3.0j, 4.0]), pd.Series([1, 2 + 3j, 4], dtype=object)],
    ids=["numpy", "series", "object-series"],
)
def test_complex_values_are_rejected_not_truncated(data):
    with pytest.raises(InputError, match=r"holds complex numbers \(\(?2\+3j\)? at row 1"):
        validate_series(data)


def test_duplicate_column_names_are_named():
    frame = pd.DataFrame([[1.0, 2.0, 3.0]] * 3, columns=["a", "b", "a"])
    with pytest.raises(InputError, match="duplicate column names: 'a'"):
        validate_series(frame)


def test_ragged_nested_list_names_the_row():
    with pytest.raises(InputError, match="ragged nested list: row 0 has 2 values but row 2 has 1"):
        validate_series([[1.0, 2.0], [3.0, 4.0], [5.0]])
    with pytest.raises(InputError, match="row 0 has a single value but row 1 has 2 values"):
        validate_series([1.0, [2.0, 3.0]])


@pytest.mark.parametrize(
    "index, message",
    [
        ([0, 1, 1, 2], "duplicate time step 1 at row 2"),
        ([0, 2, 1, 3], r"out of time order at row 2 \(time step 1 after 2\)"),
        (pd.RangeIndex(3, -1, -1), r"out of time order at row 1 \(time step 2 after 3\)"),
    ],
    ids=["duplicated", "decreasing", "reversed-range"],
)
def test_disordered_integer_index_names_the_row(index, message):
    with pytest.raises(InputError, match=message):
        validate_series(pd.Series(np.arange(4.0), index=index))


def test_increasing_integer_index_with_any_step_passes():
    y = validate_series(pd.Series([1.0, 2.0, 3.0], index=[10, 20, 30]))
    assert y.index.tolist() == [10, 20, 30]


def test_magnitudes_that_would_overflow_squares_are_rejected():
    from lstmcast.data.validate import MAX_ABS_VALUE

    assert np.isfinite(MAX_ABS_VALUE**2 * 1e6)  # sums of many squares stay finite at the limit
    validate_series(np.array([1.0, -MAX_ABS_VALUE]))  # the limit itself passes
    index = pd.period_range("2000-01", periods=3, freq="M")
    with pytest.raises(InputError, match=r"-1e\+200 at row 2 \(2000-03\), beyond the limit of 1e\+150"):
        validate_series(pd.Series([1.0, 2.0, -1e200], index=index))


def test_messages_name_the_column_parameter_not_a_cli_flag():
    with pytest.raises(InputError, match="select numeric columns with column=") as info:
        validate_series(pd.DataFrame({"a": ["x", "y"]}))
    assert "--" not in str(info.value)
