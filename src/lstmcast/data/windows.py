"""Frame a series as supervised samples X[samples, steps, features] -> y[samples, n_out, targets].

One function covers every layout of seed 003, and the results are read-only strided views of
the input: framing 10 million points with a look-back of 48 allocates nothing of note.

>>> X, y = windows(np.arange(10, 100, 10), n_in=3)      # seed 003, univariate
>>> X[0, :, 0], y[0, :, 0]
(array([10, 20, 30]), array([40]))
"""

from __future__ import annotations

from collections.abc import Sequence

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
