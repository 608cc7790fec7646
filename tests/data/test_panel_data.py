"""Panel input: long frames, dicts, MultiIndex frames, lists and CSV files in; long frames out; calendar features."""

import numpy as np
import pandas as pd
import pytest

from lstmcast.data.panel import calendar_features, to_long, to_panel
from lstmcast.errors import InputError


def long_frame():
    # rows deliberately out of time order within "b"
    return pd.DataFrame({
        "unique_id": ["a", "a", "a", "b", "b", "b", "b"],
        "ds": ["2000-01", "2000-02", "2000-03", "2000-03", "2000-01", "2000-02", "2000-04"],
        "y": [1.0, 2.0, 3.0, 30.0, 10.0, 20.0, 40.0],
    })


def test_long_frame_gives_one_sorted_series_per_id():
    panel = to_panel(long_frame())
    assert list(panel) == ["a", "b"]
    assert panel["b"].tolist() == [10.0, 20.0, 30.0, 40.0]
    assert isinstance(panel["b"].index, pd.PeriodIndex) and str(panel["b"].index[0]) == "2000-01"
    assert panel["a"].name == "y"


def test_covariate_columns_come_first_and_the_target_last():
    frame = long_frame().assign(price=np.arange(7.0))
    panel = to_panel(frame)
    assert list(panel["a"].columns) == ["price", "y"]


def test_column_names_are_configurable():
    frame = long_frame().rename(columns={"unique_id": "store", "ds": "date", "y": "sales"})
    panel = to_panel(frame, id_column="store", time_column="date", value_column="sales")
    assert panel["a"].name == "sales" and len(panel["b"]) == 4


def test_dict_multiindex_and_list_give_the_same_panel():
    panel = to_panel(long_frame())
    mi = pd.concat(panel, names=["unique_id", "ds"]).to_frame("y")
    from_mi = to_panel(mi)
    from_dict = to_panel(dict(panel))
    for key in panel:
        pd.testing.assert_series_equal(from_mi[key], panel[key], check_names=False)
        pd.testing.assert_series_equal(from_dict[key], panel[key])


def test_list_of_series_uses_names_or_positions():
    a, b = pd.Series([1.0, 2.0, 3.0], name="a"), pd.Series([4.0, 5.0], name="b")
    assert list(to_panel([a, b])) == ["a", "b"]
    assert list(to_panel([a.rename(None), b])) == [0, 1]


def test_single_series_is_refused_naming_the_long_format():
    with pytest.raises(InputError, match="long frame"):
        to_panel(pd.Series([1.0, 2.0, 3.0]))
    with pytest.raises(InputError, match="unique_id"):
        to_panel(pd.DataFrame({"y": [1.0, 2.0]}))


def test_bad_series_is_named():
    frame = long_frame()
    frame.loc[5, "y"] = np.nan
    with pytest.raises(InputError, match="series 'b'"):
        to_panel(frame)
    dup = pd.concat([long_frame(), long_frame().iloc[[0]]])
    with pytest.raises(InputError, match="series 'a'.*duplicate"):
        to_panel(dup)


def test_missing_value_column_is_named():
    with pytest.raises(InputError, match="no column 'sales'"):
        to_panel(long_frame(), value_column="sales")


def test_csv_path_reads_a_long_file(tmp_path):
    path = tmp_path / "panel.csv"
    long_frame().to_csv(path, index=False)
    panel = to_panel(path)
    assert panel["b"].tolist() == [10.0, 20.0, 30.0, 40.0]
    assert isinstance(panel["a"].index, pd.PeriodIndex)


def test_to_long_round_trips():
    panel = to_panel(long_frame())
    long = to_long(panel)
    assert list(long.columns) == ["unique_id", "ds", "y"]
    back = to_panel(long.assign(ds=long["ds"].astype(str)))
    for key in panel:
        pd.testing.assert_series_equal(back[key], panel[key])


def test_calendar_features_follow_the_frequency():
    monthly = calendar_features(pd.period_range("2000-01", periods=13, freq="M"))
    assert list(monthly.columns) == ["month_sin", "month_cos"]
    # January and the next January sit at the same point of the circle, July opposite
    assert np.allclose(monthly.iloc[0], monthly.iloc[12]) and np.isclose(monthly["month_cos"].iloc[6], -1.0)
    daily = calendar_features(pd.date_range("2021-01-04", periods=8, freq="D"))
    assert list(daily.columns) == ["month_sin", "month_cos", "dow_sin", "dow_cos"]
    assert np.allclose(daily.iloc[0], daily.iloc[7][["month_sin", "month_cos", "dow_sin", "dow_cos"]])
    hourly = calendar_features(pd.date_range("2021-01-04", periods=3, freq="h"))
    assert {"hour_sin", "hour_cos", "dow_sin"} <= set(hourly.columns)


def test_calendar_features_refuse_integer_and_yearly_indexes():
    with pytest.raises(InputError, match="DatetimeIndex"):
        calendar_features(pd.RangeIndex(10))
    with pytest.raises(InputError, match="finer than yearly"):
        calendar_features(pd.period_range("2000", periods=5, freq="Y"))
