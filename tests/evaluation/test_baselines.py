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
