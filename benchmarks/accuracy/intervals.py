"""Compare lstmcast's conformal 80%/95% intervals with AutoETS's, one step and 12 steps ahead.

Run with lstmcast's environment; AutoETS runs in benchmarks/accuracy/.venv (setup.sh) as a
subprocess of this same run (stats_intervals.py):
    .venv/bin/python benchmarks/accuracy/intervals.py [--series a,b] [--heldout] [--stride S]
        [--stats-cache PATH] [--json PATH] [--calibration-share F]

For each series of series.json, ``Forecaster(model="auto", seed=0, season_length=m)`` goes through
``walk_forward(f, y, test_size, horizon=H, stride=S, level=[80, 95])``, fitted once on the
training part (its bands are calibrated inside the training part), for H=1 (stride 1) and H=12
(stride 6 by default; H=min(12, test_size)). AutoETS is refitted at every one of the same origins
and forecasts the same steps with its own ``level=[80, 95]`` intervals. Both sides are scored by
lstmcast's own metrics (``walk_forward.interval_summary``): empirical coverage (percent), mean
width and the mean Winkler (interval) score per level. Coverage is pooled over every forecast of
every series; widths and scores, which are in each series' units, are compared as the geometric
mean over series of lstmcast's over AutoETS's.

``--calibration-share F`` is an experiment, not a setting of lstmcast: it makes the Forecaster's
calibration use ``n_origins = max(10, ceil(F * len(training part)))`` (capped so that the first
fit keeps ``min_train_size()`` observations) instead of conformal.calibrate's default share 1/5,
by wrapping ``calibrate`` where forecaster.py looks it up.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from run import HERE, fmt, geometric_mean, load_entries, stats_report, write_atomic

LEVELS = (80, 95)
TARGET_BAND = 5.0  # coverage within 5 points of nominal (issue 12)
METRICS = ("coverage", "width", "winkler")


def pairs(stride: int) -> list[tuple[int, int]]:
    """Return the (horizon, stride) pairs of the run: one step at stride 1, then 12 steps at ``stride``."""
    return [(1, 1), (12, stride)]


def key(horizon: int, stride: int) -> str:
    return f"{horizon}:{stride}"


def stats_folds(entries: list[dict], stride: int, cache: Path | None) -> tuple[dict, str]:
    """Return (stats_intervals.py's per-series folds, a line saying where they come from).

    With ``cache`` naming an existing file its folds are reused (and labelled so); otherwise
    stats_intervals.py runs now in the benchmark environment (and writes ``cache`` when given).
    """
    names = [e["name"] for e in entries]
    horizons = ",".join(key(h, s) for h, s in pairs(stride))
    report, cached = stats_report(HERE / "stats_intervals.py", cache,
                                  ["--series", ",".join(names), "--horizons", horizons])
    if cached:
        missing = [n for n in names if n not in report["series"]]
        if missing or report["horizons"] != horizons:
            sys.exit(f"--stats-cache {cache} lacks {missing or 'horizons ' + horizons}; "
                     "delete it or run without --stats-cache")
        return report["series"], (f"AutoETS figures: FROM CACHE {cache} (not computed in this run; "
                                  f"statsforecast {report['versions']['statsforecast']})")
    return report["series"], (f"AutoETS figures: computed in this run by stats_intervals.py "
                              f"(statsforecast {report['versions']['statsforecast']}, refit at every origin)")


def use_calibration_share(share: float, blocks: int | None = None) -> None:
    """Make every Forecaster calibrate on ``max(10, ceil(share * n))`` origins (the --calibration-share experiment),
    refitting at the start of each of ``blocks`` equal blocks of origins when given (--calibration-blocks)."""
    import lstmcast.forecaster
    from lstmcast.evaluation.conformal import MIN_DEFAULT_ORIGINS, calibrate

    def calibrate_with_share(forecaster, y_train, horizon, levels, **kwargs):
        n = len(y_train)
        most = n - forecaster.min_train_size() - horizon + 1
        wanted = max(MIN_DEFAULT_ORIGINS, math.ceil(share * n))
        # with no room at all, calibrate's default path raises its own message
        n_origins = min(wanted, most) if most >= 1 else None
        if blocks is not None and n_origins is not None:
            kwargs["refit"] = math.ceil(n_origins / blocks)
        return calibrate(forecaster, y_train, horizon, levels, n_origins=n_origins, **kwargs)

    lstmcast.forecaster.calibrate = calibrate_with_share


def lstmcast_folds(entry: dict, y: pd.Series, horizon: int, stride: int) -> pd.DataFrame:
    """Return the folds table of the automatic Forecaster's walk-forward with 80%/95% bands."""
    from lstmcast import Forecaster, walk_forward

    m = entry["season_length"]
    forecaster = Forecaster(model="auto", seed=0, season_length=m)
    result = walk_forward(forecaster, y, test_size=entry["test_size"], horizon=horizon, stride=stride,
                          level=list(LEVELS), baselines=(), m=m)
    return result.folds


def ets_table(folds: dict, y: pd.Series) -> pd.DataFrame:
    """Return stats_intervals.py's folds as a folds table with the actual values joined in."""
    table = pd.DataFrame(folds)
    table["actual"] = y.to_numpy()[table["origin"] + table["step"] - 1]
    return table


def summary(table: pd.DataFrame) -> dict:
    """Return ``{"80": {"coverage", "width", "winkler"}, "95": ..., "rmse": float}`` over every row of a folds table."""
    from lstmcast.evaluation.metrics import rmse
    from lstmcast.evaluation.walk_forward import interval_summary

    out = {str(lv): values for lv, values in interval_summary(table).items()}
    out["rmse"] = float(rmse(table["actual"], table["forecast"]))
    return out


def score_series(entry: dict, y: pd.Series, stats: dict, stride: int) -> dict:
    """Return, per horizon, both methods' interval figures on one series (or the error lstmcast raised)."""
    out = {}
    for horizon, s in pairs(stride):
        h = min(horizon, entry["test_size"])
        ets = ets_table(stats[key(horizon, s)]["folds"], y)
        start = time.perf_counter()
        try:
            ours = lstmcast_folds(entry, y, h, s)
        except Exception as exc:  # report and go on: one failing series must not lose the others
            out[key(horizon, s)] = {"error": f"{type(exc).__name__}: {exc}", "AutoETS": summary(ets),
                                    "ets_folds": ets}
            print(f"  {entry['name']} h={h}: {out[key(horizon, s)]['error']}", file=sys.stderr)
            continue
        seconds = time.perf_counter() - start
        # both sides must score exactly the same (origin, step) pairs
        if not (np.array_equal(ours["origin"], ets["origin"]) and np.array_equal(ours["step"], ets["step"])):
            raise RuntimeError(f"{entry['name']} h={h}: lstmcast and AutoETS folds differ")
        out[key(horizon, s)] = {"lstmcast": summary(ours), "AutoETS": summary(ets), "seconds": seconds,
                                "forecasts": len(ours), "folds": ours, "ets_folds": ets}
        print(f"  {entry['name']} h={h} stride={s}: {len(ours)} forecasts ({seconds:.1f} s)", file=sys.stderr)
    return out


def pooled(results: dict, pair: str) -> dict:
    """Return the pooled figures of one horizon: coverage over all forecasts, geo-mean ratios of width and score."""
    done = {name: r[pair] for name, r in results.items() if "error" not in r[pair]}
    out = {"series": len(done)}
    if not done:
        return out
    for method, folds in (("lstmcast", "folds"), ("AutoETS", "ets_folds")):
        out[method] = summary(pd.concat([r[folds] for r in done.values()], ignore_index=True))
    for lv in map(str, LEVELS):
        for metric in ("width", "winkler"):
            out[f"{metric}_ratio_{lv}"] = geometric_mean(
                [r["lstmcast"][lv][metric] / r["AutoETS"][lv][metric] for r in done.values()])
    out["rmse_ratio"] = geometric_mean([r["lstmcast"]["rmse"] / r["AutoETS"]["rmse"] for r in done.values()])
    return out


def targets(pools: dict) -> list[str]:
    """Return one line per target of issue 12, each ending in met / NOT met."""
    lines = []
    for pair, pool in pools.items():
        if "lstmcast" not in pool:
            continue
        h = pair.split(":")[0]
        for lv in LEVELS:
            cov = pool["lstmcast"][str(lv)]["coverage"]
            ok = abs(cov - lv) <= TARGET_BAND
            lines.append(f"h={h}: lstmcast {lv}% coverage {cov:.1f} (target {lv - TARGET_BAND:g}-"
                         f"{min(100, lv + TARGET_BAND):g}; AutoETS {pool['AutoETS'][str(lv)]['coverage']:.1f}): "
                         f"{'met' if ok else 'NOT met'}")
        for lv in LEVELS:
            ratio = pool[f"winkler_ratio_{lv}"]
            lines.append(f"h={h}: lstmcast {lv}% interval score over AutoETS's (geo-mean over "
                         f"{pool['series']} series) {ratio:.3f} (target <= 1): {'met' if ratio <= 1 else 'NOT met'}")
    return lines


def print_tables(entries: list[dict], results: dict, pools: dict, stride: int, source: str) -> None:
    """Print one block per horizon (per series, then pooled) and the targets."""
    print(source)
    print("coverage in percent; width and Winkler score in the data's units; w/E, s/E and r/E = lstmcast's width, "
          "score and point RMSE over AutoETS's (pooled: geometric mean over series); pooled coverage counts every "
          "forecast")
    for horizon, s in pairs(stride):
        pair = key(horizon, s)
        print(f"\nh={horizon} (h=min({horizon}, test) per series), stride {s}")
        head = ["series", "fc"]
        for method in ("lstm", "ETS"):
            head += [f"{method} c80", "c95", "w80", "w95", "wk80", "wk95"]
        head += ["w/E 80", "w/E 95", "s/E 80", "s/E 95", "r/E"]
        lines = [head]
        for e in entries:
            r = results[e["name"]][pair]
            ets = r["AutoETS"]
            ours = r.get("lstmcast")
            line = [e["name"], str(r.get("forecasts", len(r["ets_folds"])))]
            for figures in (ours, ets):
                for metric in METRICS:
                    for lv in map(str, LEVELS):
                        if figures is None:
                            line.append("err")
                        elif metric == "coverage":
                            line.append(f"{figures[lv][metric]:.1f}")
                        else:
                            line.append(fmt(figures[lv][metric]))
            for metric in ("width", "winkler"):
                for lv in map(str, LEVELS):
                    line.append("-" if ours is None else f"{ours[lv][metric] / ets[lv][metric]:.3f}")
            line.append("-" if ours is None else f"{ours['rmse'] / ets['rmse']:.3f}")
            lines.append(line)
        pool = pools[pair]
        if "lstmcast" in pool:
            line = [f"pooled ({pool['series']})", str(sum(r[pair].get("forecasts", 0) for r in results.values()))]
            for method in ("lstmcast", "AutoETS"):
                line += [f"{pool[method][str(lv)]['coverage']:.1f}" for lv in LEVELS] + ["-"] * 4
            line += [f"{pool[f'{m}_ratio_{lv}']:.3f}" for m in ("width", "winkler") for lv in LEVELS]
            line.append(f"{pool['rmse_ratio']:.3f}")
            lines.append(line)
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        for i, line in enumerate(lines):
            if i == len(lines) - 1 and "lstmcast" in pool:
                print("  ".join("-" * w for w in widths))
            print("  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(line, widths))))
            if i == 0:
                print("  ".join("-" * w for w in widths))
    print("\nTargets (issue 12):")
    for line in targets(pools):
        print("  " + line)
    for name, r in results.items():
        for pair, figures in r.items():
            if "error" in figures:
                print(f"lstmcast on {name} ({pair}): {figures['error']}")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", help="comma-separated names from series.json (default: all public ones)")
    parser.add_argument("--heldout", action="store_true", help="also run the held-out series")
    parser.add_argument("--stride", type=int, default=6, help="stride of the 12-step walk-forward (default 6)")
    parser.add_argument("--stats-cache", type=Path, metavar="PATH",
                        help="reuse stats_intervals.py's JSON from PATH (written there first if missing)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every figure to PATH")
    parser.add_argument("--calibration-share", type=float, metavar="F",
                        help="experiment: calibrate on max(10, ceil(F * n_train)) origins (lstmcast's default: 1/5)")
    parser.add_argument("--calibration-blocks", type=int, metavar="B",
                        help="with --calibration-share: refit the calibration model at the start of each of B blocks")
    args = parser.parse_args(argv)
    if args.calibration_blocks is not None and (args.calibration_share is None or args.calibration_blocks < 1):
        parser.error("--calibration-blocks needs --calibration-share and a value of at least 1")
    if args.calibration_share is not None and not 0 < args.calibration_share < 1:
        parser.error(f"--calibration-share must lie strictly between 0 and 1; got {args.calibration_share}")
    if args.stride < 1:
        parser.error(f"--stride must be at least 1; got {args.stride}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    entries = load_entries(args.series, args.heldout)
    stats, source = stats_folds(entries, args.stride, args.stats_cache)
    if args.calibration_share is not None:
        use_calibration_share(args.calibration_share, args.calibration_blocks)
        source += (f"\nEXPERIMENT: lstmcast calibrated on max(10, ceil({args.calibration_share:g} * n_train)) "
                   "origins instead of its default"
                   + (f", refitted in {args.calibration_blocks} blocks" if args.calibration_blocks else ""))

    from lstmcast.data.io import load_csv

    results = {}
    for entry in entries:
        y = load_csv(HERE / entry["file"])
        results[entry["name"]] = score_series(entry, y, stats[entry["name"]], args.stride)
    pools = {key(h, s): pooled(results, key(h, s)) for h, s in pairs(args.stride)}
    print_tables(entries, results, pools, args.stride, source)
    if args.json:
        figures = {name: {pair: {k: v for k, v in f.items() if not k.endswith("folds")} for pair, f in r.items()}
                   for name, r in results.items()}
        report = {"source": source, "series": figures, "pooled": pools, "targets": targets(pools)}
        write_atomic(args.json.resolve(), json.dumps(report, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
