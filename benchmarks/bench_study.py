"""The seed's whole tuning study (reproduce shampoo-all): lstmcast on 1 and N cores, on Ray, and a plain port.

    .venv/bin/python benchmarks/bench_study.py [--workers 2] [--ray] [--port-epochs 30]

Prints the wall time of the whole study (13 configurations x 30 repeats, 6000 epochs at most)
with workers=1 and workers=N (worker processes, fork server included), optionally with the Ray
executor on a local Ray of N CPUs (ray.init timed apart), and the extrapolated time of a plain
one-model-at-a-time PyTorch port of the seed (nn.LSTM, stateful, Adam, batch loop in Python):
its per-epoch cost is measured at batch 1, 2 and 4 and multiplied out over the study's
30 x (epochs) per configuration, as benchmarks/seed_keras extrapolates the Keras harness. Every
ratio comes from one run of this script; the machine load is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lstmcast.experiments import reproduce
from lstmcast.experiments.store import Store

TRAIN_ROWS = 20  # seed 002: 22 training windows (differenced, look-back 1), the 2 oldest trimmed
STUDY = ([(e, 4, 1) for e in (500, 1000, 2000, 4000, 6000)] + [(1000, b, 1) for b in (1, 2, 4)]
         + [(1000, 4, n) for n in (1, 2, 3, 4, 5)])  # (epochs, batch, neurons)
REPEATS = 30


def port_seconds_per_epoch(batch: int, neurons: int, epochs: int) -> float:
    """Return the steady-state seconds per epoch of the plain port (one model, stateful, reset each epoch)."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(1, neurons, batch_first=True)
    head = torch.nn.Linear(neurons, 1)
    opt = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=1e-3)
    X = torch.randn(TRAIN_ROWS, 1, 1)
    y = torch.randn(TRAIN_ROWS, 1)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        state = None
        for s in range(0, TRAIN_ROWS, batch):
            out, state = lstm(X[s : s + batch], state)
            loss = torch.mean((head(out[:, -1]) - y[s : s + batch]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            state = tuple(h.detach() for h in state)  # stateful: carried, not back-propagated through
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:]))


def time_study(store_dir: Path, tag: str, **run_args) -> float:
    study = reproduce.study("shampoo-all", study_name=f"bench-{tag}")
    store = Store(store_dir / f"{tag}.db")
    t0 = time.perf_counter()
    result = study.run(store, **run_args)
    seconds = time.perf_counter() - t0
    assert result.complete
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--ray", action="store_true", help="also time the Ray executor on a local Ray")
    parser.add_argument("--port-epochs", type=int, default=30, help="epochs timed per port configuration")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"load average before: {os.getloadavg()}; cores: {len(os.sched_getaffinity(0))}")

    per_epoch = {(b, n): port_seconds_per_epoch(b, n, args.port_epochs) for _, b, n in STUDY}
    port = sum(REPEATS * e * per_epoch[(b, n)] for e, b, n in STUDY)
    print("plain PyTorch port, ms per epoch: " + ", ".join(
        f"b{b}/n{n} {1000 * s:.2f}" for (b, n), s in sorted(per_epoch.items())))
    print(f"plain PyTorch port, whole study extrapolated: {port:.0f} s")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        one = time_study(tmp, "w1", workers=1)
        many = time_study(tmp, f"w{args.workers}", workers=args.workers)
        print(f"lstmcast reproduce shampoo-all, workers=1: {one:.2f} s ({port / one:.0f}x the port)")
        print(f"lstmcast reproduce shampoo-all, workers={args.workers}: {many:.2f} s ({port / many:.0f}x the port, "
              f"{one / many:.2f}x workers=1)")
        if args.ray:
            import ray

            t0 = time.perf_counter()
            ray.init(num_cpus=args.workers, include_dashboard=False, logging_level="ERROR")
            start = time.perf_counter() - t0
            on_ray = time_study(tmp, "ray", executor="ray")
            ray.shutdown()
            print(f"ray.init (local, {args.workers} CPUs): {start:.2f} s; study on Ray: {on_ray:.2f} s "
                  f"(overhead vs local workers={args.workers}: {on_ray - many:+.2f} s, {on_ray / many:.2f}x)")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
