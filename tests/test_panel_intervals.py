"""PanelForecaster intervals: one clone panel calibrated on every series' head, per-series conformal bands."""

import numpy as np
import pandas as pd
import pytest

from lstmcast.errors import InputError
from lstmcast.evaluation.conformal import PanelBands, naive_scale
from lstmcast.forecaster import Forecaster
from lstmcast.panel import PanelForecaster, panel_walk_forward
from test_panel import promo_series, seasonal_panel, small


def test_forecast_with_levels_gives_nested_bands_per_series_in_a_long_frame():
    pf = PanelForecaster(small()).fit(seasonal_panel())
    out = pf.forecast(3, level=[80, 95])
    assert list(out.columns) == ["unique_id", "ds", "forecast", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert (out["lower_95"] <= out["lower_80"]).all() and (out["lower_80"] < out["forecast"]).all()
    assert (out["forecast"] < out["upper_80"]).all() and (out["upper_80"] <= out["upper_95"]).all()
    np.testing.assert_allclose(out["forecast"], pf.forecast(3)["forecast"])  # the same point forecast
    # bands widen (never narrow) with the step, and each series has its own
    widths = (out["upper_80"] - out["lower_80"]).to_numpy().reshape(3, 3)
    assert (np.diff(widths, axis=1) >= -1e-12).all()
    assert len({round(w, 9) for w in widths[:, 0]}) == 3


def test_bands_are_calibrated_once_and_cached_on_the_panel(monkeypatch):
    pf = PanelForecaster(small()).fit(seasonal_panel())
    trained = []
    original = Forecaster.fit_windows
    monkeypatch.setattr(Forecaster, "fit_windows", lambda self, *a, **k: trained.append(1) or original(self, *a, **k))
    pf.forecast(3, level=[80])
    assert len(trained) == 1  # one clone panel, one global network for all series
    bands = pf.bands_
    assert isinstance(bands, PanelBands) and bands.horizon == 3 and set(bands.series) == {"s0", "s1", "s2"}
    pf.forecast(2, level=[80])  # a shorter horizon and the same level: no recalibration
    assert pf.bands_ is bands and len(trained) == 1
    pf.forecast(2, level=[95])  # a new level: calibrated again, keeping the old one
    assert len(trained) == 2 and set(pf.bands_.levels) == {80, 95} and pf.bands_.horizon == 3


def test_changing_pooling_after_calibrating_calibrates_again():
    pf = PanelForecaster(small()).fit(seasonal_panel())
    first = pf.calibration(2, [80])
    assert first.pooling == "auto"
    pf.set_params(pooling="pooled")
    again = pf.calibration(2, [80])
    assert again is not first and again.pooling == "pooled"


def test_auto_panels_choose_each_series_skeleton_weight_on_its_tail(monkeypatch):
    data = seasonal_panel()
    template = Forecaster(model="auto", epochs=5, members=2, seed=0)
    per_series = PanelForecaster(template, global_model=False).fit(data)
    trained = []
    original = Forecaster.fit_windows
    monkeypatch.setattr(Forecaster, "fit_windows", lambda self, *a, **k: trained.append(1) or original(self, *a, **k))
    shared = PanelForecaster(template).fit(data)
    assert len(trained) == 2  # the global network and one second network for every series' tail
    for pf in (per_series, shared):
        for f in pf.forecasters_.values():
            scores = {float(w): v for w, v in f.chosen_["skeleton_weight_tail_rmse"].items()}
            assert f.skeleton_weight_ == f.chosen_["skeleton_weight"] == min(scores, key=lambda w: (scores[w], w))
    given = PanelForecaster(Forecaster(model="auto", epochs=5, members=2, seed=0, skeleton_weight=0.5)).fit(data)
    assert all(f.skeleton_weight_ == 0.5 and "skeleton_weight_tail_rmse" not in f.chosen_
               for f in given.forecasters_.values())


def test_per_series_models_calibrate_one_network_per_series(monkeypatch):
    pf = PanelForecaster(small(), global_model=False).fit(seasonal_panel())
    trained = []
    original = Forecaster.fit_windows
    monkeypatch.setattr(Forecaster, "fit_windows", lambda self, *a, **k: trained.append(1) or original(self, *a, **k))
    out = pf.forecast(2, level=[80])
    assert len(trained) == 3 and (out["upper_80"] > out["lower_80"]).all()


def test_series_origins_follow_the_single_series_rule():
    pf = PanelForecaster(small(), pooling="series").fit(seasonal_panel())  # lengths 40, 48, 56
    bands = pf.calibration(3, [80])
    # half of each series, capped so that the head keeps min_train_size (look_back 4 + 1 = 5) observations
    assert [b.n_origins for b in bands.series.values()] == [20, 24, 28]
    pooled = PanelForecaster(small(), pooling="pooled").fit(seasonal_panel()).calibration(3, [80])
    assert pooled.unit.n_origins == 72
    for key, b in pooled.series.items():
        np.testing.assert_allclose(b.widths[80], pooled.unit.widths[80] * pooled.scales[key])


def test_auto_pooling_uses_own_errors_only_with_enough_origins():
    pf = PanelForecaster(small()).fit(seasonal_panel(lengths=(30, 48, 56)))  # 15, 24, 28 origins
    bands = pf.calibration(2, [80, 95])
    s0 = bands.series["s0"]  # 15 origins: its own 80% quantile, the pooled 95% one
    np.testing.assert_allclose(s0.widths[95], bands.unit.widths[95] * bands.scales["s0"])
    alone = PanelForecaster(small(), pooling="series").fit(seasonal_panel(lengths=(30, 48, 56))).calibration(2, [80, 95])
    np.testing.assert_array_equal(s0.widths[80], alone.series["s0"].widths[80])
    np.testing.assert_array_equal(bands.series["s1"].widths[95], alone.series["s1"].widths[95])
    assert s0.warning is None and alone.series["s0"].warning is not None


def test_new_ids_get_their_own_transforms_the_shared_network_and_scaled_unit_bands():
    long = seasonal_panel()
    pf = PanelForecaster(small()).fit(long[long["unique_id"] != "s2"])
    new = long[long["unique_id"] == "s2"]
    out = pf.forecast(2, level=[80], data=new)
    assert out["unique_id"].unique().tolist() == ["s2"]
    history = new["y"].to_numpy()
    expected = pf.bands_.unit.widths[80][:2] * naive_scale(history)
    np.testing.assert_allclose((out["upper_80"] - out["forecast"]).to_numpy(), expected)
    # a fitted id with new data keeps its fitted transforms and bands
    s0 = long[long["unique_id"] == "s0"].iloc[:-5]
    again = pf.forecast(2, level=[80], data=s0)
    np.testing.assert_allclose((again["upper_80"] - again["forecast"]).to_numpy(), pf.bands_.series["s0"].widths[80][:2])
    with pytest.raises(InputError, match="global_model=False"):
        PanelForecaster(small(), global_model=False).fit(long[long["unique_id"] != "s2"]).forecast(1, data=new)


def test_series_too_short_for_a_calibration_tail_are_named():
    pf = PanelForecaster(small()).fit(seasonal_panel(lengths=(40, 8, 48)))
    with pytest.raises(InputError, match=r"1 of 3 series are too short for 6-step intervals \('s1'\)"):
        pf.forecast(6, level=[80])


def test_future_covariates_calibrate_with_the_known_values():
    data = {"a": promo_series(60), "b": promo_series(70, seed=2)}
    pf = PanelForecaster(small(), future_columns=["promo"]).fit(data)
    future = {k: pd.DataFrame({"promo": [1.0, 0.0]}, index=pd.date_range(v.index[-1], periods=3, freq="D")[1:])
              for k, v in data.items()}
    out = pf.forecast(2, future=future, level=[80])
    assert len(out) == 4 and (out["upper_80"] > out["forecast"]).all()


def test_panel_walk_forward_scores_coverage_width_and_winkler():
    result = panel_walk_forward(PanelForecaster(small()), seasonal_panel(), test_size=6, horizon=2, level=[80])
    folds = result.folds
    inside = (folds["actual"] >= folds["lower_80"]) & (folds["actual"] <= folds["upper_80"])
    assert result.intervals[80]["coverage"] == pytest.approx(100 * inside.mean())
    assert result.intervals[80]["width"] == pytest.approx((folds["upper_80"] - folds["lower_80"]).mean())
    per = result.per_series
    for key, part in folds.groupby("unique_id"):
        ok = (part["actual"] >= part["lower_80"]) & (part["actual"] <= part["upper_80"])
        assert per.loc[key, "coverage_80"] == pytest.approx(100 * ok.mean())
    assert list(result.by_step.index) == [1, 2] and "winkler_80" in result.by_step
    one = panel_walk_forward(PanelForecaster(small()), seasonal_panel(), test_size=4, level=[80])
    assert (one.folds["upper_80"] > one.folds["forecast"]).all()
    assert panel_walk_forward(PanelForecaster(small()), seasonal_panel(), test_size=4).intervals is None


def test_bad_pooling_is_an_input_error():
    pf = PanelForecaster(small(), pooling="mean").fit(seasonal_panel())
    with pytest.raises(InputError, match="pooling must be one of"):
        pf.forecast(2, level=[80])


@pytest.mark.slow
def test_panel_bands_cover_near_nominal_over_many_series():
    rng = np.random.default_rng(3)
    rows = []
    for i in range(12):
        n = 90
        y = 20 * (i + 1) + np.cumsum(rng.normal(0, 1 + i % 3, n))
        rows.append(pd.DataFrame({"unique_id": f"s{i}", "ds": pd.period_range("2000-01", periods=n, freq="M").astype(str),
                                  "y": y}))
    template = small(look_back=6, units=8, epochs=10, difference=1)
    result = panel_walk_forward(PanelForecaster(template), pd.concat(rows), test_size=24, horizon=3, level=[80, 95])
    assert result.intervals[80]["coverage"] > 72
    assert result.intervals[95]["coverage"] > 89
