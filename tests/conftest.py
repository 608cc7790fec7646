"""Shared fixtures: seed 003's toy sequences and a CSV-writing helper."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lstmcast.data import datasets


@pytest.fixture
def toy_sequence() -> np.ndarray:
    """Seed 003's univariate sequence [10, 20, ..., 90], shape (9,)."""
    return np.array(datasets.toy_univariate(), order="C")  # a plain writeable array, as in the seed


@pytest.fixture
def toy_dataset() -> np.ndarray:
    """Seed 003's dataset hstack((in_seq1, in_seq2, out_seq)), shape (9, 3): rows [10 15 25] .. [90 95 185]."""
    return np.array(datasets.toy_multivariate(), order="C")  # row-major, like the seed's hstack


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[[str], Path]:
    """Return a function that writes text to a fresh CSV file under tmp_path and returns its path."""
    counter = iter(range(1_000_000))

    def write(text: str, name: str | None = None) -> Path:
        path = tmp_path / (name or f"data{next(counter)}.csv")
        path.write_text(text, encoding="utf-8")
        return path

    return write
