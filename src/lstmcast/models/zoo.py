"""The architectures: each composes layers from ``layers.py`` and nothing else.

Every network maps ``x`` (members, batch, steps, features) and an optional carried state to
``y`` (members, batch, steps_out, targets) and the new state (one entry per recurrent layer), so
the trainer can run any of them stateless or stateful.

    cfg = ModelConfig(architecture="stacked", n_in=3, units=50, activation="relu")
    net = build_network(cfg, seeds=[1, 2, 3])        # an ensemble of three members
    y, state = net(torch.zeros(3, 8, 3, 1))          # y: (3, 8, 1, 1)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
from torch import Tensor, nn

from lstmcast.data.validate import check_int
from lstmcast.errors import InputError
from lstmcast.models.cells import MemberParams, activation_fn
from lstmcast.models.layers import LSTM, Conv1D, ConvLSTM, Dense, MemberDropout

ARCHITECTURES = ("vanilla", "stacked", "bidirectional", "cnn-lstm", "conv-lstm", "vector", "encoder-decoder")
DEFAULT_LAYERS = {"stacked": 2, "vector": 2}


@dataclass(frozen=True)
class ModelConfig:
    """Every knob of a network, with the seeds' defaults where they give one."""

    architecture: str = "vanilla"
    n_in: int = 1  # look-back: input time steps
    n_features: int = 1
    n_out: int = 1  # output time steps
    n_targets: int = 1
    units: int = 50
    layers: int | None = None  # None: 2 for stacked and vector, else 1
    activation: str = "tanh"
    dropout: float = 0.0
    subsequences: int = 2  # cnn-lstm / conv-lstm: the look-back is split into this many parts
    filters: int = 64
    kernel: int | None = None  # None: 1 for cnn-lstm, 2 for conv-lstm (seed 003)

    def validated(self) -> "ModelConfig":
        """Return this config after checking it, raising InputError with the fix when it is inconsistent."""
        if self.architecture not in ARCHITECTURES:
            raise InputError(f"model must be one of {', '.join(ARCHITECTURES)}; got {self.architecture!r}")
        activation_fn(self.activation)
        for name in ("n_in", "n_features", "n_out", "n_targets", "units", "subsequences", "filters"):
            check_int(getattr(self, name), name, 1)
        for name in ("layers", "kernel"):
            if getattr(self, name) is not None:
                check_int(getattr(self, name), name, 1)
        if self.layers not in (None, 1) and _CLASSES[self.architecture] is not RecurrentStack:
            raise InputError(
                f"layers applies to vanilla, stacked and vector models; {self.architecture} has a fixed structure"
            )
        if not 0 <= self.dropout < 1:
            raise InputError(f"dropout must be in [0, 1); got {self.dropout}")
        if self.architecture in ("cnn-lstm", "conv-lstm"):
            if self.n_in % self.subsequences:
                raise InputError(
                    f"{self.architecture} splits look_back={self.n_in} into subsequences={self.subsequences} "
                    "equal parts; choose a look_back divisible by subsequences"
                )
            part = self.n_in // self.subsequences
            if part < self.kernel_size:
                raise InputError(
                    f"{self.architecture}: each subsequence has {part} steps, fewer than kernel={self.kernel_size}; "
                    "raise look_back or lower subsequences/kernel"
                )
        return self

    @property
    def kernel_size(self) -> int:
        if self.kernel is not None:
            return self.kernel
        return 2 if self.architecture == "conv-lstm" else 1

    @property
    def n_layers(self) -> int:
        return self.layers if self.layers is not None else DEFAULT_LAYERS.get(self.architecture, 1)

    def to_dict(self) -> dict:
        return asdict(self)


class Network(nn.Module):
    """Base of the architectures: holds the member count and initialises members from seeds."""

    def __init__(self, config: ModelConfig, members: int):
        super().__init__()
        self.config = config
        self.members = members
        self.drop = MemberDropout(config.dropout)

    def init_members(self, seeds: list[int]) -> None:
        """Initialise member k from a generator seeded with ``seeds[k]`` (independent of the member count)."""
        holders = [m for m in self.modules() if isinstance(m, MemberParams)]
        for k, seed in enumerate(seeds):
            gen = torch.Generator().manual_seed(int(seed))
            for module in holders:
                module.init_member(k, gen)

    def head_shape(self, out: Tensor) -> Tensor:
        cfg = self.config
        return out.view(out.shape[0], out.shape[1], cfg.n_out, cfg.n_targets)


class RecurrentStack(Network):
    """vanilla, stacked and vector: LSTM layers, then a dense head that emits every output step."""

    def __init__(self, config: ModelConfig, members: int):
        super().__init__(config, members)
        c = config
        n = c.n_layers
        self.rnns = nn.ModuleList(
            LSTM(members, c.n_features if i == 0 else c.units, c.units, c.activation, return_sequences=i < n - 1)
            for i in range(n)
        )
        self.head = Dense(members, c.units, c.n_out * c.n_targets)

    def forward(self, x: Tensor, state: list | None = None) -> tuple[Tensor, list]:
        new_state = []
        for i, rnn in enumerate(self.rnns):
            x, s = rnn(x, None if state is None else state[i])
            x = self.drop(x)
            new_state.append(s)
        return self.head_shape(self.head(x)), new_state  # (members, batch, n_out, n_targets)


class Bidirectional(Network):
    """A forward and a backward LSTM over the window; their last states are concatenated."""

    def __init__(self, config: ModelConfig, members: int):
        super().__init__(config, members)
        c = config
        self.fwd = LSTM(members, c.n_features, c.units, c.activation)
        self.bwd = LSTM(members, c.n_features, c.units, c.activation, reverse=True)
        self.head = Dense(members, 2 * c.units, c.n_out * c.n_targets)

    def forward(self, x: Tensor, state: list | None = None) -> tuple[Tensor, list]:
        hf, sf = self.fwd(x, None if state is None else state[0])
        hb, sb = self.bwd(x, None if state is None else state[1])
        h = self.drop(torch.cat([hf, hb], dim=-1))  # (members, batch, 2*units)
        return self.head_shape(self.head(h)), [sf, sb]


class CNNLSTM(Network):
    """Conv1D + max-pool + flatten read each subsequence; an LSTM reads the sequence of readings."""

    def __init__(self, config: ModelConfig, members: int):
        super().__init__(config, members)
        c = config
        part = c.n_in // c.subsequences
        pooled = (part - c.kernel_size + 1) // 2 if part - c.kernel_size + 1 >= 2 else 1
        self.conv = Conv1D(members, c.n_features, c.filters, c.kernel_size)
        self.rnn = LSTM(members, pooled * c.filters, c.units, c.activation)
        self.head = Dense(members, c.units, c.n_out * c.n_targets)

    def forward(self, x: Tensor, state: list | None = None) -> tuple[Tensor, list]:
        c = self.config
        m, b, t, f = x.shape
        sub = x.reshape(m, b * c.subsequences, t // c.subsequences, f)
        z = self.conv(sub)  # (members, batch*subsequences, length', filters)
        if z.shape[2] >= 2:  # MaxPooling1D(2), floor mode as Keras
            z = z[:, :, : z.shape[2] // 2 * 2].unflatten(2, (-1, 2)).amax(dim=3)
        z = z.reshape(m, b, c.subsequences, -1)  # flatten each reading
        h, s = self.rnn(z, None if state is None else state[0])
        return self.head_shape(self.head(self.drop(h))), [s]


class ConvLSTMNet(Network):
    """ConvLSTM over subsequences laid out as (rows=1, columns=steps), flattened into a dense head."""

    def __init__(self, config: ModelConfig, members: int):
        super().__init__(config, members)
        c = config
        cols = c.n_in // c.subsequences
        self.rnn = ConvLSTM(members, c.n_features, c.filters, c.kernel_size, c.activation)
        self.head = Dense(members, (cols - c.kernel_size + 1) * c.filters, c.n_out * c.n_targets)

    def forward(self, x: Tensor, state: list | None = None) -> tuple[Tensor, list]:
        c = self.config
        m, b, t, f = x.shape
        seq = x.reshape(m, b, c.subsequences, t // c.subsequences, f)
        h, s = self.rnn(seq, None if state is None else state[0])  # (members, batch, columns', filters)
        return self.head_shape(self.head(self.drop(h.reshape(m, b, -1)))), [s]


class EncoderDecoder(Network):
    """Encoder LSTM; its final state repeated per output step feeds a decoder LSTM and a per-step dense."""

    def __init__(self, config: ModelConfig, members: int):
        super().__init__(config, members)
        c = config
        self.encoder = LSTM(members, c.n_features, c.units, c.activation)
        self.decoder = LSTM(members, c.units, c.units, c.activation, return_sequences=True)
        self.head = Dense(members, c.units, c.n_targets)

    def forward(self, x: Tensor, state: list | None = None) -> tuple[Tensor, list]:
        h, se = self.encoder(x, None if state is None else state[0])
        rep = h.unsqueeze(2).expand(-1, -1, self.config.n_out, -1)  # (members, batch, n_out, units)
        seq, sd = self.decoder(rep, None if state is None else state[1])
        return self.head(self.drop(seq)), [se, sd]  # (members, batch, n_out, n_targets)


_CLASSES = {
    "vanilla": RecurrentStack, "stacked": RecurrentStack, "vector": RecurrentStack,
    "bidirectional": Bidirectional, "cnn-lstm": CNNLSTM, "conv-lstm": ConvLSTMNet,
    "encoder-decoder": EncoderDecoder,
}


def build_network(config: ModelConfig, seeds: list[int], member_units: list[int] | None = None) -> Network:
    """Return a network of ``len(seeds)`` members, member k initialised from ``seeds[k]``.

    ``member_units`` gives each member its own unit count (vanilla, stacked and vector only): the
    network is built with the largest and member k's unused units are zero. Zero units stay
    inert and receive exactly zero gradients (their inputs, outputs and biases are all zero), so
    member k trains exactly as a network of ``member_units[k]`` units would: configurations that
    differ only in units share one ensemble.
    """
    config = config.validated()
    if member_units is None or all(u == config.units for u in member_units):
        net = _CLASSES[config.architecture](config, len(seeds))
        net.init_members(list(seeds))
        return net
    if _CLASSES[config.architecture] is not RecurrentStack or len(member_units) != len(seeds):
        raise InputError("per-member units need a vanilla, stacked or vector model and one unit count per seed")
    wide = replace(config, units=max(member_units))
    net = RecurrentStack(wide, len(seeds))
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        for k, (seed, units) in enumerate(zip(seeds, member_units)):
            solo = build_network(replace(config, units=units), [seed])
            _embed(net, k, solo)
    return net


def _embed(net: RecurrentStack, k: int, solo: RecurrentStack) -> None:
    """Copy a narrower one-member network into member k of ``net`` (unit-indexed axes padded)."""
    wide, u = net.config.units, solo.config.units

    def gates(a: Tensor) -> Tensor:  # (..., 4*u) -> (..., 4*wide), each gate block padded
        out = a.new_zeros(*a.shape[:-1], 4 * wide)
        for g in range(4):
            out[..., g * wide : g * wide + u] = a[..., g * u : (g + 1) * u]
        return out

    for i, (big, small) in enumerate(zip(net.rnns, solo.rnns)):
        rows = u if i > 0 else small.cell.w_x.shape[1]  # layer inputs are units above the first
        big.cell.w_x[k, :rows] = gates(small.cell.w_x[0])
        big.cell.w_h[k, :u] = gates(small.cell.w_h[0])
        big.cell.bias[k] = gates(small.cell.bias[0])
    net.head.weight[k, :u] = solo.head.weight[0]
    net.head.bias[k] = solo.head.bias[0]
