"""Frame a series as supervised samples X[samples, steps, features] -> y[samples, n_out, targets].

One function covers every layout of seed 003, and the results are read-only strided views of
the input: framing 10 million points with a look-back of 48 allocates nothing of note.

>>> X, y = windows(np.arange(10, 100, 10), n_in=3)      # seed 003, univariate
>>> X[0, :, 0], y[0, :, 0]
(array([10, 20, 30]), array([40]))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from lstmcast.data.validate import check_int
from lstmcast.errors import InputError

_ALIGNS = ("next", "last")
_FRAMINGS = ("steps", "features")


def windows(
    values,
    n_in: int,
    n_out: int = 1,
    inputs: Sequence[int] | None = None,
    targets: Sequence[int] | None = None,
    align: str = "next",
    framing: str = "steps",
) -> tuple[np.ndarray, np.ndarray]:
    """Return (X, y): read-only views, X (samples, n_in, len(inputs)), y (samples, n_out, len(targets)).

    ``values`` is 1-D (one column) or 2-D (time, columns), numpy or pandas. ``inputs`` and
    ``targets`` are column indices (default: all columns).

    ``align="next"``: y starts on the row after the last input row (univariate, parallel and
    multi-step layouts); samples = T - n_in - n_out + 1.
    ``align="last"``: y starts on the last input row, for a dependent series observed at the
    same time as the inputs (seed 003's "multiple input series"); samples = T - n_in - n_out + 2.

    ``framing="features"`` gives the Airline tutorial's window method, lags as features of one
    time step: X (samples, 1, n_in * len(inputs)), lags oldest first (per lag, all inputs). It is a
    view when the inputs are evenly spaced across the whole row (always for one column), else a
    read-only copy.
    """
    data = _as_columns(values)  # (T, columns)
    n_in = check_int(n_in, "n_in (look-back)", 1)
    n_out = check_int(n_out, "n_out (steps out)", 1)
    _check_choice(align, "align", _ALIGNS)
    _check_choice(framing, "framing", _FRAMINGS)
    x_cols = _columns(data, inputs, "inputs")  # (T, k_in)
    y_cols = _columns(data, targets, "targets")  # (T, k_out)
    overlap = 1 if align == "last" else 0  # rows shared by the input and the output window
    needed = n_in + n_out - overlap
    if len(data) < needed:
        raise InputError(
            f"look_back={n_in} with steps_out={n_out} needs at least {needed} observations; "
            f"the series has {len(data)}"
        )
    samples = len(data) - needed + 1
    X = sliding_window_view(x_cols, n_in, axis=0)[:samples].transpose(0, 2, 1)  # (samples, n_in, k_in)
    # y starts n_in - overlap rows in, so its windows line up one-to-one with X's
    y = sliding_window_view(y_cols[n_in - overlap :], n_out, axis=0).transpose(0, 2, 1)  # (samples, n_out, k_out)
    if framing == "features":
        X = _lags_as_features(X)
    return X, y


def last_window(
    values, n_in: int, inputs: Sequence[int] | None = None, framing: str = "steps"
) -> np.ndarray:
    """Return the final input window, a read-only view of shape (1, n_in, len(inputs)).

    This is the input for forecasting past the end of ``values``; ``framing="features"`` gives
    (1, 1, n_in * len(inputs)) as in ``windows``.
    """
    data = _as_columns(values)  # (T, columns)
    n_in = check_int(n_in, "n_in (look-back)", 1)
    _check_choice(framing, "framing", _FRAMINGS)
    x_cols = _columns(data, inputs, "inputs")
    if len(data) < n_in:
        raise InputError(f"look_back={n_in} needs at least {n_in} observations; the series has {len(data)}")
    window = x_cols[len(data) - n_in :][np.newaxis]  # (1, n_in, k_in)
    window.flags.writeable = False  # a view: the caller's array stays writeable
    return _lags_as_features(window) if framing == "features" else window


def _as_columns(values) -> np.ndarray:
    """Return ``values`` as a 2-D (time, columns) array without copying numpy or pandas data."""
    if isinstance(values, (pd.Series, pd.DataFrame)):
        values = values.to_numpy()
    values = np.asarray(values)
    if values.ndim == 1:
        return values[:, np.newaxis]
    if values.ndim != 2:
        raise InputError(f"values must be 1-D or 2-D (time, columns); got shape {values.shape}")
    return values


def _columns(data: np.ndarray, chosen: Sequence[int] | None, name: str) -> np.ndarray:
    """Return the chosen columns of ``data``, (T, k): a view when they are evenly spaced."""
    width = data.shape[1]
    if chosen is None:
        return data
    chosen = [chosen] if isinstance(chosen, (int, np.integer)) else list(chosen)
    bad = [c for c in chosen if isinstance(c, bool) or not isinstance(c, (int, np.integer))
           or not -width <= c < width]
    if not chosen or bad:
        raise InputError(
            f"{name} must be a non-empty list of column indices in 0..{width - 1}; got {chosen!r}"
        )
    idx = [int(c) % width for c in chosen]
    step = idx[1] - idx[0] if len(idx) > 1 else 1
    if step != 0 and idx == list(range(idx[0], idx[0] + step * len(idx), step)):
        stop = idx[-1] + step
        return data[:, idx[0] : (stop if stop >= 0 else None) : step]  # basic slice: a view
    # Irregular picks cannot be one strided view; copy those columns once (T x k, not per window).
    return data[:, idx]


def _lags_as_features(X: np.ndarray) -> np.ndarray:
    """Return X (samples, n_in, k) reframed as (samples, 1, n_in * k), read-only."""
    samples, n_in, k = X.shape
    framed = X.reshape(samples, 1, n_in * k)  # a view when lag and column strides line up
    framed.flags.writeable = False
    return framed


def _check_choice(value: str, name: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


@dataclass(frozen=True)
class WindowLayout:
    """How a configuration turns observations into training windows: the one place that counts them.

    ``warmup`` rows at the start are lost to the transforms (a difference at lag k loses k, a
    seasonal difference m, a level anchor 1); then every window takes ``look_back`` inputs and
    ``steps_out`` targets. The ``trim`` oldest windows are left out of training, the newest
    ``validation`` windows are held out to watch the validation loss.

    >>> layout = WindowLayout(look_back=12, batch_size=4)
    >>> layout.train_windows(24), layout.steps_per_epoch(24), layout.first_prediction
    (12, 3, 12)
    """

    look_back: int
    steps_out: int = 1
    warmup: int = 0
    trim: int = 0
    validation: int = 0
    batch_size: int = 32
    stateful: bool = False
    max_steps: int | None = None

    def windows(self, n_obs: int) -> int:
        """Return the windows ``n_obs`` observations give before trimming and validation (may be <= 0)."""
        return n_obs - self.warmup - self.look_back - self.steps_out + 1

    def train_windows(self, n_obs: int) -> int:
        """Return the windows training uses (may be <= 0 when the series is too short)."""
        return self.windows(n_obs) - self.trim - self.validation

    @property
    def needed(self) -> int:
        """Return the fewest observations that give one training window."""
        return self.warmup + self.look_back + self.steps_out + self.trim + self.validation

    @property
    def first_prediction(self) -> int:
        """Return the earliest position a one-step prediction can be made for.

        A stateful network replays the training windows from the first kept one, so trimmed
        windows come first too.
        """
        return self.warmup + self.look_back + (self.trim if self.stateful else 0)

    def steps_per_epoch(self, n_obs: int) -> int:
        """Return the optimizer steps of one epoch on ``n_obs`` training observations."""
        n = max(self.train_windows(n_obs), 0)
        return -(-n // max(1, min(self.batch_size, n))) if n else 0

    def total_steps(self, n_obs: int, epochs: int) -> int:
        """Return the optimizer steps of a whole fit (``max_steps`` caps it)."""
        steps = epochs * self.steps_per_epoch(n_obs)
        return steps if self.max_steps is None else min(steps, self.max_steps)

    def check(self, n_obs: int, what: str = "the series", parts: dict | None = None) -> int:
        """Return the training windows of ``n_obs`` observations, or raise InputError naming what they need.

        ``parts`` names the contributions to ``warmup`` (e.g. {"difference": 1}) for the message;
        a stateful batch size must divide the training windows.
        """
        n = self.train_windows(n_obs)
        if n < 1:
            named = [f"look_back {self.look_back}", f"steps_out {self.steps_out}"]
            named += [f"{k} {v}" for k, v in (parts or {}).items() if v]
            named += [f"{k} {v}" for k, v in (("trim", self.trim), ("validation_size", self.validation)) if v]
            raise InputError(f"{' + '.join(named)} need at least {self.needed} observations; {what} has {n_obs}")
        if self.stateful and n % self.batch_size:
            divisors = [b for b in range(1, min(self.batch_size, n) + 1) if n % b == 0]
            raise InputError(
                f"stateful training needs a batch_size that divides the {n} training samples; "
                f"batch_size={self.batch_size} does not (try batch_size={divisors[-1]}"
                + (f", or trim={n % self.batch_size} to drop the oldest windows)" if n > self.batch_size else ")")
            )
        return n
