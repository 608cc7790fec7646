"""Figures of one series: walk-forward test predictions and future forecasts (fan charts), saved as PNG files.

    plot_evaluation(y, result.predictions, "eval.png", baseline=result.baseline_predictions["persistence"],
                    folds=result.folds)             # walk_forward(..., level=[80, 95]): bands under the actuals
    plot_forecast(y, f.forecast(12, level=[80, 95]), "fan.png")   # forecast with shaded 80% and 95% bands

``evaluation_figure`` and ``forecast_figure`` return the figures without writing them.

Figures are drawn with matplotlib's object API on an Agg canvas, never through pyplot: nothing
here selects a global backend or keeps figures alive in a registry, so the functions are safe in
scripts, servers and notebooks alike. Files are written atomically (a temporary file in the same
folder, then ``os.replace``), so a reader never sees a half-written PNG.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lstmcast.errors import InputError
from lstmcast.evaluation.metrics import check_levels, level_label
from lstmcast.evaluation.baselines import POINT
from lstmcast.evaluation.walk_forward import fold_levels

HISTORY_COLOR = "tab:blue"
MODEL_COLOR = "tab:orange"
BASELINE_COLOR = "tab:green"
MEMBER_COLOR = "tab:grey"


def check_target(path: str | Path) -> Path:
    """Return ``path`` as a Path after checking that a PNG can be written there, or raise InputError.

    Called before long work (training) so that a typo in the folder fails at once. The name
    must end in ``.png`` (any case): the file is always a PNG, and a PNG written under
    ``p.txt`` or ``p.pdf`` would mislead whoever opens it.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"cannot write the plot to {path}: it is a folder; "
                         f"give a file name such as {path / 'plot.png'}")
    if path.suffix.lower() != ".png":
        got = f"the suffix {path.suffix!r}" if path.suffix else "no suffix"
        raise InputError(f"cannot write the plot to {path}: plots are PNG files and the name has {got}; "
                         f"name it {path.stem}.png")
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"cannot write the plot to {path}: the folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise InputError(f"cannot write the plot to {path}: the folder {folder} is not writable")
    return path


def save_png(fig: Figure, path: str | Path, dpi: int = 100) -> Path:
    """Return ``path`` after writing ``fig`` there as a PNG, atomically (temporary file + os.replace)."""
    path = check_target(path)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        # os.open applies the umask, so the PNG gets the permissions of any newly created file
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            fig.savefig(handle, format="png", dpi=dpi)
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise InputError(f"cannot write the plot to {path}: {exc.strerror or exc}") from None
    except BaseException:
        _remove(tmp)
        raise
    return path


def plot_evaluation(
    history: pd.Series,
    predictions: pd.Series,
    path: str | Path,
    *,
    label: str = "model",
    baseline: pd.Series | None = None,
    baseline_label: str = "persistence",
    members: np.ndarray | None = None,
    folds: pd.DataFrame | None = None,
    title: str | None = None,
) -> Path:
    """Return ``path`` after saving a PNG of the series with a model's (and a baseline's) test predictions.

    See ``evaluation_figure`` for the arguments; the figure is written atomically.
    """
    figure = evaluation_figure(history, predictions, label=label, baseline=baseline, baseline_label=baseline_label,
                               members=members, folds=folds, title=title)
    return save_png(figure, path)


def evaluation_figure(
    history: pd.Series,
    predictions: pd.Series,
    *,
    label: str = "model",
    baseline: pd.Series | None = None,
    baseline_label: str = "persistence",
    members: np.ndarray | None = None,
    folds: pd.DataFrame | None = None,
    title: str | None = None,
) -> Figure:
    """Return a figure of the series with a model's (and a baseline's) walk-forward test predictions.

    ``history`` is the whole series (actual values, training and test parts); ``predictions`` and
    ``baseline`` are dated predictions over the test part. ``members`` (members, n), when given,
    is drawn as the band between the lowest and highest member prediction. ``folds`` (a
    walk-forward's ``result.folds``: origin, step, time, forecast and ``lower_L``/``upper_L`` per
    level) adds the interval bands, lighter for wider levels; with more than one step, each
    origin's forecast path and bands are drawn thinly. The actual values are drawn last, over
    the forecasts and bands.
    """
    fig = _figure()
    ax = fig.add_subplot()
    x_test = _x(predictions.index)
    if members is not None and np.ndim(members) == 2 and np.shape(members)[0] > 1:
        ax.fill_between(x_test, np.min(members, axis=0), np.max(members, axis=0), color=MODEL_COLOR,
                        alpha=0.2, linewidth=0, label=f"{label} members (min-max)")
    horizon = 1
    if folds is not None:
        horizon = _draw_folds(ax, _check_folds(folds), label)
    if baseline is not None:
        ax.plot(_x(baseline.index), baseline.to_numpy(), color=BASELINE_COLOR, linestyle="--",
                marker=".", label=baseline_label)
    ax.plot(x_test, predictions.to_numpy(), color=MODEL_COLOR, marker=".", label=label)
    # the actual values go on top, so that a miss outside the bands stays visible
    ax.plot(_x(history.index), history.to_numpy(), color=HISTORY_COLOR, label="actual", zorder=3)
    ax.axvline(x_test[0], color="grey", linewidth=0.8, linestyle=":")
    what = "one-step predictions" if horizon == 1 else f"{horizon}-step forecasts"
    _finish(ax, title or f"walk-forward {what}: {label}", history.name)
    return fig


def plot_forecast(
    history: pd.Series,
    forecast: pd.Series | pd.DataFrame,
    path: str | Path,
    *,
    members: pd.DataFrame | np.ndarray | None = None,
    bands: Mapping | None = None,
    label: str = "forecast",
    title: str | None = None,
) -> Path:
    """Return ``path`` after saving a PNG fan chart of the series followed by its dated forecast.

    See ``forecast_figure`` for the arguments; the figure is written atomically.
    """
    figure = forecast_figure(history, forecast, members=members, bands=bands, label=label, title=title)
    return save_png(figure, path)


def forecast_figure(
    history: pd.Series,
    forecast: pd.Series | pd.DataFrame,
    *,
    members: pd.DataFrame | np.ndarray | None = None,
    bands: Mapping | None = None,
    label: str = "forecast",
    title: str | None = None,
) -> Figure:
    """Return a fan chart: the series, its dated forecast and shaded prediction intervals.

    ``forecast`` is a Series, or the DataFrame of ``forecast(h, level=...)`` (a ``forecast``
    column and ``lower_L``/``upper_L`` per level L), whose bands are drawn unless ``bands`` is
    given. ``bands`` maps a level in percent to ``(lower, upper)``, each with one value per
    forecast step; wider levels are shaded lighter. ``members`` (a DataFrame with one column per
    member, or an array (horizon, members)) adds the band between the lowest and highest member.
    """
    if isinstance(forecast, pd.DataFrame):
        if POINT not in forecast.columns:
            raise InputError(f"forecast is a DataFrame without a {POINT!r} column (columns: {list(forecast.columns)}); "
                             "pass the Series of point forecasts or the DataFrame that forecast(h, level=...) returns")
        if bands is None:
            bands = {lv: (forecast[f"lower_{level_label(lv)}"], forecast[f"upper_{level_label(lv)}"])
                     for lv in fold_levels(forecast)}
        forecast = forecast[POINT]
    bands = _check_bands(bands or {}, len(forecast))
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(_x(history.index), history.to_numpy(), color=HISTORY_COLOR, label="history")
    x_future = _x(forecast.index)
    if members is not None:
        spread = np.asarray(members, dtype=np.float64)
        if spread.ndim == 2 and spread.shape[1] > 1:
            ax.fill_between(x_future, spread.min(axis=1), spread.max(axis=1), color=MEMBER_COLOR, alpha=0.25,
                            linewidth=0, label=f"members (min-max of {spread.shape[1]})")
    for (lv, (lower, upper)), alpha in zip(bands.items(), _alphas(len(bands))):
        ax.fill_between(x_future, lower, upper, color=MODEL_COLOR, alpha=alpha, linewidth=0,
                        label=f"{level_label(lv)}% interval")
    # join the forecast to the last observation so the line does not start in mid-air
    joined_x = np.concatenate([_x(history.index[-1:]), x_future])
    joined_y = np.concatenate([history.to_numpy()[-1:], forecast.to_numpy()])
    ax.plot(joined_x, joined_y, color=MODEL_COLOR, marker=".", markevery=list(range(1, len(joined_x))),
            label=label)
    _finish(ax, title or f"forecast of {len(forecast)} steps", history.name)
    return fig


def _check_bands(bands: Mapping, n: int) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Return ``{level: (lower, upper)}`` as float arrays, widest level first, or raise InputError."""
    if not isinstance(bands, Mapping):
        raise InputError(f"bands must map a level in percent to (lower, upper), e.g. {{80: (lo, hi)}}; "
                         f"got {type(bands).__name__}")
    levels = check_levels(list(bands)) if bands else ()
    out = {}
    for lv in sorted(levels, reverse=True):  # wider first, so narrower bands are drawn over them
        pair = bands[lv]
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise InputError(f"bands[{level_label(lv)}] must be a pair (lower, upper); got {type(pair).__name__}")
        lower, upper = (np.asarray(v, dtype=np.float64).reshape(-1) for v in pair)
        if lower.size != n or upper.size != n:
            raise InputError(f"bands[{level_label(lv)}] has {lower.size} lower and {upper.size} upper values for "
                             f"a forecast of {n} steps; give one value per step")
        out[lv] = (lower, upper)
    return out


def _check_folds(folds: pd.DataFrame) -> pd.DataFrame:
    """Return ``folds`` after checking it has the columns of a walk-forward's folds table, or raise InputError."""
    needed = ["origin", "step", "time", POINT]
    missing = [c for c in needed if not isinstance(folds, pd.DataFrame) or c not in folds.columns]
    if missing:
        got = list(folds.columns) if isinstance(folds, pd.DataFrame) else type(folds).__name__
        raise InputError(f"folds must be a walk-forward's result.folds with columns {needed}; missing {missing} "
                         f"(got {got})")
    return folds


def _draw_folds(ax, folds: pd.DataFrame, label: str) -> int:
    """Draw the bands of a folds table (and, past one step, each origin's path); return the largest step."""
    levels = sorted(fold_levels(folds), reverse=True)
    horizon = int(folds["step"].max())
    alphas = _alphas(len(levels))
    if horizon == 1:
        groups = [folds.sort_values("time")]
    else:
        groups = [part for _, part in folds.groupby("origin", sort=True)]
        # many origins overlap: fainter shading, so that overlaps stay readable
        alphas = [a / 2 for a in alphas]
    for i, part in enumerate(groups):
        x = _x(pd.Index(part["time"]))
        for lv, alpha in zip(levels, alphas):
            ax.fill_between(x, part[f"lower_{level_label(lv)}"], part[f"upper_{level_label(lv)}"], color=MODEL_COLOR,
                            alpha=alpha, linewidth=0, label=f"{level_label(lv)}% interval" if i == 0 else None)
        if horizon > 1:
            ax.plot(x, part[POINT].to_numpy(), color=MODEL_COLOR, linewidth=0.7, alpha=0.6,
                    label=f"{label}: each origin's {horizon} steps" if i == 0 else None)
    return horizon


def _alphas(count: int) -> list[float]:
    """Return fill opacities for ``count`` bands ordered widest first: lighter for wider levels."""
    if count <= 1:
        return [0.3] * count
    return list(np.linspace(0.15, 0.4, count))


def _figure() -> Figure:
    fig = Figure(figsize=(10, 5), layout="constrained")
    FigureCanvasAgg(fig)  # attach the Agg canvas explicitly: no pyplot, no global backend
    return fig


def _finish(ax, title: str, ylabel) -> None:
    ax.set_title(title)
    if ylabel is not None:
        ax.set_ylabel(str(ylabel))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")


def _x(index: pd.Index) -> np.ndarray:
    """Return x values matplotlib can draw: datetimes for periods and dates, else the index itself."""
    if isinstance(index, pd.PeriodIndex):
        return index.to_timestamp().to_numpy()
    if isinstance(index, pd.DatetimeIndex):
        return index.tz_localize(None).to_numpy() if index.tz is not None else index.to_numpy()
    return np.asarray(index)


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
