"""model="auto": the skeleton chosen on the training part, an LSTM ensemble on what it leaves, intervals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import lstmcast as lc
from lstmcast.errors import InputError, TrainingDivergedError
from lstmcast.evaluation import walk_forward
from lstmcast.forecaster import Forecaster

FAST = dict(model="auto", seed=0, epochs=20, members=3)


@pytest.fixture(scope="module")
def airline():
    return lc.datasets.load("airline")


@pytest.fixture(scope="module")
def fitted(airline):
    return Forecaster(**FAST).fit(airline.iloc[:-24])


def test_auto_infers_the_season_and_says_what_it_chose(fitted):
    assert fitted.season_length_ == 12
    chosen = fitted.chosen_
    assert chosen["season_length"] == 12 and chosen["look_back"] == 13 and chosen["members"] == 3
    import re

    def shape(text):  # the skeleton's structure: the chosen one is refitted on all training points
        return re.sub(r"\([^)]*\)", "", text)

    best = min(chosen["candidates"], key=lambda c: c["tail_rmse"])
    assert shape(chosen["chosen"]) == shape(best["skeleton"])
    json.dumps(chosen)  # JSON-able, for --json and model files
    assert fitted.network_.members == 3 and fitted.network_.config.units == 8


def test_auto_beats_persistence_on_airline_one_step(airline):
    result = walk_forward(Forecaster(**FAST), airline, test_size=24)
    assert result.rmse < 0.6 * result.baselines["persistence"]["rmse"]


def test_one_step_predictions_use_only_the_past(airline, fitted):
    start = len(airline) - 24
    base = fitted.predict(airline, start)
    changed = airline.copy()
    changed.iloc[-1] *= 3  # the last value is never an input of any one-step prediction
    assert np.allclose(fitted.predict(changed, start), base)
    changed.iloc[-2] *= 3  # but it is the input of the last prediction
    assert not np.allclose(fitted.predict(changed, start)[..., -1], base[..., -1])


def test_forecast_from_another_history_without_refitting(airline, fitted):
    own = fitted.forecast(6)
    same = fitted.forecast(6, y=airline.iloc[:-24])
    assert np.allclose(own.to_numpy(), same.to_numpy())
    later = fitted.forecast(6, y=airline)
    assert str(later.index[0]) == "1961-01"
    assert not np.allclose(later.to_numpy(), own.to_numpy())


def test_intervals_nest_widen_with_the_horizon_and_are_kept(fitted):
    out = fitted.forecast(12, level=[80, 95])
    assert list(out.columns) == ["forecast", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert (out["lower_95"] <= out["lower_80"]).all() and (out["lower_80"] <= out["forecast"]).all()
    assert (out["forecast"] <= out["upper_80"]).all() and (out["upper_80"] <= out["upper_95"]).all()
    width = (out["upper_80"] - out["lower_80"]).to_numpy()
    assert (np.diff(width) >= -1e-9).all() and width[-1] > width[0]
    bands = fitted.bands_
    assert fitted.forecast(6, level=[80]) is not None and fitted.bands_ is bands  # calibrated once


def test_auto_refuses_several_targets():
    frame = pd.DataFrame({"a": np.arange(40.0) + 1, "b": np.arange(40.0) + 2},
                         index=pd.period_range("2000-01", periods=40, freq="M"))
    with pytest.raises(InputError, match="one target"):
        Forecaster(model="auto", target="all", epochs=1).fit(frame)


def test_absurd_forecasts_are_divergence_not_numbers():
    history = np.array([[1.0], [2.0], [3.0]])
    Forecaster._check_sane(np.array([[[2.5]]]), history)  # inside the data: fine
    Forecaster._check_sane(np.array([[[1e5]]]), history)  # far, but not absurd
    with pytest.raises(TrainingDivergedError, match="data ranges"):
        Forecaster._check_sane(np.array([[[1e7]]]), history)
    with pytest.raises(TrainingDivergedError, match="not finite"):
        Forecaster._check_sane(np.array([[[np.nan]]]), history)


def test_prepared_series_share_one_network(airline):
    a, b = Forecaster(model="vanilla", look_back=3, epochs=2, seed=0), Forecaster(model="vanilla", look_back=3, seed=0)
    Xa, Ya, _ = a.prepare(airline.iloc[:60])
    Xb, Yb, _ = b.prepare(airline.iloc[60:120] * 2)
    import torch

    a.fit_windows(torch.cat([Xa, Xb]), torch.cat([Ya, Yb]))
    b.share_network(a)
    assert b.network_ is a.network_ and a.n_train_windows_ == len(Xa) + len(Xb)
    assert b.scaler_.to_dict() != a.scaler_.to_dict()  # each series keeps its own scaling
    assert np.isfinite(b.forecast(3).to_numpy()).all()


def test_new_history_starting_mid_season_keeps_the_seasonal_positions(airline):
    from lstmcast.data.skeleton import SeasonalIndices
    from lstmcast.forecaster import _periods_between, _Shifted

    x = np.log(airline.to_numpy())
    seasonal = SeasonalIndices(12).fit(x[:96])
    shifted = _Shifted(seasonal, 5)
    assert np.allclose(shifted.transform(x[5:]), seasonal.transform(x)[5:])
    z = seasonal.transform(x)
    assert np.allclose(shifted.inverse(z[5:], x[5:]), seasonal.inverse(z, x)[5:], equal_nan=True)
    assert _periods_between(airline.index, airline.index[5:]) == 5
    assert _periods_between(pd.RangeIndex(0, 10, 2), pd.RangeIndex(6, 20, 2)) == 3


def test_skeleton_weight_is_the_tail_minimum_and_reported(airline):
    history = airline.iloc[:-24] - 300  # negative values: no power transform, so blends add up in these units
    model = Forecaster(**FAST).fit(history)
    chosen = model.chosen_
    scores = {float(w): s for w, s in chosen["skeleton_weight_tail_rmse"].items()}
    assert set(scores) == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert chosen["skeleton_weight"] == min(scores, key=lambda w: (scores[w], w)) == model.skeleton_weight_
    # one weight's score recomputed independently: a forecaster fitted without the tail, blended by hand
    from lstmcast.data.skeleton import skeleton_forecasts

    tail = chosen["tail"]
    inner = Forecaster(**FAST, skeleton_weight=0.0).fit(history.iloc[:-tail])
    assert not inner.chosen_["log"] and inner.chosen_["power"] == "none"
    lstm = np.asarray(inner.predict(history, len(history) - tail)).mean(axis=0)
    own = skeleton_forecasts(inner.skeleton_, history.to_numpy())[len(history) - tail : -1]
    truth = history.to_numpy()[-tail:]
    blend = 0.5 * lstm + 0.5 * own
    assert scores[0.5] == pytest.approx(float(np.sqrt(np.mean((truth - blend) ** 2))), rel=1e-6)


def test_skeleton_weight_one_is_the_skeletons_own_forecast(airline, fitted):
    from lstmcast.data.skeleton import skeleton_forecasts

    model = Forecaster(**FAST, skeleton_weight=1.0).fit(airline.iloc[:-24])
    assert "skeleton_weight_tail_rmse" not in model.chosen_  # given, not chosen: no second fit
    start = len(airline) - 24
    own = skeleton_forecasts(model.skeleton_, airline.to_numpy())[start:-1]
    assert np.allclose(np.asarray(model.predict(airline, start)).mean(axis=0), own)
    lstm = Forecaster(**FAST, skeleton_weight=0.0).fit(airline.iloc[:-24])
    assert not np.allclose(np.asarray(lstm.predict(airline, start)).mean(axis=0), own)


def test_the_weight_is_fixed_at_fit_and_callbacks_see_it(airline):
    seen = []
    model = Forecaster(**FAST, skeleton_weight=0.75)
    model.fit(airline.iloc[:-24], callbacks=[lambda epoch, net, losses: seen.append(model._network_share())])
    assert seen and set(seen) == {0.25}  # every epoch scored the forecast as it will be made
    start = len(airline) - 24
    before = model.predict(airline, start)
    model.set_params(skeleton_weight=0.0)  # a parameter: takes effect at the next fit, not now
    assert np.array_equal(model.predict(airline, start), before)
    model.fit(airline.iloc[:-24])
    assert model.skeleton_weight_ == 0.0 and not np.allclose(model.predict(airline, start), before)


def test_refitting_drops_the_previous_bands(airline):
    model = Forecaster(**{**FAST, "epochs": 5}, units=4)
    small = model.fit(airline.iloc[:-24]).forecast(3, level=[80])
    large = model.fit(airline.iloc[:-24] * 100).forecast(3, level=[80])
    width = lambda f: (f["upper_80"] - f["lower_80"]).to_numpy()  # noqa: E731
    assert np.all(width(large) > 20 * width(small))  # calibrated on the new data, not reused


def test_a_saved_model_keeps_the_chosen_weight(tmp_path, airline):
    model = Forecaster(**FAST, units=4).fit(airline.iloc[:-24])
    # a weight the choice did not give, set as choose_skeleton_weight sets it
    model.chosen_, model.skeleton_weight_ = {**model.chosen_, "skeleton_weight": 0.75}, 0.75
    lc.save(model, tmp_path / "m.lstm")
    loaded = lc.load(tmp_path / "m.lstm")
    start = len(airline) - 24
    assert loaded.chosen_["skeleton_weight"] == 0.75 == loaded.skeleton_weight_
    assert np.allclose(loaded.predict(airline, start), model.predict(airline, start))
    model.skeleton_weight_ = 0.0
    assert not np.allclose(loaded.predict(airline, start), model.predict(airline, start))


def test_too_short_for_a_second_fit_keeps_the_lstm_and_says_why():
    y = lc.datasets.load("shampoo").iloc[:16]  # fits; its first 12 are too few for the second fit
    model = Forecaster(**FAST).fit(y)
    assert model.chosen_["skeleton_weight"] == 0.0 and model.chosen_["skeleton_weight_tail_rmse"] is None
    assert "not chosen" in model.chosen_["skeleton_weight_note"]
