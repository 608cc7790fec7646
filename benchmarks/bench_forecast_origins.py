"""Forecasting from many origins: one ``forecast_origins`` pass against one ``forecast`` call per origin.

Calibrating intervals and multi-horizon walk-forward forecast ``h`` steps from every origin of a
tail. ``Forecaster.forecast_origins`` validates and transforms the series once, runs every
origin's window through the network together and undoes the skeleton for all members and origins
at once; the loop re-does all of that per origin. Both run in this process on the same fitted
models, alternating, fastest of ``--rounds``; the script checks that they agree.

Run: `.venv/bin/python benchmarks/bench_forecast_origins.py [--rounds 3]`
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from lstmcast import datasets
from lstmcast.forecaster import Forecaster


def timed(fn) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    airline = datasets.load("airline")
    origins = np.arange(96, 133)  # 37 origins, each forecasting 12 steps inside the data
    models = {
        "auto (skeleton + 10 members)": Forecaster(model="auto", seed=0, epochs=5).fit(airline[:96]),
        "vanilla, difference 1": Forecaster(model="vanilla", look_back=12, difference=1, epochs=5, seed=0).fit(airline[:96]),
    }
    print(f"{len(origins)} origins x 12 steps; seconds, fastest of {args.rounds} alternating rounds")
    print(f"{'model':<30}{'per origin':>12}{'one pass':>10}{'speed-up':>10}{'max rel diff':>14}")
    for name, f in models.items():
        best = {"loop": np.inf, "pass": np.inf}
        for _ in range(args.rounds):
            t_loop, loop = timed(lambda: np.stack([f.forecast(12, y=airline[:o]).to_numpy() for o in origins]))
            t_pass, one = timed(lambda: f.forecast_origins(airline, origins, 12))
            best["loop"], best["pass"] = min(best["loop"], t_loop), min(best["pass"], t_pass)
        diff = float(np.max(np.abs(one - loop) / np.abs(loop)))
        print(f"{name:<30}{best['loop']:>12.3f}{best['pass']:>10.3f}{best['loop'] / best['pass']:>9.1f}x{diff:>14.1e}")


if __name__ == "__main__":
    main()
