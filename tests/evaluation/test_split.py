import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lstmcast.errors import InputError
from lstmcast.data.timeindex import future_index
from lstmcast.evaluation.split import resolve_test_size, train_test_split


@pytest.fixture
def monthly():
    return pd.Series(np.arange(36.0), index=pd.period_range("1991-01", periods=36, freq="M"))


def test_count_keeps_the_last_rows_as_test_in_time_order(monthly):
    train, test = train_test_split(monthly, 12)
    assert len(train) == 24 and len(test) == 12
    assert str(test.index[0]) == "1993-01" and str(train.index[-1]) == "1992-12"
    pd.testing.assert_series_equal(pd.concat([train, test]), monthly)


def test_a_dataframe_splits_by_rows():
    frame = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0)})
    train, test = train_test_split(frame, 0.3)
    assert train.shape == (7, 2) and test.shape == (3, 2)


@pytest.mark.parametrize(
    ("n", "test_size", "expected"),
    [(36, 12, 12), (36, 0.25, 9), (36, 0.01, 1), (10, 0.25, 3), (10, 0.35, 4), (2, 1, 1), (144, np.int64(48), 48)],
)
def test_resolve_test_size_takes_counts_and_rounded_fractions(n, test_size, expected):
    assert resolve_test_size(n, test_size) == expected


@pytest.mark.parametrize(
    ("test_size", "message"),
    [
        (0, "at least 1; got 0"),
        (-3, "at least 1; got -3"),
        (36, "gives 36 test observations but the series has 36"),
        (40, "gives 40 test observations but the series has 36"),
        (0.0, r"fraction in \(0, 1\)"),
        (1.0, r"fraction in \(0, 1\)"),
        (1.5, r"fraction in \(0, 1\)"),
        (-0.2, r"fraction in \(0, 1\)"),
        (True, "count"),
        ("12", "count"),
        (None, "count"),
    ],
)
def test_bad_test_sizes_are_input_errors_that_give_the_sizes(monthly, test_size, message):
    with pytest.raises(InputError, match=message):
        train_test_split(monthly, test_size)


def test_a_fraction_that_leaves_nothing_to_train_on_is_rejected():
    with pytest.raises(InputError, match="at least one must remain for training"):
        resolve_test_size(1, 0.5)


@given(st.integers(2, 500), st.floats(0.001, 0.999))
def test_a_fraction_splits_into_two_non_empty_parts_that_add_up(n, fraction):
    series = pd.Series(np.arange(float(n)))
    expected = max(1, int(n * fraction + 0.5))
    if expected >= n:
        with pytest.raises(InputError):
            train_test_split(series, fraction)
        return
    train, test = train_test_split(series, fraction)
    assert len(test) == expected and len(train) == n - expected
    assert train.index[-1] + 1 == test.index[0]


def test_future_index_of_periods():
    index = pd.period_range("1991-01", periods=36, freq="M")
    future = future_index(index, 3)
    assert isinstance(future, pd.PeriodIndex)
    assert future.astype(str).tolist() == ["1994-01", "1994-02", "1994-03"]
    quarters = future_index(pd.period_range("2000Q1", periods=4, freq="Q"), 2)
    assert quarters.astype(str).tolist() == ["2001Q1", "2001Q2"]


def test_future_index_of_dates_keeps_the_frequency_and_its_anchor():
    month_starts = future_index(pd.date_range("2000-01-01", periods=5, freq="MS"), 2)
    assert month_starts.strftime("%Y-%m-%d").tolist() == ["2000-06-01", "2000-07-01"]
    month_ends = future_index(pd.date_range("2000-01-31", periods=3, freq="ME"), 2)
    assert month_ends.strftime("%Y-%m-%d").tolist() == ["2000-04-30", "2000-05-31"]


def test_future_index_infers_a_missing_date_frequency():
    days = pd.DatetimeIndex(["2000-01-01", "2000-01-02", "2000-01-03"])
    assert days.freq is None
    assert future_index(days, 1).strftime("%Y-%m-%d").tolist() == ["2000-01-04"]


def test_future_index_without_a_date_frequency_is_an_input_error():
    with pytest.raises(InputError, match="no frequency"):
        future_index(pd.DatetimeIndex(["2000-01-01", "2000-01-02", "2000-01-05"]), 1)


def test_future_index_of_integers():
    assert future_index(pd.RangeIndex(10), 3).tolist() == [10, 11, 12]
    assert future_index(pd.Index([0, 5, 10]), 2).tolist() == [15, 20]
    assert future_index(pd.Index([7]), 2).tolist() == [8, 9]
    with pytest.raises(InputError, match="constant step"):
        future_index(pd.Index([0, 1, 3]), 1)


def test_future_index_rejects_bad_horizons_and_indexes():
    with pytest.raises(InputError, match="horizon"):
        future_index(pd.RangeIndex(3), 0)
    with pytest.raises(InputError, match="empty"):
        future_index(pd.RangeIndex(0), 1)
    with pytest.raises(InputError, match="Index"):
        future_index(pd.Index(["a", "b"]), 1)
