"""Baseline forecasters: persistence, seasonal naive, mean and drift.

They follow the forecaster protocol of docs/architecture.md (``fit``, ``predict(y, start)``,
``forecast(horizon, y=None, level=None)``, scikit-learn params), so ``walk_forward`` scores them
exactly like an LSTM.

``forecast(horizon, y=history)`` forecasts the steps after the end of ``history`` without
refitting; a baseline's statistics (the mean, the drift slope, the residual spread of its
intervals) come from the history it is given: the fitted data, or ``y``. ``predict(y, start)``
keeps the statistics learnt by ``fit`` (the seeds' one-step scheme). With ``level=[80, 95]``
``forecast`` returns a DataFrame with columns ``forecast``, ``lower_80``, ``upper_80``, ...:
normal prediction intervals whose spread grows with the step as each method implies
(Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., section 5.5).

>>> Persistence().fit(pd.Series([1.0, 2.0, 3.0])).forecast(2).tolist()
[3.0, 3.0]
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from lstmcast.data.timeindex import season_length as infer_season_length
from lstmcast.data.validate import check_int, validate_series
from lstmcast.errors import InputError, NotFittedError
from lstmcast.evaluation.metrics import check_levels, level_label
from lstmcast.data.timeindex import future_index

POINT = "forecast"  # the point forecast's column when forecast() also returns intervals


def target_column(data: pd.Series | pd.DataFrame) -> pd.Series:
    """Return the values to forecast: a Series itself, or the last column of a DataFrame (as in the CLI)."""
    return data.iloc[:, -1] if isinstance(data, pd.DataFrame) else data


def season_length(index: pd.Index, m: int | None = None) -> int:
    """Return the season length: ``m`` itself when given, else the one the index's frequency implies.

    Inference is ``lstmcast.data.timeindex.season_length`` (monthly 12, quarterly 4, weekly 52,
    daily 7, hourly 24, half-hourly 48, annual or integer index 1).
    """
    return infer_season_length(index) if m is None else check_int(m, "m", minimum=1)


def interval_frame(point: np.ndarray, bands: dict, index: pd.Index, name=None) -> pd.DataFrame:
    """Return the DataFrame ``forecast`` returns with levels: ``forecast``, then ``lower_L``/``upper_L`` per level."""
    columns = {POINT: np.asarray(point, dtype=np.float64)}
    for level, (lower, upper) in bands.items():
        columns[f"lower_{level_label(level)}"] = np.asarray(lower, dtype=np.float64)
        columns[f"upper_{level_label(level)}"] = np.asarray(upper, dtype=np.float64)
    frame = pd.DataFrame(columns, index=index)
    frame.attrs["name"] = name
    return frame


class _Baseline(BaseEstimator):
    """The protocol plumbing shared by the baselines.

    A subclass says how many earlier values one prediction needs (``_lags``), what it learns
    from the training values (``_learn``), how it predicts one step ahead from true values
    (``_one_step``) and how it extends the training values (``_future``).
    """

    def _lags(self) -> int:
        raise NotImplementedError

    def _learn(self, values: np.ndarray) -> None:
        """Set fitted attributes beyond ``y_``; most baselines need none."""

    def _one_step(self, values: np.ndarray, start: int) -> np.ndarray:
        raise NotImplementedError

    def _future(self, values: np.ndarray, horizon: int) -> np.ndarray:
        """Return the point forecasts of the ``horizon`` steps after ``values``."""
        raise NotImplementedError

    def _spread(self, values: np.ndarray, horizon: int) -> np.ndarray:
        """Return the standard deviation of the forecast error at steps 1..horizon, from ``values``' residuals."""
        raise NotImplementedError

    def _residual_sd(self, residuals: np.ndarray, parameters: int, n: int) -> float:
        """Return the residual standard deviation (``parameters`` estimated), or raise InputError when too few."""
        if residuals.size <= parameters:
            raise InputError(
                f"{self!r} needs more than {n} observations of history for prediction intervals "
                f"(its residual spread needs {parameters + 1} residual(s)); pass a longer y or drop level"
            )
        return float(np.sqrt((residuals**2).sum() / (residuals.size - parameters)))

    def min_train_size(self) -> int:
        """Return the fewest observations ``fit`` accepts."""
        return max(1, self._lags())

    def fit(self, y: pd.Series | pd.DataFrame):
        """Return self, fitted to the series ``y`` (the last column of a DataFrame)."""
        y = target_column(validate_series(y, "y"))
        needs = self.min_train_size()
        if len(y) < needs:
            raise InputError(f"{self!r} needs at least {needs} observations to fit; y has {len(y)}")
        self.y_ = y
        self._learn(y.to_numpy())
        return self

    def predict(self, y: pd.Series | pd.DataFrame, start: int) -> np.ndarray:
        """Return one-step-ahead predictions for positions ``start .. len(y)-1``, each from the true values before it."""
        self._check_fitted()
        values = target_column(validate_series(y, "y")).to_numpy()
        lags = self._lags()
        if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or not lags <= start < len(values):
            raise InputError(
                f"start must be an integer from {lags} to {len(values) - 1} (len(y) - 1): "
                f"{self!r} predicts each position from the {lags} value(s) before it; got {start!r}"
            )
        return self._one_step(values, int(start))

    def forecast(self, horizon: int, y: pd.Series | pd.DataFrame | None = None, level=None):
        """Return the ``horizon`` values after the fitted data (or after ``y``), indexed by the future periods.

        ``y`` is a history that extends or replaces the fitted data; the forecast starts after
        its end and its statistics come from it (nothing is refitted). Without ``level`` a
        Series; with ``level`` (percentages, e.g. ``[80, 95]``) a DataFrame with the point
        forecast in column ``forecast`` and ``lower_<L>``/``upper_<L>`` per level.
        """
        self._check_fitted()
        horizon = check_int(horizon, "horizon", minimum=1)
        levels = None if level is None else check_levels(level)
        history = self.y_ if y is None else self._history(y)
        values = history.to_numpy()
        index = future_index(history.index, horizon)
        point = self._future(values, horizon)
        if levels is None:
            return pd.Series(point, index=index, name=history.name)
        spread = self._spread(values, horizon)
        normal = NormalDist()
        bands = {}
        for lv in levels:
            z = normal.inv_cdf(0.5 + lv / 200.0)
            bands[lv] = (point - z * spread, point + z * spread)
        return interval_frame(point, bands, index, name=history.name)

    def _history(self, y) -> pd.Series:
        """Return the validated target of a history passed to ``forecast``."""
        history = target_column(validate_series(y, "y"))
        needs = self.min_train_size()
        if len(history) < needs:
            raise InputError(
                f"{self!r} needs a history of at least {needs} observations to forecast from; y has {len(history)}"
            )
        return history

    def _check_fitted(self) -> None:
        if not hasattr(self, "y_"):
            raise NotFittedError(f"{self!r} is not fitted yet; call fit(y) first")


class Persistence(_Baseline):
    """The naive forecast: the next value is the last one seen."""

    def _lags(self) -> int:
        return 1

    def _one_step(self, values: np.ndarray, start: int) -> np.ndarray:
        return values[start - 1 : -1].copy()

    def _future(self, values: np.ndarray, horizon: int) -> np.ndarray:
        return np.full(horizon, values[-1])

    def _spread(self, values: np.ndarray, horizon: int) -> np.ndarray:
        # a random walk's h-step error sums h one-step errors
        return self._residual_sd(np.diff(values), 0, values.size) * np.sqrt(np.arange(1, horizon + 1))


class SeasonalNaive(_Baseline):
    """The seasonal naive forecast: the next value is the one ``m`` periods earlier.

    ``m=None`` infers the season length from the index at ``fit`` (``season_length``); the
    length used is ``m_``.
    """

    def __init__(self, m: int | None = None):
        self.m = m

    def _lags(self) -> int:
        if hasattr(self, "m_"):
            return self.m_
        # before fit an inferred season is unknown; fit checks the length against the inferred one
        return 1 if self.m is None else check_int(self.m, "m", minimum=1)

    def fit(self, y: pd.Series | pd.DataFrame):
        """Return self, fitted to ``y``, with the season length ``m_`` (given, or inferred from y's index)."""
        self.__dict__.pop("m_", None)  # a refit infers again
        m = season_length(validate_series(y, "y").index, self.m)
        self.m_ = m
        try:
            return super().fit(y)
        except InputError:
            del self.m_
            raise

    def _one_step(self, values: np.ndarray, start: int) -> np.ndarray:
        return values[start - self.m_ : len(values) - self.m_].copy()

    def _future(self, values: np.ndarray, horizon: int) -> np.ndarray:
        return values[-self.m_ :][np.arange(horizon) % self.m_]

    def _spread(self, values: np.ndarray, horizon: int) -> np.ndarray:
        m = self.m_
        sd = self._residual_sd(values[m:] - values[:-m], 0, values.size)
        # step h repeats the value of season floor((h - 1) / m) back: one more seasonal error per season
        return sd * np.sqrt((np.arange(horizon) // m) + 1.0)


class MeanForecaster(_Baseline):
    """The climatology forecast: every value is the mean of the training data."""

    def _lags(self) -> int:
        return 0

    def _learn(self, values: np.ndarray) -> None:
        self.mean_ = float(values.mean())

    def _one_step(self, values: np.ndarray, start: int) -> np.ndarray:
        return np.full(len(values) - start, self.mean_)

    def _future(self, values: np.ndarray, horizon: int) -> np.ndarray:
        return np.full(horizon, values.mean())

    def _spread(self, values: np.ndarray, horizon: int) -> np.ndarray:
        sd = self._residual_sd(values - values.mean(), 1, values.size)
        return np.full(horizon, sd * np.sqrt(1.0 + 1.0 / values.size))  # noise plus the mean's own error


class Drift(_Baseline):
    """The drift forecast: the last value plus the average change over the training data."""

    def _lags(self) -> int:
        return 1

    def min_train_size(self) -> int:
        return 2  # the slope needs a first and a last observation

    def _learn(self, values: np.ndarray) -> None:
        self.slope_ = _slope(values)

    def _one_step(self, values: np.ndarray, start: int) -> np.ndarray:
        return values[start - 1 : -1] + self.slope_

    def _future(self, values: np.ndarray, horizon: int) -> np.ndarray:
        return values[-1] + _slope(values) * np.arange(1, horizon + 1)

    def _spread(self, values: np.ndarray, horizon: int) -> np.ndarray:
        sd = self._residual_sd(np.diff(values) - _slope(values), 1, values.size)
        steps = np.arange(1, horizon + 1)
        return sd * np.sqrt(steps * (1.0 + steps / values.size))  # random walk plus the slope's error


def _slope(values: np.ndarray) -> float:
    """Return the average change per step from the first to the last value."""
    return float((values[-1] - values[0]) / (len(values) - 1))


BASELINES: dict[str, type[_Baseline]] = {
    "persistence": Persistence,
    "seasonal-naive": SeasonalNaive,
    "mean": MeanForecaster,
    "drift": Drift,
}
