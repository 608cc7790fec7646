"""Forecast and evaluation figures: valid PNG files, written atomically, without pyplot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from lstmcast.data import datasets
from lstmcast.errors import InputError
from lstmcast.plots import check_target, plot_evaluation, plot_forecast, save_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png(path: Path) -> np.ndarray:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    return image


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture
def shampoo() -> pd.Series:
    return datasets.load("shampoo")


def test_plot_evaluation_writes_a_png_with_baseline_and_member_band(tmp_path, shampoo):
    test = shampoo.iloc[-12:]
    predictions = test * 0.9
    members = np.stack([test.to_numpy() * 0.8, test.to_numpy() * 1.0])
    path = plot_evaluation(shampoo, predictions, tmp_path / "eval.png", label="vanilla",
                           baseline=shampoo.shift(1).iloc[-12:], members=members)
    assert path == tmp_path / "eval.png"
    image = read_png(path)
    assert image.shape[:2] == (500, 1000)
    assert leftovers(tmp_path) == []


def test_plot_forecast_writes_a_png_for_periods_dates_and_integers(tmp_path, shampoo):
    future = pd.Series([600.0, 610.0, 620.0], index=pd.period_range("1994-01", periods=3, freq="M"))
    members = pd.DataFrame({"member_0": future - 5, "member_1": future + 5})
    read_png(plot_forecast(shampoo, future, tmp_path / "periods.png", members=members))

    days = pd.Series(np.arange(30.0), index=pd.date_range("2020-01-01", periods=30, freq="D"))
    read_png(plot_forecast(days, pd.Series([30.0, 31.0], index=pd.date_range("2020-01-31", periods=2)),
                           tmp_path / "dates.png"))

    steps = pd.Series(np.sin(np.arange(20.0)))
    read_png(plot_forecast(steps, pd.Series([0.1, 0.2], index=[20, 21]), tmp_path / "steps.png",
                           members=np.array([[0.0, 0.2], [0.1, 0.3]])))
    assert leftovers(tmp_path) == []


def test_save_png_replaces_an_existing_file(tmp_path):
    path = tmp_path / "plot.png"
    path.write_bytes(b"old")
    fig = Figure()
    fig.add_subplot().plot([1, 2, 3])
    save_png(fig, path)
    read_png(path)
    assert leftovers(tmp_path) == []


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "plot.png"
    path.write_bytes(b"old")

    def broken(self, *args, **kwargs):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="renderer failed"):
        save_png(Figure(), path)
    assert path.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_the_png_gets_ordinary_file_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    path = save_png(Figure(), tmp_path / "plot.png")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("where, message", [("missing/plot.png", "does not exist"), (".", "is a folder")])
def test_unwritable_targets_raise_input_error(tmp_path, where, message):
    with pytest.raises(InputError, match=message):
        check_target(tmp_path / where)
    with pytest.raises(InputError, match=message):
        save_png(Figure(), tmp_path / where)


def test_plotting_never_imports_pyplot(tmp_path):
    code = (
        "import sys, pandas as pd\n"
        "from lstmcast.plots import plot_forecast\n"
        "y = pd.Series([1.0, 2.0, 3.0], index=pd.period_range('2000-01', periods=3, freq='M'))\n"
        f"plot_forecast(y, pd.Series([4.0], index=pd.period_range('2000-04', periods=1, freq='M')), {str(tmp_path / 'f.png')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    read_png(tmp_path / "f.png")
