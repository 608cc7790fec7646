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


# ---- fan charts and interval bands -------------------------------------------------------------

from matplotlib.collections import PolyCollection  # noqa: E402

from lstmcast.evaluation.baselines import Drift  # noqa: E402
from lstmcast.evaluation.walk_forward import walk_forward  # noqa: E402
from lstmcast.plots import evaluation_figure, forecast_figure  # noqa: E402


def fills(fig: Figure) -> list[PolyCollection]:
    (ax,) = fig.axes
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def legend_labels(fig: Figure) -> list[str]:
    (ax,) = fig.axes
    return [t.get_text() for t in ax.get_legend().get_texts()]


@pytest.fixture
def fan(shampoo) -> pd.DataFrame:
    """A forecast(h, level=[80, 95]) frame of Drift on shampoo: bands that widen with the step."""
    return Drift().fit(shampoo).forecast(6, level=[80, 95])


def test_fan_chart_shades_one_band_per_level_lighter_for_wider_levels(shampoo, fan):
    bands = {80: (fan["lower_80"], fan["upper_80"]), 95: (fan["lower_95"], fan["upper_95"])}
    fig = forecast_figure(shampoo, fan["forecast"], bands=bands)
    polys = fills(fig)
    assert len(polys) == 2
    by_label = dict(zip([p.get_label() for p in polys], polys))
    assert set(by_label) == {"80% interval", "95% interval"}
    assert by_label["95% interval"].get_alpha() < by_label["80% interval"].get_alpha()
    # the 95% band is drawn first, so the narrower 80% band lies on top of it
    assert [p.get_label() for p in polys] == ["95% interval", "80% interval"]
    assert {"history", "forecast", "80% interval", "95% interval"} <= set(legend_labels(fig))
    # the shaded area spans the band's values: its vertices reach the 95% bounds
    ys = polys[0].get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(fan["lower_95"].min()) and ys.max() == pytest.approx(fan["upper_95"].max())


def test_fan_chart_reads_the_bands_of_a_forecast_frame(shampoo, fan):
    assert sorted(p.get_label() for p in fills(forecast_figure(shampoo, fan))) == ["80% interval", "95% interval"]
    members = np.column_stack([fan["forecast"] - 1, fan["forecast"] + 1])
    assert len(fills(forecast_figure(shampoo, fan, members=members))) == 3
    only_80 = {80: (fan["lower_80"], fan["upper_80"])}
    assert [p.get_label() for p in fills(forecast_figure(shampoo, fan, bands=only_80))] == ["80% interval"]
    assert fills(forecast_figure(shampoo, fan["forecast"])) == []


def test_plot_forecast_writes_a_fan_chart_atomically(tmp_path, shampoo, fan):
    path = plot_forecast(shampoo, fan, tmp_path / "fan.png")
    assert read_png(path).shape[:2] == (500, 1000)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("bands, message", [
    ({80: ([1.0, 2.0], [3.0, 4.0])}, "2 lower and 2 upper values for a forecast of 6 steps"),
    ({80: [1.0] * 6}, "must be a pair"),
    ({150: ([1.0] * 6, [2.0] * 6)}, "150"),
    ([(80, 1.0)], "must map a level"),
])
def test_bad_bands_raise_input_error(shampoo, fan, bands, message):
    with pytest.raises(InputError, match=message):
        forecast_figure(shampoo, fan["forecast"], bands=bands)


def test_a_frame_without_a_forecast_column_is_refused(shampoo, fan):
    with pytest.raises(InputError, match="without a 'forecast' column"):
        forecast_figure(shampoo, fan.rename(columns={"forecast": "mean"}))


def test_one_step_evaluation_draws_one_band_per_level_under_the_actual_values(shampoo):
    result = walk_forward(Drift(), shampoo, test_size=12, level=[80, 95], baselines=())
    fig = evaluation_figure(shampoo, result.predictions, label="drift", folds=result.folds)
    polys = fills(fig)
    assert [p.get_label() for p in polys] == ["95% interval", "80% interval"]
    (ax,) = fig.axes
    actual = next(line for line in ax.lines if line.get_label() == "actual")
    assert all(actual.get_zorder() > p.get_zorder() for p in polys)
    assert "one-step" in ax.get_title()


def test_multi_step_evaluation_draws_each_origins_path_and_bands(tmp_path, shampoo):
    result = walk_forward(Drift(), shampoo, test_size=12, horizon=4, stride=3, level=[80, 95], baselines=())
    origins = result.folds["origin"].nunique()
    assert origins == 4
    fig = evaluation_figure(shampoo, result.predictions, label="drift", folds=result.folds)
    assert len(fills(fig)) == 2 * origins
    (ax,) = fig.axes
    paths = [line for line in ax.lines if line.get_linewidth() < 1 and line.get_linestyle() == "-"]
    assert len(paths) == origins
    # one legend entry per level and one for the paths, not one per origin
    labels = legend_labels(fig)
    assert labels.count("80% interval") == 1 and labels.count("drift: each origin's 4 steps") == 1
    assert "4-step" in ax.get_title()
    path = plot_evaluation(shampoo, result.predictions, tmp_path / "eval.png", folds=result.folds)
    read_png(path)
    assert leftovers(tmp_path) == []


def test_folds_without_intervals_add_no_bands(shampoo):
    result = walk_forward(Drift(), shampoo, test_size=12, baselines=())
    assert fills(evaluation_figure(shampoo, result.predictions, folds=result.folds)) == []


def test_a_table_that_is_not_a_folds_table_is_refused(shampoo):
    with pytest.raises(InputError, match=r"missing \['origin', 'step'\]"):
        evaluation_figure(shampoo, shampoo.iloc[-12:], folds=pd.DataFrame({"time": [1], "forecast": [2.0]}))
