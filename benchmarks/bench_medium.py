"""Medium model: 5 members, stacked 2 x 50 units, look-back 12, Airline, 20 epochs, batch 32.

Measures, in one process and alternating the two sides (--rounds times; min and median reported):
  * lstmcast: one ``train()`` call training the 5 members together (engine=--engines),
  * the anchor: 5 sequential fits of a plain ``nn.LSTM(num_layers=2)`` + ``nn.Linear`` with Adam.
Target: the ensemble in at most half the anchor's time (ratio <= 0.5). --profile prints the
torch profiler's top operators of one ensemble fit per engine.

    .venv/bin/python benchmarks/bench_medium.py [--rounds 3] [--engines auto,torch,fused] [--profile]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn

from lstmcast.data.datasets import load
from lstmcast.data.transforms import Scaler
from lstmcast.data.windows import windows
from lstmcast.models.zoo import ModelConfig, build_network
from lstmcast.training.trainer import TrainConfig, ensure_tensor, train

MEMBERS, UNITS, LOOK_BACK, EPOCHS, BATCH = 5, 50, 12, 20, 32


def airline_windows() -> tuple[torch.Tensor, torch.Tensor]:
    y = load("airline").to_numpy(dtype=np.float64)[:, None]
    z = Scaler("minmax-sym").fit(y).transform(y)
    X, Y = windows(z, LOOK_BACK, 1)
    return ensure_tensor(X), ensure_tensor(Y)


class PlainStacked(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, UNITS, num_layers=2, batch_first=True)
        self.head = nn.Linear(UNITS, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def plain_fits(X, Y) -> float:
    """Return the seconds five sequential plain nn.LSTM fits take (shuffled batches, Adam, MSE)."""
    t = time.perf_counter()
    for seed in range(MEMBERS):
        torch.manual_seed(seed)
        model = PlainStacked()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        target = Y[:, 0]
        for _ in range(EPOCHS):
            order = torch.randperm(len(X))
            for i in range(0, len(X), BATCH):
                idx = order[i : i + BATCH]
                loss = nn.functional.mse_loss(model(X[idx]), target[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
    return time.perf_counter() - t


def ensemble_fit(X, Y, engine: str) -> tuple[float, str]:
    seeds = list(range(MEMBERS))
    net = build_network(ModelConfig(architecture="stacked", n_in=LOOK_BACK, units=UNITS), seeds)
    t = time.perf_counter()
    history = train(net, X, Y, TrainConfig(epochs=EPOCHS, batch_size=BATCH, engine=engine), seeds)
    return time.perf_counter() - t, history.extra.get("engine", "?")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--engines", default="auto,torch,fused")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = ap.parse_args()
    X, Y = airline_windows()
    engines = args.engines.split(",")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"Airline {len(X)} windows, {MEMBERS} members, stacked 2 x {UNITS}, look-back {LOOK_BACK}, "
          f"{EPOCHS} epochs, batch {BATCH}; torch threads={torch.get_num_threads()}")
    times: dict[str, list[float]] = {"plain": []}
    chosen = {}
    for _ in range(args.rounds):
        times["plain"].append(plain_fits(X, Y))
        for engine in engines:
            sec, chosen[engine] = ensemble_fit(X, Y, engine)
            times.setdefault(engine, []).append(sec)
    print(f"{'side':36} {'min s':>7} {'median s':>9} {'ratio of mins':>14} {'median ratio':>13}")
    print(f"{'5 sequential plain nn.LSTM fits':36} {min(times['plain']):7.3f} {statistics.median(times['plain']):9.3f}")
    for engine in engines:
        # rounds alternate the two sides, so each round's ratio saw the same machine load
        ratios = [e / p for e, p in zip(times[engine], times["plain"])]
        print(f"{f'lstmcast engine={engine} ({chosen[engine]})':36} {min(times[engine]):7.3f} "
              f"{statistics.median(times[engine]):9.3f} {min(times[engine]) / min(times['plain']):13.2f}x "
              f"{statistics.median(ratios):12.2f}x  (target <= 0.50x)")
    if args.profile:
        from torch.profiler import profile

        for engine in engines:
            with profile() as prof:
                ensemble_fit(X, Y, engine)
            print(f"--- engine={engine}")
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


if __name__ == "__main__":
    main()
