"""Rolling one-step (walk-forward) evaluation of a forecaster against baselines on the same folds.

The seeds' scheme: fit on the training part, then predict each test position one step ahead
from all true values before it, so each true value joins the history before the next forecast.

>>> result = walk_forward(Drift(), y, test_size=12, baselines=("persistence", "seasonal-naive"))
>>> result.rmse, result.baselines["persistence"]["rmse"]   # original units, same 12 dates
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone

from lstmcast.data.validate import check_int, validate_series
from lstmcast.errors import InputError
from lstmcast.evaluation.baselines import BASELINES, target_column
from lstmcast.evaluation.metrics import score_all
from lstmcast.evaluation.split import resolve_test_size

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class WalkForwardResult:
    """Predictions and scores of one walk-forward evaluation, in the units of the data.

    ``metrics`` and each entry of ``baselines`` map rmse, mae, mape, smape and mase to a float,
    or to None where the metric is undefined (MAPE with zeros in the test part, MASE with a zero
    or missing scale). For an ensemble, ``predictions`` is the mean over members and
    ``member_predictions`` (members, n) / ``member_metrics`` (name -> one value per member) are set.
    """

    predictions: pd.Series
    actual: pd.Series
    metrics: dict[str, float | None]
    baselines: dict[str, dict[str, float | None]]
    baseline_predictions: dict[str, pd.Series]
    member_predictions: np.ndarray | None = None
    member_metrics: dict[str, np.ndarray | None] | None = None

    @property
    def rmse(self) -> float:
        """Return the RMSE of ``predictions`` (the ensemble mean for an ensemble)."""
        return self.metrics["rmse"]


def walk_forward(
    forecaster,
    series: pd.Series | pd.DataFrame,
    test_size: int | float,
    refit: int | None = None,
    baselines: Iterable[str] = ("persistence",),
    m: int = 12,
) -> WalkForwardResult:
    """Return the walk-forward predictions and metrics of ``forecaster`` on the last ``test_size`` rows of ``series``.

    ``refit=None`` (or 0/False) fits once on the training part and predicts the whole test part
    in one ``predict(series, start)`` call; ``refit=k`` refits a fresh clone on all data before
    each block of ``k`` test positions. The caller's ``forecaster`` is never fitted or changed.
    Each name in ``baselines`` (see ``BASELINES``) is run through the same folds. ``m`` is the
    season length of the seasonal-naive baseline and of the MASE scale. For a DataFrame, the
    target is the forecaster's ``target`` column (default: the last column); the baselines run on
    that column alone.
    """
    series = validate_series(series, "series")
    n_test = resolve_test_size(len(series), test_size)
    n_train = len(series) - n_test
    every = _resolve_refit(refit)
    m = check_int(m, "m", minimum=1)
    model = clone(forecaster, safe=False)
    others = {name: _make_baseline(name, m) for name in _baseline_names(baselines)}
    _check_long_enough(model, "the forecaster", len(series), n_test, test_size)
    for name, baseline in others.items():
        _check_long_enough(baseline, f"the {name} baseline", len(series), n_test, test_size)
    logger.debug("walk-forward over %d test positions, refit every %s", n_test, every or "never")

    target = target_series(forecaster, series)
    raw = _rolling_predictions(model, series, n_train, every)
    actual = target.iloc[n_train:]
    train = target.iloc[:n_train].to_numpy()
    is_ensemble = raw.ndim == 2
    point = raw.mean(axis=0) if is_ensemble else raw
    baseline_raw = {name: _rolling_predictions(b, target, n_train, every) for name, b in others.items()}

    def dated(values: np.ndarray) -> pd.Series:
        return pd.Series(values, index=actual.index, name=actual.name)

    return WalkForwardResult(
        predictions=dated(point),
        actual=actual,
        metrics=score_all(actual, point, train, m),
        baselines={name: score_all(actual, p, train, m) for name, p in baseline_raw.items()},
        baseline_predictions={name: dated(p) for name, p in baseline_raw.items()},
        member_predictions=raw if is_ensemble else None,
        member_metrics=score_all(actual, raw, train, m) if is_ensemble else None,
    )


def target_series(forecaster, series: pd.Series | pd.DataFrame) -> pd.Series:
    """Return the column that ``forecaster`` predicts: the series itself, or its ``target`` column of a frame.

    A forecaster without a ``target`` parameter (the baselines) predicts the last column.
    """
    if isinstance(series, pd.Series):
        return series
    label = getattr(forecaster, "target", None)
    if label is None:
        return target_column(series)
    if label == "all":
        raise InputError(
            "walk_forward scores one target column; target='all' forecasts every column. "
            "Set target to one column name to evaluate it"
        )
    if label not in series.columns:
        raise InputError(f"target {label!r} is not a column; columns are {list(series.columns)}")
    return series[label]


def _rolling_predictions(model, series: pd.Series | pd.DataFrame, n_train: int, every: int | None) -> np.ndarray:
    """Return the one-step predictions for positions ``n_train ..`` of ``series``: shape (n,) or (members, n)."""
    if every is None:
        model.fit(series.iloc[:n_train])
        return _checked(model, model.predict(series, n_train), len(series) - n_train)
    blocks = []
    for start in range(n_train, len(series), every):
        end = min(start + every, len(series))
        fresh = clone(model, safe=False)
        fresh.fit(series.iloc[:start])
        blocks.append(_checked(fresh, fresh.predict(series.iloc[:end], start), end - start))
    if len({block.shape[:-1] for block in blocks}) > 1:
        raise InputError(
            f"{model!r}.predict returned a different number of members from one refit to the next: "
            f"{sorted({block.shape[:-1] for block in blocks})}"
        )
    return np.concatenate(blocks, axis=-1)


def _checked(model, predictions, n: int) -> np.ndarray:
    """Return ``predictions`` as a float array, or raise InputError when it is not (n,) or (members, n)."""
    values = np.asarray(predictions, dtype=np.float64)
    if values.ndim not in (1, 2) or values.shape[-1] != n:
        raise InputError(
            f"{model!r}.predict returned shape {values.shape} for {n} test positions; "
            f"expected ({n},) or (members, {n})"
        )
    return values


def _resolve_refit(refit) -> int | None:
    """Return the refit block length, or None for a single fit."""
    if refit is None or refit is False or (not isinstance(refit, bool) and refit == 0):
        return None
    if refit is True:
        return 1
    return check_int(refit, "refit", minimum=1)


def _baseline_names(baselines: Iterable[str]) -> list[str]:
    names = [baselines] if isinstance(baselines, str) else list(baselines)
    unknown = [name for name in names if name not in BASELINES]
    if unknown:
        raise InputError(f"unknown baseline(s) {unknown}; choose from {', '.join(BASELINES)}")
    return names


def _make_baseline(name: str, m: int):
    baseline = BASELINES[name]()
    return baseline.set_params(m=m) if "m" in baseline.get_params() else baseline


def _check_long_enough(model, label: str, n: int, n_test: int, test_size) -> None:
    """Raise InputError when the training part is shorter than what ``model.min_train_size()`` asks for."""
    needs = model.min_train_size() if hasattr(model, "min_train_size") else 1
    if n - n_test < needs:
        raise InputError(
            f"the series has {n} observations; test_size={test_size} leaves {n - n_test} for "
            f"training but {label} needs {needs}"
        )
