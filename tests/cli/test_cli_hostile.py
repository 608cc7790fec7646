"""Hostile values from issue 14, one test each: refused with one line naming the limit, or a finite result.

Each case was a traceback, a null in the JSON or an absurd number with exit 0 when the issue was
filed. The limits quoted in the assertions are read from lstmcast.params, not copied here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstmcast.cli import app
from lstmcast.params import MAX_HORIZON, PARAMS
from cli_assertions import assert_one_line_error  # noqa: E402

runner = CliRunner()
TINY = ["--epochs", "1", "--units", "2"]  # training options that keep each run well under a second


def invoke(*args) -> object:
    return runner.invoke(app, [str(a) for a in args])


def json_of(result) -> dict:
    """Return the one JSON object on stdout of a successful command."""
    assert result.exit_code == 0, (result.exit_code, result.stderr, result.exception)
    obj = json.loads(result.stdout)
    assert isinstance(obj, dict)
    return obj


def monthly_csv(path: Path, values) -> Path:
    """Return ``path`` after writing ``values`` as a monthly CSV from 2000-01."""
    rows = [f"{2000 + i // 12}-{i % 12 + 1:02d},{v!r}" for i, v in enumerate(values)]
    path.write_text("Month,Value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def limit(name: str) -> str:
    """Return a parameter's upper bound as the messages write it (100000, not 100000.0)."""
    high = PARAMS[name].maximum
    return str(int(high)) if float(high).is_integer() else f"{high:g}"


# ---- divergence is never silent --------------------------------------------------------------------


def test_a_learning_rate_of_1e300_is_refused_or_gives_a_finite_rmse():
    result = invoke("evaluate", "shampoo", "--learning-rate", "1e300", "--epochs", "1", "--json")
    if result.exit_code == 0:
        rmse = json_of(result)["rmse"]
        assert all(isinstance(rmse[k], float) and math.isfinite(rmse[k]) for k in ("mean", "std", "min", "max"))
    else:
        assert_one_line_error(result, "--learning-rate")


BIDIRECTIONAL_RELU = ["forecast", "shampoo", "--model", "bidirectional", "--activation", "relu", "--epochs", "1",
                      "--units", "10", "--seed", "1", "--horizon", "6", "--json"]


def test_the_issues_bidirectional_relu_forecast_at_learning_rate_1000_is_an_error():
    result = invoke(*BIDIRECTIONAL_RELU, "--learning-rate", "1000")
    assert_one_line_error(result, "--learning-rate")


def test_an_exploding_forecast_at_the_largest_learning_rate_allowed_is_an_error_not_exit_0():
    # learning rate 100 is inside the declared range; the network's recursive forecast explodes
    # to about 1e33 (shampoo's values span about 560): an absurd forecast, which is an error
    result = invoke(*BIDIRECTIONAL_RELU, "--learning-rate", limit("learning_rate"))
    assert_one_line_error(result, "forecast")


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "1e300"])
def test_grid_learning_rate_is_refused_with_the_same_words_as_the_option(text, tmp_path):
    option = invoke("evaluate", "shampoo", "--learning-rate", text, "--json")
    grid = invoke("tune", "shampoo", "--grid", f"learning_rate={text}", "--dry-run", "--store", tmp_path / "s.db")
    assert_one_line_error(option, "--learning-rate")
    assert_one_line_error(grid, "--grid learning_rate")
    # the same declaration checks both: the rest of the message is identical
    assert option.stderr.split("must be", 1)[1] == grid.stderr.split("must be", 1)[1]


@pytest.mark.parametrize("scale", [1e200, 1e308])
@pytest.mark.parametrize("command", ["evaluate", "forecast"])
def test_data_whose_scale_overflows_float64_arithmetic_is_refused(command, scale, tmp_path):
    values = [scale * (0.5 + (i % 12) / 40) for i in range(36)]
    path = monthly_csv(tmp_path / "huge.csv", values)
    result = invoke(command, path, *TINY, "--json")
    assert_one_line_error(result, "huge.csv")


# ---- options without an upper bound ----------------------------------------------------------------


def test_a_horizon_of_1e11_is_refused_naming_the_limit():
    result = invoke("forecast", "shampoo", "--model", "persistence", "--horizon", "100000000000", "--json")
    assert_one_line_error(result, "--horizon", str(MAX_HORIZON))


@pytest.mark.parametrize("epochs", ["1000000000", "9223372036854775808"])
def test_a_billion_epochs_is_refused_naming_the_limit(epochs):
    result = invoke("evaluate", "shampoo", "--epochs", epochs, "--units", "2", "--json")
    assert_one_line_error(result, "--epochs", limit("epochs"))


def test_grid_epochs_beyond_the_limit_is_refused_naming_it(tmp_path):
    result = invoke("tune", "shampoo", "--grid", "epochs=4611686018427387904", "--dry-run",
                    "--store", tmp_path / "s.db")
    assert_one_line_error(result, "--grid epochs", limit("epochs"))


def test_twenty_thousand_units_are_refused_naming_the_limit():
    result = invoke("evaluate", "shampoo", "--units", "20000", "--epochs", "1", "--json")
    assert_one_line_error(result, "--units", limit("units"))


# ---- messages that mislead -------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["forecast", "shampoo", "--model", "persistence"],
    ["evaluate", "shampoo", "--model", "persistence"],
])
@pytest.mark.parametrize("name", ["p.txt", "p.pdf", "p"])
def test_a_plot_name_without_the_png_suffix_is_refused_and_nothing_is_written(args, name, tmp_path):
    target = tmp_path / name
    result = invoke(*args, "--plot", target)
    assert_one_line_error(result, "PNG", str(target))
    assert list(tmp_path.iterdir()) == []


def test_tune_refuses_a_diagnostics_plot_without_the_png_suffix_before_training(tmp_path):
    result = invoke("tune", "shampoo", "--grid", "epochs=1", "--repeats", "1", "--units", "2", "--diagnostics",
                    "--diagnostics-plot", tmp_path / "d.txt", "--store", tmp_path / "s.db")
    assert_one_line_error(result, "PNG", "d.txt")
    assert not (tmp_path / "d.txt").exists()


def test_a_plot_name_ending_in_upper_case_png_is_accepted(tmp_path):
    target = tmp_path / "forecast.PNG"
    result = invoke("forecast", "shampoo", "--model", "persistence", "--plot", target)
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("scale", ["minmax-sym", "minmax", "standard"])
def test_a_constant_series_forecasts_its_constant(scale, tmp_path):
    path = monthly_csv(tmp_path / "sevens.csv", [7.0] * 36)
    obj = json_of(invoke("forecast", path, "--model", "vanilla", "--scale", scale, *TINY, "--horizon", "3",
                         "--json"))
    assert obj["forecast"] == [7.0, 7.0, 7.0]


def test_a_constant_series_scores_zero_like_the_baselines(tmp_path):
    path = monthly_csv(tmp_path / "sevens.csv", [7.0] * 36)
    obj = json_of(invoke("evaluate", path, "--model", "vanilla", "--scale", "minmax-sym", *TINY, "--json"))
    assert obj["baselines"]["persistence"] == 0.0
    assert obj["rmse"]["mean"] == 0.0


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_study_name_is_refused(name, tmp_path):
    result = invoke("tune", "shampoo", "--grid", "epochs=1", "--name", name, "--dry-run", "--store", tmp_path / "s.db")
    assert_one_line_error(result, "name")

