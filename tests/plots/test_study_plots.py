"""Study figures: box plots of test RMSE and per-epoch diagnostics, written as readable PNG files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from lstmcast.errors import InputError
from lstmcast.experiments.study import Study
from lstmcast.plots.study import boxplot, diagnostics

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SHAMPOO = {"units": 1, "batch_size": 4, "stateful": True, "difference": 1, "trim": 2, "look_back": 1}


def _assert_png(path, width: int | None = None, height: int | None = None) -> np.ndarray:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    if width is not None:
        assert image.shape[:2] == (height, width)
    assert image[..., :3].std() > 0  # something is drawn
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # no temporary file left
    return image


def _scores(n_configs: int, repeats: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({f"epochs={500 * (k + 1)}": 100 + 10 * rng.normal(size=repeats) for k in range(n_configs)})


def _curves(n_configs: int, repeats: int = 3, epochs: int = 8) -> pd.DataFrame:
    rows = []
    for k in range(n_configs):
        for rep in range(repeats):
            for split, level in (("train", 80.0), ("test", 120.0)):
                for e in range(1, epochs + 1):
                    rows.append({"config": f"units={k + 1}", "repeat": rep, "seed": 7 + rep, "epoch": e,
                                 "split": split, "rmse": level + 50.0 / e + rep})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("n_configs", [1, 5])
@pytest.mark.parametrize("persistence", [None, 136.761])
def test_boxplot_writes_a_png(tmp_path, n_configs, persistence):
    path = tmp_path / "box.png"
    assert boxplot(_scores(n_configs), path, persistence=persistence) == path
    # 100 dpi: 6 inches wide at least, 1.2 more per box beyond that
    _assert_png(path, width=int(round(100 * max(6, 1.2 * n_configs + 2))), height=450)


def test_boxplot_skips_missing_scores(tmp_path):
    scores = _scores(2)
    scores.iloc[:2, 1] = np.nan  # a configuration with fewer finished repeats
    _assert_png(boxplot(scores, tmp_path / "box.png", title="partial"))


@pytest.mark.parametrize("n_configs, size", [(1, (500, 350)), (3, (1500, 350)), (4, (1500, 700))])
def test_diagnostics_writes_one_panel_per_configuration(tmp_path, n_configs, size):
    path = tmp_path / "diagnostics.png"
    assert diagnostics(_curves(n_configs), path) == path
    _assert_png(path, width=size[0], height=size[1])  # up to three panels a row


def test_plots_of_a_real_study(tmp_path):
    result = Study("shampoo", grid={"epochs": [3, 6]}, repeats=2, base=SHAMPOO, diagnostics=True).run()
    _assert_png(boxplot(result.scores(), tmp_path / "box.png", persistence=result.persistence))
    _assert_png(diagnostics(result.diagnostics(), tmp_path / "diag.png"))

    one = Study("shampoo", grid={"epochs": [3]}, repeats=2, base=SHAMPOO, diagnostics=True).run()
    _assert_png(boxplot(one.scores(), tmp_path / "box1.png"))
    _assert_png(diagnostics(one.diagnostics(), tmp_path / "diag1.png"))


def test_an_existing_file_is_replaced(tmp_path):
    path = tmp_path / "box.png"
    path.write_bytes(b"old")
    _assert_png(boxplot(_scores(2), path))


def test_a_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        boxplot(_scores(2), tmp_path / "nope" / "box.png")
    with pytest.raises(InputError, match="does not exist"):
        diagnostics(_curves(1), tmp_path / "nope" / "diag.png")


def test_diagnostics_of_a_study_without_them_is_an_input_error(tmp_path):
    empty = pd.DataFrame(columns=["config", "repeat", "seed", "epoch", "split", "rmse"])
    with pytest.raises(InputError, match="diagnostics"):
        diagnostics(empty, tmp_path / "diag.png")
