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

>>> chain = Chain([Log(), SeasonalDifference(12), LevelAnchor("ses")]).fit(y_train)
>>> z = chain.transform(y)                                 # NaN for the first 13 positions
>>> forecasts = chain.inverse(np.zeros(len(y)), y)         # the skeleton's own one-step forecasts
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Protocol, Self

import numpy as np
from scipy import optimize, signal, special
from sklearn.base import BaseEstimator
from statsmodels.tsa.seasonal import STL

from lstmcast.data.validate import check_int
from lstmcast.errors import InputError, ModelFileError, NotFittedError


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


class Cursor(Protocol):
    """A batch of histories continued one position at a time (``transform.cursor(x, ends)``; see ``inverse_recursive``).

    Row r continues ``x[:ends[r]]``; each method takes and returns one value per row, at the row's
    next position: ``inverse`` undoes a transformed value there, ``forward`` transforms a value
    there, ``push`` appends a value (in the units of ``x``) and moves to the position after it.
    """

    def inverse(self, z: np.ndarray) -> np.ndarray: ...
    def forward(self, v: np.ndarray) -> np.ndarray: ...
    def push(self, v: np.ndarray) -> None: ...


# --- input helpers ------------------------------------------------------------------------------


def _as_array(x, name: str = "x") -> np.ndarray:
    """Return ``x`` as a 1-D float64 array, or raise InputError."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise InputError(f"{name} must be a 1-D array of one series; got shape {arr.shape}")
    return arr


def _first_defined(x: np.ndarray) -> int:
    """Return the position of the first non-NaN value (len(x) when there is none)."""
    defined = ~np.isnan(x)
    return int(np.argmax(defined)) if defined.any() else len(x)


def _fit_part(x, name: str, min_length: int) -> tuple[np.ndarray, int]:
    """Return (x as an array, start) where x[start:] is the finite part a transform fits on.

    Leading NaN rows (an earlier step's warm-up) are skipped; anything else undefined is refused.
    """
    x = _as_array(x, name)
    start = _first_defined(x)
    if not np.isfinite(x[start:]).all():
        i = start + int(np.argmin(np.isfinite(x[start:])))
        raise InputError(
            f"{name} has a NaN or infinite value at position {i}; fill or drop it before fitting"
        )
    if len(x) - start < min_length:
        raise InputError(
            f"{name} needs at least {min_length} observations to fit; got {len(x) - start}; "
            "use a longer training part"
        )
    return x, start


def _check_same_length(z: np.ndarray, x: np.ndarray) -> None:
    if len(z) != len(x):
        raise InputError(
            f"inverse needs z and the history x of the same length; got {len(z)} and {len(x)} "
            "(append a placeholder such as NaN to x to invert a forecast past its end)"
        )


def _check_positive(x: np.ndarray, what: str) -> None:
    bad = x <= 0  # NaN compares False: undefined rows pass through as NaN
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(
            f"{what} needs positive values; got {x[i]:g} at position {i}; "
            "shift the series above zero or leave the power transform out"
        )


def _check_number(value, name: str, low: float, high: float, kind: type = float) -> float | int:
    """Return ``value`` as a ``kind`` after checking it is a finite number in [low, high]."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and kind is int:
        ok = isinstance(value, numbers.Integral)
    if not ok or not math.isfinite(value) or not low <= value <= high:
        raise InputError(f"{name} must be a finite {kind.__name__} in [{low:g}, {high:g}]; got {value!r}")
    return kind(value)


def _state_number(state: dict, key: str, low: float, high: float, kind: type = float) -> float | int:
    """Return ``state[key]`` checked like ``_check_number``; ModelFileError when it is not."""
    try:
        return _check_number(state.get(key), key, low, high, kind)
    except InputError as exc:
        raise ModelFileError(
            f"saved {state.get('kind')!r} transform: {exc}; the model file is corrupt, refit the model"
        ) from None


def _check_kind(state, kind: str) -> None:
    if not isinstance(state, dict) or state.get("kind") != kind:
        got = state.get("kind") if isinstance(state, dict) else type(state).__name__
        raise ModelFileError(
            f"expected a saved {kind!r} transform; got {got!r}; the model file is corrupt, refit the model"
        )


def _check_fitted(transform, attribute: str) -> None:
    if not hasattr(transform, attribute):
        raise NotFittedError(
            f"this {type(transform).__name__} is not fitted yet; call fit(training_values) first"
        )


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


_ANCHORS = ("ses", "holt")
_MIN_RATE = 1e-4  # lower bound of alpha and beta: (0, 1] without the degenerate 0


class LevelAnchor(BaseEstimator):
    """Subtract the exponential-smoothing forecast: z_t = x_t - f_t, f_t made from x[:t].

    ``kind="ses"``: level l_t = alpha x_t + (1 - alpha) l_{t-1}, f_t = l_{t-1}; the level starts
    at the first observation (l_0 = x_0), so the warm-up is 1. ``alpha=1`` is first differencing.
    ``kind="holt"``: l_t = alpha x_t + (1 - alpha)(l_{t-1} + b_{t-1}),
    b_t = beta (l_t - l_{t-1}) + (1 - beta) b_{t-1}, f_t = l_{t-1} + b_{t-1}; the state starts at
    the second observation (l_1 = x_1, b_1 = x_1 - x_0), so the warm-up is 2.
    ``alpha``/``beta`` given are kept; None ones are fitted by minimising the one-step squared
    error on the training part, within (0, 1]. The recursions run through any array with fixed
    parameters as linear filters (scipy.signal.lfilter): a million points take milliseconds.
    Fitted attributes: ``alpha_``, ``beta_`` (None for SES).
    """

    def __init__(self, kind: str = "ses", alpha: float | None = None, beta: float | None = None):
        self.kind = kind
        self.alpha = alpha
        self.beta = beta

    def fit(self, x) -> LevelAnchor:
        """Return self with ``alpha_`` (and ``beta_``) fixed or fitted on ``x``."""
        if self.kind not in _ANCHORS:
            raise InputError(f"unknown level anchor {self.kind!r}; choose one of: {', '.join(_ANCHORS)}")
        for name in ("alpha", "beta"):
            if getattr(self, name) is not None:
                _check_number(getattr(self, name), name, 0.0, 1.0)
        holt = self.kind == "holt"
        x, start = _fit_part(x, "x", 4 if holt else 3)  # at least two one-step errors to fit on
        x = x[start:]
        if holt:
            self.alpha_, self.beta_ = _fit_holt(x, self.alpha, self.beta)
        else:
            self.alpha_, self.beta_ = (float(self.alpha) if self.alpha is not None else _fit_ses(x)), None
        return self

    def forecasts(self, x) -> np.ndarray:
        """Return f with f[t] = the anchor's one-step forecast of x[t] from x[:t]; NaN in the warm-up."""
        _check_fitted(self, "alpha_")
        x = _as_array(x)
        start = _first_defined(x)
        f = np.full_like(x, np.nan)
        f[start:] = _one_step(x[start:], self.alpha_, self.beta_)
        return f

    def transform(self, x) -> np.ndarray:
        """Return x_t - f_t."""
        x = _as_array(x)
        return x - self.forecasts(x)

    def inverse(self, z, x) -> np.ndarray:
        """Return z_t + f_t, with f_t from the true past x[:t]."""
        z, x = _as_array(z, "z"), _as_array(x)
        _check_same_length(z, x)
        return z + self.forecasts(x)

    def cursor(self, x, ends) -> _Smoothing:
        """Return the cursor continuing the histories ``x[:ends[r]]`` (see ``inverse_recursive``).

        SES is the smoothing recursion with no trend (phi = 0); Holt's has phi = 1 and starts at
        the second observation.
        """
        _check_fitted(self, "alpha_")
        x = _as_array(x)
        s = _first_defined(x)
        if self.kind == "holt":
            level = x[s + 1] if s + 1 < len(x) else math.nan
            return _smoothing(x, ends, s + 2, level, level - x[s], (0.0,), (self.alpha_, self.beta_, 1.0, 0.0))
        return _smoothing(x, ends, s + 1, x[s] if s < len(x) else math.nan, 0.0, (0.0,), (self.alpha_, 0.0, 0.0, 0.0))

    def warmup(self) -> int:
        """Return 1 (SES) or 2 (Holt)."""
        return 2 if self.kind == "holt" else 1

    def state(self) -> dict:
        """Return {"kind": "ses", "alpha": a} or {"kind": "holt", "alpha": a, "beta": b}."""
        _check_fitted(self, "alpha_")
        state = {"kind": self.kind, "alpha": self.alpha_}
        if self.kind == "holt":
            state["beta"] = self.beta_
        return state

    @classmethod
    def from_state(cls, state: dict) -> LevelAnchor:
        """Return a fitted LevelAnchor rebuilt from ``state()``."""
        kind = state.get("kind") if isinstance(state, dict) else None
        _check_kind(state, kind if kind in _ANCHORS else "ses or holt")
        alpha = _state_number(state, "alpha", 0.0, 1.0)
        beta = _state_number(state, "beta", 0.0, 1.0) if kind == "holt" else None
        out = cls(kind, alpha, beta)
        out.alpha_, out.beta_ = alpha, beta
        return out

    def describe(self) -> str:
        """Return e.g. "ses(0.83)" or "holt(0.70,0.05)"."""
        _check_fitted(self, "alpha_")
        if self.kind == "holt":
            return f"holt({self.alpha_:.2f},{self.beta_:.2f})"
        return f"ses({self.alpha_:.2f})"


def _one_step(x: np.ndarray, alpha: float, beta: float | None) -> np.ndarray:
    """Return the one-step forecasts f[t] of finite-started ``x`` (NaN in the warm-up)."""
    f = np.full_like(x, np.nan)
    if beta is None:
        if len(x) > 2:
            # level l_t = alpha x_t + (1 - alpha) l_{t-1} from l_0 = x_0; f[t] = l_{t-1}
            level = signal.lfilter([alpha], [1.0, alpha - 1.0], x[1:-1], zi=[(1.0 - alpha) * x[0]])[0]
            f[2:] = level
        if len(x) > 1:
            f[1] = x[0]
        return f
    if len(x) < 3:
        return f
    # Holt's one-step forecast y_t = l_t + b_t is the state-space output of
    # s_t = A s_{t-1} + B x_t with A = [[1-a, 1-a], [-ab, 1-ab]], B = [a, ab]; its transfer function
    # is (a(1+b) - a q) / (1 - (2 - a - ab) q + (1 - a) q^2), q the lag operator.
    level, trend = x[1], x[1] - x[0]
    y = [level + trend]  # y_1: forecast of x_2
    if len(x) > 3:
        new_level = alpha * x[2] + (1 - alpha) * (level + trend)
        y.append(new_level + beta * (new_level - level) + (1 - beta) * trend)  # y_2
    f[2] = y[0]
    if len(x) > 3:
        f[3] = y[1]
    if len(x) > 4:
        b = [alpha * (1 + beta), -alpha]
        a = [1.0, alpha + alpha * beta - 2.0, 1.0 - alpha]
        # transposed direct form state after y_1, y_2 and x_2 (what scipy.signal.lfiltic computes)
        zi = [b[1] * x[2] - a[1] * y[1] - a[2] * y[0], -a[2] * y[1]]
        f[4:] = signal.lfilter(b, a, x[3:-1], zi=zi)[0]
    return f


def _sse(x: np.ndarray, alpha: float, beta: float | None) -> float:
    error = x - _one_step(x, alpha, beta)
    value = float(np.nansum(error * error))
    return value if math.isfinite(value) else math.inf


def _fit_ses(x: np.ndarray) -> float:
    """Return alpha in [_MIN_RATE, 1] minimising the one-step SSE."""
    best = optimize.minimize_scalar(lambda a: _sse(x, a, None), bounds=(_MIN_RATE, 1.0), method="bounded").x
    # Brent's bounded search never evaluates the bounds: alpha = 1 (a random walk) is common
    return 1.0 if _sse(x, 1.0, None) <= _sse(x, best, None) else float(best)


def _fit_holt(x: np.ndarray, alpha: float | None, beta: float | None) -> tuple[float, float]:
    """Return (alpha, beta) minimising the one-step SSE, each kept when given."""
    free = [i for i, v in enumerate((alpha, beta)) if v is None]
    fixed = np.array([alpha if alpha is not None else 0.0, beta if beta is not None else 0.0])

    def params(p: np.ndarray) -> np.ndarray:
        out = fixed.copy()
        out[free] = p
        return out

    if not free:
        return float(alpha), float(beta)

    def loss(p: np.ndarray) -> float:
        a, b = params(p)
        return _sse(x, a, b)

    # a coarse grid first: the SSE surface can have several basins, and a local search from one
    # start lands in whichever is nearest
    grid = {0: [0.1, 0.3, 0.5, 0.7, 0.9, 1.0], 1: [0.01, 0.05, 0.1, 0.3, 0.6, 1.0]}
    starts = np.array(np.meshgrid(*[grid[i] for i in free])).reshape(len(free), -1).T
    start = min(starts, key=loss)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Nelder-Mead: the loss is cheap and two-dimensional, and L-BFGS-B's finite-difference
        # gradients cost more evaluations (and far more time here) for the same minimum
        bounds = [(_MIN_RATE, 1.0)] * len(free)
        options = {"xatol": 1e-4, "fatol": 1e-10}
        result = optimize.minimize(loss, start, method="Nelder-Mead", bounds=bounds, options=options)
    best = result.x if result.fun <= loss(start) else start
    a, b = params(np.clip(best, _MIN_RATE, 1.0))
    return float(a), float(b)


_TRENDS = ("none", "damped")
_PHI = (0.8, 0.98)  # damping range of Hyndman et al.'s forecast package: a trend that fades


class ExpSmoothing(BaseEstimator):
    """Subtract the additive exponential-smoothing forecast with a damped trend and, when
    ``season_length`` > 1, an evolving season (Holt-Winters): z_t = x_t - f_t, f_t made from x[:t].

    Recursions (Hyndman et al., "Forecasting with exponential smoothing", ETS(A,Ad,A)):
    l_t = alpha (x_t - s_{t-m}) + (1 - alpha)(l_{t-1} + phi b_{t-1}),
    b_t = beta (l_t - l_{t-1}) + (1 - beta) phi b_{t-1},
    s_t = gamma (x_t - l_t) + (1 - gamma) s_{t-m},  f_t = l_{t-1} + phi b_{t-1} + s_{t-m}.
    ``trend="none"`` drops b (phi = 0). Initial state, fitted on the training part: the seasonal
    indices of a robust STL (as ``SeasonalIndices``), the trend b_0 = the least-squares slope of the
    deseasonalised training part (a one-step difference would make it noise), the level
    l_0 = x_0 - s_0; the warm-up is 1. alpha, beta, gamma in (0, 1] and phi in [0.8, 0.98] minimise
    the one-step squared error on the training part. The damped trend extrapolates a slope that
    fades, which beats Holt's straight line on short, trending series; the evolving season follows
    patterns that drift, where ``SeasonalIndices`` are fixed. The recursion is a linear
    state-space filter run with scipy.signal.lfilter. Fitted attributes: ``alpha_``, ``beta_``,
    ``phi_``, ``gamma_`` (None when absent), ``trend0_``, ``season0_`` (None when m = 1).
    """

    def __init__(self, trend: str = "damped", season_length: int = 1):
        self.trend = trend
        self.season_length = season_length

    def _m(self) -> int:
        return check_int(self.season_length, "season_length", 1)

    def fit(self, x) -> ExpSmoothing:
        """Return self with the initial state and the smoothing parameters fitted on ``x``."""
        if self.trend not in _TRENDS:
            raise InputError(f"unknown trend {self.trend!r}; choose one of: {', '.join(_TRENDS)}")
        m = self._m()
        x, start = _fit_part(x, "x", max(5, 2 * m + 1) if m > 1 else 5)
        x = x[start:]
        if m > 1:
            seasonal = STL(x, period=m, robust=True).fit().seasonal
            phase = np.arange(start, start + len(x)) % m
            indices = np.bincount(phase, weights=seasonal, minlength=m) / np.bincount(phase, minlength=m)
            self.season0_ = indices - indices.mean()
            level = x - self.season0_[phase]
        else:
            self.season0_, level = None, x
        damped = self.trend == "damped"
        self.trend0_ = float(np.polyfit(np.arange(len(level), dtype=np.float64), level, 1)[0]) if damped else 0.0
        names = ["alpha"] + (["beta", "phi"] if damped else []) + (["gamma"] if m > 1 else [])
        low = {"alpha": _MIN_RATE, "beta": _MIN_RATE, "phi": _PHI[0], "gamma": _MIN_RATE}
        high = {"alpha": 1.0, "beta": 1.0, "phi": _PHI[1], "gamma": 1.0}
        season0 = self._season_at(start)

        bounds = [(low[k], high[k]) for k in names]

        def loss(p) -> float:
            p = [min(max(v, lo), hi) for v, (lo, hi) in zip(p, bounds)]
            error = x[1:] - _ets_one_step(x, self._params(dict(zip(names, p))), self.trend0_, season0)[1:]
            value = float(error @ error)
            return value if math.isfinite(value) else math.inf

        grid = {"alpha": [0.2, 0.5, 0.9], "beta": [0.05, 0.3], "phi": [0.9, 0.98], "gamma": [0.05, 0.3]}
        starts = np.array(np.meshgrid(*[grid[k] for k in names])).reshape(len(names), -1).T
        first = min(starts, key=loss)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # parameters to 1e-3 and the SSE to a millionth of itself are far below what the tail can
            # tell apart; an absolute SSE tolerance would run every fit to maxfev in large units
            options = {"xatol": 1e-3, "fatol": 1e-6 * loss(first), "maxfev": 100 * len(names) + 100}
            result = optimize.minimize(loss, first, method="Nelder-Mead", bounds=bounds, options=options)
        best = np.clip(result.x, *np.array(bounds).T) if result.fun <= loss(first) else first
        fitted = self._params(dict(zip(names, (float(v) for v in best))))
        self.alpha_, self.beta_, self.phi_, self.gamma_ = (fitted[k] for k in ("alpha", "beta", "phi", "gamma"))
        return self

    def _params(self, free: dict) -> dict:
        """Return alpha, beta, phi, gamma with the absent ones set to what switches them off."""
        return {"alpha": free["alpha"], "beta": free.get("beta"), "phi": free.get("phi"),
                "gamma": free.get("gamma")}

    def _season_at(self, start: int) -> np.ndarray | None:
        """Return the initial seasonal indices rotated so that entry i is position start + i's."""
        if self.season0_ is None:
            return None
        m = len(self.season0_)
        return self.season0_[(start + np.arange(m)) % m]

    def forecasts(self, x) -> np.ndarray:
        """Return f with f[t] = the one-step forecast of x[t] from x[:t]; NaN in the warm-up."""
        _check_fitted(self, "alpha_")
        x = _as_array(x)
        start = _first_defined(x)
        f = np.full_like(x, np.nan)
        if start < len(x):
            params = {"alpha": self.alpha_, "beta": self.beta_, "phi": self.phi_, "gamma": self.gamma_}
            f[start:] = _ets_one_step(x[start:], params, self.trend0_, self._season_at(start))
        return f

    def transform(self, x) -> np.ndarray:
        """Return x_t - f_t."""
        x = _as_array(x)
        return x - self.forecasts(x)

    def inverse(self, z, x) -> np.ndarray:
        """Return z_t + f_t, with f_t from the true past x[:t]."""
        z, x = _as_array(z, "z"), _as_array(x)
        _check_same_length(z, x)
        return z + self.forecasts(x)

    def cursor(self, x, ends) -> _Smoothing:
        """Return the cursor continuing the histories ``x[:ends[r]]`` (see ``inverse_recursive``)."""
        _check_fitted(self, "alpha_")
        x = _as_array(x)
        s = _first_defined(x)
        season = (0.0,) if self.season0_ is None else self.season0_  # entry t mod m: position t's initial index
        level = x[s] - season[s % len(season)] if s < len(x) else math.nan
        params = (self.alpha_, self.beta_ or 0.0, self.phi_ or 0.0, self.gamma_ or 0.0)
        return _smoothing(x, ends, s + 1, level, self.trend0_, season, params)

    def warmup(self) -> int:
        """Return 1: the level starts at the first observation."""
        return 1

    def state(self) -> dict:
        """Return {"kind": "ets", "trend", "season_length", "alpha", "beta", "phi", "gamma", "trend0", "season0"}."""
        _check_fitted(self, "alpha_")
        return {"kind": "ets", "trend": self.trend, "season_length": self._m(), "alpha": self.alpha_,
                "beta": self.beta_, "phi": self.phi_, "gamma": self.gamma_, "trend0": self.trend0_,
                "season0": None if self.season0_ is None else self.season0_.tolist()}

    @classmethod
    def from_state(cls, state: dict) -> ExpSmoothing:
        """Return a fitted ExpSmoothing rebuilt from ``state()``."""
        _check_kind(state, "ets")
        trend = state.get("trend")
        if trend not in _TRENDS:
            raise ModelFileError(f"saved 'ets' transform has trend {trend!r}; expected one of {_TRENDS}; refit the model")
        m = _state_number(state, "season_length", 1, 10**6, int)
        out = cls(trend, m)
        out.alpha_ = _state_number(state, "alpha", 0.0, 1.0)
        damped = trend == "damped"
        out.beta_ = _state_number(state, "beta", 0.0, 1.0) if damped else None
        out.phi_ = _state_number(state, "phi", 0.0, 1.0) if damped else None
        out.gamma_ = _state_number(state, "gamma", 0.0, 1.0) if m > 1 else None
        out.trend0_ = _state_number(state, "trend0", -math.inf, math.inf)
        out.season0_ = None
        if m > 1:
            season = state.get("season0")
            if not isinstance(season, list) or len(season) != m:
                raise ModelFileError(
                    f"saved 'ets' transform needs {m} initial seasonal indices; got {season!r:.80}; refit the model"
                )
            named = {"kind": "ets"} | {f"season0[{i}]": v for i, v in enumerate(season)}
            out.season0_ = np.array([_state_number(named, f"season0[{i}]", -math.inf, math.inf) for i in range(m)])
        return out

    def describe(self) -> str:
        """Return e.g. "ets(Ad;0.50,0.10,0.95)" or "ets(N,A12;0.50,0.10)" (parameters alpha, beta, phi, gamma)."""
        _check_fitted(self, "alpha_")
        m = self._m()
        label = ("Ad" if self.trend == "damped" else "N") + (f",A{m}" if m > 1 else "")
        values = [v for v in (self.alpha_, self.beta_, self.phi_, self.gamma_) if v is not None]
        return f"ets({label};" + ",".join(f"{v:.2f}" for v in values) + ")"


def _ets_system(params: dict, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (A, B, C): state s_t = A s_{t-1} + B x_t, forecast of x_{t+1} = C s_t.

    The state is (level, trend, s_t, s_{t-1}, ..., s_{t-m+1}); the seasonal part is absent when
    m = 1. Built by applying one update of the recursions to unit vectors: it is linear.
    """
    alpha, beta, phi, gamma = params["alpha"], params["beta"] or 0.0, params["phi"] or 0.0, params["gamma"] or 0.0
    seasonal = m > 1
    size = 2 + (m if seasonal else 0)

    def update(state: np.ndarray, x: float) -> np.ndarray:
        level, trend = state[0], state[1]
        past = state[-1] if seasonal else 0.0  # s_{t-m}
        new_level = alpha * (x - past) + (1 - alpha) * (level + phi * trend)
        out = np.zeros(size)
        out[0] = new_level
        out[1] = beta * (new_level - level) + (1 - beta) * phi * trend
        if seasonal:
            out[2] = gamma * (x - new_level) + (1 - gamma) * past
            out[3:] = state[2:-1]
        return out

    A = np.column_stack([update(np.eye(size)[j], 0.0) for j in range(size)])
    B = update(np.zeros(size), 1.0)
    C = np.zeros(size)
    C[0], C[1] = 1.0, phi
    if seasonal:
        C[-1] = 1.0  # s_{t+1-m}
    return A, B, C


_LOOP_BELOW = 1000  # below this length a plain loop beats building the filter (0.5 ms vs 2 ms at 200)


def _ets_one_step(x: np.ndarray, params: dict, trend0: float, season0: np.ndarray | None) -> np.ndarray:
    """Return the one-step forecasts f[t] of finite-started ``x`` (NaN at t = 0).

    ``season0[i]`` is the initial seasonal index of position i (i < m). Short series run the
    recursion as a loop, long ones as a linear filter (``_ets_filter``); both give the same values.
    """
    if len(x) < _LOOP_BELOW:
        return _ets_loop(x, params, trend0, season0)
    return _ets_filter(x, params, trend0, season0)


def _ets_loop(x: np.ndarray, params: dict, trend0: float, season0: np.ndarray | None) -> np.ndarray:
    """Return ``_ets_one_step``'s forecasts by running the recursions step by step."""
    alpha, beta, phi, gamma = params["alpha"], params["beta"] or 0.0, params["phi"] or 0.0, params["gamma"] or 0.0
    values = x.tolist()  # Python floats: a scalar loop over numpy items is several times slower
    m = 1 if season0 is None else len(season0)
    season = [0.0] * m if season0 is None else season0.tolist()  # season[t % m]: latest index of that phase
    level, trend = values[0] - season[0], trend0
    f = [math.nan] * len(values)
    for t in range(1, len(values)):
        past = season[t % m]
        f[t] = level + phi * trend + past
        new_level = alpha * (values[t] - past) + (1 - alpha) * (level + phi * trend)
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        if m > 1:
            season[t % m] = gamma * (values[t] - new_level) + (1 - gamma) * past
        level = new_level
    return np.array(f)


def _ets_filter(x: np.ndarray, params: dict, trend0: float, season0: np.ndarray | None) -> np.ndarray:
    """Return ``_ets_one_step``'s forecasts as the output of a linear filter (scipy.signal.lfilter).

    The first ``order + 1`` forecasts run the state-space recursion directly; the rest is the same
    system as a filter whose initial conditions (scipy.signal.lfiltic) are those forecasts, exact
    from there on because the initial state's own contribution obeys the filter's recursion after
    ``order`` steps (Cayley-Hamilton).
    """
    m = 1 if season0 is None else len(season0)
    A, B, C = _ets_system(params, m)
    state = np.zeros(len(B))
    state[0], state[1] = x[0] - (season0[0] if m > 1 else 0.0), trend0
    if m > 1:
        state[2:] = season0[(-np.arange(m)) % m]  # s_0, s_{-1}, ..., s_{1-m}
    f = np.full(len(x), np.nan)
    order = len(B)
    direct = min(len(x) - 1, order + 1)
    for t in range(1, direct + 1):
        f[t] = C @ state
        state = A @ state + B * x[t]
    if len(x) - 1 > direct:
        # output y_j = f[j + 1] = C s_j driven by x_j: s_j = A s_{j-1} + B x_j
        num, den = signal.ss2tf(A, B[:, None], (C @ A)[None, :], np.array([[C @ B]]))
        zi = signal.lfiltic(num[0], den, f[direct : direct - order : -1], x[direct - 1 : direct - 1 - order : -1])
        f[direct + 1 :] = signal.lfilter(num[0], den, x[direct:-1], zi=zi)[0]
    return f


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


# --- recursive inversion: many histories continued at once -------------------------------------


def inverse_recursive(transform, z, x, ends) -> np.ndarray:
    """Return multi-step forecasts ``z`` (rows, horizon) on the transformed scale in the units of ``x``.

    Row r continues the history ``x[:ends[r]]``: its step h is undone with that history followed
    by its own steps 1..h-1, which is what ``inverse`` gives when called once per step on the
    history extended with the forecasts so far, without transforming the whole history again
    at every step: each transform keeps the state its next inverse needs (``cursor``). Many
    rows (ensemble members, forecast origins that are prefixes of one series) advance together.

    >>> inverse_recursive(chain, np.zeros((2, 6)), y, ends=[100, 120])  # the skeleton's 6-step forecasts from 2 origins
    """
    z, x = np.asarray(z, dtype=np.float64), _as_array(x)
    ends = np.asarray(ends)
    if z.ndim != 2 or ends.shape != (len(z),) or not np.issubdtype(ends.dtype, np.integer):
        raise InputError(f"inverse_recursive needs z of shape (rows, horizon) and one integer end per row; got z of "
                         f"shape {z.shape} and ends of shape {ends.shape} ({ends.dtype})")
    if len(ends) and (ends.min() < 0 or ends.max() > len(x)):
        raise InputError(f"ends must lie in 0..{len(x)} (the length of x); got {ends.min()}..{ends.max()}")
    cursor = transform.cursor(x, ends)
    out = np.empty_like(z)
    for h in range(z.shape[1]):
        out[:, h] = cursor.inverse(z[:, h])
        cursor.push(out[:, h])
    return out


class _Pointwise:
    """Cursor of a transform of each value alone (power, fixed mean): no state."""

    def __init__(self, inverse, forward):
        self.inverse, self.forward = inverse, forward

    def push(self, v: np.ndarray) -> None:
        pass


class _Seasonal:
    """Cursor of fixed seasonal indices: S[t mod m] at each row's position t."""

    def __init__(self, indices: np.ndarray, ends: np.ndarray):
        self.indices, self.t = indices, ends.copy()

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return z + self.indices[self.t % len(self.indices)]

    def forward(self, v: np.ndarray) -> np.ndarray:
        return v - self.indices[self.t % len(self.indices)]

    def push(self, v: np.ndarray) -> None:
        self.t = self.t + 1


class _Lagged:
    """Cursor of the seasonal difference: each row's last m values (NaN before the start of x)."""

    def __init__(self, x: np.ndarray, ends: np.ndarray, m: int):
        at = ends[:, None] - m + np.arange(m)  # (rows, m): positions t - m .. t - 1
        self.past = np.where(at >= 0, x[np.clip(at, 0, None)], np.nan) if len(x) else np.full(at.shape, np.nan)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return z + self.past[:, 0]

    def forward(self, v: np.ndarray) -> np.ndarray:
        return v - self.past[:, 0]

    def push(self, v: np.ndarray) -> None:
        self.past = np.column_stack([self.past[:, 1:], v])


class _Smoothing:
    """Cursor of additive exponential smoothing: each row's level, trend and seasonal indices.

    The recursions of ``ExpSmoothing`` (``_ets_loop``), with the seasonal index of position t
    at column t mod m; SES (phi = 0) and Holt (phi = 1) are special cases.
    """

    def __init__(self, level, trend, season, t, params):
        self.level, self.trend, self.season, self.t = level, trend, season, t
        self.alpha, self.beta, self.phi, self.gamma = params
        self.rows = np.arange(len(t))

    def _forecast(self) -> np.ndarray:
        return self.level + self.phi * self.trend + self.season[self.rows, self.t % self.season.shape[1]]

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return z + self._forecast()

    def forward(self, v: np.ndarray) -> np.ndarray:
        return v - self._forecast()

    def push(self, v: np.ndarray) -> None:
        alpha, beta, phi, gamma = self.alpha, self.beta, self.phi, self.gamma
        phase = self.t % self.season.shape[1]
        past = self.season[self.rows, phase]
        level = alpha * (v - past) + (1 - alpha) * (self.level + phi * self.trend)
        self.trend = beta * (level - self.level) + (1 - beta) * phi * self.trend
        if self.season.shape[1] > 1:
            self.season[self.rows, phase] = gamma * (v - level) + (1 - gamma) * past
        self.level, self.t = level, self.t + 1


def _smoothing(x: np.ndarray, ends, first: int, level: float, trend: float, season, params: tuple) -> _Smoothing:
    """Return the smoothing cursor of the histories ``x[:ends[r]]``, the recursions started before position ``first``.

    One pass over ``x`` (the plain loop of ``_ets_loop``) records the state at every end; an end
    before ``first`` (inside the warm-up) gets a NaN state, as ``inverse`` gives NaN there.
    """
    ends = np.asarray(ends)
    unique, row_of = np.unique(ends, return_inverse=True)
    alpha, beta, phi, gamma = params
    values, season = x.tolist(), [float(v) for v in season]  # Python floats: numpy scalars loop slowly
    m = len(season)
    states = np.full((len(unique), 2 + m), np.nan)
    wanted = {int(e): i for i, e in enumerate(unique)}
    last = int(unique[-1]) if len(unique) else 0
    for t in range(first, last + 1):
        if t in wanted:
            states[wanted[t]] = [level, trend, *season]
        if t == last:
            break
        past = season[t % m]
        new_level = alpha * (values[t] - past) + (1 - alpha) * (level + phi * trend)
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        if m > 1:
            season[t % m] = gamma * (values[t] - new_level) + (1 - gamma) * past
        level = new_level
    states = states[row_of]  # (rows, 2 + m)
    return _Smoothing(states[:, 0], states[:, 1], states[:, 2:].copy(), ends.copy(), params)


class _Chained:
    """Cursor of a Chain: one cursor per step, each on its own level of the history."""

    def __init__(self, cursors: list):
        self.cursors = cursors

    def inverse(self, z: np.ndarray) -> np.ndarray:
        for cursor in reversed(self.cursors):
            z = cursor.inverse(z)
        return z

    def forward(self, v: np.ndarray) -> np.ndarray:
        for cursor in self.cursors:
            v = cursor.forward(v)
        return v

    def push(self, v: np.ndarray) -> None:
        # each level gets the value its step's transform gives, as ``levels`` of the extended history would
        for cursor in self.cursors:
            up = cursor.forward(v)
            cursor.push(v)
            v = up


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
