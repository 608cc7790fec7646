"""Forecaster.forecast_origins: many origins of one series in one pass give what forecast(y=y[:origin]) gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lstmcast
from lstmcast.data import datasets
from lstmcast.data.skeleton import (
    BoxCox,
    Chain,
    ExpSmoothing,
    LevelAnchor,
    Log,
    Mean,
    SeasonalDifference,
    SeasonalIndices,
)
from lstmcast.errors import InputError, TrainingDivergedError
from lstmcast.forecaster import Forecaster

RTOL = 1e-10  # the NumPy engine runs one window or many with the same arithmetic


@pytest.fixture(scope="module")
def airline() -> pd.Series:
    return datasets.load("airline")


def _one_by_one(f: Forecaster, y, origins, horizon: int) -> np.ndarray:
    """Return (members, origins, horizon) from one forecast(y=y[:origin]) per origin."""
    return np.stack([np.asarray(f.forecast(horizon, y=y.iloc[:o], return_members=True)).T for o in origins], axis=1)


def _assert_matches_one_by_one(f: Forecaster, y, origins, horizon: int, rtol: float = RTOL) -> None:
    members = f.forecast_origins(y, origins, horizon, return_members=True)
    expected = _one_by_one(f, y, origins, horizon)
    assert members.shape == (f.network_.members, len(origins), horizon)
    np.testing.assert_allclose(members, expected, rtol=rtol, atol=0)
    np.testing.assert_allclose(f.forecast_origins(y, origins, horizon), expected.mean(axis=0), rtol=rtol, atol=0)


@pytest.fixture(scope="module")
def auto(airline) -> Forecaster:
    # skeleton_weight given: no second fit; 0.25 keeps both the network's and the skeleton's share
    return Forecaster(model="auto", epochs=2, members=2, seed=0, skeleton_weight=0.25).fit(airline.iloc[:96])


# every kind of skeleton the chooser builds: power, seasonal treatment, level anchor or stationary mean
SKELETONS = {
    "log-ses": lambda: Chain([Log(), LevelAnchor("ses")]),
    "boxcox-holt": lambda: Chain([BoxCox(season_length=12), LevelAnchor("holt")]),
    "log-stl-holt": lambda: Chain([Log(), SeasonalIndices(12), LevelAnchor("holt")]),
    "log-sdiff-ses": lambda: Chain([Log(), SeasonalDifference(12), LevelAnchor("ses")]),
    "sdiff-damped": lambda: Chain([SeasonalDifference(12), ExpSmoothing("damped")]),
    "log-holt-winters-damped": lambda: Chain([Log(), ExpSmoothing("damped", 12)]),
    "boxcox-holt-winters": lambda: Chain([BoxCox(season_length=12), ExpSmoothing("none", 12)]),
    "stl-mean": lambda: Chain([SeasonalIndices(12), Mean()]),
    "mean": lambda: Chain([Mean()]),
}


@pytest.mark.parametrize("name", SKELETONS)
def test_auto_with_every_kind_of_skeleton_matches_forecasting_from_each_origin(auto, airline, name):
    state = auto.fitted_state()
    state["skeleton"] = SKELETONS[name]().fit(airline.to_numpy()[:96]).state()
    f = Forecaster.from_fitted_state(auto.get_params(), state)
    _assert_matches_one_by_one(f, airline, [96, 97, 130, 110, 96], 14)  # repeats and any order


def test_auto_with_its_chosen_skeleton_matches_and_a_history_starting_mid_season_keeps_its_phase(auto, airline):
    _assert_matches_one_by_one(auto, airline, range(96, 120), 12)
    _assert_matches_one_by_one(auto, airline.iloc[5:], [91, 100, 139], 13)  # seasonal positions shifted by 5


@pytest.mark.parametrize("difference", [0, 1, 2])
@pytest.mark.parametrize("steps_out, horizon", [(1, 5), (4, 3), (4, 9)])  # recursive, direct, recursive by blocks
def test_plain_architectures_match_for_any_difference_direct_and_recursive(airline, difference, steps_out, horizon):
    f = Forecaster(model="vanilla", look_back=6, steps_out=steps_out, units=4, epochs=1, members=2, seed=1,
                   difference=difference).fit(airline.iloc[:100])
    _assert_matches_one_by_one(f, airline, [100, 101, 120, 144 - horizon], horizon)


def test_lags_as_features_and_stacked_layers_match(airline):
    f = Forecaster(model="stacked", look_back=5, framing="features", units=4, epochs=1, seed=2,
                   difference=1).fit(airline.iloc[:100])
    _assert_matches_one_by_one(f, airline, range(100, 110), 7)


def test_a_torch_kernel_network_matches_to_float32_rounding(airline):
    # cnn-lstm runs on torch's kernels, whose float32 sums may depend on the batch size
    f = Forecaster(model="cnn-lstm", look_back=8, epochs=1, seed=3, difference=1).fit(airline.iloc[:100])
    _assert_matches_one_by_one(f, airline, range(100, 106), 4, rtol=1e-5)


def test_frames_match_with_every_column_a_target_and_with_covariates_forecast_directly():
    rng = np.random.default_rng(0)
    index = pd.period_range("2000-01", periods=80, freq="M")
    frame = pd.DataFrame({"a": 50 + rng.normal(size=80).cumsum(), "b": 20 + rng.normal(size=80).cumsum()}, index=index)
    parallel = Forecaster(look_back=4, units=4, epochs=1, seed=0, target="all", difference=1).fit(frame.iloc[:60])
    got = parallel.forecast_origins(frame, [60, 70], 3)
    assert got.shape == (2, 3, 2)
    for i, o in enumerate([60, 70]):
        np.testing.assert_allclose(got[i], parallel.forecast(3, y=frame.iloc[:o]).to_numpy(), rtol=RTOL)
    covariate = Forecaster(look_back=4, steps_out=3, units=4, epochs=1, seed=0, members=2).fit(frame.iloc[:60])
    _assert_matches_one_by_one(covariate, frame, [60, 65, 77], 3)
    with pytest.raises(InputError, match="every input column"):
        covariate.forecast_origins(frame, [60], 4)


def test_a_stateful_network_replays_each_origins_history(airline):
    f = Forecaster(look_back=3, units=4, epochs=1, seed=0, stateful=True, batch_size=1).fit(airline.iloc[:60])
    _assert_matches_one_by_one(f, airline, [60, 64], 3)


@pytest.mark.slow  # loading a model file checks it for seconds
def test_a_model_file_forecasts_the_same_from_every_origin(auto, airline, tmp_path):
    loaded = lstmcast.load(lstmcast.save(auto, tmp_path / "auto.lstmcast"))
    np.testing.assert_allclose(loaded.forecast_origins(airline, range(96, 108), 12),
                               auto.forecast_origins(airline, range(96, 108), 12), rtol=RTOL)
    _assert_matches_one_by_one(loaded, airline, [96, 143], 12)


def test_absurd_forecasts_raise_divergence_for_the_first_origin_that_has_them(airline):
    f = Forecaster(look_back=4, units=4, epochs=1, seed=0).fit(airline.iloc[:100])
    run = f._run

    def exploding(X):  # windows whose newest value is high diverge
        out = run(X)
        out[np.asarray(X)[..., -1, 0] > 1.4] = 1e12
        return out

    f._run = exploding
    origins = list(range(100, 144))
    failing = []
    for o in origins:
        try:
            f.forecast(3, y=airline.iloc[:o])
        except TrainingDivergedError as exc:
            failing.append((o, str(exc)))
    assert failing and len(failing) < len(origins)  # the test exercises both outcomes
    with pytest.raises(TrainingDivergedError) as caught:
        f.forecast_origins(airline, origins, 3)
    assert str(caught.value) == failing[0][1]
    fine = [o for o in origins if o not in dict(failing)]
    assert f.forecast_origins(airline, fine, 3).shape == (len(fine), 3)


@pytest.mark.parametrize("origins, match", [
    ([], "non-empty list of integers"),
    ([100.5], "non-empty list of integers"),
    ([3], "origin 3 must leave at least"),
    ([145], "lie inside y"),
])
def test_origins_outside_the_series_or_not_integers_are_refused(airline, origins, match):
    f = Forecaster(look_back=4, units=4, epochs=1, seed=0).fit(airline.iloc[:100])
    with pytest.raises(InputError, match=match):
        f.forecast_origins(airline, origins, 3)


def test_panel_walk_forward_and_calibration_match_each_series_forecast_from_each_origin(monkeypatch):
    from sklearn.base import clone

    from lstmcast.panel import PanelForecaster, panel_walk_forward

    rng = np.random.default_rng(0)
    data = pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": pd.period_range("2000-01", periods=n, freq="M"),
                                    "y": 10 * (i + 1) + rng.normal(size=n).cumsum()})
                      for i, n in enumerate([40, 52])], ignore_index=True)
    pf = PanelForecaster(Forecaster(look_back=4, units=4, epochs=2, seed=0, difference=1, members=2))
    result = panel_walk_forward(pf, data, test_size=8, horizon=5, stride=1)
    twin = clone(pf)  # fitted on the same training parts: the same network
    panel = twin._panel(data)
    twin.fit({key: s.iloc[:-8] for key, s in panel.items()})
    for key, series in panel.items():
        expected = np.concatenate([twin.forecasters_[key].forecast(min(5, len(series) - o), y=series.iloc[:o])
                                   for o in range(len(series) - 8, len(series))])
        got = result.folds.loc[result.folds["unique_id"] == key, "forecast"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=RTOL)
    batched = twin.calibration(5, [80, 95])

    def per_origin(self, key, series, origins, horizon):
        return np.stack([self._forecast_one(key, series.iloc[:o], horizon, None).to_numpy() for o in origins])

    monkeypatch.setattr(PanelForecaster, "_forecast_origins", per_origin)
    twin.bands_ = None
    one_by_one = twin.calibration(5, [80, 95])
    for key in panel:
        for lv in (80, 95):
            np.testing.assert_allclose(batched.series[key].widths[lv], one_by_one.series[key].widths[lv], rtol=RTOL)


def test_recursive_forecast_equals_one_step_predictions_fed_back(airline):
    """An independent reference: the one-step path (predict), fed its own forecasts, one member."""
    history = airline.iloc[:-24]
    model = Forecaster(model="auto", members=1, epochs=5, seed=0).fit(history)
    values = list(history.to_numpy())
    for _ in range(6):
        index = pd.period_range(history.index[0], periods=len(values) + 1, freq=history.index.freq)
        y = pd.Series(values + [values[-1]], index=index)  # a placeholder, never an input of its own forecast
        values.append(float(np.ravel(model.predict(y, len(values)))[-1]))
    np.testing.assert_allclose(model.forecast(6).to_numpy(), values[-6:], rtol=1e-9)
    np.testing.assert_allclose(model.forecast_origins(airline, [len(history)], 6)[0], values[-6:], rtol=1e-9)
