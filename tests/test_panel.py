"""PanelForecaster: one global network over many series, per-series mode, covariates and panel walk-forward."""

import numpy as np
import pandas as pd
import pytest

from lstmcast.errors import InputError
from lstmcast.forecaster import Forecaster
from lstmcast.panel import PanelForecaster, panel_walk_forward


def small(**kw):
    params = dict(model="vanilla", look_back=4, units=4, epochs=3, batch_size=16, scale="standard", seed=0)
    return Forecaster(**{**params, **kw})


def seasonal_panel(k=3, lengths=(40, 48, 56), seed=0):
    """Return a long frame of k monthly series of different lengths and starts, levels 10, 20, ..."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(k):
        n = lengths[i % len(lengths)]
        t = pd.period_range(f"200{i}-01", periods=n, freq="M")
        y = 10 * (i + 1) + 3 * np.sin(2 * np.pi * np.arange(n) / 12) + rng.normal(0, 0.3, n)
        rows.append(pd.DataFrame({"unique_id": f"s{i}", "ds": t.astype(str), "y": y}))
    return pd.concat(rows, ignore_index=True)


def test_long_frame_in_long_frame_out_for_series_of_different_lengths():
    long = seasonal_panel()
    out = PanelForecaster(small()).fit(long).forecast(3)
    assert list(out.columns) == ["unique_id", "ds", "forecast"]
    assert out.groupby("unique_id").size().tolist() == [3, 3, 3]
    ends = long.groupby("unique_id")["ds"].max()
    firsts = out.groupby("unique_id")["ds"].first().astype(str)
    expected = (pd.PeriodIndex(ends, freq="M") + 1).astype(str)
    assert firsts.tolist() == list(expected)
    assert np.isfinite(out["forecast"]).all()


def test_dict_in_gives_the_same_forecast_as_the_long_frame():
    long = seasonal_panel()
    from lstmcast.data.panel import to_panel

    a = PanelForecaster(small()).fit(long).forecast(2)
    b = PanelForecaster(small()).fit(to_panel(long)).forecast(2)
    np.testing.assert_allclose(a["forecast"], b["forecast"])


def test_global_model_shares_one_network_trained_on_every_series():
    pf = PanelForecaster(small()).fit(seasonal_panel())
    networks = {id(f.network_) for f in pf.forecasters_.values()}
    assert networks == {id(pf.network_)}
    lead = next(iter(pf.forecasters_.values()))
    assert lead.n_train_windows_ == pf.n_windows_ == sum(40 + 8 * i - 4 for i in range(3))
    # each series keeps its own scaler, fitted on its own rows
    means = [f.scaler_.to_dict() for f in pf.forecasters_.values()]
    assert means[0] != means[1]


def test_per_series_mode_trains_separate_networks_with_different_forecasts():
    long = seasonal_panel()
    per = PanelForecaster(small(), global_model=False).fit(long)
    glob = PanelForecaster(small()).fit(long)
    assert len({id(f.network_) for f in per.forecasters_.values()}) == 3
    assert not hasattr(per, "network_")
    assert not np.allclose(per.forecast(2)["forecast"], glob.forecast(2)["forecast"])


def test_the_template_is_not_fitted():
    template = small()
    PanelForecaster(template).fit(seasonal_panel())
    assert not hasattr(template, "network_")


def test_too_short_series_are_named():
    long = seasonal_panel(k=4, lengths=(40, 3, 48, 2))
    with pytest.raises(InputError, match=r"2 of 4 series.*'s1', 's3'"):
        PanelForecaster(small()).fit(long)


def test_multiindex_and_list_of_series_work():
    long = seasonal_panel()
    mi = long.assign(ds=pd.PeriodIndex(long["ds"], freq="M")).set_index(["unique_id", "ds"])
    out = PanelForecaster(small()).fit(mi).forecast(1)
    assert out["unique_id"].tolist() == ["s0", "s1", "s2"]
    series = [g.set_index(pd.PeriodIndex(g["ds"], freq="M"))["y"].rename(None) for _, g in long.groupby("unique_id")]
    out = PanelForecaster(small()).fit(series).forecast(1)
    assert out["unique_id"].tolist() == [0, 1, 2]


def test_stateful_global_model_is_refused():
    with pytest.raises(InputError, match="stateful"):
        PanelForecaster(small(stateful=True, batch_size=1)).fit(seasonal_panel())


def test_panel_walk_forward_scores_every_series_and_pools():
    long = seasonal_panel()
    result = panel_walk_forward(PanelForecaster(small()), long, test_size=6, horizon=2)
    assert set(result.per_series.index) == {"s0", "s1", "s2"}
    assert (result.per_series["n"] == 2 * 6 - 1).all()  # 6 origins of 2 steps; the last keeps 1 inside the series
    folds = result.folds
    pooled = np.sqrt(np.mean((folds["actual"] - folds["forecast"]) ** 2))
    assert result.rmse == pytest.approx(pooled)
    one = panel_walk_forward(PanelForecaster(small()), long, test_size=6)
    assert (one.folds["step"] == 1).all() and len(one.folds) == 18


# ---- covariates ------------------------------------------------------------------------------


def promo_series(n=300, seed=1, effect=20.0):
    """Return a daily frame (promo, y): y jumps by ``effect`` on promotion days, known in advance."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2020-01-01", periods=n, freq="D")
    promo = (rng.random(n) < 0.2).astype(float)
    y = 50 + 5 * np.sin(2 * np.pi * np.arange(n) / 7) + effect * promo + rng.normal(0, 1, n)
    return pd.DataFrame({"promo": promo, "y": y}, index=index)


def test_future_covariate_forecast_needs_values_over_the_horizon():
    data = {"a": promo_series(60)}
    pf = PanelForecaster(small(), future_columns=["promo"]).fit(data)
    after = pd.date_range("2020-03-01", periods=3, freq="D")
    future = {"a": pd.DataFrame({"promo": [1.0, 0.0, 0.0]}, index=after)}
    out = pf.forecast(3, future=future)
    assert len(out) == 3 and np.isfinite(out["forecast"]).all()
    with pytest.raises(InputError, match="do not cover the horizon.*2020-03-04 is missing"):
        pf.forecast(4, future=future)
    with pytest.raises(InputError, match="pass future="):
        pf.forecast(2)
    long_future = pd.DataFrame({"unique_id": "a", "ds": after.astype(str), "promo": [1.0, 0.0, 0.0]})
    np.testing.assert_allclose(pf.forecast(3, future=long_future)["forecast"], out["forecast"])


def test_future_covariates_are_led_one_step_per_output():
    pf = PanelForecaster(small(steps_out=2), future_columns=["promo"]).fit({"a": promo_series(40)})
    frame = pf._model_frame(pf.data_["a"])
    assert list(frame.columns) == ["promo+1", "promo+2", "y"]
    promo = pf.data_["a"]["promo"].to_numpy()
    np.testing.assert_array_equal(frame["promo+1"].to_numpy()[:-1], promo[1:])
    np.testing.assert_array_equal(frame["promo+2"].to_numpy()[:-2], promo[2:])


def test_past_covariates_need_direct_forecasts():
    pf = PanelForecaster(small(), past_columns=["promo"]).fit({"a": promo_series(60)})
    with pytest.raises(InputError, match="steps_out >= 3"):
        pf.forecast(3)
    assert len(pf.forecast(1)) == 1


def test_unnamed_covariate_columns_and_auto_with_covariates_are_refused():
    with pytest.raises(InputError, match="neither in future_columns"):
        PanelForecaster(small()).fit({"a": promo_series(40)})
    with pytest.raises(InputError, match="model='auto'"):
        PanelForecaster(calendar=True).fit({"a": promo_series(40)["y"]})


def test_calendar_features_need_no_future_frame():
    data = {"a": promo_series(60)["y"]}
    out = PanelForecaster(small(), calendar=True).fit(data).forecast(3)
    assert len(out) == 3 and np.isfinite(out["forecast"]).all()


@pytest.mark.slow
def test_known_promotions_cut_the_error_well_below_the_univariate_model():
    frame = promo_series(300)
    template = small(look_back=7, units=16, epochs=30)
    with_cov = panel_walk_forward(PanelForecaster(template, future_columns=["promo"]), {"a": frame}, test_size=50)
    without = panel_walk_forward(PanelForecaster(template), {"a": frame["y"]}, test_size=50)
    # promotions add 20 on a fifth of the days (a std of about 8) that no history can foresee
    assert with_cov.rmse < 0.5 * without.rmse
    assert without.rmse > 5.0


# ---- pooled training ---------------------------------------------------------------------------


def concatenated_fit(pf: PanelForecaster, data) -> Forecaster:
    """Return the lead forecaster of the global model trained the plain way: every series' own windows copied together."""
    import torch
    from sklearn.base import clone

    panel, template = pf._panel(data), pf._template()
    pf.leads_ = int(template.resolved()["steps_out"])
    forecasters = [clone(template) for _ in panel]
    prepared = [f.prepare(pf._model_frame(series)) for f, series in zip(forecasters, panel.values())]
    X, Y = torch.cat([p[0] for p in prepared]), torch.cat([p[1] for p in prepared])
    held = [p[2] for p in prepared if p[2] is not None]
    validation = (torch.cat([v[0] for v in held]), torch.cat([v[1] for v in held])) if held else None
    return forecasters[0].fit_windows(X, Y, validation)


def covariate_panel():
    return {key: promo_series(n, seed=i) for i, (key, n) in enumerate({"a": 40, "b": 55, "c": 47}.items())}


@pytest.mark.parametrize("template, options, data", [
    (small(), {}, seasonal_panel),
    (small(trim=2, validation_size=3, difference=1, epochs=4), {}, seasonal_panel),
    (small(steps_out=2, validation_size=2, framing="features"), dict(future_columns=["promo"], calendar=True),
     covariate_panel),
    (small(steps_out=3), dict(past_columns=["promo"]), covariate_panel),
], ids=["plain", "trim-validation-difference", "future-calendar-direct", "past-direct"])
def test_pooled_training_gives_the_model_of_concatenated_windows(template, options, data):
    import torch

    data = data()
    pf = PanelForecaster(template, **options).fit(data)
    plain = concatenated_fit(PanelForecaster(template, **options), data)
    lead = next(iter(pf.forecasters_.values()))
    assert pf.n_windows_ == lead.n_train_windows_ == plain.n_train_windows_
    np.testing.assert_array_equal(lead.history_.loss, plain.history_.loss)
    assert (lead.history_.val_loss is None) == (plain.history_.val_loss is None) == (template.validation_size == 0)
    if template.validation_size:
        np.testing.assert_array_equal(lead.history_.val_loss, plain.history_.val_loss)
    for a, b in zip(pf.network_.parameters(), plain.network_.parameters()):
        assert torch.equal(a.detach(), b.detach())


def test_series_whose_windows_differ_in_shape_are_refused_for_one_global_network():
    monthly = seasonal_panel(k=1).assign(unique_id="m")
    daily = promo_series(80)["y"]
    data = {"m": pd.Series(monthly["y"].to_numpy(), index=pd.period_range("2000-01", periods=len(monthly), freq="M")),
            "d": daily}
    with pytest.raises(InputError, match=r"windows of one shape; series 'm' gives look_back x columns \(13, 1\) "
                                         r"and series 'd' gives \(8, 1\)"):
        PanelForecaster(Forecaster(model="auto", epochs=1)).fit(data)
