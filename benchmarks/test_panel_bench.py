"""Fast checks of the panel benchmark's bookkeeping (lstmcast's environment, no statsforecast).

    .venv/bin/python -m pytest benchmarks/test_panel_bench.py -q
"""

import math

import numpy as np
import pandas as pd
import pytest

import bench_panel
import panel_data
from lstmcast.data.io import load_csv
from lstmcast.data.timeindex import season_length
from lstmcast.panel import PanelForecaster, panel_walk_forward


def test_public_monthly_matches_lstmcast_loader():
    # the panel bench_panel.py scored before panel_data.py existed: load_csv, season length 12, last 240
    expected = {}
    for path in sorted(panel_data.DATA.glob("*.csv")):
        y = load_csv(path)
        if season_length(y.index) == 12:
            expected[path.stem] = y.iloc[-240:]
    got = panel_data.public_monthly()
    assert list(got) == list(expected)
    for key, y in expected.items():
        pd.testing.assert_series_equal(got[key], y, check_names=False)


def test_read_monthly_skips_quarterly_and_yearly_files():
    assert panel_data.read_monthly(panel_data.DATA / "ausbeer.csv") is None
    assert panel_data.read_monthly(panel_data.DATA / "nile.csv") is None


def test_air_passengers_panel_is_airline_and_a_copy_300_higher():
    panel = panel_data.air_passengers_panel()
    assert list(panel) == ["Airline1", "Airline2"]
    airline = load_csv(panel_data.DATA / "airline.csv")
    np.testing.assert_array_equal(panel["Airline1"].to_numpy(), airline.to_numpy())
    np.testing.assert_array_equal(panel["Airline2"].to_numpy() - panel["Airline1"].to_numpy(), 300.0)
    assert str(panel["Airline2"].index[0]) == "1949-01" and len(panel["Airline2"]) == 144


def test_synthetic_panel_repeats_for_a_seed_and_differs_for_another():
    a, b, c = (panel_data.synthetic_panel(k=5, n=30, seed=s) for s in (1, 1, 2))
    assert len(a) == 5 and all(len(y) == 30 for y in a.values())
    assert panel_data.fingerprint(a) == panel_data.fingerprint(b)
    assert panel_data.fingerprint(a) != panel_data.fingerprint(c)


def test_fingerprint_sees_one_changed_value_and_an_id():
    panel = panel_data.synthetic_panel(k=3, n=24)
    changed = {k: y.copy() for k, y in panel.items()}
    changed["syn001"].iloc[5] += 1e-9
    renamed = {("x" if k == "syn000" else k): y for k, y in panel.items()}
    prints = {panel_data.fingerprint(p) for p in (panel, changed, renamed)}
    assert len(prints) == 3


def test_scores_pool_points_and_take_the_geometric_mean_of_ratios():
    actual = {"a": [0.0, 0.0], "b": [0.0, 0.0], "flat": [5.0, 5.0]}
    forecast = {"a": [1.0, 1.0], "b": [2.0, 2.0], "flat": [5.0, 5.0]}
    naive = {"a": [2.0, 2.0], "b": [1.0, 1.0], "flat": [5.0, 5.0]}  # "flat": naive RMSE 0, no ratio
    got = panel_data.scores(actual, forecast, naive)
    assert got["geomean_ratio"] == pytest.approx(1.0)  # ratios 0.5 and 2
    assert got["rmse"] == pytest.approx(math.sqrt((1 + 1 + 4 + 4) / 6))
    assert got["naive_rmse"] == pytest.approx(math.sqrt((4 + 4 + 1 + 1) / 6))


def test_truths_are_the_last_values_and_the_values_before_them():
    y = pd.Series(np.arange(30.0))
    actual, naive = panel_data.one_step_truth(y, 4)
    np.testing.assert_array_equal(actual, [26, 27, 28, 29])
    np.testing.assert_array_equal(naive, [25, 26, 27, 28])
    actual, naive = panel_data.multi_step_truth(y, 4)
    np.testing.assert_array_equal(actual, [26, 27, 28, 29])
    np.testing.assert_array_equal(naive, [25, 25, 25, 25])


def _report(panels: dict) -> dict:
    return {"test_size": panel_data.TEST_SIZE, "horizon": panel_data.HORIZON,
            "versions": {"statsforecast": "test"},
            "panels": {name: {"fingerprint": panel_data.fingerprint(p), "seconds_one_step": 2.0,
                              "seconds_multi_step": 1.0,
                              "series": {k: {"one_step": panel_data.one_step_truth(y)[0].tolist(),
                                             "multi_step": panel_data.multi_step_truth(y)[0].tolist()}
                                         for k, y in p.items()}}
                       for name, p in panels.items()}}


def test_stats_cache_is_read_when_it_matches_the_panels(tmp_path):
    panels = {"syn": panel_data.synthetic_panel(k=3, n=36)}
    cache = tmp_path / "stats.json"
    cache.write_text(__import__("json").dumps(_report(panels)))
    stats, source = bench_panel.stats_figures(["syn"], panels, cache)
    assert "FROM CACHE" in source and set(stats["syn"]["series"]) == set(panels["syn"])


@pytest.mark.parametrize("spoil, message", [
    (lambda r: r["panels"].pop("syn"), "lacks panel 'syn'"),
    (lambda r: r["panels"]["syn"].update(fingerprint="0" * 16), "other 'syn' data"),
    (lambda r: r.update(horizon=6), "horizon 6"),
])
def test_stats_cache_for_other_data_or_protocol_is_refused(spoil, message):
    panels = {"syn": panel_data.synthetic_panel(k=3, n=36)}
    report = _report(panels)
    spoil(report)
    with pytest.raises(SystemExit, match=message):
        bench_panel.check_stats(report, panels, None)


def test_compare_prints_autoets_beside_lstmcast(monkeypatch, capsys):
    panel = panel_data.synthetic_panel(k=4, n=36)

    def persistence(pf, panel, test_size=12, horizon=12):  # stands in for training: the naive forecasts
        one = {k: panel_data.one_step_truth(y)[1] for k, y in panel.items()}
        multi = {k: panel_data.multi_step_truth(y)[1] for k, y in panel.items()}
        return one, multi, 3.0, 3.5

    monkeypatch.setattr(bench_panel, "lstmcast_forecasts", persistence)
    bench_panel.compare("toy", panel, _report({"toy": panel})["panels"]["toy"])
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()[3:]}
    assert set(rows) == {"naive", "global", "per-series", "global-auto", "per-series-auto", "AutoETS"}
    assert rows["global"][:4] == rows["naive"][:4]  # persistence scores as naive: ratio 1
    assert rows["naive"][1] == "1.000"
    assert [float(v) for v in rows["AutoETS"]] == [0.0, pytest.approx(float("nan"), nan_ok=True), 0.0,
                                                   pytest.approx(float("nan"), nan_ok=True), 2.0, 1.0]


@pytest.mark.slow
@pytest.mark.parametrize("global_model", [True, False])
def test_one_fit_gives_panel_walk_forward_forecasts(global_model):
    panel = panel_data.synthetic_panel(k=3, n=40)
    f = bench_panel.template(epochs=2, units=4)
    one, multi, _, _ = bench_panel.lstmcast_forecasts(PanelForecaster(f, global_model=global_model), panel)
    pf = PanelForecaster(f, global_model=global_model)
    folds1 = panel_walk_forward(pf, panel, 12).folds
    folds12 = panel_walk_forward(pf, panel, 12, horizon=12, stride=12).folds
    for key in panel:
        np.testing.assert_allclose(one[key], folds1.loc[folds1["unique_id"] == key, "forecast"], rtol=1e-6)
        np.testing.assert_allclose(multi[key], folds12.loc[folds12["unique_id"] == key, "forecast"], rtol=1e-6)
