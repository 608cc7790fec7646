"""Forecast bench_panel.py's panels with statsforecast's AutoETS, one series at a time, and write JSON.

Runs in the accuracy benchmark's environment (benchmarks/accuracy/setup.sh), never in lstmcast's:
    benchmarks/accuracy/.venv/bin/python benchmarks/panel_stats.py OUT.json [--panels public,airpassengers,synthetic]

For every series of each panel (panel_data.py), AutoETS(season_length=12):
- one-step: the last TEST_SIZE values, each from all true values before it, refitted before
  every step (``cross_validation(h=1, step_size=1, n_windows=TEST_SIZE, refit=True)``, as
  benchmarks/accuracy/stats.py does);
- 12-step: one fit on all but the last HORIZON values, then ``forecast(h=HORIZON)``.
Seconds are wall-clock time over the whole panel, one process, ``n_jobs=1``, after one warm-up
fit (numba compiles statsforecast's code on first use). The JSON holds the
versions, and per panel its fingerprint, seconds and per series both sets of predictions;
bench_panel.py scores them against the same actual values and persistence as lstmcast's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoETS

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "accuracy"))
from panel_data import HORIZON, PANELS, TEST_SIZE, fingerprint  # noqa: E402
from series_io import versions, write_atomic  # noqa: E402

SEASON = 12
MODEL = "AutoETS"


def _engine() -> StatsForecast:
    return StatsForecast(models=[AutoETS(season_length=SEASON)], freq=1, n_jobs=1)


def one_step(y: np.ndarray, test_size: int = TEST_SIZE) -> np.ndarray:
    """Return AutoETS's one-step forecasts of the last ``test_size`` values of ``y``, refitted before each."""
    # integer time stamps: the windows need no calendar (as in accuracy/stats.py)
    frame = pd.DataFrame({"unique_id": "s", "ds": np.arange(len(y)), "y": y})
    cv = _engine().cross_validation(df=frame, h=1, step_size=1, n_windows=test_size, refit=True).sort_values("ds")
    if not np.array_equal(cv["y"].to_numpy(float), y[len(y) - test_size:]):
        raise RuntimeError(f"cross_validation scored other points than the last {test_size}")
    return cv[MODEL].to_numpy(float)


def multi_step(y: np.ndarray, horizon: int = HORIZON) -> np.ndarray:
    """Return AutoETS's ``horizon``-step forecast of the last ``horizon`` values of ``y``, fitted on the values before them."""
    train = y[: len(y) - horizon]
    frame = pd.DataFrame({"unique_id": "s", "ds": np.arange(len(train)), "y": train})
    return _engine().forecast(df=frame, h=horizon)[MODEL].to_numpy(float)


def warm_up() -> None:
    """Fit once on a small series, so numba's compilation (seconds) counts in no panel's time."""
    t = np.arange(48)
    multi_step(10 + np.sin(2 * np.pi * t / SEASON) + 0.01 * t)


def score_panel(panel: dict[str, pd.Series]) -> dict:
    """Return the fingerprint, both protocols' seconds and every series' predictions for one panel."""
    values = {key: y.to_numpy(float) for key, y in panel.items()}
    start = time.perf_counter()
    ones = {key: one_step(y).tolist() for key, y in values.items()}
    one_seconds = time.perf_counter() - start
    start = time.perf_counter()
    multis = {key: multi_step(y).tolist() for key, y in values.items()}
    multi_seconds = time.perf_counter() - start
    return {"fingerprint": fingerprint(panel), "seconds_one_step": one_seconds, "seconds_multi_step": multi_seconds,
            "series": {key: {"one_step": ones[key], "multi_step": multis[key]} for key in panel}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the JSON results")
    parser.add_argument("--panels", default=",".join(PANELS), help=f"comma-separated, of {', '.join(PANELS)}")
    args = parser.parse_args()
    names = args.panels.split(",")
    unknown = [n for n in names if n not in PANELS]
    if unknown:
        raise SystemExit(f"unknown panel {unknown[0]!r}; choose from {', '.join(PANELS)}")
    warm_up()
    results = {}
    for name in names:
        panel = PANELS[name][1]()
        results[name] = score_panel(panel)
        print(f"{name}: {len(panel)} series, AutoETS one-step {results[name]['seconds_one_step']:.1f} s, "
              f"12-step {results[name]['seconds_multi_step']:.1f} s", flush=True)
    report = {
        "protocol": {"one_step": f"cross_validation(h=1, step_size=1, n_windows={TEST_SIZE}, refit=True)",
                     "multi_step": f"fit on all but the last {HORIZON}, forecast(h={HORIZON})",
                     "model": f"AutoETS(season_length={SEASON})", "n_jobs": 1},
        "test_size": TEST_SIZE, "horizon": HORIZON,
        "versions": versions(),
        "panels": results,
    }
    write_atomic(args.out.resolve(), json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
