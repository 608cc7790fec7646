"""Forecast statsforecast's AutoETS with 80% and 95% intervals from the origins of a walk-forward.

Runs in the benchmark's own environment (setup.sh), never in lstmcast's; intervals.py calls it:
    benchmarks/accuracy/.venv/bin/python benchmarks/accuracy/stats_intervals.py OUT.json \
        [--series a,b] [--heldout] [--horizons 1:1,12:6]

For each series of series.json and each ``horizon:stride`` pair, the origins are those of
``lstmcast.walk_forward(..., test_size, horizon, stride)``: ``n - test_size, n - test_size +
stride, ...`` up to ``n - 1``. From each origin AutoETS (season length m from series.json) is
refitted on all values before it and forecasts ``horizon`` steps with ``level=[80, 95]``; the
steps past the end of the series are dropped, as walk_forward drops them. For ``1:1`` this is
``cross_validation(h=1, step_size=1, n_windows=test_size, refit=True, level=[80, 95])``;
cross_validation cannot keep the shortened windows at the end, so the model's own ``forecast`` is
called per origin instead. Writes one JSON object: versions, and per series and pair the folds
(origin, step, forecast, lower_80, upper_80, lower_95, upper_95) and seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from statsforecast.models import AutoETS

from series_io import HERE, load_entries, versions, write_atomic  # noqa: E402
LEVELS = (80, 95)


def parse_horizons(text: str) -> list[tuple[int, int]]:
    """Return the ``(horizon, stride)`` pairs of ``"1:1,12:6"``."""
    pairs = []
    for part in text.split(","):
        horizon, _, stride = part.partition(":")
        pairs.append((int(horizon), int(stride or 1)))
    return pairs


def ets_folds(y: np.ndarray, test: int, m: int, horizon: int, stride: int) -> dict:
    """Return AutoETS's folds (column name -> list) from every walk-forward origin, refitted at each."""
    n = len(y)
    columns = {"origin": [], "step": [], "forecast": []}
    columns.update({f"{side}_{lv}": [] for lv in LEVELS for side in ("lower", "upper")})
    for origin in range(n - test, n, stride):
        out = AutoETS(season_length=m).forecast(y=y[:origin], h=horizon, level=list(LEVELS))
        steps = min(horizon, n - origin)
        columns["origin"] += [origin] * steps
        columns["step"] += list(range(1, steps + 1))
        columns["forecast"] += out["mean"][:steps].tolist()
        for lv in LEVELS:
            columns[f"lower_{lv}"] += out[f"lo-{lv}"][:steps].tolist()
            columns[f"upper_{lv}"] += out[f"hi-{lv}"][:steps].tolist()
    return columns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the JSON results")
    parser.add_argument("--series", help="comma-separated names from series.json (default: all public ones)")
    parser.add_argument("--heldout", action="store_true", help="also score the held-out series")
    parser.add_argument("--horizons", default="1:1,12:6", help="horizon:stride pairs (default 1:1,12:6)")
    args = parser.parse_args()
    pairs = parse_horizons(args.horizons)
    results = {}
    for entry in load_entries(args.series, args.heldout):
        y = pd.read_csv(HERE / entry["file"]).iloc[:, -1].to_numpy(float)
        results[entry["name"]] = {}
        for horizon, stride in pairs:
            test = entry["test_size"]
            start = time.perf_counter()
            folds = ets_folds(y, test, entry["season_length"], min(horizon, test), stride)
            seconds = time.perf_counter() - start
            results[entry["name"]][f"{horizon}:{stride}"] = {"folds": folds, "seconds": seconds}
            print(f"{entry['name']} h={horizon} stride={stride}: {len(folds['step'])} forecasts "
                  f"({seconds:.1f} s)", flush=True)
    report = {
        "protocol": "AutoETS refitted at every walk-forward origin, forecast(h, level=[80, 95])",
        "horizons": args.horizons,
        "versions": versions(),
        "series": results,
    }
    write_atomic(args.out.resolve(), json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
