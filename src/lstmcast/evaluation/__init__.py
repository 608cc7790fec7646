"""Evaluation: metrics, baselines, time-ordered splits, walk-forward validation and conformal intervals."""

from lstmcast.evaluation.baselines import (
    BASELINES,
    Drift,
    MeanForecaster,
    Persistence,
    SeasonalNaive,
    season_length,
    target_column,
)
from lstmcast.evaluation.conformal import ConformalBands, calibrate
from lstmcast.evaluation.metrics import (
    METRICS,
    UndefinedMetricError,
    check_levels,
    coverage,
    level_label,
    mae,
    mape,
    mase,
    mean_width,
    rmse,
    score_all,
    smape,
    winkler,
)
from lstmcast.evaluation.split import resolve_test_size, train_test_split
from lstmcast.evaluation.walk_forward import (
    WalkForwardResult,
    interval_summary,
    metrics_by_step,
    walk_forward,
)

__all__ = [
    "BASELINES",
    "METRICS",
    "ConformalBands",
    "Drift",
    "MeanForecaster",
    "Persistence",
    "SeasonalNaive",
    "UndefinedMetricError",
    "WalkForwardResult",
    "calibrate",
    "check_levels",
    "coverage",
    "interval_summary",
    "level_label",
    "mae",
    "mape",
    "mase",
    "mean_width",
    "metrics_by_step",
    "resolve_test_size",
    "rmse",
    "score_all",
    "season_length",
    "smape",
    "target_column",
    "train_test_split",
    "walk_forward",
    "winkler",
]
