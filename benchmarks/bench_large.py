"""One large model: 64 units, look-back 24, batch 256, 100k samples; seconds per epoch.

Compares, in one process: torch.nn.LSTM (oneDNN fused kernel) with a dense head and Adam, our
eager member-dimension cell (engine="torch"), and our NumPy engine (engine="numpy"). Each is timed
over --steps optimizer steps and scaled to one epoch (100k / 256 = 391 steps). --profile prints
the torch profiler's top operators for our eager step.

    .venv/bin/python benchmarks/bench_large.py [--steps 40] [--profile]
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
    t = time.perf_counter()
    for i in range(steps):
        xb, yb = X[i * BATCH : (i + 1) * BATCH], y[i * BATCH : (i + 1) * BATCH, 0]
        loss = nn.functional.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - t) / steps


def time_ours(X, y, steps: int, engine: str) -> float:
    Xs, ys = X[: steps * BATCH], y[: steps * BATCH]
    net = build_network(ModelConfig(n_in=LOOK_BACK, units=UNITS), [0])
    t = time.perf_counter()
    train(net, Xs, ys, TrainConfig(epochs=1, batch_size=BATCH, shuffle=False, engine=engine), [0])
    return (time.perf_counter() - t) / steps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    series = torch.sin(torch.arange(SAMPLES + LOOK_BACK, dtype=torch.float32) / 10)
    X = series.unfold(0, LOOK_BACK, 1)[:SAMPLES].unsqueeze(-1).contiguous()  # (samples, 24, 1)
    y = series[LOOK_BACK : LOOK_BACK + SAMPLES].view(-1, 1, 1)
    per_epoch = math.ceil(SAMPLES / BATCH)
    print(f"{SAMPLES} samples, look-back {LOOK_BACK}, {UNITS} units, batch {BATCH}: {per_epoch} steps per epoch; "
          f"threads={torch.get_num_threads()}")
    ref = time_reference(X, y, args.steps)
    rows = [("torch.nn.LSTM (reference)", ref)]
    for engine in ("torch", "numpy"):
        rows.append((f"lstmcast engine={engine}", time_ours(X, y, args.steps, engine)))
    print(f"{'implementation':28} {'ms/step':>8} {'s/epoch':>8} {'vs nn.LSTM':>10}")
    for name, sec in rows:
        print(f"{name:28} {sec * 1e3:8.1f} {sec * per_epoch:8.2f} {sec / ref:9.2f}x")
    if args.profile:
        from torch.profiler import profile

        net = build_network(ModelConfig(n_in=LOOK_BACK, units=UNITS), [0])
        with profile() as prof:
            train(net, X[: 10 * BATCH], y[: 10 * BATCH], TrainConfig(epochs=1, batch_size=BATCH, engine="torch"), [0])
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


if __name__ == "__main__":
    main()
