"""The seeds' own studies: configurations and plans as the tutorials set them up, and a small real run."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcast.errors import InputError
from lstmcast.experiments import reproduce
from lstmcast.experiments.plan import canonical
from lstmcast.experiments.study import Study

SHAMPOO_KEYS = {"look_back": 1, "units": 1, "batch_size": 4, "stateful": True, "difference": 1, "trim": 2}


def _params(name: str, key: str) -> list:
    return [c[key] for c in reproduce.study(name).config_list()]


def test_every_name_builds_a_study():
    for name in reproduce.NAMES:
        study = reproduce.study(name)
        assert isinstance(study, Study)
        assert study.study_name == name
        assert study.repeats == 30
        assert study.config_list()  # labels are allowed in explicit configurations


def test_shampoo_epochs_is_one_group_read_at_five_epoch_counts():
    study = reproduce.study("shampoo-epochs")
    configs = study.config_list()

    assert [c["epochs"] for c in configs] == [500, 1000, 2000, 4000, 6000]
    assert all(c["batch_size"] == 4 and c["units"] == 1 and c["experiment"] == "shampoo-epochs" for c in configs)
    assert all(c.items() >= SHAMPOO_KEYS.items() for c in configs)
    assert (study.data, study.test_size) == ("shampoo", 12)
    plan = study.plan()
    assert len(plan.groups) == 1
    (group,) = plan.groups
    assert (group.epochs, len(group.members), group.n_runs) == (6000, 30, 150)
    assert plan.describe(n_train=24)[0]["steps"] == 6000 * 5  # 24 - 2 = 22 windows, 20 after trimming 2, batches of 4


def test_shampoo_batch_size_is_three_groups_of_1000_epochs():
    configs = reproduce.study("shampoo-batch-size").config_list()
    assert [c["batch_size"] for c in configs] == [1, 2, 4]
    assert {c["epochs"] for c in configs} == {1000}
    assert {c["units"] for c in configs} == {1}

    plan = reproduce.study("shampoo-batch-size").plan()
    assert [(g.params["batch_size"], g.epochs, len(g.members)) for g in plan.groups] == [
        (1, 1000, 30), (2, 1000, 30), (4, 1000, 30),
    ]
    assert [r["steps"] for r in plan.describe(n_train=24)] == [20_000, 10_000, 5_000]


def test_shampoo_neurons_is_one_group_of_five_widths():
    configs = reproduce.study("shampoo-neurons").config_list()
    assert [c["units"] for c in configs] == [1, 2, 3, 4, 5]
    assert {(c["epochs"], c["batch_size"]) for c in configs} == {(1000, 4)}
    # the vanilla LSTM's widths are zero-padded into one ensemble: one member per width and repeat
    (group,) = reproduce.study("shampoo-neurons").plan().groups
    assert (group.epochs, len(group.members)) == (1000, 150)
    assert sorted({m.units for m in group.members}) == [1, 2, 3, 4, 5]


def test_shampoo_all_is_thirteen_configurations_in_four_groups():
    study = reproduce.study("shampoo-all")
    configs = study.config_list()
    assert len(configs) == 13
    assert len({canonical(c) for c in configs}) == 13  # the shared batch 4 / 1 unit setting appears per experiment
    experiments = ["shampoo-epochs"] * 5 + ["shampoo-batch-size"] * 3 + ["shampoo-neurons"] * 5
    assert [c["experiment"] for c in configs] == experiments

    plan = study.plan()
    groups = plan.groups
    # groups differ in shape (batch size) or in how long their members train: the epochs experiment
    # (6000) and the batch-4 members of the other two experiments (1000, every width padded) split
    assert [(g.params["batch_size"], g.epochs) for g in groups] == [(4, 6000), (1, 1000), (2, 1000), (4, 1000)]
    assert plan.n_runs == 13 * 30
    assert [(len(g.members), g.n_runs) for g in groups] == [(30, 150), (30, 30), (30, 30), (6 * 30, 6 * 30)]
    assert sorted({m.units for m in groups[3].members}) == [1, 2, 3, 4, 5]
    assert len({m.seed for g in groups for m in g.members}) == sum(len(g.members) for g in groups)


def test_airline_is_the_five_tutorial_variants_on_a_48_month_test():
    study = reproduce.study("airline")
    configs = study.config_list()

    assert (study.data, study.test_size) == ("airline", 48)
    assert [c["variant"] for c in configs] == ["regression", "window", "time-steps", "memory", "stacked-memory"]
    assert all(c["units"] == 4 and c["epochs"] == 100 and c["batch_size"] == 1 for c in configs)
    assert [c["look_back"] for c in configs] == [1, 3, 3, 3, 3]
    assert [c.get("framing", "steps") for c in configs] == ["steps", "features", "steps", "steps", "steps"]
    assert [c.get("stateful", False) for c in configs] == [False, False, False, True, True]
    assert configs[-1]["model"] == "stacked" and configs[-1]["layers"] == 2
    assert len(study.plan().groups) == 5


def test_options_pass_through():
    study = reproduce.study("shampoo-neurons", repeats=4, diagnostics=True, study_name="mine")
    assert (study.repeats, study.diagnostics, study.study_name) == (4, True, "mine")
    assert study.plan().n_runs == 20


def test_unknown_name_is_an_input_error():
    with pytest.raises(InputError, match="unknown study 'shampoo'.*shampoo-epochs"):
        reproduce.study("shampoo")


def test_experiments_covered_by_each_name():
    assert reproduce.experiments("shampoo-all") == ["shampoo-epochs", "shampoo-batch-size", "shampoo-neurons"]
    assert reproduce.experiments("airline") == ["airline"]


def test_published_keys_index_the_published_tables():
    for name in ("shampoo-all", "airline"):
        for config in reproduce.study(name).config_list():
            assert reproduce.published_key(config) in reproduce.PUBLISHED[config["experiment"]]


def test_a_short_batch_size_study_scores_in_a_sane_range():
    configs = [{**reproduce.SHAMPOO_BASE, "batch_size": b, "epochs": 20, "experiment": "shampoo-batch-size"}
               for b in (1, 2, 4)]
    result = Study("shampoo", configs=configs, repeats=2, test_size=12, name="short").run()

    runs = result.runs
    assert len(runs) == 6
    assert np.isfinite(runs["rmse"]).all()
    assert (runs["rmse"] > 0).all() and (runs["rmse"] < 400).all()
    assert list(result.summary().index) == ["batch_size=1", "batch_size=2", "batch_size=4"]
    assert round(result.persistence, 3) == reproduce.PERSISTENCE["shampoo"]
