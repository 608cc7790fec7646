"""A 50-trial Optuna search with 10 repeats per trial on Airline: wall time, trials pruned, best on validation.

    .venv/bin/python benchmarks/bench_search.py [--trials 50] [--repeats 10] [--workers N]

Runs lstmcast.search with the default space (look-back relative to the season, units, layers,
epochs, learning rate, dropout) into a temporary store and prints the wall time (worker start
included), the trial states and the best trial's validation and test RMSE. The goal of issue 11
is under 60 s on this 2-core machine; the load average is printed beside the figure.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from lstmcast.experiments.search import search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--data", default="airline")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}; cores: {len(os.sched_getaffinity(0))}")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = search(args.data, trials=args.trials, repeats=args.repeats, store=Path(tmp) / "s.db",
                        workers=args.workers, name="bench")
        seconds = time.perf_counter() - t0
    states = [t["state"] for t in result.trials]
    best = result.best
    print(f"{args.trials} trials x {args.repeats} repeats on {args.data}: {seconds:.1f} s "
          f"({states.count('COMPLETE')} complete, {states.count('PRUNED')} pruned, {states.count('FAIL')} failed)")
    if best:
        print(f"best trial {best['number']}: validation RMSE {best['validation_rmse']:.2f}, test RMSE "
              f"{best['test_rmse']:.2f}; {best['params']}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
