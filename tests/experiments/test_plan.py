"""The execution plan of a study: members shared across epochs, groups by shape, stable seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstmcast.data.windows import windows

from lstmcast.experiments.plan import canonical, make_plan, split_params, stable_seed

BASE = {"units": 1, "batch_size": 4, "stateful": True, "difference": 1, "trim": 2, "look_back": 1}


def _configs(**grid) -> list[dict]:
    """Return BASE overlaid with each value of the single grid parameter given."""
    (name, values), = grid.items()
    return [{**BASE, name: v} for v in values]


def _seeds(plan) -> dict[tuple[str, int], int]:
    """Return every run's seed keyed by (config key, repeat)."""
    return {(r.config_key, r.repeat): r.seed for g in plan.groups for m in g.members for r in m.runs}


def test_configs_differing_only_in_epochs_share_one_member_per_repeat():
    configs = _configs(epochs=[5, 20, 10])
    plan = make_plan("s", configs, repeats=3)

    assert len(plan.groups) == 1
    group = plan.groups[0]
    assert group.epochs == 20  # the group trains once, for the largest epoch count
    assert len(group.members) == 3  # one member per repeat
    assert group.n_runs == plan.n_runs == 9
    for repeat, member in enumerate(group.members):
        # every configuration is read off this member as a snapshot at its own epoch count
        assert sorted(r.epochs for r in member.runs) == [5, 10, 20]
        assert {r.repeat for r in member.runs} == {repeat}
        assert {r.seed for r in member.runs} == {member.seed}
        assert {r.config_key for r in member.runs} == {canonical(c) for c in configs}
    assert len({m.seed for m in group.members}) == 3  # repeats are different models


@pytest.mark.parametrize(
    "param, values", [("batch_size", [1, 2, 4]), ("look_back", [1, 3]), ("stateful", [True, False])]
)
def test_configs_differing_in_shape_or_schedule_form_separate_groups(param, values):
    plan = make_plan("s", _configs(**{param: values}), repeats=2)

    assert len(plan.groups) == len(values)
    assert [g.params[param] for g in plan.groups] == values
    assert all(len(g.members) == 2 and g.n_runs == 2 for g in plan.groups)


@pytest.mark.parametrize("model", ["vanilla", "stacked", "vector"])
def test_units_of_lstm_stacks_differ_per_member_within_one_group(model):
    configs = [{**BASE, "model": model, "units": u, "epochs": e} for u in (1, 3, 2) for e in (5, 10)]
    plan = make_plan("s", configs, repeats=2)

    (group,) = plan.groups
    assert "units" not in group.params
    assert [m.units for m in group.members] == [1, 1, 3, 3, 2, 2]  # configuration-major, one member per repeat
    assert all(sorted(r.epochs for r in m.runs) == [5, 10] for m in group.members)
    params = group.forecaster_params()
    assert params["units"] == [1, 1, 3, 3, 2, 2]
    assert params["seed"] == [m.seed for m in group.members]
    assert params["epochs"] == 10


@pytest.mark.parametrize("model", ["bidirectional", "cnn-lstm", "encoder-decoder"])
def test_units_of_other_models_form_separate_groups(model):
    plan = make_plan("s", [{**BASE, "model": model, "units": u} for u in (1, 2)], repeats=2)

    assert [g.params["units"] for g in plan.groups] == [1, 2]
    assert all(m.units is None for g in plan.groups for m in g.members)
    assert plan.groups[0].forecaster_params()["units"] == 1


def test_a_single_width_group_passes_units_unchanged():
    (group,) = make_plan("s", _configs(epochs=[5]), repeats=2).groups
    params = group.forecaster_params()
    assert params["units"] in (1, [1, 1])  # one width for every member: either spelling builds the same network
    assert {k: v for k, v in params.items() if k not in ("units", "seed")} == {
        k: v for k, v in {**BASE, "epochs": 5}.items() if k != "units"}


def test_labels_change_seeds_but_not_groups():
    configs = [{**BASE, "epochs": 5, "experiment": "a"}, {**BASE, "epochs": 5, "experiment": "b"}]
    plan = make_plan("s", configs, repeats=2)

    assert len(plan.groups) == 1
    group = plan.groups[0]
    assert "experiment" not in group.params
    # each labelled configuration is its own model (own seed), trained in the same ensemble
    assert len(group.members) == 4
    assert len({m.seed for m in group.members}) == 4
    seeds = _seeds(plan)
    assert seeds[(canonical(configs[0]), 0)] != seeds[(canonical(configs[1]), 0)]


def test_members_needing_fewer_epochs_train_in_their_own_group():
    # same shapes, but one member is read at 1000 epochs at most and the other at 6000
    configs = [{**BASE, "epochs": 6000, "experiment": "long"}, {**BASE, "epochs": 1000, "experiment": "short"},
               {**BASE, "epochs": 500, "experiment": "long"}]
    plan = make_plan("s", configs, repeats=2)

    assert [(g.epochs, len(g.members), g.n_runs) for g in plan.groups] == [(6000, 2, 4), (1000, 2, 2)]
    assert plan.groups[0].params == plan.groups[1].params


def test_split_params_separates_group_snapshot_and_label_keys():
    group, snap, labels = split_params({"units": 2, "epochs": 7, "experiment": "x", "seed": 3, "members": 5})

    assert group == {"units": 2}
    assert snap == {"epochs": 7}
    assert labels == {"experiment": "x"}  # seed and members are set by the plan, never by a configuration


def test_stable_seed_is_fixed_31_bit_and_depends_on_every_part():
    # pinned: the same seed on every machine, Python version and run (sha256 of canonical JSON)
    assert stable_seed("shampoo", '{"units":1}', 0) == stable_seed("shampoo", '{"units":1}', 0)
    assert stable_seed("a", 1) == 605511443  # sha256(b'["a",1]'), first 4 bytes little-endian, top bit cleared
    seeds = {stable_seed(name, cfg, r) for name in ("a", "b") for cfg in ("x", "y") for r in range(3)}
    assert len(seeds) == 12
    assert all(0 <= s < 2**31 for s in seeds)


def test_seeds_are_stable_across_calls_and_independent_of_grouping_and_order():
    configs = [{**BASE, "units": u, "epochs": e} for u in (1, 2) for e in (5, 10)]
    full = _seeds(make_plan("s", configs, repeats=3))

    assert _seeds(make_plan("s", configs, repeats=3)) == full
    assert _seeds(make_plan("s", configs[::-1], repeats=3)) == full
    # a configuration planned alone (another grouping, fewer repeats) keeps its seeds
    alone = _seeds(make_plan("s", [configs[3]], repeats=2))
    assert alone == {k: v for k, v in full.items() if k[0] == canonical(configs[3]) and k[1] < 2}
    for (key, repeat), seed in full.items():
        config = next(c for c in configs if canonical(c) == key)
        member_id = canonical({k: v for k, v in config.items() if k != "epochs"})
        assert seed == stable_seed("s", member_id, repeat)


def test_seeds_depend_on_the_study_name():
    configs = _configs(units=[1])
    assert set(_seeds(make_plan("a", configs, 3)).values()).isdisjoint(_seeds(make_plan("b", configs, 3)).values())


def test_done_runs_are_skipped_and_counted():
    configs = [{**BASE, "batch_size": b, "epochs": e} for b in (2, 4) for e in (5, 10)]
    keys = [canonical(c) for c in configs]
    # batch_size=2: every run done; batch_size=4, epochs=10: repeat 0 done
    done = {(keys[0], r) for r in range(3)} | {(keys[1], r) for r in range(3)} | {(keys[3], 0)}
    plan = make_plan("s", configs, repeats=3, done=done)

    assert plan.skipped_runs == 7
    assert plan.n_runs == 12 - 7
    assert all(g.params["batch_size"] == 4 for g in plan.groups)  # the finished group is gone
    runs = {(r.config_key, r.repeat) for g in plan.groups for m in g.members for r in m.runs}
    assert runs == {(keys[2], 0), (keys[2], 1), (keys[2], 2), (keys[3], 1), (keys[3], 2)}
    # repeat 0 now needs 5 epochs only, so it does not ride along the 10-epoch members
    assert sorted((g.epochs, len(g.members), g.n_runs) for g in plan.groups) == [(5, 1, 1), (10, 2, 4)]
    # the seeds of the remaining runs are those of the full plan
    full = _seeds(make_plan("s", configs, repeats=3))
    assert _seeds(plan) == {k: full[k] for k in runs}


def test_group_trains_only_as_long_as_its_unfinished_runs_need():
    configs = _configs(epochs=[5, 10])
    done = {(canonical(configs[1]), r) for r in range(2)}  # the 10-epoch snapshots are stored
    plan = make_plan("s", configs, repeats=2, done=done)

    assert plan.groups[0].epochs == 5
    assert plan.skipped_runs == 2


def test_everything_done_gives_an_empty_plan():
    configs = _configs(epochs=[5, 10])
    plan = make_plan("s", configs, repeats=2, done={(canonical(c), r) for c in configs for r in range(2)})

    assert plan.groups == ()
    assert plan.n_runs == 0
    assert plan.skipped_runs == 4
    assert plan.describe(20) == []


def test_missing_epochs_default_to_the_forecaster_default():
    plan = make_plan("s", [{"units": 1}], repeats=1)
    assert plan.groups[0].epochs == 100


@pytest.mark.parametrize("look_back", [1, 3, 12])
@pytest.mark.parametrize("batch_size", [1, 4, 32])
@pytest.mark.parametrize("trim, difference", [(0, 0), (2, 1)])
def test_describe_steps_count_the_windows_each_group_really_trains(look_back, batch_size, trim, difference):
    # the dry-run of `tune --grid look_back=1,12` printed ~230 steps for look_back=12 on 24 training
    # points; the real figure is 120: the count must come from each group's own layout
    n_train, epochs = 24, 10
    config = {"units": 1, "look_back": look_back, "batch_size": batch_size, "trim": trim,
              "difference": difference, "epochs": epochs}
    (row,) = make_plan("s", [config], repeats=1).describe(n_train)

    X, _ = windows(np.zeros(n_train - difference), look_back, 1)  # what fit frames
    n_windows = len(X) - trim
    assert row["steps"] == epochs * math.ceil(n_windows / min(batch_size, n_windows))


def test_describe_steps_for_a_look_back_grid_differ_per_group():
    plan = make_plan("s", [{"units": 1, "look_back": lb, "batch_size": 1, "epochs": 10} for lb in (1, 12)], repeats=1)
    steps = {row["params"]["look_back"]: row["steps"] for row in plan.describe(24)}
    assert steps == {1: 230, 12: 120}


def test_max_steps_caps_the_planned_steps():
    (row,) = make_plan("s", [{"units": 1, "batch_size": 1, "epochs": 10, "max_steps": 7}], repeats=1).describe(24)
    assert row["steps"] == 7


def test_describe_lists_groups_in_order_and_steps_only_with_windows():
    plan = make_plan("s", _configs(batch_size=[4, 1, 2]), repeats=2)

    rows = plan.describe()
    assert [r["group"] for r in rows] == [0, 1, 2]
    assert [r["params"]["batch_size"] for r in rows] == [4, 1, 2]
    assert all("steps" not in r for r in rows)
