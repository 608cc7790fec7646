"""Layers that run a cell over time, and the small member-aware layers the architectures share.

A recurrent layer takes ``x`` (members, batch, steps, features) and an optional carried state and
returns ``(outputs, state)``: outputs are the last hidden state (members, batch, units) or, with
``return_sequences``, every step's (members, batch, steps, units). Direction, sequences and the
stateful carry live here so that each architecture only composes layers.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lstmcast.models.cells import ConvLSTMCell, LSTMCell, MemberParams, activation_fn, glorot_uniform, member_conv1d

State = tuple[Tensor, Tensor]


class LSTM(nn.Module):
    """An LSTM layer (optionally run backwards over time) for ``members`` models."""

    def __init__(self, members: int, n_in: int, units: int, activation: str = "tanh",
                 return_sequences: bool = False, reverse: bool = False):
        super().__init__()
        self.cell = LSTMCell(members, n_in, units, activation)
        self.units = units
        self.return_sequences = return_sequences
        self.reverse = reverse

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        m, b, t, _ = x.shape
        if state is None:
            h = c = x.new_zeros(m, b, self.units)
        else:
            h, c = state
        # unbind once: indexing gx step by step would make autograd zero-fill a full-size
        # gradient per step (quadratic in the look-back; it dominated the profile at look-back 24)
        gx = self.cell.project(x).unbind(2)  # steps x (members, batch, 4*units)
        order = range(t - 1, -1, -1) if self.reverse else range(t)
        outs = []
        for s in order:
            h, c = self.cell.step(gx[s], h, c)
            if self.return_sequences:
                outs.append(h)
        if self.return_sequences:
            if self.reverse:
                outs.reverse()
            return torch.stack(outs, dim=2), (h, c)  # (members, batch, steps, units)
        return h, (h, c)


class ConvLSTM(nn.Module):
    """A ConvLSTM layer over (members, batch, subsequences, columns, features); returns the last h."""

    def __init__(self, members: int, n_in: int, filters: int, kernel: int, activation: str = "tanh"):
        super().__init__()
        self.cell = ConvLSTMCell(members, n_in, filters, kernel, activation)

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        m, b, seq, cols, _ = x.shape
        if state is None:
            h = c = x.new_zeros(m, b, self.cell.out_columns(cols), self.cell.filters)
        else:
            h, c = state
        for s in range(seq):
            h, c = self.cell.step(x[:, :, s], h, c)
        return h, (h, c)  # h: (members, batch, columns', filters)


class _Affine(MemberParams):
    """A weight (members, n_in, n_out) and a bias (members, 1, n_out), initialised as Keras does."""

    def __init__(self, members: int, n_in: int, n_out: int, activation: str | None):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(members, n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(members, 1, n_out))
        self.activation = activation
        self.act = None if activation is None else activation_fn(activation)  # unknown names are an InputError

    def init_member(self, k: int, gen: torch.Generator) -> None:
        with torch.no_grad():
            self.weight[k] = glorot_uniform(tuple(self.weight.shape[1:]), gen)
            self.bias[k] = 0.0

    def activate(self, out: Tensor) -> Tensor:
        return out if self.act is None else self.act(out)


class Dense(_Affine):
    """A dense layer per member: (members, ..., n_in) -> (members, ..., n_out)."""

    def __init__(self, members: int, n_in: int, n_out: int, activation: str | None = None):
        super().__init__(members, n_in, n_out, activation)

    def forward(self, x: Tensor) -> Tensor:
        lead = x.shape[1:-1]
        flat = x.reshape(x.shape[0], -1, x.shape[-1])
        out = self.activate(torch.baddbmm(self.bias, flat, self.weight))
        return out.view(x.shape[0], *lead, -1)


class Conv1D(_Affine):
    """A 'valid' 1-D convolution per member over (members, n, length, c_in), with an activation."""

    def __init__(self, members: int, c_in: int, filters: int, kernel: int, activation: str = "relu"):
        super().__init__(members, kernel * c_in, filters, activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.activate(member_conv1d(x, self.weight, self.bias))


class MemberDropout(nn.Module):
    """Inverted dropout; identity when not training.

    With ``generators`` (one per member, set by the trainer from the members' seeds) each member
    draws its own masks, so member k drops what a solo run with its seed drops.
    """

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.generators: list[torch.Generator] | None = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p <= 0:
            return x
        if self.generators is None:
            noise = torch.rand_like(x)
        else:
            # drawn on the CPU, where the members' generators live, so a GPU run draws the same masks
            noise = torch.stack([torch.rand(x.shape[1:], generator=g) for g in self.generators]).to(x.device)
        return x * (noise >= self.p).to(x.dtype) / (1 - self.p)
