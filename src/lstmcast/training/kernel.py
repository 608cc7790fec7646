"""What every training kernel shares: the training configuration, the history, the step helpers and the Kernel base.

The loop (trainer.py) and the kernels (torch_kernel.py, fused.py, fast.py) all import from here
and never from each other's modules, so the import graph stays a tree: trainer -> engines ->
kernels -> this module -> optim.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn

from lstmcast.errors import InputError
from lstmcast.training.optim import SGD, Adam, Optimizer, RMSprop

OPTIMIZERS = ("adam", "sgd", "rmsprop")
LOSSES = ("mse", "mae", "huber")
ENGINES = ("auto", "torch", "numpy", "fused")
DEVICES = ("cpu", "cuda")

EpochCallback = Callable[[int, nn.Module, np.ndarray], "bool | None"]


@dataclass(frozen=True)
class TrainConfig:
    """How to train: the seeds' defaults are Adam (learning rate 0.001) and mean squared error."""

    epochs: int = 100
    batch_size: int = 32
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    loss: str = "mse"
    shuffle: bool = True  # stateless only: stateful training never shuffles
    stateful: bool = False
    patience: int | None = None  # early stopping on the validation loss, when validation data is given
    engine: str = "auto"  # "torch" (reference), "numpy" (tiny steps), "fused" (nn.LSTM) or "auto"; see engines.py
    max_steps: int | None = None  # stop after this many optimizer steps (None: run every epoch)
    device: str = "cpu"  # where the network and its batches live; predictions come back on the CPU

    def validated(self, n_samples: int) -> "TrainConfig":
        """Return this config after checking it against ``n_samples`` training samples."""
        if self.epochs < 1:
            raise InputError(f"epochs must be >= 1; got {self.epochs}")
        if self.batch_size < 1:
            raise InputError(f"batch_size must be >= 1; got {self.batch_size}")
        if not self.learning_rate > 0:  # NaN too
            raise InputError(f"learning_rate must be > 0; got {self.learning_rate}")
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"optimizer must be one of {OPTIMIZERS}; got {self.optimizer!r}")
        if self.engine not in ENGINES:
            raise InputError(f"engine must be one of {ENGINES}; got {self.engine!r}")
        if self.max_steps is not None and (isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int)
                                           or self.max_steps < 1):
            raise InputError(f"max_steps must be None or an integer >= 1; got {self.max_steps!r}")
        if self.device not in DEVICES:
            raise InputError(f"device must be one of {DEVICES}; got {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise InputError(
                f"device='cuda' needs a CUDA GPU, but torch {torch.__version__} sees none here "
                f"(torch.cuda.is_available() is False); use device='cpu'"
            )
        if self.loss not in LOSSES:
            raise InputError(f"loss must be one of {LOSSES}; got {self.loss!r}")
        if self.stateful and n_samples % self.batch_size:
            fit = max(b for b in range(1, min(self.batch_size, n_samples) + 1) if n_samples % b == 0)
            trim = f", or drop the {n_samples % self.batch_size} oldest samples" if n_samples > self.batch_size else ""
            raise InputError(
                f"stateful training needs a batch_size that divides the {n_samples} training samples; "
                f"batch_size={self.batch_size} does not (try batch_size={fit}{trim})"
            )
        return self


@dataclass
class TrainHistory:
    """Per-epoch losses of every member: arrays shaped (epochs_run, members)."""

    loss: np.ndarray
    val_loss: np.ndarray | None = None
    best_epoch: np.ndarray | None = None  # per member, when early stopping restored weights
    stopped_epoch: int | None = None
    extra: dict = field(default_factory=dict)


def seed_generators(seeds: list[int], salt: int) -> list[torch.Generator]:
    """Return one generator per member, derived from its seed and a salt (one stream per purpose)."""
    return [torch.Generator().manual_seed(int(s) * 1_000_003 + salt) for s in seeds]


def make_optimizer(config: TrainConfig, params) -> Optimizer:
    """Return the optimizer named in ``config``; every rule used is elementwise, so members stay independent."""
    # ours, not torch.optim's: the first torch.optim call imports torch._dynamo (1.6 s per process; optim.py)
    if config.optimizer == "adam":
        return Adam(params, lr=config.learning_rate, eps=1e-7)  # eps as in Keras
    if config.optimizer == "rmsprop":
        return RMSprop(params, lr=config.learning_rate, eps=1e-7)
    return SGD(params, lr=config.learning_rate)


def member_loss(pred: Tensor, target: Tensor, kind: str) -> Tensor:
    """Return each member's mean loss, shape (members,)."""
    err = pred - target
    if kind == "mse":
        per = err.square()
    elif kind == "mae":
        per = err.abs()
    else:
        per = nn.functional.huber_loss(pred, target, reduction="none")
    return per.flatten(1).mean(dim=1)


def detach_state(state):
    """Return ``state`` (nested lists/tuples of tensors) cut from the autograd graph."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    return type(state)(detach_state(s) for s in state)



class Kernel:
    """Base of the kernels: the interface in this module's docstring, and what most of them share."""

    name = "?"

    def __enter__(self) -> "Kernel":  # held for the whole training run (e.g. BLAS thread limits)
        return self

    def __exit__(self, *exc) -> None:
        return None

    def sync(self) -> None:
        """Copy the trained parameters into the network (nothing to do when the kernel trains it in place)."""

    def prepare(self, X, y):
        """Return the training data (X, y) in the form this kernel's batches are gathered from."""
        return X, y
