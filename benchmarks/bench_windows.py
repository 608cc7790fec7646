"""Frame a 10,000,000-point series with a look-back of 48: time and memory.

A copying framing would need 48 x 80 MB = 3.8 GB for X; `windows` returns strided views, so the
only memory is the series itself. Run: `python benchmarks/bench_windows.py`.
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc

import numpy as np
from numpy.lib.array_utils import byte_bounds

from lstmcast.data.windows import windows

N_POINTS = 10_000_000
LOOK_BACK = 48
BATCH = 1024
MIB = 2**20


def peak_rss_mib() -> float:
    """Return this process's peak resident set size in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MIB if sys.platform == "darwin" else peak / 1024


def spanned_bytes(array: np.ndarray) -> int:
    """Return the size of the memory block a (strided) view actually reads."""
    low, high = byte_bounds(array)
    return high - low


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    series = np.random.default_rng(0).standard_normal(N_POINTS)  # (10_000_000,) float64, 80 MB
    rss_before = peak_rss_mib()

    tracemalloc.start()
    start = time.perf_counter()
    X, y = windows(series, LOOK_BACK, n_out=1)  # X (samples, 48, 1), y (samples, 1, 1)
    seconds = time.perf_counter() - start  # first call, including numpy's one-off setup
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_increase = peak_rss_mib() - rss_before

    repeat_seconds = min(_timed(lambda: windows(series, LOOK_BACK)) for _ in range(5))

    # what training does with it: gather one shuffled mini-batch into contiguous memory
    rows = np.random.default_rng(1).integers(0, len(X), BATCH)
    batch_start = time.perf_counter()
    batch = np.ascontiguousarray(X[rows])  # (1024, 48, 1)
    batch_seconds = time.perf_counter() - batch_start

    print(f"series: {N_POINTS:,} float64 points, look_back={LOOK_BACK}, n_out=1")
    print(f"windows() took            {seconds * 1e6:10.1f} us first call, {repeat_seconds * 1e6:.1f} us best of 5 after")
    print(f"X shape                   {X.shape}, y shape {y.shape}")
    print(f"X logical size (nbytes)   {X.nbytes / MIB:10.1f} MiB  ({X.nbytes / 1e9:.2f} GB)")
    print(f"X base data (spanned)     {spanned_bytes(X) / MIB:10.1f} MiB  (series: {series.nbytes / MIB:.1f} MiB, "
          f"shares memory: {np.shares_memory(X, series)})")
    print(f"python allocations peak   {traced_peak / 1024:10.1f} KiB  (tracemalloc, during windows())")
    print(f"peak RSS increase         {rss_increase:10.1f} MiB")
    print(f"one batch of {BATCH} samples {batch_seconds * 1e3:9.2f} ms to gather ({batch.nbytes / 1024:.0f} KiB)")

    # sanity: the views hold the right values and nothing near 48 x the series was allocated
    assert np.array_equal(X[123, :, 0], series[123 : 123 + LOOK_BACK]) and y[123, 0, 0] == series[123 + LOOK_BACK]
    assert spanned_bytes(X) <= series.nbytes
    assert rss_increase < 0.05 * X.nbytes / MIB, "framing allocated memory proportional to X"


if __name__ == "__main__":
    main()
