"""What every accuracy-benchmark script shares: the series list and atomic writes (no third-party imports,
so both lstmcast's environment and the statsforecast one can import it)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


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
