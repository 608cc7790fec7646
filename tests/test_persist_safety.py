"""Model files that can never hang, crash or load nonsense (issue 14).

Each test damages a saved model in one way a reported failure did: deeply nested JSON, metadata
edited with its digest recomputed, tensors with non-finite values or wrong shapes, and paths
that are not regular files. ``load`` must refuse each with a ModelFileError that names the file
and, for metadata, the field.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save as save_tensors

import lstmcast
from lstmcast import persist
from lstmcast.errors import InputError, ModelFileError
from lstmcast.forecaster import Forecaster

FAST = dict(epochs=2, units=3, seed=5)


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory) -> bytes:
    """Return the bytes of a small saved model (shampoo, first 24 months, differenced)."""
    f = Forecaster(difference=1, **FAST).fit(lstmcast.datasets.load("shampoo")[:24])
    return persist.save(f, tmp_path_factory.mktemp("model") / "model.safetensors").read_bytes()


@pytest.fixture
def saved(model_bytes, tmp_path) -> Path:
    path = tmp_path / "model.safetensors"
    path.write_bytes(model_bytes)
    return path


def _parts(path: Path) -> tuple[dict, dict]:
    with safe_open(path, framework="pt") as handle:
        return handle.metadata(), {name: handle.get_tensor(name) for name in handle.keys()}


def _write(path: Path, metadata: dict, tensors: dict, fix_digest: bool = True) -> None:
    if fix_digest:  # as an editor who knows the format would: the schema, not the digest, must catch it
        metadata = {**metadata, "lstmcast.sha256": persist._digest(metadata["lstmcast"], tensors)}
    path.write_bytes(save_tensors(tensors, metadata=metadata))


def _edit_document(path: Path, edit, fix_digest: bool = True) -> None:
    metadata, tensors = _parts(path)
    document = json.loads(metadata["lstmcast"])
    edit(document)
    metadata["lstmcast"] = json.dumps(document)
    _write(path, metadata, tensors, fix_digest)


def _edit_tensors(path: Path, edit) -> None:
    metadata, tensors = _parts(path)
    edit(tensors)
    _write(path, metadata, tensors)


def _load_error(path: Path, *words: str) -> str:
    with pytest.raises(ModelFileError) as info:
        persist.load(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message, message
    for word in words:
        assert word in message, message
    return message


# ---- JSON that would overflow the parser's stack ----------------------------------------------


NESTED = "[" * 100_000 + "]" * 100_000


def test_deeply_nested_document_is_refused_by_the_digest_before_parsing(saved, monkeypatch):
    metadata, tensors = _parts(saved)
    _write(saved, {**metadata, "lstmcast": NESTED}, tensors, fix_digest=False)
    parsed, real_loads = [], json.loads
    monkeypatch.setattr(json, "loads", lambda text, **kw: parsed.append(text) or real_loads(text, **kw))

    _load_error(saved, "integrity")

    assert NESTED not in parsed  # only the safetensors header was parsed


def test_deeply_nested_document_with_a_matching_digest_is_refused(saved):
    metadata, tensors = _parts(saved)
    _write(saved, {**metadata, "lstmcast": NESTED}, tensors)

    _load_error(saved, "nested")


def test_moderately_nested_document_is_refused_by_depth(saved):
    _edit_document(saved, lambda doc: doc.__setitem__("chosen", json.loads("[" * 200 + "]" * 200)))

    _load_error(saved, "nested")


def test_deeply_nested_safetensors_header_is_refused(tmp_path):
    header = NESTED.encode()
    path = tmp_path / "nested.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header)

    _load_error(path, "safetensors header")


def test_document_over_the_size_limit_is_refused_before_parsing(saved, monkeypatch):
    monkeypatch.setattr(persist, "MAX_DOCUMENT_BYTES", 1000)

    _load_error(saved, "1000 bytes")


def test_save_refuses_a_document_over_the_size_limit(saved, tmp_path, monkeypatch):
    f = persist.load(saved)
    monkeypatch.setattr(persist, "MAX_DOCUMENT_BYTES", 1000)

    with pytest.raises(InputError, match="1000 bytes"):
        persist.save(f, tmp_path / "big.safetensors")
    assert not (tmp_path / "big.safetensors").exists()


# ---- metadata edited with the digest recomputed ----------------------------------------------


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def edit(doc):
        for key in keys[:-1]:
            doc = doc[key]
        doc[keys[-1]] = value

    return edit


def _drop(key):
    return lambda doc: doc.pop(key)


EDITS = {
    # the reported ones: a forecast of [inf, inf, inf], an AttributeError and a MemoryError
    "scale-zero": (_set("scaler", "state", "scale_", [0.0]), "scaler"),
    "scale-negative": (_set("scaler", "state", "scale_", [-2.0]), "scaler"),
    "scaler-min-nan": (_set("scaler", "state", "min_", [float("nan")]), "scaler"),
    "scaler-min-huge": (_set("scaler", "state", "min_", [1e308]), "scaler"),
    "scaler-kind": (_set("scaler", "kind", "bogus"), "scaler"),
    "scaler-kind-other": (_set("scaler", "kind", "standard"), "scaler"),
    "scaler-features": (_set("scaler", "n_features", 3), "scaler"),
    "scaler-state-missing": (_set("scaler", "state", {}), "scaler"),
    "scaler-not-a-dict": (_set("scaler", [1, 2]), "scaler"),
    "units-huge": (_set("model_config", "units", 10**12), "model_config"),
    "units-text": (_set("model_config", "units", "many"), "model_config"),
    "architecture": (_set("model_config", "architecture", "transformer"), "model_config"),
    "activation": (_set("model_config", "activation", "gelu"), "model_config"),
    "config-unknown-field": (_set("model_config", "colour", 1), "model_config"),
    "config-not-a-dict": (_set("model_config", None), "model_config"),
    "seed-text": (_set("seeds", ["a"]), "seeds"),
    "seed-negative": (_set("seeds", [-1]), "seeds"),
    "seed-huge": (_set("seeds", [2**40]), "seeds"),
    "seed-mismatch": (_set("seeds", [6]), "seeds"),
    "seeds-many": (_set("seeds", [5, 6]), "seeds"),
    "seeds-not-a-list": (_set("seeds", 5), "seeds"),
    "column-list": (_set("columns", [[1]]), "columns"),
    "column-bool": (_set("columns", [True]), "columns"),
    "columns-too-many": (_set("columns", ["a", "b"]), "columns"),
    "columns-empty": (_set("columns", []), "columns"),
    "target-out-of-range": (_set("target_idx", [5]), "target_idx"),
    "target-negative": (_set("target_idx", [-1]), "target_idx"),
    "target-empty": (_set("target_idx", []), "target_idx"),
    "target-float": (_set("target_idx", [0.5]), "target_idx"),
    "index-kind": (_set("index", "kind", "weird"), "index"),
    "index-length": (_set("index", "length", 10**12), "index"),
    "index-freq": (_set("index", "freq", "nonsense"), "index"),
    "index-ordinal": (_set("index", "first_ordinal", 10**30), "index"),
    "index-not-a-dict": (_set("index", "2020"), "index"),
    "windows-negative": (_set("n_train_windows", -1), "n_train_windows"),
    "windows-text": (_set("n_train_windows", "x"), "n_train_windows"),
    "windows-huge": (_set("n_train_windows", 2**64), "n_train_windows"),
    "history-loss-text": (_set("history", "loss", "abc"), "history"),
    "history-loss-ragged": (_set("history", "loss", [[0.1], [0.2, 0.3]]), "history"),
    "history-epochs": (_set("history", "epochs", -1), "history"),
    "history-stopped": (_set("history", "stopped_epoch", "late"), "history"),
    "history-extra": (_set("history", "extra", [1]), "history"),
    "history-unknown-field": (_set("history", "colour", 1), "history"),
    "season-zero": (_set("season_length", 0), "season_length"),
    "season-huge": (_set("season_length", 10**9), "season_length"),
    "skeleton-on-explicit-model": (_set("skeleton", {"kind": "chain", "steps": [{"kind": "log"}]}), "skeleton"),
    "chosen-on-explicit-model": (_set("chosen", {"chosen": "log"}), "chosen"),
    "params-text": (_set("params", "learning_rate", "fast"), "params"),
    "params-int-beyond-floats": (_set("params", "learning_rate", 10**400), "params"),
    "scaler-int-beyond-floats": (_set("scaler", "state", "min_", [10**400]), "scaler"),
    "history-int-beyond-floats": (_set("history", "loss", [[10**400], [0.1]]), "history"),
    "params-unknown": (_set("params", "colour", "red"), "params"),
    "params-range": (_set("params", "units", 0), "params"),
    "params-not-a-dict": (_set("params", [1]), "params"),
    "params-other-model": (_set("params", "model", "stacked"), "model_config"),
    "params-look-back": (_set("params", "look_back", 3), "model_config"),
    "params-too-long-for-the-data": (_set("params", "difference", 30), "params"),
    "params-other-scale": (_set("params", "scale", "standard"), "scaler"),
    "params-difference": (_set("params", "difference", 0), "scaler"),  # the scaler no longer fits the values
    "scaler-consistent-but-not-fitted": (_set("scaler", "state", "data_max_", [1e5]), "scaler"),
    "bands-not-a-dict": (_set("bands", [1]), "bands"),
    "format-version-text": (_set("format_version", "1"), "format version"),
    "missing-scaler": (_drop("scaler"), "scaler"),
    "missing-params": (_drop("params"), "params"),
    "unknown-field": (_set("colour", "red"), "colour"),
}


@pytest.mark.parametrize("case", list(EDITS))
def test_edited_metadata_with_a_recomputed_digest_is_refused(saved, case):
    edit, field = EDITS[case]
    _edit_document(saved, edit)

    _load_error(saved, field)


@pytest.mark.parametrize("document", ["[]", "1", '"text"', "null", "{}", '{"format_version": 1}'])
def test_document_that_is_not_a_model_description_is_refused(saved, document):
    metadata, tensors = _parts(saved)
    _write(saved, {**metadata, "lstmcast": document}, tensors)

    _load_error(saved)


def test_unreadable_document_with_a_recomputed_digest_is_refused(saved):
    metadata, tensors = _parts(saved)
    _write(saved, {**metadata, "lstmcast": '{"format_version": 1, '}, tensors)

    _load_error(saved, "unreadable")


def test_document_edited_without_the_digest_is_refused_by_the_digest(saved):
    _edit_document(saved, _set("scaler", "state", "scale_", [0.0]), fix_digest=False)

    _load_error(saved, "integrity")


# ---- tensors with the digest recomputed --------------------------------------------------------


def _weight_name(tensors: dict) -> str:
    return sorted(name for name in tensors if name.startswith("network."))[0]


def _poison_weight(value):
    def edit(tensors):
        name = _weight_name(tensors)
        tensors[name] = tensors[name].clone()
        tensors[name].view(-1)[0] = value

    return edit


def _poison_values(value):
    def edit(tensors):
        tensors["values"] = tensors["values"].clone()
        tensors["values"][3, 0] = value

    return edit


def _retype(name_of, dtype):
    def edit(tensors):
        name = name_of(tensors)
        tensors[name] = tensors[name].to(dtype)

    return edit


TENSOR_EDITS = {
    "weight-inf": (_poison_weight(float("inf")), "not finite"),
    "weight-nan": (_poison_weight(float("nan")), "not finite"),
    "values-nan": (_poison_values(float("nan")), "values"),
    "values-inf": (_poison_values(float("-inf")), "values"),
    "values-huge": (_poison_values(1e200), "values"),
    "values-new-maximum": (_poison_values(10_000.0), "scaler"),  # fit would have scaled differently
    "values-float32": (_retype(lambda t: "values", torch.float32), "values"),
    "values-shape": (lambda t: t.__setitem__("values", t["values"].reshape(-1)), "values"),
    "values-rows": (lambda t: t.__setitem__("values", t["values"][:-1].clone()), "values"),
    "values-missing": (lambda t: t.pop("values"), "values"),
    "weight-float64": (_retype(_weight_name, torch.float64), "network"),
    "weight-int": (_retype(_weight_name, torch.int64), "network"),
    "weight-missing": (lambda t: t.pop(_weight_name(t)), "network"),
    "weight-shape": (lambda t: t.__setitem__(_weight_name(t), torch.zeros(1, 2, 3)), "network"),
    "weight-extra": (lambda t: t.__setitem__("network.extra", torch.zeros(1)), "network"),
    "unknown-tensor": (lambda t: t.__setitem__("other", torch.zeros(1)), "other"),
}


@pytest.mark.parametrize("case", list(TENSOR_EDITS))
def test_edited_tensors_with_a_recomputed_digest_are_refused(saved, case):
    edit, words = TENSOR_EDITS[case]
    _edit_tensors(saved, edit)

    _load_error(saved, words)


# ---- paths that are not regular files ----------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")
def test_named_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    outcome: list = []
    worker = threading.Thread(target=lambda: outcome.append(_raised(fifo)), daemon=True)
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive():  # release the blocked reader before failing, so the test run ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(timeout=5)
        pytest.fail("load blocked on a named pipe")
    assert isinstance(outcome[0], ModelFileError)
    assert "not a regular file" in str(outcome[0]) and "pipe" in str(outcome[0])


def _raised(path):
    try:
        persist.load(path)
    except Exception as exc:  # the test inspects whatever it was
        return exc
    return None


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_character_device_is_refused():
    _load_error(Path("/dev/zero"), "not a regular file", "device")


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges on Windows")
def test_symlink_to_a_model_file_loads(saved, tmp_path):
    link = tmp_path / "link.safetensors"
    link.symlink_to(saved)

    pd.testing.assert_series_equal(persist.load(link).forecast(2), persist.load(saved).forecast(2))


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges on Windows")
def test_symlink_loop_is_refused(tmp_path):
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    a.symlink_to(b)
    b.symlink_to(a)

    _load_error(a, "symbolic link", "loop")


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges on Windows")
def test_dangling_symlink_is_refused(tmp_path):
    link = tmp_path / "link.safetensors"
    link.symlink_to(tmp_path / "gone.safetensors")

    _load_error(link, "does not exist")


def test_file_over_the_size_limit_is_refused_before_reading(saved, monkeypatch):
    monkeypatch.setattr(persist, "MAX_FILE_BYTES", 100)
    monkeypatch.setattr(os, "read", lambda *a: pytest.fail("read a file over the limit"))

    message = _load_error(saved, "100 bytes")
    assert str(saved.stat().st_size) in message


def test_save_refuses_a_model_over_the_size_limit(saved, tmp_path, monkeypatch):
    f = persist.load(saved)
    monkeypatch.setattr(persist, "MAX_FILE_BYTES", 100)

    with pytest.raises(InputError, match="100 bytes"):
        persist.save(f, tmp_path / "big.safetensors")
    assert not (tmp_path / "big.safetensors").exists()


# ---- model="auto" ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def auto_model() -> Forecaster:
    return Forecaster(model="auto", epochs=5, members=2, seed=0).fit(lstmcast.datasets.load("airline")[:60])


@pytest.mark.slow
def test_auto_forecaster_round_trips(auto_model, tmp_path):
    loaded = lstmcast.load(persist.save(auto_model, tmp_path / "auto.safetensors"))

    pd.testing.assert_series_equal(loaded.forecast(12), auto_model.forecast(12), check_exact=True)
    assert loaded.chosen_ == auto_model.chosen_
    assert loaded.skeleton_.state() == auto_model.skeleton_.state()
    assert loaded.season_length_ == auto_model.season_length_ == 12
    y = lstmcast.datasets.load("airline")
    assert np.array_equal(loaded.predict(y[:72], 60), auto_model.predict(y[:72], 60))


def _skeleton_step(change):
    """Return an edit applying ``change(step)`` to the first skeleton step it applies to (True when it did).

    The skeleton's steps are looked up by content, not position, so the tests hold whichever
    skeleton model="auto" picks.
    """

    def edit(doc):
        steps = doc["skeleton"]["steps"]
        assert any(change(step) for step in steps), steps

    return edit


def _set_rate(step) -> bool:  # a smoothing rate far outside (0, 1]
    return "alpha" in step and step.__setitem__("alpha", 7.0) is None


def _seasonal_list(step):
    return next((key for key, value in step.items() if isinstance(value, list) and len(value) > 1), None)


def _texts_in_list(step) -> bool:
    key = _seasonal_list(step)
    return key is not None and step.__setitem__(key, ["x"] * len(step[key])) is None


def _short_list(step) -> bool:
    key = _seasonal_list(step)
    return key is not None and step.__setitem__(key, step[key][:3]) is None


def _huge_entry(step) -> bool:  # finite, so only a changed transform can tell
    key = _seasonal_list(step)
    return key is not None and step[key].__setitem__(1, 2.0**31) is None


def _other_rate(step) -> bool:  # a valid rate, but not the fitted one
    return "alpha" in step and step.__setitem__("alpha", 0.5) is None


AUTO_EDITS = {
    "skeleton-missing": (_set("skeleton", None), ("skeleton",)),
    "skeleton-kind": (_set("skeleton", "steps", 0, "kind", "exp"), ("skeleton",)),
    "skeleton-rate-out-of-range": (_skeleton_step(_set_rate), ("skeleton",)),
    "skeleton-seasonal-text": (_skeleton_step(_texts_in_list), ("skeleton",)),
    "skeleton-seasonal-short": (_skeleton_step(_short_list), ("skeleton",)),
    # an index of 2**31 in log space forecast 0 at step 1, then crashed at step 2: the refitted scaler tells
    "skeleton-seasonal-huge": (_skeleton_step(_huge_entry), ("skeleton", "scaler")),
    "skeleton-other-rate": (_skeleton_step(_other_rate), ("scaler",)),
    "skeleton-not-a-dict": (_set("skeleton", [1]), ("skeleton",)),
    "chosen-missing": (_set("chosen", None), ("chosen",)),
    "chosen-not-a-dict": (_set("chosen", [1, 2]), ("chosen",)),
    "chosen-huge": (_set("chosen", {"note": "x" * 2_000_000}), ("chosen",)),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(AUTO_EDITS))
def test_edited_auto_metadata_is_refused(auto_model, tmp_path, case):
    path = persist.save(auto_model, tmp_path / "auto.safetensors")
    edit, fields = AUTO_EDITS[case]
    _edit_document(path, edit)

    message = _load_error(path)
    assert any(f"metadata in '{field}" in message for field in fields), message


# ---- conformal bands -----------------------------------------------------------------------------


def test_conformal_bands_round_trip(saved, tmp_path):
    f = persist.load(saved)
    f.calibration(3, [80])

    loaded = persist.load(persist.save(f, tmp_path / "bands.safetensors"))

    assert loaded.bands_.state() == f.bands_.state()
    pd.testing.assert_frame_equal(loaded.forecast(3, level=80), f.forecast(3, level=80), check_exact=True)


@pytest.mark.parametrize("edit", [
    lambda bands: bands["widths"].__setitem__("80", [-1.0, 0.0, 0.0]),
    lambda bands: bands.__setitem__("spread_floor", float("inf")),
    lambda bands: bands.__setitem__("kind", "other"),
])
def test_edited_conformal_bands_are_refused(saved, tmp_path, edit):
    f = persist.load(saved)
    f.calibration(3, [80])
    path = persist.save(f, tmp_path / "bands.safetensors")
    _edit_document(path, lambda doc: edit(doc["bands"]))

    _load_error(path, "bands")


# ---- the rebuilt network -------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["vanilla", "bidirectional", "cnn-lstm", "conv-lstm", "encoder-decoder"])
def test_loaded_network_lives_on_the_cpu_like_a_fitted_one(model, tmp_path):
    fitted = Forecaster(model=model, look_back=4, filters=4, epochs=1, units=3, members=2, seed=1).fit(
        lstmcast.datasets.load("shampoo")[:24])
    loaded = persist.load(persist.save(fitted, tmp_path / "m.safetensors")).network_

    def tensors(net):
        return {name: (t.device.type, t.dtype, t.requires_grad) for name, t in [*net.named_parameters(),
                                                                                  *net.named_buffers()]}

    assert tensors(loaded) == tensors(fitted.network_)
    assert {t.device.type for t in loaded.state_dict().values()} == {"cpu"}
    assert not loaded.training


@pytest.mark.parametrize("weight", [7.0, -3.0, "abc", None])
def test_an_auto_model_with_an_impossible_skeleton_weight_is_refused(tmp_path, weight):
    f = Forecaster(model="auto", epochs=2, members=2, seed=5).fit(lstmcast.datasets.load("airline")[:60])
    path = persist.save(f, tmp_path / "auto.lstm")
    _edit_document(path, lambda doc: doc["chosen"].update(skeleton_weight=weight))
    assert "chosen.skeleton_weight" in _load_error(path)
