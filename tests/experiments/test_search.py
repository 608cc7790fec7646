"""Optuna search: the space, trials scored on validation with the test apart, storage beside the studies, resume."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from lstmcast.errors import InputError
from lstmcast.experiments.search import Dimension, default_space, load_search, parse_space, search
from lstmcast.experiments.store import Store

SPACE = ["epochs=2..6", "units=2,3"]
KILLED_SPACE = ["epochs=40..60", "units=2..4"]  # as in _run_search.py


def test_parse_space_reads_ranges_and_choices_checked_by_the_declarations():
    space = parse_space(["units=2..64", "dropout=0.0..0.3", "activation=tanh,relu", "look-back=1..3"])

    assert space["units"] == Dimension("units", 2, 64, log=True)  # more than 20x: log scale
    assert space["dropout"] == Dimension("dropout", 0.0, 0.3, log=False)
    assert space["activation"].choices == ("tanh", "relu")
    assert space["look_back"] == Dimension("look_back", 1, 3)


@pytest.mark.parametrize("text, problem", [
    ("colour=1..2", "unknown or fixed parameter"), ("seed=1..5", "unknown or fixed parameter"),
    ("units=8..2", "low end must be below"), ("units", "NAME=LOW..HIGH"), ("units=-1..4", "units"),
    ("activation=tanh..relu", "not numeric"), ("activation=tanh,sigmoid", "activation"),
])
def test_a_bad_space_is_an_input_error_naming_it(text, problem):
    with pytest.raises(InputError, match=problem):
        parse_space([text])


def test_the_default_look_back_follows_the_season():
    assert (default_space(12)["look_back"].low, default_space(12)["look_back"].high) == (6, 24)
    assert (default_space(1)["look_back"].low, default_space(1)["look_back"].high) == (1, 12)
    assert set(default_space(4)) == {"look_back", "units", "layers", "epochs", "learning_rate", "dropout"}


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    path = tmp_path_factory.mktemp("search") / "lstmcast.db"
    return path, search("shampoo", trials=4, space=SPACE, repeats=2, store=path, name="s", workers=1)


def test_every_trial_is_scored_on_validation_with_the_test_kept_apart(searched):
    _, result = searched

    assert len(result.trials) == 4 and {t["state"] for t in result.trials} <= {"COMPLETE", "PRUNED"}
    for t in result.trials:
        assert t["validation_rmse"] > 0 and t["test_rmse"] > 0 and t["validation_rmse"] != t["test_rmse"]
    done = [t for t in result.trials if t["state"] == "COMPLETE"]
    assert result.best == min(done, key=lambda t: t["validation_rmse"])


def test_the_search_lives_in_the_study_store_as_an_optuna_study(searched):
    path, _ = searched

    store = Store(path)  # still an lstmcast store: the stamp and lc_ tables are untouched
    assert store.list_studies().empty
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{path}")  # what optuna-dashboard reads
    assert len(study.trials) == 4 and study.user_attrs["lstmcast"]["repeats"] == 2


def test_asking_for_more_trials_resumes_and_adds_only_the_new_ones(searched, tmp_path):
    path, first = searched
    more = search("shampoo", trials=6, space=SPACE, repeats=2, store=path, name="s", workers=1)

    assert [t["number"] for t in more.trials] == list(range(6))
    assert more.trials[:4] == first.trials


def test_a_search_of_the_same_name_with_another_definition_is_refused(searched):
    path, _ = searched
    with pytest.raises(InputError, match="another definition.*repeats"):
        search("shampoo", trials=4, space=SPACE, repeats=3, store=path, name="s", workers=1)


def test_a_search_cannot_choose_on_the_test_part(tmp_path):
    with pytest.raises(InputError, match="validation tail"):
        search("shampoo", trials=1, space=SPACE, store=tmp_path / "s.db", validation_tail=0, workers=1)


def _states(path: Path) -> list[str]:
    conn = sqlite3.connect(path, timeout=5)
    try:
        return [r[0] for r in conn.execute("SELECT state FROM trials ORDER BY number")]
    except sqlite3.OperationalError:  # tables not created yet, or busy
        return []
    finally:
        conn.close()


@pytest.mark.slow
def test_a_search_killed_with_sigkill_resumes_without_lost_or_duplicated_trials(tmp_path):
    path = tmp_path / "lstmcast.db"
    script = Path(__file__).with_name("_run_search.py")
    proc = subprocess.Popen([sys.executable, str(script), str(path), "5"])
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # kill it while a trial runs, after the first ones are told
        states = _states(path)
        if states.count("COMPLETE") >= 2 and states[-1] == "RUNNING":
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _states(path)
    assert "RUNNING" in before and before.count("COMPLETE") < 5

    result = search("shampoo", trials=5, space=KILLED_SPACE, repeats=2, store=path, name="killed", workers=1,
                    prune=False)

    assert [t["number"] for t in result.trials] == list(range(5))  # the killed trial was finished, none added twice
    assert [t["state"] for t in result.trials] == ["COMPLETE"] * 5
    assert all(t["test_rmse"] is not None for t in result.trials)
    assert load_search(Store(path), "killed").trials == result.trials
