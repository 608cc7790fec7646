"""Bundled datasets and seed 003's toy sequences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmcast.data import datasets
from lstmcast.errors import InputError


def test_names_lists_the_bundled_datasets():
    assert datasets.names() == ["airline", "shampoo"]


@pytest.mark.parametrize(
    "name, column, length, first, last, start, end",
    [
        ("shampoo", "Sales", 36, 266.0, 646.9, "1991-01", "1993-12"),
        ("airline", "Passengers", 144, 112.0, 432.0, "1949-01", "1960-12"),
    ],
)
def test_load_returns_a_float_series_with_a_monthly_period_index(name, column, length, first, last, start, end):
    y = datasets.load(name)
    assert isinstance(y, pd.Series) and y.name == column and y.dtype == np.float64
    assert isinstance(y.index, pd.PeriodIndex) and y.index.freqstr == "M"
    assert len(y) == length
    assert (y.iloc[0], y.iloc[-1]) == (first, last)
    assert (str(y.index[0]), str(y.index[-1])) == (start, end)


def test_load_returns_a_fresh_copy_each_time():
    y = datasets.load("shampoo")
    y.iloc[0] = -1.0
    assert datasets.load("shampoo").iloc[0] == 266.0


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(InputError, match="unknown dataset 'sunspots'; the bundled datasets are: airline, shampoo"):
        datasets.load("sunspots")


def test_toy_univariate_is_ten_to_ninety():
    y = datasets.toy_univariate()
    assert y.tolist() == [10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert y.dtype == np.float64


def test_toy_multivariate_output_is_the_sum_of_the_inputs():
    frame = datasets.toy_multivariate()
    assert list(frame.columns) == ["in1", "in2", "out"]
    assert frame["in1"].tolist() == list(range(10, 100, 10))
    assert frame["in2"].tolist() == list(range(15, 100, 10))
    assert frame["out"].tolist() == [25, 45, 65, 85, 105, 125, 145, 165, 185]
