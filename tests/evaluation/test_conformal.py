import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone

from lstmcast.errors import InputError
from lstmcast.evaluation import Drift, Persistence, walk_forward
from lstmcast.evaluation.baselines import interval_frame
from lstmcast.evaluation.conformal import ConformalBands, PanelBands, calibrate, conformal_bands, panel_bands


def _walk(n: int, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(np.cumsum(rng.normal(size=n)), index=pd.period_range("1900-01", periods=n, freq="M"))


def _ar1(n: int, seed: int, phi: float = 0.6) -> pd.Series:
    rng = np.random.default_rng(seed)
    noise, values = rng.normal(size=n), np.zeros(n)
    for t in range(1, n):
        values[t] = phi * values[t - 1] + noise[t]
    return pd.Series(values + 50.0)


class Calibrated(BaseEstimator):
    """A forecaster with conformal bands: what Forecaster.forecast(level=) is to do, in a few lines."""

    def __init__(self, base=None, horizon=3, n_origins=300):
        self.base = base
        self.horizon = horizon
        self.n_origins = n_origins

    def fit(self, y):
        self.bands_ = calibrate(self.base, y, self.horizon, [80, 95], n_origins=self.n_origins)
        self.model_ = clone(self.base).fit(y)
        return self

    def forecast(self, horizon, y=None, level=None):
        point = self.model_.forecast(horizon, y=y)
        bands = self.bands_.apply(point.to_numpy())
        return interval_frame(point, {lv: bands[lv] for lv in level}, point.index)


def test_widths_are_the_finite_sample_conformal_quantiles():
    y = _walk(30, seed=1)
    bands = calibrate(Persistence(), y, horizon=1, levels=[80, 95], n_origins=9)
    errors = np.sort(np.abs(np.diff(y.to_numpy()))[-9:])  # persistence's one-step errors in the tail
    assert bands.widths[80].tolist() == [errors[math.ceil(10 * 0.8) - 1]]  # the 8th smallest of 9
    assert bands.widths[95].tolist() == [errors[-1]]  # ceil(10 * 0.95) = 10 > 9: the largest
    assert "95% needs 19" in bands.warning and "80%" not in bands.warning
    assert calibrate(Persistence(), y, horizon=1, levels=[80], n_origins=9).warning is None


def test_widths_never_narrow_with_the_step():
    # persistence on 0, 1, 0, 1, ...: every one-step error is 1, every two-step error 0
    y = pd.Series(np.arange(40) % 2, dtype=float)
    bands = calibrate(Persistence(), y, horizon=3, levels=[80], n_origins=20)
    assert bands.widths[80].tolist() == [1.0, 1.0, 1.0]


def test_random_walk_bands_widen_like_the_square_root_of_the_step():
    bands = calibrate(Persistence(), _walk(700, seed=2), horizon=4, levels=[80], n_origins=400)
    z80 = 1.2815515655446004
    np.testing.assert_allclose(bands.widths[80], z80 * np.sqrt([1, 2, 3, 4]), rtol=0.2)
    assert (np.diff(bands.widths[80]) > 0).all()


@pytest.mark.slow
@pytest.mark.parametrize(("base", "series"), [(Persistence(), _walk(900, seed=3)), (Drift(), _ar1(900, seed=4))])
def test_conformal_bands_cover_near_nominal_over_many_origins(base, series):
    result = walk_forward(Calibrated(base), series, 400, horizon=3, level=[80, 95], baselines=())
    for level, summary in result.intervals.items():
        assert abs(summary["coverage"] - level) < 5, (level, summary)
    for step in (1, 2, 3):
        assert abs(result.by_step.loc[step, "coverage_80"] - 80) < 8


def test_apply_puts_the_bands_around_any_point_forecast():
    widths = {80: np.array([1.0, 2.0, 2.0]), 95: np.array([2.0, 3.0, 4.0])}
    bands = ConformalBands(horizon=3, levels=(80, 95), widths=widths, n_origins=50)
    out = bands.apply(np.array([10.0, 20.0]))
    np.testing.assert_allclose(out[80][0], [9.0, 18.0])
    np.testing.assert_allclose(out[95][1], [12.0, 23.0])
    with pytest.raises(InputError, match="calibrated for horizons up to 3; got a point forecast of shape \\(4,\\)"):
        bands.apply(np.zeros(4))


def test_state_round_trips_through_json():
    bands = calibrate(Drift(), _ar1(120, seed=5), horizon=3, levels=[80, 97.5], n_origins=10)
    again = ConformalBands.from_state(json.loads(json.dumps(bands.state())))
    assert again.levels == (80, 97.5) and again.n_origins == 10 and again.warning == bands.warning
    for level in bands.levels:
        np.testing.assert_array_equal(again.widths[level], bands.widths[level])
    np.testing.assert_array_equal(again.apply(np.ones(3))[80][0], bands.apply(np.ones(3))[80][0])


@pytest.mark.parametrize(
    "state",
    [
        None,
        {"kind": "other", "version": 1},
        {"kind": "conformal", "version": 1, "horizon": 2},
        {"kind": "conformal", "version": 1, "horizon": 2, "levels": [80], "n_origins": 5, "widths": {"80": [2.0, 1.0]},
         "scale": "absolute", "spread_floor": 0.0, "warning": None},
    ],
)
def test_a_bad_state_is_an_input_error(state):
    with pytest.raises(InputError, match="conformal"):
        ConformalBands.from_state(state)


def test_default_origins_are_half_the_series_at_least_ten():
    assert calibrate(Persistence(), _walk(100, 6), horizon=2, levels=[80]).n_origins == 50
    assert calibrate(Persistence(), _walk(16, 6), horizon=2, levels=[80]).n_origins == 10
    # capped so that the first fit keeps min_train_size() observations: 8 - 2 + 1 origins for Drift (needs 2)
    assert calibrate(Drift(), _walk(9, 6), horizon=2, levels=[80]).n_origins == 6


class FitLog(BaseEstimator):
    """Persistence that records the length of every fit in FIT_LENGTHS."""

    def fit(self, y):
        FIT_LENGTHS.append(len(y))
        return self

    def forecast(self, horizon, y=None):
        return pd.Series(np.full(horizon, y.iloc[-1]))


FIT_LENGTHS: list[int] = []


def test_refit_fits_fresh_clones_on_the_history_every_k_origins():
    FIT_LENGTHS.clear()
    calibrate(FitLog(), _walk(30, 7), horizon=2, levels=[80], n_origins=5)
    assert FIT_LENGTHS == [24]  # 30 - (2 + 5 - 1)
    FIT_LENGTHS.clear()
    calibrate(FitLog(), _walk(30, 7), horizon=2, levels=[80], n_origins=5, refit=2)
    assert FIT_LENGTHS == [24, 26, 28]


class Members(BaseEstimator):
    """Two members at persistence -/+ half: their spread is always half."""

    def fit(self, y):
        return self

    def forecast(self, horizon, y=None, return_members=False):
        last = np.full(horizon, y.iloc[-1])
        if not return_members:
            return pd.Series(last)
        return pd.DataFrame({"m0": last - 0.5, "m1": last + 0.5})


def test_spread_scaling_divides_errors_by_the_members_spread():
    y = _walk(80, 8)
    plain = calibrate(Members(), y, horizon=2, levels=[80], n_origins=30)
    scaled = calibrate(Members(), y, horizon=2, levels=[80], n_origins=30, scale="spread")
    np.testing.assert_allclose(scaled.widths[80] * 0.5, plain.widths[80])
    lower, _ = scaled.apply(np.zeros(2), spread=np.array([1.0, 2.0]))[80]
    np.testing.assert_allclose(lower, -scaled.widths[80] * [1.0, 2.0])
    with pytest.raises(InputError, match="pass spread="):
        scaled.apply(np.zeros(2))
    with pytest.raises(InputError, match=r"FitLog\(\) does not support members \(return_members=\)"):
        calibrate(FitLog(), y, horizon=2, levels=[80], n_origins=5, scale="spread")

    class OneMember(Members):
        def forecast(self, horizon, y=None, return_members=False):
            out = super().forecast(horizon, y, return_members)
            return out[["m0"]] if return_members else out

    with pytest.raises(InputError, match="at least 2 member columns"):
        calibrate(OneMember(), y, horizon=2, levels=[80], n_origins=5, scale="spread")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon": 0}, "horizon must be >= 1"),
        ({"levels": [80, 100]}, "strictly between 0 and 100"),
        ({"levels": []}, "empty"),
        ({"n_origins": 0}, "n_origins must be >= 1"),
        ({"n_origins": 29}, r"n_origins=29 with horizon=2 needs a calibration tail of 30.*use n_origins <= 28"),
        ({"horizon": 30}, r"y_train has 30 observations; calibrating 30-step bands needs at least 31"),
        ({"scale": "relative"}, "scale must be one of"),
        ({"refit": -1}, "refit"),
    ],
)
def test_bad_calibration_settings_are_input_errors(kwargs, message):
    settings = {"horizon": 2, "levels": [80], **kwargs}
    with pytest.raises(InputError, match=message):
        calibrate(Persistence(), _walk(30, 9), **settings)


def test_panel_bands_pool_scaled_errors_or_keep_each_series_own():
    rng = np.random.default_rng(11)
    errors = {"a": np.abs(rng.normal(0, 1, (30, 2))), "b": np.abs(rng.normal(0, 10, (30, 2))),
              "c": np.abs(rng.normal(0, 5, (8, 2)))}
    scales = {"a": 1.0, "b": 10.0, "c": 5.0}
    pooled = panel_bands(errors, scales, [80], "pooled")
    scaled = np.concatenate([errors[k] / scales[k] for k in errors])
    np.testing.assert_array_equal(pooled.unit.widths[80], conformal_bands(scaled, [80]).widths[80])
    np.testing.assert_allclose(pooled.series["b"].widths[80], 10.0 * pooled.unit.widths[80])
    own = panel_bands(errors, scales, [80, 95], "series")
    np.testing.assert_array_equal(own.series["b"].widths[95], conformal_bands(errors["b"], [95]).widths[95])
    assert own.series["c"].warning is not None  # 8 errors cannot give a 95% quantile
    auto = panel_bands(errors, scales, [80, 95], "auto")
    np.testing.assert_array_equal(auto.series["a"].widths[95], own.series["a"].widths[95])
    # 95%: the pooled band, widened where the series' own 80% band reaches further
    np.testing.assert_allclose(auto.series["c"].widths[95],
                               np.maximum(5.0 * auto.unit.widths[95], own.series["c"].widths[80]))
    np.testing.assert_array_equal(auto.series["c"].widths[80], own.series["c"].widths[80])  # 8 suffice for 80%
    # a new series: the unit widths times its own naive scale (mean absolute change)
    np.testing.assert_allclose(auto.for_history([0.0, 2.0, 0.0]).widths[80], 2.0 * auto.unit.widths[80])
    again = PanelBands.from_state(json.loads(json.dumps(auto.state(["a", "b", "c"]))), ["a", "b", "c"])
    np.testing.assert_array_equal(again.series["c"].widths[95], auto.series["c"].widths[95])
    with pytest.raises(InputError, match="panel conformal-bands state"):
        PanelBands.from_state(auto.state(["a", "b", "c"]), ["a", "b"])


def test_auto_pooling_keeps_bands_nested_for_a_hard_series_with_few_origins():
    rng = np.random.default_rng(3)
    errors = {f"easy{i}": np.abs(rng.normal(0, 1, (40, 2))) for i in range(5)}
    errors["hard"] = np.abs(rng.normal(0, 10, (10, 2)))  # errors ten times its scale; too few for 95%
    bands = panel_bands(errors, {key: 1.0 for key in errors}, [80, 95], "auto")
    hard = bands.series["hard"]
    assert np.all(bands.unit.widths[95] < hard.widths[80])  # the pooled 95% alone would sit inside
    assert np.all(hard.widths[95] >= hard.widths[80])
    np.testing.assert_array_equal(hard.widths[80], conformal_bands(errors["hard"], [80]).widths[80])


def test_a_flat_series_gets_a_floored_scale_and_finite_widths():
    errors = {"flat": np.full((20, 1), 0.5), "a": np.ones((20, 1)), "b": np.ones((20, 1))}
    bands = panel_bands(errors, {"flat": 0.0, "a": 1.0, "b": 1.0}, [80], "pooled")
    assert bands.scales["flat"] == pytest.approx(1e-3)  # a thousandth of the median positive scale
    assert np.isfinite(bands.unit.widths[80]).all()
