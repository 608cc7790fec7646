"""Walk-forward evaluation of a forecaster against baselines on the same folds, in original units.

The seeds' scheme (``horizon=1, stride=1``): fit on the training part, then predict each test
position one step ahead from all true values before it, so each true value joins the history
before the next forecast; one vectorised ``predict(series, start)`` call covers the test part.

Multi-horizon (``horizon > 1``, ``stride > 1`` or ``level``): forecast origins at ``n_train,
n_train + stride, ...`` (every origin inside the test part); from each origin,
``forecast(horizon, y=series[:origin], level=...)`` forecasts the next ``horizon`` steps from the
history without refitting. Near the end, an origin keeps only the steps that fall inside the
series, so every test point is forecast (when ``stride <= horizon``).

>>> result = walk_forward(Drift(), y, test_size=12, horizon=3, level=[80], baselines=("persistence",))
>>> result.by_step        # rmse, mae, coverage_80, width_80, winkler_80 per step
>>> result.folds.head()   # origin, step, time, actual, forecast, lower_80, upper_80
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone

from lstmcast.data.validate import check_int, validate_series
from lstmcast.errors import InputError
from lstmcast.evaluation.baselines import BASELINES, POINT, season_length, target_column
from lstmcast.evaluation.metrics import check_levels, coverage, level_label, mae, mean_width, rmse, score_all, winkler
from lstmcast.evaluation.split import resolve_test_size

logger = logging.getLogger(__name__)

FOLD_COLUMNS = ("origin", "step", "time", "actual", POINT)  # then lower_<L>, upper_<L> per level


@dataclass(frozen=True, eq=False)
class WalkForwardResult:
    """Predictions and scores of one walk-forward evaluation, in the units of the data.

    ``metrics`` and each entry of ``baselines`` map rmse, mae, mape, smape and mase to a float,
    or to None where the metric is undefined (MAPE with zeros in the test part, MASE with a zero
    or missing scale); they score every forecast in ``folds`` (all origins and steps pooled),
    which for ``horizon=1, stride=1`` is each test position once. For an ensemble on the one-step
    path, ``predictions`` is the mean over members and ``member_predictions`` (members, n) /
    ``member_metrics`` (name -> one value per member) are set.

    ``predictions`` (and each of ``baseline_predictions``) is dated by the test part: for each
    test time, the forecast from the latest origin (the shortest lead); NaN where no fold reaches
    it (``stride > horizon``).

    ``folds`` is one row per origin and step: ``origin`` (the number of observations the forecast
    saw: it forecasts from ``series.iloc[:origin]``), ``step`` (1..horizon), ``time`` (the target's
    date), ``actual``, ``forecast`` and, per level L, ``lower_L``/``upper_L``. ``by_step`` is
    indexed by step: ``n``, ``rmse``, ``mae`` and per level ``coverage_L`` (percent), ``width_L``,
    ``winkler_L``. ``intervals`` maps each level to ``{"coverage", "width", "winkler"}`` over all
    folds. ``baseline_folds`` and ``baseline_by_step`` hold the same per baseline. ``m`` is the
    season length used (seasonal naive and MASE).
    """

    predictions: pd.Series
    actual: pd.Series
    metrics: dict[str, float | None]
    baselines: dict[str, dict[str, float | None]]
    baseline_predictions: dict[str, pd.Series]
    member_predictions: np.ndarray | None = None
    member_metrics: dict[str, np.ndarray | None] | None = None
    folds: pd.DataFrame | None = None
    by_step: pd.DataFrame | None = None
    intervals: dict[float, dict[str, float]] = field(default_factory=dict)
    baseline_folds: dict[str, pd.DataFrame] = field(default_factory=dict)
    baseline_by_step: dict[str, pd.DataFrame] = field(default_factory=dict)
    horizon: int = 1
    stride: int = 1
    levels: tuple = ()
    m: int | None = None

    @property
    def rmse(self) -> float:
        """Return the RMSE of ``predictions`` (the ensemble mean for an ensemble)."""
        return self.metrics["rmse"]


def walk_forward(
    forecaster,
    series: pd.Series | pd.DataFrame,
    test_size: int | float,
    *,
    horizon: int = 1,
    stride: int = 1,
    refit: int | None = None,
    baselines: Iterable[str] = ("persistence",),
    m: int | None = None,
    level=None,
) -> WalkForwardResult:
    """Return the walk-forward forecasts and metrics of ``forecaster`` on the last ``test_size`` rows of ``series``.

    ``refit=None`` (or 0/False) fits once on the training part; ``refit=k`` fits a fresh clone
    on all data before the origin, every ``k`` origins (expanding window). With ``horizon=1,
    stride=1`` and no ``level`` the whole test part is predicted by ``predict(series, start)``
    calls (one per fit); otherwise each origin calls ``forecast(horizon, y=series[:origin],
    level=level)`` (see the module docstring), or, for a forecaster fitted once that has
    ``forecast_origins`` (and ``calibration`` for levels), one ``forecast_origins`` call answers every origin. ``level``: coverage levels in percent, e.g.
    ``[80, 95]``; the forecaster's ``forecast`` must then return ``lower_L``/``upper_L`` columns.
    The caller's ``forecaster`` is never fitted or changed. Each name in ``baselines`` (see
    ``BASELINES``) runs through the same folds. ``m`` is the season length of the seasonal-naive
    baseline and of the MASE scale; None infers it from the index (monthly 12, quarterly 4, ...).
    For a DataFrame, the target is the forecaster's ``target`` column (default: the last column);
    the baselines run on that column alone.
    """
    series = validate_series(series, "series")
    n_test = resolve_test_size(len(series), test_size)
    n_train = len(series) - n_test
    horizon = check_int(horizon, "horizon", minimum=1)
    stride = check_int(stride, "stride", minimum=1)
    levels = () if level is None else check_levels(level)
    if n_test < horizon:
        raise InputError(
            f"the test part has {n_test} observations (test_size={test_size}) but horizon={horizon}; "
            "every forecast target must lie in the test part: raise test_size or lower horizon"
        )
    every = resolve_refit(refit)
    target = target_series(forecaster, series)
    m = season_length(target.index, m)
    model = clone(forecaster, safe=False)
    others = {name: _make_baseline(name, m) for name in _baseline_names(baselines)}
    _check_long_enough(model, "the forecaster", len(series), n_test, test_size)
    for name, baseline in others.items():
        _check_long_enough(baseline, f"the {name} baseline", len(series), n_test, test_size)
    one_step = horizon == 1 and stride == 1 and not levels
    if not one_step:
        for label, candidate in [("the forecaster", model), *((f"the {k} baseline", b) for k, b in others.items())]:
            check_forecast_takes(candidate, label, ("y", "level") if levels else ("y",))
    logger.debug(
        "walk-forward over %d test positions, horizon %d, stride %d, refit every %s",
        n_test, horizon, stride, every or "never",
    )

    actual = target.iloc[n_train:]
    train = target.iloc[:n_train].to_numpy()
    if one_step:
        raw = _rolling_predictions(model, series, n_train, every)
        baseline_raw = {name: _rolling_predictions(b, target, n_train, every) for name, b in others.items()}
        point = raw.mean(axis=0) if raw.ndim == 2 else raw
        folds = _one_step_folds(actual, n_train, point)
        baseline_folds = {name: _one_step_folds(actual, n_train, p) for name, p in baseline_raw.items()}
    else:
        raw = None
        folds = _fold_forecasts(model, series, target, n_train, horizon, stride, every, levels)
        baseline_folds = {
            name: _fold_forecasts(b, target, target, n_train, horizon, stride, every, levels)
            for name, b in others.items()
        }
    is_ensemble = raw is not None and raw.ndim == 2

    def scores(table: pd.DataFrame) -> dict[str, float | None]:
        return score_all(table["actual"], table[POINT], train, m)

    return WalkForwardResult(
        predictions=_latest(folds, actual, n_train),
        actual=actual,
        metrics=scores(folds),
        baselines={name: scores(table) for name, table in baseline_folds.items()},
        baseline_predictions={name: _latest(table, actual, n_train) for name, table in baseline_folds.items()},
        member_predictions=raw if is_ensemble else None,
        member_metrics=score_all(actual, raw, train, m) if is_ensemble else None,
        folds=folds,
        by_step=metrics_by_step(folds),
        intervals=interval_summary(folds),
        baseline_folds=baseline_folds,
        baseline_by_step={name: metrics_by_step(table) for name, table in baseline_folds.items()},
        horizon=horizon,
        stride=stride,
        levels=levels,
        m=m,
    )


def fold_levels(folds: pd.DataFrame) -> list[float]:
    """Return the coverage levels that ``folds`` has ``lower_L``/``upper_L`` columns for, ascending."""
    labels = [str(c)[len("lower_") :] for c in folds.columns if str(c).startswith("lower_")]
    return list(check_levels([float(label) for label in labels])) if labels else []


def metrics_by_step(folds: pd.DataFrame) -> pd.DataFrame:
    """Return the metrics of a folds table by horizon step: ``n``, ``rmse``, ``mae`` and per level L
    ``coverage_L`` (percent), ``width_L`` and ``winkler_L``, indexed by ``step``."""
    levels = fold_levels(folds)
    rows = {}
    for step, part in folds.groupby("step", sort=True):
        y, point = part["actual"].to_numpy(), part[POINT].to_numpy()
        row = {"n": len(part), "rmse": rmse(y, point), "mae": mae(y, point)}
        for lv in levels:
            lower, upper = part[f"lower_{level_label(lv)}"], part[f"upper_{level_label(lv)}"]
            row[f"coverage_{level_label(lv)}"] = coverage(y, lower, upper)
            row[f"width_{level_label(lv)}"] = mean_width(lower, upper)
            row[f"winkler_{level_label(lv)}"] = winkler(y, lower, upper, lv)
        rows[int(step)] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "step"
    return table


def interval_summary(folds: pd.DataFrame) -> dict[float, dict[str, float]]:
    """Return ``{level: {"coverage", "width", "winkler"}}`` over every row of a folds table (coverage in percent)."""
    y = folds["actual"].to_numpy()
    summary = {}
    for lv in fold_levels(folds):
        lower, upper = folds[f"lower_{level_label(lv)}"], folds[f"upper_{level_label(lv)}"]
        summary[lv] = {
            "coverage": coverage(y, lower, upper),
            "width": mean_width(lower, upper),
            "winkler": winkler(y, lower, upper, lv),
        }
    return summary


def fold_origins(n_train: int, n: int, stride: int) -> range:
    """Return the forecast origins (history lengths) of a walk-forward over positions ``n_train .. n-1``."""
    return range(n_train, n, stride)


def fitted_at_origins(model, series, origins: Iterable[int], every: int | None):
    """Yield ``(origin, fitted model)`` per origin: ``model`` fitted once on ``series[:first origin]``
    (``every=None``), or a fresh clone fitted on ``series[:origin]`` at every ``every``-th origin."""
    fitted = None
    for i, origin in enumerate(origins):
        if fitted is None or (every is not None and i % every == 0):
            fitted = clone(model, safe=False) if every is not None else model
            fitted.fit(series.iloc[:origin])
        yield origin, fitted


def _one_step_folds(actual: pd.Series, n_train: int, point: np.ndarray) -> pd.DataFrame:
    """Return the folds table of the one-step path: one origin per test position, step 1."""
    return pd.DataFrame(
        {
            "origin": np.arange(n_train, n_train + len(actual)),
            "step": 1,
            "time": actual.index,
            "actual": actual.to_numpy(),
            POINT: point,
        }
    )


def _fold_forecasts(
    model, series, target: pd.Series, n_train: int, horizon: int, stride: int, every: int | None, levels: tuple
) -> pd.DataFrame:
    """Return the folds table of ``model``'s ``horizon``-step forecasts from each origin (see WalkForwardResult)."""
    n = len(series)
    kwargs = {"level": list(levels)} if levels else {}  # forecasters without intervals need not take level
    columns = [POINT] + [f"{side}_{level_label(lv)}" for lv in levels for side in ("lower", "upper")]
    origins, blocks = [], []
    at = fold_origins(n_train, n, stride)
    if every is None and hasattr(model, "forecast_origins") and (not levels or hasattr(model, "calibration")):
        values = _batched_forecasts(model.fit(series.iloc[:n_train]), series, at, horizon, levels)
    else:
        values = (_forecast_values(model, fitted.forecast(horizon, y=series.iloc[:origin], **kwargs), horizon, columns)
                  for origin, fitted in fitted_at_origins(model, series, at, every))
    for origin, block in zip(at, values):
        steps = min(horizon, n - origin)  # the last origins keep the steps inside the series
        blocks.append(block[:steps])
        origins.append(np.full(steps, origin))
    origin = np.concatenate(origins)
    step = np.concatenate([np.arange(1, len(o) + 1) for o in origins])
    position = origin + step - 1
    table = pd.DataFrame(
        {"origin": origin, "step": step, "time": target.index[position], "actual": target.to_numpy()[position]}
    )
    values = np.concatenate(blocks)
    for j, column in enumerate(columns):
        table[column] = values[:, j]
    return table


def _batched_forecasts(fitted, series, origins: range, horizon: int, levels: tuple) -> list[np.ndarray]:
    """Return what ``forecast(horizon, y=series[:origin], level=levels)`` gives per origin, as (horizon, columns) arrays.

    One ``forecast_origins`` pass for every origin of a model fitted once; the bands are its
    ``calibration``, put around each point forecast as ``forecast(level=)`` puts them.
    """
    points = np.asarray(fitted.forecast_origins(series, origins, horizon), dtype=np.float64)
    if points.shape != (len(origins), horizon):
        raise InputError(f"{fitted!r}.forecast_origins(series, {len(origins)} origins, {horizon}) returned shape "
                         f"{points.shape}; walk_forward scores one target: expected ({len(origins)}, {horizon})")
    bands = fitted.calibration(horizon, list(levels)) if levels else None
    out = []
    for point in points:
        sides = bands.apply(point) if bands is not None else {}
        out.append(np.column_stack([point, *(side for lv in levels for side in sides[lv])]))
    return out


def check_forecast_takes(model, label: str, names: tuple[str, ...]) -> None:
    """Raise InputError when ``model.forecast`` cannot take the keyword arguments ``names``."""
    try:
        parameters = inspect.signature(model.forecast).parameters
    except (AttributeError, TypeError, ValueError):
        raise InputError(
            f"{label} {model!r} has no forecast(horizon, y=...) method, which multi-horizon walk-forward "
            "and conformal calibration need"
        ) from None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    missing = [name for name in names if name not in parameters]
    if missing:
        what = {
            "level": "prediction intervals (level=)",
            "y": "forecasts from a given history (y=)",
            "return_members": "members (return_members=)",
        }["y" if "y" in missing else missing[-1]]
        raise InputError(
            f"{label} {model!r} does not support {what}: its forecast() takes no {', '.join(missing)} argument; "
            + ("use horizon=1, stride=1 and no level" if "y" in missing else "drop that option")
        )


def _forecast_values(model, out, horizon: int, columns: list[str]) -> np.ndarray:
    """Return ``forecast``'s output as a (horizon, columns) array, or raise InputError when it lacks them."""
    if isinstance(out, pd.DataFrame):
        missing = [c for c in columns if c not in out.columns]
        have, rows = list(out.columns), len(out)
    else:
        out = np.asarray(out, dtype=np.float64)
        missing = columns[1:] if out.ndim == 1 else columns
        have, rows = [POINT] if out.ndim == 1 else f"an array of shape {out.shape}", len(out)
    if missing or rows != horizon:
        raise InputError(
            f"{model!r}.forecast({horizon}, y=...) must return {horizon} values"
            + (f" with columns {columns}" if len(columns) > 1 else "")
            + f"; got {rows} rows with {have}"
            + ("; does this forecaster support prediction intervals (level=)?" if missing and len(columns) > 1 else "")
        )
    if isinstance(out, pd.DataFrame):
        return out[columns].to_numpy(dtype=np.float64)
    return out.reshape(-1, 1)


def _latest(folds: pd.DataFrame, actual: pd.Series, n_train: int) -> pd.Series:
    """Return, per test time, the forecast with the shortest lead (NaN where no fold reaches it)."""
    position = (folds["origin"] + folds["step"] - 1 - n_train).to_numpy()
    step = folds["step"].to_numpy()
    order = np.lexsort((step, position))  # by position, then shortest step first
    reached, first = np.unique(position[order], return_index=True)
    values = np.full(len(actual), np.nan)
    values[reached] = folds[POINT].to_numpy()[order][first]
    return pd.Series(values, index=actual.index, name=actual.name)


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


def resolve_refit(refit) -> int | None:
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
