"""The exponential-smoothing transforms of the skeleton, with their filters and fitting.

``LevelAnchor`` (SES, Holt) and ``ExpSmoothing`` (damped trend, evolving season) subtract a
one-step smoothing forecast, z_t = x_t - f_t with f_t made from x[:t], and follow the contract of
``data.skeleton``. The recursions run as linear filters (scipy.signal.lfilter) with fixed
parameters (``_one_step``, ``_ets_one_step``); the parameters minimise the one-step squared error
on the training part (``_fit_ses``, ``_fit_holt``, ``ExpSmoothing.fit``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import optimize, signal
from sklearn.base import BaseEstimator
from statsmodels.tsa.seasonal import STL

from lstmcast.data.cursors import _Smoothing, _smoothing
from lstmcast.data.skeleton_checks import (
    _as_array,
    _check_fitted,
    _check_kind,
    _check_number,
    _check_same_length,
    _first_defined,
    _fit_part,
    _state_number,
)
from lstmcast.data.validate import check_int
from lstmcast.errors import InputError, ModelFileError


_ANCHORS = ("ses", "holt")
_MIN_RATE = 1e-4  # lower bound of alpha and beta: (0, 1] without the degenerate 0


class _SubtractsForecast:
    """transform and inverse of a transform whose output is the data minus its own one-step forecast
    ``forecasts(x)`` (made from x[:t] only, so both are causal)."""

    def transform(self, x) -> np.ndarray:
        """Return x_t - f_t."""
        x = _as_array(x)
        return x - self.forecasts(x)

    def inverse(self, z, x) -> np.ndarray:
        """Return z_t + f_t, with f_t from the true past x[:t]."""
        z, x = _as_array(z, "z"), _as_array(x)
        _check_same_length(z, x)
        return z + self.forecasts(x)


class LevelAnchor(_SubtractsForecast, BaseEstimator):
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


class ExpSmoothing(_SubtractsForecast, BaseEstimator):
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
