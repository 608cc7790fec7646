"""lstmcast: forecast time series with LSTM networks, correctly and fast."""

__version__ = "0.1.0"


def __getattr__(name: str):
    """Lazy top-level API, so that ``import lstmcast`` stays light (torch loads on first use)."""
    if name in ("load", "save"):
        from lstmcast import persist

        return getattr(persist, name)
    if name == "Forecaster":
        from lstmcast.forecaster import Forecaster

        return Forecaster
    if name == "walk_forward":
        from lstmcast.evaluation.walk_forward import walk_forward

        return walk_forward
    if name in ("PanelForecaster", "panel_walk_forward"):
        from lstmcast import panel

        return getattr(panel, name)
    if name == "Study":
        from lstmcast.experiments.study import Study

        return Study
    if name == "search":
        from lstmcast.experiments.search import search

        return search
    if name == "datasets":
        from lstmcast.data import datasets

        return datasets
    raise AttributeError(f"module 'lstmcast' has no attribute {name!r}")
