"""What the command line prints: strict JSON, time labels, number formats and summary statistics."""

from __future__ import annotations

import json
import math
from typing import Any

import typer


def clean(obj):
    """Return ``obj`` as strict JSON data: NaN/inf become None, numpy scalars Python numbers, keys text."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        obj = obj.tolist()
        return clean(obj) if isinstance(obj, list) else clean(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def print_json(obj: dict) -> None:
    """Print ``obj`` as one strict JSON object on stdout."""
    typer.echo(json.dumps(clean(obj), allow_nan=False))


def label(value) -> str:
    """Return a time label as users write it: '1961-01' for a month, a date without midnight's clock."""
    import pandas as pd

    if isinstance(value, pd.Timestamp) and value == value.normalize() and value.tz is None:
        return value.strftime("%Y-%m-%d")
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def fmt(value: float | None) -> str:
    """Return a number with three decimals, 'n/a' for a missing one."""
    return "n/a" if value is None else f"{value:.3f}"


def summary(runs: list[float]) -> dict[str, Any]:
    """Return mean, std (sample, 0 for one run), min, max and the runs themselves."""
    import numpy as np

    values = np.asarray(runs, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return clean({"mean": values.mean(), "std": std, "min": values.min(), "max": values.max(), "runs": values})
