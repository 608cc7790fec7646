"""A fast path for small LSTM stacks: forward, backward and Adam written out in NumPy.

Why: the seeds' models (1-5 units, look-back 1, batch 1-4) cost almost nothing in arithmetic;
a training step is dominated by per-operation overhead. Profiling the PyTorch eager step
(ANCHORS.md; `benchmarks/bench_train_step.py`) shows ~60 dispatcher calls, autograd bookkeeping
and the optimizer's Python loop. A NumPy operation on these tiny arrays costs ~1 us against ~3 us
for a torch one, and writing the backward pass by hand removes the autograd graph altogether, so
one step costs a few dozen cheap calls. It needs no compilation, so every new tensor shape is free.

Scope (declared in ``engines.TABLES``): ``RecurrentStack`` networks (vanilla, stacked, vector)
trained with MSE and Adam, without dropout, on the CPU. The loop in ``trainer.py`` drives it as it
drives the torch kernel, the reference this one is tested against (same initial weights, same
data order, same Adam).
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from threadpoolctl import ThreadpoolController

from lstmcast.errors import InputError
from lstmcast.models.zoo import Network, RecurrentStack
from lstmcast.training.threads import SMALL_STEP  # noqa: F401  (re-exported: forecaster.py imports it here)
from lstmcast.training.kernel import Kernel, TrainConfig


def predicts(net: Network) -> bool:
    """Return True when ``predict`` should run ``net`` here: a small LSTM stack this engine computes exactly."""
    return (
        isinstance(net, RecurrentStack)
        and net.config.activation in _ACTIVATIONS
        and net.config.units * net.members <= SMALL_STEP
    )


# each activation with its derivative written in terms of the activation's output
_ACTIVATIONS = {
    "tanh": (np.tanh, lambda a: 1.0 - a * a),
    "relu": (lambda x: np.maximum(x, 0.0), lambda a: (a > 0).astype(a.dtype)),
}


def _act(name: str):
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise InputError(f"activation must be one of {sorted(_ACTIVATIONS)}; got {name!r}") from None


_blas_depth = 0


_controller: ThreadpoolController | None = None


@contextlib.contextmanager
def single_threaded_blas():
    """Run NumPy's BLAS on one thread (re-entrant; nested uses cost nothing).

    Matrix products of a few units gain nothing from a second thread, and on shared 2-core
    machines waking it costs 3-10x the product itself. Entering costs ~0.4 ms, so training enters
    once and the per-epoch predictions inside it reuse the limit.
    """
    global _blas_depth
    if _blas_depth:
        _blas_depth += 1
        try:
            yield
        finally:
            _blas_depth -= 1
        return
    global _controller
    if _controller is None:  # finding the BLAS libraries costs ~7 ms: once per process, not per call
        _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        _blas_depth = 1
        try:
            yield
        finally:
            _blas_depth = 0


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the per-member product a @ b; a contraction of length 1 is a broadcast multiply (3-5x cheaper)."""
    return a * b if a.shape[-1] == 1 else a @ b


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # overflow-free logistic


class StackEngine:
    """NumPy copy of a RecurrentStack's parameters, with forward, backward and Adam.

    All parameters live in one flat float64 buffer (with per-tensor views), so Adam is a handful
    of vectorised operations whatever the number of layers.
    """

    def __init__(self, net: RecurrentStack):
        self.net = net
        self.params = list(net.parameters())  # order: per layer w_x, w_h, bias; then head weight, bias
        sizes = [p.numel() for p in self.params]
        self.flat = np.concatenate([p.detach().numpy().astype(np.float64).ravel() for p in self.params])
        self.grad = np.zeros_like(self.flat)
        self.views, self.gviews = [], []
        offset = 0
        for p, n in zip(self.params, sizes):
            self.views.append(self.flat[offset : offset + n].reshape(p.shape))
            self.gviews.append(self.grad[offset : offset + n].reshape(p.shape))
            offset += n
        self.n_layers = len(net.rnns)
        self.units = net.config.units
        self.act, self.dact = _act(net.config.activation)
        self.m = np.zeros_like(self.flat)
        self.v = np.zeros_like(self.flat)
        self.t = 0

    def layer(self, i: int):
        return self.views[3 * i : 3 * i + 3], self.gviews[3 * i : 3 * i + 3]

    def sync_to_network(self) -> None:
        """Copy the trained parameters back into the torch network."""
        with torch.no_grad():
            for p, v in zip(self.params, self.views):
                p.copy_(torch.from_numpy(v))

    def forward(self, x: np.ndarray, state, keep: bool):
        """Return (output (members, batch, outputs), new state, cache for backward or None)."""
        caches, new_state = [], []
        h_seq = x  # (members, batch, steps, features)
        for li in range(self.n_layers):
            (w_x, w_h, b), _ = self.layer(li)
            m, bsz, steps, f = h_seq.shape
            u = self.units
            gx = (_mm(h_seq.reshape(m, bsz * steps, f), w_x) + b).reshape(m, bsz, steps, 4 * u)
            if state is None:
                h = np.zeros((m, bsz, u))
                c = np.zeros((m, bsz, u))
            else:
                h, c = state[li]
            last = li == self.n_layers - 1
            outs = np.empty((m, bsz, steps, u)) if not last or keep else None
            cache = []
            for s in range(steps):
                gates = gx[:, :, s] + _mm(h, w_h)
                sg = _sigmoid(gates)
                g = self.act(gates[..., 2 * u : 3 * u])
                c_prev, h_prev = c, h
                c = sg[..., u : 2 * u] * c_prev + sg[..., :u] * g
                tc = self.act(c)
                h = sg[..., 3 * u :] * tc
                if outs is not None:
                    outs[:, :, s] = h
                if keep:
                    cache.append((h_prev, c_prev, sg, g, tc))
            new_state.append((h, c))
            caches.append((h_seq, cache))
            h_seq = outs if not last else h
        w_d, b_d = self.views[-2], self.views[-1]
        out = _mm(h_seq, w_d) + b_d  # (members, batch, outputs)
        return out, new_state, (caches, h_seq) if keep else None

    def backward(self, dout: np.ndarray, cache) -> None:
        """Fill self.grad with the gradients for output gradient ``dout`` (members, batch, outputs)."""
        caches, h_last = cache
        w_d = self.views[-2]
        self.gviews[-2][...] = h_last.transpose(0, 2, 1) @ dout
        self.gviews[-1][...] = dout.sum(axis=1, keepdims=True)
        dh_top = _mm(dout, w_d.transpose(0, 2, 1))  # (members, batch, units)
        u = self.units
        dseq = None  # gradient w.r.t. the outputs of the layer above's input sequence
        for li in range(self.n_layers - 1, -1, -1):
            (w_x, w_h, _), (g_x, g_h, g_b) = self.layer(li)
            x_seq, steps_cache = caches[li]
            m, bsz, steps, f = x_seq.shape
            dgates = np.empty((m, bsz, steps, 4 * u))
            dh_next = np.zeros((m, bsz, u))
            dc_next = np.zeros((m, bsz, u))
            w_h_t = w_h.transpose(0, 2, 1)
            h_prevs = np.empty((m, bsz, steps, u))
            for s in range(steps - 1, -1, -1):
                h_prev, c_prev, sg, g, tc = steps_cache[s]
                h_prevs[:, :, s] = h_prev
                dh = dh_next + (dseq[:, :, s] if dseq is not None else (dh_top if s == steps - 1 else 0.0))
                i, fg, o = sg[..., :u], sg[..., u : 2 * u], sg[..., 3 * u :]
                dc = dh * o * self.dact(tc) + dc_next
                dg_all = dgates[:, :, s]
                dg_all[..., :u] = dc * g * i * (1 - i)
                dg_all[..., u : 2 * u] = dc * c_prev * fg * (1 - fg)
                dg_all[..., 2 * u : 3 * u] = dc * i * self.dact(g)
                dg_all[..., 3 * u :] = dh * tc * o * (1 - o)
                dc_next = dc * fg
                dh_next = _mm(dg_all, w_h_t)
            flat_g = dgates.reshape(m, bsz * steps, 4 * u)
            g_x[...] = x_seq.reshape(m, bsz * steps, f).transpose(0, 2, 1) @ flat_g
            g_h[...] = h_prevs.reshape(m, bsz * steps, u).transpose(0, 2, 1) @ flat_g
            g_b[...] = flat_g.sum(axis=1, keepdims=True)
            if li > 0:
                dseq = (flat_g @ w_x.transpose(0, 2, 1)).reshape(m, bsz, steps, f)

    def adam(self, lr: float, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-7) -> None:
        """One Adam update of every parameter (PyTorch's formula, elementwise, so members stay independent)."""
        self.t += 1
        self.m *= b1
        self.m += (1 - b1) * self.grad
        self.v *= b2
        self.v += (1 - b2) * self.grad * self.grad
        denom = np.sqrt(self.v) / np.sqrt(1 - b2**self.t) + eps
        self.flat -= (lr / (1 - b1**self.t)) * self.m / denom


def predict_fast(net: RecurrentStack, X: np.ndarray, batch_size: int, stateful: bool, state=None):
    """Return (predictions, final state) like ``trainer.predict``, computed in NumPy.

    Predictions: (members, samples, n_out, n_targets). ``state`` and the returned state are the
    network's own format (a list of (h, c) tensors per layer), so the two paths interchange.
    """
    with single_threaded_blas():
        return _predict_fast(net, X, batch_size, stateful, state)


def _predict_fast(net, X, batch_size, stateful, state):
    engine = StackEngine(net)
    if state is not None:
        state = [(h.detach().double().numpy(), c.detach().double().numpy()) for h, c in state]
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 3:
        X = np.broadcast_to(X, (net.members,) + X.shape)
    n = X.shape[1]
    if not stateful:
        out, _, _ = engine.forward(X, None, keep=False)
        state = None
    else:
        pad = (-n) % batch_size
        if pad:
            X = np.concatenate([X, np.repeat(X[:, -1:], pad, axis=1)], axis=1)
        outs = []
        for i in range(0, X.shape[1], batch_size):
            o, state, _ = engine.forward(X[:, i : i + batch_size], state, keep=False)
            outs.append(o)
        out = np.concatenate(outs, axis=1)[:, :n]
    cfg = net.config
    if state is not None:
        state = [(torch.from_numpy(h).float(), torch.from_numpy(c).float()) for h, c in state]
    return out.reshape(net.members, n, cfg.n_out, cfg.n_targets), state


_COPY_LIMIT = 1_000_000  # window elements copied to float64 up front (8 MB); beyond, converted per batch


class NumpyKernel(Kernel):
    """The NumPy kernel for the training loop: a StackEngine plus MSE, float64 throughout."""

    name = "numpy"

    def __init__(self, net: RecurrentStack, config: TrainConfig):
        self.net = net
        self.engine = StackEngine(net)
        self.lr = config.learning_rate
        self.blas = single_threaded_blas()
        # overflow is caught by the loop's finiteness checks; set once per training, not three times a step
        self.quiet = np.errstate(all="ignore")

    def __enter__(self) -> "NumpyKernel":
        self.blas.__enter__()  # once per training: entering costs ~0.4 ms
        self.quiet.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.quiet.__exit__(*exc)
        self.blas.__exit__(*exc)

    def prepare(self, X: torch.Tensor, y: torch.Tensor):
        """Return float64 NumPy copies of the windows when small; a long series' views stay torch, converted per batch.

        One conversion up front saves two per step (the seeds' steps cost ~30 us each).
        """
        if X.numel() <= _COPY_LIMIT:
            return X.detach().numpy().astype(np.float64), y.detach().numpy().astype(np.float64)
        return X, y

    def forward_loss(self, xb, yb, state):
        """Return (each member's mean squared error, the new state, what backward needs)."""
        if isinstance(xb, torch.Tensor):
            xb, yb = xb.numpy().astype(np.float64), yb.numpy().astype(np.float64)
        x = xb  # (members, batch, steps, features)
        target = yb.reshape(yb.shape[0], yb.shape[1], -1)  # (members, batch, outputs)
        out, new_state, cache = self.engine.forward(x, state, keep=True)
        err = out - target
        size = err.shape[1] * err.shape[2]
        loss = np.einsum("mbo,mbo->m", err, err) / size
        return loss, new_state, (err * (2.0 / size), cache)

    def backward(self, tape) -> None:
        self.engine.backward(*tape)

    def update(self) -> None:
        self.engine.adam(self.lr)

    def sync(self) -> None:
        self.engine.sync_to_network()

    def nonfinite_members(self) -> np.ndarray:
        with np.errstate(over="ignore"):  # the network is float32: beyond its range is not finite
            flat32 = self.engine.flat.astype(np.float32)
        bad = np.zeros(self.net.members, dtype=bool)
        offset = 0
        for view in self.engine.views:
            n = view.size
            bad |= ~np.isfinite(flat32[offset : offset + n].reshape(view.shape[0], -1)).all(axis=1)
            offset += n
        return bad
