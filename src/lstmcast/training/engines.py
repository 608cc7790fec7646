"""Training kernels: what each supports (failing closed) and which one ``engine="auto"`` picks.

The loop in ``trainer.py`` owns epochs, batching, shuffling, stateful carry, callbacks, early
stopping, divergence checks and ``max_steps``. A kernel owns only the arithmetic of one step:

    kernel = KERNELS[name](net, train_config)        # builds/holds the parameters
    X, y = kernel.prepare(X, y)                      # the arrays batches are gathered from
    loss, new_state, tape = kernel.forward_loss(xb, yb, state)   # loss: (members,), detached
    kernel.backward(tape)                            # gradients of the sum of member losses
    kernel.update()                                  # one optimizer step
    kernel.sync()                                    # trained parameters back into ``net``
    kernel.nonfinite_members()                       # (members,) bool: a parameter is NaN/inf

Each kernel declares, for EVERY field of ModelConfig and TrainConfig, what it accepts
(``TABLES``). A field missing from a table makes ``supports`` refuse, so adding a knob to either
config cannot silently reach a kernel that ignores it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

from lstmcast.errors import InputError
from lstmcast.models.zoo import ModelConfig
from lstmcast.training.threads import SMALL_STEP
from lstmcast.training.fast import NumpyKernel
from lstmcast.training.fused import FusedKernel
from lstmcast.training.kernel import TrainConfig
from lstmcast.training.torch_kernel import TorchKernel


@dataclass(frozen=True)
class Rule:
    """What a kernel accepts for one field: ``ok(value)`` and the words that say so."""

    ok: Callable[[object], bool]
    text: str


ANY = Rule(lambda v: True, "any value")


def one_of(*values) -> Rule:
    return Rule(lambda v: v in values, "one of " + ", ".join(repr(v) for v in values))


def equal(value) -> Rule:
    return Rule(lambda v: v == value, f"= {value!r}")


# Fields the LSTM-stack kernels do not read because their architectures have no such part
# (subsequences, filters and kernel size belong to cnn-lstm and conv-lstm).
_UNUSED_BY_STACKS = {"subsequences": ANY, "filters": ANY, "kernel": ANY}
_LOOP_OWNED = {  # handled by the loop in trainer.py, the same for every kernel
    "epochs": ANY, "batch_size": ANY, "shuffle": ANY, "stateful": ANY, "patience": ANY,
    "engine": ANY, "max_steps": ANY, "learning_rate": ANY,
}
_SHAPES = {"n_in": ANY, "n_features": ANY, "n_out": ANY, "n_targets": ANY, "units": ANY, "layers": ANY}
STACKS = one_of("vanilla", "stacked", "vector")

TABLES: dict[str, dict[str, Rule]] = {
    "torch": {
        **{f.name: ANY for f in fields(ModelConfig)},  # the reference trains every architecture
        **_LOOP_OWNED, "optimizer": ANY, "loss": ANY, "device": ANY,
    },
    "numpy": {
        **_SHAPES, **_UNUSED_BY_STACKS, **_LOOP_OWNED,
        "architecture": STACKS, "activation": one_of("tanh", "relu"), "dropout": equal(0.0),
        "optimizer": equal("adam"), "loss": equal("mse"), "device": equal("cpu"),
    },
    "fused": {
        **_SHAPES, **_UNUSED_BY_STACKS, **_LOOP_OWNED,
        # nn.LSTM computes tanh only, and its dropout draws from the global generator, not from
        # each member's seed
        "architecture": STACKS, "activation": equal("tanh"), "dropout": equal(0.0),
        "optimizer": ANY, "loss": ANY, "device": ANY,
    },
}
KERNEL_NAMES = tuple(TABLES)


def supports(kernel: str, model_config: ModelConfig, train_config: TrainConfig) -> str | None:
    """Return None when ``kernel`` trains this configuration exactly like the reference, else the reason."""
    table = TABLES[kernel]
    for config in (model_config, train_config):
        for f in fields(config):
            rule = table.get(f.name)
            if rule is None:
                return f"the {kernel} engine does not declare {f.name} (new settings are refused until declared)"
            value = getattr(config, f.name)
            if not rule.ok(value):
                return f"the {kernel} engine needs {f.name} {rule.text}; got {value!r}"
    return None


# Measured (1 thread, in one process; bench_large.py, bench_medium.py and 5/15/30-member runs of the
# medium shape): nn.LSTM's kernel beats our member-stacked cell once a member's step has
# FUSED_MIN_WORK (units x batch) for a handful of members (5 x 50 units x batch 32: fused 0.93x the
# torch kernel's time), but one nn.LSTM call per member loses to the single member-stacked bmm for
# many members (15 and 30 members: 1.22x and 1.12x); for large steps (64 units x batch 256) it
# wins outright (0.5-0.7x).
FUSED_MIN_WORK = 1024
FUSED_MAX_MEMBERS = 8
FUSED_LARGE_WORK = 64 * 128


def choose(model_config: ModelConfig, train_config: TrainConfig, members: int, batch: int) -> str:
    """Return the kernel to use: the forced one (or InputError with the reason), or the measured pick."""
    name = train_config.engine
    if name != "auto":
        reason = supports(name, model_config, train_config)
        if reason:
            raise InputError(f"engine={name!r} cannot train this configuration: {reason}; "
                             "use engine='auto' or engine='torch'")
        return name
    work = model_config.units * batch
    if supports("numpy", model_config, train_config) is None and work * members <= SMALL_STEP:
        return "numpy"
    if supports("fused", model_config, train_config) is None and (
        work >= FUSED_LARGE_WORK or (work >= FUSED_MIN_WORK and members <= FUSED_MAX_MEMBERS)
    ):
        return "fused"
    return "torch"


def make_kernel(name: str, net, train_config: TrainConfig, seeds: list[int]):
    """Return a kernel called ``name`` holding ``net``'s parameters."""
    if name == "numpy":
        return NumpyKernel(net, train_config)
    if name == "fused":
        return FusedKernel(net, train_config)
    return TorchKernel(net, train_config, seeds)
