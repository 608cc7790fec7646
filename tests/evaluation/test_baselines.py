import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from lstmcast.errors import InputError, NotFittedError
from lstmcast.evaluation.baselines import (
    BASELINES,
    Drift,
    MeanForecaster,
    Persistence,
    SeasonalNaive,
    target_column,
)

TINY = [1.0, 2.0, 4.0, 7.0, 11.0, 16.0]


@pytest.fixture
def tiny():
    return pd.Series(TINY, index=pd.period_range("2000-01", periods=6, freq="M"), name="y")


def test_registry_names_the_four_baselines():
    assert BASELINES == {
        "persistence": Persistence,
        "seasonal-naive": SeasonalNaive,
        "mean": MeanForecaster,
        "drift": Drift,
    }


@pytest.mark.parametrize(
    ("model", "start", "expected"),
    [
        (Persistence(), 1, [1, 2, 4, 7, 11]),
        (Persistence(), 4, [7, 11]),
        (SeasonalNaive(m=2), 2, [1, 2, 4, 7]),
        (SeasonalNaive(m=3), 5, [4]),
        (MeanForecaster(), 3, [5, 5, 5]),  # mean of the fitted 1, 2, 4, 7, 11
        (Drift(), 3, [4 + 2.5, 7 + 2.5, 11 + 2.5]),  # slope (11 - 1) / 4 over the fitted part
    ],
)
def test_predict_is_one_step_ahead_from_true_values_with_the_fitted_parameters(tiny, model, start, expected):
    model.fit(tiny.iloc[:5])
    np.testing.assert_allclose(model.predict(tiny, start), expected)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (Persistence(), [16, 16, 16]),
        (SeasonalNaive(m=2), [11, 16, 11]),
        (MeanForecaster(), [41 / 6] * 3),
        (Drift(), [19, 22, 25]),  # slope (16 - 1) / 5
    ],
)
def test_forecast_extends_the_fitted_data(tiny, model, expected):
    forecast = model.fit(tiny).forecast(3)
    np.testing.assert_allclose(forecast.to_numpy(), expected)
    assert forecast.index.astype(str).tolist() == ["2000-07", "2000-08", "2000-09"]
    assert forecast.name == "y"


def test_forecast_index_follows_dates_and_integer_positions():
    dated = pd.Series(TINY, index=pd.date_range("2000-01-01", periods=6, freq="D"))
    assert Persistence().fit(dated).forecast(2).index.strftime("%m-%d").tolist() == ["01-07", "01-08"]
    plain = Persistence().fit(np.array(TINY)).forecast(2)
    assert plain.index.tolist() == [6, 7]


def test_predict_does_not_refit(tiny):
    model = MeanForecaster().fit(tiny.iloc[:2])
    model.predict(tiny, 2)
    assert model.mean_ == 1.5 and len(model.y_) == 2


@pytest.mark.parametrize("model", [Persistence(), SeasonalNaive(m=2), MeanForecaster(), Drift()])
def test_use_before_fit_is_a_not_fitted_error(tiny, model):
    with pytest.raises(NotFittedError, match="call fit"):
        model.forecast(1)
    with pytest.raises(NotFittedError):
        model.predict(tiny, 3)


@pytest.mark.parametrize("horizon", [0, -1, 1.5])
def test_bad_horizons_are_input_errors(tiny, horizon):
    with pytest.raises(InputError, match="horizon"):
        Persistence().fit(tiny).forecast(horizon)


@pytest.mark.parametrize(("model", "start"), [(Persistence(), 0), (SeasonalNaive(m=3), 2), (Drift(), 6), (MeanForecaster(), 1.0)])
def test_bad_starts_are_input_errors(tiny, model, start):
    model.fit(tiny)
    with pytest.raises(InputError, match="start must be an integer"):
        model.predict(tiny, start)


def test_fit_needs_enough_observations():
    with pytest.raises(InputError, match=r"SeasonalNaive\(m=4\) needs at least 4 observations"):
        SeasonalNaive(m=4).fit([1.0, 2.0, 3.0])
    with pytest.raises(InputError, match="needs at least 2"):
        Drift().fit([1.0])
    with pytest.raises(InputError, match="m must be"):
        SeasonalNaive(m=0).fit(TINY)
    with pytest.raises(InputError, match="NaN"):
        Persistence().fit([1.0, np.nan])


def test_min_train_size_says_what_fit_needs():
    # SeasonalNaive() infers its season at fit, so before fit it can only promise 1
    assert [b().min_train_size() for b in BASELINES.values()] == [1, 1, 1, 2]
    assert SeasonalNaive(m=12).min_train_size() == 12


def test_constructors_only_store_params_so_clones_are_fresh(tiny):
    model = SeasonalNaive(m=3).fit(tiny)
    copy = clone(model)
    assert copy.get_params() == {"m": 3}
    assert not hasattr(copy, "y_")
    assert SeasonalNaive(m="nonsense").get_params() == {"m": "nonsense"}


def test_a_dataframe_is_forecast_by_its_last_column():
    frame = pd.DataFrame({"x": [0.0, 0.0, 0.0], "target": [1.0, 2.0, 3.0]})
    assert Persistence().fit(frame).forecast(1).tolist() == [3.0]
    assert target_column(frame).name == "target"


# --- forecast(horizon, y=, level=) and season inference -------------------------------------------
Z80, Z95 = 1.2815515655446004, 1.959963984540054  # standard normal quantiles at 0.9 and 0.975


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (Persistence(), [16, 16, 16]),
        (SeasonalNaive(m=2), [11, 16, 11]),
        (MeanForecaster(), [41 / 6] * 3),  # statistics come from the history given, not the fit
        (Drift(), [19, 22, 25]),
    ],
)
def test_forecast_after_a_given_history_without_refitting(tiny, model, expected):
    model.fit(tiny.iloc[:4])
    forecast = model.forecast(3, y=tiny)
    np.testing.assert_allclose(forecast.to_numpy(), expected)
    assert forecast.index.astype(str).tolist() == ["2000-07", "2000-08", "2000-09"]
    assert len(model.y_) == 4  # the fitted data are untouched


def test_a_history_too_short_for_the_baseline_is_an_input_error(tiny):
    with pytest.raises(InputError, match=r"SeasonalNaive\(m=3\) needs a history of at least 3 observations.*y has 2"):
        SeasonalNaive(m=3).fit(tiny).forecast(1, y=tiny.iloc[:2])


def test_levels_give_a_frame_of_forecast_and_bounds(tiny):
    frame = Persistence().fit(tiny).forecast(2, level=[95, 80])
    assert list(frame.columns) == ["forecast", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert frame.index.astype(str).tolist() == ["2000-07", "2000-08"]
    # one-step residuals 1, 2, 3, 4, 5: sigma = sqrt(55 / 5); the h-step spread grows as sqrt(h)
    sd = np.sqrt(11.0) * np.sqrt([1.0, 2.0])
    np.testing.assert_allclose(frame["forecast"], [16, 16])
    np.testing.assert_allclose(frame["upper_80"], 16 + Z80 * sd)
    np.testing.assert_allclose(frame["lower_95"], 16 - Z95 * sd)


@pytest.mark.parametrize(
    ("model", "sd"),
    [
        # residuals from the mean 41/6, one parameter estimated; the mean's own error adds 1/T
        (MeanForecaster(), np.std(TINY, ddof=1) * np.sqrt(1 + 1 / 6) * np.ones(3)),
        # residuals 1..5 minus the slope 3: -2..2, sum of squares 10 over 5 - 1
        (Drift(), np.sqrt(10 / 4) * np.sqrt(np.arange(1, 4) * (1 + np.arange(1, 4) / 6))),
        # lag-2 residuals 3, 5, 7, 9; the third step reaches back two seasons
        (SeasonalNaive(m=2), np.sqrt((9 + 25 + 49 + 81) / 4) * np.sqrt([1.0, 1.0, 2.0])),
    ],
)
def test_interval_spread_follows_each_method(tiny, model, sd):
    frame = model.fit(tiny).forecast(3, level=80)
    np.testing.assert_allclose(frame["upper_80"] - frame["forecast"], Z80 * sd)
    np.testing.assert_allclose(frame["forecast"] - frame["lower_80"], Z80 * sd)


def test_intervals_from_a_given_history_use_its_residuals(tiny):
    model = Persistence().fit(tiny.iloc[:3])
    frame = model.forecast(1, y=tiny.iloc[2:], level=[80])  # residuals 3, 4, 5
    assert frame["upper_80"].iloc[0] == pytest.approx(16 + Z80 * np.sqrt(50 / 3))


def test_intervals_need_residuals(tiny):
    with pytest.raises(InputError, match="needs more than 1 observations of history for prediction intervals"):
        Persistence().fit(tiny.iloc[:1]).forecast(1, level=[80])
    with pytest.raises(InputError, match="level"):
        Persistence().fit(tiny).forecast(1, level=[80, 100])


@pytest.mark.parametrize(
    ("index", "m"),
    [
        (pd.period_range("2000-01", periods=30, freq="M"), 12),
        (pd.period_range("2000Q1", periods=30, freq="Q"), 4),
        (pd.date_range("2000-01-01", periods=30, freq="D"), 7),
        (pd.RangeIndex(30), 1),
    ],
)
def test_seasonal_naive_infers_its_season_from_the_index_at_fit(index, m):
    series = pd.Series(np.arange(30.0), index=index)
    model = SeasonalNaive().fit(series)
    assert model.m_ == m and model.m is None
    np.testing.assert_allclose(model.forecast(1), [series.iloc[-m]])
    assert clone(model).get_params() == {"m": None}
    assert SeasonalNaive(m=3).fit(series).m_ == 3  # an explicit m wins


def test_an_inferred_season_longer_than_the_data_is_an_input_error():
    short = pd.Series(np.arange(5.0), index=pd.period_range("2000-01", periods=5, freq="M"))
    with pytest.raises(InputError, match=r"needs at least 12 observations to fit; y has 5"):
        SeasonalNaive().fit(short)
