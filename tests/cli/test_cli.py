"""The command line: the JSON contract of DESIGN.md, human output, plots, and one-line errors with exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from typer.testing import CliRunner

from lstmcast.cli import app
from lstmcast.cli.forecasting import Model
from lstmcast.data import datasets, load_data
from lstmcast.errors import TrainingDivergedError
from lstmcast.params import PARAMS
from lstmcast.evaluation import BASELINES, Drift, walk_forward
from cli_assertions import assert_one_line_error, assert_png  # noqa: E402

runner = CliRunner()
EVALUATE_KEYS = {"data", "config", "test_size", "repeats", "rmse", "ensemble_rmse", "baselines", "seconds"}
FORECAST_KEYS = {"data", "config", "index", "forecast", "method"}
LSTM_CONFIG_KEYS = set(PARAMS)  # every Forecaster parameter, defaults resolved
# a small network keeps the LSTM runs of these tests well under a second each
SMALL = ["--epochs", "3", "--units", "8"]


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def json_of(result) -> dict:
    """Return the single JSON object that stdout must hold, failing when there is anything else."""
    assert result.exit_code == 0, result.stderr
    obj = json.loads(result.stdout)  # raises on a second object or any stray text
    assert isinstance(obj, dict)
    return obj


# ---- registries and datasets ------------------------------------------------------------------------


def test_datasets_json_lists_name_length_and_first_and_last_period():
    obj = json_of(invoke("datasets", "--json"))
    rows = {row["name"]: row for row in obj["datasets"]}
    assert sorted(rows) == datasets.names()
    assert rows["shampoo"] == {"name": "shampoo", "column": "Sales", "length": 36, "first": "1991-01",
                                   "last": "1993-12", "frequency": "M", "season_length": 12}
    assert (rows["airline"]["length"], rows["airline"]["first"], rows["airline"]["last"]) == (144, "1949-01", "1960-12")


def test_datasets_prints_a_table():
    result = invoke("datasets")
    assert result.exit_code == 0
    assert "shampoo" in result.stdout and "1960-12" in result.stdout


# ---- evaluate -----------------------------------------------------------------------------------------


def test_evaluate_persistence_on_shampoo_has_the_seeds_rmse_136_761():
    obj = json_of(invoke("evaluate", "shampoo", "--model", "persistence", "--test-size", "12", "--json"))
    assert set(obj) == EVALUATE_KEYS
    assert round(obj["rmse"]["mean"], 3) == 136.761
    assert round(obj["baselines"]["persistence"], 3) == 136.761
    assert obj["rmse"]["runs"] == [obj["rmse"]["mean"]]
    assert obj["rmse"]["std"] == 0.0 and obj["rmse"]["min"] == obj["rmse"]["max"] == obj["rmse"]["mean"]
    assert (obj["data"], obj["test_size"], obj["repeats"]) == ("shampoo", 12, 1)
    assert obj["config"]["model"] == "persistence" and obj["config"]["refit"] is None
    assert set(obj["baselines"]) == set(BASELINES)
    assert obj["seconds"] >= 0


def test_evaluate_lstm_json_follows_the_contract():
    obj = json_of(invoke("evaluate", "shampoo", "--model", "vanilla", "--repeats", "2", *SMALL, "--json"))
    assert set(obj) == EVALUATE_KEYS
    assert set(obj["config"]) == LSTM_CONFIG_KEYS | {"refit"}
    assert obj["config"]["epochs"] == 3 and obj["config"]["units"] == 8
    assert (obj["config"]["look_back"], obj["config"]["scale"], obj["config"]["seed"]) == (1, "minmax-sym", 0)
    rmse = obj["rmse"]
    assert set(rmse) == {"mean", "std", "min", "max", "runs"} and len(rmse["runs"]) == 2
    assert rmse["mean"] == pytest.approx(np.mean(rmse["runs"]))
    assert rmse["std"] == pytest.approx(np.std(rmse["runs"], ddof=1))
    assert (rmse["min"], rmse["max"]) == (min(rmse["runs"]), max(rmse["runs"]))
    assert obj["repeats"] == 2 and obj["test_size"] == 12
    assert set(obj["baselines"]) == set(BASELINES) and all(isinstance(v, float) for v in obj["baselines"].values())


def test_evaluate_repeats_are_the_members_of_one_seeded_ensemble():
    from lstmcast.forecaster import Forecaster

    obj = json_of(invoke("evaluate", "shampoo", "--repeats", "2", "--seed", "5", *SMALL, "--json"))
    expected = walk_forward(Forecaster(epochs=3, units=8, members=2, seed=5), load_data("shampoo"), test_size=12)
    np.testing.assert_allclose(obj["rmse"]["runs"], expected.member_metrics["rmse"], rtol=1e-9)


def test_evaluate_is_deterministic_by_default():
    first = json_of(invoke("evaluate", "shampoo", *SMALL, "--json"))
    second = json_of(invoke("evaluate", "shampoo", *SMALL, "--json"))
    assert first["rmse"]["runs"] == second["rmse"]["runs"]


def test_evaluate_test_size_fraction_is_a_share_of_the_series():
    obj = json_of(invoke("evaluate", "shampoo", "--model", "drift", "--test-size", "0.25", "--json"))
    assert obj["test_size"] == 9


def test_evaluate_refit_refits_every_block_and_reports_it():
    obj = json_of(invoke("evaluate", "shampoo", "--model", "drift", "--refit", "4", "--json"))
    expected = walk_forward(Drift(), load_data("shampoo"), test_size=12, refit=4)
    assert obj["config"]["refit"] == 4
    assert obj["rmse"]["mean"] == pytest.approx(expected.rmse)


def test_progress_callbacks_follow_the_forecaster_into_every_refit_clone():
    calls = []
    spec = Model(None, "vanilla", {"units": 4, "epochs": 2})
    forecaster = spec.forecaster(callbacks=(lambda epoch, net, losses: calls.append(epoch),))
    assert type(clone(forecaster, safe=False)) is type(forecaster)
    assert repr(forecaster).startswith("Forecaster(")
    walk_forward(forecaster, load_data("shampoo"), test_size=12, refit=6)
    assert calls == [1, 2, 1, 2]  # two fits of two epochs each


def test_evaluate_skips_baselines_a_short_series_cannot_run(write_csv):
    rows = "\n".join(f"2000-{m:02d},{v}" for m, v in zip(range(1, 11), [3, 5, 4, 6, 8, 7, 9, 11, 10, 12]))
    path = write_csv("month,value\n" + rows + "\n")
    obj = json_of(invoke("evaluate", path, "--model", "persistence", "--test-size", "2", "--json"))
    assert set(obj["baselines"]) == {"persistence", "mean", "drift"}  # seasonal-naive needs 12 to train


def test_evaluate_human_output_is_a_short_table():
    result = invoke("evaluate", "shampoo", "--model", "persistence")
    assert result.exit_code == 0
    assert "136.761" in result.stdout and "seasonal-naive" in result.stdout
    assert len(result.stdout.splitlines()) < 15
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)


def test_json_stdout_holds_one_object_even_with_a_progress_bar():
    result = invoke("evaluate", "shampoo", *SMALL, "--json", "--progress")
    json_of(result)
    assert "epoch" in result.stderr  # the bar went to stderr


def test_json_without_progress_flag_keeps_stderr_quiet():
    result = invoke("evaluate", "shampoo", *SMALL, "--json")
    json_of(result)
    assert result.stderr == ""


def test_baseline_model_warns_that_lstm_options_are_ignored():
    result = invoke("evaluate", "shampoo", "--model", "mean", "--look-back", "3", "--json")
    json_of(result)
    assert "--look-back" in result.stderr and "ignored" in result.stderr


def test_evaluate_uses_the_last_csv_column_by_default_and_ignores_text_columns(write_csv):
    body = "\n".join(f"2001-{m:02d},note {m},{m * 2.0},{10.0 + m % 3}" for m in range(1, 13))
    path = write_csv("when,comment,other,target\n" + body + "\n")
    obj = json_of(invoke("evaluate", path, "--model", "persistence", "--test-size", "3", "--json"))
    target = np.array([10.0 + m % 3 for m in range(1, 13)])
    assert obj["rmse"]["mean"] == pytest.approx(np.sqrt(np.mean((target[-3:] - target[-4:-1]) ** 2)))
    other = json_of(invoke("evaluate", path, "--model", "persistence", "--test-size", "3", "--column", "other",
                           "--json"))
    assert other["rmse"]["mean"] == pytest.approx(2.0)


def test_evaluate_several_columns_model_the_last_from_all(write_csv):
    months = pd.period_range("2001-01", periods=20, freq="M")
    body = "\n".join(f"{p},{i},{i * 2.0},{i * 3.0}" for i, p in enumerate(months, start=1))
    path = write_csv("when,a,b,c\n" + body + "\n")
    obj = json_of(invoke("evaluate", path, "--column", "a,c", "--test-size", "4", *SMALL, "--json"))
    assert len(obj["rmse"]["runs"]) == 1


# ---- forecast -----------------------------------------------------------------------------------------


def test_forecast_airline_gives_the_twelve_months_of_1961():
    obj = json_of(invoke("forecast", "airline", "--model", "stacked", "--horizon", "12", "--epochs", "2", "--json"))
    assert set(obj) == FORECAST_KEYS
    assert obj["index"] == [f"1961-{m:02d}" for m in range(1, 13)]
    assert len(obj["forecast"]) == 12 and all(isinstance(v, float) for v in obj["forecast"])
    assert obj["method"] == "recursive"
    assert obj["config"]["model"] == "stacked" and obj["config"]["layers"] == 2
    assert LSTM_CONFIG_KEYS <= set(obj["config"]) and obj["config"]["horizon"] == 12


def test_forecast_within_steps_out_is_direct():
    obj = json_of(invoke("forecast", "shampoo", "--model", "vector", "--steps-out", "3", "--horizon", "3", *SMALL,
                         "--json"))
    assert obj["method"] == "direct" and obj["index"] == ["1994-01", "1994-02", "1994-03"]


def test_forecast_with_a_baseline_extends_the_data():
    obj = json_of(invoke("forecast", "shampoo", "--model", "drift", "--horizon", "3", "--json"))
    expected = Drift().fit(load_data("shampoo")).forecast(3)
    assert obj["forecast"] == pytest.approx(expected.tolist())
    assert obj["index"] == ["1994-01", "1994-02", "1994-03"] and obj["method"] == "direct"


def test_forecast_human_output_lists_periods():
    result = invoke("forecast", "shampoo", "--model", "persistence", "--horizon", "2")
    assert result.exit_code == 0
    assert "1994-01" in result.stdout and "1994-02" in result.stdout and "646.900" in result.stdout


# ---- plots --------------------------------------------------------------------------------------------


def test_evaluate_plot_writes_a_png(tmp_path):
    path = tmp_path / "evaluation.png"
    json_of(invoke("evaluate", "shampoo", "--repeats", "2", *SMALL, "--plot", path, "--json"))
    assert_png(path)


def test_forecast_plot_writes_a_png_with_member_spread(tmp_path):
    path = tmp_path / "forecast.png"
    result = invoke("forecast", "shampoo", "--horizon", "6", "--repeats", "2", *SMALL, "--plot", path)
    assert result.exit_code == 0, result.stderr
    assert_png(path)


def test_plot_into_a_missing_folder_fails_before_training(tmp_path, monkeypatch):
    from lstmcast.forecaster import Forecaster

    monkeypatch.setattr(Forecaster, "fit", lambda *a, **k: pytest.fail("trained before checking --plot"))
    result = invoke("forecast", "shampoo", "--plot", tmp_path / "nowhere" / "f.png")
    assert_one_line_error(result, "nowhere", "does not exist")


# ---- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["evaluate", "nosuchdata"], ["nosuchdata", "neither a bundled dataset"]),
        (["evaluate", "missing/file.csv"], ["file not found", "missing/file.csv"]),
        (["evaluate", "shampoo", "--column", "Price"], ["no column 'Price'"]),
        (["evaluate", "shampoo", "--test-size", "0"], ["--test-size", "at least 1"]),
        (["evaluate", "shampoo", "--test-size", "36"], ["--test-size=36", "the series has 36"]),
        (["evaluate", "shampoo", "--test-size", "1.5"], ["--test-size=1.5", "fraction"]),
        (["evaluate", "shampoo", "--test-size", "twelve"], ["--test-size", "'twelve'"]),
        (["evaluate", "shampoo", "--look-back", "0"], ["--look-back", "[1, 10000]", "got 0"]),
        (["forecast", "shampoo", "--look-back", "-3"], ["--look-back", "got -3"]),
        (["evaluate", "shampoo", "--look-back", "48"],
         ["--look-back 48 + --steps-out 1 need at least 49 observations; the training part (all but the last 12 "
          "of 36) has 24"]),
        (["evaluate", "shampoo", "--look-back", "20", "--difference", "4"],
         ["--look-back 20 + --steps-out 1 + difference 4 need at least 25 observations", "has 24"]),
        (["forecast", "shampoo", "--look-back", "40"], ["--look-back 40 + --steps-out 1 need at least 41", "has 36"]),
        (["evaluate", "shampoo", "--stateful", "--epochs", "1"], ["stateful", "--batch-size=32"]),
        (["evaluate", "shampoo", "--model", "cnn-lstm", "--epochs", "1"], ["--look-back=1", "--subsequences"]),
        (["evaluate", "shampoo", "--model", "seasonal-naive", "--test-size", "30"], ["needs 12"]),
        (["forecast", "shampoo", "--model", "seasonal-naive", "--column", "Sales", "--horizon", "0"], ["--horizon"]),
        (["evaluate", "shampoo", "--repeats", "0"], ["--repeats"]),
        (["evaluate", "shampoo", "--epochs", "0"], ["--epochs"]),
        (["evaluate", "shampoo", "--seed", "-1"], ["--seed"]),
        (["evaluate", "shampoo", "--dropout", "1"], ["--dropout"]),
        (["evaluate", "shampoo", "--learning-rate", "0"], ["--learning-rate"]),
        (["evaluate", "shampoo", "--refit", "-2"], ["--refit"]),
        (["evaluate", "shampoo", "--date-column", "Time"], ["--date-column"]),
        # Typer's own usage errors, printed on one line too
        (["evaluate", "shampoo", "--epochs", "many"], ["--epochs", "integer"]),
        (["evaluate", "shampoo", "--model", "transformer"], ["--model", "'transformer'"]),
        (["evaluate", "shampoo", "--scale", "log"], ["--scale"]),
        (["evaluate"], ["Missing argument 'DATA'"]),
        (["frobnicate"], ["No such command 'frobnicate'"]),
    ],
)
def test_bad_input_exits_2_with_a_one_line_message(args, fragments):
    assert_one_line_error(invoke(*args), *fragments)


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("month,value\n2000-01,1\n2000-02,abc\n2000-03,3\n2000-04,4\n", ["not numeric", "2000-02"]),
        ("month,value\n2000-01,1\n2000-02,\n2000-03,3\n2000-04,4\n", ["NaN", "2000-02"]),
        ("month,value\n2000-01,1\n2000-02,2\n2000-05,3\n2000-06,4\n", ["gap", "2000-05"]),
        ("month,value\n2000-01,1\n2000-01,2\n2000-02,3\n2000-03,4\n", ["duplicate"]),
        ("month,value\nsoon,1\nlater,2\nnever,3\n", ["does not hold dates"]),
        ("", ["empty"]),
        ("month,value\n", ["no data rows"]),
    ],
)
def test_bad_csv_exits_2_with_a_one_line_message(write_csv, text, fragments):
    path = write_csv(text)
    assert_one_line_error(invoke("evaluate", path, "--model", "persistence", "--test-size", "1", "--json"), *fragments)


def test_bad_csv_column_exits_2(write_csv):
    path = write_csv("month,value\n2000-01,1\n2000-02,2\n2000-03,3\n")
    assert_one_line_error(invoke("evaluate", path, "--column", "price", "--test-size", "1"), "no column 'price'")
    assert_one_line_error(invoke("evaluate", path, "--date-column", "when", "--test-size", "1"), "no column 'when'")


def test_diverged_training_exits_2_with_its_message(monkeypatch):
    from lstmcast.forecaster import Forecaster

    def diverge(self, y, callbacks=()):
        raise TrainingDivergedError("training loss became nan at epoch 3 (member(s) [0]);\nlower the learning rate")

    monkeypatch.setattr(Forecaster, "fit", diverge)
    assert_one_line_error(invoke("forecast", "shampoo", "--json"), "training loss became nan", "lower the learning")


def test_help_and_version():
    assert invoke("--help").exit_code == 0
    assert "evaluate" in invoke("--help").stdout
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == "lstmcast 0.1.0"


# ---- the installed entry point ------------------------------------------------------------------------


def _entry_point() -> str:
    beside = Path(sys.executable).parent / "lstmcast"
    found = str(beside) if beside.exists() else shutil.which("lstmcast")
    if found is None:
        pytest.skip("the lstmcast console script is not installed")
    return found


def test_installed_entry_point_prints_one_json_object():
    done = subprocess.run([_entry_point(), "evaluate", "shampoo", "--model", "persistence", "--test-size", "12",
                           "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    obj = json.loads(done.stdout)
    assert round(obj["rmse"]["mean"], 3) == 136.761 and round(obj["baselines"]["persistence"], 3) == 136.761


def test_installed_entry_point_reports_bad_input_on_one_line():
    done = subprocess.run([_entry_point(), "evaluate", "shampoo", "--look-back", "48", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: --look-back 48 + --steps-out 1 need at least 49 observations; the training part (all but the last "
        "12 of 36) has 24"
    ]
