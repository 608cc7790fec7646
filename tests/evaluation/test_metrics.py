import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn import metrics as skm

from lstmcast.errors import InputError
from lstmcast.evaluation.metrics import (
    METRICS,
    UndefinedMetricError,
    check_levels,
    coverage,
    level_label,
    mae,
    mape,
    mase,
    mean_width,
    rmse,
    score_all,
    smape,
    winkler,
)

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
nonzero = finite.filter(lambda v: abs(v) > 1e-3)


def test_hand_checked_values():
    y, p = [1.0, 2.0, 3.0], [1.0, 2.0, 5.0]
    assert rmse(y, p) == pytest.approx(math.sqrt(4 / 3))
    assert mae(y, p) == pytest.approx(2 / 3)
    assert mape([100.0, 200.0], [110.0, 180.0]) == pytest.approx(10.0)
    assert smape([100.0], [110.0]) == pytest.approx(200 * 10 / 210)
    # in-sample naive errors of [1, 2, 4] are 1 and 2: scale 1.5
    assert mase([5.0], [8.0], y_train=[1.0, 2.0, 4.0]) == pytest.approx(2.0)
    assert mase([5.0], [8.0], y_train=[1.0, 2.0, 4.0], m=2) == pytest.approx(1.0)


def test_one_model_gives_plain_floats():
    assert all(type(score) is float for score in score_all([1.0, 2.0], [1.5, 2.5], [1.0, 3.0]).values())


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 20).flatmap(lambda n: st.tuples(arrays(float, n, elements=nonzero), arrays(float, n, elements=finite))))
def test_agrees_with_scikit_learn(pair):
    y, p = pair
    assert rmse(y, p) == pytest.approx(skm.root_mean_squared_error(y, p), rel=1e-9, abs=1e-9)
    assert mae(y, p) == pytest.approx(skm.mean_absolute_error(y, p), rel=1e-9, abs=1e-9)
    assert mape(y, p) == pytest.approx(100 * skm.mean_absolute_percentage_error(y, p), rel=1e-9)


@settings(max_examples=50, deadline=None)
@given(
    st.tuples(st.integers(1, 4), st.integers(1, 15)).flatmap(
        lambda shape: st.tuples(
            arrays(float, shape[1], elements=nonzero), arrays(float, shape, elements=finite)
        )
    )
)
def test_members_axis_scores_each_member_like_a_solo_model(pair):
    y, members = pair
    train = np.array([1.0, 3.0, 2.0, 5.0])
    scores = score_all(y, members, train)
    for name, per_member in scores.items():
        assert per_member.shape == (members.shape[0],)
        solo = [score_all(y, row, train)[name] for row in members]
        np.testing.assert_allclose(per_member, solo, rtol=1e-12)


def test_a_nan_member_spoils_only_its_own_score():
    scores = rmse([1.0, 2.0], [[1.0, 2.0], [np.nan, 2.0]])
    assert scores[0] == 0.0 and np.isnan(scores[1])


@pytest.mark.parametrize("name", ["rmse", "mae", "mape", "smape"])
def test_length_mismatch_is_an_input_error(name):
    with pytest.raises(InputError, match=r"shape \(3,\) or \(members, 3\).*got shape \(2,\)"):
        METRICS[name]([1.0, 2.0, 3.0], [1.0, 2.0])


@pytest.mark.parametrize("name", ["rmse", "mae", "mape", "smape"])
def test_empty_input_is_an_input_error(name):
    with pytest.raises(InputError, match="empty"):
        METRICS[name]([], [])


def test_bad_inputs_are_input_errors():
    with pytest.raises(InputError, match="1-D"):
        rmse([[1.0, 2.0]], [[1.0, 2.0]])
    with pytest.raises(InputError, match="numeric"):
        rmse(["a", "b"], [1.0, 2.0])
    with pytest.raises(InputError, match="NaN"):
        mae([1.0, np.nan], [1.0, 2.0])


def test_mape_with_zeros_says_so():
    with pytest.raises(UndefinedMetricError, match=r"zero.*position 1.*smape or mase"):
        mape([1.0, 0.0, 2.0], [1.0, 1.0, 1.0])
    assert issubclass(UndefinedMetricError, InputError)


def test_smape_counts_zero_over_zero_as_perfect():
    assert smape([0.0, 1.0], [0.0, 1.0]) == 0.0
    assert smape([0.0], [5.0]) == pytest.approx(200.0)


def test_mase_with_a_zero_scale_is_an_input_error():
    with pytest.raises(UndefinedMetricError, match="constant"):
        mase([1.0], [2.0], y_train=[3.0, 3.0, 3.0])
    with pytest.raises(UndefinedMetricError, match="lag m=2"):
        mase([1.0], [2.0], y_train=[1.0, 5.0, 1.0, 5.0], m=2)
    with pytest.raises(UndefinedMetricError, match="more than 12 training values"):
        mase([1.0], [2.0], y_train=np.arange(12.0), m=12)
    with pytest.raises(InputError, match="m must be"):
        mase([1.0], [2.0], y_train=[1.0, 2.0], m=0)


def test_score_all_reports_undefined_metrics_as_none():
    scores = score_all([0.0, 2.0], [1.0, 2.0], y_train=[4.0, 4.0])
    assert list(scores) == list(METRICS) == ["rmse", "mae", "mape", "smape", "mase"]
    assert scores["mape"] is None and scores["mase"] is None
    assert scores["rmse"] == pytest.approx(math.sqrt(0.5))


def test_score_all_still_raises_on_bad_shapes():
    with pytest.raises(InputError, match="shape"):
        score_all([1.0, 2.0], [1.0], y_train=[1.0, 2.0])


# --- interval metrics ---------------------------------------------------------------------------
# y inside, above by 3, below by 1; every interval 2 wide
Y, LOW, UP = [1.0, 5.0, 3.0], [0.0, 0.0, 4.0], [2.0, 2.0, 6.0]


def test_interval_metrics_hand_checked():
    assert coverage(Y, LOW, UP) == pytest.approx(100 / 3)
    assert mean_width(LOW, UP) == pytest.approx(2.0)
    # alpha = 0.2 at 80%: penalties 2/0.2 * 3 and 2/0.2 * 1 on top of the widths
    assert winkler(Y, LOW, UP, 80) == pytest.approx((2 + 32 + 12) / 3)
    # at 50% the penalty factor is 4
    assert winkler(Y, LOW, UP, 50) == pytest.approx((2 + 14 + 6) / 3)


def test_bounds_count_as_inside():
    assert coverage([0.0, 2.0], [0.0, 0.0], [2.0, 2.0]) == 100.0
    assert winkler([0.0, 2.0], [0.0, 0.0], [2.0, 2.0], 95) == pytest.approx(2.0)


def test_interval_metrics_score_each_member():
    lower = np.array([LOW, [0.0, 4.0, 2.0]])
    upper = np.array([UP, [2.0, 6.0, 4.0]])
    np.testing.assert_allclose(coverage(Y, lower, upper), [100 / 3, 100.0])
    np.testing.assert_allclose(mean_width(lower, upper), [2.0, 2.0])
    np.testing.assert_allclose(winkler(Y, lower, upper, 80), [46 / 3, 2.0])


def test_crossed_or_mismatched_bounds_are_input_errors():
    with pytest.raises(InputError, match="lower is above upper at 1 position"):
        coverage([1.0, 2.0], [0.0, 3.0], [2.0, 2.5])
    with pytest.raises(InputError, match=r"shape \(3,\) or \(members, 3\)"):
        coverage(Y, [0.0, 0.0], [2.0, 2.0])
    with pytest.raises(InputError, match="same non-empty shape"):
        mean_width([0.0, 1.0], [2.0])


@pytest.mark.parametrize("level", [0, 100, -5, 150, "80", True, None, [80, 100]])
def test_levels_outside_0_100_are_input_errors(level):
    with pytest.raises(InputError, match="level"):
        check_levels(level)


def test_check_levels_sorts_deduplicates_and_keeps_integers():
    assert check_levels([95, 80.0, 95]) == (80, 95)
    assert all(type(v) is int for v in check_levels([95, 80.0]))
    assert check_levels(97.5) == (97.5,)
    assert [level_label(v) for v in check_levels([97.5, 80])] == ["80", "97.5"]
    with pytest.raises(InputError, match="empty"):
        check_levels([])
    with pytest.raises(InputError, match="level"):
        winkler(Y, LOW, UP, 100)
