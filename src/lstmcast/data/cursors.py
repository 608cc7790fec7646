"""Cursors: many histories of one series continued at once, for multi-step forecasts.

``transform.cursor(x, ends)`` (each transform in ``data.skeleton`` builds its own from the classes
here) continues the histories ``x[:ends[r]]`` one position at a time, keeping the state its next
inverse needs; ``inverse_recursive`` drives a cursor to undo multi-step forecasts from many
origins without transforming the whole history again at every step.

- ``_Pointwise``: transforms of each value alone (identity, log, Box-Cox, mean), no state;
- ``_Seasonal``: fixed seasonal indices, each row's position;
- ``_Lagged``: the seasonal difference, each row's last m values;
- ``_Smoothing`` (built by ``_smoothing``): exponential smoothing, each row's level, trend and
  seasonal indices;
- ``_Chained``: a Chain, one cursor per step on its own level of the history.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from lstmcast.data.skeleton_checks import _as_array
from lstmcast.errors import InputError


class Cursor(Protocol):
    """A batch of histories continued one position at a time (``transform.cursor(x, ends)``; see ``inverse_recursive``).

    Row r continues ``x[:ends[r]]``; each method takes and returns one value per row, at the row's
    next position: ``inverse`` undoes a transformed value there, ``forward`` transforms a value
    there, ``push`` appends a value (in the units of ``x``) and moves to the position after it.
    """

    def inverse(self, z: np.ndarray) -> np.ndarray: ...
    def forward(self, v: np.ndarray) -> np.ndarray: ...
    def push(self, v: np.ndarray) -> None: ...


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

    The recursions of ``ExpSmoothing`` (``data.smoothing._ets_loop``), with the seasonal index of position t
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

    One pass over ``x`` (the plain loop of ``data.smoothing._ets_loop``) records the state at every end; an end
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
