"""Split-conformal prediction intervals per horizon step, calibrated on the training part.

``calibrate`` fits a clone of a forecaster on the head of the training series, forecasts
``horizon`` steps from every origin of the remaining calibration tail (from the true history,
without refitting) and keeps, per step and level, the finite-sample conformal quantile of the
absolute errors. Whatever the model, a band ``point +- width`` then covers about ``level``% of
future values, as long as the future errors behave like the calibration errors
(exchangeability); no normality and no trust in the model's own uncertainty are needed.

>>> bands = calibrate(Drift(), y_train, horizon=6, levels=[80, 95])
>>> lower, upper = bands.apply(Drift().fit(y_train).forecast(6).to_numpy())[80]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone

from lstmcast.data.validate import check_int, validate_series
from lstmcast.errors import InputError
from lstmcast.evaluation.metrics import check_levels, level_label
from lstmcast.evaluation.walk_forward import check_forecast_takes, fitted_at_origins, resolve_refit, target_series

SCALES = ("absolute", "spread")
STATE_VERSION = 1
MIN_DEFAULT_ORIGINS = 10


@dataclass(frozen=True, eq=False)
class ConformalBands:
    """Conformal band widths per level and horizon step, ready to put around point forecasts.

    ``widths[level]`` has one entry per step 1..``horizon``, non-decreasing in the step: the
    half-width of the band for ``scale="absolute"``, or the multiple of the members' spread for
    ``scale="spread"``. ``n_origins`` is the number of calibration forecasts behind each step;
    ``warning`` says when there were too few for a level's finite-sample quantile (the largest
    error was used instead, so coverage may fall short of the level), else None.
    """

    horizon: int
    levels: tuple
    widths: dict
    n_origins: int
    scale: str = "absolute"
    spread_floor: float = 0.0
    warning: str | None = None

    def apply(self, point, spread=None) -> dict:
        """Return ``{level: (lower, upper)}`` arrays around the point forecast ``point`` (steps 1..len(point)).

        ``spread`` (the members' standard deviation per step) is required for ``scale="spread"``
        and ignored otherwise.
        """
        point = np.asarray(point, dtype=np.float64)
        if point.ndim != 1 or not 1 <= point.size <= self.horizon:
            raise InputError(
                f"these bands were calibrated for horizons up to {self.horizon}; got a point forecast of "
                f"shape {point.shape}. Calibrate with a horizon at least as long as the forecast"
            )
        steps = point.size
        if self.scale == "spread":
            if spread is None:
                raise InputError(
                    "these bands scale with the members' spread (scale='spread'); pass spread=, "
                    "the members' standard deviation per step"
                )
            spread = np.asarray(spread, dtype=np.float64)
            if spread.shape != point.shape:
                raise InputError(f"spread must have the point forecast's shape {point.shape}; got {spread.shape}")
            unit = np.maximum(spread, self.spread_floor)
        else:
            unit = np.ones(steps)
        return {lv: (point - w[:steps] * unit, point + w[:steps] * unit) for lv, w in self.widths.items()}

    def scaled(self, factor: float) -> ConformalBands:
        """Return these bands with every width multiplied by ``factor`` (unit-free widths put in a series' units)."""
        widths = {lv: w * float(factor) for lv, w in self.widths.items()}
        return ConformalBands(self.horizon, self.levels, widths, self.n_origins, self.scale, self.spread_floor,
                              self.warning)

    def state(self) -> dict:
        """Return the bands as a JSON-able dict (for model files); ``from_state`` reads it back."""
        return {
            "kind": "conformal",
            "version": STATE_VERSION,
            "horizon": self.horizon,
            "levels": list(self.levels),
            "widths": {level_label(lv): [float(v) for v in w] for lv, w in self.widths.items()},
            "n_origins": self.n_origins,
            "scale": self.scale,
            "spread_floor": self.spread_floor,
            "warning": self.warning,
        }

    @classmethod
    def from_state(cls, state: dict) -> ConformalBands:
        """Return the bands that ``state()`` wrote, or raise InputError when the dict is not such a state."""
        if not isinstance(state, dict) or state.get("kind") != "conformal" or state.get("version") != STATE_VERSION:
            raise InputError(
                f"not a conformal-bands state of version {STATE_VERSION} (expected a dict with kind='conformal'); "
                f"got {_describe(state)}. Recalibrate and save again"
            )
        try:
            horizon = check_int(state["horizon"], "horizon", minimum=1)
            levels = check_levels(state["levels"])
            n_origins = check_int(state["n_origins"], "n_origins", minimum=1)
            widths = {lv: np.asarray(state["widths"][level_label(lv)], dtype=np.float64) for lv in levels}
            scale, floor, warning = state["scale"], float(state["spread_floor"]), state["warning"]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"conformal-bands state is incomplete or malformed ({type(exc).__name__}: {exc}); recalibrate"
            ) from None
        for lv, w in widths.items():
            if w.shape != (horizon,) or not np.isfinite(w).all() or (w < 0).any() or (np.diff(w) < 0).any():
                raise InputError(
                    f"conformal-bands state has bad widths for level {level_label(lv)}: expected {horizon} finite, "
                    "non-negative, non-decreasing values; recalibrate"
                )
        if scale not in SCALES:
            raise InputError(f"conformal-bands state has scale {scale!r}; expected one of {SCALES}")
        return cls(horizon, levels, widths, n_origins, scale, floor, warning)


POOLINGS = ("auto", "series", "pooled")
PANEL_STATE_VERSION = 1


@dataclass(frozen=True, eq=False)
class PanelBands:
    """Conformal bands of every series of a panel, and the unit-free bands a new series scales.

    ``unit`` holds widths in units of a series' scale (``naive_scale``), quantiles of every
    series' errors divided by its scale, pooled; ``series`` maps each id to its bands in its own
    units: the quantiles of its own errors alone (``pooling="series"``, and ``"auto"`` at each
    level its origins suffice for: 4 for 80%, 19 for 95%), or ``unit`` times its scale
    (``pooling="pooled"``, and ``"auto"`` at the other levels). A series the panel was not
    calibrated on gets ``unit`` times the scale of its own history (``for_history``).
    """

    unit: ConformalBands
    series: dict
    scales: dict
    pooling: str = "pooled"

    @property
    def horizon(self) -> int:
        return self.unit.horizon

    @property
    def levels(self) -> tuple:
        return self.unit.levels

    def for_history(self, values) -> ConformalBands:
        """Return the bands of a series known only by its history ``values``: the unit bands times its scale."""
        return self.unit.scaled(naive_scale(values, self.floor))

    @property
    def floor(self) -> float:
        """Return the smallest scale a series gets (a constant history would otherwise have zero-width bands)."""
        return _scale_floor(list(self.scales.values()))


    def state(self, keys: list) -> dict:
        """Return the bands as a JSON-able dict, the series in the order of ``keys`` (ids need not be text)."""
        return {"kind": "panel-conformal", "version": PANEL_STATE_VERSION, "pooling": self.pooling,
                "unit": self.unit.state(), "series": [self.series[key].state() for key in keys],
                "scales": [float(self.scales[key]) for key in keys]}

    @classmethod
    def from_state(cls, state: dict, keys: list) -> PanelBands:
        """Return the bands that ``state(keys)`` wrote, or raise InputError when the dict is not such a state."""
        if not isinstance(state, dict) or state.get("kind") != "panel-conformal" or \
                state.get("version") != PANEL_STATE_VERSION:
            raise InputError(f"not a panel conformal-bands state of version {PANEL_STATE_VERSION}; "
                             f"got {_describe(state)}. Recalibrate and save again")
        try:
            unit = ConformalBands.from_state(state["unit"])
            series, scales, pooling = state["series"], state["scales"], state["pooling"]
            if not isinstance(series, list) or not isinstance(scales, list) or len(series) != len(keys) \
                    or len(scales) != len(keys):
                raise ValueError(f"series and scales must be lists of {len(keys)} entries, one per series")
            bands = {key: ConformalBands.from_state(one) for key, one in zip(keys, series)}
            scales = {key: float(v) for key, v in zip(keys, scales)}
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"panel conformal-bands state is incomplete or malformed ({exc}); recalibrate") from None
        if pooling not in POOLINGS:
            raise InputError(f"panel conformal-bands state has pooling {pooling!r}; expected one of {POOLINGS}")
        bad = next((k for k, v in scales.items() if not math.isfinite(v) or v <= 0), None)
        if bad is not None:
            raise InputError(f"panel conformal-bands state has scale {scales[bad]!r} for series {bad!r}; "
                             "expected a finite positive number")
        odd = next((k for k, b in bands.items() if b.horizon != unit.horizon or set(b.levels) != set(unit.levels)), None)
        if odd is not None:
            raise InputError(f"panel conformal-bands state: series {odd!r}'s bands do not match the unit bands' "
                             f"horizon {unit.horizon} and levels {list(unit.levels)}")
        return cls(unit, bands, scales, pooling)


def naive_scale(values, floor: float = 0.0) -> float:
    """Return the mean absolute one-step change of ``values`` (the in-sample naive MAE), at least ``floor``."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    scale = float(np.abs(np.diff(x)).mean()) if x.size > 1 else 0.0
    return max(scale, floor)


def _scale_floor(scales: list) -> float:
    """Return a thousandth of the median positive scale (1e-3 when none is positive)."""
    positive = [s for s in scales if s > 0]
    return 1e-3 * (float(np.median(positive)) if positive else 1.0)


def panel_bands(errors: dict, scales: dict, levels, pooling: str = "auto") -> PanelBands:
    """Return the panel's bands from each series' absolute errors (origins, steps) and scale (``naive_scale``).

    The unit bands are the conformal quantiles (``conformal_bands``) of every series' errors
    divided by its scale (floored at a thousandth of the median scale, so that a flat series does
    not blow up the pooled quantile); see ``PanelBands`` for ``pooling``.
    """
    check_pooling(pooling)
    floor = _scale_floor(list(scales.values()))
    scales = {key: max(float(s), floor) for key, s in scales.items()}
    unit = conformal_bands(np.concatenate([errors[key] / scales[key] for key in errors]), levels)
    series = {}
    for key, own in errors.items():
        pooled = unit.scaled(scales[key])
        if pooling == "pooled":
            series[key] = pooled
            continue
        alone = conformal_bands(own, levels)
        if pooling == "auto":  # level by level, so that asking for 95% too never changes the 80% band
            widths, inner = {}, None
            for lv in sorted(levels):
                widths[lv] = alone.widths[lv] if enough_origins(len(own), [lv]) else pooled.widths[lv]
                if inner is not None:  # a pooled outer band must still contain the series' own inner one
                    widths[lv] = np.maximum(widths[lv], inner)
                inner = widths[lv]
            alone = ConformalBands(alone.horizon, alone.levels, widths, alone.n_origins)
        series[key] = alone
    return PanelBands(unit, series, scales, pooling)


def check_pooling(pooling: str) -> str:
    """Return ``pooling`` when it is one of ``POOLINGS``, else raise InputError."""
    if pooling not in POOLINGS:
        raise InputError(f"pooling must be one of {POOLINGS}; got {pooling!r}")
    return pooling


def enough_origins(n: int, levels) -> bool:
    """Return whether ``n`` scores give every level its finite-sample conformal quantile (19 for 95%)."""
    return all(math.ceil((n + 1) * lv / 100.0) <= n for lv in levels)


def calibrate(
    forecaster,
    y_train: pd.Series | pd.DataFrame,
    horizon: int,
    levels,
    n_origins: int | None = None,
    refit: int | None = None,
    scale: str = "absolute",
) -> ConformalBands:
    """Return split-conformal bands for ``forecaster``'s 1..``horizon``-step forecasts, from its errors on ``y_train``.

    A clone is fitted on ``y_train[:cut]``, where ``cut = len - (horizon + n_origins - 1)``
    leaves a calibration tail in which each of ``n_origins`` consecutive origins forecasts all
    ``horizon`` steps via ``forecast(horizon, y=y_train[:origin])``. ``refit=k`` fits a fresh
    clone on ``y_train[:origin]`` every ``k`` origins instead of fitting once. The default
    ``n_origins`` is ``max(10, ceil(len / 2))``, capped so that the first fit still gets
    ``min_train_size()`` observations.

    Per step and level the width is the ``ceil((n + 1) * level / 100)``-th smallest absolute error
    of the ``n = n_origins`` forecasts (the finite-sample correction of split conformal
    prediction), then a running maximum over steps so that bands never narrow with the horizon.
    ``scale="spread"`` divides each error by the members' standard deviation at that origin and
    step (the forecaster must accept ``forecast(..., return_members=True)`` and return a
    DataFrame with one column per member); ``apply`` then multiplies by the new forecast's spread.
    A forecaster with ``forecast_origins(y, origins, horizon)`` (lstmcast's Forecaster) fitted once
    forecasts from every origin in one pass; the others are asked once per origin.
    """
    horizon = check_int(horizon, "horizon", minimum=1)
    levels = check_levels(levels)
    if scale not in SCALES:
        raise InputError(f"scale must be one of {SCALES}; got {scale!r}")
    every = resolve_refit(refit)
    check_forecast_takes(forecaster, "the forecaster", ("y", "return_members") if scale == "spread" else ("y",))
    series = validate_series(y_train, "y_train")
    target = target_series(forecaster, series).to_numpy()
    n = len(series)
    needs = forecaster.min_train_size() if hasattr(forecaster, "min_train_size") else 1
    n_origins = n_calibration_origins(n, horizon, needs, n_origins, "y_train", repr(forecaster))
    cut = n - (horizon + n_origins - 1)

    origins = range(cut, cut + n_origins)
    truth = target[np.add.outer(np.arange(cut, cut + n_origins), np.arange(horizon))]  # (origins, steps)
    if every is None and hasattr(forecaster, "forecast_origins"):  # fitted once: every origin in one pass
        model = clone(forecaster, safe=False).fit(series.iloc[:cut])
        points, spreads = _forecast_origins(model, series, origins, horizon, scale)
    else:
        points, spreads = np.empty((n_origins, horizon)), np.empty((n_origins, horizon))
        for i, (origin, model) in enumerate(fitted_at_origins(clone(forecaster, safe=False), series, origins, every)):
            points[i], spreads[i] = _forecast(model, series.iloc[:origin], horizon, scale)
    errors = np.abs(truth - points)
    scores, floor = errors, 0.0
    if scale == "spread":
        positive = spreads[spreads > 0]
        if positive.size == 0:
            raise InputError(
                f"{forecaster!r}'s members agree exactly at every calibration origin, so their spread "
                "cannot scale the bands; use scale='absolute'"
            )
        # a zero spread at one origin would make its score infinite: floor it at a small share of the typical spread
        floor = 1e-3 * float(np.median(positive))
        scores = errors / np.maximum(spreads, floor)
    return conformal_bands(scores, levels, scale, floor)


def n_calibration_origins(n: int, horizon: int, needs: int, n_origins: int | None = None, what: str = "y_train",
                          model: str = "the forecaster") -> int:
    """Return how many calibration origins a series of ``n`` observations gives ``horizon``-step bands.

    The calibration tail holds ``horizon + n_origins - 1`` observations and the fit before it at
    least ``needs``. The default is ``max(10, ceil(n / 2))``, capped so that the fit keeps ``needs``;
    InputError (naming ``what`` and ``model``) when not even one origin fits, or when ``n_origins``
    asks for too many.
    """
    most = n - needs - horizon + 1  # origins that leave the first fit `needs` observations
    if most < 1:
        raise InputError(
            f"{what} has {n} observations; calibrating {horizon}-step bands needs at least "
            f"{needs + horizon} ({needs} to fit {model} plus a calibration tail of {horizon}); "
            "pass a longer training series or a shorter horizon"
        )
    if n_origins is None:
        # half the training data: fewer origins (a fifth) measured 70.5/86.5% coverage at h=12 on the
        # public series (benchmarks/accuracy/intervals.py), half 79.5/93.2%
        n_origins = min(max(MIN_DEFAULT_ORIGINS, math.ceil(n / 2)), most)
    n_origins = check_int(n_origins, "n_origins", minimum=1)
    if n_origins > most:
        raise InputError(
            f"n_origins={n_origins} with horizon={horizon} needs a calibration tail of {n_origins + horizon - 1} "
            f"observations, leaving {n - n_origins - horizon + 1} of {what}'s {n} to fit on, but "
            f"{model} needs {needs}; use n_origins <= {most}"
        )
    return n_origins


def conformal_bands(scores: np.ndarray, levels, scale: str = "absolute", spread_floor: float = 0.0) -> ConformalBands:
    """Return the bands whose widths are the finite-sample conformal quantiles of ``scores`` (origins, steps).

    Per step and level the width is the ``ceil((n + 1) * level / 100)``-th smallest of the ``n``
    scores, then a running maximum over steps so that bands never narrow with the horizon; with
    too few scores for a level the largest is used and ``warning`` says so.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n_origins, horizon = scores.shape
    widths, short = {}, []
    ordered = np.sort(scores, axis=0)
    for lv in levels:
        k = math.ceil((n_origins + 1) * lv / 100.0)
        if k > n_origins:
            short.append(f"{level_label(lv)}% needs {math.ceil(lv / (100 - lv))}")
            k = n_origins
        widths[lv] = np.maximum.accumulate(ordered[k - 1])
    warning = None
    if short:
        warning = (
            f"only {n_origins} calibration origins: too few for the finite-sample quantile of "
            f"{', '.join(short)} origins); the largest error is used, so coverage may fall short"
        )
    return ConformalBands(horizon, tuple(levels), widths, n_origins, scale, spread_floor, warning)


def _forecast(model, history, horizon: int, scale: str) -> tuple[np.ndarray, np.ndarray | float]:
    """Return the point forecast after ``history`` and, for ``scale="spread"``, the members' spread (else NaN)."""
    if scale == "absolute":
        out = model.forecast(horizon, y=history)
        point = np.asarray(out, dtype=np.float64).reshape(-1)
        spread = np.nan
    else:
        members = np.asarray(model.forecast(horizon, y=history, return_members=True), dtype=np.float64)
        if members.ndim != 2 or members.shape[0] != horizon or members.shape[1] < 2:
            raise InputError(
                f"scale='spread' needs {model!r}.forecast(return_members=True) to give {horizon} rows and at "
                f"least 2 member columns; got shape {members.shape}. Use scale='absolute' for a single model"
            )
        point, spread = members.mean(axis=1), members.std(axis=1)
    if point.shape != (horizon,):
        raise InputError(f"{model!r}.forecast({horizon}, y=...) returned {point.size} values; expected {horizon}")
    return point, spread


def _forecast_origins(model, series, origins: range, horizon: int, scale: str) -> tuple[np.ndarray, np.ndarray | float]:
    """Return ``_forecast``'s (point, spread) from every origin at once, (origins, steps) each, by ``model.forecast_origins``."""
    if scale == "absolute":
        point, spread = np.asarray(model.forecast_origins(series, origins, horizon), dtype=np.float64), np.nan
    else:
        members = np.asarray(model.forecast_origins(series, origins, horizon, return_members=True), dtype=np.float64)
        if members.ndim != 3 or members.shape[0] < 2:
            raise InputError(
                f"scale='spread' needs {model!r} to give at least 2 members' forecasts; got shape {members.shape}. "
                "Use scale='absolute' for a single model"
            )
        point, spread = members.mean(axis=0), members.std(axis=0)
    if point.shape != (len(origins), horizon):
        raise InputError(f"{model!r}.forecast_origins(y, {len(origins)} origins, {horizon}) returned shape "
                         f"{point.shape}; expected ({len(origins)}, {horizon})")
    return point, spread


def _describe(value) -> str:
    if isinstance(value, dict):
        return f"a dict with kind={value.get('kind')!r}, version={value.get('version')!r}"
    return type(value).__name__
