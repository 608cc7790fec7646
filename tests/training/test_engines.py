"""Kernels: every config field declared for every kernel, fail-closed refusals, and the fused kernel's exactness."""

from __future__ import annotations

import copy
from dataclasses import field, fields, make_dataclass, replace

import numpy as np
import pytest
import torch

from lstmcast.errors import InputError
from lstmcast.models.zoo import ModelConfig, build_network
from lstmcast.training import engines
from lstmcast.training.fused import FusedKernel
from lstmcast.training.trainer import TrainConfig, member_loss, predict, train

TOL = 1e-5


def sine_windows(n: int = 44, steps: int = 4, features: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    t = torch.arange(n + steps, dtype=torch.float32)
    series = torch.stack([torch.sin(0.3 * t + f) for f in range(features)], dim=1)  # (time, features)
    X = series.unfold(0, steps, 1)[:n].transpose(1, 2).contiguous()  # (n, steps, features)
    return X, series[steps : steps + n, :1].unsqueeze(1)  # (n, 1, 1)


@pytest.mark.parametrize("kernel", engines.KERNEL_NAMES)
def test_every_field_of_both_configs_is_declared_for_every_kernel(kernel):
    table = engines.TABLES[kernel]
    for config in (ModelConfig, TrainConfig):
        missing = [f.name for f in fields(config) if f.name not in table]
        assert not missing, f"{kernel} does not declare {missing} of {config.__name__}"


def test_an_undeclared_field_is_refused_by_every_kernel():
    Extended = make_dataclass("Extended", [("new_knob", int, field(default=0))], bases=(TrainConfig,), frozen=True)
    for kernel in engines.KERNEL_NAMES:
        reason = engines.supports(kernel, ModelConfig(), Extended())
        assert reason is not None and "new_knob" in reason


@pytest.mark.parametrize(
    "engine, model_kw, train_kw, field_name",
    [
        ("fused", dict(activation="relu"), {}, "activation"),
        ("fused", dict(dropout=0.2), {}, "dropout"),
        ("fused", dict(architecture="bidirectional"), {}, "architecture"),
        ("numpy", dict(architecture="cnn-lstm", n_in=4), {}, "architecture"),
        ("numpy", {}, dict(optimizer="rmsprop"), "optimizer"),
    ],
)
def test_forcing_an_engine_it_cannot_train_names_the_reason(engine, model_kw, train_kw, field_name):
    cfg = ModelConfig(**{"n_in": 4, "units": 3, **model_kw})
    X, y = sine_windows(12)
    with pytest.raises(InputError, match=rf"engine='{engine}'.*{field_name}"):
        train(build_network(cfg, [0]), X, y, TrainConfig(epochs=1, engine=engine, **train_kw), [0])


def test_auto_picks_numpy_for_tiny_steps_fused_for_large_tanh_stacks_and_torch_otherwise():
    tc = TrainConfig()
    assert engines.choose(ModelConfig(units=4), tc, members=30, batch=4) == "numpy"
    assert engines.choose(ModelConfig(units=64, n_in=24), tc, members=1, batch=256) == "fused"
    assert engines.choose(ModelConfig(units=50, layers=2), tc, members=5, batch=32) == "fused"
    assert engines.choose(ModelConfig(units=50, layers=2), tc, members=30, batch=32) == "torch"
    assert engines.choose(ModelConfig(units=64, activation="relu"), tc, members=1, batch=256) == "torch"
    assert engines.choose(ModelConfig(units=64, architecture="bidirectional"), tc, members=1, batch=256) == "torch"


# ---- the fused kernel against our cell (the reference) -------------------------------------------------


@pytest.mark.parametrize("layers, n_out, features", [(1, 1, 1), (2, 1, 2), (3, 2, 1)])
def test_fused_forward_and_gradients_equal_the_reference_cell(layers, n_out, features):
    cfg = ModelConfig(architecture="vector", n_in=5, n_features=features, n_out=n_out, units=6, layers=layers)
    net = build_network(cfg, [3, 4])
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # non-trivial biases everywhere, so a bias mapped wrongly shows
        for p in net.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen))
    xb = torch.randn(2, 7, 5, features, generator=gen)
    yb = torch.randn(2, 7, n_out, 1, generator=gen)
    state = [(0.3 * torch.randn(2, 7, 6, generator=gen), 0.3 * torch.randn(2, 7, 6, generator=gen))
             for _ in range(layers)]

    pred, new_state = net(xb, state)
    member_loss(pred, yb, "mse").sum().backward()
    kernel = FusedKernel(net, TrainConfig())
    fused_pred, fused_state = kernel.forward(xb, state)
    torch.testing.assert_close(fused_pred, pred, atol=TOL, rtol=0)
    for (h, c), (fh, fc) in zip(new_state, fused_state):
        torch.testing.assert_close(fh, h, atol=TOL, rtol=0)
        torch.testing.assert_close(fc, c, atol=TOL, rtol=0)
    member_loss(fused_pred, yb, "mse").sum().backward()
    for k in range(2):
        for i, rnn in enumerate(net.rnns):
            lstm = kernel.lstms[k]
            torch.testing.assert_close(getattr(lstm, f"weight_ih_l{i}").grad.T, rnn.cell.w_x.grad[k], atol=TOL, rtol=0)
            torch.testing.assert_close(getattr(lstm, f"weight_hh_l{i}").grad.T, rnn.cell.w_h.grad[k], atol=TOL, rtol=0)
            torch.testing.assert_close(getattr(lstm, f"bias_ih_l{i}").grad, rnn.cell.bias.grad[k, 0], atol=TOL, rtol=0)
            assert getattr(lstm, f"bias_hh_l{i}").grad is None  # frozen: our cell has one bias
    torch.testing.assert_close(kernel.head_w.grad, net.head.weight.grad, atol=TOL, rtol=0)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
@pytest.mark.parametrize("stateful", [False, True])
def test_fused_training_ends_where_the_torch_kernel_ends(optimizer, stateful):
    X, y = sine_windows(40, features=2)
    cfg = ModelConfig(architecture="stacked", n_in=4, n_features=2, units=5)
    seeds = [0, 1, 2]
    a = build_network(cfg, seeds)
    b = copy.deepcopy(a)
    tc = TrainConfig(epochs=8, batch_size=8, learning_rate=0.1 if optimizer == "sgd" else 0.01,
                     optimizer=optimizer, stateful=stateful)
    h_ref = train(a, X, y, replace(tc, engine="torch"), seeds)
    h_fused = train(b, X, y, replace(tc, engine="fused"), seeds)
    assert h_fused.extra["engine"] == "fused"
    assert (h_ref.loss[-1] < h_ref.loss[0]).all()  # it learned, so equality means something
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(q, p, atol=TOL, rtol=0, msg=name)
    np.testing.assert_allclose(h_fused.loss, h_ref.loss, rtol=1e-4)


def test_fused_keeps_zero_padded_units_exactly_zero():
    X, y = sine_windows(24)
    wide = build_network(ModelConfig(architecture="stacked", n_in=4, units=5), [1, 2], member_units=[2, 5])
    train(wide, X, y, TrainConfig(epochs=4, batch_size=8, learning_rate=0.02, engine="fused"), [1, 2])
    narrow = build_network(ModelConfig(architecture="stacked", n_in=4, units=2), [1])
    train(narrow, X, y, TrainConfig(epochs=4, batch_size=8, learning_rate=0.02, engine="torch"), [1])
    torch.testing.assert_close(predict(wide, X)[0][0], predict(narrow, X)[0][0], atol=TOL, rtol=0)
    assert wide.rnns[0].cell.w_h[0, 2:].abs().max() == 0
