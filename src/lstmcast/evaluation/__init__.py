"""Evaluation: metrics, baselines, time-ordered splits and walk-forward validation."""

from lstmcast.evaluation.baselines import (
    BASELINES,
    Drift,
    MeanForecaster,
    Persistence,
    SeasonalNaive,
    target_column,
)
from lstmcast.evaluation.metrics import (
    METRICS,
    UndefinedMetricError,
    mae,
    mape,
    mase,
    rmse,
    score_all,
    smape,
)
from lstmcast.evaluation.split import future_index, resolve_test_size, train_test_split
from lstmcast.evaluation.walk_forward import WalkForwardResult, walk_forward

__all__ = [
    "BASELINES",
    "METRICS",
    "Drift",
    "MeanForecaster",
    "Persistence",
    "SeasonalNaive",
    "UndefinedMetricError",
    "WalkForwardResult",
    "future_index",
    "mae",
    "mape",
    "mase",
    "resolve_test_size",
    "rmse",
    "score_all",
    "smape",
    "target_column",
    "train_test_split",
    "walk_forward",
]
