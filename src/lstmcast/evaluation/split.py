"""Time-ordered train/test splits and the periods that follow a series."""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from lstmcast.data.validate import check_int
from lstmcast.errors import InputError


def resolve_test_size(n: int, test_size: int | float) -> int:
    """Return the number of test observations out of ``n``: a count (int >= 1) or a fraction in (0, 1).

    A fraction is rounded half up and gives at least 1. At least one observation must remain
    for training.

    >>> resolve_test_size(36, 0.25), resolve_test_size(36, 12)
    (9, 12)
    """
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise InputError(f"test_size must be a count (int >= 1) or a fraction in (0, 1); got {test_size!r}")
    if isinstance(test_size, numbers.Integral):
        count = int(test_size)
        if count < 1:
            raise InputError(f"test_size must be at least 1; got {count} (series length {n})")
    else:
        fraction = float(test_size)
        if not 0.0 < fraction < 1.0:
            raise InputError(
                f"test_size={test_size} is a float, so it must be a fraction in (0, 1); "
                f"pass an int for a count (series length {n})"
            )
        count = max(1, math.floor(n * fraction + 0.5))
    if count >= n:
        raise InputError(
            f"test_size={test_size} gives {count} test observations but the series has {n}; "
            "at least one must remain for training"
        )
    return count


def train_test_split(series: pd.Series | pd.DataFrame, test_size: int | float):
    """Return ``(train, test)``: the series cut in time order, the last ``test_size`` rows as test."""
    count = resolve_test_size(len(series), test_size)
    return series.iloc[:-count], series.iloc[-count:]
