"""Forecaster: the scikit-learn contract, dated forecasts, one-step predictions, transforms, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

from lstmcast.data import datasets
from lstmcast.errors import InputError, NotFittedError
from lstmcast.evaluation.walk_forward import walk_forward
from lstmcast.forecaster import Forecaster

QUICK = dict(units=6, epochs=15, batch_size=8, seed=0)


@pytest.fixture(scope="module")
def shampoo() -> pd.Series:
    return datasets.load("shampoo")


def extend(y: pd.Series, values) -> pd.Series:
    """Return ``y`` followed by ``values`` on the next periods of its index."""
    index = pd.period_range(y.index[-1] + 1, periods=len(values), freq=y.index.freq)
    return pd.concat([y, pd.Series(np.asarray(values, dtype=float), index=index, name=y.name)])


def constant_head(f: Forecaster, value: float) -> Forecaster:
    """Make every output of the fitted network ``value`` (scaled units): zero head weights, bias ``value``."""
    with torch.no_grad():
        f.network_.head.weight.zero_()
        f.network_.head.bias.fill_(value)
    return f


# ---- scikit-learn contract --------------------------------------------------------------------


def test_constructor_stores_parameters_without_validating_them():
    f = Forecaster(model="stacked", look_back=0, units=7, seed=3, members=2)
    params = f.get_params()
    assert params["model"] == "stacked" and params["look_back"] == 0 and params["units"] == 7
    assert params["seed"] == 3 and params["members"] == 2
    assert params == {name: getattr(f, name) for name in params}
    assert not [name for name in vars(f) if name.endswith("_")]
    with pytest.raises(InputError, match="look_back"):
        f.fit(datasets.load("shampoo"))


def test_set_params_and_clone(shampoo):
    f = Forecaster(**QUICK)
    assert f.set_params(look_back=3, epochs=2) is f
    assert f.look_back == 3 and f.epochs == 2
    f.fit(shampoo)
    copy = clone(f)
    assert copy.get_params() == f.get_params()
    assert not hasattr(copy, "network_")
    with pytest.raises(NotFittedError):
        copy.forecast(1)


def test_fit_returns_self_and_sets_only_underscore_attributes(shampoo):
    f = Forecaster(look_back=2, **QUICK)
    before = set(vars(f))
    assert f.fit(shampoo) is f
    added = set(vars(f)) - before
    assert {"network_", "scaler_", "history_"} <= added
    assert all(name.endswith("_") for name in added), sorted(added)
    assert f.get_params() == Forecaster(look_back=2, **QUICK).get_params()  # fit changed no parameter


def test_not_fitted_error_before_fit(shampoo):
    f = Forecaster()
    with pytest.raises(NotFittedError):
        f.forecast(3)
    with pytest.raises(NotFittedError):
        f.predict(shampoo, 30)


# ---- forecast ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name, first", [("shampoo", "1994-01"), ("airline", "1961-01")])
def test_forecast_is_a_series_on_the_following_periods(name, first):
    y = datasets.load(name)
    f = Forecaster(look_back=3, units=4, epochs=2, batch_size=64, seed=1).fit(y)
    out = f.forecast(4)
    assert isinstance(out, pd.Series) and out.name == y.name
    expected = pd.period_range(first, periods=4, freq="M")
    assert out.index.equals(expected)
    assert np.isfinite(out).all()
    assert out.attrs["method"] == "recursive"
    assert f.forecast(1).attrs["method"] == "direct"


def test_direct_and_recursive_forecasts_with_three_steps_out(shampoo):
    f = Forecaster(model="vector", look_back=4, steps_out=3, difference=1, **QUICK).fit(shampoo)
    three, two, five = f.forecast(3), f.forecast(2), f.forecast(5)
    assert three.attrs["method"] == "direct" and two.attrs["method"] == "direct"
    assert five.attrs["method"] == "recursive"
    np.testing.assert_allclose(two.to_numpy(), three.to_numpy()[:2])
    np.testing.assert_allclose(five.to_numpy()[:3], three.to_numpy())  # the first block is the direct one
    # the second block starts from the window that ends with the three forecasts
    fourth = f.predict(extend(shampoo, [*three.to_numpy(), 0.0]), start=len(shampoo) + 3)
    np.testing.assert_allclose(five.to_numpy()[3], fourth[-1], rtol=1e-5)
    assert five.index.equals(pd.period_range("1994-01", periods=5, freq="M"))


@pytest.mark.parametrize("stateful", [False, True], ids=["stateless", "stateful"])
def test_recursive_forecast_equals_one_step_predictions_on_its_own_forecasts(shampoo, stateful):
    f = Forecaster(look_back=2, difference=1, stateful=stateful, batch_size=1 if stateful else 8,
                   units=4, epochs=4 if stateful else 15, seed=2).fit(shampoo)
    out = f.forecast(3).to_numpy()
    again = f.predict(extend(shampoo, [out[0], out[1], -999.0]), start=len(shampoo))
    np.testing.assert_allclose(again, out, rtol=1e-5)
    assert np.ptp(out) > 1e-3  # not a flat line, so the feedback is really tested


def test_ensemble_forecast_is_the_mean_of_its_members(shampoo):
    f = Forecaster(look_back=3, members=3, **QUICK).fit(shampoo)
    members = f.forecast(4, return_members=True)
    assert list(members.columns) == ["member_0", "member_1", "member_2"]
    assert members.index.equals(pd.period_range("1994-01", periods=4, freq="M"))
    assert members.attrs["method"] == "recursive"
    np.testing.assert_allclose(f.forecast(4).to_numpy(), members.mean(axis=1).to_numpy(), rtol=1e-12)
    assert members.std(axis=1).min() > 1e-3  # the members differ


def test_member_k_of_an_ensemble_equals_a_solo_forecaster_with_its_seed(shampoo):
    kw = dict(look_back=3, units=6, epochs=15, batch_size=8, difference=1)
    ensemble = Forecaster(members=3, seed=10, **kw).fit(shampoo)
    solo = Forecaster(seed=11, **kw).fit(shampoo)
    by_list = Forecaster(seed=[12, 11], **kw).fit(shampoo)
    assert ensemble.seeds_ == [10, 11, 12] and by_list.seeds_ == [12, 11]
    members = ensemble.forecast(3, return_members=True)
    np.testing.assert_allclose(members["member_1"].to_numpy(), solo.forecast(3).to_numpy(), rtol=1e-4)
    np.testing.assert_allclose(by_list.forecast(3, return_members=True)["member_1"], solo.forecast(3), rtol=1e-4)
    np.testing.assert_allclose(ensemble.predict(shampoo, 30)[1], solo.predict(shampoo, 30), rtol=1e-4)
    with pytest.raises(InputError, match="seed"):
        Forecaster(members=3, seed=[1, 2], **kw).fit(shampoo)


# ---- one-step predictions ---------------------------------------------------------------------


def test_predict_shapes_for_one_member_and_an_ensemble(shampoo):
    one = Forecaster(look_back=3, **QUICK).fit(shampoo[:24])
    three = Forecaster(look_back=3, members=3, **QUICK).fit(shampoo[:24])
    assert one.predict(shampoo, 24).shape == (12,)
    assert three.predict(shampoo, 24).shape == (3, 12)
    assert three.predict(shampoo, 3).shape == (3, 33)


def test_predict_uses_only_true_values_before_each_position(shampoo):
    f = Forecaster(look_back=3, difference=1, **QUICK).fit(shampoo[:24])
    base = f.predict(shampoo, 24)
    changed = shampoo.copy()
    changed.iloc[30] += 100.0
    moved = f.predict(changed, 24)
    np.testing.assert_allclose(moved[:7], base[:7])  # positions 24..30 do not see y[30]
    # 31..34 do: y[30] is in the differences y[30]-y[29] and y[31]-y[30] of their 3-step windows
    assert np.abs(moved[7:11] - base[7:11]).min() > 1e-6
    np.testing.assert_allclose(moved[11], base[11])  # 35 reads differences 32..34 and y[34] only


@pytest.mark.parametrize("lag", [1, 12])
def test_zero_network_with_differencing_predicts_the_true_value_lag_steps_back(shampoo, lag):
    f = constant_head(Forecaster(look_back=2, difference=lag, scale="none", **QUICK).fit(shampoo[:26]), 0.0)
    y = shampoo.to_numpy()
    np.testing.assert_array_equal(f.predict(shampoo, 26), y[26 - lag : 36 - lag])  # persistence / seasonal naive
    forecast = f.forecast(14).to_numpy()
    expected = np.array([y[26 - lag + (h % lag)] for h in range(14)])  # the last season repeated
    np.testing.assert_array_equal(forecast, expected)


def test_differenced_outputs_are_undifferenced_one_step_and_accumulated_recursively(shampoo):
    f = constant_head(Forecaster(look_back=2, difference=1, scale="minmax-sym", **QUICK).fit(shampoo[:24]), 0.25)
    step = f.scaler_.inverse_transform(np.array([[0.25]]))[0, 0]  # the constant difference in data units
    d = np.diff(shampoo.to_numpy()[:24])
    assert step == pytest.approx(d.min() + (0.25 + 1) / 2 * (d.max() - d.min()))
    y = shampoo.to_numpy()
    np.testing.assert_allclose(f.predict(shampoo, 24), y[23:35] + step, rtol=1e-6)
    np.testing.assert_allclose(f.forecast(3).to_numpy(), y[23] + step * np.arange(1, 4), rtol=1e-6)


def test_scaler_is_fitted_on_the_training_part_only(shampoo):
    f = Forecaster(look_back=2, difference=1, scale="minmax", **QUICK).fit(shampoo[:24])
    train = np.diff(shampoo.to_numpy()[:24])
    everything = np.diff(shampoo.to_numpy())
    assert (everything.min(), everything.max()) != (train.min(), train.max())  # else this proves nothing
    np.testing.assert_allclose(f.scaler_.scaler_.data_min_, [train.min()])
    np.testing.assert_allclose(f.scaler_.scaler_.data_max_, [train.max()])

    with_validation = Forecaster(look_back=2, difference=1, scale="minmax", validation_size=3, **QUICK)
    with_validation.fit(shampoo[:24])
    np.testing.assert_allclose(with_validation.scaler_.scaler_.data_min_, [train[:-3].min()])
    assert train[:-3].min() != train.min()  # the smallest difference is one of the 3 validation targets
    assert with_validation.history_.val_loss is not None


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [(dict(look_back=0), "look_back"), (dict(steps_out=0), "steps_out"), (dict(members=0), "members"),
     (dict(difference=-1), "difference"), (dict(model="gru"), "gru"), (dict(framing="lags"), "framing"),
     (dict(activation="elu"), "activation")],
)
def test_bad_parameters_are_input_errors_at_fit(shampoo, params, match):
    with pytest.raises(InputError, match=match):
        Forecaster(**{**QUICK, **params}).fit(shampoo)


def test_series_shorter_than_look_back_plus_steps_out_plus_difference(shampoo):
    f = Forecaster(look_back=4, steps_out=2, difference=1, **QUICK)
    with pytest.raises(InputError, match=r"at least 7 observations; the series has 6"):
        f.fit(shampoo[:6])
    f.fit(shampoo[:7])  # exactly enough: one window
    assert f.n_train_windows_ == 1


def test_nans_horizon_and_start_are_checked(shampoo):
    holed = shampoo.copy()
    holed.iloc[5] = np.nan
    with pytest.raises(InputError, match="NaN"):
        Forecaster(**QUICK).fit(holed)
    f = Forecaster(look_back=3, difference=1, **QUICK).fit(shampoo[:24])
    with pytest.raises(InputError, match="horizon"):
        f.forecast(0)
    with pytest.raises(InputError, match="start"):
        f.predict(shampoo, 3)  # needs look_back + difference = 4 values before it
    with pytest.raises(InputError, match="start"):
        f.predict(shampoo, 36)
    with pytest.raises(InputError, match="NaN"):
        f.predict(holed, 24)
    assert f.predict(shampoo, 4).shape == (32,)


# ---- evaluation and frames --------------------------------------------------------------------


def test_walk_forward_runs_the_forecaster_unchanged_and_reports_members(shampoo):
    f = Forecaster(look_back=3, difference=1, members=3, **QUICK)
    result = walk_forward(f, shampoo, test_size=12)
    assert not hasattr(f, "network_")  # the caller's forecaster is not fitted
    assert result.predictions.index.equals(shampoo.index[-12:])
    assert result.member_predictions.shape == (3, 12)
    assert len(result.member_metrics["rmse"]) == 3
    np.testing.assert_allclose(result.predictions.to_numpy(), result.member_predictions.mean(axis=0))
    by_hand = clone(f).fit(shampoo[:24]).predict(shampoo, 24)
    np.testing.assert_allclose(result.member_predictions, by_hand, rtol=1e-6)
    persistence = result.baselines["persistence"]["rmse"]
    assert 0 < result.rmse < 3 * persistence  # a sane model, not a broken one


def test_dataframe_with_all_targets_forecasts_every_column():
    frame = datasets.toy_multivariate()
    f = Forecaster(look_back=3, target="all", scale="minmax", units=8, epochs=5, seed=0).fit(frame)
    out = f.forecast(2)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["in1", "in2", "out"]
    assert list(out.index) == [9, 10] and out.attrs["method"] == "recursive"
    assert f.predict(frame, 5).shape == (4, 3)
    ensemble = Forecaster(look_back=3, target="all", members=2, units=8, epochs=5, seed=0).fit(frame)
    assert ensemble.predict(frame, 5).shape == (2, 4, 3)
    with pytest.raises(InputError, match="one target; this forecaster has 3 targets"):
        ensemble.forecast(1, return_members=True)


def test_dataframe_with_one_target_forecasts_that_column_directly_only():
    frame = datasets.toy_multivariate()
    f = Forecaster(look_back=3, target="in2", units=8, epochs=5, seed=0).fit(frame)
    out = f.forecast(1)
    assert isinstance(out, pd.Series) and out.name == "in2"
    assert f.predict(frame, 5).shape == (4,)
    with pytest.raises(InputError, match="steps_out"):
        f.forecast(2)
    with pytest.raises(InputError, match="target"):
        Forecaster(target="nope", epochs=1).fit(frame)
    default = Forecaster(look_back=3, units=4, epochs=1, seed=0).fit(frame)
    assert default.forecast(1).name == "out"  # the last column by default


def test_stateful_batch_must_divide_the_windows_unless_the_oldest_are_trimmed(shampoo):
    kw = dict(look_back=1, difference=1, stateful=True, batch_size=4, units=4, epochs=2, seed=0)
    with pytest.raises(InputError, match=r"34 training samples; batch_size=4"):
        Forecaster(**kw).fit(shampoo)  # 35 differences, 34 windows
    f = Forecaster(trim=2, **kw).fit(shampoo)
    assert f.n_train_windows_ == 32
    assert f.predict(shampoo, 4).shape == (32,)
    with pytest.raises(InputError, match="trim"):
        f.predict(shampoo, 3)  # the replay starts after the trimmed windows
    np.testing.assert_allclose(f.predict(shampoo, 30), f.predict(shampoo, 4)[-6:], rtol=1e-6)


def test_features_framing_reads_the_look_back_as_features_of_one_step(shampoo):
    f = Forecaster(look_back=4, framing="features", **QUICK).fit(shampoo)
    assert f.network_.config.n_in == 1 and f.network_.config.n_features == 4
    assert f.predict(shampoo, 30).shape == (6,)
    assert f.forecast(2).shape == (2,)


def test_a_plain_array_is_forecast_on_the_following_integer_positions():
    y = np.sin(np.arange(30) * 0.5) * 10 + 50
    f = Forecaster(look_back=3, units=4, epochs=3, seed=0).fit(y)
    out = f.forecast(3)
    assert list(out.index) == [30, 31, 32]
    assert f.predict(y, 25).shape == (5,)


def _two_columns() -> pd.DataFrame:
    idx = pd.period_range("2000-01", periods=40, freq="M")
    t = np.arange(40.0)
    return pd.DataFrame({"a": 100 + 3 * t, "b": 0.05 * np.sin(t)}, index=idx)


def test_walk_forward_scores_the_forecasters_own_target_column():
    frame = _two_columns()
    f = Forecaster(look_back=2, units=2, epochs=3, target="a", seed=0)
    result = walk_forward(f, frame, test_size=6)
    assert result.actual.name == "a"
    np.testing.assert_array_equal(result.actual.to_numpy(), frame["a"].to_numpy()[-6:])
    # persistence on the same column: its error is the trend step, 3 per month
    assert result.baselines["persistence"]["rmse"] == pytest.approx(3.0)


def test_walk_forward_refuses_to_score_every_column_at_once():
    with pytest.raises(InputError, match="one target"):
        walk_forward(Forecaster(look_back=2, units=2, epochs=1, target="all"), _two_columns(), test_size=6)


def test_dropout_members_equal_solo_runs_and_stay_in_training_mode_after_predicting_callbacks():
    y = datasets.load("shampoo")
    modes = []
    params = dict(look_back=3, units=8, dropout=0.3, epochs=4, batch_size=8)
    pair = Forecaster(**params, seed=[3, 4])

    def callback(epoch, net, losses):
        modes.append(net.training)
        pair.predict(y, 30)  # puts the network in eval mode

    pair.fit(y, callbacks=(callback,))
    assert modes == [True] * 4  # every epoch trained with dropout on
    solo = Forecaster(**params, seed=[4]).fit(y)
    for p, q in zip(pair.network_.parameters(), solo.network_.parameters()):
        torch.testing.assert_close(p[1], q[0], atol=1e-6, rtol=0)


def test_patience_without_a_validation_split_is_an_input_error():
    with pytest.raises(InputError, match="validation_size"):
        Forecaster(patience=3).fit(datasets.load("shampoo"))
