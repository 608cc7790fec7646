"""season_length from an index's frequency, and future_index: the periods after a series."""

from __future__ import annotations

import pandas as pd
import pytest

from lstmcast.data import datasets
from lstmcast.data.timeindex import future_index, season_length
from lstmcast.errors import InputError


def _label(index: pd.Index) -> str:
    return getattr(index, "freqstr", None) or type(index).__name__


@pytest.mark.parametrize(
    "index, expected",
    [
        (pd.period_range("2000-01", periods=24, freq="M"), 12),
        (pd.date_range("2000-01-01", periods=24, freq="MS"), 12),
        (pd.date_range("2000-01-31", periods=24, freq="ME"), 12),
        (pd.period_range("2000Q1", periods=8, freq="Q"), 4),
        (pd.date_range("2000-01-01", periods=8, freq="QS"), 4),
        (pd.date_range("2020-01-05", periods=60, freq="W"), 52),
        (pd.period_range("2020-01-01", periods=30, freq="D"), 7),
        (pd.date_range("2020-01-06", periods=30, freq="B"), 5),
        (pd.date_range("2020-01-01", periods=48, freq="h"), 24),
        (pd.date_range("2020-01-01", periods=96, freq="30min"), 48),
        (pd.date_range("2020-01-01", periods=96, freq="15min"), 96),
        (pd.period_range("1949", periods=10, freq="Y"), 1),
        (pd.date_range("2020-01-01", periods=60, freq="min"), 1),
        (pd.date_range("2020-01-01", periods=60, freq="s"), 1),
        (pd.date_range("2000-01-01", periods=12, freq="2MS"), 6),
        (pd.date_range("2020-01-01", periods=12, freq="6h"), 4),
        (pd.date_range("2020-01-01", periods=12, freq="7h"), 1),
        (pd.RangeIndex(20), 1),
        (pd.Index([3, 5, 7]), 1),
    ],
    ids=lambda value: _label(value) if isinstance(value, pd.Index) else None,
)
def test_season_length_follows_the_frequency(index, expected):
    assert season_length(index) == expected


def test_season_length_infers_an_unset_frequency_and_keeps_time_zones():
    hours = pd.date_range("2021-03-27 22:00", periods=6, freq="h", tz="UTC")
    assert season_length(pd.DatetimeIndex(list(hours))) == 24  # freq not set, but inferable
    assert season_length(hours) == 24


def test_season_length_is_1_for_irregular_or_too_short_dates():
    assert season_length(pd.DatetimeIndex(["2020-01-01", "2020-01-02", "2020-01-05"])) == 1
    assert season_length(pd.DatetimeIndex(["2020-01-01", "2020-02-01"])) == 1


def test_bundled_datasets_are_monthly():
    assert season_length(datasets.load("airline").index) == 12


# --- future_index ----------------------------------------------------------------------------------


def test_future_index_continues_periods_and_anchored_dates():
    months = pd.period_range("2000-01", periods=3, freq="M")
    assert future_index(months, 2).tolist() == [pd.Period("2000-04", "M"), pd.Period("2000-05", "M")]
    month_ends = pd.date_range("2000-01-31", periods=3, freq="ME")
    assert future_index(month_ends, 2).tolist() == [pd.Timestamp("2000-04-30"), pd.Timestamp("2000-05-31")]


def test_future_index_keeps_the_time_zone_and_infers_an_unset_frequency():
    hours = pd.DatetimeIndex(list(pd.date_range("2021-03-28 00:00", periods=4, freq="h", tz="UTC")))
    nxt = future_index(hours, 2)
    assert str(nxt.tz) == "UTC" and nxt[0] == pd.Timestamp("2021-03-28 04:00", tz="UTC")


@pytest.mark.parametrize(
    "index, expected",
    [(pd.RangeIndex(5), [5, 6, 7]), (pd.Index([10, 15, 20]), [25, 30, 35]), (pd.Index([7]), [8, 9, 10])],
    ids=["range", "step-5", "one-row"],
)
def test_future_index_gives_the_next_integers_with_the_same_step(index, expected):
    nxt = future_index(index, 3)
    assert isinstance(nxt, pd.RangeIndex) and nxt.tolist() == expected


@pytest.mark.parametrize(
    "index, message",
    [
        (pd.Index([1, 2, 4]), "no constant step"),
        (pd.DatetimeIndex(["2020-01-01", "2020-01-02", "2020-01-05"]), "no frequency"),
        (pd.RangeIndex(0), "empty index"),
        (pd.Index(["a", "b"]), "cannot extend an index of type Index"),
    ],
)
def test_future_index_refuses_what_it_cannot_extend(index, message):
    with pytest.raises(InputError, match=message):
        future_index(index, 1)


def test_future_index_checks_the_horizon():
    with pytest.raises(InputError, match="horizon"):
        future_index(pd.RangeIndex(3), 0)
