"""Figures of one series: walk-forward test predictions and future forecasts, saved as PNG files.

    plot_evaluation(y, result.predictions, "eval.png", baseline=result.baseline_predictions["persistence"])
    plot_forecast(y, f.forecast(12), "forecast.png", members=f.forecast(12, return_members=True))

Figures are drawn with matplotlib's object API on an Agg canvas, never through pyplot: nothing
here selects a global backend or keeps figures alive in a registry, so the functions are safe in
scripts, servers and notebooks alike. Files are written atomically (a temporary file in the same
folder, then ``os.replace``), so a reader never sees a half-written PNG.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lstmcast.errors import InputError

HISTORY_COLOR = "tab:blue"
MODEL_COLOR = "tab:orange"
BASELINE_COLOR = "tab:green"


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
    title: str | None = None,
) -> Path:
    """Return ``path`` after saving a PNG of the series with a model's (and a baseline's) test predictions.

    ``history`` is the whole series (actual values, training and test parts); ``predictions`` and
    ``baseline`` are dated one-step predictions over the test part. ``members`` (members, n), when
    given, is drawn as the band between the lowest and highest member prediction.
    """
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(_x(history.index), history.to_numpy(), color=HISTORY_COLOR, label="actual")
    x_test = _x(predictions.index)
    if members is not None and np.ndim(members) == 2 and np.shape(members)[0] > 1:
        ax.fill_between(x_test, np.min(members, axis=0), np.max(members, axis=0), color=MODEL_COLOR,
                        alpha=0.2, linewidth=0, label=f"{label} members (min-max)")
    if baseline is not None:
        ax.plot(_x(baseline.index), baseline.to_numpy(), color=BASELINE_COLOR, linestyle="--",
                marker=".", label=baseline_label)
    ax.plot(x_test, predictions.to_numpy(), color=MODEL_COLOR, marker=".", label=label)
    ax.axvline(x_test[0], color="grey", linewidth=0.8, linestyle=":")
    _finish(ax, title or f"walk-forward one-step predictions: {label}", history.name)
    return save_png(fig, path)


def plot_forecast(
    history: pd.Series,
    forecast: pd.Series,
    path: str | Path,
    *,
    members: pd.DataFrame | np.ndarray | None = None,
    label: str = "forecast",
    title: str | None = None,
) -> Path:
    """Return ``path`` after saving a PNG of the series followed by its dated forecast.

    ``members`` (a DataFrame with one column per member, or an array (horizon, members)) adds the
    band between the lowest and highest member forecast.
    """
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(_x(history.index), history.to_numpy(), color=HISTORY_COLOR, label="history")
    x_future = _x(forecast.index)
    if members is not None:
        spread = np.asarray(members, dtype=np.float64)
        if spread.ndim == 2 and spread.shape[1] > 1:
            ax.fill_between(x_future, spread.min(axis=1), spread.max(axis=1), color=MODEL_COLOR, alpha=0.2,
                            linewidth=0, label=f"members (min-max of {spread.shape[1]})")
    # join the forecast to the last observation so the line does not start in mid-air
    joined_x = np.concatenate([_x(history.index[-1:]), x_future])
    joined_y = np.concatenate([history.to_numpy()[-1:], forecast.to_numpy()])
    ax.plot(joined_x, joined_y, color=MODEL_COLOR, marker=".", markevery=list(range(1, len(joined_x))),
            label=label)
    _finish(ax, title or f"forecast of {len(forecast)} steps", history.name)
    return save_png(fig, path)


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
