"""Plots: matplotlib figures drawn on an Agg canvas and written atomically as PNG files."""

from lstmcast.plots.forecast import (
    check_target,
    evaluation_figure,
    forecast_figure,
    plot_evaluation,
    plot_forecast,
    save_png,
)

__all__ = ["check_target", "evaluation_figure", "forecast_figure", "plot_evaluation", "plot_forecast", "save_png"]
