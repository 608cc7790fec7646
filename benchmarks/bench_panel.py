"""Panels: one global network against one network per series (and AutoETS), a known future input, and throughput.

Prints three parts (run: `python benchmarks/bench_panel.py [--part a|b|c] [--stats-cache PATH] [--no-stats]
[--no-auto]`; `--stats-cache benchmarks/panel_last_stats.json` reuses the committed AutoETS figures):

(a) Many short monthly series, three panels (benchmarks/panel_data.py): the monthly public series
    of benchmarks/accuracy/data (last 240 months each), neuralforecast's AirPassengersPanel (the
    airline series and a copy 300 higher) and a synthetic panel of 300 series sharing seasonal
    shape and trend with series-specific levels, noise and phase. For the global model and the
    per-series models, with a vanilla template (differenced, 12 lags) and with model="auto" (each
    series' own skeleton; "per-series-auto" is one auto network per series), and statsforecast's
    AutoETS per series (season length 12):
    one-step RMSE over each series' last 12 months (each from the true past) and 12-step RMSE
    of those same months from the origin 12 before the end; pooled over the panel, and the
    geometric mean over series of RMSE / persistence RMSE; and seconds. lstmcast fits once on
    all but the last 12 months and serves both protocols from that fit (the same forecasts as
    ``panel_walk_forward(..., test_size=12)`` and ``(..., horizon=12, stride=12)``); AutoETS
    refits before every one-step forecast (as benchmarks/accuracy/stats.py does) and fits once
    for the 12-step one. AutoETS runs in benchmarks/accuracy/.venv (setup.sh), never in
    lstmcast's environment: panel_stats.py writes its forecasts as JSON, computed here by a
    subprocess, or read from ``--stats-cache PATH`` when that file exists (written there first
    when it does not).
(b) A daily series whose value jumps on promotion days (known in advance): one-step and 7-step
    RMSE with the promotion as a future-known covariate and without it.
(c) Training throughput (samples/s) of one network on 1,000 series x 500 points against one
    series of 500,000 points: same network, same batch size, the same bounded number of steps
    (200: enough that the panel's one-off pooling, ~6 ms, and the first steps do not decide the
    ratio; the train seconds include them), fastest of 3 alternating repeats.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lstmcast.forecaster import Forecaster
from lstmcast.panel import POINT, PanelForecaster, panel_walk_forward
from panel_data import HORIZON, PANELS, SEED, TEST_SIZE, fingerprint, multi_step_truth, one_step_truth, scores

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "accuracy"))
from series_io import stats_report  # noqa: E402  (the accuracy benchmark's environment and its runner)


def template(**kw) -> Forecaster:
    params = dict(model="vanilla", look_back=12, units=16, epochs=40, batch_size=32, difference=1,
                  scale="standard", seed=SEED)
    return Forecaster(**{**params, **kw})


# The global model's optimizer steps are capped so that it costs no more than the per-series models
# (300 series x 40 epochs x ~3 batches = 36,000 steps between them).
GLOBAL_MAX_STEPS = 3000


def lstmcast_forecasts(pf: PanelForecaster, panel: dict, test_size: int = TEST_SIZE,
                       horizon: int = HORIZON) -> tuple[dict, dict, float, float]:
    """Return (one-step forecasts, ``horizon``-step forecasts, one-step seconds, multi-step seconds) per series id.

    One fit on all but each series' last ``test_size`` values serves both: ``predict`` forecasts
    those values one step ahead from the true past, ``forecast(horizon)`` the first ``horizon``
    of them from the origin (the same forecasts as ``panel_walk_forward`` with ``horizon=1`` and
    with ``stride=horizon``, which fit a clone each). Both seconds include the fit.
    """
    start = time.perf_counter()
    pf.fit({key: y.iloc[: len(y) - test_size] for key, y in panel.items()})
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    pred = pf.predict(panel, test_size)
    one_seconds = fit_seconds + time.perf_counter() - start
    start = time.perf_counter()
    ahead = pf.forecast(horizon)
    multi_seconds = fit_seconds + time.perf_counter() - start
    for key, part in pred.groupby(pf.id_column, sort=False):  # the same points as the other models score
        if not np.array_equal(part["actual"].to_numpy(float), panel[key].to_numpy(float)[-test_size:]):
            raise RuntimeError(f"series {key!r}: predict scored other points than the last {test_size}")
    one = {key: part[POINT].to_numpy(float) for key, part in pred.groupby(pf.id_column, sort=False)}
    multi = {key: part[POINT].to_numpy(float) for key, part in ahead.groupby(pf.id_column, sort=False)}
    return one, multi, one_seconds, multi_seconds


def stats_figures(names: list[str], panels: dict, cache: Path | None) -> tuple[dict, str]:
    """Return (panel_stats.py's results per panel name, a line saying where they come from).

    With ``cache`` naming an existing file its figures are reused (and labelled so); otherwise
    panel_stats.py runs now in the benchmark environment (and writes ``cache`` when given).
    Exits when a panel is missing from the results or was computed on other data.
    """
    report, cached = stats_report(HERE / "panel_stats.py", cache, ["--panels", ",".join(names)], ", or pass --no-stats")
    if cached:
        source = (f"AutoETS figures: FROM CACHE {cache} (not computed in this run; "
                  f"statsforecast {report['versions']['statsforecast']})")
    else:
        source = (f"AutoETS figures: computed in this run by panel_stats.py "
                  f"(statsforecast {report['versions']['statsforecast']})")
    check_stats(report, {name: panels[name] for name in names}, cache)
    return report["panels"], source


def check_stats(report: dict, panels: dict, cache: Path | None) -> None:
    """Exit unless ``report`` holds every panel, computed on the same data and protocol as here."""
    where = f"--stats-cache {cache}" if cache is not None else "panel_stats.py's output"
    if (report.get("test_size"), report.get("horizon")) != (TEST_SIZE, HORIZON):
        sys.exit(f"{where} has test_size {report.get('test_size')}, horizon {report.get('horizon')}; this run "
                 f"needs {TEST_SIZE}, {HORIZON}: delete it or run without --stats-cache")
    for name, panel in panels.items():
        got = report["panels"].get(name)
        if got is None:
            sys.exit(f"{where} lacks panel {name!r}; delete it or run without --stats-cache")
        if got["fingerprint"] != fingerprint(panel):
            sys.exit(f"{where} was computed on other {name!r} data (fingerprint {got['fingerprint']}, "
                     f"now {fingerprint(panel)}); delete it or run without --stats-cache")


def compare(name: str, panel: dict, stats: dict | None, with_auto: bool = True) -> None:
    """Print one panel's table: naive, global, per-series (vanilla template and model="auto") and AutoETS;
    one-step and 12-step."""
    truth1 = {key: one_step_truth(y) for key, y in panel.items()}
    truth12 = {key: multi_step_truth(y) for key, y in panel.items()}
    actual1, naive1 = ({k: v[i] for k, v in truth1.items()} for i in (0, 1))
    actual12, naive12 = ({k: v[i] for k, v in truth12.items()} for i in (0, 1))
    rows = [("naive", scores(actual1, naive1, naive1), scores(actual12, naive12, naive12), 0.0, 0.0)]
    for label, global_model in (("global", True), ("per-series", False)):
        f = template(max_steps=GLOBAL_MAX_STEPS) if global_model else template()
        one, multi, s1, s12 = lstmcast_forecasts(PanelForecaster(f, global_model=global_model), panel)
        rows.append((label, scores(actual1, one, naive1), scores(actual12, multi, naive12), s1, s12))
    if with_auto:  # each series' own automatic skeleton, under one global network or one network each
        for label, global_model in (("global-auto", True), ("per-series-auto", False)):
            pf = PanelForecaster(Forecaster(model="auto", seed=SEED), global_model=global_model)
            one, multi, s1, s12 = lstmcast_forecasts(pf, panel)
            rows.append((label, scores(actual1, one, naive1), scores(actual12, multi, naive12), s1, s12))
    if stats is not None:
        series = stats["series"]
        one = {key: np.asarray(series[key]["one_step"]) for key in panel}
        multi = {key: np.asarray(series[key]["multi_step"]) for key in panel}
        rows.append(("AutoETS", scores(actual1, one, naive1), scores(actual12, multi, naive12),
                     stats["seconds_one_step"], stats["seconds_multi_step"]))
    print(f"\n(a) {name}: {len(panel)} series; RMSE over the last {TEST_SIZE} of each, one-step and "
          f"{HORIZON}-step (global: at most {GLOBAL_MAX_STEPS} steps)")
    print(f"{'model':<16}{'1-step RMSE':>13}{'geo/naive':>11}{f'{HORIZON}-step RMSE':>14}{'geo/naive':>11}"
          f"{'1-step s':>10}{f'{HORIZON}-step s':>11}")
    for label, a, b, s1, s12 in rows:
        print(f"{label:<16}{a['rmse']:>13.3f}{a['geomean_ratio']:>11.3f}{b['rmse']:>14.3f}{b['geomean_ratio']:>11.3f}"
              f"{s1:>10.1f}{s12:>11.1f}")


def part_a(stats_cache: Path | None = None, with_stats: bool = True, with_auto: bool = True) -> None:
    panels = {name: build() for name, (_, build) in PANELS.items()}
    stats, source = stats_figures(list(PANELS), panels, stats_cache) if with_stats else ({}, "AutoETS: skipped (--no-stats)")
    print(f"\n(a) {source}; lstmcast seconds include its one fit (shared by both protocols), AutoETS "
          f"refits before every one-step forecast and fits once for the {HORIZON}-step one")
    for name, panel in panels.items():
        compare(PANELS[name][0], panel, stats.get(name), with_auto)


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


def part_c(steps: int = 200, batch: int = 256, repeats: int = 3) -> None:
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
    # a small fit first: the first torch optimizer of a process imports torch._dynamo (1.6-4.5 s
    # here), which would land in whichever side is timed first
    template(look_back=3, units=2, epochs=1, max_steps=2).fit(one.iloc[:100])
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
    parser.add_argument("--stats-cache", type=Path, metavar="PATH",
                        help="reuse panel_stats.py's JSON from PATH (written there first if missing)")
    parser.add_argument("--no-stats", action="store_true", help="part (a) without the AutoETS rows")
    parser.add_argument("--no-auto", action="store_true",
                        help="part (a) without the model='auto' rows (per-series auto on 300 series takes minutes)")
    args = parser.parse_args()
    for part in args.part or ["a", "b", "c"]:
        if part == "a":
            part_a(args.stats_cache, not args.no_stats, not args.no_auto)
        else:
            {"b": part_b, "c": part_c}[part]()
