"""Score statsforecast's AutoETS, AutoARIMA and AutoTheta and the naive baselines, one step ahead.

Runs in the benchmark's own environment (setup.sh), never in lstmcast's:
    benchmarks/accuracy/.venv/bin/python benchmarks/accuracy/stats.py OUT.json [--series a,b] [--heldout]

For each series of series.json the last ``test_size`` points are forecast one step ahead, each
from all true values before it, with every model refitted before every step
(``cross_validation(h=1, step_size=1, n_windows=test_size, refit=True)``), season length m from
series.json. Writes one JSON object: versions, and per series each method's RMSE in the data's
units, seconds and one-step predictions.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

from series_io import HERE, load_entries, versions, write_atomic  # noqa: E402
MODELS = {"AutoETS": AutoETS, "AutoARIMA": AutoARIMA, "AutoTheta": AutoTheta}


def rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Return the root mean squared error of ``predicted``."""
    return float(np.sqrt(np.mean((actual - predicted) ** 2)))


def naive_scores(y: np.ndarray, test: int, m: int) -> dict:
    """Return naive (last value) and seasonal naive (value m steps back) one-step scores.

    Seasonal naive is the naive forecast when m == 1, so it is left out (None) there.
    """
    n = len(y)
    actual = y[n - test:]
    scores = {"naive": {"rmse": rmse(actual, y[n - test - 1:n - 1]), "seconds": 0.0,
                        "predictions": y[n - test - 1:n - 1].tolist()}}
    seasonal = y[n - test - m:n - m]
    scores["seasonal_naive"] = None if m == 1 else {"rmse": rmse(actual, seasonal), "seconds": 0.0,
                                                     "predictions": seasonal.tolist()}
    return scores


def model_score(name: str, y: np.ndarray, test: int, m: int) -> dict:
    """Return one statsforecast model's refit-every-step one-step RMSE, seconds and predictions."""
    # integer time stamps: the one-step windows need no calendar, and every frequency works alike
    frame = pd.DataFrame({"unique_id": "s", "ds": np.arange(len(y)), "y": y})
    forecaster = StatsForecast(models=[MODELS[name](season_length=m)], freq=1, n_jobs=1)
    start = time.perf_counter()
    cv = forecaster.cross_validation(df=frame, h=1, step_size=1, n_windows=test, refit=True)
    seconds = time.perf_counter() - start
    cv = cv.sort_values("ds")
    predictions = cv[name].to_numpy(float)
    if not np.array_equal(cv["y"].to_numpy(float), y[len(y) - test:]):
        raise RuntimeError(f"{name}: cross_validation scored other points than the last {test}")
    return {"rmse": rmse(y[len(y) - test:], predictions), "seconds": seconds, "predictions": predictions.tolist()}


def score_series(entry: dict) -> dict:
    """Return every method's scores on one series of series.json."""
    y = pd.read_csv(HERE / entry["file"]).iloc[:, -1].to_numpy(float)
    test, m = entry["test_size"], entry["season_length"]
    scores = naive_scores(y, test, m)
    for name in MODELS:
        scores[name] = model_score(name, y, test, m)
    scores["seconds"] = sum(s["seconds"] for s in scores.values() if s)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the JSON results")
    parser.add_argument("--series", help="comma-separated names from series.json (default: all public ones)")
    parser.add_argument("--heldout", action="store_true", help="also score the held-out series")
    args = parser.parse_args()
    results = {}
    for entry in load_entries(args.series, args.heldout):
        results[entry["name"]] = score_series(entry)
        best = min(MODELS, key=lambda k: results[entry["name"]][k]["rmse"])
        print(f"{entry['name']}: best {best} {results[entry['name']][best]['rmse']:.4g} "
              f"({results[entry['name']]['seconds']:.1f} s)", flush=True)
    report = {
        "protocol": "statsforecast cross_validation(h=1, step_size=1, n_windows=test_size, refit=True)",
        "versions": versions(),
        "series": results,
    }
    write_atomic(args.out.resolve(), json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
