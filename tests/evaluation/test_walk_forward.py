import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

import lstmcast
from lstmcast.errors import InputError
from lstmcast.evaluation import BASELINES, Drift, MeanForecaster, Persistence, SeasonalNaive, score_all
from lstmcast.evaluation.walk_forward import WalkForwardResult, walk_forward

FILES = Path(lstmcast.__file__).parent / "data" / "files"


def _load(name: str, csv: str) -> pd.Series:
    try:
        from lstmcast.data.datasets import load
    except ImportError:  # datasets.py is not written yet: read the bundled CSV the same way
        series = pd.read_csv(FILES / csv, index_col=0).iloc[:, -1].astype(float)
        series.index = pd.PeriodIndex(series.index, freq="M")
        return series
    return load(name)


@pytest.fixture(scope="module")
def shampoo():
    return _load("shampoo", "shampoo-sales.csv")


@pytest.fixture(scope="module")
def airline():
    return _load("airline", "airline-passengers.csv")


@pytest.fixture
def tiny():
    return pd.Series([1.0, 2.0, 4.0, 7.0, 11.0, 16.0], index=pd.period_range("2000-01", periods=6, freq="M"))


# Statsforecast's one-step walk-forward figures (refit every step) and the seed's persistence RMSE.
@pytest.mark.parametrize(
    ("data", "test_size", "baseline", "expected"),
    [
        ("shampoo", 12, "persistence", 136.761),
        ("shampoo", 12, "seasonal-naive", 240.473),
        ("airline", 48, "persistence", 48.041),
        ("airline", 48, "seasonal-naive", 41.854),
    ],
)
@pytest.mark.parametrize("refit", [None, 1])
def test_baselines_reproduce_the_published_rmse(request, data, test_size, baseline, expected, refit):
    series = request.getfixturevalue(data)
    result = walk_forward(BASELINES[baseline](), series, test_size, refit=refit, baselines=[baseline])
    assert round(result.rmse, 3) == expected
    assert result.baselines[baseline]["rmse"] == result.rmse


def test_persistence_is_the_same_with_and_without_refitting(shampoo):
    once = walk_forward(Persistence(), shampoo, 12)
    every_step = walk_forward(Persistence(), shampoo, 12, refit=1)
    pd.testing.assert_series_equal(once.predictions, every_step.predictions)
    assert once.metrics == every_step.metrics


def test_predictions_are_dated_with_the_test_part(shampoo):
    result = walk_forward(Drift(), shampoo, 12, baselines=("persistence", "mean"))
    pd.testing.assert_series_equal(result.actual, shampoo.iloc[-12:])
    assert str(result.predictions.index[0]) == "1993-01"
    for predictions in [result.predictions, *result.baseline_predictions.values()]:
        assert predictions.index.equals(result.actual.index)
    np.testing.assert_allclose(result.baseline_predictions["persistence"], shampoo.iloc[-13:-1])


def test_metrics_are_in_original_units_against_the_initial_training_part(shampoo):
    result = walk_forward(Persistence(), shampoo, 12, m=1)
    expected = score_all(shampoo.iloc[-12:], shampoo.iloc[-13:-1], shampoo.iloc[:-12], m=1)
    assert result.metrics == pytest.approx(expected)
    assert set(result.metrics) == {"rmse", "mae", "mape", "smape", "mase"}


def test_hand_checked_baselines_on_a_tiny_series(tiny):
    result = walk_forward(Persistence(), tiny, 3, baselines=("seasonal-naive", "mean", "drift"), m=2)
    got = {name: p.tolist() for name, p in result.baseline_predictions.items()}
    assert got["seasonal-naive"] == [2.0, 4.0, 7.0]  # two steps back
    assert got["mean"] == [7 / 3] * 3  # mean of the training part 1, 2, 4
    assert got["drift"] == [4 + 1.5, 7 + 1.5, 11 + 1.5]  # slope (4 - 1) / 2
    assert result.baselines["mean"]["mae"] == pytest.approx(np.mean([7 - 7 / 3, 11 - 7 / 3, 16 - 7 / 3]))


def test_refit_blocks_refit_on_all_data_before_each_block(tiny):
    result = walk_forward(MeanForecaster(), tiny, 4, refit=3, baselines=())
    # block 1 (positions 2-4) from the mean of 1, 2; block 2 (position 5) from the mean of the first five
    np.testing.assert_allclose(result.predictions, [1.5, 1.5, 1.5, 5.0])


def test_baselines_follow_the_same_refit_scheme(tiny):
    result = walk_forward(Persistence(), tiny, 4, refit=1, baselines=("mean",))
    np.testing.assert_allclose(result.baseline_predictions["mean"], [1.5, 7 / 3, 14 / 4, 5.0])


FITS: list[int] = []


class Spy(BaseEstimator):
    """Persistence that logs the length of every training part it is fitted on."""

    def __init__(self, needs=1):
        self.needs = needs

    def min_train_size(self):
        return self.needs

    def fit(self, y):
        FITS.append(len(y))
        self.last_ = float(y.iloc[-1])
        return self

    def predict(self, y, start):
        return y.to_numpy()[start - 1 : -1]


def test_the_callers_forecaster_is_never_fitted(tiny):
    FITS.clear()
    spy, persistence = Spy(), Persistence()
    walk_forward(spy, tiny, 4, refit=3)
    walk_forward(persistence, tiny, 2)
    assert not hasattr(spy, "last_") and not hasattr(persistence, "y_")
    assert FITS == [2, 5]  # fresh clones before each block of 3 test positions


def test_one_fit_and_one_predict_call_without_refit(tiny):
    FITS.clear()
    walk_forward(Spy(), tiny, 4)
    assert FITS == [2]


class FakeEnsemble(BaseEstimator):
    """Persistence plus a fixed offset per member: predict returns (members, n)."""

    def __init__(self, offsets=(0.0, 1.0, -3.0)):
        self.offsets = offsets

    def fit(self, y):
        self.y_ = y
        return self

    def predict(self, y, start):
        return y.to_numpy()[start - 1 : -1] + np.asarray(self.offsets)[:, None]


@pytest.mark.parametrize("refit", [None, 2])
def test_an_ensemble_gives_mean_predictions_and_per_member_metrics(shampoo, refit):
    result = walk_forward(FakeEnsemble(), shampoo, 12, refit=refit)
    persistence = shampoo.iloc[-13:-1].to_numpy()
    np.testing.assert_allclose(result.predictions, persistence - 2 / 3)
    assert result.member_predictions.shape == (3, 12)
    np.testing.assert_allclose(result.member_predictions[0], persistence)
    assert result.member_metrics["rmse"].shape == (3,)
    assert result.member_metrics["rmse"][0] == pytest.approx(result.baselines["persistence"]["rmse"])
    for k, offset in enumerate([0.0, 1.0, -3.0]):
        solo = walk_forward(FakeEnsemble(offsets=(offset,)), shampoo, 12).member_metrics
        assert {name: v[0] for name, v in solo.items()} == pytest.approx(
            {name: v[k] for name, v in result.member_metrics.items()}
        )


def test_a_single_model_has_no_member_fields(shampoo):
    result = walk_forward(Persistence(), shampoo, 12)
    assert result.member_predictions is None and result.member_metrics is None


def test_a_short_series_names_what_the_forecaster_needs():
    series = pd.Series(np.arange(1.0, 21.0))
    with pytest.raises(InputError, match="the series has 20 observations; test_size=12 leaves 8 for training but the forecaster needs 13"):
        walk_forward(Spy(needs=13), series, 12)
    with pytest.raises(InputError, match="leaves 8 for training but the seasonal-naive baseline needs 12"):
        walk_forward(Persistence(), series, 12, baselines=("seasonal-naive",), m=12)
    # an integer index has no season: m=None infers 1, which 8 observations satisfy
    assert walk_forward(Persistence(), series, 12, baselines=("seasonal-naive",)).m == 1


@pytest.mark.parametrize("test_size", [0, -1, 36, 1.0, 1.5, "12"])
def test_bad_test_sizes_are_input_errors(shampoo, test_size):
    with pytest.raises(InputError, match="test_size"):
        walk_forward(Persistence(), shampoo, test_size)


def test_a_fractional_test_size_is_resolved(shampoo):
    assert len(walk_forward(Persistence(), shampoo, 0.25).actual) == 9


@pytest.mark.parametrize("refit", [-1, 1.5, "2"])
def test_bad_refit_values_are_input_errors(tiny, refit):
    with pytest.raises(InputError, match="refit"):
        walk_forward(Persistence(), tiny, 2, refit=refit)


@pytest.mark.parametrize("refit", [0, False])
def test_refit_zero_or_false_means_one_fit(tiny, refit):
    FITS.clear()
    walk_forward(Spy(), tiny, 4, refit=refit)
    assert FITS == [2]


def test_unknown_baselines_are_input_errors(tiny):
    with pytest.raises(InputError, match="unknown baseline.*choose from persistence, seasonal-naive, mean, drift"):
        walk_forward(Persistence(), tiny, 2, baselines=("naive",))


def test_a_single_baseline_name_is_not_split_into_letters(tiny):
    result = walk_forward(Persistence(), tiny, 2, baselines="drift")
    assert list(result.baselines) == ["drift"]


def test_a_badly_shaped_prediction_is_an_input_error(tiny):
    class Short(Spy):
        def predict(self, y, start):
            return np.zeros(2)

    with pytest.raises(InputError, match=r"returned shape \(2,\) for 3 test positions"):
        walk_forward(Short(), tiny, 3)


def test_undefined_metrics_are_none():
    series = pd.Series([3.0, 3.0, 3.0, 0.0, 5.0])
    result = walk_forward(Persistence(), series, 2, m=1)
    assert result.metrics["mape"] is None  # a zero in the test part
    assert result.metrics["mase"] is None  # a constant training part
    assert result.metrics["rmse"] == pytest.approx(np.sqrt((9 + 25) / 2))


def test_mase_is_none_when_the_training_part_is_shorter_than_a_season(tiny):
    assert walk_forward(Persistence(), tiny, 2).metrics["mase"] is None


def test_a_dataframe_is_scored_on_its_last_column():
    frame = pd.DataFrame({"x": np.arange(6.0), "target": [1.0, 2.0, 4.0, 7.0, 11.0, 16.0]})
    result = walk_forward(Persistence(), frame, 2)
    assert result.actual.tolist() == [11.0, 16.0] and result.predictions.tolist() == [7.0, 11.0]


def test_the_result_is_frozen(tiny):
    result = walk_forward(Persistence(), tiny, 2)
    assert isinstance(result, WalkForwardResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.metrics = {}
    assert result.rmse == result.metrics["rmse"]


def test_a_non_estimator_forecaster_is_copied_not_touched(tiny):
    class Plain:
        fitted = False

        def fit(self, y):
            self.fitted = True
            return self

        def predict(self, y, start):
            return y.to_numpy()[start - 1 : -1]

    plain = Plain()
    walk_forward(plain, tiny, 2, refit=1)
    assert plain.fitted is False


def test_seasonal_naive_uses_the_season_length_m(tiny):
    result = walk_forward(SeasonalNaive(m=3), tiny, 3, m=3, baselines=("seasonal-naive",))
    assert result.predictions.tolist() == result.baseline_predictions["seasonal-naive"].tolist() == [1.0, 2.0, 4.0]


# --- multi-horizon walk-forward -------------------------------------------------------------------
LOG: list[tuple[str, int]] = []


class HistorySpy(BaseEstimator):
    """Persistence over the protocol's forecast(horizon, y=): logs fits and forecast origins in LOG."""

    def fit(self, y):
        LOG.append(("fit", len(y)))
        return self

    def forecast(self, horizon, y=None):
        LOG.append(("forecast", len(y)))
        return pd.Series(np.full(horizon, y.iloc[-1]))


@pytest.fixture
def ramp():
    return pd.Series(np.arange(20.0) ** 1.5, index=pd.period_range("2000-01", periods=20, freq="M"), name="y")


def test_origins_advance_by_stride_and_the_last_keep_the_steps_that_fit(ramp):
    result = walk_forward(Persistence(), ramp, 8, horizon=3, stride=2, baselines=())
    folds = result.folds
    assert list(folds.columns) == ["origin", "step", "time", "actual", "forecast"]
    assert folds.groupby("origin")["step"].max().to_dict() == {12: 3, 14: 3, 16: 3, 18: 2}
    position = folds["origin"] + folds["step"] - 1
    assert (folds["time"] == ramp.index[position]).all()
    np.testing.assert_allclose(folds["actual"], ramp.to_numpy()[position])
    np.testing.assert_allclose(folds["forecast"], ramp.to_numpy()[folds["origin"] - 1])  # persistence
    assert (result.horizon, result.stride) == (3, 2)


def test_hand_checked_persistence_by_step(tiny):
    # origins 3, 4, 5 forecast 4, 7, 11: step-1 errors 3, 4, 5; step-2 errors 7, 9
    result = walk_forward(Persistence(), tiny, 3, horizon=2, baselines=())
    by_step = result.by_step
    assert by_step.index.tolist() == [1, 2] and by_step["n"].tolist() == [3, 2]
    np.testing.assert_allclose(by_step["rmse"], [np.sqrt(50 / 3), np.sqrt(65)])
    np.testing.assert_allclose(by_step["mae"], [4.0, 8.0])
    assert result.rmse == pytest.approx(6.0)  # every forecast pooled: sqrt(180 / 5)
    assert result.predictions.tolist() == [4.0, 7.0, 11.0]  # the shortest lead per test time


def test_a_stride_longer_than_the_horizon_leaves_gaps(ramp):
    result = walk_forward(Persistence(), ramp, 8, horizon=1, stride=3, baselines=())
    assert result.folds["origin"].tolist() == [12, 15, 18]
    assert result.predictions.isna().tolist() == [False, True, True, False, True, True, False, True]


def test_refit_fits_a_fresh_clone_every_k_origins_on_the_expanding_history(ramp):
    LOG.clear()
    walk_forward(HistorySpy(), ramp, 8, horizon=2, stride=2, refit=2, baselines=())
    assert LOG == [
        ("fit", 12), ("forecast", 12), ("forecast", 14), ("fit", 16), ("forecast", 16), ("forecast", 18),
    ]
    LOG.clear()
    walk_forward(HistorySpy(), ramp, 8, horizon=2, stride=3, baselines=())
    assert LOG == [("fit", 12), ("forecast", 12), ("forecast", 15), ("forecast", 18)]


def test_baselines_run_through_the_same_folds(ramp):
    result = walk_forward(Persistence(), ramp, 8, horizon=3, stride=2, baselines=("persistence", "drift"))
    pd.testing.assert_frame_equal(result.baseline_folds["persistence"], result.folds)
    assert result.baselines["persistence"] == result.metrics
    drift = result.baseline_folds["drift"]
    assert drift[["origin", "step"]].equals(result.folds[["origin", "step"]])
    history = ramp.to_numpy()
    slope = (history[drift["origin"] - 1] - history[0]) / (drift["origin"] - 1)  # from each origin's history
    np.testing.assert_allclose(drift["forecast"], history[drift["origin"] - 1] + slope * drift["step"])
    assert result.baseline_by_step["drift"]["n"].tolist() == [4, 4, 3]


def test_horizon_one_stride_one_is_the_one_step_scheme_with_a_folds_table(shampoo):
    result = walk_forward(Drift(), shampoo, 12, baselines=("mean",))
    np.testing.assert_allclose(result.folds["forecast"], result.predictions)
    assert result.folds["origin"].tolist() == list(range(24, 36)) and set(result.folds["step"]) == {1}
    assert result.by_step.loc[1, "rmse"] == pytest.approx(result.rmse)
    assert result.intervals == {} and result.levels == ()


def test_levels_add_bounds_coverage_width_and_winkler(tiny):
    result = walk_forward(Persistence(), tiny, 3, horizon=2, level=[95, 80], baselines=("drift",))
    assert list(result.folds.columns)[4:] == ["forecast", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert list(result.by_step.columns) == [
        "n", "rmse", "mae", "coverage_80", "width_80", "winkler_80", "coverage_95", "width_95", "winkler_95",
    ]
    assert list(result.intervals) == [80, 95] and result.levels == (80, 95)
    folds = result.folds
    inside = (folds["actual"] >= folds["lower_80"]) & (folds["actual"] <= folds["upper_80"])
    assert result.intervals[80]["coverage"] == pytest.approx(100 * inside.mean())
    assert result.intervals[80]["width"] == pytest.approx((folds["upper_80"] - folds["lower_80"]).mean())
    assert result.intervals[95]["width"] > result.intervals[80]["width"]
    assert "lower_95" in result.baseline_folds["drift"]


def test_persistence_intervals_cover_a_random_walk_near_nominal():
    rng = np.random.default_rng(11)
    walk = pd.Series(np.cumsum(rng.normal(size=500)), index=pd.RangeIndex(500))
    result = walk_forward(Persistence(), walk, 200, horizon=3, stride=2, level=[80, 95], baselines=())
    for level, summary in result.intervals.items():
        assert abs(summary["coverage"] - level) < 6
    widths = result.by_step["width_80"].to_numpy()
    assert (np.diff(widths) > 0).all()  # the random walk's bands widen with the step


def test_the_season_length_is_inferred_from_the_index():
    quarterly = pd.Series(np.arange(1.0, 21.0), index=pd.period_range("2000Q1", periods=20, freq="Q"))
    result = walk_forward(Persistence(), quarterly, 4, baselines=("seasonal-naive",))
    assert result.m == 4
    np.testing.assert_allclose(result.baseline_predictions["seasonal-naive"], quarterly.iloc[12:16])
    assert walk_forward(Persistence(), quarterly, 4, m=2).m == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon": 0}, "horizon must be >= 1; got 0"),
        ({"horizon": 1.5}, "horizon must be an integer"),
        ({"stride": 0}, "stride must be >= 1; got 0"),
        ({"level": [0]}, r"strictly between 0 and 100.*got 0"),
        ({"level": [80, 100]}, r"strictly between 0 and 100.*got 100"),
        ({"horizon": 4}, r"the test part has 3 observations \(test_size=3\) but horizon=4"),
    ],
)
def test_bad_multi_horizon_settings_are_input_errors(tiny, kwargs, message):
    with pytest.raises(InputError, match=message):
        walk_forward(Persistence(), tiny, 3, **kwargs)


def test_a_forecaster_without_intervals_is_told_so(tiny):
    with pytest.raises(InputError, match=r"HistorySpy\(\) does not support prediction intervals \(level=\)"):
        walk_forward(HistorySpy(), tiny, 3, horizon=2, level=[80], baselines=())
    with pytest.raises(InputError, match=r"Spy\(\) has no forecast\(horizon, y=\.\.\.\) method"):
        walk_forward(Spy(), tiny, 3, horizon=2, baselines=())

    class OldProtocol(Spy):
        def forecast(self, horizon):
            return pd.Series(np.zeros(horizon))

    with pytest.raises(InputError, match=r"OldProtocol\(\) does not support forecasts from a given history \(y=\)"):
        walk_forward(OldProtocol(), tiny, 3, horizon=2, baselines=())


def test_a_forecast_of_the_wrong_length_is_an_input_error(tiny):
    class Short(HistorySpy):
        def forecast(self, horizon, y=None, level=None):
            return pd.DataFrame({"forecast": np.zeros(horizon - 1)})

    with pytest.raises(InputError, match=r"forecast\(2, y=\.\.\.\) must return 2 values; got 1 rows"):
        walk_forward(Short(), tiny, 3, horizon=2, baselines=())
