"""Saving and loading a fitted Forecaster: exact round trips, safetensors only, integrity, atomic writes."""

from __future__ import annotations

import json
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save as save_tensors
from safetensors.torch import save_file

from lstmcast import persist
from lstmcast.data.datasets import load as load_dataset
from lstmcast.errors import InputError, ModelFileError, NotFittedError
from lstmcast.forecaster import Forecaster

FAST = dict(epochs=5, units=4, seed=3)


@pytest.fixture(scope="module")
def shampoo() -> pd.Series:
    return load_dataset("shampoo")  # 36 months; models are fitted on the first 24


@pytest.fixture(scope="module")
def fitted(shampoo) -> Forecaster:
    return Forecaster(difference=1, **FAST).fit(shampoo[:24])


@pytest.fixture
def saved(fitted, tmp_path) -> Path:
    return persist.save(fitted, tmp_path / "model.safetensors")


def _two_columns(y: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"sales": y, "root": np.sqrt(y)})


CASES = {
    "vanilla": (dict(), "series"),
    "difference": (dict(difference=1), "series"),
    "stateful": (dict(stateful=True, batch_size=2, difference=1, shuffle=False), "series"),
    "members": (dict(members=3, difference=1), "series"),
    "stateful-members": (dict(stateful=True, batch_size=11, members=2, difference=1), "series"),
    "two-columns": (dict(target="all", look_back=2), "frame"),
    "encoder-decoder": (dict(model="encoder-decoder", look_back=4, steps_out=3), "series"),
    "cnn-lstm": (dict(model="cnn-lstm", look_back=4, filters=8, difference=1), "series"),
    "stacked-dropout": (dict(model="stacked", look_back=3, dropout=0.2, scale="standard"), "series"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_loaded_forecaster_predicts_and_forecasts_identically(case, shampoo, tmp_path):
    params, kind = CASES[case]
    y = _two_columns(shampoo) if kind == "frame" else shampoo
    original = Forecaster(**{**FAST, **params}).fit(y[:24])
    path = persist.save(original, tmp_path / f"{case}.safetensors")

    loaded = persist.load(path)

    expected, got = original.forecast(6), loaded.forecast(6)
    if kind == "frame":
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
    else:
        pd.testing.assert_series_equal(got, expected, check_exact=True)
    assert got.attrs == expected.attrs
    assert np.array_equal(loaded.predict(y, 24), original.predict(y, 24))
    assert loaded.get_params() == original.get_params()


def test_loaded_forecaster_keeps_fitted_attributes(fitted, saved):
    loaded = persist.load(saved)

    assert loaded.columns_ == fitted.columns_
    assert loaded.target_idx_ == fitted.target_idx_
    assert loaded.seeds_ == fitted.seeds_
    assert loaded.n_train_windows_ == fitted.n_train_windows_
    pd.testing.assert_index_equal(loaded.index_, fitted.index_, exact=True)
    assert loaded.index_.freq == fitted.index_.freq
    assert loaded.values_.dtype == np.float64 and np.array_equal(loaded.values_, fitted.values_)
    assert loaded.scaler_.to_dict() == fitted.scaler_.to_dict()
    assert loaded.network_.config == fitted.network_.config
    assert np.array_equal(loaded.history_.loss, fitted.history_.loss)
    assert loaded.history_.stopped_epoch == fitted.history_.stopped_epoch


def test_forecast_with_members_round_trips(shampoo, tmp_path):
    original = Forecaster(members=3, **FAST).fit(shampoo[:24])
    loaded = persist.load(persist.save(original, tmp_path / "m.safetensors"))

    pd.testing.assert_frame_equal(
        loaded.forecast(4, return_members=True), original.forecast(4, return_members=True), check_exact=True
    )


INDEXES = {
    "period-quarterly": pd.period_range("1990Q1", periods=14, freq="Q", name="quarter"),
    "period-weekly": pd.period_range("2000-01-03", periods=14, freq="W"),
    "datetime-month-start": pd.date_range("2001-01-01", periods=14, freq="MS", name="date"),
    "datetime-hourly-tz": pd.date_range("2021-03-27 20:00", periods=14, freq="h", tz="Europe/Berlin"),
    "datetime-no-freq": pd.DatetimeIndex([f"2020-01-{d:02d}" for d in range(1, 15)]),
    "range": pd.RangeIndex(0, 14),
    "integers-step-5": pd.Index(np.arange(100, 170, 5), name="t"),
}


@pytest.mark.parametrize("case", list(INDEXES))
def test_index_round_trips_and_dates_the_forecast(case, tmp_path):
    index = INDEXES[case]
    y = pd.Series(np.sin(np.arange(14.0)) + 2.0, index=index, name="y")
    original = Forecaster(epochs=1, units=2, seed=0).fit(y)

    loaded = persist.load(persist.save(original, tmp_path / "i.safetensors"))

    pd.testing.assert_index_equal(loaded.index_, original.index_, exact=True)
    assert getattr(loaded.index_, "freq", None) == getattr(original.index_, "freq", None)
    pd.testing.assert_series_equal(loaded.forecast(3), original.forecast(3), check_exact=True)


def test_irregular_integer_index_round_trips(tmp_path):
    y = pd.Series(np.arange(8.0), index=pd.Index([1, 2, 4, 8, 16, 32, 64, 128]))
    original = Forecaster(epochs=1, units=2, seed=0).fit(y)

    loaded = persist.load(persist.save(original, tmp_path / "i.safetensors"))

    pd.testing.assert_index_equal(loaded.index_, original.index_, exact=True)


def test_file_is_plain_safetensors(saved):
    data = saved.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])

    assert data[8:9] == b"{"
    header = json.loads(data[8 : 8 + size])
    assert json.loads(header["__metadata__"]["lstmcast"])["format_version"] == persist.FORMAT_VERSION
    with safe_open(saved, framework="pt") as handle:  # any safetensors reader opens it
        assert "values" in handle.keys()
        assert handle.get_tensor("values").dtype == torch.float64


def test_load_never_unpickles(saved, shampoo, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("load must not unpickle")

    for target, name in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")):
        monkeypatch.setattr(target, name, refuse)

    assert len(persist.load(saved).forecast(2)) == 2


def test_saving_an_unfitted_forecaster_raises(tmp_path):
    with pytest.raises(NotFittedError, match="fit"):
        persist.save(Forecaster(), tmp_path / "never.safetensors")
    assert not (tmp_path / "never.safetensors").exists()


# ---- broken files --------------------------------------------------------------------------------


def _load_error(path: Path) -> str:
    with pytest.raises(ModelFileError) as info:
        persist.load(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert isinstance(info.value, InputError)
    return message


def test_missing_file_raises(tmp_path):
    assert "does not exist" in _load_error(tmp_path / "absent.safetensors")


def test_folder_instead_of_file_raises(tmp_path):
    assert "folder" in _load_error(tmp_path)


@pytest.mark.parametrize("content", [b"", b"1234", b"not a model at all, just text\n" * 10, bytes(range(256)) * 4])
def test_garbage_file_raises(tmp_path, content):
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(content)

    assert "not a complete safetensors file" in _load_error(path)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.02])
def test_truncated_file_raises(saved, keep):
    data = saved.read_bytes()
    saved.write_bytes(data[: int(len(data) * keep)])

    assert "truncated" in _load_error(saved)


@pytest.mark.parametrize("offset", [-1, -40, -150])
def test_tampered_tensor_bytes_raise(saved, offset):
    data = bytearray(saved.read_bytes())
    data[offset] ^= 0x5A  # the tensor data sits at the end of the file
    saved.write_bytes(bytes(data))

    assert "integrity" in _load_error(saved)


def test_a_flipped_bit_anywhere_is_refused(saved):
    data = saved.read_bytes()
    for offset in range(0, len(data), max(1, len(data) // 60)):  # header, metadata and tensors alike
        changed = bytearray(data)
        changed[offset] ^= 0x01
        saved.write_bytes(bytes(changed))
        with pytest.raises(ModelFileError):
            persist.load(saved)


def _rewrite(path: Path, edit, fix_digest: bool) -> None:
    """Rewrite the saved file with its document edited, keeping (or recomputing) the stored digest."""
    with safe_open(path, framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    document = json.loads(metadata["lstmcast"])
    edit(document)
    metadata["lstmcast"] = json.dumps(document)
    if fix_digest:
        metadata["lstmcast.sha256"] = persist._digest(metadata["lstmcast"], tensors)
    path.write_bytes(save_tensors(tensors, metadata=metadata))


def test_tampered_metadata_raises(saved):
    _rewrite(saved, lambda doc: doc["scaler"]["state"]["min_"].__setitem__(0, 0.0), fix_digest=False)

    assert "integrity" in _load_error(saved)


def test_file_without_lstmcast_metadata_raises(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"weight": torch.zeros(3)}, path)

    assert "not an lstmcast model" in _load_error(path)


def test_unknown_format_version_raises(saved):
    _rewrite(saved, lambda doc: doc.__setitem__("format_version", 99), fix_digest=False)

    message = _load_error(saved)
    assert "format version 99" in message and "reads version 1" in message


def test_config_that_does_not_match_the_weights_raises(saved):
    def widen(doc):  # parameters and configuration agree with each other, not with the weights
        doc["params"]["units"] = doc["model_config"]["units"] = 5

    _rewrite(saved, widen, fix_digest=True)

    assert "does not match its model configuration" in _load_error(saved)


def test_config_that_does_not_match_the_parameters_raises(saved):
    _rewrite(saved, lambda doc: doc["model_config"].__setitem__("units", 5), fix_digest=True)

    assert "units is 5, but the parameters give 4" in _load_error(saved)


def test_incomplete_metadata_raises(saved):
    _rewrite(saved, lambda doc: doc.pop("scaler"), fix_digest=True)

    assert "incomplete or inconsistent" in _load_error(saved)


# ---- atomic writes -------------------------------------------------------------------------------


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_failed_write_keeps_the_old_file_and_leaves_no_temp_file(fitted, saved, monkeypatch):
    before = saved.read_bytes()

    def fail_midway(handle, data):
        handle.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(persist, "_write_all", fail_midway)
    with pytest.raises(ModelFileError, match="No space left"):
        persist.save(fitted, saved)

    assert saved.read_bytes() == before
    assert _leftovers(saved.parent) == []
    persist.load(saved)


def test_interrupted_write_of_a_new_file_leaves_nothing(fitted, tmp_path, monkeypatch):
    def interrupt(handle, data):
        handle.write(data[:10])
        raise KeyboardInterrupt

    monkeypatch.setattr(persist, "_write_all", interrupt)
    with pytest.raises(KeyboardInterrupt):
        persist.save(fitted, tmp_path / "new.safetensors")

    assert list(tmp_path.iterdir()) == []


def test_failed_rename_leaves_no_temp_file(fitted, tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ModelFileError, match="Permission denied"):
        persist.save(fitted, tmp_path / "new.safetensors")

    assert list(tmp_path.iterdir()) == []


def test_save_overwrites_an_existing_model(shampoo, saved):
    other = Forecaster(model="stacked", **FAST).fit(shampoo[:24])

    persist.save(other, saved)

    assert persist.load(saved).model == "stacked"
    assert _leftovers(saved.parent) == []


def test_save_into_a_missing_folder_raises(fitted, tmp_path):
    with pytest.raises(ModelFileError, match="folder exists"):
        persist.save(fitted, tmp_path / "nowhere" / "model.safetensors")


# ---- training history ----------------------------------------------------------------------------


def test_long_history_is_left_out_but_the_model_loads(fitted, tmp_path, monkeypatch):
    monkeypatch.setattr(persist, "_MAX_HISTORY_NUMBERS", 3)
    loaded = persist.load(persist.save(fitted, tmp_path / "m.safetensors"))

    assert loaded.history_.loss.shape == (0, 1)
    assert loaded.history_.extra["losses_not_saved"] == fitted.history_.loss.shape[0]
    pd.testing.assert_series_equal(loaded.forecast(3), fitted.forecast(3), check_exact=True)


def test_validation_history_round_trips(shampoo, tmp_path):
    original = Forecaster(validation_size=3, patience=2, **FAST).fit(shampoo[:24])
    loaded = persist.load(persist.save(original, tmp_path / "v.safetensors"))

    assert np.array_equal(loaded.history_.val_loss, original.history_.val_loss)
    assert loaded.history_.stopped_epoch == original.history_.stopped_epoch
