"""One large model: 64 units, look-back 24, batch 256, 100k samples; seconds per epoch.

Compares, in one process: torch.nn.LSTM (oneDNN fused kernel) with a dense head and Adam, and
``train()`` with each engine (--engines; "auto" picks the fused kernel here). Each is timed over
--steps optimizer steps (shuffled batches gathered from strided windows, as the Forecaster trains)
and reported as samples/s and as a ratio to nn.LSTM (target >= 1.0x). --threads 1,2,2,1 repeats
everything at each thread count, both ways round, in this one process. --profile prints the torch
profiler's top operators for each engine.

    .venv/bin/python benchmarks/bench_large.py [--steps 40] [--engines auto,torch,fused] [--threads 1,2,2,1] [--profile]
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import nn

from lstmcast.models.zoo import ModelConfig, build_network
from lstmcast.training.trainer import TrainConfig, train

SAMPLES, LOOK_BACK, UNITS, BATCH = 100_000, 24, 64, 256


class Reference(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, UNITS, batch_first=True)
        self.head = nn.Linear(UNITS, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def time_reference(X, y, steps: int) -> float:
    model = Reference()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(X))
    t = time.perf_counter()
    for i in range(steps):
        idx = order[i * BATCH : (i + 1) * BATCH]
        xb, yb = X[idx], y[idx, 0]
        loss = nn.functional.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - t) / steps


def time_ours(X, y, steps: int, engine: str) -> float:
    net = build_network(ModelConfig(n_in=LOOK_BACK, units=UNITS), [0])
    t = time.perf_counter()
    train(net, X, y, TrainConfig(epochs=1, batch_size=BATCH, engine=engine, max_steps=steps), [0])
    return (time.perf_counter() - t) / steps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--engines", default="auto,torch,fused")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--threads", default=None, help="comma-separated torch thread counts, e.g. 1,2,2,1")
    args = ap.parse_args()
    torch.manual_seed(0)
    series = torch.sin(torch.arange(SAMPLES + LOOK_BACK, dtype=torch.float32) / 10)
    X = series.unfold(0, LOOK_BACK, 1)[:SAMPLES].unsqueeze(-1)  # (samples, 24, 1): a strided view
    y = series[LOOK_BACK : LOOK_BACK + SAMPLES].view(-1, 1, 1)
    per_epoch = math.ceil(SAMPLES / BATCH)
    threads = [int(t) for t in args.threads.split(",")] if args.threads else [torch.get_num_threads()]
    engines = args.engines.split(",")
    print(f"{SAMPLES} samples, look-back {LOOK_BACK}, {UNITS} units, batch {BATCH}: {per_epoch} steps per epoch")
    print(f"{'threads':>7} {'implementation':28} {'ms/step':>8} {'samples/s':>10} {'vs nn.LSTM':>10}")
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        ref = time_reference(X, y, args.steps)
        rows = [("torch.nn.LSTM (reference)", ref)]
        for engine in engines:
            rows.append((f"lstmcast engine={engine}", time_ours(X, y, args.steps, engine)))
        for name, sec in rows:
            print(f"{n_threads:7d} {name:28} {sec * 1e3:8.1f} {BATCH / sec:10.0f} {ref / sec:9.2f}x", flush=True)
    if args.profile:
        from torch.profiler import profile

        for engine in engines:
            net = build_network(ModelConfig(n_in=LOOK_BACK, units=UNITS), [0])
            with profile() as prof:
                train(net, X, y, TrainConfig(epochs=1, batch_size=BATCH, engine=engine, max_steps=10), [0])
            print(f"--- engine={engine}")
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))


if __name__ == "__main__":
    main()
