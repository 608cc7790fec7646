"""Our optimizers: torch.optim's updates to float32 rounding, members independent, and no torch._dynamo import."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from lstmcast.training import optim
from lstmcast.training.kernel import TrainConfig, make_optimizer

SHAPES = [(3, 4, 8), (3, 1, 8), (3, 8, 1), (5,)]  # member-leading, like the kernels' parameters

# (ours, torch.optim's) with what make_optimizer asks for, at a learning rate that moves the parameters
PAIRS = {
    "adam": (lambda ps: optim.Adam(ps, lr=1e-2, eps=1e-7),
             lambda ps: torch.optim.Adam(ps, lr=1e-2, eps=1e-7, fused=True)),
    "adam-foreach": (lambda ps: optim.Adam(ps, lr=1e-2, eps=1e-7),
                     lambda ps: torch.optim.Adam(ps, lr=1e-2, eps=1e-7, foreach=True)),
    "rmsprop": (lambda ps: optim.RMSprop(ps, lr=1e-2, eps=1e-7),
                lambda ps: torch.optim.RMSprop(ps, lr=1e-2, eps=1e-7)),
    "sgd": (lambda ps: optim.SGD(ps, lr=1e-2), lambda ps: torch.optim.SGD(ps, lr=1e-2)),
}


def trajectory(make, steps: int = 50, seed: int = 0, skip=lambda step, i: False, grad_scale: float = 1.0,
               device: str = "cpu") -> list[torch.Tensor]:
    """Return the parameters after ``steps`` updates from random starts and random gradients (``skip``: grad None)."""
    gen = torch.Generator().manual_seed(seed)
    params = [torch.nn.Parameter(torch.randn(s, generator=gen).to(device)) for s in SHAPES]
    opt = make(params)
    for step in range(steps):
        opt.zero_grad()
        for i, p in enumerate(params):
            g = grad_scale * torch.randn(p.shape, generator=gen).to(device)
            p.grad = None if skip(step, i) else g
        opt.step()
    return [p.detach().cpu().clone() for p in params]


@pytest.mark.parametrize("name", PAIRS)
def test_each_matches_torch_optim_over_50_steps(name):
    ours, theirs = PAIRS[name]
    got, want = trajectory(ours), trajectory(theirs)
    start = trajectory(ours, steps=0)
    for g, w, s in zip(got, want, start):
        assert not torch.equal(w, s)  # the comparison is about parameters that moved
        torch.testing.assert_close(g, w, rtol=1e-6, atol=1e-7)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", ["adam", "rmsprop", "sgd"])
def test_each_matches_torch_optim_on_a_gpu(name):
    ours, theirs = PAIRS[name]
    for g, w in zip(trajectory(ours, device="cuda"), trajectory(theirs, device="cuda")):
        torch.testing.assert_close(g, w, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["adam", "rmsprop", "sgd"])
def test_each_matches_torch_optim_with_tiny_gradients(name):
    # where eps is comparable to sqrt(v), the place eps enters the denominator decides the update
    ours, theirs = PAIRS[name]
    for g, w in zip(trajectory(ours, grad_scale=1e-7), trajectory(theirs, grad_scale=1e-7)):
        torch.testing.assert_close(g, w, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["adam", "rmsprop", "sgd"])
def test_a_parameter_without_gradient_is_skipped_as_torch_optim_skips_it(name):
    # parameter 1 has no gradient every third step: Adam must not count those steps for it
    ours, theirs = PAIRS[name]
    skip = lambda step, i: i == 1 and step % 3 == 0  # noqa: E731
    for g, w in zip(trajectory(ours, skip=skip), trajectory(theirs, skip=skip)):
        torch.testing.assert_close(g, w, rtol=1e-6, atol=1e-7)


def test_adam_follows_the_written_formula_in_float64():
    lr, b1, b2, eps, steps = 1e-2, 0.9, 0.999, 1e-7, 20
    gen = torch.Generator().manual_seed(3)
    p0 = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    grads = [torch.randn(4, 5, generator=gen, dtype=torch.float64) for _ in range(steps)]
    p = torch.nn.Parameter(p0.clone())
    opt = optim.Adam([p], lr=lr, eps=eps)
    want, m, v = p0.clone(), torch.zeros_like(p0), torch.zeros_like(p0)
    for t, g in enumerate(grads, start=1):
        p.grad = g.clone()
        opt.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        want = want - lr / (1 - b1**t) * m / (v.sqrt() / (1 - b2**t) ** 0.5 + eps)
    torch.testing.assert_close(p.detach(), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["adam", "rmsprop", "sgd"])
def test_members_stay_independent(name):
    # the kernels stack members along dim 0 and rely on member k's update seeing only member k's gradient
    make = PAIRS[name][0]
    base = trajectory(make, seed=5)

    gen = torch.Generator().manual_seed(5)
    params = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in SHAPES]
    opt = make(params)
    noise = torch.Generator().manual_seed(99)
    for _ in range(50):
        opt.zero_grad()
        for p in params:
            g = torch.randn(p.shape, generator=gen)
            if p.dim() > 1:  # member 2 gets very different gradients; members 0 and 1 the same as in base
                g[2] = 1e3 * torch.randn(p.shape[1:], generator=noise)
            p.grad = g
        opt.step()
    for b, p in zip(base, params):
        if p.dim() > 1:
            assert torch.equal(b[:2], p.detach()[:2])
            assert not torch.equal(b[2], p.detach()[2])


def test_zero_grad_drops_or_zeroes_gradients():
    p, q = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))
    opt = optim.SGD([p, q], lr=0.1)
    p.grad = torch.ones(3)
    opt.zero_grad(set_to_none=False)
    assert torch.equal(p.grad, torch.zeros(3)) and q.grad is None
    opt.zero_grad()
    assert p.grad is None
    opt.step()  # no gradients: nothing moves
    assert torch.equal(p.detach(), torch.ones(3))


@pytest.mark.parametrize("name, kind", [("adam", optim.Adam), ("rmsprop", optim.RMSprop), ("sgd", optim.SGD)])
def test_make_optimizer_returns_ours_with_the_configured_rate(name, kind):
    p = torch.nn.Parameter(torch.zeros(2))
    opt = make_optimizer(TrainConfig(optimizer=name, learning_rate=0.05), [p])
    assert type(opt) is kind and opt.lr == 0.05
    if name != "sgd":
        assert opt.eps == 1e-7


@pytest.mark.slow
def test_training_with_the_torch_and_fused_kernels_never_imports_dynamo():
    script = textwrap.dedent("""
        import sys, torch
        from lstmcast.models.zoo import ModelConfig, build_network
        from lstmcast.training.trainer import TrainConfig, train
        X, y = torch.randn(24, 4, 1), torch.randn(24, 1, 1)
        for engine in ("torch", "fused"):
            for opt in ("adam", "rmsprop", "sgd"):
                net = build_network(ModelConfig(n_in=4, units=3), [0, 1])
                history = train(net, X, y, TrainConfig(epochs=2, engine=engine, optimizer=opt), [0, 1])
                assert history.extra["engine"] == engine, history.extra
        print("torch._dynamo" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
