"""Differencing at any lag and its two inverses; Scaler kinds, shapes, state and round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import clone

from lstmcast.data.transforms import Scaler, difference, undifference_one_step, undifference_recursive
from lstmcast.errors import InputError, ModelFileError, NotFittedError

KINDS = ["minmax", "minmax-sym", "standard", "none"]

# --- difference ---------------------------------------------------------------------------------


def test_difference_subtracts_the_value_lag_steps_before():
    np.testing.assert_array_equal(difference([1.0, 3.0, 6.0, 10.0]), [2.0, 3.0, 4.0])
    np.testing.assert_array_equal(difference([1.0, 3.0, 6.0, 10.0], lag=2), [5.0, 7.0])


def test_difference_works_per_column_of_a_2d_array():
    x = np.array([[1.0, 10.0], [2.0, 30.0], [4.0, 60.0]])
    np.testing.assert_array_equal(difference(x), [[1.0, 20.0], [2.0, 30.0]])


def test_seasonal_difference_removes_a_yearly_pattern():
    season = np.tile(np.arange(12.0), 3)
    np.testing.assert_array_equal(difference(season + 5.0, lag=12), np.zeros(24))


@pytest.mark.parametrize("lag", [0, -1, 1.5, True])
def test_difference_rejects_a_lag_below_one(lag):
    with pytest.raises(InputError, match="lag"):
        difference(np.arange(5.0), lag=lag)


def test_difference_of_a_too_short_series_says_how_many_are_needed():
    with pytest.raises(InputError, match="lag=12 needs at least 13 observations; got 12"):
        difference(np.arange(12.0), lag=12)


# --- undifference_one_step ----------------------------------------------------------------------


def test_one_step_adds_each_forecast_to_the_true_value_lag_steps_before():
    history = np.array([10.0, 12.0, 15.0, 11.0])
    diffs = np.array([1.0, -1.0, 2.0])  # forecasts of positions 2, 3 and 4 (one past the end)
    np.testing.assert_array_equal(undifference_one_step(diffs, history, start=2), [13.0, 14.0, 13.0])
    np.testing.assert_array_equal(undifference_one_step(diffs[:2], history, start=3, lag=2), [13.0, 14.0])


def test_one_step_broadcasts_over_leading_member_axis():
    history = np.array([10.0, 12.0, 15.0, 11.0])
    diffs = np.array([[1.0, 1.0], [0.0, -1.0], [2.0, 2.0]])  # (members=3, n=2)
    np.testing.assert_array_equal(
        undifference_one_step(diffs, history, start=2), [[13.0, 16.0], [12.0, 14.0], [14.0, 17.0]]
    )


def test_one_step_handles_several_features():
    history = np.array([[1.0, 100.0], [2.0, 200.0], [3.0, 300.0]])
    diffs = np.array([[0.5, 5.0], [0.5, 5.0]])  # (n=2, features=2)
    np.testing.assert_array_equal(undifference_one_step(diffs, history, start=1), [[1.5, 105.0], [2.5, 205.0]])


def test_one_step_without_enough_history_is_an_input_error():
    with pytest.raises(InputError, match="needs history rows -1..0"):
        undifference_one_step(np.ones(2), np.arange(5.0), start=1, lag=2)
    with pytest.raises(InputError, match="history has rows 0..4"):
        undifference_one_step(np.ones(3), np.arange(5.0), start=4, lag=1)
    with pytest.raises(InputError, match="do not match"):
        undifference_one_step(np.ones((2, 3)), np.ones((5, 2)), start=1)


# --- undifference_recursive ---------------------------------------------------------------------


def test_recursive_builds_on_its_own_forecasts():
    # y[T+h] = d[h] + y[T+h-1]; last true value 10
    np.testing.assert_array_equal(undifference_recursive([1.0, 2.0, -1.0], [10.0]), [11.0, 13.0, 12.0])


def test_recursive_with_lag_two_keeps_two_chains():
    # last two true values 10, 20; y3 = 1 + 10, y4 = 2 + 20, y5 = 3 + y3, y6 = 4 + y4, y7 = 5 + y5
    out = undifference_recursive([1.0, 2.0, 3.0, 4.0, 5.0], [10.0, 20.0], lag=2)
    np.testing.assert_array_equal(out, [11.0, 22.0, 14.0, 26.0, 19.0])


def test_recursive_horizon_shorter_than_the_lag():
    out = undifference_recursive([1.0, 2.0], np.arange(12.0), lag=12)
    np.testing.assert_array_equal(out, [1.0, 3.0])


def test_recursive_handles_members_and_features():
    diffs = np.ones((4, 3, 2))  # (members, horizon, features)
    last = np.array([[0.0, 10.0]])  # (lag=1, features)
    out = undifference_recursive(diffs, last)
    assert out.shape == (4, 3, 2)
    np.testing.assert_array_equal(out[2], [[1.0, 11.0], [2.0, 12.0], [3.0, 13.0]])


def test_recursive_needs_exactly_lag_last_values():
    with pytest.raises(InputError, match="final lag=2 observations"):
        undifference_recursive(np.ones(3), [1.0, 2.0, 3.0], lag=2)


# --- properties ----------------------------------------------------------------------------------

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def series_and_lag(draw):
    lag = draw(st.integers(1, 12))
    x = draw(hnp.arrays(np.float64, st.integers(lag + 1, 60), elements=finite))
    return x, lag


def assert_close(actual, expected, scale):
    np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9 * scale)


@settings(max_examples=150, deadline=None)
@given(series_and_lag())
@example((np.arange(30.0) ** 2, 12))
def test_one_step_undifferencing_recovers_the_series(case):
    x, lag = case
    recovered = undifference_one_step(difference(x, lag), x, start=lag, lag=lag)
    assert_close(recovered, x[lag:], scale=max(1.0, np.abs(x).max()))


@settings(max_examples=150, deadline=None)
@given(series_and_lag())
@example((np.arange(30.0) ** 2, 12))
def test_recursive_undifferencing_recovers_the_series(case):
    x, lag = case
    recovered = undifference_recursive(difference(x, lag), x[:lag], lag=lag)
    # errors add up along each chain of len(x) / lag steps
    assert_close(recovered, x[lag:], scale=len(x) * max(1.0, np.abs(x).max()))


@st.composite
def scaler_inputs(draw):
    rows, columns = draw(st.integers(1, 30)), draw(st.integers(1, 3))
    if draw(st.booleans()):
        return np.full((rows, columns), draw(finite))  # constant columns: no division by zero
    return draw(hnp.arrays(np.float64, (rows, columns), elements=finite))


@settings(max_examples=100, deadline=None)
@given(scaler_inputs(), st.sampled_from(KINDS))
def test_scaler_inverse_transform_recovers_the_values(x, kind):
    scaler = Scaler(kind).fit(x)
    scaled = scaler.transform(x)
    assert np.isfinite(scaled).all()
    assert_close(scaler.inverse_transform(scaled), x, scale=max(1.0, np.abs(x).max()))


# --- Scaler --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, low, high", [("minmax", 0.0, 1.0), ("minmax-sym", -1.0, 1.0)])
def test_minmax_kinds_map_training_range_onto_their_range(kind, low, high):
    train = np.array([[2.0, -5.0], [4.0, 5.0], [6.0, 0.0]])
    scaled = Scaler(kind).fit(train).transform(train)
    np.testing.assert_allclose(scaled.min(axis=0), [low, low])
    np.testing.assert_allclose(scaled.max(axis=0), [high, high])


def test_standard_scaling_gives_zero_mean_unit_variance_per_column():
    train = np.random.default_rng(0).normal(5.0, 3.0, size=(200, 2))
    scaled = Scaler("standard").fit(train).transform(train)
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0)


def test_none_kind_returns_a_copy_of_the_values():
    x = np.array([3.0, 1.0])
    scaler = Scaler("none").fit(x)
    out = scaler.transform(x)
    np.testing.assert_array_equal(out, x)
    assert not np.shares_memory(out, x)


def test_default_kind_is_the_seeds_symmetric_range():
    assert Scaler().kind == "minmax-sym"


def test_scaler_uses_only_the_rows_it_was_fitted_on():
    scaler = Scaler("minmax").fit(np.array([0.0, 10.0]))
    np.testing.assert_allclose(scaler.transform(np.array([20.0, -10.0])), [2.0, -1.0])


@pytest.mark.parametrize("shape", [(7,), (7, 1), (2, 5, 1)])
def test_scaler_preserves_the_input_shape_for_one_feature(shape):
    scaler = Scaler("minmax-sym").fit(np.arange(10.0))
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    assert scaler.transform(x).shape == shape
    assert scaler.inverse_transform(scaler.transform(x)).shape == shape


def test_scaler_scales_windows_shaped_samples_steps_features_per_feature():
    train = np.array([[0.0, 0.0], [10.0, 100.0]])
    scaler = Scaler("minmax").fit(train)
    windows = np.array([[[5.0, 50.0], [10.0, 100.0]]])  # (samples=1, steps=2, features=2)
    np.testing.assert_allclose(scaler.transform(windows), [[[0.5, 0.5], [1.0, 1.0]]])


def test_scaler_rejects_a_different_number_of_features():
    scaler = Scaler().fit(np.zeros((4, 2)))
    with pytest.raises(InputError, match="fitted on 2 column"):
        scaler.transform(np.zeros((4, 3)))


def test_using_a_scaler_before_fit_raises_not_fitted():
    for method in (Scaler().transform, Scaler().inverse_transform):
        with pytest.raises(NotFittedError):
            method(np.arange(3.0))
    with pytest.raises(NotFittedError):
        Scaler().to_dict()


def test_unknown_kind_lists_the_kinds():
    with pytest.raises(InputError, match="choose one of: minmax, minmax-sym, standard, none"):
        Scaler("robust").fit(np.arange(3.0))


def test_fit_rejects_missing_values():
    with pytest.raises(InputError, match="NaN"):
        Scaler().fit(np.array([1.0, np.nan]))


def test_constructor_only_stores_its_argument_so_clone_works():
    scaler = Scaler("bogus")  # no validation until fit
    assert clone(scaler).get_params() == {"kind": "bogus"}
    fitted = Scaler("standard").fit(np.arange(4.0))
    assert not hasattr(clone(fitted), "scaler_")


@pytest.mark.parametrize("kind", KINDS)
def test_to_dict_survives_json_and_rebuilds_the_same_scaler(kind):
    train = np.array([[1.0, -3.0], [4.0, 8.0], [9.0, 2.0]])
    scaler = Scaler(kind).fit(train)
    state = json.loads(json.dumps(scaler.to_dict()))
    rebuilt = Scaler.from_dict(state)
    x = np.array([[0.0, 0.0], [5.0, 5.0]])
    np.testing.assert_array_equal(rebuilt.transform(x), scaler.transform(x))
    np.testing.assert_array_equal(rebuilt.inverse_transform(x), scaler.inverse_transform(x))
    assert all(isinstance(v, (str, int, float, list, dict)) for v in state.values())


def test_from_dict_rejects_corrupt_state():
    state = Scaler("minmax").fit(np.arange(3.0)).to_dict()
    del state["state"]["scale_"]
    with pytest.raises(ModelFileError, match="corrupt"):
        Scaler.from_dict(state)
    with pytest.raises(InputError):
        Scaler.from_dict({"kind": "weird", "n_features": 1, "state": {}})


# --- Scaler on columns without spread (issue 14: a series of 7s forecast 7.4, 7.8, 8.3) ---------------

MIDDLES = [("minmax", 0.5), ("minmax-sym", 0.0), ("standard", 0.0)]


@pytest.mark.parametrize("kind, middle", MIDDLES)
@pytest.mark.parametrize("value", [7.0, 0.1, -3.3e150, 1e-300, 0.0])
def test_a_constant_column_maps_to_the_middle_and_back_exactly(kind, middle, value):
    x = np.full(37, value)
    scaler = Scaler(kind).fit(x)
    scaled = scaler.transform(x)
    np.testing.assert_array_equal(scaled, np.full(37, middle))
    np.testing.assert_array_equal(scaler.inverse_transform(scaled), x)


@pytest.mark.parametrize("kind, middle", MIDDLES)
def test_any_finite_prediction_of_a_constant_column_comes_back_as_the_constant(kind, middle):
    scaler = Scaler(kind).fit(np.full(12, 7.0))
    predictions = np.array([middle, 0.9, -0.8, 1e6])  # what an untrained network might emit
    np.testing.assert_array_equal(scaler.inverse_transform(predictions), np.full(4, 7.0))


@pytest.mark.parametrize("kind", ["minmax", "minmax-sym", "standard"])
def test_non_finite_predictions_of_a_constant_column_stay_non_finite(kind):
    scaler = Scaler(kind).fit(np.full(12, 7.0))
    out = scaler.inverse_transform(np.array([np.nan, np.inf, -np.inf, 0.0]))
    assert np.isnan(out[0]) and out[1] == np.inf and out[2] == -np.inf and out[3] == 7.0


@pytest.mark.parametrize("kind", ["minmax", "minmax-sym", "standard"])
def test_a_column_with_spread_beside_a_constant_one_scales_as_before(kind):
    varying = np.array([[1.0], [4.0], [9.0], [2.0]])
    both = np.hstack([varying, np.full((4, 1), 7.0)])
    alone = Scaler(kind).fit(varying)
    together = Scaler(kind).fit(both)
    np.testing.assert_array_equal(together.transform(both)[:, 0], alone.transform(varying)[:, 0])
    probe = np.array([[0.3, 0.3], [-2.0, -2.0]])
    np.testing.assert_array_equal(together.inverse_transform(probe)[:, 0], alone.inverse_transform(probe[:, :1])[:, 0])
    np.testing.assert_array_equal(together.inverse_transform(probe)[:, 1], [7.0, 7.0])


@pytest.mark.parametrize("kind, middle", MIDDLES)
def test_a_rebuilt_scaler_keeps_the_constant_column_rule(kind, middle):
    scaler = Scaler(kind).fit(np.full(12, 0.1))
    rebuilt = Scaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(rebuilt.transform(np.full(3, 0.1)), np.full(3, middle))
    np.testing.assert_array_equal(rebuilt.inverse_transform(np.array([0.4, middle])), [0.1, 0.1])
