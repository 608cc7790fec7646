"""Write the accuracy benchmark's public series to data/<name>.csv and list them in series.json.

Runs in the benchmark's own environment (see setup.sh), which has pmdarima and statsmodels:
    benchmarks/accuracy/.venv/bin/python benchmarks/accuracy/export_data.py

Each CSV has a time column lstmcast's ``load_csv`` reads as a PeriodIndex (monthly ``YYYY-MM``,
quarterly ``YYYY-Qn``, annual ``YYYY``) and one value column. The first group is the table of
shared/research/accuracy.md; the "heldout" group was not used to shape any pipeline and is kept
for checking that a method generalises.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import pmdarima.datasets as pm
import statsmodels.api as sm

HERE = Path(__file__).resolve().parent
BUNDLED = HERE.parents[1] / "src" / "lstmcast" / "data" / "files"
SEASON_LENGTH = {"M": 12, "Q": 4, "Y": 1}


@dataclass(frozen=True)
class Spec:
    """One series: how to load it and how the benchmark scores it."""

    name: str
    load: Callable[[], pd.Series]  # values with a PeriodIndex
    test_size: int
    source: str
    heldout: bool = False


def _bundled(file: str) -> pd.Series:
    """Return one of lstmcast's bundled CSV files as a monthly Series."""
    frame = pd.read_csv(BUNDLED / file)
    return pd.Series(frame.iloc[:, 1].to_numpy(float), index=pd.PeriodIndex(frame.iloc[:, 0], freq="M"))


def _pm(loader: Callable, start: str, freq: str) -> pd.Series:
    """Return a pmdarima dataset with a PeriodIndex from ``start``; trailing NaNs are dropped."""
    values = loader(as_series=True).dropna().to_numpy(float)
    return pd.Series(values, index=pd.period_range(start, periods=len(values), freq=freq))


def _macro(column: str) -> pd.Series:
    """Return one column of statsmodels' macrodata (US, quarterly 1959Q1-2009Q3)."""
    data = sm.datasets.macrodata.load_pandas().data
    index = pd.PeriodIndex.from_fields(year=data["year"].astype(int), quarter=data["quarter"].astype(int), freq="Q")
    return pd.Series(data[column].to_numpy(float), index=index)


def _co2(start: str, end: str) -> pd.Series:
    """Return Mauna Loa CO2 as monthly means of the weekly readings from ``start`` to ``end``."""
    weekly = sm.datasets.co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean().to_period("M").loc[start:end]
    # a month without any weekly reading takes the previous month's mean, as statsmodels' examples do
    return monthly.ffill()


def _elnino(first_year: int, last_year: int) -> pd.Series:
    """Return the monthly El Nino sea surface temperatures (one row per year in statsmodels) as one series."""
    wide = sm.datasets.elnino.load_pandas().data.set_index("YEAR").loc[first_year:last_year]
    values = wide.to_numpy(float).ravel()  # row-major: January..December of each year in turn
    return pd.Series(values, index=pd.period_range(f"{first_year}-01", periods=len(values), freq="M"))


def _annual(years, values) -> pd.Series:
    return pd.Series(pd.Series(values).to_numpy(float), index=pd.PeriodIndex(pd.Series(years).astype(int), freq="Y"))


def _nile() -> pd.Series:
    data = sm.datasets.nile.load_pandas().data
    return _annual(data["year"], data["volume"])


def _sunspots_yearly() -> pd.Series:
    data = sm.datasets.sunspots.load_pandas().data
    return _annual(data["YEAR"], data["SUNACTIVITY"])


def _sunspots_monthly(start: str, end: str) -> pd.Series:
    return _pm(pm.load_sunspots, "1749-01", "M").loc[start:end]


def _interest() -> pd.Series:
    data = sm.datasets.interest_inflation.load_pandas().data
    index = pd.PeriodIndex.from_fields(year=data["year"].astype(int), quarter=data["quarter"].astype(int), freq="Q")
    return pd.Series(data["R"].to_numpy(float), index=index)


def _danish_money() -> pd.Series:
    data = sm.datasets.danish_data.load_pandas().data["lrm"]
    return pd.Series(data.to_numpy(float), index=data.index.to_period("Q"))


def _fertility(country: str) -> pd.Series:
    data = sm.datasets.fertility.load_pandas().data.set_index("Country Name")
    row = data.loc[country, [c for c in data.columns if c.isdigit()]].astype(float).dropna()
    return _annual(row.index, row.to_numpy())


SERIES = (
    Spec("shampoo", lambda: _bundled("shampoo-sales.csv"), 12, "lstmcast bundled shampoo-sales.csv (Makridakis et al.)"),
    Spec("airline", lambda: _bundled("airline-passengers.csv"), 48, "lstmcast bundled airline-passengers.csv (Box & Jenkins)"),
    Spec("wineind", lambda: _pm(pm.load_wineind, "1980-01", "M"), 24, "pmdarima load_wineind (Australian wine sales)"),
    Spec("woolyrnq", lambda: _pm(pm.load_woolyrnq, "1965Q1", "Q"), 16, "pmdarima load_woolyrnq (Australian woollen yarn)"),
    Spec("austres", lambda: _pm(pm.load_austres, "1971Q1", "Q"), 16, "pmdarima load_austres (Australian residents)"),
    Spec("ausbeer", lambda: _pm(pm.load_ausbeer, "1956Q1", "Q"), 24, "pmdarima load_ausbeer (Australian beer production)"),
    Spec("co2", lambda: _co2("1982-01", "2001-12"), 48, "statsmodels co2 (Mauna Loa), monthly means 1982-2001"),
    Spec("nile", _nile, 20, "statsmodels nile (annual flow at Aswan, 1871-1970)"),
    Spec("realgdp", lambda: _macro("realgdp"), 24, "statsmodels macrodata realgdp (US, quarterly)"),
    Spec("elnino", lambda: _elnino(1991, 2010), 24, "statsmodels elnino (sea surface temperature), 1991-2010"),
    Spec("cpi", lambda: _macro("cpi"), 24, "statsmodels macrodata cpi (US, quarterly)"),
    Spec("unemp", lambda: _macro("unemp"), 24, "statsmodels macrodata unemp (US, quarterly)"),
    # held out: never used to shape a pipeline
    Spec("sunspots", _sunspots_yearly, 24, "statsmodels sunspots (yearly, 1700-2008)", heldout=True),
    Spec("lynx", lambda: _pm(pm.load_lynx, "1821", "Y"), 20, "pmdarima load_lynx (annual trappings, 1821-1934)", heldout=True),
    Spec("sunspots_monthly", lambda: _sunspots_monthly("1964-01", "1983-12"), 24,
         "pmdarima load_sunspots (monthly), 1964-1983", heldout=True),
    Spec("realinv", lambda: _macro("realinv"), 24, "statsmodels macrodata realinv (US, quarterly)", heldout=True),
    Spec("interest", _interest, 16, "statsmodels interest_inflation R (quarterly, 1972-1998)", heldout=True),
    Spec("danish_money", _danish_money, 12, "statsmodels danish_data lrm (log real money, quarterly 1974-1987)",
         heldout=True),
    Spec("fertility_japan", lambda: _fertility("Japan"), 10, "statsmodels fertility, Japan (annual, 1960-2011)",
         heldout=True),
)


@dataclass(frozen=True)
class Entry:
    """One line of series.json."""

    name: str
    file: str
    frequency: str
    season_length: int
    n: int
    test_size: int
    source: str
    heldout: bool


def format_period(index: pd.PeriodIndex) -> list[str]:
    """Return the index as strings lstmcast's loader reads back: 1990-01, 1990-Q1 or 1990."""
    kind = index.freqstr[0]
    if kind == "M":
        return [p.strftime("%Y-%m") for p in index]
    if kind == "Q":
        return [f"{p.year}-Q{p.quarter}" for p in index]
    if kind == "Y":
        return [str(p.year) for p in index]
    raise ValueError(f"unsupported frequency {index.freqstr}")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", newline="") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def export(spec: Spec, folder: Path) -> Entry:
    """Return the series.json entry of ``spec`` after writing its CSV into ``folder``."""
    y = spec.load()
    if y.isna().any() or not y.index.is_monotonic_increasing or len(y) <= spec.test_size:
        raise ValueError(f"{spec.name}: missing values, unordered index or too short ({len(y)})")
    frame = pd.DataFrame({"period": format_period(y.index), spec.name: y.to_numpy()})
    write_atomic(folder / f"{spec.name}.csv", frame.to_csv(index=False, float_format="%.10g"))
    kind = y.index.freqstr[0]
    return Entry(spec.name, f"data/{spec.name}.csv", kind, SEASON_LENGTH[kind], len(y), spec.test_size,
                 spec.source, spec.heldout)


def main() -> None:
    folder = HERE / "data"
    folder.mkdir(exist_ok=True)
    entries = [export(spec, folder) for spec in SERIES]
    write_atomic(HERE / "series.json", json.dumps([asdict(e) for e in entries], indent=1) + "\n")
    for e in entries:
        print(f"{e.name:18} {e.frequency} m={e.season_length:<2} n={e.n:<4} test={e.test_size:<3} "
              f"{'heldout' if e.heldout else 'public '} {e.source}")


if __name__ == "__main__":
    main()
