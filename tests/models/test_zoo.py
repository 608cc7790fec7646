"""The architectures: output shapes for every layout, the stateful carry, config validation."""

from __future__ import annotations

import pytest
import torch

from lstmcast.errors import InputError
from lstmcast.models.layers import LSTM
from lstmcast.models.zoo import ARCHITECTURES, ModelConfig, build_network
from lstmcast.training.trainer import detach_state

# (n_in, n_features, n_out, n_targets): univariate, multi-feature, multi-step, several targets
LAYOUTS = {
    "univariate": (4, 1, 1, 1),
    "multi-feature": (4, 3, 1, 1),
    "multi-step": (4, 1, 3, 1),
    "several-targets": (6, 3, 3, 2),
}


def config(architecture: str, n_in=4, n_features=1, n_out=1, n_targets=1, units=5, **kw) -> ModelConfig:
    return ModelConfig(architecture=architecture, n_in=n_in, n_features=n_features, n_out=n_out,
                       n_targets=n_targets, units=units, filters=4, **kw)


def inputs(members: int, batch: int, n_in: int, n_features: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(members, batch, n_in, n_features, generator=torch.Generator().manual_seed(seed))


def map_state(state, fn):
    """Return ``state`` (nested lists/tuples of tensors) with ``fn`` applied to every tensor."""
    if isinstance(state, torch.Tensor):
        return fn(state)
    return type(state)(map_state(s, fn) for s in state)


def tensors(state) -> list[torch.Tensor]:
    if isinstance(state, torch.Tensor):
        return [state]
    return [t for s in state for t in tensors(s)]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_output_is_members_batch_steps_out_targets(architecture, layout):
    n_in, n_features, n_out, n_targets = LAYOUTS[layout]
    net = build_network(config(architecture, n_in, n_features, n_out, n_targets), seeds=[0, 1])
    with torch.no_grad():
        y, state = net(inputs(2, 7, n_in, n_features))
    assert y.shape == (2, 7, n_out, n_targets)
    assert torch.isfinite(y).all()
    assert all(t.shape[:2] == (2, 7) for t in tensors(state))


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_state_is_returned_and_changes_outputs_when_passed_back(architecture):
    net = build_network(config(architecture, n_features=2), seeds=[3, 4])
    x = inputs(2, 5, 4, 2, seed=1)
    with torch.no_grad():
        y0, state = net(x)
        y_again, _ = net(x, None)
        y_carried, state2 = net(x, state)
        zeros = map_state(state, torch.zeros_like)
        y_zero_state, _ = net(x, zeros)
    assert len(state) >= 1 and all(isinstance(s, tuple) and len(s) == 2 for s in state)  # (h, c) per layer
    torch.testing.assert_close(y_again, y0, atol=0, rtol=0)
    torch.testing.assert_close(y_zero_state, y0, atol=1e-6, rtol=0)  # None means a zero state
    assert (y_carried - y0).abs().max() > 1e-4
    assert any((a - b).abs().max() > 1e-4 for a, b in zip(tensors(state2), tensors(state)))


def test_state_has_one_entry_per_recurrent_layer():
    cases = {"vanilla": 1, "stacked": 2, "vector": 2, "bidirectional": 2, "cnn-lstm": 1, "conv-lstm": 1,
             "encoder-decoder": 2}
    assert set(cases) == set(ARCHITECTURES)
    for architecture, layers in cases.items():
        net = build_network(config(architecture), seeds=[0])
        with torch.no_grad():
            _, state = net(inputs(1, 2, 4, 1))
        assert len(state) == layers, architecture
    stacked3 = build_network(config("stacked", layers=3), seeds=[0])
    assert sum(isinstance(m, LSTM) for m in stacked3.modules()) == 3


@pytest.mark.parametrize("architecture, layers", [("vanilla", None), ("stacked", None), ("vector", 3)])
def test_carrying_state_equals_reading_one_long_window(architecture, layers):
    """A recurrent stack run over steps 0..k-1 and then k..T-1 with the carry is one run over 0..T-1."""
    cfg = ModelConfig(architecture=architecture, n_in=6, n_features=2, units=5, layers=layers)
    net = build_network(cfg, seeds=[0, 1])
    x = inputs(2, 3, 6, 2, seed=5)
    with torch.no_grad():
        y_full, state_full = net(x)
        _, state_first = net(x[:, :, :2])
        y_rest, state_rest = net(x[:, :, 2:], state_first)
    torch.testing.assert_close(y_rest, y_full, atol=1e-6, rtol=0)
    for a, b in zip(tensors(state_rest), tensors(state_full)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_detached_state_keeps_values_and_drops_the_graph():
    net = build_network(config("stacked"), seeds=[0])
    _, state = net(inputs(1, 2, 4, 1))
    cut = detach_state(state)
    assert all(t.grad_fn is not None for t in tensors(state))
    assert all(t.grad_fn is None for t in tensors(cut))
    assert all(torch.equal(a, b) for a, b in zip(tensors(cut), tensors(state)))


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_dropout_is_active_in_training_only(architecture):
    net = build_network(config(architecture, dropout=0.5), seeds=[0])
    x = inputs(1, 8, 4, 1)
    net.eval()
    with torch.no_grad():
        a, _ = net(x)
        b, _ = net(x)
        net.train()
        torch.manual_seed(0)
        c, _ = net(x)
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert (a - c).abs().max() > 1e-6


def test_default_layers_and_kernels():
    assert config("stacked").n_layers == 2 and config("vector").n_layers == 2 and config("vanilla").n_layers == 1
    assert config("stacked", layers=4).n_layers == 4
    assert config("cnn-lstm").kernel_size == 1 and config("conv-lstm").kernel_size == 2
    assert config("conv-lstm", kernel=1).kernel_size == 1


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(architecture="transformer"), "transformer"),
        (dict(architecture="cnn-lstm", n_in=5, subsequences=2), "divisible"),
        (dict(architecture="conv-lstm", n_in=6, subsequences=4), "divisible"),
        (dict(architecture="conv-lstm", n_in=4, subsequences=4), "kernel"),  # parts of 1 step, kernel 2
        (dict(units=-1), "units"),
        (dict(units=0), "units"),
        (dict(n_in=0), "n_in"),
        (dict(layers=0), "layers"),
        (dict(dropout=1.0), "dropout"),
        (dict(dropout=-0.1), "dropout"),
        (dict(activation="sigmoid"), "activation"),
    ],
)
def test_validated_rejects_inconsistent_configs(overrides, message):
    cfg = ModelConfig(**overrides)
    with pytest.raises(InputError, match=message):
        cfg.validated()
    with pytest.raises(InputError):
        build_network(cfg, seeds=[0])


def test_validated_returns_a_sound_config_unchanged():
    cfg = ModelConfig(architecture="cnn-lstm", n_in=4, subsequences=2, dropout=0.0)
    assert cfg.validated() is cfg
    assert ModelConfig(dropout=0.99).validated().dropout == 0.99
    assert cfg.to_dict()["architecture"] == "cnn-lstm"


@pytest.mark.parametrize("architecture, layers", [("vanilla", None), ("stacked", None), ("vector", 3)])
def test_member_units_pad_narrow_members_exactly(architecture, layers):
    cfg = ModelConfig(architecture=architecture, n_in=3, n_features=2, n_out=2, units=6, layers=layers)
    net = build_network(cfg, seeds=[1, 2, 3], member_units=[3, 6, 1])
    assert net.config.units == 6
    x = inputs(3, 4, 3, 2, seed=9)
    with torch.no_grad():
        out, _ = net(x)
        for k, (seed, units) in enumerate([(1, 3), (2, 6), (3, 1)]):
            solo = build_network(ModelConfig(architecture=architecture, n_in=3, n_features=2, n_out=2,
                                             units=units, layers=layers), [seed])
            solo_out, _ = solo(x[k : k + 1])
            torch.testing.assert_close(out[k], solo_out[0], atol=1e-6, rtol=0)


def test_member_units_need_a_recurrent_stack_and_one_count_per_seed():
    with pytest.raises(InputError):
        build_network(config("bidirectional", units=4), seeds=[0, 1], member_units=[2, 4])
    with pytest.raises(InputError):
        build_network(config("vanilla", units=4), seeds=[0, 1], member_units=[2, 3, 4])


@pytest.mark.parametrize("field, value", [("kernel", 1.5), ("subsequences", 1.5), ("filters", 2.5), ("kernel", 0)])
def test_non_integer_or_zero_conv_settings_are_input_errors(field, value):
    cfg = ModelConfig(architecture="conv-lstm", n_in=4, **{field: value})
    with pytest.raises(InputError, match=field):
        build_network(cfg, [0])


@pytest.mark.parametrize("architecture", ["bidirectional", "cnn-lstm", "conv-lstm", "encoder-decoder"])
def test_layers_is_refused_where_the_structure_is_fixed(architecture):
    with pytest.raises(InputError, match="layers applies to"):
        build_network(ModelConfig(architecture=architecture, n_in=4, layers=3), [0])
