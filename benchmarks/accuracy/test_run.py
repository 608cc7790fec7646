"""Fast checks of the accuracy benchmark's bookkeeping (no training, no statsforecast).

    .venv/bin/python -m pytest benchmarks/accuracy/test_run.py -q
"""

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

from lstmcast.data.io import load_csv

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("accuracy_run", HERE / "run.py")
run = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = run  # dataclasses look their module up there
_spec.loader.exec_module(run)


def _stats(naive, snaive, ets, arima, theta):
    def entry(value):
        return None if value is None else {"rmse": value, "seconds": 0.5}
    return {"naive": entry(naive), "seasonal_naive": entry(snaive), "AutoETS": entry(ets),
            "AutoARIMA": entry(arima), "AutoTheta": entry(theta), "seconds": 1.5}


ENTRIES = [
    {"name": "a", "n": 40, "test_size": 8, "season_length": 12, "heldout": False},
    {"name": "b", "n": 50, "test_size": 10, "season_length": 1, "heldout": False},
    {"name": "c", "n": 60, "test_size": 12, "season_length": 4, "heldout": True},
]
STATS = {"a": _stats(10.0, 12.0, 4.0, 5.0, 6.0), "b": _stats(3.0, None, 2.5, 2.0, 2.2),
         "c": _stats(9.0, 8.0, 7.0, 6.0, 5.0)}


def test_geometric_mean_of_reciprocal_ratios_is_one():
    assert run.geometric_mean([2.0, 0.5]) == pytest.approx(1.0)
    assert run.geometric_mean([4.0, 1.0]) == pytest.approx(2.0)
    assert run.geometric_mean([]) is None


def test_summary_divides_by_the_best_statistical_model_and_splits_heldout_series():
    candidate = run.Candidate("x", lambda m: None, rmse={"a": 8.0, "b": 1.0, "c": 10.0})
    summary = run.summarise(ENTRIES, STATS, [candidate])
    rows = {r["series"]: r for r in summary["rows"]}
    assert rows["a"]["best_statistical"] == "AutoETS" and rows["a"]["x"]["ratio"] == pytest.approx(2.0)
    assert rows["b"]["best_statistical"] == "AutoARIMA" and rows["b"]["x"]["ratio"] == pytest.approx(0.5)
    geo = summary["geometric_mean_over_best"]
    assert geo["public"]["x"] == pytest.approx(1.0) and geo["public"]["series"] == 2
    assert geo["heldout"]["x"] == pytest.approx(2.0)
    # seasonal naive has no figure when m = 1, so its public mean covers one series
    assert geo["public"]["seasonal_naive_count"] == 1
    assert geo["public"]["seasonal_naive"] == pytest.approx(3.0)


def test_naive_check_fails_where_a_baseline_is_not_beaten_or_a_run_failed():
    good = run.Candidate("good", lambda m: None, rmse={"a": 5.0, "b": 2.9, "c": 7.9})
    bad = run.Candidate("bad", lambda m: None, rmse={"a": 11.0, "b": 1.0}, errors={"c": "boom"})
    check = run.summarise(ENTRIES, STATS, [good, bad])["naive_check"]
    assert check["good"]["beats_naive_everywhere"] is True
    assert check["bad"]["beats_naive_everywhere"] is False
    assert check["bad"]["fails_on"] == ["a", "c"]
    assert check["bad"]["better_than_best_on"] == ["b"]


def test_candidate_loads_from_a_file_path_or_a_module(tmp_path):
    file = tmp_path / "mine.py"
    file.write_text("def small(season_length):\n    return ('small', season_length)\n")
    assert run.load_callable(f"{file}:small")(4) == ("small", 4)
    assert run.load_callable("math:sqrt") is math.sqrt
    with pytest.raises(SystemExit, match="no function"):
        run.load_callable(f"{file}:missing")


def test_refit_option_adds_a_twin_per_candidate():
    labels = [c.label for c in run.make_candidates([], auto=True, refit=4)]
    assert labels == ["defaults", "defaults@refit4", "auto", "auto@refit4"]
    assert [c.refit for c in run.make_candidates([], auto=False, refit=None)] == [None]


def test_every_exported_series_loads_with_lstmcast_as_listed():
    entries = json.loads((HERE / "series.json").read_text())
    assert len({e["name"] for e in entries}) == len(entries)
    assert 5 <= sum(e["heldout"] for e in entries) <= 8
    for e in entries:
        y = load_csv(HERE / e["file"])
        assert len(y) == e["n"] and 0 < e["test_size"] < e["n"], e["name"]
        assert y.index.freqstr[0] == e["frequency"], e["name"]
        assert e["season_length"] == {"M": 12, "Q": 4, "Y": 1}[e["frequency"]], e["name"]
