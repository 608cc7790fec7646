"""Input and saved-state checks shared by the skeleton transforms and their cursors.

Each helper either returns its input as the transforms expect it (a 1-D float64 array, the
finite part to fit on) or raises the one error that names the problem: InputError for bad
input, ModelFileError for a corrupt saved state, NotFittedError before ``fit``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from lstmcast.errors import InputError, ModelFileError, NotFittedError


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
