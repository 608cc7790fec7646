"""LSTM and ConvLSTM cells whose parameters carry a leading member dimension.

A cell computes one time step from ``(input, state)``; ``layers.py`` runs it over time. Every
parameter is shaped ``[members, ...]`` so one forward/backward pass trains many independent
models at once (see docs/architecture.md, "Many models at once").

    cell = LSTMCell(members=3, n_in=1, units=4)
    gates_x = cell.project(x)              # x: (3, batch, steps, 1) -> (3, batch, steps, 16)
    h, c = cell.step(gates_x[:, :, 0], h, c)

Gate order is input, forget, cell, output (as in ``torch.nn.LSTM`` and Keras).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from lstmcast.errors import InputError

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}


def activation_fn(name: str):
    """Return the activation function called ``name`` ("tanh" or "relu")."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise InputError(f"activation must be one of {sorted(ACTIVATIONS)}; got {name!r}") from None


# ---- initialisers: one member at a time, from that member's own generator -------------------
# Keras defaults (glorot-uniform kernels, orthogonal recurrent kernels, forget-gate bias 1),
# because the seeds are Keras programs and their tiny models are sensitive to initialisation.


def glorot_uniform(shape: tuple[int, int], gen: torch.Generator) -> Tensor:
    """Return a (fan_in, fan_out) matrix drawn from Glorot's uniform distribution."""
    limit = math.sqrt(6.0 / (shape[0] + shape[1]))
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1).mul_(limit).float()


def orthogonal(shape: tuple[int, int], gen: torch.Generator) -> Tensor:
    """Return a (rows, cols) matrix with orthonormal rows or columns (Keras' Orthogonal)."""
    rows, cols = shape
    a = torch.randn((max(rows, cols), min(rows, cols)), generator=gen, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r))
    q = q if rows >= cols else q.T
    return q[:rows, :cols].float().contiguous()


class MemberParams(nn.Module):
    """Base for modules whose parameters are all shaped ``[members, ...]``.

    ``init_member(k, gen)`` fills member k's slice from its own generator, so that member k of an
    ensemble starts exactly where a solo model with the same seed starts.
    """

    def init_member(self, k: int, gen: torch.Generator) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class LSTMCell(MemberParams):
    """One LSTM step for ``members`` independent models: ``(x_t, h, c) -> (h, c)``.

    Shapes: ``x`` (members, batch, steps, n_in); ``h``, ``c`` (members, batch, units).
    ``activation`` is used for the cell input and the cell output (``tanh`` as in nn.LSTM,
    ``relu`` as in the seeds); the gates always use the logistic sigmoid.
    """

    def __init__(self, members: int, n_in: int, units: int, activation: str = "tanh"):
        super().__init__()
        self.units = units
        self.activation = activation
        self.act = activation_fn(activation)
        self.w_x = nn.Parameter(torch.zeros(members, n_in, 4 * units))
        self.w_h = nn.Parameter(torch.zeros(members, units, 4 * units))
        self.bias = nn.Parameter(torch.zeros(members, 1, 4 * units))

    def init_member(self, k: int, gen: torch.Generator) -> None:
        u = self.units
        with torch.no_grad():
            self.w_x[k] = glorot_uniform(tuple(self.w_x.shape[1:]), gen)
            self.w_h[k] = orthogonal((u, 4 * u), gen)
            self.bias[k] = 0.0
            self.bias[k, :, u : 2 * u] = 1.0  # Keras unit_forget_bias

    def project(self, x: Tensor) -> Tensor:
        """Return the input part of the gates for all steps at once: (members, batch, steps, 4*units)."""
        m, b, t, f = x.shape
        gx = torch.baddbmm(self.bias, x.reshape(m, b * t, f), self.w_x)  # (members, batch*steps, 4u)
        return gx.view(m, b, t, 4 * self.units)

    def step(self, gx_t: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        """Return the next ``(h, c)`` given this step's projected input ``gx_t`` (members, batch, 4*units)."""
        gates = torch.baddbmm(gx_t, h, self.w_h)  # (members, batch, 4u)
        i, f, g, o = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * self.act(g)
        h = torch.sigmoid(o) * self.act(c)
        return h, c


def member_conv1d(x: Tensor, weight: Tensor, bias: Tensor | None, padding: str = "valid") -> Tensor:
    """Return a 1-D convolution applied per member: (members, n, length, c_in) -> (members, n, length', c_out).

    ``weight`` is (members, kernel * c_in, c_out), so the convolution is one batched matmul over
    unfolded windows. ``padding="same"`` pads on the right for even kernels, as Keras does.
    """
    m, n, length, c_in = x.shape
    k = weight.shape[1] // c_in
    if padding == "same" and k > 1:
        left = (k - 1) // 2
        x = nn.functional.pad(x, (0, 0, left, k - 1 - left))
    windows = x.unfold(2, k, 1)  # (members, n, length', c_in, k)
    windows = windows.transpose(-1, -2).reshape(m, n * windows.shape[2], k * c_in)
    out = torch.bmm(windows, weight)
    if bias is not None:
        out = out + bias
    return out.view(m, n, -1, weight.shape[-1])


class ConvLSTMCell(MemberParams):
    """One ConvLSTM step over a single row of ``columns``: convolutional gates instead of dense ones.

    Shapes: ``x_t`` (members, batch, columns, n_in); ``h``, ``c`` (members, batch, columns', filters)
    with columns' = columns - kernel + 1 (valid input convolution, same recurrent convolution,
    as Keras' ConvLSTM2D with kernel (1, k)).
    """

    def __init__(self, members: int, n_in: int, filters: int, kernel: int, activation: str = "tanh"):
        super().__init__()
        self.filters = filters
        self.kernel = kernel
        self.activation = activation
        self.act = activation_fn(activation)
        self.w_x = nn.Parameter(torch.zeros(members, kernel * n_in, 4 * filters))
        self.w_h = nn.Parameter(torch.zeros(members, kernel * filters, 4 * filters))
        self.bias = nn.Parameter(torch.zeros(members, 1, 4 * filters))

    def init_member(self, k: int, gen: torch.Generator) -> None:
        f = self.filters
        with torch.no_grad():
            self.w_x[k] = glorot_uniform(tuple(self.w_x.shape[1:]), gen)
            self.w_h[k] = orthogonal(tuple(self.w_h.shape[1:]), gen)
            self.bias[k] = 0.0
            self.bias[k, :, f : 2 * f] = 1.0

    def out_columns(self, columns: int) -> int:
        """Return the number of columns the hidden state has for inputs of ``columns`` columns."""
        return columns - self.kernel + 1

    def step(self, x_t: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        """Return the next ``(h, c)`` for input ``x_t`` (members, batch, columns, n_in)."""
        gates = member_conv1d(x_t, self.w_x, self.bias, "valid") + member_conv1d(h, self.w_h, None, "same")
        i, f, g, o = gates.chunk(4, dim=-1)  # each (members, batch, columns', filters)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * self.act(g)
        h = torch.sigmoid(o) * self.act(c)
        return h, c
