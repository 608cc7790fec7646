"""What every accuracy-benchmark script shares: the series list, atomic writes and running a statistics
script in the benchmark's own environment (no third-party imports, so both lstmcast's environment and
the statsforecast one can import it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH_PY = HERE / ".venv" / "bin" / "python"  # statsforecast's environment (setup.sh), never lstmcast's


def versions() -> dict:
    """Return the package versions a statistics report records (call it in the benchmark environment)."""
    import platform

    import numpy
    import pandas
    import statsforecast

    return {"statsforecast": statsforecast.__version__, "pandas": pandas.__version__,
            "numpy": numpy.__version__, "python": platform.python_version()}


def stats_report(script: Path, cache: Path | None, args: list[str], hint: str = "") -> tuple[dict, bool]:
    """Return (the JSON report of ``script``, whether it was read from ``cache``).

    With ``cache`` naming an existing file it is read; otherwise ``script OUT *args`` runs now in the
    benchmark environment, writing ``cache`` when given (a temporary file otherwise). The script's
    progress goes to stderr, so that the caller's stdout carries its tables alone.
    """
    if cache is not None and cache.exists():
        return json.loads(cache.read_text()), True
    if not BENCH_PY.exists():
        sys.exit(f"{BENCH_PY} not found: run benchmarks/accuracy/setup.sh first{hint}")
    with tempfile.TemporaryDirectory() as tmp:
        out = cache if cache is not None else Path(tmp) / f"{script.stem}.json"
        subprocess.run([str(BENCH_PY), str(script), str(out), *args], check=True, stdout=sys.stderr)
        return json.loads(out.read_text()), False


def load_entries(series: str | None, heldout: bool) -> list[dict]:
    """Return the series.json entries to run: the public ones (plus held-out ones), or those named."""
    entries = json.loads((HERE / "series.json").read_text())
    if series:
        wanted = series.split(",")
        unknown = sorted(set(wanted) - {e["name"] for e in entries})
        if unknown:
            raise SystemExit(f"unknown series {unknown}; series.json has {[e['name'] for e in entries]}")
        return [e for e in entries if e["name"] in wanted]
    return [e for e in entries if heldout or not e["heldout"]]


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
