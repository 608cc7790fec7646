"""Time the seed's Keras tuning harness on a slice, extrapolate the whole
tutorial study, and compare with `lstmcast reproduce shampoo-all`.

Runs with any python3; the Keras harness runs in .venv (see setup.sh).
    python3 benchmarks/seed_keras/run.py [--epochs 100] [--repeats 2]
                                         [--skip-keras] [--skip-lstmcast]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
KERAS_PY = HERE / ".venv/bin/python"
LSTMCAST = ROOT / ".venv/bin/lstmcast"
TRAIN_ROWS = 20  # training rows after train_trimmed = train_scaled[2:]
REPEATS = 30     # the tutorial repeats every configuration 30 times

# The tutorial's 13 configurations: (epochs, batch, neurons).
STUDY = (
    [(e, 4, 1) for e in (500, 1000, 2000, 4000, 6000)]  # epochs study
    + [(1000, b, 1) for b in (1, 2, 4)]                  # batch study
    + [(1000, 4, n) for n in (1, 2, 3, 4, 5)]            # neurons study
)


def run_harness(epochs, batch, repeats):
    cmd = [str(KERAS_PY), str(HERE / "harness.py"), "--epochs", str(epochs),
           "--batch", str(batch), "--neurons", "1", "--repeats", str(repeats)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def per_epoch_seconds(batch, s1, s4):
    """Per-epoch cost scales with batches per epoch (TRAIN_ROWS / batch).
    Batch 2 was not measured: take the mean of the batch-1 and batch-4 figures."""
    return {1: s1, 2: (s1 + s4) / 2, 4: s4}[batch]


def extrapolate(s1, s4, first, overhead):
    """Seconds for the whole study. Each repeat builds a fresh model, so it pays
    the first (tracing) epoch and the predict/RMSE overhead once, then
    (epochs - 1) steady-state epochs: repeats x ((epochs - 1) x s/epoch + first + overhead)."""
    fit = sum(REPEATS * (e - 1) * per_epoch_seconds(b, s1, s4) for e, b, _ in STUDY)
    return fit, REPEATS * len(STUDY) * (first + overhead)


def stats(r):
    """Steady-state s/epoch, first-epoch s and per-repeat s outside the fit loop."""
    first = sum(r["first_epoch_seconds"]) / r["repeats"]
    overhead = (r["total_seconds"] - sum(r["fit_seconds"])) / r["repeats"]
    return r["later_seconds_per_epoch"], first, overhead


def time_lstmcast(*extra):
    """Run `lstmcast reproduce shampoo-all --json` into a fresh store; return (seconds, peak RSS MiB) or None.
    wait4 gives the rusage of this one child, so earlier Keras runs do not count. A fresh store
    matters: a stored study resumes instantly."""
    if not LSTMCAST.exists():
        return None, f"{LSTMCAST} not found"
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        cmd = [str(LSTMCAST), "reproduce", "shampoo-all", "--json", "--store", str(Path(tmp) / "bench.db"), *extra]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
            return None, f"exit {proc.returncode}: " + " | ".join(tail)
    return (seconds, usage.ru_maxrss / 1024), None  # ru_maxrss is KiB on Linux


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=100, help="epochs per timed repeat")
    ap.add_argument("--repeats", type=int, default=2, help="timed repeats per batch size")
    ap.add_argument("--skip-keras", action="store_true")
    ap.add_argument("--skip-lstmcast", action="store_true")
    args = ap.parse_args()
    summary = {}

    keras_total = None
    if not args.skip_keras:
        if not KERAS_PY.exists():
            sys.exit(f"{KERAS_PY} missing: run {HERE / 'setup.sh'} first")
        res = {}
        for batch in (4, 1):
            r = res[batch] = run_harness(args.epochs, batch, args.repeats)
            steady, first, overhead = stats(r)
            print(f"Keras harness, batch {batch} ({TRAIN_ROWS // batch} steps/epoch, "
                  f"{args.repeats} x {args.epochs} epochs): "
                  f"{1000 * steady:.1f} ms/epoch after the first "
                  f"({1000 * r['seconds_per_epoch']:.1f} averaged over all), "
                  f"first epoch {first:.2f} s, {overhead:.2f} s/repeat outside the fit loop; "
                  f"RMSE {', '.join(f'{x:.1f}' for x in r['rmse'])}")
        (s4, first4, over4), (s1, first1, over1) = stats(res[4]), stats(res[1])
        fit, extra = extrapolate(s1, s4, (first4 + first1) / 2, (over4 + over1) / 2)
        keras_total = fit + extra
        print(f"TensorFlow {res[4]['tensorflow']}, Keras {res[4]['keras']}")
        print(f"Batch 2 per-epoch cost interpolated as the mean of batch 1 and 4: "
              f"{1000 * per_epoch_seconds(2, s1, s4):.1f} ms")
        print(f"Full tutorial ({len(STUDY)} configurations x {REPEATS} repeats): "
              f"steady epochs {fit:.0f} s + first epoch and predict per repeat {extra:.0f} s "
              f"= {keras_total:.0f} s ({keras_total / 3600:.1f} h)")
        summary.update(keras_ms_per_epoch_b4=1000 * s4, keras_ms_per_epoch_b1=1000 * s1,
                       keras_first_epoch_s=(first4 + first1) / 2,
                       keras_extrapolated_seconds=keras_total,
                       tensorflow=res[4]["tensorflow"], keras=res[4]["keras"])

    lstmcast = None
    if not args.skip_lstmcast:
        lstmcast, why = time_lstmcast()
        if lstmcast is None:
            print(f"lstmcast reproduce not available ({why})")
        else:
            print(f"lstmcast reproduce shampoo-all: {lstmcast[0]:.1f} s, "
                  f"peak RSS {lstmcast[1]:.0f} MiB")
            summary.update(lstmcast_seconds=lstmcast[0], lstmcast_peak_rss_mib=lstmcast[1])
            diag, why = time_lstmcast("--diagnostics")
            if diag is not None:
                print(f"lstmcast reproduce shampoo-all --diagnostics (train+test RMSE every epoch of every run): "
                      f"{diag[0]:.1f} s, peak RSS {diag[1]:.0f} MiB")
                summary.update(lstmcast_diagnostics_seconds=diag[0], lstmcast_diagnostics_peak_rss_mib=diag[1])

    fmt = lambda x: "n/a" if x is None else f"{x:.1f}"  # noqa: E731
    ratio = keras_total / lstmcast[0] if keras_total and lstmcast else None
    print("\n| Keras harness, extrapolated (s) | lstmcast, measured (s) | ratio |")
    print("|---|---|---|")
    print(f"| {fmt(keras_total)} | {fmt(lstmcast and lstmcast[0])} | "
          f"{'n/a' if ratio is None else f'{ratio:.0f}x'} |")
    summary["ratio"] = ratio
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
