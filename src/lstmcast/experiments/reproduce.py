"""The seeds' own studies, configured exactly as the tutorials configure them.

Shampoo (seed 002): a stateful LSTM, 1 neuron, batch 4, lag-1 difference, one lagged input,
scaled to (-1, 1) with the scaler fit on the training part, the last 12 months as test, the 2
oldest training windows trimmed so that a batch of 4 divides the 20 left; 30 repeats.
Airline (seed 004): the tutorial's five variants, 4 units, 100 epochs, batch 1, scaled to (0, 1);
the first 67% of the series trains, the rest is the one-step test. Unlike the tutorial the scaler
is fit on the training part only.

The reproductions keep the seeds' protocol: configurations are compared on the test part itself
(``validation_tail=0``), and the CLI says so beside the tables.
"""

from __future__ import annotations

import math

from lstmcast.errors import InputError
from lstmcast.experiments.study import Study

SHAMPOO_BASE = {
    "model": "vanilla", "look_back": 1, "units": 1, "batch_size": 4, "stateful": True, "difference": 1,
    "scale": "minmax-sym", "trim": 2, "activation": "tanh", "learning_rate": 0.001,
}
SHAMPOO_GRIDS = {
    "shampoo-epochs": ("epochs", [500, 1000, 2000, 4000, 6000], {}),
    "shampoo-batch-size": ("batch_size", [1, 2, 4], {"epochs": 1000}),
    "shampoo-neurons": ("units", [1, 2, 3, 4, 5], {"epochs": 1000}),
}
# The seed's published describe() means (test RMSE, 30 repeats each) and persistence.
PUBLISHED = {
    "shampoo-epochs": {500: 109.439, 1000: 104.566, 2000: 107.882, 4000: 116.340, 6000: 127.618},
    "shampoo-batch-size": {1: 98.697, 2: 102.643, 4: 100.320},
    "shampoo-neurons": {1: 98.345, 2: 103.268, 3: 102.727, 4: 112.454, 5: 122.843},
    "airline": {"regression": 47.53, "window": 58.03, "time-steps": 58.88, "memory": 52.23, "stacked-memory": 56.35},
}
PUBLISHED_STD = {
    "shampoo-epochs": {500: 14.874, 1000: 19.097, 2000: 22.083, 4000: 21.590, 6000: 24.867},
    "shampoo-batch-size": {1: 12.228, 2: 9.144, 4: 15.958},
    "shampoo-neurons": {1: 13.539, 2: 14.721, 3: 12.906, 4: 16.297, 5: 25.586},
}
PERSISTENCE = {"shampoo": 136.761}

AIRLINE_BASE = {"model": "vanilla", "units": 4, "epochs": 100, "batch_size": 1, "scale": "minmax", "difference": 0}
AIRLINE_VARIANTS = {
    "regression": {"look_back": 1},
    "window": {"look_back": 3, "framing": "features"},
    "time-steps": {"look_back": 3},
    "memory": {"look_back": 3, "stateful": True},
    "stacked-memory": {"look_back": 3, "stateful": True, "model": "stacked", "layers": 2},
}
NAMES = ("shampoo-epochs", "shampoo-batch-size", "shampoo-neurons", "shampoo-all", "airline")


def experiments(name: str) -> list[str]:
    """Return the seed experiments that ``name`` covers (shampoo-all covers the three shampoo ones)."""
    if name not in NAMES:
        raise InputError(f"unknown study {name!r}; reproducible studies: {', '.join(NAMES)}")
    return [n for n in SHAMPOO_GRIDS] if name == "shampoo-all" else [name]


def study(name: str, repeats: int = 30, diagnostics: bool = False, study_name: str | None = None) -> Study:
    """Return the Study reproducing seed study ``name``; every configuration carries its experiment label."""
    configs = []
    for exp in experiments(name):
        if exp == "airline":
            for variant, params in AIRLINE_VARIANTS.items():
                configs.append({**AIRLINE_BASE, **params, "experiment": "airline", "variant": variant})
            continue
        param, values, fixed = SHAMPOO_GRIDS[exp]
        for v in values:
            configs.append({**SHAMPOO_BASE, **fixed, param: v, "experiment": exp})
    data = "airline" if name == "airline" else "shampoo"
    test_size = 48 if name == "airline" else 12
    # the seeds' protocol: fit on the whole training part, compare on the test part (no validation tail)
    return Study(data, configs=configs, repeats=repeats, test_size=test_size, name=study_name or name,
                 diagnostics=diagnostics, validation_tail=0)


def published_key(params: dict):
    """Return the key of a configuration in PUBLISHED[experiment]."""
    exp = params["experiment"]
    if exp == "airline":
        return params["variant"]
    return params[SHAMPOO_GRIDS[exp][0]]


def tables(result) -> dict[str, list[dict]]:
    """Return per experiment: the varied parameter, its value, our describe() and the published figures."""
    table = result.summary()
    out: dict[str, list[dict]] = {}
    for (key, params), (_, stats) in zip(result.configs, table.iterrows()):
        exp = params["experiment"]
        value = published_key(params)
        param = "variant" if exp == "airline" else SHAMPOO_GRIDS[exp][0]
        out.setdefault(exp, []).append({
            "param": param, "value": value, "rmse": {k: _finite(v) for k, v in stats.items()},
            "published_mean": PUBLISHED.get(exp, {}).get(value),
            "published_std": PUBLISHED_STD.get(exp, {}).get(value),
        })
    return out


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
