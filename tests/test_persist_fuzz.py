"""Damaged model files never make ``load`` crash or hang: a model that forecasts, or a ModelFileError.

Real saved models (an explicit LSTM and a model="auto" one) are damaged at random: truncated,
bytes flipped, spans spliced, the JSON document replaced, its raw text spliced, one of its
fields replaced or removed, a tensor's values, dtype or shape changed, a tensor dropped. Where
the damage is to the document or the tensors, the digest is recomputed, so that the schema, not
the integrity check, has to catch it.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.torch import save as save_tensors

import lstmcast
from lstmcast import persist
from lstmcast.errors import ModelFileError
from lstmcast.forecaster import Forecaster

EXAMPLES = 200

MODELS = {
    "vanilla": (dict(difference=1, epochs=2, units=3, seed=5), "shampoo", 24),
    "auto": (dict(model="auto", epochs=2, members=2, seed=0), "airline", 60),
}


class _Originals(dict):
    def __repr__(self) -> str:  # hypothesis prints the strategy's arguments with a failure
        return f"<saved models {sorted(self)}>"


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> _Originals:
    """Return, per model, the saved file's bytes, its metadata and its tensors."""
    folder = tmp_path_factory.mktemp("originals")
    out = _Originals()
    for name, (params, data, n) in MODELS.items():
        path = persist.save(Forecaster(**params).fit(lstmcast.datasets.load(data)[:n]), folder / f"{name}.st")
        with safe_open(path, framework="pt") as handle:
            out[name] = (path.read_bytes(), handle.metadata(), {k: handle.get_tensor(k) for k in handle.keys()})
    return out


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "damaged.safetensors"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# A weight edited to another finite number is a different, well-formed network, as open to
# divergence as any trained one; only non-finite weights are a damaged file. The fitted values
# take any float: the refitted scaler tells when they changed.
non_finite = st.sampled_from([math.nan, math.inf, -math.inf])
# numbers near the ones a model file holds, more often valid than arbitrary JSON
numbers = st.one_of(
    st.integers(-3, 30), st.floats(-10, 10), st.floats(), st.sampled_from([0, 1, -1, 2**31, 1e308, 10**400]))


def _paths(value, prefix=()) -> list[tuple]:
    """Return the path of every value inside a parsed JSON document (keys and list positions)."""
    out = [prefix] if prefix else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        out += _paths(child, prefix + (key,))
    return out


def _with_digest(metadata: dict, tensors: dict) -> bytes:
    metadata = {**metadata, "lstmcast.sha256": persist._digest(metadata["lstmcast"], tensors)}
    return save_tensors(tensors, metadata=metadata)


@st.composite
def damaged(draw, originals) -> bytes:
    """Return the bytes of one saved model with one random kind of damage."""
    data, metadata, tensors = originals[draw(st.sampled_from(sorted(originals)))]
    how = draw(st.sampled_from(["truncate", "flip", "splice", "document", "field", "number", "text", "tensor"]))
    if how == "truncate":
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "flip":
        out = bytearray(data)
        flips = st.tuples(st.integers(0, len(data) - 1), st.integers(1, 255))
        for offset, mask in draw(st.lists(flips, min_size=1, max_size=8)):
            out[offset] ^= mask
        return bytes(out)
    if how == "splice":
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 64)))
        return data[:start] + draw(st.binary(max_size=64)) + data[end:]
    document = json.loads(metadata["lstmcast"])
    if how == "document":
        document = draw(json_values)
    elif how in ("field", "number"):
        path = draw(st.sampled_from(_paths(document)))
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        if how == "field" and draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values if how == "field" else numbers)
    elif how == "text":  # raw text spliced, so the parser sees broken JSON too
        text = metadata["lstmcast"]
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 16)))
        return _with_digest({**metadata, "lstmcast": text[:start] + draw(st.text(max_size=16)) + text[end:]}, tensors)
    else:
        tensors = _damaged_tensors(draw, tensors)
    return _with_digest({**metadata, "lstmcast": json.dumps(document)}, tensors)


def _damaged_tensors(draw, tensors: dict) -> dict:
    tensors = {k: v.clone() for k, v in tensors.items()}
    name = draw(st.sampled_from(sorted(tensors)))
    change = draw(st.sampled_from(["value", "dtype", "shape", "drop"]))
    if change == "value":
        flat = tensors[name].view(-1)
        flat[draw(st.integers(0, flat.numel() - 1))] = draw(
            st.floats() if name == "values" else st.one_of(non_finite, st.floats(-1, 1, width=32)))
    elif change == "dtype":
        dtype = draw(st.sampled_from([torch.float16, torch.float32, torch.float64, torch.int64]))
        tensors[name] = tensors[name].to(dtype)
    elif change == "shape":
        tensors[name] = tensors[name].reshape(-1)[: draw(st.integers(0, tensors[name].numel()))].clone()
    else:
        del tensors[name]
    return tensors


@pytest.mark.slow
def test_damaged_files_load_as_forecasting_models_or_raise_model_file_error(originals, target):
    outcomes = {"loaded": 0, "refused": 0}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=damaged(originals))
    def check(data: bytes) -> None:
        target.write_bytes(data)
        try:
            model = persist.load(target)
        except ModelFileError as exc:
            assert str(target) in str(exc) and "\n" not in str(exc)
            outcomes["refused"] += 1
            return
        outcomes["loaded"] += 1
        forecast = model.forecast(3)
        assert np.isfinite(forecast.to_numpy(dtype=float)).all()

    check()
    assert outcomes["loaded"] and outcomes["refused"]  # both paths were exercised


def test_undamaged_originals_load_and_forecast(originals, target):
    for data, _, _ in originals.values():
        target.write_bytes(data)
        assert all(math.isfinite(v) for v in persist.load(target).forecast(3))
