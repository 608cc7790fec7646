"""Causal, invertible transforms of one series: the statistical "skeleton" under the LSTM.

Each transform is fitted on the training part, then applied to any array that starts at the same
position as that training part (train + test, or a history with forecasts appended):

- ``transform(x)`` gives ``z`` of the same length, ``z[t]`` computed from ``x[:t + 1]`` only, NaN in
  the first ``warmup()`` positions;
- ``inverse(z, x)`` undoes ``z[t]`` with the true past ``x[:t]`` (``x[t]`` is never read), so
  ``inverse(z_hat, x)`` turns one-step forecasts on the transformed scale into forecasts in the
  units of ``x``, all at once. To invert a forecast of the position after the end of ``x``, append
  any placeholder (NaN will do) to ``x``;
- ``cursor(x, ends)`` continues many histories ``x[:end]`` one position at a time, keeping the
  state its next inverse needs, so that ``inverse_recursive`` undoes multi-step forecasts from
  many origins without transforming the whole history again at every step.

Leading NaN rows of an input are taken as the warm-up of an earlier step (see ``Chain``):
positions still count from the start of the array, so seasonal indices stay aligned.

The transforms here are the fixed ones (Identity, Log, BoxCox, SeasonalIndices,
SeasonalDifference, Mean) and their composition (Chain); the exponential-smoothing ones
(LevelAnchor, ExpSmoothing) are in ``data.smoothing``, the cursors and ``inverse_recursive`` in
``data.cursors``, the shared input checks in ``data.skeleton_checks``. All are importable from here.

>>> chain = Chain([Log(), SeasonalDifference(12), LevelAnchor("ses")]).fit(y_train)
>>> z = chain.transform(y)                                 # NaN for the first 13 positions
>>> forecasts = chain.inverse(np.zeros(len(y)), y)         # the skeleton's own one-step forecasts
"""

from __future__ import annotations

import math
from typing import Protocol, Self

import numpy as np
from scipy import optimize, special
from sklearn.base import BaseEstimator
from statsmodels.tsa.seasonal import STL

from lstmcast.data.cursors import Cursor, _Chained, _Lagged, _Pointwise, _Seasonal, inverse_recursive
from lstmcast.data.skeleton_checks import (
    _as_array,
    _check_fitted,
    _check_kind,
    _check_number,
    _check_positive,
    _check_same_length,
    _fit_part,
    _state_number,
)
from lstmcast.data.smoothing import ExpSmoothing, LevelAnchor, _ets_one_step
from lstmcast.data.validate import check_int
from lstmcast.errors import InputError, ModelFileError

__all__ = [
    "BoxCox",
    "CausalTransform",
    "Chain",
    "Cursor",
    "ExpSmoothing",
    "Identity",
    "LevelAnchor",
    "Log",
    "Mean",
    "SeasonalDifference",
    "SeasonalIndices",
    "_ets_one_step",  # tests compare the filter with the loop through this name
    "guerrero_lambda",
    "inverse_recursive",
    "skeleton_forecasts",
    "skeleton_rmse",
    "transform_from_state",
]


class CausalTransform(Protocol):
    """What every skeleton transform provides (see the module docstring for the contract)."""

    def fit(self, x: np.ndarray) -> Self: ...
    def transform(self, x: np.ndarray) -> np.ndarray: ...
    def inverse(self, z: np.ndarray, x: np.ndarray) -> np.ndarray: ...
    def warmup(self) -> int: ...
    def cursor(self, x: np.ndarray, ends: np.ndarray) -> Cursor: ...
    def state(self) -> dict: ...
    @classmethod
    def from_state(cls, state: dict) -> Self: ...
    def describe(self) -> str: ...


# --- transforms ---------------------------------------------------------------------------------


class Identity(BaseEstimator):
    """No treatment: z = x."""

    def fit(self, x) -> Identity:
        """Return self (nothing to learn)."""
        _fit_part(x, "x", 1)
        return self

    def transform(self, x) -> np.ndarray:
        """Return a copy of ``x``."""
        return _as_array(x).copy()

    def inverse(self, z, x) -> np.ndarray:
        """Return a copy of ``z``."""
        z, x = _as_array(z, "z"), _as_array(x)
        _check_same_length(z, x)
        return z.copy()

    def cursor(self, x, ends) -> _Pointwise:
        """Return the cursor continuing the histories ``x[:ends[r]]`` (see ``inverse_recursive``): z = x."""
        return _Pointwise(np.copy, np.copy)

    def warmup(self) -> int:
        """Return 0: every position is defined."""
        return 0

    def state(self) -> dict:
        """Return {"kind": "identity"}."""
        return {"kind": "identity"}

    @classmethod
    def from_state(cls, state: dict) -> Identity:
        """Return an Identity rebuilt from ``state()``."""
        _check_kind(state, "identity")
        return cls()

    def describe(self) -> str:
        """Return "identity"."""
        return "identity"


class Log(BaseEstimator):
    """Natural logarithm; InputError for values <= 0."""

    def fit(self, x) -> Log:
        """Return self after checking that the training values are positive."""
        x, start = _fit_part(x, "x", 1)
        _check_positive(x[start:], "the log transform")
        return self

    def transform(self, x) -> np.ndarray:
        """Return log(x)."""
        x = _as_array(x)
        _check_positive(x, "the log transform")
        return np.log(x)

    def inverse(self, z, x) -> np.ndarray:
        """Return exp(z) (the past is not needed)."""
        z, x = _as_array(z, "z"), _as_array(x)
        _check_same_length(z, x)
        return np.exp(z)

    def cursor(self, x, ends) -> _Pointwise:
        """Return the cursor continuing the histories ``x[:ends[r]]`` (see ``inverse_recursive``): exp and log."""
        return _Pointwise(np.exp, self.transform)

    def warmup(self) -> int:
        """Return 0: every position is defined."""
        return 0

    def state(self) -> dict:
        """Return {"kind": "log"}."""
        return {"kind": "log"}

    @classmethod
    def from_state(cls, state: dict) -> Log:
        """Return a Log rebuilt from ``state()``."""
        _check_kind(state, "log")
        return cls()

    def describe(self) -> str:
        """Return "log"."""
        return "log"


def guerrero_lambda(x, season_length: int = 1, bounds: tuple[float, float] = (-1.0, 2.0)) -> float:
    """Return the Box-Cox lambda chosen by Guerrero's method (1993) for positive ``x``.

    The series is cut into non-overlapping subseries of length max(2, season_length), keeping the
    most recent ones; lambda minimises the coefficient of variation of sd_i / mean_i ** (1 - lambda)
    over the subseries, i.e. the power that makes the spread proportional to no power of the level.
    Matches R's forecast::BoxCox.lambda(method="guerrero").
    """
    x = _as_array(x)
    season_length = check_int(season_length, "season_length", 1)
    period = max(2, season_length)
    blocks = len(x) // period
    if blocks < 2:
        raise InputError(
            f"Guerrero's lambda needs at least two subseries of {period} observations "
            f"({2 * period}); got {len(x)}"
        )
    if not np.isfinite(x).all():
        raise InputError("Guerrero's lambda needs finite values; fill or drop NaN first")
    _check_positive(x, "Guerrero's lambda")
    sub = x[len(x) - blocks * period :].reshape(blocks, period)  # (subseries, period)
    means, sds = sub.mean(axis=1), sub.std(axis=1, ddof=1)

    if not sds.any():
        return 1.0  # every subseries is constant: no power makes the spread more even

    def variation(lmbda: float) -> float:
        ratio = sds / means ** (1.0 - lmbda)
        return float(ratio.std(ddof=1) / ratio.mean())

    return float(optimize.minimize_scalar(variation, bounds=bounds, method="bounded").x)


class BoxCox(BaseEstimator):
    """Box-Cox power transform; lambda from Guerrero's method on the training part when None.

    ``season_length`` sets Guerrero's subseries length. Fitted attribute: ``lmbda_``.
    For lambda != 0, forecasts below -1/lambda on the transformed scale have no inverse (NaN).
    """

    def __init__(self, lmbda: float | None = None, season_length: int = 1):
        self.lmbda = lmbda
        self.season_length = season_length

    def fit(self, x) -> BoxCox:
        """Return self with ``lmbda_`` fixed (given) or chosen by Guerrero's method."""
        x, start = _fit_part(x, "x", 1)
        _check_positive(x[start:], "the Box-Cox transform")
        if self.lmbda is None:
            self.lmbda_ = guerrero_lambda(x[start:], self.season_length)
        else:
            self.lmbda_ = _check_number(self.lmbda, "lmbda", -5.0, 5.0)
        return self

    def transform(self, x) -> np.ndarray:
        """Return the Box-Cox transform of ``x`` with ``lmbda_``."""
        _check_fitted(self, "lmbda_")
        x = _as_array(x)
        _check_positive(x, "the Box-Cox transform")
        return special.boxcox(x, self.lmbda_)

    def inverse(self, z, x) -> np.ndarray:
        """Return the inverse Box-Cox transform of ``z`` (the past is not needed)."""
        _check_fitted(self, "lmbda_")
        z, x = _as_array(z, "z"), _as_array(x)
        _check_same_length(z, x)
        return special.inv_boxcox(z, self.lmbda_)

    def cursor(self, x, ends) -> _Pointwise:
        """Return the cursor continuing the histories ``x[:ends[r]]`` (see ``inverse_recursive``)."""
        _check_fitted(self, "lmbda_")
        return _Pointwise(lambda z: special.inv_boxcox(z, self.lmbda_), self.transform)

    def warmup(self) -> int:
        """Return 0: every position is defined."""
        return 0

    def state(self) -> dict:
        """Return {"kind": "boxcox", "lmbda": fitted lambda}."""
        _check_fitted(self, "lmbda_")
        return {"kind": "boxcox", "lmbda": self.lmbda_}

    @classmethod
    def from_state(cls, state: dict) -> BoxCox:
        """Return a fitted BoxCox rebuilt from ``state()``."""
        _check_kind(state, "boxcox")
        out = cls(lmbda=_state_number(state, "lmbda", -5.0, 5.0))
        out.lmbda_ = out.lmbda
        return out

    def describe(self) -> str:
        """Return e.g. "boxcox(0.12)"."""
        _check_fitted(self, "lmbda_")
        return f"boxcox({self.lmbda_:.2f})"


class SeasonalIndices(BaseEstimator):
    """Subtract fixed seasonal indices: z_t = x_t - S[t mod m].

    S[p] is the mean, over training positions with t mod m == p, of the seasonal component of a
    robust STL decomposition of the training part, centred to sum 0. Needs 2m + 1 training points.
    Fitted attribute: ``indices_`` (length m).
    """

    def __init__(self, season_length: int = 12):
        self.season_length = season_length

    def fit(self, x) -> SeasonalIndices:
        """Return self with ``indices_`` estimated by robust STL on ``x``."""
        m = check_int(self.season_length, "season_length", 2)
        x, start = _fit_part(x, "x", 2 * m + 1)
        seasonal = STL(x[start:], period=m, robust=True).fit().seasonal
        phase = np.arange(start, len(x)) % m
        indices = np.bincount(phase, weights=seasonal, minlength=m) / np.bincount(phase, minlength=m)
        self.indices_ = indices - indices.mean()
        return self

    def _at(self, n: int) -> np.ndarray:
        """Return S[t mod m] for t = 0 .. n-1."""
        return self.indices_[np.arange(n) % len(self.indices_)]

    def transform(self, x) -> np.ndarray:
        """Return ``x - S[t mod m]``."""
        _check_fitted(self, "indices_")
        x = _as_array(x)
        return x - self._at(len(x))

    def inverse(self, z, x) -> np.ndarray:
        """Return ``z + S[t mod m]`` (the past is not needed)."""
        _check_fitted(self, "indices_")
        z, x = _as_array(z, "z"), _as_array(x)
        _check_same_length(z, x)
        return z + self._at(len(z))

    def cursor(self, x, ends) -> _Seasonal:
        """Return the cursor continuing the histories ``x[:ends[r]]`` (see ``inverse_recursive``)."""
        _check_fitted(self, "indices_")
        return _Seasonal(self.indices_, np.asarray(ends))

    def warmup(self) -> int:
        """Return 0: every position is defined."""
        return 0

    def state(self) -> dict:
        """Return {"kind": "stl", "season_length": m, "indices": [m floats]}."""
        _check_fitted(self, "indices_")
        return {"kind": "stl", "season_length": len(self.indices_), "indices": self.indices_.tolist()}

    @classmethod
    def from_state(cls, state: dict) -> SeasonalIndices:
        """Return a fitted SeasonalIndices rebuilt from ``state()``."""
        _check_kind(state, "stl")
        m = _state_number(state, "season_length", 2, 10**6, int)
        indices = state.get("indices")
        if not isinstance(indices, list) or len(indices) != m:
            raise ModelFileError(
                f"saved 'stl' transform needs {m} indices; got {indices!r:.80}; refit the model"
            )
        out = cls(m)
        named = {"kind": "stl"} | {f"indices[{i}]": v for i, v in enumerate(indices)}
        out.indices_ = np.array(
            [_state_number(named, f"indices[{i}]", -math.inf, math.inf) for i in range(m)]
        )
        return out

    def describe(self) -> str:
        """Return e.g. "stl(12)"."""
        return f"stl({self.season_length})"


class SeasonalDifference(BaseEstimator):
    """Seasonal difference z_t = x_t - x_{t-m}; warm-up m. Nothing to learn."""

    def __init__(self, season_length: int = 12):
        self.season_length = season_length

    def fit(self, x) -> SeasonalDifference:
        """Return self after checking ``x`` has more than m defined values."""
        m = check_int(self.season_length, "season_length", 1)
        _fit_part(x, "x", m + 1)
        return self

    def transform(self, x) -> np.ndarray:
        """Return x_t - x_{t-m}, NaN for t < m."""
        m = check_int(self.season_length, "season_length", 1)
        x = _as_array(x)
        z = np.full_like(x, np.nan)
        z[m:] = x[m:] - x[:-m]
        return z

    def inverse(self, z, x) -> np.ndarray:
        """Return z_t + x_{t-m}, NaN for t < m."""
        m = check_int(self.season_length, "season_length", 1)
        z, x = _as_array(z, "z"), _as_array(x)
        _check_same_length(z, x)
        out = np.full_like(z, np.nan)
        out[m:] = z[m:] + x[:-m]
        return out

    def cursor(self, x, ends) -> _Lagged:
        """Return the cursor continuing the histories ``x[:ends[r]]`` (see ``inverse_recursive``)."""
        return _Lagged(_as_array(x), np.asarray(ends), self.warmup())

    def warmup(self) -> int:
        """Return m."""
        return check_int(self.season_length, "season_length", 1)

    def state(self) -> dict:
        """Return {"kind": "sdiff", "season_length": m}."""
        return {"kind": "sdiff", "season_length": self.warmup()}

    @classmethod
    def from_state(cls, state: dict) -> SeasonalDifference:
        """Return a SeasonalDifference rebuilt from ``state()``."""
        _check_kind(state, "sdiff")
        return cls(_state_number(state, "season_length", 1, 10**6, int))

    def describe(self) -> str:
        """Return e.g. "sdiff(12)"."""
        return f"sdiff({self.season_length})"


class Mean(BaseEstimator):
    """Subtract the training mean: z_t = x_t - mu. The fixed level of a stationary series, whose
    skeleton forecast is then the mean rather than zero. Fitted attribute: ``mean_``.
    """

    def fit(self, x) -> Mean:
        """Return self with ``mean_`` = the mean of the defined training values."""
        x, start = _fit_part(x, "x", 1)
        self.mean_ = float(x[start:].mean())
        return self

    def transform(self, x) -> np.ndarray:
        """Return ``x - mean_``."""
        _check_fitted(self, "mean_")
        return _as_array(x) - self.mean_

    def inverse(self, z, x) -> np.ndarray:
        """Return ``z + mean_`` (the past is not needed)."""
        _check_fitted(self, "mean_")
        z, x = _as_array(z, "z"), _as_array(x)
        _check_same_length(z, x)
        return z + self.mean_

    def cursor(self, x, ends) -> _Pointwise:
        """Return the cursor continuing the histories ``x[:ends[r]]`` (see ``inverse_recursive``)."""
        _check_fitted(self, "mean_")
        return _Pointwise(lambda z: z + self.mean_, lambda v: v - self.mean_)

    def warmup(self) -> int:
        """Return 0: every position is defined."""
        return 0

    def state(self) -> dict:
        """Return {"kind": "mean", "mean": mu}."""
        _check_fitted(self, "mean_")
        return {"kind": "mean", "mean": self.mean_}

    @classmethod
    def from_state(cls, state: dict) -> Mean:
        """Return a fitted Mean rebuilt from ``state()``."""
        _check_kind(state, "mean")
        out = cls()
        out.mean_ = _state_number(state, "mean", -math.inf, math.inf)
        return out

    def describe(self) -> str:
        """Return e.g. "mean(12.3)"."""
        _check_fitted(self, "mean_")
        return f"mean({self.mean_:.4g})"


class Chain(BaseEstimator):
    """Composition of transforms: ``transform`` applies ``steps`` in order, ``inverse`` undoes them
    in reverse, each with the true history at its own level. The warm-up is the steps' sum.

    ``fit`` fits the given step objects in place, each on the previous steps' output of the
    training part.
    """

    def __init__(self, steps: list | tuple = ()):
        self.steps = steps

    def _check_steps(self) -> None:
        if not self.steps:
            raise InputError("Chain needs at least one step; use Chain([Identity()]) for no treatment")

    def fit(self, x) -> Chain:
        """Return self with every step fitted in turn on the training part."""
        self._check_steps()
        current = _as_array(x)
        for step in self.steps:
            current = step.fit(current).transform(current)
        return self

    def levels(self, x) -> list[np.ndarray]:
        """Return [x, step 1 of x, steps 1-2 of x, ...]: the history at each level, len(steps) + 1."""
        self._check_steps()
        out = [_as_array(x)]
        for step in self.steps:
            out.append(step.transform(out[-1]))
        return out

    def transform(self, x) -> np.ndarray:
        """Return ``x`` through every step."""
        return self.levels(x)[-1]

    def inverse(self, z, x) -> np.ndarray:
        """Return ``z`` undone step by step in reverse, each with the true past at its level."""
        z, x = _as_array(z, "z"), _as_array(x)
        _check_same_length(z, x)
        history = self.levels(x)
        for step, past in zip(reversed(self.steps), reversed(history[:-1])):
            z = step.inverse(z, past)
        return z

    def cursor(self, x, ends) -> _Chained:
        """Return the cursor continuing the histories ``x[:ends[r]]`` (see ``inverse_recursive``).

        Each step continues its own level of the history, as ``inverse`` reads it.
        """
        history = self.levels(x)
        return _Chained([step.cursor(level, ends) for step, level in zip(self.steps, history[:-1])])

    def warmup(self) -> int:
        """Return the sum of the steps' warm-ups."""
        self._check_steps()
        return sum(step.warmup() for step in self.steps)

    def state(self) -> dict:
        """Return {"kind": "chain", "steps": [each step's state]}."""
        self._check_steps()
        return {"kind": "chain", "steps": [step.state() for step in self.steps]}

    @classmethod
    def from_state(cls, state: dict) -> Chain:
        """Return a fitted Chain rebuilt from ``state()``."""
        _check_kind(state, "chain")
        steps = state.get("steps")
        if not isinstance(steps, list) or not steps:
            raise ModelFileError(
                f"saved 'chain' transform needs a non-empty list of steps; got {steps!r:.80}; refit the model"
            )
        return cls([transform_from_state(step) for step in steps])

    def describe(self) -> str:
        """Return the steps' labels joined by " + ", e.g. "log + sdiff(12) + ses(0.83)"."""
        self._check_steps()
        return " + ".join(step.describe() for step in self.steps)


_KINDS: dict[str, type] = {
    "identity": Identity,
    "log": Log,
    "boxcox": BoxCox,
    "stl": SeasonalIndices,
    "sdiff": SeasonalDifference,
    "mean": Mean,
    "ses": LevelAnchor,
    "holt": LevelAnchor,
    "ets": ExpSmoothing,
    "chain": Chain,
}


def transform_from_state(state: dict):
    """Return the fitted transform that ``state()`` describes, dispatched on its "kind"."""
    kind = state.get("kind") if isinstance(state, dict) else None
    if kind not in _KINDS:
        raise ModelFileError(
            f"unknown saved transform kind {kind!r}; expected one of: {', '.join(_KINDS)}; refit the model"
        )
    return _KINDS[kind].from_state(state)


def skeleton_forecasts(chain, x) -> np.ndarray:
    """Return the skeleton's own one-step forecasts of positions 0 .. len(x), length len(x) + 1.

    Forecast t is ``chain.inverse(0, x[:t])``, the transformed-scale forecast 0 undone with the
    true past; the last one forecasts the first unseen value. NaN in the warm-up.
    """
    x = _as_array(x)
    extended = np.append(x, np.nan)  # placeholder: inverse never reads the value it forecasts
    return chain.inverse(np.zeros(len(extended)), extended)


def skeleton_rmse(chain, x, start: int) -> float:
    """Return the RMSE of the skeleton's one-step forecasts of x[start:] (inf when any is undefined)."""
    x = _as_array(x)
    start = check_int(start, "start", chain.warmup())
    if start >= len(x):
        raise InputError(f"start={start} leaves no positions to score in a series of {len(x)}")
    error = x[start:] - skeleton_forecasts(chain, x)[start:-1]
    if not np.isfinite(error).all():
        return math.inf
    return float(np.sqrt(np.mean(error * error)))
