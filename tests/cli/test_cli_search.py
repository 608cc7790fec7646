"""lstmcast search: one JSON object, the best trial chosen on validation, resumable by name, one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lstmcast.cli import app
from cli_assertions import assert_one_line_error  # noqa: E402

runner = CliRunner()
SPACE = ["--space", "epochs=2..5", "--space", "units=2,3"]


def _search(tmp_path, *extra):
    args = ["search", "shampoo", "--trials", "3", "--repeats", "2", "--store", str(tmp_path / "s.db"),
            "--workers", "1", *SPACE, *extra]
    return runner.invoke(app, args)


def test_search_json_reports_every_trial_and_the_best_on_validation(tmp_path):
    result = _search(tmp_path, "--json")

    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["selected_on"] == "validation" and len(out["trials"]) == 3
    done = [t for t in out["trials"] if t["state"] == "COMPLETE"]
    assert out["best"] == min(done, key=lambda t: t["validation_rmse"])
    assert all(t["test_rmse"] is not None for t in out["trials"])


def test_search_prints_the_best_with_its_test_score_reported_apart(tmp_path):
    result = _search(tmp_path)

    assert result.exit_code == 0, result.output
    assert "best (lowest mean validation RMSE over 2 members)" in result.stdout
    assert "test RMSE" in result.stdout and "never used to choose" in result.stdout
    assert "optuna-dashboard sqlite:///" in result.stdout


@pytest.mark.parametrize("space, fragment", [("colour=1..2", "unknown or fixed parameter 'colour'"),
                                             ("units=9..3", "low end must be below")])
def test_a_bad_space_is_one_line_error(tmp_path, space, fragment):
    result = runner.invoke(app, ["search", "shampoo", "--trials", "1", "--space", space, "--store",
                                 str(tmp_path / "s.db")])
    assert_one_line_error(result, fragment)


def test_zero_trials_is_one_line_error(tmp_path):
    assert_one_line_error(_search(tmp_path, "--trials", "0"), "--trials")
