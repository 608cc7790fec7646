"""Skeleton transforms (causal, invertible given the past, fitted on training rows only, JSON
state) and the choice of a skeleton on a validation tail."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lstmcast.data import datasets
from lstmcast.data.skeleton import (
    BoxCox,
    Chain,
    ExpSmoothing,
    Identity,
    LevelAnchor,
    Log,
    Mean,
    SeasonalDifference,
    SeasonalIndices,
    guerrero_lambda,
    inverse_recursive,
    skeleton_forecasts,
    skeleton_rmse,
    transform_from_state,
)
from lstmcast.data.skeleton import _ets_one_step
from lstmcast.data.skeleton_choice import choose_skeleton, validation_tail
from lstmcast.errors import InputError, ModelFileError, NotFittedError

M = 4  # season length of the property tests: short enough for STL on 30-point series

# name -> factory of a fresh unfitted transform; every one accepts positive series of >= 30 points
TRANSFORMS = {
    "identity": Identity,
    "log": Log,
    "boxcox-guerrero": lambda: BoxCox(season_length=M),
    "boxcox-fixed": lambda: BoxCox(lmbda=0.5),
    "stl": lambda: SeasonalIndices(M),
    "sdiff": lambda: SeasonalDifference(M),
    "mean": Mean,
    "ses": lambda: LevelAnchor("ses"),
    "holt": lambda: LevelAnchor("holt"),
    "chain-log-stl-holt": lambda: Chain([Log(), SeasonalIndices(M), LevelAnchor("holt")]),
    "chain-boxcox-sdiff-ses": lambda: Chain(
        [BoxCox(season_length=M), SeasonalDifference(M), LevelAnchor("ses")]
    ),
    "chain-sdiff-stl-mean": lambda: Chain([SeasonalDifference(M), SeasonalIndices(M), Mean()]),
    "ets-damped": lambda: ExpSmoothing("damped"),
    "ets-level": lambda: ExpSmoothing("none"),
    "ets-holt-winters": lambda: ExpSmoothing("damped", M),
    "chain-log-stl-damped": lambda: Chain([Log(), SeasonalIndices(M), ExpSmoothing("damped")]),
    "chain-boxcox-holt-winters": lambda: Chain([BoxCox(season_length=M), ExpSmoothing("none", M)]),
    "chain-sdiff-holt-winters": lambda: Chain([SeasonalDifference(M), ExpSmoothing("damped", M)]),
}

PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# a positive series of 30-80 points and a split point inside it (the training part is 20+ points)
series = hnp.arrays(
    np.float64, st.integers(30, 80), elements=st.floats(0.5, 1000.0, allow_nan=False, allow_infinity=False)
)


@st.composite
def series_and_split(draw):
    x = draw(series)
    return x, draw(st.integers(24, len(x)))


def _fitted(name: str, train: np.ndarray):
    return TRANSFORMS[name]().fit(train)


def _assert_same(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_array_equal(a, b)  # NaN at the same places counts as equal


# --- properties of every transform --------------------------------------------------------------


@pytest.mark.parametrize("name", TRANSFORMS)
@PROPERTY
@given(data=series_and_split())
def test_inverse_of_transform_with_the_true_past_gives_the_series_back(name, data):
    x, n = data
    t = _fitted(name, x[:n])
    z = t.transform(x)
    back = t.inverse(z, x)
    w = t.warmup()
    assert np.isnan(z[:w]).all() and np.isnan(back[:w]).all()
    assert np.isfinite(z[w:]).all()
    np.testing.assert_allclose(back[w:], x[w:], rtol=1e-9, atol=1e-9 * np.abs(x).max())


@pytest.mark.parametrize("name", TRANSFORMS)
@PROPERTY
@given(data=series_and_split(), k=st.integers(0, 79), value=st.floats(0.5, 1000.0))
def test_changing_one_value_never_changes_what_comes_before_it(name, data, k, value):
    x, n = data
    k = k % len(x)
    t = _fitted(name, x[:n])
    changed = x.copy()
    changed[k] = value
    _assert_same(t.transform(x)[:k], t.transform(changed)[:k])
    # the inverse at position t reads the past x[:t] only, so x[k] cannot reach position k either
    z = t.transform(x) + 0.01
    _assert_same(t.inverse(z, x)[: k + 1], t.inverse(z, changed)[: k + 1])


@pytest.mark.parametrize("name", TRANSFORMS)
@PROPERTY
@given(data=series_and_split())
def test_fitted_on_the_training_rows_transform_of_a_longer_series_starts_the_same(name, data):
    x, n = data
    t = _fitted(name, x[:n])
    _assert_same(t.transform(x)[:n], t.transform(x[:n]))
    w = t.warmup()
    z = np.zeros(len(x))
    _assert_same(t.inverse(z, x)[:n], t.inverse(z[:n], x[:n]))
    assert w < n


@pytest.mark.parametrize("name", TRANSFORMS)
@PROPERTY
@given(data=series_and_split())
def test_state_round_trips_through_json_to_an_identical_transform(name, data):
    x, n = data
    t = _fitted(name, x[:n])
    state = json.loads(json.dumps(t.state()))
    for rebuilt in (type(t).from_state(state), transform_from_state(state)):
        _assert_same(rebuilt.transform(x), t.transform(x))
        _assert_same(rebuilt.inverse(t.transform(x), x), t.inverse(t.transform(x), x))
        assert rebuilt.describe() == t.describe()
        assert rebuilt.warmup() == t.warmup()


@pytest.mark.parametrize("name", [n for n in TRANSFORMS if n not in ("identity", "log", "sdiff")])
def test_using_a_transform_before_fit_raises_not_fitted(name):
    with pytest.raises(NotFittedError, match="fit"):
        TRANSFORMS[name]().transform(np.arange(1.0, 40.0))


def test_inverse_of_the_position_past_the_end_takes_a_placeholder():
    x = np.linspace(10.0, 50.0, 40) + np.sin(np.arange(40.0))
    t = Chain([Log(), SeasonalDifference(M), LevelAnchor("holt")]).fit(x)
    with_nan = t.inverse(np.zeros(41), np.append(x, np.nan))
    with_value = t.inverse(np.zeros(41), np.append(x, 1e6))
    assert np.isfinite(with_nan[-1]) and with_nan[-1] == with_value[-1]


def _step_by_step(t, z: np.ndarray, x: np.ndarray, ends) -> np.ndarray:
    """Return multi-step forecasts undone as a forecaster did before cursors: ``inverse`` on the whole extended history per step."""
    out = np.empty_like(z)
    for r, end in enumerate(ends):
        ext = np.concatenate([x[:end], np.full(z.shape[1], np.nan)])  # placeholders inverse never reads
        padded = np.concatenate([np.full(end, np.nan), z[r]])
        for h in range(z.shape[1]):
            ext[end + h] = t.inverse(padded[: end + h + 1], ext[: end + h + 1])[end + h]
        out[r] = ext[end:]
    return out


@pytest.mark.parametrize("name", TRANSFORMS)
@PROPERTY
@given(data=series_and_split(), seed=st.integers(0, 2**16), horizon=st.integers(1, 2 * M + 3))
def test_inverse_recursive_matches_inverse_one_step_at_a_time_from_every_end(name, data, seed, horizon):
    x, n = data
    t = _fitted(name, x[:n])
    rng = np.random.default_rng(seed)
    ends = rng.integers(t.warmup() + 2, len(x) + 1, size=5)  # prefixes of x, repeats allowed, in any order
    # forecasts near the transformed values, so that each step stays in the transforms' domain
    z = np.nanmean(np.abs(t.transform(x))) * rng.uniform(-0.3, 0.3, size=(len(ends), horizon))
    expected = _step_by_step(t, z, x, ends)
    np.testing.assert_allclose(inverse_recursive(t, z, x, ends), expected, rtol=1e-10,
                               atol=1e-10 * np.nanmax(np.abs(expected), initial=0.0))  # all NaN: out of domain


def test_inverse_recursive_refuses_ends_outside_the_history():
    t = LevelAnchor("ses").fit(np.arange(1.0, 30.0))
    with pytest.raises(InputError, match="ends must lie in 0..29"):
        inverse_recursive(t, np.zeros((1, 3)), np.arange(1.0, 30.0), [30])
    with pytest.raises(InputError, match="one integer end per row"):
        inverse_recursive(t, np.zeros((2, 3)), np.arange(1.0, 30.0), [10])


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [Log, lambda: BoxCox(lmbda=0.3)])
@pytest.mark.parametrize("bad", [0.0, -2.5])
def test_power_transforms_refuse_values_that_are_not_positive(make, bad):
    x = np.arange(1.0, 20.0)
    x[7] = bad
    with pytest.raises(InputError, match=f"needs positive values; got {bad:g} at position 7"):
        make().fit(x)
    with pytest.raises(InputError, match="position 7"):
        make().fit(np.arange(1.0, 20.0)).transform(x)


def test_stl_indices_need_two_seasons_and_one_point():
    with pytest.raises(InputError, match="at least 25 observations to fit; got 24"):
        SeasonalIndices(12).fit(np.arange(24.0))
    with pytest.raises(InputError, match="season_length must be >= 2"):
        SeasonalIndices(1).fit(np.arange(24.0))


def test_fit_refuses_a_nan_after_the_warm_up():
    x = np.arange(1.0, 20.0)
    x[5] = np.nan
    with pytest.raises(InputError, match="NaN or infinite value at position 5"):
        LevelAnchor("ses").fit(x)


def test_inverse_refuses_z_and_history_of_different_lengths():
    t = LevelAnchor("ses").fit(np.arange(1.0, 20.0))
    with pytest.raises(InputError, match="same length; got 5 and 6"):
        t.inverse(np.zeros(5), np.arange(6.0))


@pytest.mark.parametrize(
    "state, match",
    [
        ({"kind": "ses", "alpha": 1.5}, "alpha must be a finite float in [0, 1]; got 1.5"),
        ({"kind": "holt", "alpha": 0.5}, "beta must be a finite float in [0, 1]; got None"),
        ({"kind": "ses", "alpha": "0.5"}, "alpha must be a finite float in [0, 1]; got '0.5'"),
        ({"kind": "boxcox", "lmbda": float("nan")}, "lmbda must be a finite float in [-5, 5]; got nan"),
        ({"kind": "stl", "season_length": 4, "indices": [0.0, 1.0]}, "needs 4 indices"),
        ({"kind": "sdiff", "season_length": 0}, "season_length must be a finite int in [1, 1e+06]; got 0"),
        ({"kind": "chain", "steps": []}, "non-empty list"),
        ({"kind": "chain", "steps": [{"kind": "wavelet"}]}, "unknown saved transform kind 'wavelet'"),
        ({"kind": "mean"}, "mean must be a finite float in [-inf, inf]; got None"),
        (["ses"], "unknown saved transform kind None"),
    ],
)
def test_corrupt_state_raises_an_input_error_naming_the_field(state, match):
    with pytest.raises(ModelFileError, match=re.escape(match)):
        transform_from_state(state)
    assert issubclass(ModelFileError, InputError)


def test_given_parameters_out_of_range_are_refused():
    with pytest.raises(InputError, match=re.escape("alpha must be a finite float in [0, 1]; got 2")):
        LevelAnchor("ses", alpha=2).fit(np.arange(1.0, 20.0))
    with pytest.raises(InputError, match="unknown level anchor 'arima'"):
        LevelAnchor("arima").fit(np.arange(1.0, 20.0))


def test_from_state_of_the_wrong_class_is_refused():
    with pytest.raises(ModelFileError, match="expected a saved 'log' transform; got 'ses'"):
        Log.from_state({"kind": "ses", "alpha": 0.5})


# --- each transform does what it says -----------------------------------------------------------


def test_guerrero_lambda_of_airline_matches_r_forecast():
    # R: forecast::BoxCox.lambda(AirPassengers) (Guerrero, period 12) = -0.2947. Same criterion,
    # same bounds [-1, 2]; R's optimize() stops at tol ~1.2e-4, scipy's bounded Brent at 1e-5,
    # so the two minimisers of the same function agree to well within 1e-3.
    y = datasets.load("airline").to_numpy()
    assert guerrero_lambda(y, 12) == pytest.approx(-0.2947, abs=1e-3)
    assert BoxCox(season_length=12).fit(y).lmbda_ == pytest.approx(-0.2947, abs=1e-3)


def test_ses_with_alpha_one_is_first_differencing():
    x = np.random.default_rng(0).normal(size=50).cumsum()
    z = LevelAnchor("ses", alpha=1.0).fit(x).transform(x)
    assert np.isnan(z[0])
    np.testing.assert_allclose(z[1:], np.diff(x), rtol=0, atol=1e-12)


def _ses_loop(x, alpha):
    f, level = np.full(len(x), np.nan), x[0]
    for t in range(1, len(x)):
        f[t], level = level, alpha * x[t] + (1 - alpha) * level
    return f


def _holt_loop(x, alpha, beta):
    f, level, trend = np.full(len(x), np.nan), x[1], x[1] - x[0]
    for t in range(2, len(x)):
        f[t] = level + trend
        new_level = alpha * x[t] + (1 - alpha) * (level + trend)
        level, trend = new_level, beta * (new_level - level) + (1 - beta) * trend
    return f


@PROPERTY
@given(
    x=hnp.arrays(np.float64, st.integers(2, 40), elements=st.floats(-100, 100)),
    alpha=st.floats(1e-4, 1.0),
    beta=st.floats(1e-4, 1.0),
)
def test_level_anchor_filters_match_the_plain_recursions(x, alpha, beta):
    ses = LevelAnchor("ses", alpha=alpha).fit(np.arange(5.0))
    holt = LevelAnchor("holt", alpha=alpha, beta=beta).fit(np.arange(5.0))
    np.testing.assert_allclose(ses.forecasts(x), _ses_loop(x, alpha), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(holt.forecasts(x), _holt_loop(x, alpha, beta), rtol=1e-8, atol=1e-8)


def test_fitted_alpha_is_high_for_a_random_walk_and_low_for_noise_around_a_level():
    rng = np.random.default_rng(1)
    assert LevelAnchor("ses").fit(rng.normal(size=200).cumsum()).alpha_ > 0.8
    assert LevelAnchor("ses").fit(10 + rng.normal(size=200)).alpha_ < 0.2


def test_holt_follows_a_linear_trend_exactly():
    x = 3.0 + 0.5 * np.arange(30.0)
    t = LevelAnchor("holt").fit(x)
    np.testing.assert_allclose(t.transform(x)[2:], 0.0, atol=1e-9)


def test_stl_indices_recover_a_fixed_pattern_and_keep_absolute_positions():
    rng = np.random.default_rng(2)
    pattern = np.array([3.0, -1.0, 0.5, -2.5])  # sums to 0
    x = 50 + 0.1 * np.arange(60.0) + np.tile(pattern, 15) + 0.05 * rng.normal(size=60)
    t = SeasonalIndices(4).fit(x)
    np.testing.assert_allclose(t.indices_, pattern, atol=0.1)
    assert t.indices_.sum() == pytest.approx(0.0, abs=1e-12)
    # leading NaN (an earlier step's warm-up) shifts nothing: phases count from position 0
    shifted = SeasonalIndices(4).fit(np.concatenate([np.full(3, np.nan), x[3:]]))
    np.testing.assert_allclose(shifted.indices_, pattern, atol=0.1)


def test_seasonal_difference_subtracts_the_value_one_season_before():
    x = np.arange(10.0) ** 2
    z = SeasonalDifference(3).fit(x).transform(x)
    assert np.isnan(z[:3]).all()
    np.testing.assert_array_equal(z[3:], x[3:] - x[:-3])


def test_chain_adds_up_warm_ups_and_nests_kind_tags():
    x = np.linspace(5, 40, 48) + np.tile([1.0, -1.0, 2.0, -2.0], 12)
    chain = Chain([Log(), SeasonalDifference(4), LevelAnchor("holt")]).fit(x)
    assert chain.warmup() == 6
    assert np.isnan(chain.transform(x)[:6]).all() and np.isfinite(chain.transform(x)[6:]).all()
    assert [s["kind"] for s in chain.state()["steps"]] == ["log", "sdiff", "holt"]
    assert re.fullmatch(r"log \+ sdiff\(4\) \+ holt\(\d\.\d\d,\d\.\d\d\)", chain.describe())
    with pytest.raises(InputError, match="at least one step"):
        Chain([]).fit(x)


def test_skeleton_forecasts_are_the_inverse_of_zero_plus_one_for_the_next_value():
    x = 20 + np.random.default_rng(3).normal(size=30).cumsum()
    chain = Chain([LevelAnchor("ses")]).fit(x)
    f = skeleton_forecasts(chain, x)
    assert len(f) == 31
    _assert_same(f[:30], chain.inverse(np.zeros(30), x))
    alpha = chain.steps[0].alpha_
    assert f[30] == pytest.approx(alpha * x[-1] + (1 - alpha) * f[29])  # the last level
    error = x[10:] - f[10:30]
    assert skeleton_rmse(chain, x, 10) == pytest.approx(np.sqrt(np.mean(error**2)))


# --- choose_skeleton ----------------------------------------------------------------------------


def test_validation_tail_is_a_fifth_clipped_to_4_and_48():
    assert [validation_tail(n) for n in (6, 24, 96, 1000)] == [4, 5, 19, 48]


def test_airline_gets_log_and_a_seasonal_treatment():
    y = datasets.load("airline").to_numpy()[:-48]
    chain, report = choose_skeleton(y, 12)
    assert isinstance(chain.steps[0], Log) and report["log"] is True
    assert any(isinstance(s, SeasonalIndices | SeasonalDifference) for s in chain.steps)
    assert isinstance(chain.steps[-1], LevelAnchor)
    assert report["tail"] == 19 and report["stationary_gate"]["decision"] == "non-stationary"
    assert report["power"] == "log" and report["chosen"] == chain.describe()
    # {log, Box-Cox, none} x ({none, stl, sdiff} x {ses, holt, damped} + Holt-Winters {level, damped})
    labels = [c["skeleton"] for c in report["candidates"]]
    assert len(labels) == 33 and len({re.sub(r"-?\d+\.\d+", "", label) for label in labels}) == 33
    assert sum("ets(N,A12;" in label for label in labels) == 3
    assert sum(not label.startswith(("log", "boxcox")) for label in labels) == 11


def test_a_fixed_power_scores_only_its_own_candidates():
    y = datasets.load("airline").to_numpy()[:-48]
    chain, report = choose_skeleton(y, 12, power="log")
    assert len(report["candidates"]) == 11
    assert all(c["skeleton"].startswith("log + ") for c in report["candidates"])
    _, plain = choose_skeleton(y, 12, power="none")
    assert plain["power"] == "none" and len(plain["candidates"]) == 11
    assert not any(c["skeleton"].startswith(("log", "boxcox")) for c in plain["candidates"])
    with pytest.raises(InputError, match="unknown power 'sqrt'"):
        choose_skeleton(y, 12, power="sqrt")


def test_chosen_skeleton_is_the_candidate_with_the_lowest_tail_rmse_refitted():
    y = datasets.load("airline").to_numpy()[:-48]
    _, report = choose_skeleton(y, 12)
    best = min(report["candidates"], key=lambda c: c["tail_rmse"])

    def shape(label):  # parameters change in the refit on all points; the structure must not
        return re.sub(r"\([^)]*\)", "", label)

    assert shape(report["chosen"]) == shape(best["skeleton"])


def test_white_noise_gets_no_seasonal_treatment_and_no_level_anchor():
    x = np.random.default_rng(0).normal(size=240)
    chain, report = choose_skeleton(x, 12)
    assert report["stationary_gate"]["decision"] == "stationary"
    assert not any(isinstance(s, SeasonalIndices | SeasonalDifference | LevelAnchor) for s in chain.steps)
    assert report["log"] is False and report["boxcox_lambda"] is None  # values below zero


def test_report_is_json_and_names_every_part_of_the_choice():
    y = datasets.load("shampoo").to_numpy()[:-12]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # statsmodels' warnings must be silenced, not printed
        _, report = choose_skeleton(y, 12)
    assert json.loads(json.dumps(report)) == report
    assert set(report) == {
        "season_length", "log", "boxcox_lambda", "power", "tail", "stationary_gate", "candidates", "chosen",
    }
    # 24 points, tail 5: the 19-point fit part is too short for seasonal candidates or the gate
    assert [re.sub(r"\([^)]*\)", "", c["skeleton"]) for c in report["candidates"]] == [
        "log + ses", "log + holt", "log + ets", "boxcox + ses", "boxcox + holt", "boxcox + ets",
        "ses", "holt", "ets",
    ]
    assert report["stationary_gate"]["decision"].startswith("skipped")


def test_gate_warnings_are_silenced_on_a_long_series():
    y = datasets.load("airline").to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        choose_skeleton(y, 12)


def test_boxcox_power_uses_guerreros_lambda():
    y = datasets.load("airline").to_numpy()[:-48]
    chain, report = choose_skeleton(y, 12, power="boxcox")
    assert isinstance(chain.steps[0], BoxCox) and report["log"] is False
    assert chain.steps[0].lmbda_ == pytest.approx(report["boxcox_lambda"])


def test_too_short_series_names_its_length():
    with pytest.raises(InputError, match="at least 6 observations .* has 5"):
        choose_skeleton(np.arange(1.0, 6.0), 1)


def test_a_tail_that_leaves_too_little_to_fit_is_refused():
    with pytest.raises(InputError, match="tail of 18 leaves 2 of 20"):
        choose_skeleton(np.arange(1.0, 21.0), 1, tail=18)


# --- ExpSmoothing: damped trend and Holt-Winters ------------------------------------------------


def _ets_reference(x, alpha, beta, phi, gamma, trend0, season0):
    """The ETS(A,Ad,A) recursions of the ExpSmoothing docstring, one step at a time."""
    m = len(season0)
    season = {t - m: season0[t % m] for t in range(1, m + 1)}  # s_{1-m} .. s_0
    season[0] = season0[0]
    f, level, trend = np.full(len(x), np.nan), x[0] - season0[0], trend0
    for t in range(1, len(x)):
        past = season[t - m]
        f[t] = level + phi * trend + past
        new_level = alpha * (x[t] - past) + (1 - alpha) * (level + phi * trend)
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        season[t] = gamma * (x[t] - new_level) + (1 - gamma) * past
        level = new_level
    return f


@pytest.mark.parametrize("length", [40, 1300])  # the loop below 1000 points, the linear filter above
@settings(max_examples=15, deadline=None)
@given(
    alpha=st.floats(1e-4, 1.0), beta=st.floats(1e-4, 1.0), phi=st.floats(0.8, 0.98),
    gamma=st.floats(1e-4, 1.0), seed=st.integers(0, 1000),
)
def test_exp_smoothing_matches_the_plain_recursions(length, alpha, beta, phi, gamma, seed):
    rng = np.random.default_rng(seed)
    x = 100 + rng.normal(size=length).cumsum() + np.tile([3.0, -1.0, 0.5, -2.5], length // 4)
    season0 = rng.normal(size=M)
    state = {"kind": "ets", "trend": "damped", "season_length": M, "alpha": alpha, "beta": beta, "phi": phi,
             "gamma": gamma, "trend0": 0.3, "season0": season0.tolist()}
    t = ExpSmoothing.from_state(state)
    expected = _ets_reference(x, alpha, beta, phi, gamma, 0.3, season0)
    np.testing.assert_allclose(t.forecasts(x), expected, rtol=1e-7, atol=1e-7)
    level_only = ExpSmoothing.from_state(state | {"trend": "none", "season_length": 1, "season0": None})
    np.testing.assert_allclose(level_only.forecasts(x), _ets_reference(x, alpha, 0.0, 0.0, 0.0, 0.0, [0.0]),
                               rtol=1e-7, atol=1e-7)


def test_damped_trend_follows_a_trend_and_its_slope_starts_from_least_squares():
    x = 10.0 + 2.0 * np.arange(60.0) + np.random.default_rng(4).normal(scale=0.5, size=60)
    t = ExpSmoothing("damped").fit(x)
    assert t.trend0_ == pytest.approx(2.0, abs=0.05)
    assert 0.8 <= t.phi_ <= 0.98
    # one-step errors stay at the noise level: the trend is followed, not lagged behind
    assert np.sqrt(np.nanmean(t.transform(x)[5:] ** 2)) < 1.0
    assert np.sqrt(np.nanmean(LevelAnchor("ses").fit(x).transform(x)[5:] ** 2)) > 1.5


def test_holt_winters_follows_a_season_that_drifts_where_fixed_indices_cannot():
    n = 160
    phase = np.arange(n) % 4
    drift = np.linspace(0.0, 1.0, n)  # the season's shape turns into its opposite
    pattern = np.array([4.0, -2.0, 1.0, -3.0])
    x = 50 + pattern[phase] * (1 - 2 * drift) + np.random.default_rng(5).normal(scale=0.3, size=n)
    train, test = 120, slice(120, None)
    hw = ExpSmoothing("none", 4).fit(x[:train])
    fixed = Chain([SeasonalIndices(4), LevelAnchor("ses")]).fit(x[:train])
    hw_error = np.sqrt(np.mean(hw.transform(x)[test] ** 2))
    fixed_error = np.sqrt(np.mean(fixed.transform(x)[test] ** 2))
    assert hw.gamma_ > 0.05 and hw_error < 0.5 * fixed_error


def test_exp_smoothing_describes_its_kind_and_refuses_unknown_trends():
    x = 20 + np.random.default_rng(6).normal(size=40).cumsum() + np.tile([1.0, -1.0, 2.0, -2.0], 10)
    assert re.fullmatch(r"ets\(Ad;\d\.\d\d,\d\.\d\d,0\.[89]\d\)", ExpSmoothing("damped").fit(x).describe())
    assert re.fullmatch(r"ets\(N,A4;\d\.\d\d,\d\.\d\d\)", ExpSmoothing("none", 4).fit(x).describe())
    with pytest.raises(InputError, match="unknown trend 'linear'; choose one of: none, damped"):
        ExpSmoothing("linear").fit(x)
    with pytest.raises(InputError, match="at least 9 observations to fit; got 8"):
        ExpSmoothing("none", 4).fit(x[:8])


@pytest.mark.parametrize(
    "change, match",
    [
        ({"trend": "linear"}, "trend 'linear'"),
        ({"season0": [0.0, 1.0]}, "needs 4 initial seasonal indices"),
        ({"phi": 1.5}, "phi must be a finite float in [0, 1]; got 1.5"),
        ({"trend0": None}, "trend0 must be a finite float in [-inf, inf]; got None"),
    ],
)
def test_corrupt_exp_smoothing_state_is_refused(change, match):
    state = {"kind": "ets", "trend": "damped", "season_length": 4, "alpha": 0.5, "beta": 0.1, "phi": 0.9,
             "gamma": 0.1, "trend0": 0.0, "season0": [1.0, -1.0, 0.5, -0.5]}
    with pytest.raises(ModelFileError, match=re.escape(match)):
        transform_from_state(state | change)


@pytest.mark.parametrize("trend, m", [("damped", 1), ("damped", 12), ("none", 12)])
def test_exp_smoothing_fit_is_no_worse_than_a_random_search_of_its_parameters(trend, m):
    x = np.log(datasets.load("airline").to_numpy())
    t = ExpSmoothing(trend, m).fit(x)
    season0 = None if m == 1 else t.season0_

    def sse(alpha, beta, phi, gamma):
        params = {"alpha": alpha, "beta": beta, "phi": phi, "gamma": gamma}
        error = x[1:] - _ets_one_step(x, params, t.trend0_, season0)[1:]
        return float(error @ error)

    fitted = sse(t.alpha_, t.beta_, t.phi_, t.gamma_)
    rng = np.random.default_rng(7)
    damped = trend == "damped"
    draws = [
        sse(rng.uniform(1e-4, 1), rng.uniform(1e-4, 1) if damped else None, rng.uniform(0.8, 0.98) if damped else None,
            rng.uniform(1e-4, 1) if m > 1 else None)
        for _ in range(300)
    ]
    assert fitted <= min(draws) * (1 + 1e-3)
