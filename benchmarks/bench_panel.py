"""Panels: one global network against one network per series, a known future input, and throughput.

Prints three tables (run: `python benchmarks/bench_panel.py [--part a|b|c]`):

(a) Many short monthly series: the monthly public series of benchmarks/accuracy/data plus a
    synthetic panel of 300 series sharing seasonal shape and trend with series-specific levels,
    noise and phase. One-step walk-forward RMSE over each series' last 12 months, pooled, and
    the geometric mean over series of RMSE / persistence RMSE, for the global model and the
    per-series models (same template), with fit seconds.
(b) A daily series whose value jumps on promotion days (known in advance): one-step and 7-step
    RMSE with the promotion as a future-known covariate and without it.
(c) Training throughput (samples/s) of one network on 1,000 series x 500 points against one
    series of 500,000 points: same network, same batch size, the same bounded number of steps.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lstmcast.data.io import load_csv
from lstmcast.data.timeindex import season_length
from lstmcast.forecaster import Forecaster
from lstmcast.panel import PanelForecaster, panel_walk_forward

DATA = Path(__file__).parent / "accuracy" / "data"
SEED = 0


def template(**kw) -> Forecaster:
    params = dict(model="vanilla", look_back=12, units=16, epochs=40, batch_size=32, difference=1,
                  scale="standard", seed=SEED)
    return Forecaster(**{**params, **kw})


def public_monthly() -> dict:
    """Return the monthly public series (season length 12), shortened to their last 240 months."""
    out = {}
    for path in sorted(DATA.glob("*.csv")):
        y = load_csv(path)
        if season_length(y.index) == 12:
            out[path.stem] = y.iloc[-240:]
    return out


def synthetic_panel(k: int = 300, n: int = 96, seed: int = SEED) -> dict:
    """Return k monthly series: level_i * (1 + trend + seasonal shape shifted by a small phase) + noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    index = pd.period_range("2010-01", periods=n, freq="M")
    out = {}
    for i in range(k):
        level = rng.uniform(10, 1000)
        shape = 1 + 0.004 * rng.uniform(0.5, 1.5) * t + 0.2 * np.sin(2 * np.pi * (t + rng.integers(0, 2)) / 12)
        y = level * shape + rng.normal(0, 0.05 * level, n)
        out[f"syn{i:03d}"] = pd.Series(y, index=index, name="y")
    return out


# The global model's optimizer steps are capped so that it costs no more than the per-series models
# (300 series x 40 epochs x ~3 batches = 36,000 steps between them).
GLOBAL_MAX_STEPS = 3000


def compare(name: str, panel: dict, test_size: int = 12) -> None:
    rows = []
    for label, global_model in (("global", True), ("per-series", False)):
        start = time.perf_counter()
        f = template(max_steps=GLOBAL_MAX_STEPS) if global_model else template()
        result = panel_walk_forward(PanelForecaster(f, global_model=global_model), panel, test_size)
        rows.append((label, result.rmse, result.geomean_ratio, result.persistence_rmse, time.perf_counter() - start))
    print(f"\n(a) {name}: {len(panel)} series, one-step RMSE over the last {test_size} of each "
          f"(global: at most {GLOBAL_MAX_STEPS} steps)")
    print(f"{'model':<12}{'pooled RMSE':>13}{'geo RMSE/naive':>16}{'naive RMSE':>12}{'seconds':>9}")
    for label, rmse, ratio, naive, seconds in rows:
        print(f"{label:<12}{rmse:>13.3f}{ratio:>16.3f}{naive:>12.3f}{seconds:>9.1f}")


def part_a() -> None:
    compare("public monthly series", public_monthly())
    compare("synthetic panel", synthetic_panel())


def promo_series(n: int = 730, seed: int = SEED, effect: float = 20.0) -> pd.DataFrame:
    """Return a daily frame (promo, y): weekly cycle, +effect on about one day in five, unit noise."""
    rng = np.random.default_rng(seed)
    promo = (rng.random(n) < 0.2).astype(float)
    y = 50 + 5 * np.sin(2 * np.pi * np.arange(n) / 7) + effect * promo + rng.normal(0, 1, n)
    return pd.DataFrame({"promo": promo, "y": y}, index=pd.date_range("2020-01-01", periods=n, freq="D"))


def part_b() -> None:
    frame = promo_series()
    base = template(look_back=7, difference=0, epochs=30)
    print("\n(b) promotions (+20 on ~20% of days, noise sd 1): RMSE over the last 90 days")
    print(f"{'model':<22}{'1-step':>9}{'7-step':>9}{'seconds':>9}")
    for label, pf, data in (("with promo covariate", PanelForecaster(base, future_columns=["promo"]), {"promo": frame}),
                            ("univariate", PanelForecaster(base), {"promo": frame["y"]})):
        start = time.perf_counter()
        one = panel_walk_forward(pf, data, test_size=90).rmse
        seven = panel_walk_forward(pf, data, test_size=90, horizon=7, stride=7).rmse
        print(f"{label:<22}{one:>9.3f}{seven:>9.3f}{time.perf_counter() - start:>9.1f}")


def part_c(steps: int = 40, batch: int = 256, repeats: int = 2) -> None:
    rng = np.random.default_rng(SEED)
    n, k = 500, 1000
    t = np.arange(n * k)
    long_values = 10 + np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.1, n * k)
    panel = {i: pd.Series(long_values[i * n : (i + 1) * n], name="y") for i in range(k)}
    one = pd.Series(long_values, name="y")
    f = template(look_back=24, units=32, difference=0, epochs=1, batch_size=batch, max_steps=steps)
    print(f"\n(c) training throughput: look_back 24, 32 units, batch {batch}, {steps} steps")
    print(f"{'data':<26}{'windows':>10}{'prepare s':>11}{'train s':>9}{'samples/s':>11}")
    # timings alternate and the fastest of `repeats` counts: this machine is shared, and other
    # processes only ever slow a run down
    best = {"panel": np.inf, "one": np.inf}
    for _ in range(repeats):
        start = time.perf_counter()
        pf = PanelForecaster(f).fit(panel)
        panel_prep = time.perf_counter() - start - pf.train_seconds_
        best["panel"] = min(best["panel"], pf.train_seconds_)
        single = Forecaster(**f.get_params())
        start = time.perf_counter()
        X, Y, validation = single.prepare(one)
        one_prep = time.perf_counter() - start
        start = time.perf_counter()
        single.fit_windows(X, Y, validation)
        best["one"] = min(best["one"], time.perf_counter() - start)
    print(f"{'1,000 series x 500':<26}{pf.n_windows_:>10}{panel_prep:>11.2f}{best['panel']:>9.2f}"
          f"{steps * batch / best['panel']:>11.0f}")
    print(f"{'one series x 500,000':<26}{len(X):>10}{one_prep:>11.2f}{best['one']:>9.2f}"
          f"{steps * batch / best['one']:>11.0f}")

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["a", "b", "c"], action="append")
    parts = parser.parse_args().part or ["a", "b", "c"]
    for part in parts:
        {"a": part_a, "b": part_b, "c": part_c}[part]()
