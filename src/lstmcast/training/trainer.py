"""Train an ensemble of members at once, stateless or stateful, with one plain loop.

One optimizer step updates every member; each member has its own seed (initialisation and data
order), its own loss and its own Adam moments, so member k ends exactly where a solo run with the
same seed ends. The loss is the sum over members of each member's mean loss: the gradient of that
sum with respect to member k's parameters is the gradient of member k's own loss.

Stateful training follows Keras: no shuffling; sample i of batch k+1 continues the state of
sample i of batch k; state is detached between batches and reset at the start of every epoch.

    net = build_network(ModelConfig(n_in=3), seeds=[0, 1])
    history = train(net, X, y, TrainConfig(epochs=200, batch_size=32), seeds=[0, 1])
    yhat, _ = predict(net, X)          # (members, samples, n_out, n_targets)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn

from lstmcast.errors import InputError, TrainingDivergedError

OPTIMIZERS = ("adam", "sgd", "rmsprop")
LOSSES = ("mse", "mae", "huber")
ENGINES = ("auto", "torch", "numpy")

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
    engine: str = "auto"  # "torch" (eager reference), "numpy" (fast path, see fast.py) or "auto"

    def validated(self, n_samples: int) -> "TrainConfig":
        """Return this config after checking it against ``n_samples`` training samples."""
        if self.epochs < 1:
            raise InputError(f"epochs must be >= 1; got {self.epochs}")
        if self.batch_size < 1:
            raise InputError(f"batch_size must be >= 1; got {self.batch_size}")
        if self.learning_rate <= 0:
            raise InputError(f"learning_rate must be > 0; got {self.learning_rate}")
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"optimizer must be one of {OPTIMIZERS}; got {self.optimizer!r}")
        if self.engine not in ENGINES:
            raise InputError(f"engine must be one of {ENGINES}; got {self.engine!r}")
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


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    """Return the optimizer named in ``config``; every rule used is elementwise, so members stay independent."""
    if config.optimizer == "adam":
        # eps as in Keras; the fused kernel is about 2x faster than foreach for these tiny tensors.
        return torch.optim.Adam(params, lr=config.learning_rate, eps=1e-7, fused=True)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=config.learning_rate, eps=1e-7)
    return torch.optim.SGD(params, lr=config.learning_rate)


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


def train(
    net: nn.Module,
    X: Tensor,
    y: Tensor,
    config: TrainConfig,
    seeds: list[int],
    callbacks: tuple[EpochCallback, ...] = (),
    validation: tuple[Tensor, Tensor] | None = None,
) -> TrainHistory:
    """Train every member of ``net`` on ``X`` (samples, steps, features) -> ``y`` (samples, n_out, targets).

    Callbacks run after each epoch as ``callback(epoch, net, losses)`` with ``epoch`` counted from 1
    and ``losses`` the members' training losses; a callback returning True stops training.
    Raises TrainingDivergedError when a loss becomes NaN or infinite.
    """
    n = X.shape[0]
    config = config.validated(n)
    if config.engine != "torch":
        from lstmcast.training import fast  # imports this module

        if fast.supports(net, config, validation) and (config.engine == "numpy" or fast.worthwhile(net, X, config)):
            return fast.train_fast(net, X, y, config, seeds, callbacks)
        if config.engine == "numpy":
            raise InputError(
                "engine='numpy' trains vanilla/stacked/vector networks with adam, mse, no dropout and no "
                "validation split; use engine='auto' or 'torch' for this configuration"
            )
    members = len(seeds)
    bs = min(config.batch_size, n)
    opt = make_optimizer(config, net.parameters())
    shufflers = seed_generators(seeds, salt=1) if config.shuffle and not config.stateful else None
    torch.arange(members).unsqueeze(1)
    losses = np.zeros((config.epochs, members))
    val_losses = np.zeros((config.epochs, members)) if validation is not None else None
    best = _BestWeights(net, members) if validation is not None and config.patience else None

    for module in net.modules():  # each member draws its own dropout masks from its seed
        if hasattr(module, "generators"):
            module.generators = seed_generators(seeds, salt=2)
    for epoch in range(config.epochs):
        net.train()  # callbacks and validation may have predicted (eval mode) after the last epoch
        state = None  # reset at every epoch (stateful) / never carried (stateless)
        if shufflers is not None:
            order = torch.stack([torch.randperm(n, generator=g) for g in shufflers])  # (members, samples)
        total = torch.zeros(members)
        for start in range(0, n, bs):
            if shufflers is not None:
                idx = order[:, start : start + bs]
                xb, yb = X[idx], y[idx]  # (members, batch, steps, features)
            else:
                xb = X[start : start + bs].expand(members, *X[start : start + bs].shape)
                yb = y[start : start + bs].expand(members, *y[start : start + bs].shape)
            pred, new_state = net(xb, state)
            loss_m = member_loss(pred, yb, config.loss)  # (members,)
            opt.zero_grad(set_to_none=True)
            loss_m.sum().backward()
            opt.step()
            if config.stateful:
                state = detach_state(new_state)
            total += loss_m.detach() * xb.shape[1]
        losses[epoch] = (total / n).numpy()
        if not np.isfinite(losses[epoch]).all():
            bad = np.flatnonzero(~np.isfinite(losses[epoch]))
            raise TrainingDivergedError(
                f"training loss became {losses[epoch][bad[0]]} at epoch {epoch + 1} (member(s) {bad.tolist()[:5]}); "
                f"lower the learning rate (now {config.learning_rate}) or use activation='tanh'"
            )
        stop = False
        if validation is not None:
            val_losses[epoch] = evaluate_loss(net, *validation, config, replay=X)
            if best is not None:
                stop = best.update(epoch, val_losses[epoch], config.patience)
        for cb in callbacks:
            stop = bool(cb(epoch + 1, net, losses[epoch])) or stop
        if stop:
            losses = losses[: epoch + 1]
            val_losses = None if val_losses is None else val_losses[: epoch + 1]
            break
    net.eval()
    history = TrainHistory(loss=losses, val_loss=val_losses, stopped_epoch=len(losses))
    if best is not None:
        best.restore()
        history.best_epoch = best.epoch + 1
    return history


class _BestWeights:
    """Keeps each member's parameters from its best validation epoch (early stopping per member)."""

    def __init__(self, net: nn.Module, members: int):
        self.params = list(net.parameters())
        self.saved = [p.detach().clone() for p in self.params]
        self.score = np.full(members, np.inf)
        self.epoch = np.zeros(members, dtype=int)

    def update(self, epoch: int, val: np.ndarray, patience: int) -> bool:
        """Record improved members; return True when no member improved for ``patience`` epochs."""
        better = val < self.score
        if better.any():
            mask = torch.from_numpy(better)
            for saved, p in zip(self.saved, self.params):
                m = mask.view(-1, *([1] * (p.dim() - 1)))
                saved.copy_(torch.where(m, p.detach(), saved))
            self.score[better] = val[better]
            self.epoch[better] = epoch
        return bool((epoch - self.epoch >= patience).all())

    def restore(self) -> None:
        with torch.no_grad():
            for saved, p in zip(self.saved, self.params):
                p.copy_(saved)


@torch.no_grad()
def evaluate_loss(net: nn.Module, X: Tensor, y: Tensor, config: TrainConfig, replay: Tensor | None = None) -> np.ndarray:
    """Return each member's loss on (X, y), predicted the way the model was trained (stateful or not).

    A stateful model first replays ``replay`` (the training windows, which precede X in time), so
    the validation windows continue from the state training builds rather than from zeros.
    """
    if config.stateful and replay is not None:
        pred, _ = predict(net, torch.cat([replay, X]), batch_size=config.batch_size, stateful=True)
        pred = pred[:, len(replay) :]
    else:
        pred, _ = predict(net, X, batch_size=config.batch_size, stateful=config.stateful)
    target = y.expand(pred.shape[0], *y.shape)
    return member_loss(pred, target, config.loss).numpy()


@torch.no_grad()
def predict(
    net: nn.Module, X: Tensor, batch_size: int = 1024, stateful: bool = False, state=None
) -> tuple[Tensor, object]:
    """Return every member's predictions for ``X`` (samples, steps, features) and the final state.

    ``X`` may also be (members, samples, steps, features): one input set per member.

    Output: (members, samples, n_out, n_targets). Stateful prediction runs ``X`` in consecutive
    batches of ``batch_size`` carrying state sample-slot to sample-slot, as in training (the last
    batch is padded; padded slots never reach a returned prediction); pass ``state`` to continue from it.
    """
    net.eval()
    members = net.members
    from lstmcast.training import fast  # imports this module

    if isinstance(net, fast.RecurrentStack) and net.config.units * members <= fast.SMALL_STEP:
        out, state = fast.predict_fast(net, X.numpy(), batch_size, stateful, state)
        return torch.from_numpy(out).float(), state
    per_member = X.dim() == 4  # (members, samples, steps, features): one input set per member
    if not per_member:
        X = X.unsqueeze(0)
    n = X.shape[1]

    def batch(i: int, size: int) -> Tensor:
        xb = X[:, i : i + size]
        return xb if per_member else xb.expand(members, *xb.shape[1:])

    if not stateful:
        return torch.cat([net(batch(i, batch_size))[0] for i in range(0, n, batch_size)], dim=1), None
    pad = (-n) % batch_size
    if pad:
        X = torch.cat([X, X[:, -1:].expand(-1, pad, *X.shape[2:])], dim=1)
    outs = []
    for i in range(0, X.shape[1], batch_size):
        out, state = net(batch(i, batch_size), state)
        outs.append(out)
    return torch.cat(outs, dim=1)[:, :n], state


def ensure_tensor(a) -> Tensor:
    """Return ``a`` as a contiguous float32 tensor (numpy views are copied once here)."""
    if isinstance(a, Tensor):
        return a.float().contiguous()
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


