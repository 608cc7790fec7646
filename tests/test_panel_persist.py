"""Model files for panels: lstmcast.save/load of a PanelForecaster (global network once, or one per series)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from safetensors import safe_open
from safetensors.torch import save as save_tensors

import lstmcast
from lstmcast import persist
from lstmcast.errors import InputError, ModelFileError, NotFittedError
from lstmcast.panel import PanelForecaster
from test_panel import promo_series, seasonal_panel, small


def _parts(path: Path) -> tuple[dict, dict]:
    with safe_open(path, framework="pt") as handle:
        return handle.metadata(), {name: handle.get_tensor(name) for name in handle.keys()}


def _rewrite(path: Path, edit_document=None, edit_tensors=None) -> None:
    """Edit a saved file as someone who knows the format would: the digest recomputed, so the schema must catch it."""
    metadata, tensors = _parts(path)
    document = json.loads(metadata["lstmcast"])
    if edit_document:
        edit_document(document)
    if edit_tensors:
        edit_tensors(tensors)
    text = json.dumps(document)
    path.write_bytes(save_tensors(tensors, metadata={"lstmcast": text, "lstmcast.sha256": persist._digest(text, tensors)}))


@pytest.fixture(scope="module")
def fitted():
    pf = PanelForecaster(small()).fit(seasonal_panel())
    pf.forecast(3, level=[80, 95])  # calibrated bands travel with the file
    return pf


@pytest.fixture
def saved(fitted, tmp_path) -> Path:
    return lstmcast.save(fitted, tmp_path / "panel.lstm")


def test_a_loaded_global_panel_forecasts_exactly_as_the_saved_one(fitted, saved):
    loaded = lstmcast.load(saved)
    assert isinstance(loaded, PanelForecaster) and loaded.get_params(deep=False)["pooling"] == "auto"
    pd.testing.assert_frame_equal(loaded.forecast(3, level=[80, 95]), fitted.forecast(3, level=[80, 95]))
    # one network shared by every series, as after fitting
    assert {id(f.network_) for f in loaded.forecasters_.values()} == {id(loaded.network_)}
    new = seasonal_panel(k=4, lengths=(40, 48, 56, 44)).query("unique_id == 's3'")
    pd.testing.assert_frame_equal(loaded.forecast(2, level=[80], data=new), fitted.forecast(2, level=[80], data=new))


def test_the_global_network_is_stored_once(fitted, saved):
    _, tensors = _parts(saved)
    weights = fitted.network_.state_dict()
    assert sorted(k for k in tensors if k.startswith("network.")) == sorted("network." + k for k in weights)
    assert sorted(k for k in tensors if not k.startswith("network.")) == [f"series.{i}.values" for i in range(3)]


def test_per_series_networks_are_each_stored(tmp_path):
    pf = PanelForecaster(small(), global_model=False).fit(seasonal_panel())
    path = lstmcast.save(pf, tmp_path / "per.lstm")
    _, tensors = _parts(path)
    assert not any(k.startswith("network.") for k in tensors)
    assert {k.split(".")[1] for k in tensors if ".network." in k} == {"0", "1", "2"}
    loaded = lstmcast.load(path)
    assert len({id(f.network_) for f in loaded.forecasters_.values()}) == 3
    pd.testing.assert_frame_equal(loaded.forecast(2), pf.forecast(2))


def test_covariates_round_trip_with_the_raw_data(tmp_path):
    data = {"a": promo_series(60), "b": promo_series(50, seed=3)}
    pf = PanelForecaster(small(steps_out=2), future_columns=["promo"], calendar=True).fit(data)
    future = {k: pd.DataFrame({"promo": [1.0, 0.0, 0.0]}, index=pd.date_range(v.index[-1], periods=4, freq="D")[1:])
              for k, v in data.items()}
    loaded = lstmcast.load(lstmcast.save(pf, tmp_path / "cov.lstm"))
    pd.testing.assert_frame_equal(loaded.forecast(3, future=future), pf.forecast(3, future=future))


def test_an_unfitted_panel_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError, match="PanelForecaster is not fitted"):
        lstmcast.save(PanelForecaster(small()), tmp_path / "x.lstm")


def _set_series_field(field, value):
    def edit(document):
        document["panel"]["series"][1][field] = value
    return edit


@pytest.mark.parametrize("edit_document, edit_tensors, words", [
    (lambda d: d["panel"]["ids"].append("s9"), None, ["panel.series"]),
    (lambda d: d["panel"]["ids"].__setitem__(1, "s0"), None, ["panel.ids", "repeated"]),
    (lambda d: d["panel"]["params"].__setitem__("pooling", "median"), None, ["panel.params.pooling"]),
    (lambda d: d["panel"]["params"].__setitem__("global_model", False), None, ["panel.network"]),
    (_set_series_field("season_length", 0), None, ["panel.series[1].season_length"]),
    (lambda d: d["panel"]["series"][2]["scaler"]["state"]["mean_"].__setitem__(0, 1e6), None,
     ["panel.series[2].scaler"]),
    (lambda d: d["panel"]["bands"]["scales"].pop(), None, ["panel.bands"]),
    (lambda d: d["panel"]["forecaster"].__setitem__("look_back", 5), None, ["panel.series[0]"]),
    (None, lambda t: t.pop("series.2.values"), ["series.2.values", "missing"]),
    (None, lambda t: t.__setitem__("series.7.values", t["series.0.values"].clone()), ["series.7.values"]),
], ids=["extra-id", "repeated-id", "pooling", "global-flag", "season", "scaler", "bands", "params", "missing-values",
        "stray-tensor"])
def test_edited_panel_files_are_refused_with_the_field_named(saved, edit_document, edit_tensors, words):
    _rewrite(saved, edit_document, edit_tensors)
    with pytest.raises(ModelFileError) as info:
        lstmcast.load(saved)
    message = str(info.value)
    assert isinstance(info.value, InputError) and str(saved) in message and "\n" not in message
    for word in words:
        assert word in message, message


def test_a_changed_byte_fails_the_integrity_check(saved):
    data = bytearray(saved.read_bytes())
    data[-3] ^= 0xFF  # inside the last tensor
    saved.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="SHA-256"):
        lstmcast.load(saved)
