"""Seed-002 configuration: one ensemble of 30 members vs 30 solo runs, in one process.

Stateful, 1 unit, batch 4, look-back 1, Shampoo (20 training windows after the seed's trim),
1000 epochs by default. Prints both times and their ratio for each training engine.

    .venv/bin/python benchmarks/bench_ensemble.py [--epochs 1000] [--members 30] [--engines numpy,torch]
"""

from __future__ import annotations

import argparse
import time

import torch

from lstmcast.data.datasets import load
from lstmcast.data.transforms import Scaler, difference
from lstmcast.data.windows import windows
from lstmcast.models.zoo import ModelConfig, build_network
from lstmcast.training.trainer import TrainConfig, ensure_tensor, train


def seed_windows():
    y = load("shampoo").to_numpy()
    d = difference(y[:24], 1)  # training part: first 24 months
    z = Scaler("minmax-sym").fit(d).transform(d)
    X, Y = windows(z, 1, 1)
    return ensure_tensor(X[2:]), ensure_tensor(Y[2:])  # the seed trims 2 of 22 windows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=1000)
    ap.add_argument("--members", type=int, default=30)
    ap.add_argument("--engines", default="numpy,torch")
    ap.add_argument("--solo-runs", type=int, default=None, help="time this many solo runs and scale up (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    X, Y = seed_windows()
    cfg = ModelConfig(n_in=1, units=1)
    seeds = list(range(args.members))
    print(f"seed-002 config: stateful, 1 unit, batch 4, {len(X)} windows, {args.epochs} epochs, {args.members} members")
    print(f"{'engine':8} {'ensemble s':>11} {'one solo s':>11} {f'{args.members} solo s':>10} {'ensemble/solo':>14} {'speed-up':>9}")
    for engine in args.engines.split(","):
        tc = TrainConfig(epochs=args.epochs, batch_size=4, stateful=True, engine=engine)
        t = time.perf_counter()
        train(build_network(cfg, seeds), X, Y, tc, seeds)
        ensemble = time.perf_counter() - t
        n_solo = args.solo_runs or args.members
        t = time.perf_counter()
        for s in seeds[:n_solo]:
            train(build_network(cfg, [s]), X, Y, tc, [s])
        solo_each = (time.perf_counter() - t) / n_solo
        solo_all = solo_each * args.members
        print(f"{engine:8} {ensemble:11.2f} {solo_each:11.2f} {solo_all:10.2f} {ensemble / solo_each:13.2f}x {solo_all / ensemble:8.1f}x")


if __name__ == "__main__":
    main()
