"""Many series on the command line: --id-column gives per-series results from one global network."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from lstmcast.cli import app
from cli_assertions import assert_one_line_error  # noqa: E402

runner = CliRunner()
SMALL = ["--model", "vanilla", "--epochs", "3", "--units", "4", "--look-back", "3", "--difference", "1"]


def _panel_csv(tmp_path, lengths=(30, 36, 40)):
    rng = np.random.default_rng(0)
    rows = []
    for k, n in enumerate(lengths):
        index = pd.period_range("2001-01", periods=n, freq="M")
        values = 50 + 10 * k + np.cumsum(rng.normal(0, 1, n))
        rows += [{"unique_id": f"s{k}", "ds": str(t), "y": v} for t, v in zip(index, values)]
    path = tmp_path / "panel.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_evaluate_with_an_id_column_scores_every_series(tmp_path):
    result = runner.invoke(app, ["evaluate", str(_panel_csv(tmp_path)), "--id-column", "unique_id", "--test-size", "6",
                                 *SMALL, "--json"])
    assert result.exit_code == 0, result.stderr
    obj = json.loads(result.stdout)
    assert set(obj["series"]) == {"s0", "s1", "s2"}
    assert all(entry["n"] == 6 and entry["rmse"] > 0 for entry in obj["series"].values())
    pooled = np.sqrt(np.mean([entry["rmse"] ** 2 for entry in obj["series"].values()]))
    assert abs(obj["rmse"] - pooled) < 1e-9


def test_forecast_with_an_id_column_gives_dated_forecasts_per_series(tmp_path):
    result = runner.invoke(app, ["forecast", str(_panel_csv(tmp_path)), "--id-column", "unique_id", "--horizon", "3",
                                 *SMALL, "--json"])
    assert result.exit_code == 0, result.stderr
    series = json.loads(result.stdout)["series"]
    assert series["s0"]["index"] == ["2003-07", "2003-08", "2003-09"]  # 30 months from 2001-01
    assert series["s2"]["index"][0] == "2004-05"
    assert all(len(entry["forecast"]) == 3 for entry in series.values())


def test_an_unknown_id_column_is_a_one_line_error(tmp_path):
    assert_one_line_error(runner.invoke(app, ["evaluate", str(_panel_csv(tmp_path)), "--id-column", "store"]),
                          "--id-column", "store")


def test_forecast_with_an_id_column_and_levels_gives_bands_per_series(tmp_path):
    result = runner.invoke(app, ["forecast", str(_panel_csv(tmp_path)), "--id-column", "unique_id", "--horizon", "3",
                                 "--level", "80", "--level", "95", *SMALL, "--json"])
    assert result.exit_code == 0, result.stderr
    series = json.loads(result.stdout)["series"]
    for entry in series.values():
        assert set(entry["lower"]) == set(entry["upper"]) == {"80", "95"}
        for k, point in enumerate(entry["forecast"]):
            assert entry["lower"]["95"][k] <= entry["lower"]["80"][k] < point < entry["upper"]["80"][k]
            assert entry["upper"]["80"][k] <= entry["upper"]["95"][k]


def test_evaluate_with_an_id_column_and_a_level_scores_coverage(tmp_path):
    result = runner.invoke(app, ["evaluate", str(_panel_csv(tmp_path)), "--id-column", "unique_id", "--test-size", "6",
                                 "--horizon", "2", "--level", "80", *SMALL, "--json"])
    assert result.exit_code == 0, result.stderr
    obj = json.loads(result.stdout)
    assert 0 <= obj["coverage"]["80"] <= 100 and obj["width"]["80"] > 0
    assert all(0 <= entry["coverage"]["80"] <= 100 for entry in obj["series"].values())


def test_a_saved_panel_forecasts_from_its_file_as_when_fitted(tmp_path):
    path, model = _panel_csv(tmp_path), tmp_path / "m.lstm"
    fitted = runner.invoke(app, ["forecast", str(path), "--id-column", "unique_id", "--horizon", "3", "--level", "80",
                                 *SMALL, "--save", str(model), "--json"])
    assert fitted.exit_code == 0, fitted.stderr
    loaded = runner.invoke(app, ["forecast", "--id-column", "unique_id", "--model-file", str(model), "--horizon", "3",
                                 "--level", "80", "--json"])
    assert loaded.exit_code == 0, loaded.stderr
    assert json.loads(loaded.stdout)["series"] == json.loads(fitted.stdout)["series"]
    # new data: the same ids with a shorter history, and a new id that shares the network
    long = pd.read_csv(path)
    newer = pd.concat([long[long["unique_id"] == "s0"].iloc[:-4], long[long["unique_id"] == "s2"].assign(unique_id="new")])
    newer.to_csv(tmp_path / "new.csv", index=False)
    again = runner.invoke(app, ["forecast", str(tmp_path / "new.csv"), "--id-column", "unique_id", "--model-file",
                                str(model), "--horizon", "2", "--json"])
    assert again.exit_code == 0, again.stderr
    series = json.loads(again.stdout)["series"]
    assert series["s0"]["index"] == ["2003-03", "2003-04"] and len(series["new"]["forecast"]) == 2


def test_a_panel_file_without_an_id_column_is_a_one_line_error(tmp_path):
    model = tmp_path / "m.lstm"
    assert runner.invoke(app, ["forecast", str(_panel_csv(tmp_path)), "--id-column", "unique_id", *SMALL,
                               "--save", str(model)]).exit_code == 0
    assert_one_line_error(runner.invoke(app, ["forecast", "--model-file", str(model)]), "--id-column unique_id")
    # a saved model is not saved again: --save with --model-file was silently ignored
    assert_one_line_error(runner.invoke(app, ["forecast", "--id-column", "unique_id", "--model-file", str(model),
                                              "--save", str(tmp_path / "again.lstm")]), "drop --save")
    assert not (tmp_path / "again.lstm").exists()
    # new data is read by the saved panel's own columns: reading options are refused, not ignored
    assert_one_line_error(runner.invoke(app, ["forecast", str(_panel_csv(tmp_path)), "--id-column", "unique_id",
                                              "--model-file", str(model), "--column", "y"]), "rename the CSV's columns")
