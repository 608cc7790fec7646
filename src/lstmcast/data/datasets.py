"""The bundled datasets of the seed tutorials and the toy sequences of seed 003.

>>> y = load("shampoo")            # 36 monthly sales, PeriodIndex 1991-01 .. 1993-12
>>> y.index.freqstr, y.dtype
('M', dtype('float64'))
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from lstmcast.data.validate import validate_series
from lstmcast.errors import InputError

# name -> (file in lstmcast/data/files, time column, value column)
_BUNDLED: dict[str, tuple[str, str, str]] = {
    "shampoo": ("shampoo-sales.csv", "Time", "Sales"),
    "airline": ("airline-passengers.csv", "Date", "Passengers"),
}


def names() -> list[str]:
    """Return the names of the bundled datasets, sorted."""
    return sorted(_BUNDLED)


def load(name: str) -> pd.Series:
    """Return bundled dataset ``name`` as a float64 Series with a monthly PeriodIndex.

    ``name`` is one of ``names()``: "shampoo" (Sales, 36 months from 1991-01) or "airline"
    (Passengers, 144 months from 1949-01).
    """
    if name not in _BUNDLED:
        raise InputError(f"unknown dataset {name!r}; the bundled datasets are: {', '.join(names())}")
    filename, time_column, value_column = _BUNDLED[name]
    with resources.files("lstmcast.data").joinpath("files", filename).open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype={time_column: str})
    index = pd.PeriodIndex(frame[time_column], freq="M", name=time_column)
    series = pd.Series(frame[value_column].to_numpy(dtype=np.float64), index=index, name=value_column)
    return validate_series(series, name=name)


def toy_univariate() -> pd.Series:
    """Return seed 003's univariate sequence [10, 20, ..., 90] as a float64 Series."""
    return pd.Series(np.arange(10.0, 100.0, 10.0), name="y")


def toy_multivariate() -> pd.DataFrame:
    """Return seed 003's frame: in1 = [10..90], in2 = [15..95] (step 10), out = in1 + in2 (float64)."""
    in1 = np.arange(10.0, 100.0, 10.0)
    in2 = np.arange(15.0, 100.0, 10.0)
    return pd.DataFrame({"in1": in1, "in2": in2, "out": in1 + in2})
