"""Study figures: the seeds' box-and-whisker plot and per-epoch diagnostic line plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lstmcast.errors import InputError
from lstmcast.plots.forecast import save_png


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def boxplot(scores: pd.DataFrame, path, title: str = "Test RMSE per configuration", persistence: float | None = None):
    """Write a box plot of test RMSE, one box per configuration (columns of ``scores``), to ``path``."""
    fig = _figure(max(6, 1.2 * scores.shape[1] + 2), 4.5)
    ax = fig.add_subplot()
    ax.boxplot([scores[c].dropna().to_numpy() for c in scores.columns], showmeans=True)
    ax.set_xticks(range(1, scores.shape[1] + 1), [str(c) for c in scores.columns], rotation=20, ha="right")
    if persistence is not None:
        ax.axhline(persistence, color="grey", linestyle="--", label=f"persistence {persistence:.1f}")
        ax.legend()
    ax.set_ylabel("test RMSE")
    ax.set_title(title)
    fig.tight_layout()
    return save_png(fig, path)


def diagnostics(frame: pd.DataFrame, path, title: str = "Train (blue) and test (orange) RMSE per epoch"):
    """Write the seeds' diagnostic plot: one panel per configuration, one line per repeat and split."""
    if frame.empty:
        raise InputError("no per-epoch diagnostics to plot; run the study with diagnostics (--diagnostics)")
    configs = list(dict.fromkeys(frame["config"]))
    cols = min(3, len(configs))
    rows = -(-len(configs) // cols)
    fig = _figure(5 * cols, 3.5 * rows)
    axes = np.atleast_2d(fig.subplots(rows, cols, squeeze=False))
    for ax, config in zip(axes.flat, configs):
        part = frame[frame["config"] == config]
        for (rep, split), line in part.groupby(["repeat", "split"], sort=False):
            ax.plot(line["epoch"], line["rmse"], color="tab:blue" if split == "train" else "tab:orange",
                    linewidth=0.7, alpha=0.7)
        ax.set_title(str(config))
        ax.set_xlabel("epoch")
        ax.set_ylabel("RMSE")
    for ax in list(axes.flat)[len(configs):]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    return save_png(fig, path)
