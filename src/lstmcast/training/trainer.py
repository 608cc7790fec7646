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

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn

from lstmcast.errors import InputError, TrainingDivergedError
from lstmcast.training import engines, fast
from lstmcast.training.kernel import (  # noqa: F401  (re-exported: the public names of training)
    DEVICES, ENGINES, LOSSES, OPTIMIZERS, EpochCallback, TrainConfig, TrainHistory, detach_state, make_optimizer,
    member_loss, seed_generators,
)
from lstmcast.training.threads import threads_for

def train(
    net: nn.Module,
    X: Tensor,
    y: Tensor,
    config: TrainConfig,
    seeds: list[int],
    callbacks: tuple[EpochCallback, ...] = (),
    validation: tuple[Tensor, Tensor] | None = None,
    rows: np.ndarray | Tensor | None = None,
) -> TrainHistory:
    """Return the per-epoch losses after training every member of ``net`` on ``X`` -> ``y``.

    ``X`` (samples, steps, features) may be a strided view of a long series: batches gather their
    rows by index, so no copy of all windows is ever made. ``y`` is (samples, n_out, targets).
    ``rows`` (1-D integers, default every sample) names the samples to train on, in order: the
    windows of many series pooled in one array, less those that cross a series boundary, train as
    one long series does. Shuffling permutes them; an unshuffled epoch walks them in order, so
    training on ``X[rows]`` gives the same result.
    Callbacks run after each epoch as ``callback(epoch, net, losses)`` with ``epoch`` counted from 1
    and ``losses`` the members' training losses; a callback returning True stops training.
    Raises TrainingDivergedError when a loss or a parameter becomes NaN or infinite, and
    InputError when ``config.engine`` cannot train this network.
    """

    rows = _checked_rows(rows, X.shape[0])
    n = X.shape[0] if rows is None else len(rows)
    config = config.validated(n)
    bs = min(config.batch_size, n)
    members = len(seeds)
    name = engines.choose(net.config, config, members, bs)
    with threads_for(net.config.units * bs * members):
        net.to(config.device)
        with engines.make_kernel(name, net, config, seeds) as kernel:
            history = _loop(kernel, net, X, y, config, seeds, callbacks, validation, rows)
    history.extra["engine"] = name
    return history


def _checked_rows(rows, n_samples: int) -> Tensor | None:
    """Return ``rows`` as a 1-D int64 tensor of sample indices below ``n_samples`` (None stays None), or raise InputError."""
    if rows is None:
        return None
    a = np.asarray(rows)
    if a.ndim != 1 or not a.size or not np.issubdtype(a.dtype, np.integer):
        raise InputError(f"rows must be a non-empty 1-D array of integer sample indices; got {a.dtype} of shape "
                         f"{a.shape}; pass e.g. np.arange(len(X)) or the window starts to train on")
    if a.min() < 0 or a.max() >= n_samples:
        raise InputError(f"rows must index the {n_samples} samples (0 .. {n_samples - 1}); got values from "
                         f"{a.min()} to {a.max()}")
    return torch.from_numpy(a.astype(np.int64))


def _loop(kernel, net, X, y, config: TrainConfig, seeds, callbacks, validation, rows=None) -> TrainHistory:
    """Run the epochs: the one loop every kernel shares."""
    n, members = (X.shape[0] if rows is None else len(rows)), len(seeds)
    bs = min(config.batch_size, n)
    device = torch.device(config.device)
    shufflers = seed_generators(seeds, salt=1) if config.shuffle and not config.stateful else None
    losses = np.zeros((config.epochs, members))
    val_losses = np.zeros((config.epochs, members)) if validation is not None else None
    best = _BestWeights(net, members) if validation is not None and config.patience else None
    steps, last = 0, config.epochs
    Xk, yk = kernel.prepare(X, y)  # each kernel's own array type (the NumPy kernel: float64 arrays)
    if rows is not None and isinstance(Xk, np.ndarray):
        rows = rows.numpy()
    # a stateful model's validation continues the state built over the training samples, in order
    replay = X if rows is None or not config.stateful else X[rows]
    on_device = device.type != "cpu"
    for epoch in range(config.epochs):
        state = None  # reset at every epoch (stateful) / never carried (stateless)
        order = None
        if shufflers is not None:
            order = torch.stack([torch.randperm(n, generator=g) for g in shufflers])  # (members, samples)
            order = order.numpy() if isinstance(Xk, np.ndarray) else order
        total, seen = 0.0, 0
        try:  # free in Python 3.11 unless raised: one guard for every step of the epoch
            for start in range(0, n, bs):
                if order is not None:
                    idx = order[:, start : start + bs]
                    idx = idx if rows is None else rows[idx]
                    xb, yb = Xk[idx], yk[idx]  # (members, batch, ...): rows gathered, never all windows
                else:
                    part = slice(start, start + bs) if rows is None else rows[start : start + bs]
                    xb, yb = _repeat(Xk[part], members), _repeat(yk[part], members)
                if on_device:
                    xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
                loss, new_state, tape = kernel.forward_loss(xb, yb, state)
                kernel.backward(tape)
                kernel.update()
                if config.stateful:
                    state = new_state
                # NaN and inf survive a sum of non-negative losses, so one check per epoch sees every step
                total = total + loss * xb.shape[1]
                seen += xb.shape[1]
                steps += 1
                if steps == config.max_steps:
                    break
        except (RuntimeError, ValueError, FloatingPointError, OverflowError) as err:
            _raise_if_numerical(err, kernel, epoch, config)
            raise
        losses[epoch] = _as_numpy(total) / seen
        stop = steps == config.max_steps
        # finite losses mean the parameters they came from were finite: the parameters themselves
        # are checked after the last update (a callback predicting with a diverged network raises in predict)
        _check_finite(kernel, losses[epoch], epoch, config,
                      parameters=stop or epoch == config.epochs - 1 or validation is not None)
        if validation is not None or callbacks:
            kernel.sync()
        if validation is not None:
            val_losses[epoch] = evaluate_loss(net, *validation, config, replay=replay)
            if best is not None:
                stop = best.update(epoch, val_losses[epoch], config.patience) or stop
        for cb in callbacks:
            stop = bool(cb(epoch + 1, net, losses[epoch])) or stop
        if stop:
            last = epoch + 1
            break
    kernel.sync()
    net.eval()
    net.epochs_trained = last  # named in predict's error should its outputs not be finite
    losses = losses[:last]
    val_losses = None if val_losses is None else val_losses[:last]
    history = TrainHistory(loss=losses, val_loss=val_losses, stopped_epoch=last, extra={"steps": steps})
    if best is not None:
        best.restore()
        history.best_epoch = best.epoch + 1
    return history


def _as_numpy(a) -> np.ndarray:
    return a.detach().cpu().double().numpy() if isinstance(a, Tensor) else np.asarray(a, dtype=np.float64)


def _diverged(what: str, value, epoch: int, members, config: TrainConfig) -> TrainingDivergedError:
    return TrainingDivergedError(
        f"{what} became {value} at epoch {epoch + 1} (member(s) {list(members)[:5]}); lower the learning rate "
        f"(learning_rate={config.learning_rate} now), or scale the data, or use activation='tanh'"
    )


def _check_finite(kernel, epoch_losses: np.ndarray, epoch: int, config: TrainConfig, parameters: bool = True) -> None:
    """Raise TrainingDivergedError when a member's loss (or, with ``parameters``, a parameter) is NaN or infinite."""
    # the networks are float32 (the NumPy kernel computes in float64): beyond float32's range is divergence
    with np.errstate(over="ignore"):
        as32 = epoch_losses.astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(as32))
    if bad.size:
        raise _diverged("training loss", as32[bad[0]], epoch, bad.tolist(), config)
    bad = np.flatnonzero(kernel.nonfinite_members()) if parameters else np.array([], dtype=int)
    if bad.size:
        raise _diverged("a parameter (after the optimizer step)", "nan or inf", epoch, bad.tolist(), config)


def _raise_if_numerical(err: Exception, kernel, epoch: int, config: TrainConfig) -> None:
    """Raise TrainingDivergedError from ``err`` when it reports an overflow or the parameters are no longer finite."""
    bad = np.flatnonzero(kernel.nonfinite_members())
    text = str(err).lower()
    if not bad.size and not any(w in text for w in ("nan", "inf", "overflow", "finite")):
        return  # not a numerical blow-up: a bug, the caller re-raises it as it is
    members = bad.tolist() if bad.size else "?"
    raise TrainingDivergedError(
        f"training failed numerically at epoch {epoch + 1} (member(s) {members}): {err}; lower the learning "
        f"rate (learning_rate={config.learning_rate} now), or scale the data, or use activation='tanh'"
    ) from err


def _repeat(a, members: int):
    """Return the batch ``a`` seen by every member (a broadcast view, no copy): (members, *a.shape)."""
    if isinstance(a, np.ndarray):
        if a.flags.c_contiguous:  # the cheap way (np.broadcast_to costs ~10 us, a step of the seeds' models ~30)
            view = np.ndarray((members,) + a.shape, a.dtype, a, 0, (0,) + a.strides)
            view.flags.writeable = False
            return view
        return np.broadcast_to(a, (members,) + a.shape)
    return a.expand(members, *a.shape)


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
                m = mask.to(p.device).view(-1, *([1] * (p.dim() - 1)))
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
    """Return every member's predictions for ``X`` (samples, steps, features), on the CPU, and the final state.

    ``X`` may also be (members, samples, steps, features): one input set per member.

    Output: (members, samples, n_out, n_targets). Stateful prediction runs ``X`` in consecutive
    batches of ``batch_size`` carrying state sample-slot to sample-slot, as in training (the last
    batch is padded; padded slots never reach a returned prediction); pass ``state`` to continue from it.
    Raises TrainingDivergedError when a prediction is NaN or infinite although ``X`` is finite.
    """
    with threads_for(net.config.units * net.members * min(batch_size, X.shape[-3])):
        out, state = _predict(net, X, batch_size, stateful, state)
    if not torch.isfinite(out).all():
        _raise_nonfinite_predictions(net, X, out)
    return out, state


def _predict(net: nn.Module, X: Tensor, batch_size: int, stateful: bool, state) -> tuple[Tensor, object]:
    net.eval()
    members = net.members

    device = next(net.parameters()).device
    if device.type == "cpu" and fast.predicts(net):
        out, state = fast.predict_fast(net, X.numpy(), batch_size, stateful, state)
        return torch.from_numpy(out).float(), state
    per_member = X.dim() == 4  # (members, samples, steps, features): one input set per member
    if not per_member:
        X = X.unsqueeze(0)
    n = X.shape[1]

    def batch(i: int, size: int) -> Tensor:
        xb = X[:, i : i + size]
        xb = xb if per_member else xb.expand(members, *xb.shape[1:])
        return xb.to(device, non_blocking=True)

    if not stateful:
        return torch.cat([net(batch(i, batch_size))[0].cpu() for i in range(0, n, batch_size)], dim=1), None
    pad = (-n) % batch_size
    if pad:
        X = torch.cat([X, X[:, -1:].expand(-1, pad, *X.shape[2:])], dim=1)
    outs = []
    for i in range(0, X.shape[1], batch_size):
        out, state = net(batch(i, batch_size), state)
        outs.append(out.cpu())
    return torch.cat(outs, dim=1)[:, :n], state


def _raise_nonfinite_predictions(net: nn.Module, X: Tensor, out: Tensor) -> None:
    if not torch.isfinite(X).all():
        raise InputError("predict: the input windows contain NaN or infinite values; predict from finite data")
    bad = (~torch.isfinite(out)).flatten(1).any(dim=1).nonzero().flatten().tolist()
    trained = getattr(net, "epochs_trained", None)
    when = f" after {trained} training epoch(s)" if trained is not None else ""
    raise TrainingDivergedError(
        f"member(s) {bad[:5]} predict NaN or infinite values{when}: training diverged; train again with a "
        "lower learning rate (learning_rate), scaled data or activation='tanh'"
    )


def ensure_tensor(a) -> Tensor:
    """Return ``a`` as a float32 tensor; a float32 NumPy view (windows of a long series) is shared, not copied."""
    if isinstance(a, Tensor):
        return a.float()
    a = np.asarray(a)
    if a.dtype != np.float32:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    with warnings.catch_warnings():  # read-only windows: torch warns that writes would be undefined; we never write
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(a)
