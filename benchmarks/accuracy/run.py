"""Compare lstmcast's one-step forecasts with AutoETS, AutoARIMA, AutoTheta and naive baselines.

Run with lstmcast's environment; the statistical side runs in benchmarks/accuracy/.venv
(setup.sh) as a subprocess of this same run:
    .venv/bin/python benchmarks/accuracy/run.py [--series a,b] [--heldout] [--refit K]
        [--candidate path/to/file.py:function] [--no-auto] [--stats-cache PATH] [--json PATH]

Every method forecasts the last ``test_size`` points of each series one step ahead from the true
past. The statistical models refit before every step (stats.py); lstmcast candidates run through
``lstmcast.walk_forward`` (fitted once on the training part, or refitted every K steps with
``--refit K``, reported in extra columns). RMSE is in the data's units; the table ends with the
geometric mean of each method's RMSE over the best statistical model's, public and held-out
series apart.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from series_io import HERE, load_entries, stats_report, write_atomic  # noqa: E402
STATS = ("AutoETS", "AutoARIMA", "AutoTheta")
BASELINES = ("naive", "seasonal_naive")


@dataclass
class Candidate:
    """An lstmcast configuration under test: ``make(season_length)`` returns a fresh forecaster."""

    label: str
    make: Callable[[int], object]
    refit: int | None = None
    rmse: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


# ---- inputs ------------------------------------------------------------------------------------

def stats_figures(entries: list[dict], cache: Path | None) -> tuple[dict, str]:
    """Return (stats.py's per-series results, a line saying where they come from).

    With ``cache`` naming an existing file its figures are reused (and labelled so); otherwise
    stats.py runs now in the benchmark environment (and writes ``cache`` when given).
    """
    names = [e["name"] for e in entries]
    report, cached = stats_report(HERE / "stats.py", cache, ["--series", ",".join(names)])
    if cached:
        missing = [n for n in names if n not in report["series"]]
        if missing:
            sys.exit(f"--stats-cache {cache} lacks {missing}; delete it or run without --stats-cache")
        source = (f"statistical figures: FROM CACHE {cache} (not computed in this run; "
                  f"statsforecast {report['versions']['statsforecast']})")
        return report["series"], source
    source = (f"statistical figures: computed in this run by stats.py "
              f"(statsforecast {report['versions']['statsforecast']}, refit every step)")
    return report["series"], source


def load_callable(spec: str) -> Callable:
    """Return the function named by ``path/to/file.py:function`` or ``package.module:function``."""
    target, _, name = spec.rpartition(":")
    if not target or not name:
        sys.exit(f"--candidate {spec!r}: expected module:function or path/to/file.py:function")
    if target.endswith(".py") or os.sep in target:
        path = Path(target).resolve()
        if not path.is_file():
            sys.exit(f"--candidate {spec!r}: no file {path}")
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module  # dataclasses and pickling look modules up there
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    if not callable(getattr(module, name, None)):
        sys.exit(f"--candidate {spec!r}: {target} has no function {name!r}")
    return getattr(module, name)


def make_candidates(specs: list[str], auto: bool, refit: int | None) -> list[Candidate]:
    """Return the candidates to run: defaults, auto, each --candidate, and their refit twins."""
    from lstmcast import Forecaster

    def auto_forecaster(m: int):
        # season_length is passed only once the Forecaster declares it
        extra = {"season_length": m} if "season_length" in Forecaster().get_params() else {}
        return Forecaster(model="auto", seed=0, **extra)

    base = [Candidate("defaults", lambda m: Forecaster())]
    if auto:
        base.append(Candidate("auto", auto_forecaster))
    for spec in specs:
        function = load_callable(spec)
        base.append(Candidate(function.__name__, function))
    if refit is None:
        return base
    twins = [Candidate(f"{c.label}@refit{refit}", c.make, refit) for c in base]
    return [c for pair in zip(base, twins) for c in pair]


# ---- running -----------------------------------------------------------------------------------

def run_candidate(candidate: Candidate, entry: dict, y, naive_rmse: float) -> None:
    """Record the candidate's walk-forward RMSE and seconds on one series (or the error it raised)."""
    from lstmcast import walk_forward

    name, m = entry["name"], entry["season_length"]
    start = time.perf_counter()
    try:
        result = walk_forward(candidate.make(m), y, test_size=entry["test_size"], refit=candidate.refit,
                              baselines=("persistence",), m=m)
    except Exception as exc:  # a candidate under construction may fail anywhere; report, go on
        candidate.errors[name] = f"{type(exc).__name__}: {exc}"
        print(f"  {candidate.label} on {name}: {candidate.errors[name]}", file=sys.stderr)
        if os.environ.get("ACCURACY_TRACEBACK"):
            traceback.print_exc()
        return
    candidate.seconds[name] = time.perf_counter() - start
    candidate.rmse[name] = result.rmse
    # both sides must score the same points: lstmcast's persistence equals stats.py's naive
    persistence = result.baselines["persistence"]["rmse"]
    if not math.isclose(persistence, naive_rmse, rel_tol=1e-9):
        raise RuntimeError(f"{name}: lstmcast persistence {persistence} != stats.py naive {naive_rmse}")
    print(f"  {candidate.label} on {name}: {result.rmse:.4g} ({candidate.seconds[name]:.1f} s)", file=sys.stderr)


# ---- reporting ---------------------------------------------------------------------------------

def geometric_mean(ratios: list[float]) -> float | None:
    """Return the geometric mean of ``ratios``, or None for none."""
    return math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else None


def fmt(value: float | None, digits: int = 4) -> str:
    """Return ``value`` with ``digits`` significant figures, or '-' for None."""
    return "-" if value is None else f"{value:.{digits}g}"


def summarise(entries: list[dict], stats: dict, candidates: list[Candidate]) -> dict:
    """Return every figure of the run: per series rows, geometric means and the naive check."""
    rows = []
    for e in entries:
        s = stats[e["name"]]
        best = min(STATS, key=lambda k: s[k]["rmse"])
        row = {"series": e["name"], "n": e["n"], "test": e["test_size"], "m": e["season_length"],
               "heldout": e["heldout"], "best_statistical": best, "best_rmse": s[best]["rmse"],
               "stats_seconds": s["seconds"],
               **{k: (s[k]["rmse"] if s[k] else None) for k in BASELINES + STATS}}
        for c in candidates:
            rmse = c.rmse.get(e["name"])
            row[c.label] = {"rmse": rmse, "ratio": None if rmse is None else rmse / s[best]["rmse"],
                            "seconds": c.seconds.get(e["name"]), "error": c.errors.get(e["name"])}
        rows.append(row)
    methods = list(BASELINES + STATS) + [c.label for c in candidates]
    geo = {}
    for group, heldout in (("public", False), ("heldout", True)):
        members = [r for r in rows if r["heldout"] == heldout]
        if not members:
            continue
        geo[group] = {"series": len(members)}
        for method in methods:
            values = [_rmse(r, method) for r in members]
            ratios = [v / r["best_rmse"] for v, r in zip(values, members) if v is not None]
            geo[group][method] = geometric_mean(ratios)
            geo[group][f"{method}_count"] = len(ratios)
    beats = {}
    for c in candidates:
        losses = [r["series"] for r in rows if c.label in r and (
            r[c.label]["rmse"] is None
            or r[c.label]["rmse"] >= r["naive"]
            or (r["seasonal_naive"] is not None and r[c.label]["rmse"] >= r["seasonal_naive"]))]
        wins = [r["series"] for r in rows if r[c.label]["rmse"] is not None and r[c.label]["ratio"] < 1]
        beats[c.label] = {"beats_naive_everywhere": not losses, "fails_on": losses, "better_than_best_on": wins}
    return {"rows": rows, "geometric_mean_over_best": geo, "naive_check": beats}


def _rmse(row: dict, method: str) -> float | None:
    value = row.get(method)
    return value["rmse"] if isinstance(value, dict) else value


def print_table(summary: dict, candidates: list[Candidate], source: str) -> None:
    """Print the one table of the run, then the geometric means and the naive check."""
    labels = [c.label for c in candidates]
    head = ["series", "n", "test", "m", "naive", "snaive", *STATS, "best stat", "stat s"]
    for label in labels:
        head += [label, "/best", "s"]
    lines = [head]
    for r in summary["rows"]:
        line = [r["series"] + (" *" if r["heldout"] else ""), str(r["n"]), str(r["test"]), str(r["m"]),
                fmt(r["naive"]), fmt(r["seasonal_naive"]), *(fmt(r[k]) for k in STATS),
                r["best_statistical"].removeprefix("Auto"), f"{r['stats_seconds']:.1f}"]
        for label in labels:
            c = r[label]
            line += ["err" if c["error"] else fmt(c["rmse"]), fmt(c["ratio"], 3),
                     "-" if c["seconds"] is None else f"{c['seconds']:.1f}"]
        lines.append(line)
    for group, geo in summary["geometric_mean_over_best"].items():
        def mean(method: str) -> str:
            # a method without a figure on some series (seasonal naive when m = 1, a failed
            # candidate) is averaged over fewer series; say over how many
            count = geo[f"{method}_count"]
            return fmt(geo[method], 3) + ("" if count == geo["series"] else f" ({count})")

        line = [f"geo-mean/best ({group}, {geo['series']})", "", "", "",
                *(mean(k) for k in BASELINES + STATS), "1", ""]
        for label in labels:
            line += ["", mean(label), ""]
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    print(source)
    print("one-step walk-forward RMSE in the data's units; * = held-out series; /best = RMSE over the "
          "best statistical model's; s = seconds per series (fit + all one-step forecasts)")
    for i, line in enumerate(lines):
        if i == len(summary["rows"]) + 1:
            print("  ".join("-" * w for w in widths))
        print("  ".join(cell.rjust(w) if j else cell.ljust(w) for j, (cell, w) in enumerate(zip(line, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for label, check in summary["naive_check"].items():
        verdict = "yes" if check["beats_naive_everywhere"] else f"no (not on {', '.join(check['fails_on'])})"
        print(f"{label}: beats naive and seasonal naive on every series: {verdict}; "
              f"better than the best statistical model on {len(check['better_than_best_on'])} "
              f"of {len(summary['rows'])}")
    for c in candidates:
        for name, error in c.errors.items():
            print(f"{c.label} on {name}: {error}")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", help="comma-separated names from series.json (default: all public ones)")
    parser.add_argument("--heldout", action="store_true", help="also run the held-out series")
    parser.add_argument("--candidate", action="append", default=[], metavar="MODULE:FUNCTION",
                        help="function(season_length) -> forecaster, from a .py path or a module (repeatable)")
    parser.add_argument("--no-auto", action="store_true", help='leave out Forecaster(model="auto")')
    parser.add_argument("--refit", type=int, metavar="K",
                        help="also run every candidate refitted every K steps (extra columns)")
    parser.add_argument("--stats-cache", type=Path, metavar="PATH",
                        help="reuse stats.py's JSON from PATH (written there first if missing)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every figure to PATH")
    args = parser.parse_args(argv)
    if args.refit is not None and args.refit < 1:
        parser.error(f"--refit must be at least 1; got {args.refit}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    entries = load_entries(args.series, args.heldout)
    candidates = make_candidates(args.candidate, not args.no_auto, args.refit)  # bad specs fail before stats run
    stats, source = stats_figures(entries, args.stats_cache)

    from lstmcast.data.io import load_csv

    for entry in entries:
        y = load_csv(HERE / entry["file"])
        for candidate in candidates:
            run_candidate(candidate, entry, y, stats[entry["name"]]["naive"]["rmse"])

    unavailable = [c for c in candidates if not c.rmse]
    for c in unavailable:
        print(f"{c.label}: not available ({next(iter(c.errors.values()), 'no series run')})")
    shown = [c for c in candidates if c.rmse]
    summary = summarise(entries, stats, shown)
    print_table(summary, shown, source)
    if args.json:
        summary["stats_source"] = source
        summary["unavailable"] = {c.label: next(iter(c.errors.values()), None) for c in unavailable}
        write_atomic(args.json.resolve(), json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
