"""Study figures: the seeds' box-and-whisker plot and per-epoch diagnostic line plot."""

from __future__ import annotations

import textwrap

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


def boxplot(scores, path, title: str = "Test RMSE per configuration", persistence: float | None = None):
    """Write a box plot of test RMSE to ``path``: one box per column of ``scores``.

    ``scores`` is a (repeat x configuration) DataFrame, or a dict of them (title -> frame) for one
    panel each, as the seed draws one box plot per experiment.
    """
    panels = scores if isinstance(scores, dict) else {title: scores}
    widest = max(frame.shape[1] for frame in panels.values())
    fig = _figure(max(6, 1.2 * widest + 2) * (1 if len(panels) == 1 else len(panels) / 1.6), 4.5)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, frame) in zip(axes, panels.items()):
        ax.boxplot([frame[c].dropna().to_numpy() for c in frame.columns], showmeans=True)
        ax.set_xticks(range(1, frame.shape[1] + 1), [str(c) for c in frame.columns],
                      rotation=20 if max(len(str(c)) for c in frame.columns) > 8 else 0, ha="right")
        if persistence is not None:
            ax.axhline(persistence, color="grey", linestyle="--", label=f"persistence {persistence:.1f}")
            ax.legend()
        ax.set_ylabel("test RMSE")
        ax.set_title(name)
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
        ax.set_title(textwrap.fill(str(config), 45), fontsize=8)
        ax.set_xlabel("epoch")
        ax.set_ylabel("RMSE")
    for ax in list(axes.flat)[len(configs):]:
        ax.set_visible(False)
    from matplotlib.lines import Line2D

    fig.legend([Line2D([], [], color="tab:blue"), Line2D([], [], color="tab:orange")], ["train", "test"],
               loc="upper right")
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.93, 0.97))
    return save_png(fig, path)


def reproduction_boxplot(scores: pd.DataFrame, tables: dict, path, persistence: float | None = None):
    """Write one box-plot panel per seed experiment, boxes labelled by the varied value, as the seed draws them.

    ``scores`` is the study's (repeat x configuration) frame in configuration order; ``tables``
    is ``experiments.reproduce.tables(result)``, whose rows follow the same order.
    """
    panels, start = {}, 0
    for exp, rows in tables.items():
        frame = scores.iloc[:, start : start + len(rows)]
        panels[f"{exp} ({rows[0]['param']})"] = frame.set_axis([str(r["value"]) for r in rows], axis=1)
        start += len(rows)
    return boxplot(panels, path, persistence=persistence)
