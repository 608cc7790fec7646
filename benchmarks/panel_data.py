"""The panels of bench_panel.py and their scores, shared with panel_stats.py (numpy and pandas only).

bench_panel.py runs in lstmcast's environment, panel_stats.py in benchmarks/accuracy/.venv
(statsforecast, pandas 2.3, no torch), so this module imports neither lstmcast nor torch: both
scripts build the same panels from here, and ``fingerprint`` lets bench_panel.py check that a
statsforecast JSON was computed on the panel it is scoring.

    panel = PANELS["synthetic"]()          # {id: monthly float64 Series}
    scores(actual, forecast, persistence)  # pooled RMSE, naive RMSE, geometric mean of the ratios
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent / "accuracy" / "data"
SEED = 0
TEST_SIZE = 12  # one-step forecasts of each series' last 12 months
HORIZON = 12  # and one 12-step forecast of the same months, from the origin 12 before the end
_MONTH = re.compile(r"\d{4}-\d{2}")


def read_monthly(path: Path) -> pd.Series | None:
    """Return the CSV's value column as a monthly float64 Series, or None when its periods are not months.

    The files of benchmarks/accuracy/data are ``period,value`` with periods written "1949-01"
    (monthly), "1956-Q1" (quarterly) or "1871" (yearly), as export_data.py wrote them.
    """
    frame = pd.read_csv(path)
    periods = frame.iloc[:, 0].astype(str)
    if not periods.map(lambda p: _MONTH.fullmatch(p) is not None).all():
        return None
    index = pd.PeriodIndex(periods, freq="M")
    return pd.Series(frame.iloc[:, -1].to_numpy(float), index=index, name=frame.columns[-1])


def public_monthly(last: int = 240) -> dict[str, pd.Series]:
    """Return the monthly series of benchmarks/accuracy/data (season length 12), shortened to their last ``last`` months."""
    out = {}
    for path in sorted(DATA.glob("*.csv")):
        y = read_monthly(path)
        if y is not None:
            out[path.stem] = y.iloc[-last:]
    return out


def air_passengers_panel(shift: float = 300.0) -> dict[str, pd.Series]:
    """Return neuralforecast's AirPassengersPanel: the airline series ("Airline1") and a copy ``shift`` higher ("Airline2").

    neuralforecast.utils builds it as ``np.concatenate([AirPassengers, AirPassengers + 300])``
    under the ids Airline1 and Airline2; here from benchmarks/accuracy/data/airline.csv.
    """
    airline = read_monthly(DATA / "airline.csv")
    return {"Airline1": airline.rename("y"), "Airline2": (airline + shift).rename("y")}


def synthetic_panel(k: int = 300, n: int = 96, seed: int = SEED) -> dict[str, pd.Series]:
    """Return k monthly series: level_i * (1 + trend + seasonal shape shifted by a small phase) + noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    index = pd.period_range("2010-01", periods=n, freq="M")
    out = {}
    for i in range(k):
        level = rng.uniform(10, 1000)
        shape = 1 + 0.004 * rng.uniform(0.5, 1.5) * t + 0.2 * np.sin(2 * np.pi * (t + rng.integers(0, 2)) / 12)
        y = level * shape + rng.normal(0, 0.05 * level, n)
        out[f"syn{i:03d}"] = pd.Series(y, index=index, name="y")
    return out


PANELS = {
    "public": ("public monthly series", public_monthly),
    "airpassengers": ("AirPassengersPanel", air_passengers_panel),
    "synthetic": ("synthetic panel", synthetic_panel),
}


def fingerprint(panel: dict[str, pd.Series]) -> str:
    """Return a short hash of the panel's ids, periods and values (float64 bytes), the same in both environments."""
    digest = hashlib.sha256()
    for key, y in panel.items():
        digest.update(f"{key}|{y.index[0]}|{len(y)}|".encode())
        digest.update(np.ascontiguousarray(y.to_numpy(np.float64)).tobytes())
    return digest.hexdigest()[:16]


def rmse(actual, forecast) -> float:
    """Return the root mean squared error of ``forecast``."""
    return float(np.sqrt(np.mean((np.asarray(actual, float) - np.asarray(forecast, float)) ** 2)))


def scores(actual: dict, forecast: dict, persistence: dict) -> dict[str, float]:
    """Return pooled ``rmse`` and ``naive_rmse`` and ``geomean_ratio`` (geometric mean over series of RMSE / naive RMSE).

    Each argument maps a series id to that series' values at the scored points, in one order;
    series whose naive RMSE is zero have no ratio and are left out of the geometric mean, as in
    ``lstmcast.panel.panel_walk_forward``.
    """
    keys = list(actual)
    ratios = [rmse(actual[k], forecast[k]) / rmse(actual[k], persistence[k]) for k in keys
              if rmse(actual[k], persistence[k]) > 0]
    ratios = [r for r in ratios if r > 0]
    joined = {name: np.concatenate([np.asarray(d[k], float) for k in keys])
              for name, d in (("actual", actual), ("forecast", forecast), ("persistence", persistence))}
    return {"rmse": rmse(joined["actual"], joined["forecast"]),
            "naive_rmse": rmse(joined["actual"], joined["persistence"]),
            "geomean_ratio": float(np.exp(np.mean(np.log(ratios)))) if ratios else float("nan")}


def one_step_truth(y: pd.Series, test_size: int = TEST_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Return (actual, persistence) of one-step forecasts of the last ``test_size`` values: persistence is the value before each."""
    values = y.to_numpy(float)
    n = len(values)
    return values[n - test_size:], values[n - test_size - 1:n - 1]


def multi_step_truth(y: pd.Series, horizon: int = HORIZON) -> tuple[np.ndarray, np.ndarray]:
    """Return (actual, persistence) of one ``horizon``-step forecast of the last ``horizon`` values: persistence repeats the last value at the origin."""
    values = y.to_numpy(float)
    n = len(values)
    return values[n - horizon:], np.repeat(values[n - horizon - 1], horizon)
