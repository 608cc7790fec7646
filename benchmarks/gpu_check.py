"""Train the same small ensemble on the CPU and on CUDA and print how far apart they end.

For a machine with a GPU (the lead runs it there); without one it says so and exits 0.
Each engine that runs on CUDA (torch, fused) trains a 3-member stacked network for a few epochs
from identical initial weights; the script prints the largest parameter and prediction gaps
(float32 kernels differ by rounding: expect about 1e-5, not exact equality) and the wall times.

    .venv/bin/python benchmarks/gpu_check.py [--epochs 20]
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from lstmcast.models.zoo import ModelConfig, build_network
from lstmcast.training.trainer import TrainConfig, predict, train


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print(f"no CUDA device visible to torch {torch.__version__}; nothing to compare")
        return
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}")
    t = torch.arange(400, dtype=torch.float32)
    series = torch.sin(0.1 * t) + 0.1 * torch.cos(0.37 * t)
    X = series.unfold(0, 12, 1)[:-1].unsqueeze(-1)  # (388, 12, 1)
    y = series[12:].view(-1, 1, 1)
    seeds = [0, 1, 2]
    cfg = ModelConfig(architecture="stacked", n_in=12, units=32)
    for engine in ("torch", "fused"):
        for stateful in (False, True):
            start = build_network(cfg, seeds)
            nets, preds, secs = {}, {}, {}
            for device in ("cpu", "cuda"):
                net = copy.deepcopy(start)
                batch = 4 if stateful else 32
                tc = TrainConfig(epochs=args.epochs, batch_size=batch, learning_rate=0.01, engine=engine,
                                 stateful=stateful, device=device)
                begin = time.perf_counter()
                train(net, X[:384], y[:384], tc, seeds)
                secs[device] = time.perf_counter() - begin
                preds[device], _ = predict(net, X, batch_size=batch, stateful=stateful)
                nets[device] = net
            gap = max((a.detach().cpu() - b.detach().cpu()).abs().max().item()
                      for a, b in zip(nets["cpu"].parameters(), nets["cuda"].parameters()))
            pred_gap = (preds["cpu"] - preds["cuda"]).abs().max().item()
            assert preds["cuda"].device.type == "cpu"
            print(f"engine={engine:5} stateful={stateful!s:5}: max parameter gap {gap:.2e}, max prediction gap "
                  f"{pred_gap:.2e}; cpu {secs['cpu']:.2f} s, cuda {secs['cuda']:.2f} s")


if __name__ == "__main__":
    main()
