"""Baseline forecasters: persistence, seasonal naive, mean and drift.

They follow the forecaster protocol of docs/architecture.md (``fit``, ``predict(y, start)``,
``forecast(horizon)``, scikit-learn params), so ``walk_forward`` scores them exactly like an LSTM.

>>> Persistence().fit(pd.Series([1.0, 2.0, 3.0])).forecast(2).tolist()
[3.0, 3.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from lstmcast.data.validate import check_int, validate_series
from lstmcast.errors import InputError, NotFittedError
from lstmcast.evaluation.split import future_index


def target_column(data: pd.Series | pd.DataFrame) -> pd.Series:
    """Return the values to forecast: a Series itself, or the last column of a DataFrame (as in the CLI)."""
    return data.iloc[:, -1] if isinstance(data, pd.DataFrame) else data


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

    def _future(self, horizon: int) -> np.ndarray:
        raise NotImplementedError

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

    def forecast(self, horizon: int) -> pd.Series:
        """Return the next ``horizon`` values after the fitted data, indexed by the future periods."""
        self._check_fitted()
        horizon = check_int(horizon, "horizon", minimum=1)
        return pd.Series(self._future(horizon), index=future_index(self.y_.index, horizon), name=self.y_.name)

    def _check_fitted(self) -> None:
        if not hasattr(self, "y_"):
            raise NotFittedError(f"{self!r} is not fitted yet; call fit(y) first")


class Persistence(_Baseline):
    """The naive forecast: the next value is the last one seen."""

    def _lags(self) -> int:
        return 1

    def _one_step(self, values: np.ndarray, start: int) -> np.ndarray:
        return values[start - 1 : -1].copy()

    def _future(self, horizon: int) -> np.ndarray:
        return np.full(horizon, self.y_.iloc[-1])


class SeasonalNaive(_Baseline):
    """The seasonal naive forecast: the next value is the one ``m`` periods earlier."""

    def __init__(self, m: int = 12):
        self.m = m

    def _lags(self) -> int:
        return check_int(self.m, "m", minimum=1)

    def _one_step(self, values: np.ndarray, start: int) -> np.ndarray:
        return values[start - self.m : len(values) - self.m].copy()

    def _future(self, horizon: int) -> np.ndarray:
        last_season = self.y_.to_numpy()[-self.m :]
        return last_season[np.arange(horizon) % self.m]


class MeanForecaster(_Baseline):
    """The climatology forecast: every value is the mean of the training data."""

    def _lags(self) -> int:
        return 0

    def _learn(self, values: np.ndarray) -> None:
        self.mean_ = float(values.mean())

    def _one_step(self, values: np.ndarray, start: int) -> np.ndarray:
        return np.full(len(values) - start, self.mean_)

    def _future(self, horizon: int) -> np.ndarray:
        return np.full(horizon, self.mean_)


class Drift(_Baseline):
    """The drift forecast: the last value plus the average change over the training data."""

    def _lags(self) -> int:
        return 1

    def min_train_size(self) -> int:
        return 2  # the slope needs a first and a last observation

    def _learn(self, values: np.ndarray) -> None:
        self.slope_ = float((values[-1] - values[0]) / (len(values) - 1))

    def _one_step(self, values: np.ndarray, start: int) -> np.ndarray:
        return values[start - 1 : -1] + self.slope_

    def _future(self, horizon: int) -> np.ndarray:
        return self.y_.iloc[-1] + self.slope_ * np.arange(1, horizon + 1)


BASELINES: dict[str, type[_Baseline]] = {
    "persistence": Persistence,
    "seasonal-naive": SeasonalNaive,
    "mean": MeanForecaster,
    "drift": Drift,
}
