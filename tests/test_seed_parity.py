"""Seed parity: the Keras examples of seed 003 and the Airline tutorial of seed 004, configured as there.

Every example is a small ensemble (one member per seed) so that the assertion is about the
configuration, not about one lucky initialisation. The seeds' printed outputs are one run each.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from lstmcast.data import datasets
from lstmcast.data.windows import windows
from lstmcast.evaluation.walk_forward import walk_forward
from lstmcast.forecaster import Forecaster
from lstmcast.models.zoo import ModelConfig, build_network
from lstmcast.training.trainer import TrainConfig, predict, train

# What seed 003 printed for `yhat` (one Keras run each; the tutorial expects 100 and 205).
SEED_003 = {
    "vanilla": 102.09213,
    "stacked": 102.47341,
    "bidirectional": 101.48093,
    "cnn-lstm": 101.69263,
    "multiple-input": 208.13531,
    "parallel": [101.76599, 108.730484, 206.63577],
    "multi-step": [100.98096, 113.28924],
}
SEED_004_TIME_STEPS_TEST_RMSE = 58.88  # "LSTM for Regression Using Time Steps", look_back 3


@pytest.fixture(autouse=True)
def one_blas_thread():
    """The NumPy engine's 100-unit products run 5-10x slower with OpenBLAS threads on a busy machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def members_of(f: Forecaster, horizon: int = 1) -> np.ndarray:
    return f.forecast(horizon, return_members=True).to_numpy().T  # (members, horizon)


# ---- univariate: [10, 20, ..., 90] -> 100 --------------------------------------------------------


@pytest.mark.parametrize("model", ["vanilla", "stacked", "bidirectional"])
def test_univariate_three_steps_predict_100(model):
    # LSTM(50, relu) [+ LSTM(50, relu)] + Dense(1), adam, mse, 200 epochs, unscaled, shuffled (Keras' default)
    f = Forecaster(model=model, look_back=3, units=50, activation="relu", epochs=200, scale="none",
                   shuffle=True, members=3, seed=0).fit(datasets.toy_univariate())
    forecast = f.forecast(1)
    assert forecast.attrs["method"] == "direct"
    assert forecast.iloc[0] == pytest.approx(100, abs=5)
    assert forecast.iloc[0] == pytest.approx(SEED_003[model], abs=5)
    assert np.all(np.abs(members_of(f) - 100) < 10)


@pytest.mark.parametrize("model, kernel", [("cnn-lstm", 1), ("conv-lstm", 2)])
def test_univariate_subsequences_predict_100(model, kernel):
    # look_back 4 read as n_seq=2 subsequences of n_steps=2; 64 filters; CNN: Conv1D(kernel 1) + MaxPooling1D(2)
    # + Flatten, ConvLSTM2D kernel (1, 2); then LSTM(50, relu)/Flatten + Dense(1); 500 epochs as in the seed
    f = Forecaster(model=model, look_back=4, subsequences=2, filters=64, kernel=kernel, units=50,
                   activation="relu", epochs=500, scale="none", members=3, seed=0).fit(datasets.toy_univariate())
    assert f.network_.config.kernel_size == kernel
    yhat = f.forecast(1).iloc[0]  # from [60, 70, 80, 90]
    assert yhat == pytest.approx(100, abs=5)
    assert yhat == pytest.approx(SEED_003["cnn-lstm"], abs=5)  # the seed prints no ConvLSTM value


# ---- multivariate -------------------------------------------------------------------------------


def test_multiple_input_series_predict_205():
    # in1, in2 -> out on the same row (align "last"); LSTM(50, relu) + Dense(1), 200 epochs
    values = datasets.toy_multivariate().to_numpy()
    X, y = windows(values, 3, 1, inputs=[0, 1], targets=[2], align="last")
    np.testing.assert_array_equal(X[0], [[10, 15], [20, 25], [30, 35]])
    assert y[0, 0, 0] == 65
    seeds = [0, 1, 2, 3, 4]
    net = build_network(ModelConfig(n_in=3, n_features=2, units=50, activation="relu"), seeds)
    train(net, torch.tensor(np.array(X), dtype=torch.float32), torch.tensor(np.array(y), dtype=torch.float32),
          TrainConfig(epochs=200), seeds)
    yhat, _ = predict(net, torch.tensor([[[80.0, 85.0], [90.0, 95.0], [100.0, 105.0]]]))
    assert yhat.shape == (5, 1, 1, 1)
    assert yhat.mean().item() == pytest.approx(205, abs=10)
    assert yhat.mean().item() == pytest.approx(SEED_003["multiple-input"], abs=10)


@pytest.mark.slow
def test_parallel_series_predict_the_next_row():
    # every column -> the next row; LSTM(100, relu, return_sequences) + LSTM(100, relu) + Dense(3), 400 epochs
    f = Forecaster(model="stacked", look_back=3, units=100, activation="relu", epochs=400, scale="none",
                   target="all", members=3, seed=0).fit(datasets.toy_multivariate())
    out = f.forecast(1)  # from [[70, 75, 145], [80, 85, 165], [90, 95, 185]]
    assert list(out.columns) == ["in1", "in2", "out"]
    np.testing.assert_allclose(out.to_numpy()[0], [100, 105, 205], atol=10)
    np.testing.assert_allclose(out.to_numpy()[0], SEED_003["parallel"], atol=10)


@pytest.mark.slow
def test_multi_step_vector_output_predicts_100_and_110():
    # LSTM(100, relu, return_sequences) + LSTM(100, relu) + Dense(2). The seed trains 50 epochs and got
    # [101.0, 113.3] in one Keras run; here 50 epochs leave every member undertrained (mse 60-110,
    # ensemble [116.5, 129.4]), so we train to convergence: 500 epochs give [103.6, 115.2].
    f = Forecaster(model="vector", look_back=3, steps_out=2, units=100, activation="relu", epochs=500,
                   scale="none", members=3, seed=0).fit(datasets.toy_univariate())
    out = f.forecast(2)
    assert out.attrs["method"] == "direct"
    np.testing.assert_allclose(out.to_numpy(), [100, 110], atol=10)
    np.testing.assert_allclose(out.to_numpy(), SEED_003["multi-step"], atol=10)
    assert out.iloc[1] - out.iloc[0] == pytest.approx(10, abs=5)  # the step, not just the level


# ---- Airline (seed 004): time-steps framing, look_back 3, LSTM(4), 100 epochs, batch 1 -------------


@pytest.mark.slow
def test_airline_time_steps_lstm_is_near_persistence_and_far_below_the_mean():
    y = datasets.load("airline")
    n_train = int(len(y) * 0.67)
    assert (n_train, len(y) - n_train) == (96, 48)
    f = Forecaster(model="vanilla", look_back=3, units=4, activation="tanh", epochs=100, batch_size=1,
                   scale="minmax", difference=0, members=5, seed=0)
    result = walk_forward(f, y, test_size=48, baselines=("persistence", "mean"))
    persistence = result.baselines["persistence"]["rmse"]
    mean = result.baselines["mean"]["rmse"]
    assert persistence == pytest.approx(48.04, abs=0.01)
    # Measured: ensemble 59.6 (members 52-74), seed 004 printed 58.88 (scaler fitted on all data).
    # Persistence is hard to beat on this split with 4 units; predicting y[t-2] instead would score 78.
    assert result.rmse < 1.35 * persistence
    assert result.rmse < 0.3 * mean
    assert result.rmse == pytest.approx(SEED_004_TIME_STEPS_TEST_RMSE, abs=10)
    assert result.member_predictions.shape == (5, 48)

    fitted = Forecaster(**{**f.get_params(), "members": 1}).fit(y[:n_train])
    assert fitted.scaler_.scaler_.data_max_[0] == y[:n_train].max() < y.max()  # fitted on the training part
