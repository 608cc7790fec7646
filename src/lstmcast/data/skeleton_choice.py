"""Choose the statistical skeleton of one series on a validation tail of its training part.

Steps 2-6 of the recipe in the shared research note (accuracy.md): a power transform, a
stationarity gate, then the seasonal treatment x level anchor whose own one-step forecast has the
lowest RMSE on the tail, refitted on the whole training part. Cheap: no network is trained.

>>> chain, report = choose_skeleton(datasets.load("airline").to_numpy()[:-48], season_length=12)
>>> report["chosen"]
'log + sdiff(12) + ses(0.60)'
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from statsmodels.tools.sm_exceptions import MissingDataError
from statsmodels.tsa.seasonal import STL
from statsmodels.tsa.stattools import adfuller, kpss

from lstmcast.data.skeleton import (
    BoxCox,
    Chain,
    ExpSmoothing,
    LevelAnchor,
    Log,
    Mean,
    SeasonalDifference,
    SeasonalIndices,
    guerrero_lambda,
    skeleton_rmse,
)
from lstmcast.data.validate import check_int
from lstmcast.errors import InputError

MIN_LENGTH = 6  # a 4-point tail and SES fitted on the 2 points before it
LOG_BELOW = 0.5  # log when Guerrero's lambda is below this (recipe step 2)
GATE_MIN_LENGTH = 30  # unit-root tests on fewer points are not worth their p-values
SEASONAL_STRENGTH = 0.64  # a stationary series is deseasonalised only above this strength
_POWERS = ("auto", "log", "boxcox", "none")
_ANCHOR_MIN = {"ses": 3, "holt": 4, "damped": 5}  # fit points each anchor needs (>= two one-step errors)
# (seasonal treatment, level anchor) pairs scored on the tail. "damped" is ExpSmoothing's damped
# trend; "hw" (Holt-Winters) is ExpSmoothing with an evolving season, its anchor the trend kind.
CANDIDATES = (
    ("none", "ses"), ("none", "holt"), ("none", "damped"),
    ("stl", "ses"), ("stl", "holt"), ("stl", "damped"),
    ("sdiff", "ses"), ("sdiff", "holt"), ("sdiff", "damped"),
    ("hw", "none"), ("hw", "damped"),
)


def validation_tail(n: int) -> int:
    """Return the validation tail length for a training part of ``n``: clip(round(0.2 n), 4, 48)."""
    return int(min(max(round(0.2 * n), 4), 48))


def choose_skeleton(
    x_train, season_length: int, tail: int | None = None, *, power: str = "auto"
) -> tuple[Chain, dict]:
    """Return (the chosen skeleton fitted on all of ``x_train``, a JSON-able report of the choice).

    1. Power: when every value is > 0 and Guerrero's lambda (on ``x_train``, subseries of
       ``season_length``) is below 0.5, ``power="log"`` takes logs, ``power="boxcox"`` applies
       Box-Cox with that lambda, ``power="none"`` leaves the values as they are and
       ``power="auto"`` (default) runs steps 3-4 with each of the three and keeps the one whose
       best skeleton has the lower tail RMSE (log on ties, then Box-Cox). Skeleton-only test RMSE
       on eight public series (shampoo, airline, co2, nile, realgdp, cpi, unemp, elnino),
       geometric mean of RMSE / persistence: log 0.5995, Box-Cox 0.5984, log or Box-Cox 0.5950
       (the tail picked the better power on 4 of the 5 series where they differ; shampoo 110.0 /
       108.7 / 108.7, airline 14.42 / 14.84 / 14.42). Scoring "none" as well took auto's test
       RMSE over the best statistical model from 1.054 to 1.052 on the 12 public series and
       from 1.009 to 0.995 on 7 held-out ones (geometric means; lambda is a noisy estimate on
       short series, and the tail corrects it).
    2. Validation tail v = ``tail`` or clip(round(0.2 n), 4, 48); fit part F = the rest.
    3. Stationarity gate on F (power-transformed, minus its robust STL seasonal component when
       m > 1 and F has 2m + 1 points): when F has >= 30 points, KPSS (level) p >= 0.05 and ADF
       p < 0.05, the skeleton is a fixed mean, after STL indices when the seasonal strength
       exceeds 0.64; no level anchor.
    4. Otherwise every candidate of ``CANDIDATES`` that F is long enough for ({none, STL indices,
       seasonal difference} x {SES, Holt, damped trend}, and Holt-Winters with an evolving season
       and no or a damped trend; seasonal ones need m > 1 and 2m + 1 points) is fitted on F and
       scored by its own one-step forecast (zero on the transformed scale, inverted with the true
       past) on the tail, in the original units; the lowest RMSE wins, ties to the simpler
       (listed first). The damped and Holt-Winters candidates (``ExpSmoothing``) took the
       skeleton-only test RMSE over the best statistical model from 1.161 to 1.126 on the 12
       public series (geometric mean), and auto's from 1.068 to 1.054.
    5. The winner is refitted on all of ``x_train``.

    Report keys: season_length, log, boxcox_lambda (Guerrero's, None when not positive), power,
    tail, stationary_gate (p-values, seasonal strength, decision), candidates (skeleton,
    tail_rmse), chosen.
    """
    x = _check_series(x_train)
    m = check_int(season_length, "season_length", 1)
    if power not in _POWERS:
        raise InputError(f"unknown power {power!r}; choose one of: {', '.join(_POWERS)}")
    n = len(x)
    v = validation_tail(n) if tail is None else check_int(tail, "tail", 1)
    if n - v < _ANCHOR_MIN["ses"]:
        raise InputError(
            f"a validation tail of {v} leaves {n - v} of {n} observations to fit on; "
            f"at least {_ANCHOR_MIN['ses']} are needed; pass a shorter tail"
        )
    lmbda = _guerrero(x, m)
    power_steps = [_power_step(lmbda, p) for p in (("log", "boxcox", "none") if power == "auto" else (power,))]
    if power_steps[0] is None:
        power_steps = [None]  # no power transform: the options coincide
    trials = [_score_candidates(x, v, m, step) for step in power_steps]
    best = min(trials, key=lambda trial: min(trial["scores"]))  # ties go to the first: log
    chain = best["makers"][int(np.argmin(best["scores"]))]().fit(x)  # ties go to the simpler
    power_step, gate = best["power"], best["gate"]
    candidates = [
        {"skeleton": label, "tail_rmse": score if math.isfinite(score) else None}
        for trial in trials
        for label, score in zip(trial["labels"], trial["scores"])
    ]
    report = {
        "season_length": m,
        "log": isinstance(power_step, Log),
        "boxcox_lambda": lmbda,
        "power": power_step.describe() if power_step is not None else "none",
        "tail": v,
        "stationary_gate": gate,
        "candidates": candidates,
        "chosen": chain.describe(),
    }
    return chain, report


def _score_candidates(x: np.ndarray, v: int, m: int, power_step: Log | BoxCox | None) -> dict:
    """Return the stationarity gate on the fit part and every candidate skeleton under
    ``power_step``: dict(power, gate, makers, labels, scores), scores being the tail RMSEs."""
    n = len(x)
    fit_part = x[: n - v]
    powered = fit_part if power_step is None else power_step.fit(fit_part).transform(fit_part)
    gate = _stationarity_gate(powered, m)
    if gate["decision"] == "stationary":
        strong = (gate["seasonal_strength"] or 0.0) > SEASONAL_STRENGTH
        makers = [_maker(power_step, "stl" if strong else "none", "mean", m)]
    else:
        seasonal_options = _seasonal_options(len(fit_part), m)
        makers = [
            _maker(power_step, seasonal, anchor, m)
            for seasonal, anchor in CANDIDATES
            if seasonal in seasonal_options and _fits(seasonal, anchor, len(fit_part), m)
        ]
    labels, scores = [], []
    for make in makers:
        chain = make().fit(fit_part)
        labels.append(chain.describe())
        scores.append(skeleton_rmse(chain, x, n - v))  # inf when a forecast is undefined
    return {"power": power_step, "gate": gate, "makers": makers, "labels": labels, "scores": scores}


def _check_series(x_train) -> np.ndarray:
    x = np.asarray(x_train, dtype=np.float64)
    if x.ndim != 1:
        raise InputError(f"choose_skeleton needs a 1-D array of one series; got shape {x.shape}")
    if not np.isfinite(x).all():
        i = int(np.argmin(np.isfinite(x)))
        raise InputError(
            f"the training series has a NaN or infinite value at position {i}; fill or drop it first"
        )
    if len(x) < MIN_LENGTH:
        raise InputError(
            f"choosing a skeleton needs at least {MIN_LENGTH} observations (a 4-point validation tail "
            f"and 2 to fit on); the training series has {len(x)}"
        )
    return x


def _guerrero(x: np.ndarray, m: int) -> float | None:
    """Return Guerrero's lambda, with subseries of m when there are two seasons (else of 2); None
    when a value is not positive."""
    if (x <= 0).any():
        return None
    return guerrero_lambda(x, m if len(x) >= 2 * m else 1)


def _power_step(lmbda: float | None, power: str) -> Log | BoxCox | None:
    if lmbda is None or lmbda >= LOG_BELOW or power == "none":
        return None
    return Log() if power == "log" else BoxCox(lmbda=lmbda)


def _seasonal_options(fit_length: int, m: int) -> tuple[str, ...]:
    if m > 1 and fit_length >= 2 * m + 1:
        return ("none", "stl", "sdiff", "hw")
    return ("none",)


def _fits(seasonal: str, anchor: str, fit_length: int, m: int) -> bool:
    """Return whether ``fit_length`` points leave the anchor enough to fit on after the seasonal step."""
    if seasonal == "hw":
        return fit_length >= max(2 * m + 1, _ANCHOR_MIN["damped"])
    left = fit_length - m if seasonal == "sdiff" else fit_length
    return left >= _ANCHOR_MIN[anchor]


def _maker(power_step, seasonal: str, anchor: str, m: int) -> Callable[[], Chain]:
    """Return a function that builds a fresh, unfitted chain of this combination."""

    def make() -> Chain:
        steps = [] if power_step is None else [type(power_step)(**power_step.get_params())]
        if seasonal == "hw":
            return Chain(steps + [ExpSmoothing(anchor, m)])
        if seasonal == "stl":
            steps.append(SeasonalIndices(m))
        elif seasonal == "sdiff":
            steps.append(SeasonalDifference(m))
        if anchor == "damped":
            steps.append(ExpSmoothing("damped"))
        else:
            steps.append(Mean() if anchor == "mean" else LevelAnchor(anchor))
        return Chain(steps)

    return make


def _stationarity_gate(z: np.ndarray, m: int) -> dict:
    """Return the gate's findings on the (power-transformed) fit part ``z``.

    Keys: points, deseasonalised, seasonal_strength (Wang-Smith-Hyndman, None without STL),
    kpss_p, adf_p (None when not run) and decision ("stationary", "non-stationary" or
    "skipped: ..."). statsmodels' warnings (KPSS p-values outside its table) are silenced: the
    p-value is then a bound, which is all the gate compares.
    """
    out = {"points": len(z), "deseasonalised": False, "seasonal_strength": None}
    out |= {"kpss_p": None, "adf_p": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if m > 1 and len(z) >= 2 * m + 1:
            parts = STL(z, period=m, robust=True).fit()
            z = z - parts.seasonal
            detrended = parts.seasonal + parts.resid
            strength = 1.0 - np.var(parts.resid) / np.var(detrended) if np.var(detrended) > 0 else 0.0
            out.update(deseasonalised=True, seasonal_strength=float(max(0.0, strength)))
        if len(z) < GATE_MIN_LENGTH:
            out["decision"] = f"skipped: the fit part has {len(z)} points, fewer than {GATE_MIN_LENGTH}"
            return out
        if np.ptp(z) == 0:
            out["decision"] = "skipped: the fit part is constant"
            return out
        try:
            out["kpss_p"] = float(kpss(z, regression="c", nlags="auto")[1])
            out["adf_p"] = float(adfuller(z, autolag="AIC")[1])
        except (ValueError, np.linalg.LinAlgError, MissingDataError) as exc:
            out["decision"] = f"skipped: the unit-root tests failed ({exc})"
            return out
    stationary = out["kpss_p"] >= 0.05 and out["adf_p"] < 0.05
    out["decision"] = "stationary" if stationary else "non-stationary"
    return out
