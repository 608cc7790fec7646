"""The study commands: tune (grid x repeats, resumable, dry-run plan), studies, show and reproduce.

Every test passes its own ``--store`` under tmp_path; the grids are tiny (epochs 5-10, 1 unit,
2 repeats) so that a study trains in a fraction of a second and the file stays fast.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstmcast.cli import app
from lstmcast.experiments.plan import canonical
from lstmcast.experiments.store import Store
from lstmcast.experiments.study import Study
from cli_assertions import assert_one_line_error, assert_png  # noqa: E402

runner = CliRunner()
TUNE_KEYS = {"data", "study", "configs", "seconds"}  # DESIGN.md's tune contract
TUNE_EXTRA_KEYS = {"best", "baselines", "selected_on", "validation_tail", "planned_runs", "complete"}  # beyond the contract
DESCRIBE_KEYS = ["count", "mean", "std", "min", "25%", "50%", "75%", "max"]
SHAMPOO_PERSISTENCE = 136.761  # the seed's persistence RMSE on the last 12 months
# A stateful 1-unit LSTM on the differenced series, as the shampoo seed; batch sizes 1 and 2 divide its 22 windows.
BASE = ["--repeats", "2", "--units", "1", "--stateful", "--difference", "1"]
GRID = ["--grid", "epochs=5,10", "--grid", "batch_size=1,2"]
STUDY = "shampoo-epochs-batch_size"  # the default name: the data, then the grid's parameters


def invoke(*args) -> object:
    return runner.invoke(app, [str(a) for a in args])


def tune(store: Path, *extra) -> object:
    return invoke("tune", "shampoo", *GRID, *BASE, "--store", store, *extra)


def json_of(result) -> dict:
    """Return the single JSON object that stdout must hold, failing when there is anything else."""
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    obj = json.loads(result.stdout)  # raises on a second object or any stray text
    assert isinstance(obj, dict)
    return obj


def run_count(store: Path) -> int:
    with sqlite3.connect(store) as conn:
        return conn.execute("SELECT COUNT(*) FROM lc_runs").fetchone()[0]


def studies_json(store: Path) -> dict[str, dict]:
    obj = json_of(invoke("studies", "--store", store, "--json"))
    assert obj["store"] == str(store)
    return {row["name"]: row for row in obj["studies"]}


def without_seconds(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k != "seconds"}


@pytest.fixture(scope="module")
def tuned(tmp_path_factory) -> tuple[Path, dict]:
    """A store holding the 2 x 2 grid study, and the JSON that tune printed (shared, read-only)."""
    store = tmp_path_factory.mktemp("tuned") / "x.db"
    return store, json_of(tune(store, "--json"))


# ---- tune --json --------------------------------------------------------------------------------


def test_tune_json_holds_one_describe_table_per_grid_point(tuned):
    _, obj = tuned
    assert TUNE_KEYS <= set(obj) <= TUNE_KEYS | TUNE_EXTRA_KEYS
    assert (obj["data"], obj["study"]) == ("shampoo", STUDY)
    assert isinstance(obj["seconds"], float) and obj["seconds"] >= 0

    points = [(c["params"]["epochs"], c["params"]["batch_size"]) for c in obj["configs"]]
    assert sorted(points) == [(5, 1), (5, 2), (10, 1), (10, 2)]
    for config in obj["configs"]:
        params = config["params"]
        assert (params["units"], params["stateful"], params["difference"]) == (1, True, 1)
        assert "seed" not in params  # seeds are per repeat, set by the study
        rmse = config["rmse"]
        assert list(rmse) == DESCRIBE_KEYS
        assert rmse["count"] == 2
        assert all(isinstance(rmse[k], float) and math.isfinite(rmse[k]) for k in DESCRIBE_KEYS)
        assert rmse["min"] <= rmse["25%"] <= rmse["50%"] <= rmse["75%"] <= rmse["max"]
        assert rmse["min"] <= rmse["mean"] <= rmse["max"] and rmse["std"] >= 0
        assert rmse["50%"] == pytest.approx(rmse["mean"])  # two runs: the median is their mean


def test_tune_json_names_the_best_configuration_and_persistence(tuned):
    _, obj = tuned
    best = min(obj["configs"], key=lambda c: c["validation_rmse"]["mean"])["params"]
    assert obj["best"] == f"batch_size={best['batch_size']}, epochs={best['epochs']}"
    assert round(obj["baselines"]["persistence"], 3) == SHAMPOO_PERSISTENCE


def test_tune_json_prints_nothing_else_on_stdout_even_with_a_progress_bar(tmp_path):
    quiet = tune(tmp_path / "a.db", "--json")
    assert quiet.stderr == ""  # progress is off by default with --json
    json_of(quiet)

    loud = tune(tmp_path / "b.db", "--json", "--progress")
    assert "epoch" in loud.stderr  # the bar goes to stderr ...
    assert without_seconds(json_of(loud)) == without_seconds(json_of(quiet))  # ... and stdout is the JSON alone


def test_tune_prints_a_summary_table_without_json(tmp_path):
    result = tune(tmp_path / "x.db")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert f"study {STUDY} on shampoo" in out
    for label in ("batch_size=1, epochs=5", "batch_size=2, epochs=10"):
        assert label in out
    assert "persistence RMSE on the same split: 136.761" in out
    assert "best (lowest mean validation RMSE):" in out
    assert "8 runs" in out


def test_grid_names_may_use_dashes(tmp_path):
    obj = json_of(invoke("tune", "shampoo", "--grid", "batch-size=1,2", "--epochs", "5", *BASE,
                         "--store", tmp_path / "x.db", "--json"))
    assert obj["study"] == "shampoo-batch_size"
    assert [c["params"]["batch_size"] for c in obj["configs"]] == [1, 2]
    assert all(c["params"]["epochs"] == 5 for c in obj["configs"])


def test_name_option_names_the_study(tmp_path):
    obj = json_of(tune(tmp_path / "x.db", "--name", "mine", "--json"))
    assert obj["study"] == "mine"
    assert set(studies_json(tmp_path / "x.db")) == {"mine"}


# ---- resuming -----------------------------------------------------------------------------------


def test_rerunning_tune_resumes_without_training_again(tmp_path):
    store = tmp_path / "x.db"
    first = json_of(tune(store, "--json"))
    assert run_count(store) == 8
    assert studies_json(store)[STUDY]["runs"] == 8

    second = json_of(tune(store, "--json"))
    assert run_count(store) == 8
    row = studies_json(store)[STUDY]
    assert (row["runs"], row["configs"], row["data"]) == (8, 4, "shampoo")
    assert without_seconds(second) == without_seconds(first)
    assert second["seconds"] < 1  # nothing was trained


def test_a_study_cut_short_finishes_with_the_same_numbers(tmp_path):
    store = tmp_path / "x.db"
    full = json_of(tune(store, "--json"))
    with sqlite3.connect(store) as conn:  # forget the batch_size=2 group, as if killed before it finished
        ids = [r[0] for r in conn.execute(
            "SELECT r.id FROM lc_runs r JOIN lc_configs c ON r.config_id = c.id WHERE c.params LIKE '%\"batch_size\": 2%'")]
        assert len(ids) == 4
        marks = ",".join("?" * len(ids))
        conn.execute(f"DELETE FROM lc_predictions WHERE run_id IN ({marks})", ids)
        conn.execute(f"DELETE FROM lc_runs WHERE id IN ({marks})", ids)
    assert studies_json(store)[STUDY]["runs"] == 4

    dry = json_of(tune(store, "--dry-run", "--json"))
    assert (dry["runs"], dry["skipped_runs"]) == (4, 4)

    resumed = json_of(tune(store, "--json"))
    assert run_count(store) == 8
    assert resumed["configs"] == full["configs"]


def test_the_same_name_with_another_definition_is_refused(tmp_path):
    store = tmp_path / "x.db"
    json_of(tune(store, "--json"))
    result = invoke("tune", "shampoo", *GRID, *BASE, "--repeats", "3", "--store", store)
    assert_one_line_error(result, STUDY, "another definition", "--name")
    assert run_count(store) == 8


# ---- dry run ------------------------------------------------------------------------------------


def test_dry_run_prints_the_plan_and_trains_nothing(tmp_path):
    store = tmp_path / "x.db"
    result = tune(store, "--dry-run")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == (f"study {STUDY}: 2 group(s), 8 run(s) to train, 0 already stored; "
                        "each fit on 12 observations (validation tail 12, test 12)")
    groups = [line for line in lines if line.strip().startswith("group ")]
    assert len(groups) == 2  # one group per batch size; the epoch counts are snapshots of one run
    for line in groups:
        assert "2 members, 4 runs, 10 epochs" in line and "optimizer steps" in line
    # 36 months - 12 test - 12 validation - 1 difference - 1 look-back = 10 windows: 100 steps at batch 1, 50 at 2
    assert " 100 optimizer steps" in result.stdout and " 50 optimizer steps" in result.stdout
    assert run_count(store) == 0


def test_dry_run_json_lists_groups_members_and_steps(tmp_path):
    store = tmp_path / "x.db"
    obj = json_of(tune(store, "--dry-run", "--json"))
    assert obj["study"] == STUDY
    assert (obj["runs"], obj["skipped_runs"]) == (8, 0)
    assert sorted((g["params"]["batch_size"], g["members"], g["runs"], g["epochs"], g["steps"])
                  for g in obj["groups"]) == [(1, 2, 4, 10, 100), (2, 2, 4, 10, 50)]
    assert (obj["validation_tail"], obj["test_size"]) == (12, 12)
    assert run_count(store) == 0


def test_dry_run_after_a_finished_study_has_nothing_left_to_train(tuned):
    store, _ = tuned
    obj = json_of(tune(store, "--dry-run", "--json"))
    assert (obj["groups"], obj["runs"], obj["skipped_runs"]) == ([], 0, 8)


def test_dry_run_leaves_the_name_free_for_a_changed_study(tmp_path):
    store = tmp_path / "x.db"
    json_of(tune(store, "--dry-run", "--json"))
    result = invoke("tune", "shampoo", "--grid", "epochs=5,10", "--grid", "batch_size=1,2", *BASE, "--units", "2",
                    "--store", store, "--json")
    assert json_of(result)["study"] == STUDY


def test_dry_run_with_the_seeds_protocol_fits_on_the_whole_training_part(tmp_path):
    obj = json_of(tune(tmp_path / "x.db", "--dry-run", "--json", "--validation-tail", "0"))
    # 36 - 12 test - 1 difference - 1 look-back = 22 windows: 220 steps at batch 1, 110 at batch 2
    assert sorted(g["steps"] for g in obj["groups"]) == [110, 220] and obj["validation_tail"] == 0


# ---- validation and test side by side -----------------------------------------------------------


def test_tune_prints_validation_and_test_side_by_side_and_chooses_on_validation(tuned):
    store, _ = tuned
    out = invoke("show", STUDY, "--store", store).stdout
    header = out.splitlines()[1]
    assert "validation" in header and "test" in header and header.index("validation") < header.index("test")
    assert "best (lowest mean validation RMSE):" in out and "INCOMPLETE" not in out
    shown = json_of(invoke("show", STUDY, "--store", store, "--json"))
    assert shown["selected_on"] == "validation" and shown["complete"] is True
    best = min(shown["configs"], key=lambda c: c["validation_rmse"]["mean"])
    assert shown["best"] == ", ".join(f"{k}={best['params'][k]}" for k in ("batch_size", "epochs"))


def test_show_flags_an_incomplete_study(tmp_path):
    store = tmp_path / "x.db"
    json_of(tune(store, "--json"))
    with sqlite3.connect(store) as conn:
        conn.execute("DELETE FROM lc_predictions")
        conn.execute("DELETE FROM lc_runs WHERE repeat = 1")
    conn.close()
    out = invoke("show", STUDY, "--store", store).stdout
    assert "INCOMPLETE: 4 of 8 planned runs are stored" in out
    assert json_of(invoke("show", STUDY, "--store", store, "--json"))["complete"] is False


# ---- studies and show ---------------------------------------------------------------------------


def test_studies_lists_the_stored_study(tuned):
    store, _ = tuned
    row = studies_json(store)[STUDY]
    assert (row["data"], row["configs"], row["runs"]) == ("shampoo", 4, 8)
    assert row["seconds"] >= 0 and row["created"]

    result = invoke("studies", "--store", store)
    assert result.exit_code == 0, result.stderr
    assert STUDY in result.stdout and "shampoo" in result.stdout


def test_studies_without_a_store_is_an_error(tmp_path):
    assert_one_line_error(invoke("studies", "--store", tmp_path / "none.db"), "no store at", "none.db")


def test_studies_of_an_empty_store_says_so(tmp_path):
    Store(tmp_path / "x.db").close()
    result = invoke("studies", "--store", tmp_path / "x.db")
    assert result.exit_code == 0, result.stderr
    assert "no studies" in result.stdout
    assert studies_json(tmp_path / "x.db") == {}


def test_show_json_repeats_what_tune_printed_without_training(tuned, monkeypatch):
    store, printed = tuned
    monkeypatch.setattr(Study, "run", lambda *a, **k: pytest.fail("show must not train"))
    shown = json_of(invoke("show", STUDY, "--store", store, "--json"))
    assert without_seconds(shown) == without_seconds(printed)
    assert shown["seconds"] >= 0
    assert run_count(store) == 8


def test_show_prints_the_summary_table(tuned):
    store, _ = tuned
    result = invoke("show", STUDY, "--store", store)
    assert result.exit_code == 0, result.stderr
    assert f"study {STUDY} on shampoo" in result.stdout
    assert "batch_size=2, epochs=10" in result.stdout and "8 runs" in result.stdout


def test_show_an_unknown_study_names_the_stored_ones(tuned):
    store, _ = tuned
    assert_one_line_error(invoke("show", "nope", "--store", store), "'nope'", f"stored studies: {STUDY}")
    assert_one_line_error(invoke("show", "nope", "--store", store, "--json"), "'nope'", STUDY)


def test_show_without_a_store_is_an_error(tmp_path):
    assert_one_line_error(invoke("show", STUDY, "--store", tmp_path / "none.db"), "no store at")


def test_show_json_of_a_study_with_no_finished_runs(tmp_path):
    # the state a study is in when the process is killed before its first group commits
    store = Store(tmp_path / "x.db")
    study = Study("shampoo", grid={"epochs": [5, 10]}, repeats=2, base={"units": 1})
    store.open_study(study.study_name, "shampoo", study.spec(), [(canonical(c), c) for c in study.config_list()])
    store.close()
    obj = json_of(invoke("show", "shampoo-epochs", "--store", tmp_path / "x.db", "--json"))
    assert len(obj["configs"]) == 2
    assert all(c["rmse"]["mean"] is None for c in obj["configs"])


# ---- plots --------------------------------------------------------------------------------------


def test_tune_writes_the_box_plot_and_the_diagnostics_plot(tmp_path):
    store, box, diag = tmp_path / "x.db", tmp_path / "box.png", tmp_path / "diag.png"
    obj = json_of(tune(store, "--diagnostics", "--plot", box, "--diagnostics-plot", diag, "--json"))
    assert len(obj["configs"]) == 4
    assert_png(box)
    assert_png(diag)

    # show draws both again from the store alone
    box2, diag2 = tmp_path / "box2.png", tmp_path / "diag2.png"
    result = invoke("show", STUDY, "--store", store, "--plot", box2, "--diagnostics-plot", diag2)
    assert result.exit_code == 0, result.stderr
    assert_png(box2)
    assert_png(diag2)


def test_diagnostics_plot_without_diagnostics_is_refused_before_training(tmp_path):
    store = tmp_path / "x.db"
    assert_one_line_error(tune(store, "--diagnostics-plot", tmp_path / "d.png"), "--diagnostics-plot", "--diagnostics")
    assert not (tmp_path / "d.png").exists()
    assert not store.exists() or run_count(store) == 0


def test_show_diagnostics_plot_of_a_study_without_diagnostics_is_an_error(tuned, tmp_path):
    store, _ = tuned
    assert_one_line_error(invoke("show", STUDY, "--store", store, "--diagnostics-plot", tmp_path / "d.png"),
                          "--diagnostics")


def test_plot_into_a_missing_folder_is_refused_before_training(tmp_path):
    store = tmp_path / "x.db"
    assert_one_line_error(tune(store, "--plot", tmp_path / "missing" / "box.png"), "missing")
    assert not store.exists() or run_count(store) == 0


# ---- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("grid", "fragments"), [
    (["--grid", "epochs"], ["--grid", "NAME=V1,V2", "'epochs'"]),
    (["--grid", "epochs="], ["--grid", "NAME=V1,V2"]),
    (["--grid", "=1,2"], ["--grid", "NAME=V1,V2"]),
    (["--grid", "nonsense=1,2"], ["unknown parameter", "nonsense", "epochs"]),
    (["--grid", "seed=1,2"], ["seed", "--repeats"]),
    (["--grid", "members=1,2"], ["members", "--repeats"]),
    (["--grid", "epochs=5", "--grid", "epochs=10"], ["--grid epochs", "twice"]),
    (["--grid", "batch_size=1", "--grid", "batch-size=2"], ["--grid batch_size", "twice"]),
    (["--grid", "epochs=5,5"], ["listed twice"]),
    (["--grid", "epochs=,"], ["no configurations"]),
    (["--grid", "epochs=0"], ["epochs", "0"]),
    (["--grid", "model=lstm"], ["model", "'lstm'"]),
], ids=["no-equals", "no-values", "no-name", "unknown", "seed", "members", "twice", "twice-dash", "duplicate-point",
        "empty-list", "zero-epochs", "unknown-model"])
def test_bad_grid_is_one_line_error(tmp_path, grid, fragments):
    assert_one_line_error(invoke("tune", "shampoo", *grid, *BASE, "--batch-size", "1", "--store", tmp_path / "x.db"),
                          *fragments)


@pytest.mark.parametrize("grid", ["epochs=abc", "batch_size=abc"])
def test_non_numeric_grid_value_is_one_line_error(tmp_path, grid):
    assert_one_line_error(invoke("tune", "shampoo", "--grid", grid, *BASE, "--batch-size", "1",
                                 "--store", tmp_path / "x.db"), grid.split("=")[0], "abc")


def test_missing_grid_is_one_line_error(tmp_path):
    assert_one_line_error(invoke("tune", "shampoo", *BASE, "--store", tmp_path / "x.db"), "--grid")


@pytest.mark.parametrize("repeats", ["0", "-1"])
def test_repeats_below_one_is_one_line_error(tmp_path, repeats):
    result = invoke("tune", "shampoo", "--grid", "epochs=5", "--repeats", repeats, "--store", tmp_path / "x.db")
    assert_one_line_error(result, "--repeats", "at least 1")


@pytest.mark.parametrize("model", ["lstm", "persistence"])
def test_tune_model_must_be_an_lstm_architecture(tmp_path, model):
    result = invoke("tune", "shampoo", "--grid", "epochs=5", "--model", model, "--store", tmp_path / "x.db")
    assert_one_line_error(result, "--model", repr(model), "vanilla", "encoder-decoder")


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_store_in_a_missing_folder_is_one_line_error(tmp_path, dry_run):
    store = tmp_path / "missing" / "x.db"
    assert_one_line_error(tune(store, *dry_run), "cannot open the store", "does not exist")
    assert not store.parent.exists()


def test_a_store_that_is_not_sqlite_is_one_line_error(tmp_path):
    store = tmp_path / "x.db"
    store.write_text("not a database\n" * 100)
    assert_one_line_error(tune(store), "x.db", "not a usable lstmcast store")
    assert_one_line_error(invoke("studies", "--store", store), "not a usable lstmcast store")


def test_unknown_data_is_one_line_error(tmp_path):
    assert_one_line_error(invoke("tune", "no-such-data", "--grid", "epochs=5", "--store", tmp_path / "x.db"),
                          "no-such-data")


def test_a_failed_study_does_not_block_the_corrected_command(tmp_path):
    store = tmp_path / "x.db"
    # stateful training with the default batch size 32 does not divide the 22 training windows
    failed = invoke("tune", "shampoo", "--grid", "epochs=5", *BASE, "--store", store)
    assert_one_line_error(failed, "--batch-size")
    fixed = invoke("tune", "shampoo", "--grid", "epochs=5", *BASE, "--batch-size", "1", "--store", store, "--json")
    assert json_of(fixed)["study"] == "shampoo-epochs"


# ---- reproduce ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_reproduce_shampoo_batch_size_puts_ours_beside_the_published_means(tmp_path):
    store = tmp_path / "x.db"
    obj = json_of(invoke("reproduce", "shampoo-batch-size", "--repeats", "2", "--store", store, "--json"))
    assert set(obj) == {"data", "study", "tables", "baselines", "seconds", "selected_on"}
    assert obj["selected_on"] == "test"  # the seed's protocol, labelled
    assert (obj["data"], obj["study"]) == ("shampoo", "shampoo-batch-size-r2")
    assert list(obj["tables"]) == ["shampoo-batch-size"]
    rows = obj["tables"]["shampoo-batch-size"]
    assert [row["value"] for row in rows] == [1, 2, 4]
    assert all(row["param"] == "batch_size" for row in rows)
    assert [row["published_mean"] for row in rows] == [98.697, 102.643, 100.320]
    assert [row["published_std"] for row in rows] == [12.228, 9.144, 15.958]
    for row in rows:
        assert row["rmse"]["count"] == 2
        assert math.isfinite(row["rmse"]["mean"]) and row["rmse"]["mean"] > 0
    assert round(obj["baselines"]["persistence"], 3) == SHAMPOO_PERSISTENCE
    assert studies_json(store)["shampoo-batch-size-r2"]["runs"] == 6

    # run again: resumed from the store, same numbers, nothing trained
    again = json_of(invoke("reproduce", "shampoo-batch-size", "--repeats", "2", "--store", store, "--json"))
    assert again["tables"] == obj["tables"]
    assert run_count(store) == 6


def test_reproduce_an_unknown_name_lists_the_valid_ones(tmp_path):
    result = invoke("reproduce", "shampoo-nope", "--store", tmp_path / "x.db")
    assert_one_line_error(result, "'shampoo-nope'", "shampoo-epochs", "shampoo-batch-size", "shampoo-neurons",
                          "shampoo-all", "airline")


def test_reproduce_repeats_below_one_is_one_line_error(tmp_path):
    assert_one_line_error(invoke("reproduce", "shampoo-batch-size", "--repeats", "0", "--store", tmp_path / "x.db"),
                          "--repeats")


def test_reproduce_diagnostics_plot_without_diagnostics_is_refused_before_training(tmp_path, monkeypatch):
    monkeypatch.setattr(Study, "run", lambda *a, **k: pytest.fail("trained before checking the options"))
    result = invoke("reproduce", "shampoo-batch-size", "--repeats", "1", "--store", tmp_path / "x.db",
                    "--diagnostics-plot", tmp_path / "d.png")
    assert_one_line_error(result, "--diagnostics-plot", "--diagnostics")


def test_reproduce_plot_into_a_missing_folder_is_refused_before_training(tmp_path, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking --plot")

    monkeypatch.setattr(Study, "run", no_training)
    result = invoke("reproduce", "shampoo-batch-size", "--repeats", "1", "--store", tmp_path / "x.db",
                    "--plot", tmp_path / "missing" / "box.png")
    assert_one_line_error(result, "missing")
