"""Divergence is never silent: training and prediction end in finite numbers or TrainingDivergedError."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from lstmcast.errors import InputError, TrainingDivergedError
from lstmcast.models.zoo import ModelConfig, build_network
from lstmcast.training import engines
from lstmcast.training.trainer import TrainConfig, _raise_if_numerical, predict, train


def unscaled_ramp(n: int = 36, look_back: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows of 0..100 unscaled: large inputs make unstable settings blow up quickly."""
    series = torch.linspace(0, 100, n + look_back)
    return series.unfold(0, look_back, 1)[:n].unsqueeze(-1), series[look_back:].view(-1, 1, 1)


SWEEP = [  # (activation, learning rate, epochs, engine): 24 unstable-leaning configurations
    (act, lr, epochs, engine)
    for (act, lr, epochs), engine in zip(
        itertools.product(("relu", "tanh"), (0.1, 10.0, 1e3, 1e6), (1, 5, 30)),
        itertools.cycle(("auto", "torch", "numpy", "fused")),
    )
]


def outcome(activation: str, lr: float, epochs: int, engine: str) -> str:
    X, y = unscaled_ramp()
    cfg = ModelConfig(n_in=3, units=8, activation=activation)
    if engine == "fused" and engines.supports("fused", cfg, TrainConfig()) is not None:
        engine = "torch"
    net = build_network(cfg, [0, 1])
    try:
        train(net, X, y, TrainConfig(epochs=epochs, batch_size=8, learning_rate=lr, engine=engine), [0, 1])
        out, _ = predict(net, X)
    except TrainingDivergedError as err:
        assert "learning rate" in str(err) and "member(s)" in str(err), str(err)
        return "diverged"
    assert torch.isfinite(out).all()
    return "finite"


@pytest.mark.parametrize("activation, lr, epochs, engine", SWEEP)
def test_every_unstable_configuration_trains_to_finite_outputs_or_raises_diverged(activation, lr, epochs, engine):
    assert outcome(activation, lr, epochs, engine) in ("finite", "diverged")  # any other exception fails


def test_the_sweep_reaches_both_endings():
    assert outcome("tanh", 0.1, 5, "torch") == "finite"
    assert outcome("relu", 1e6, 5, "numpy") == "diverged"
    assert outcome("relu", 1e6, 1, "torch") == "diverged"


@pytest.mark.parametrize("engine", ["torch", "numpy", "fused"])
def test_an_infinite_learning_rate_in_one_step_is_caught_after_the_last_step(engine):
    # one epoch of one batch: the only loss is computed before the update, so only the parameter check sees it
    X, y = unscaled_ramp(6)
    net = build_network(ModelConfig(n_in=3, units=4), [0])
    with pytest.raises(TrainingDivergedError, match=r"epoch 1\b.*member\(s\) \[0\].*learning rate"):
        train(net, X, y, TrainConfig(epochs=1, batch_size=64, learning_rate=float("inf"), engine=engine), [0])


def test_predict_names_the_members_whose_outputs_are_not_finite():
    net = build_network(ModelConfig(n_in=3, units=4), [0, 1, 2])
    X, y = unscaled_ramp(8)
    train(net, X, y, TrainConfig(epochs=2, batch_size=4), [0, 1, 2])
    with torch.no_grad():
        net.head.bias[1] = float("nan")
    with pytest.raises(TrainingDivergedError, match=r"member\(s\) \[1\].*after 2 training epoch.*learning rate"):
        predict(net, X)
    with pytest.raises(InputError, match="NaN or infinite"):  # bad input is the caller's problem, not divergence
        predict(build_network(ModelConfig(n_in=3, units=4), [0]), torch.full((2, 3, 1), float("nan")))


class _Blowup:
    """A stand-in kernel whose parameters are finite or not."""

    def __init__(self, finite: bool):
        self.finite = finite

    def nonfinite_members(self) -> np.ndarray:
        return np.array([not self.finite])


def test_a_raw_overflow_error_becomes_diverged_but_other_errors_pass_through():
    tc = TrainConfig(learning_rate=5.0)
    overflow = RuntimeError("value cannot be converted to type float without overflow")
    with pytest.raises(TrainingDivergedError, match=r"epoch 3 .*overflow.*learning_rate=5.0") as info:
        _raise_if_numerical(overflow, _Blowup(finite=True), 2, tc)
    assert info.value.__cause__ is overflow
    with pytest.raises(TrainingDivergedError, match=r"member\(s\) \[0\]"):
        _raise_if_numerical(ValueError("shapes do not match"), _Blowup(finite=False), 0, tc)
    # a bug with finite parameters is left to the caller, which re-raises it as it is
    assert _raise_if_numerical(RuntimeError("shapes do not match"), _Blowup(finite=True), 0, tc) is None
