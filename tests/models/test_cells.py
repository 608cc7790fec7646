"""Cells and recurrent layers: equal to torch.nn.LSTM, ConvLSTM convolutions, gradients, per-member init."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lstmcast.errors import InputError
from lstmcast.models.cells import ConvLSTMCell, LSTMCell, activation_fn
from lstmcast.models.layers import LSTM, ConvLSTM
from lstmcast.models.zoo import ARCHITECTURES, ModelConfig, build_network

TOL = 1e-5


def torch_lstms(members: int, n_in: int, units: int, seed: int = 0) -> list[nn.LSTM]:
    """Return one independently initialised nn.LSTM per member."""
    torch.manual_seed(seed)
    return [nn.LSTM(n_in, units, batch_first=True) for _ in range(members)]


def copy_into(layer: LSTM, refs: list[nn.LSTM]) -> None:
    """Give member k of ``layer`` the weights of ``refs[k]`` (gate order i, f, g, o in both)."""
    with torch.no_grad():
        for k, ref in enumerate(refs):
            layer.cell.w_x[k] = ref.weight_ih_l0.T
            layer.cell.w_h[k] = ref.weight_hh_l0.T
            layer.cell.bias[k, 0] = ref.bias_ih_l0 + ref.bias_hh_l0


def member_inputs(members: int, batch: int, steps: int, n_in: int, seed: int = 1) -> torch.Tensor:
    """Return different random inputs for every member: (members, batch, steps, n_in)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(members, batch, steps, n_in, generator=gen)


@pytest.mark.parametrize("members", [1, 3])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_layer_matches_torch_lstm(members, return_sequences, reverse):
    n_in, units, batch, steps = 3, 5, 4, 6
    refs = torch_lstms(members, n_in, units)
    layer = LSTM(members, n_in, units, "tanh", return_sequences=return_sequences, reverse=reverse)
    copy_into(layer, refs)
    x = member_inputs(members, batch, steps, n_in)

    with torch.no_grad():
        out, (h, c) = layer(x)
        for k, ref in enumerate(refs):
            xk = x[k].flip(1) if reverse else x[k]  # a reversed layer is nn.LSTM over the flipped window
            seq, (h_ref, c_ref) = ref(xk)
            if return_sequences:
                expected = seq.flip(1) if reverse else seq  # outputs stay aligned with the input steps
                assert out.shape == (members, batch, steps, units)
                torch.testing.assert_close(out[k], expected, atol=TOL, rtol=0)
            else:
                assert out.shape == (members, batch, units)
                torch.testing.assert_close(out[k], h_ref[0], atol=TOL, rtol=0)
            torch.testing.assert_close(h[k], h_ref[0], atol=TOL, rtol=0)
            torch.testing.assert_close(c[k], c_ref[0], atol=TOL, rtol=0)


@pytest.mark.parametrize("members", [1, 3])
def test_lstm_layer_continues_from_a_given_state_like_torch_lstm(members):
    n_in, units, batch, steps = 2, 4, 3, 5
    refs = torch_lstms(members, n_in, units, seed=3)
    layer = LSTM(members, n_in, units, "tanh", return_sequences=True)
    copy_into(layer, refs)
    x = member_inputs(members, batch, steps, n_in, seed=4)
    gen = torch.Generator().manual_seed(5)
    h0 = torch.randn(members, batch, units, generator=gen)
    c0 = torch.randn(members, batch, units, generator=gen)

    with torch.no_grad():
        out, (h, c) = layer(x, (h0, c0))
        zero_out, _ = layer(x)
        for k, ref in enumerate(refs):
            seq, (h_ref, c_ref) = ref(x[k], (h0[k : k + 1], c0[k : k + 1]))
            torch.testing.assert_close(out[k], seq, atol=TOL, rtol=0)
            torch.testing.assert_close(c[k], c_ref[0], atol=TOL, rtol=0)
    assert (out - zero_out).abs().max() > 1e-2  # the state given was really used


def reference_lstm(x: np.ndarray, w_x: np.ndarray, w_h: np.ndarray, b: np.ndarray, act) -> np.ndarray:
    """Return the last h of one LSTM over x (batch, steps, n_in), written out step by step in float64."""
    units = w_h.shape[0]
    h = np.zeros((x.shape[0], units))
    c = np.zeros((x.shape[0], units))
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    for t in range(x.shape[1]):
        z = x[:, t] @ w_x + h @ w_h + b
        i, f, g, o = np.split(z, 4, axis=-1)
        c = sig(f) * c + sig(i) * act(g)
        h = sig(o) * act(c)
    return h


def test_relu_cell_uses_relu_for_cell_input_and_output_and_differs_from_tanh():
    members, n_in, units = 2, 3, 4
    x = member_inputs(members, 5, 4, n_in, seed=7)
    relu = LSTM(members, n_in, units, "relu")
    tanh = LSTM(members, n_in, units, "tanh")
    for k in range(members):
        relu.cell.init_member(k, torch.Generator().manual_seed(k))
        tanh.cell.init_member(k, torch.Generator().manual_seed(k))
    with torch.no_grad():
        h_relu, _ = relu(x)
        h_tanh, _ = tanh(x)
    assert (h_relu - h_tanh).abs().max() > 1e-2
    for k in range(members):
        cell = relu.cell
        expected = reference_lstm(x[k].double().numpy(), cell.w_x[k].double().detach().numpy(),
                                  cell.w_h[k].double().detach().numpy(), cell.bias[k].double().detach().numpy(),
                                  lambda a: np.maximum(a, 0))
        np.testing.assert_allclose(h_relu[k].numpy(), expected, atol=TOL)


def test_unknown_activation_is_an_input_error():
    with pytest.raises(InputError, match="sigmoid"):
        activation_fn("sigmoid")
    with pytest.raises(InputError):
        LSTMCell(1, 1, 1, activation="linear")


def test_cell_init_follows_keras_defaults():
    members, n_in, units = 3, 2, 5
    cell = LSTMCell(members, n_in, units)
    for k in range(members):
        cell.init_member(k, torch.Generator().manual_seed(10 + k))
    limit = np.sqrt(6 / (n_in + 4 * units))
    with torch.no_grad():
        assert cell.w_x.abs().max() <= limit and cell.w_x.abs().max() > 0.5 * limit
        for k in range(members):
            gram = cell.w_h[k] @ cell.w_h[k].T  # (units, 4*units) with orthonormal rows
            torch.testing.assert_close(gram, torch.eye(units), atol=1e-5, rtol=0)
        forget = torch.zeros(4 * units)
        forget[units : 2 * units] = 1.0  # unit_forget_bias
        assert torch.equal(cell.bias, forget.expand(members, 1, -1))
    assert not torch.equal(cell.w_x[0], cell.w_x[1])


# ---- ConvLSTM --------------------------------------------------------------------------------


@pytest.mark.parametrize("columns, kernel", [(5, 1), (5, 2), (5, 3), (2, 2), (4, 4)])
def test_conv_lstm_output_has_columns_minus_kernel_plus_one(columns, kernel):
    members, batch, seq, n_in, filters = 2, 3, 4, 2, 6
    layer = ConvLSTM(members, n_in, filters, kernel)
    for k in range(members):
        layer.cell.init_member(k, torch.Generator().manual_seed(k))
    x = torch.randn(members, batch, seq, columns, n_in)
    with torch.no_grad():
        h, (h_state, c_state) = layer(x)
    assert layer.cell.out_columns(columns) == columns - kernel + 1
    assert h.shape == (members, batch, columns - kernel + 1, filters)
    assert h_state.shape == c_state.shape == h.shape


def reference_conv_lstm(x: np.ndarray, cell: ConvLSTMCell, k: int, act) -> np.ndarray:
    """Return member k's last h for x (batch, seq, columns, n_in): valid input conv, Keras 'same' recurrent conv."""
    kernel, filters = cell.kernel, cell.filters
    n_in = x.shape[-1]
    w_x = cell.w_x[k].double().detach().numpy().reshape(kernel, n_in, 4 * filters)
    w_h = cell.w_h[k].double().detach().numpy().reshape(kernel, filters, 4 * filters)
    b = cell.bias[k, 0].double().detach().numpy()
    batch, seq, columns, _ = x.shape
    out_cols = columns - kernel + 1
    h = np.zeros((batch, out_cols, filters))
    c = np.zeros_like(h)
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    left = (kernel - 1) // 2  # TensorFlow's 'same': the extra pad goes on the right
    for s in range(seq):
        hp = np.zeros((batch, out_cols + kernel - 1, filters))
        hp[:, left : left + out_cols] = h
        z = np.zeros((batch, out_cols, 4 * filters)) + b
        for j in range(out_cols):
            for o in range(kernel):
                z[:, j] += x[:, s, j + o] @ w_x[o] + hp[:, j + o] @ w_h[o]
        i, f, g, o_ = np.split(z, 4, axis=-1)
        c = sig(f) * c + sig(i) * act(g)
        h = sig(o_) * act(c)
    return h


@pytest.mark.parametrize("kernel", [1, 2, 3])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_conv_lstm_matches_a_loop_reference(kernel, activation):
    members, batch, seq, columns, n_in, filters = 2, 3, 3, 5, 2, 4
    layer = ConvLSTM(members, n_in, filters, kernel, activation)
    for k in range(members):
        layer.cell.init_member(k, torch.Generator().manual_seed(20 + k))
    with torch.no_grad():
        layer.cell.bias.normal_()  # non-trivial biases, so a dropped bias would show
    x = torch.randn(members, batch, seq, columns, n_in, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        h, _ = layer(x)
    act = np.tanh if activation == "tanh" else (lambda a: np.maximum(a, 0))
    for k in range(members):
        expected = reference_conv_lstm(x[k].double().numpy(), layer.cell, k, act)
        np.testing.assert_allclose(h[k].numpy(), expected, atol=TOL)


def test_conv_lstm_with_kernel_one_is_an_lstm_per_column():
    members, batch, seq, columns, n_in, units = 2, 3, 4, 3, 2, 5
    conv = ConvLSTM(members, n_in, units, kernel=1)
    lstm = LSTM(members, n_in, units)
    for k in range(members):
        conv.cell.init_member(k, torch.Generator().manual_seed(k))
    with torch.no_grad():
        lstm.cell.w_x.copy_(conv.cell.w_x)
        lstm.cell.w_h.copy_(conv.cell.w_h)
        lstm.cell.bias.copy_(conv.cell.bias)
        x = torch.randn(members, batch, seq, columns, n_in)
        h, _ = conv(x)
        for j in range(columns):
            h_col, _ = lstm(x[:, :, :, j])
            torch.testing.assert_close(h[:, :, j], h_col, atol=TOL, rtol=0)


# ---- gradients and initialisation of whole networks ------------------------------------------


def small_config(architecture: str, **overrides) -> ModelConfig:
    base = dict(architecture=architecture, n_in=4, n_features=2, n_out=2, n_targets=1, units=4, filters=3)
    base.update(overrides)
    return ModelConfig(**base)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_backward_gives_finite_nonzero_gradients_to_every_member(architecture):
    members = 3
    net = build_network(small_config(architecture), seeds=[0, 1, 2])
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(members, 6, 4, 2, generator=gen)
    target = torch.randn(members, 6, 2, 1, generator=gen)
    out, _ = net(x)
    ((out - target) ** 2).mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        per_member = p.grad.flatten(1).abs().sum(dim=1)
        assert (per_member > 0).all(), f"{name}: a member got no gradient"


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_members_do_not_share_gradients(architecture):
    net = build_network(small_config(architecture), seeds=[0, 1, 2])
    x = torch.randn(3, 6, 4, 2, generator=torch.Generator().manual_seed(1))
    out, _ = net(x)
    out[1].square().mean().backward()  # member 1's loss only
    for name, p in net.named_parameters():
        assert p.grad[0].abs().max() == 0 and p.grad[2].abs().max() == 0, name
        assert p.grad[1].abs().max() > 0, name


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_member_k_starts_where_a_solo_network_with_seed_k_starts(architecture):
    cfg = small_config(architecture)
    seeds = [11, 22, 33]
    ensemble = build_network(cfg, seeds)
    x = torch.randn(5, 4, 2, generator=torch.Generator().manual_seed(3))
    for k, seed in enumerate(seeds):
        solo = build_network(cfg, [seed])
        for (name, p_ens), (_, p_solo) in zip(ensemble.named_parameters(), solo.named_parameters()):
            assert p_ens.shape[0] == 3 and p_solo.shape[0] == 1, name
            assert torch.equal(p_ens[k], p_solo[0]), f"{name} of member {k}"
        with torch.no_grad():
            out_ens, _ = ensemble(x.expand(3, *x.shape))
            out_solo, _ = solo(x.unsqueeze(0))
        torch.testing.assert_close(out_ens[k], out_solo[0], atol=1e-6, rtol=0)
    w = next(ensemble.parameters())
    assert not torch.equal(w[0], w[1])  # different seeds, different members
