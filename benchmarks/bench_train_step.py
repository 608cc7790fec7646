"""Cost of one training step of the seed-002 model, by engine and member count.

    .venv/bin/python benchmarks/bench_train_step.py
Prints microseconds per optimizer step (all members together) for the eager PyTorch trainer and
the NumPy engine, at 1, 30 and 150 members, and a cProfile summary of the NumPy step.
"""

from __future__ import annotations

import cProfile
import pstats
import time

import torch

from lstmcast.models.zoo import ModelConfig, build_network
from lstmcast.training.trainer import TrainConfig, train


def per_step(engine: str, members: int, epochs: int) -> float:
    X, y = torch.randn(20, 1, 1), torch.randn(20, 1, 1)
    seeds = list(range(members))
    tc = TrainConfig(epochs=epochs, batch_size=4, stateful=True, engine=engine)
    net = build_network(ModelConfig(n_in=1, units=1), seeds)
    t = time.perf_counter()
    train(net, X, y, tc, seeds)
    return (time.perf_counter() - t) / (epochs * 5) * 1e6


def main() -> None:
    torch.set_num_threads(1)
    print(f"{'members':>8} {'torch eager us':>15} {'numpy us':>9} {'ratio':>6}")
    for m in (1, 30, 150):
        te, nu = per_step("torch", m, 100), per_step("numpy", m, 400)
        print(f"{m:8d} {te:15.0f} {nu:9.0f} {te / nu:5.1f}x")
    X, y = torch.randn(20, 1, 1), torch.randn(20, 1, 1)
    seeds = list(range(30))
    net = build_network(ModelConfig(n_in=1, units=1), seeds)
    prof = cProfile.Profile()
    prof.runcall(train, net, X, y, TrainConfig(epochs=200, batch_size=4, stateful=True, engine="numpy"), seeds)
    pstats.Stats(prof).sort_stats("tottime").print_stats(8)


if __name__ == "__main__":
    main()
