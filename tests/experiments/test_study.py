"""Studies: grids x repeats trained group by group, read back as summaries, snapshots and diagnostics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lstmcast.data.datasets import load as load_dataset
from lstmcast.errors import InputError
from lstmcast.experiments.store import Store
from lstmcast.experiments.study import Study, StudyResult
from lstmcast.forecaster import Forecaster

# seed 002's stateful shampoo model, trained for a handful of epochs
SHAMPOO = {"units": 1, "batch_size": 4, "stateful": True, "difference": 1, "trim": 2, "look_back": 1}
STATS = ["count", "mean", "std", "min", "25%", "50%", "75%", "max"]


def _study(**kwargs) -> Study:
    # the seeds' protocol (no validation tail): runs compare with solo fits on the whole training part;
    # test_validation.py covers the validation tail
    args = {"grid": {"epochs": [5, 10]}, "repeats": 3, "base": SHAMPOO, "test_size": 12, "validation_tail": 0}
    return Study("shampoo", **{**args, **kwargs})


@pytest.fixture(scope="module")
def shampoo() -> pd.Series:
    return load_dataset("shampoo")


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> StudyResult:
    store = Store(tmp_path_factory.mktemp("study") / "studies.db")
    return _study(diagnostics=True).run(store)


def _one_step_rmse(params: dict, seed: int, y: pd.Series, test: int) -> tuple[float, np.ndarray]:
    """Return the test RMSE and predictions of one solo Forecaster, as the seeds' walk-forward scores it."""
    start = len(y) - test
    f = Forecaster(**{**params, "seed": [seed]}).fit(y.iloc[:start])
    pred = f.predict(y, start)
    return float(np.sqrt(np.mean((pred - y.to_numpy()[start:]) ** 2))), pred


def test_summary_has_describe_columns_and_one_row_per_configuration(result):
    table = result.summary()

    assert list(table.columns) == STATS
    assert list(table.index) == ["epochs=5", "epochs=10"]
    assert (table["count"] == 3).all()
    assert table.notna().all().all()
    runs = result.runs
    for key, params in result.configs:
        rmse = runs.loc[runs["config"] == key, "rmse"]
        assert table.loc[f"epochs={params['epochs']}", "mean"] == pytest.approx(rmse.mean())


def test_runs_are_one_per_configuration_and_repeat(result):
    runs = result.runs
    assert len(runs) == 6
    assert not runs.duplicated(["config", "repeat"]).any()
    assert set(runs["status"]) == {"done"}
    assert np.isfinite(runs["rmse"]).all()
    assert [m["rmse"] for m in runs["metrics"]] == runs["rmse"].tolist()
    # both epoch counts of a repeat are snapshots of one model: one seed per repeat
    assert runs.groupby("repeat")["seed"].nunique().eq(1).all()
    assert runs["seed"].nunique() == 3


def test_best_names_the_configuration_with_the_lowest_mean(result):
    label, params = result.best()
    means = result.summary()["mean"]

    assert label == means.idxmin()
    assert params == {**SHAMPOO, "epochs": int(label.split("=")[1])}


def test_scores_are_a_repeat_by_configuration_table(result):
    scores = result.scores()
    assert scores.shape == (3, 2)
    assert list(scores.columns) == ["epochs=5", "epochs=10"]
    assert scores.mean().tolist() == pytest.approx(result.summary()["mean"].tolist())


def test_persistence_is_the_seeds_shampoo_baseline(result):
    assert round(result.persistence, 3) == 136.761


def test_a_snapshot_run_equals_a_separately_trained_run(result, shampoo):
    runs = result.runs
    predictions = result.store.predictions(result.study_id)
    for key, params in result.configs:
        for _, run in runs[runs["config"] == key].iterrows():
            if run["repeat"] == 1:
                continue  # two repeats per configuration are enough here
            rmse, pred = _one_step_rmse(params, int(run["seed"]), shampoo, 12)
            assert run["rmse"] == pytest.approx(rmse, abs=1e-6), params
            np.testing.assert_allclose(predictions[(key, run["repeat"])], pred, atol=1e-6)
            assert run["metrics"]["mae"] == pytest.approx(np.mean(np.abs(pred - shampoo.to_numpy()[-12:])), abs=1e-6)


def test_members_of_different_widths_equal_separately_trained_runs(shampoo):
    # units 1 and 2 train as one zero-padded ensemble; each run must still be its own solo model
    study = _study(grid={"units": [2, 1], "epochs": [6]}, repeats=2)
    assert len(study.plan().groups) == 1
    result = study.run()
    for _, run in result.runs.iterrows():
        params = json.loads(run["config"])
        rmse, _ = _one_step_rmse(params, int(run["seed"]), shampoo, 12)
        assert run["rmse"] == pytest.approx(rmse, abs=1e-6), params


def test_diagnostics_hold_every_epoch_of_every_run_and_end_at_its_rmse(result):
    frame = result.diagnostics()
    assert list(frame.columns) == ["config", "repeat", "seed", "epoch", "split", "rmse"]
    assert np.isfinite(frame["rmse"]).all()
    for _, run in result.runs.iterrows():
        label = "epochs=5" if json.loads(run["config"])["epochs"] == 5 else "epochs=10"
        epochs = int(label.split("=")[1])
        part = frame[(frame["config"] == label) & (frame["repeat"] == run["repeat"])]
        assert set(part["seed"]) == {run["seed"]}
        for split in ("train", "test"):
            assert part.loc[part["split"] == split, "epoch"].tolist() == list(range(1, epochs + 1))
        assert part.loc[part["split"] == "test", "rmse"].iloc[-1] == pytest.approx(run["rmse"], abs=1e-9)
    # the 5-epoch curve of a repeat is the start of its 10-epoch curve (one model, two snapshots)
    short = frame[(frame["config"] == "epochs=5") & (frame["repeat"] == 0)]
    long = frame[(frame["config"] == "epochs=10") & (frame["repeat"] == 0) & (frame["epoch"] <= 5)]
    np.testing.assert_array_equal(short["rmse"].to_numpy(), long["rmse"].to_numpy())


def test_train_diagnostics_score_the_training_part(result, shampoo):
    frame = result.diagnostics()
    run = result.runs.iloc[0]
    params = dict(result.configs)[run["config"]]
    train = shampoo.iloc[:-12]
    f = Forecaster(**{**params, "seed": [int(run["seed"])]}).fit(train)
    first = 1 + 1 + 2  # difference + look_back + trim: the first training position with a forecast
    pred = f.predict(train, first)
    expected = np.sqrt(np.mean((pred - train.to_numpy()[first:]) ** 2))
    curve = frame[(frame["config"] == "epochs=5") & (frame["repeat"] == 0) & (frame["split"] == "train")]
    assert curve["rmse"].iloc[-1] == pytest.approx(expected, abs=1e-6)


def test_diagnostics_do_not_change_the_results(result):
    plain = _study(diagnostics=False).run()
    np.testing.assert_array_equal(plain.runs["rmse"].to_numpy(), result.runs["rmse"].to_numpy())
    assert plain.diagnostics().empty


def test_to_json_follows_the_tune_contract(result):
    out = result.to_json()

    assert {"data", "study", "configs", "seconds"} <= set(out)
    assert out["data"] == "shampoo"
    assert out["study"] == "shampoo-epochs"
    assert isinstance(out["seconds"], float) and out["seconds"] >= 0
    assert [c["params"] for c in out["configs"]] == [{**SHAMPOO, "epochs": 5}, {**SHAMPOO, "epochs": 10}]
    for config, (_, row) in zip(out["configs"], result.summary().iterrows()):
        assert set(config) == {"params", "rmse"}
        assert list(config["rmse"]) == STATS
        assert config["rmse"] == pytest.approx(row.to_dict())
    assert out["best"] == result.best()[0]
    assert out["baselines"]["persistence"] == pytest.approx(result.persistence)
    json.dumps(out, allow_nan=False)  # plain JSON: no NaN, no numpy types


def test_to_json_of_a_single_repeat_has_no_nan():
    out = _study(grid={"epochs": [5]}, repeats=1).run().to_json()
    assert out["configs"][0]["rmse"]["count"] == 1
    assert out["configs"][0]["rmse"]["std"] is None
    json.dumps(out, allow_nan=False)


def test_unknown_grid_parameter_is_an_input_error():
    with pytest.raises(InputError, match=r"unknown parameter\(s\) \['neurons'\]"):
        _study(grid={"neurons": [1, 2]}).run()
    with pytest.raises(InputError, match="unknown parameter"):
        _study(base={**SHAMPOO, "unit": 2}).plan()


def test_an_empty_grid_is_an_input_error():
    with pytest.raises(InputError, match="no configurations"):
        _study(grid={"epochs": []}).config_list()


def test_explicit_configs_may_carry_labels():
    study = Study("shampoo", configs=[{**SHAMPOO, "epochs": 5, "experiment": e} for e in ("a", "b")], repeats=2)
    plan = study.plan()
    assert len(plan.groups) == 1 and len(plan.groups[0].members) == 4
    result = study.run()
    assert len(result.runs) == 4
    assert result.varying() == ["experiment"]
    assert list(result.summary().index) == ["experiment=a", "experiment=b"]


def test_default_name_joins_the_data_and_grid_names():
    assert _study().study_name == "shampoo-epochs"
    assert _study(grid={"epochs": [5], "units": [1]}).study_name == "shampoo-epochs-units"
    assert _study(name="mine").study_name == "mine"


def test_plan_reports_groups_and_steps():
    rows = _study(grid={"epochs": [5, 10], "batch_size": [2, 4]}).plan().describe(n_train=24)  # 20 windows
    assert [(r["params"]["batch_size"], r["members"], r["runs"], r["epochs"], r["steps"]) for r in rows] == [
        (2, 3, 6, 10, 100), (4, 3, 6, 10, 50),
    ]


def test_in_memory_data_runs_with_stored_baselines(shampoo):
    result = Study(shampoo, grid={"epochs": [5]}, repeats=2, base=SHAMPOO).run()
    assert result.name == "data-epochs"
    assert result.data.startswith("pandas:36:")  # length and a content hash
    assert round(result.persistence, 3) == 136.761  # the same series as the bundled shampoo
    assert len(result.runs) == 2
    # seeds depend on the study name, not on how the data was given
    named = Study("shampoo", grid={"epochs": [5]}, repeats=2, base=SHAMPOO, name="data-epochs").run()
    np.testing.assert_array_equal(result.runs["rmse"].to_numpy(), named.runs["rmse"].to_numpy())


def test_keep_predictions_false_stores_no_predictions():
    result = _study(grid={"epochs": [5]}, repeats=2, keep_predictions=False).run()
    assert len(result.runs) == 2
    assert result.store.predictions(result.study_id) == {}


def test_progress_counts_every_trained_epoch():
    class Progress:
        total = None
        n = 0
        refreshed = 0

        def refresh(self):
            self.refreshed += 1

        def update(self, n):
            self.n += n

    progress = Progress()
    _study(grid={"epochs": [5, 10], "batch_size": [2, 4]}, repeats=2).run(progress=progress)
    assert progress.total == 20  # two groups of 10 epochs; the 5-epoch runs are snapshots
    assert progress.n == 20
    assert progress.refreshed >= 1


def test_test_size_as_fraction_scores_that_share():
    result = _study(grid={"epochs": [5]}, repeats=2, test_size=0.25, base={**SHAMPOO, "batch_size": 1}).run()
    preds = result.store.predictions(result.study_id)
    assert {len(p) for p in preds.values()} == {9}  # 25% of 36 months


def test_zero_repeats_is_an_input_error():
    with pytest.raises(InputError, match="repeats"):
        _study(repeats=0).run()


@pytest.mark.parametrize("grid", [{"seed": [1, 2]}, {"members": [1, 3]}])
def test_parameters_set_by_the_plan_are_rejected_in_a_grid(grid):
    with pytest.raises(InputError, match="seed|members"):
        _study(grid={**grid, "epochs": [5]}, repeats=2).run()


def test_a_configuration_listed_twice_is_an_input_error():
    config = {**SHAMPOO, "epochs": 5}
    with pytest.raises(InputError, match="twice|duplicate"):
        Study("shampoo", configs=[config, config], repeats=2).run()


def test_a_study_whose_training_stops_early_still_accounts_for_every_run():
    base = {"units": 1, "batch_size": 4, "difference": 1, "look_back": 1, "validation_size": 4, "patience": 1,
            "learning_rate": 0.05}  # a large step: the validation loss stops improving within a few dozen epochs
    study = Study("shampoo", grid={"epochs": [2, 300]}, repeats=2, base=base)
    try:
        result = study.run()
    except InputError:
        return  # refusing early stopping in a study is an acceptable fix as well
    assert len(result.runs) == 4


def test_a_configuration_that_cannot_train_fails_before_any_group_is_stored(tmp_path):
    store = Store(tmp_path / "s.db")
    # batch 1 trains; stateful batch 5 cannot divide the 22 training windows
    study = Study("shampoo", grid={"batch_size": [1, 5]}, repeats=2, name="early",
                  base={"units": 1, "epochs": 3, "stateful": True, "difference": 1})
    with pytest.raises(InputError, match="divides the 22"):
        study.run(store)
    assert store.find_study("early") is None


# ---- what a study stores about its data, and show without the data --------------------------------


def _monthly_csv(path, values) -> str:
    lines = ["Time,Sales"] + [f"{1991 + i // 12}-{i % 12 + 1:02d},{v}" for i, v in enumerate(values)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_facts_hold_the_baselines_on_the_studys_split(result, shampoo):
    from lstmcast.evaluation.baselines import Drift, MeanForecaster, Persistence, SeasonalNaive
    from lstmcast.evaluation.walk_forward import walk_forward

    facts = result.facts
    assert (facts.data, facts.n, facts.test_size, facts.season_length) == ("shampoo", 36, 12, 12)
    expected = {name: walk_forward(b, shampoo, 12, baselines=()).rmse for name, b in [
        ("persistence", Persistence()), ("seasonal-naive", SeasonalNaive(m=12)), ("mean", MeanForecaster()),
        ("drift", Drift())]}
    assert facts.baselines == pytest.approx(expected)
    assert result.persistence == facts.baselines["persistence"]
    assert result.to_json()["baselines"] == facts.baselines


def test_show_reads_nothing_but_the_store(tmp_path, shampoo, monkeypatch):
    data = _monthly_csv(tmp_path / "sales.csv", shampoo.to_numpy() / 100)  # persistence 1.368 in these units
    store = Store(tmp_path / "s.db")
    ran = Study(data, grid={"epochs": [3]}, repeats=2, base=SHAMPOO, name="moved").run(store)
    assert round(ran.persistence, 3) == 1.368

    _monthly_csv(tmp_path / "sales.csv", shampoo.to_numpy())  # the file now holds other values ...
    loaded = StudyResult.load(Store(tmp_path / "s.db"), "moved")
    assert loaded.persistence == ran.persistence  # ... and show still prints what the study was run on

    (tmp_path / "sales.csv").unlink()  # ... or it is gone
    monkeypatch.setattr("lstmcast.experiments.study.load_data", lambda *a, **k: pytest.fail("read the data"))
    loaded = StudyResult.load(Store(tmp_path / "s.db"), "moved")
    assert loaded.facts == ran.facts
    assert loaded.to_json() == ran.to_json()
    assert loaded.summary().equals(ran.summary())


def test_a_study_with_runs_missing_is_flagged_incomplete(tmp_path):
    store = Store(tmp_path / "s.db")
    full = _study(grid={"epochs": [5, 10]}, repeats=2, name="cut").run(store)
    assert (full.complete, full.missing_runs, full.planned_runs) == (True, 0, 4)

    with store.transaction():  # as if killed before the last group committed
        store.conn.execute("DELETE FROM lc_predictions")
        store.conn.execute("DELETE FROM lc_runs WHERE repeat = 1")
    cut = StudyResult.load(store, "cut")
    assert (cut.complete, cut.missing_runs, cut.planned_runs, len(cut.runs)) == (False, 2, 4, 2)


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_a_study_name_without_visible_characters_is_refused(tmp_path, name):
    store = Store(tmp_path / "s.db")
    study = _study(grid={"epochs": [5]}, repeats=1, name=name)
    with pytest.raises(InputError) as info:
        study.run(store)
    assert str(info.value) == f"a study name needs at least one visible character; got name={name!r}"
    with pytest.raises(InputError, match="visible character"):
        study.plan(store)
    assert store.list_studies().empty
