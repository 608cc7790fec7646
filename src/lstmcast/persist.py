"""Save a fitted Forecaster to one safetensors file and load it back, never unpickling.

The file is a plain safetensors file: the network's weights (``network.<name>``) and the fitted
training values (``values``, float64) are its tensors; everything else a forecast needs (the
Forecaster's parameters, model config, scaler state, columns, index, seeds, training losses) is
one JSON document in the safetensors metadata under ``"lstmcast"``. A SHA-256 over that document
and every tensor's bytes, stored beside it, is checked on load, so a file changed after saving is
refused even where its header still parses. Files are written atomically (temp file, fsync,
rename): a failed save never leaves a half-written file behind.

    save(Forecaster(epochs=50).fit(y), "model.safetensors")
    load("model.safetensors").forecast(12)      # identical to the saved forecaster's forecast
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load as _load_tensors
from safetensors.torch import save as _save_tensors

from lstmcast.errors import InputError, ModelFileError, NotFittedError
from lstmcast.forecaster import Forecaster
from lstmcast.models.zoo import ModelConfig, build_network
from lstmcast.training.trainer import TrainHistory

FORMAT_VERSION = 1
_DOCUMENT_KEY = "lstmcast"
_DIGEST_KEY = "lstmcast.sha256"
_NETWORK_PREFIX = "network."
_VALUES = "values"
_MAX_HISTORY_NUMBERS = 100_000  # larger loss histories are left out of the metadata
_MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
_CHUNK = 1 << 20


# ---- public API --------------------------------------------------------------------------------


def save(forecaster: Forecaster, path: str | os.PathLike) -> Path:
    """Return the path written: ``forecaster`` saved to one safetensors file at ``path``, atomically.

    Raises NotFittedError for an unfitted forecaster and ModelFileError when the file cannot be written.
    """
    if not hasattr(forecaster, "network_"):
        raise NotFittedError("this Forecaster is not fitted yet; call fit(y) before saving it")
    path = Path(path)
    tensors = {
        _NETWORK_PREFIX + name: value.detach().cpu().contiguous().clone()
        for name, value in forecaster.network_.state_dict().items()
    }
    tensors[_VALUES] = torch.from_numpy(np.ascontiguousarray(forecaster.values_, dtype=np.float64).copy())
    try:
        document = json.dumps(_describe(forecaster), default=_plain_json)
    except TypeError as exc:
        raise InputError(f"cannot save this Forecaster: {exc}; use plain str/int/float parameters and labels") from None
    metadata = {_DOCUMENT_KEY: document, _DIGEST_KEY: _digest(document, tensors)}
    _write_atomic(path, _save_tensors(tensors, metadata=metadata))
    return path


def load(path: str | os.PathLike) -> Forecaster:
    """Return the fitted Forecaster saved at ``path``; it predicts and forecasts exactly as the saved one.

    Raises ModelFileError when the file is missing, not a safetensors file, truncated, changed since
    it was saved, of an unknown format version or internally inconsistent.
    """
    path = Path(path)
    data = _read(path)
    metadata = _header_metadata(path, data)
    if _DOCUMENT_KEY not in metadata:
        raise ModelFileError(
            f"model file {path} is a safetensors file but not an lstmcast model (no {_DOCUMENT_KEY!r} metadata); "
            "pass a file written by Forecaster.save"
        )
    try:
        document = json.loads(metadata[_DOCUMENT_KEY])
    except ValueError as exc:
        raise ModelFileError(
            f"model file {path} has unreadable lstmcast metadata ({_one_line(exc)}); save the model again"
        ) from None
    if not isinstance(document, dict):
        document = {}
    if document.get("format_version") != FORMAT_VERSION:
        import lstmcast

        raise ModelFileError(
            f"model file {path} has format version {document.get('format_version')!r}, and lstmcast "
            f"{lstmcast.__version__} reads version {FORMAT_VERSION}; load it with the lstmcast version that "
            f"saved it ({document.get('lstmcast_version', 'unknown')}) or refit and save again"
        )
    try:
        tensors = _load_tensors(data)
    except (SafetensorError, ValueError, TypeError, RuntimeError) as exc:  # whatever the parser rejects
        raise ModelFileError(
            f"model file {path} is truncated or corrupt ({_one_line(exc)}); save the model again"
        ) from None
    if metadata.get(_DIGEST_KEY) != _digest(metadata[_DOCUMENT_KEY], tensors):
        raise ModelFileError(
            f"model file {path} failed its SHA-256 integrity check: its contents changed after it was saved; "
            "save the model again from a fitted forecaster"
        )
    return _rebuild(path, document, tensors)


# ---- what is saved -----------------------------------------------------------------------------


def _describe(f: Forecaster) -> dict:
    """Return the JSON document of everything besides the tensors that predicting needs."""
    import lstmcast

    state = f.fitted_state()
    return {
        "format_version": FORMAT_VERSION,
        "lstmcast_version": lstmcast.__version__,
        "params": f.get_params(),
        "model_config": state["network"].config.to_dict(),
        "seeds": [int(s) for s in state["seeds"]],
        "columns": _labels(state["columns"], "column"),
        "target_idx": [int(i) for i in state["target_idx"]],
        "index": _encode_index(state["index"]),
        "scaler": state["scaler"],
        "n_train_windows": state["n_train_windows"],
        "history": _encode_history(state["history"]),
        "season_length": state["season_length"],
        "skeleton": state["skeleton"],
        "chosen": state["chosen"],
    }


def _rebuild(path: Path, doc: dict, tensors: dict[str, torch.Tensor]) -> Forecaster:
    """Return the Forecaster described by a verified document and its tensors."""
    try:
        seeds = [int(s) for s in doc["seeds"]]
        config = ModelConfig(**doc["model_config"])
        values = tensors[_VALUES]
        if values.dtype != torch.float64:
            raise ValueError(f"values tensor is {values.dtype}, expected float64")
        weights = {k[len(_NETWORK_PREFIX):]: v for k, v in tensors.items() if k.startswith(_NETWORK_PREFIX)}
        try:
            network = build_network(config, seeds)
            network.load_state_dict(weights, strict=True)
        except (InputError, RuntimeError) as exc:
            raise ModelFileError(
                f"its weights do not match its model configuration ({_one_line(exc)}); "
                "the file is inconsistent, save the model again"
            ) from None
        network.eval()
        state = {
            "columns": list(doc["columns"]), "target_idx": doc["target_idx"], "index": _decode_index(doc["index"]),
            "values": values.numpy(), "scaler": doc["scaler"], "seeds": seeds, "network": network,
            "history": _decode_history(doc.get("history"), len(seeds)),
            "n_train_windows": doc["n_train_windows"], "season_length": doc.get("season_length", 1),
            "skeleton": doc.get("skeleton"), "chosen": doc.get("chosen"),
        }
        return Forecaster.from_fitted_state(doc["params"], state)
    except ModelFileError as exc:  # from Scaler.from_dict or the weights, which do not know the file
        raise ModelFileError(f"model file {path}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError, InputError) as exc:
        raise ModelFileError(
            f"model file {path} has incomplete or inconsistent metadata ({_one_line(exc)}); save the model again"
        ) from None


def _encode_history(history: TrainHistory | None) -> dict | None:
    """Return the training history as JSON; the losses only when there are at most _MAX_HISTORY_NUMBERS."""
    if history is None:
        return None
    loss = np.asarray(history.loss, dtype=np.float64)
    val = None if history.val_loss is None else np.asarray(history.val_loss, dtype=np.float64)
    out = {
        "epochs": int(loss.shape[0]),
        "best_epoch": None if history.best_epoch is None else np.asarray(history.best_epoch).tolist(),
        "stopped_epoch": None if history.stopped_epoch is None else int(history.stopped_epoch),
    }
    try:
        out["extra"] = json.loads(json.dumps(history.extra, default=_plain_json))
    except (TypeError, ValueError):
        out["extra"] = {}
    if loss.size + (0 if val is None else val.size) <= _MAX_HISTORY_NUMBERS:
        out["loss"] = loss.tolist()
        out["val_loss"] = None if val is None else val.tolist()
    return out


def _decode_history(data: dict | None, members: int) -> TrainHistory | None:
    if data is None:
        return None
    extra = dict(data.get("extra") or {})
    if "loss" in data:
        loss = np.asarray(data["loss"], dtype=np.float64).reshape(-1, members)
        val = data.get("val_loss")
        val = None if val is None else np.asarray(val, dtype=np.float64).reshape(-1, members)
    else:  # too long to keep: an empty history that says how many epochs ran
        loss, val = np.empty((0, members)), None
        extra["losses_not_saved"] = int(data["epochs"])
    best = data.get("best_epoch")
    return TrainHistory(
        loss=loss, val_loss=val, best_epoch=None if best is None else np.asarray(best),
        stopped_epoch=data.get("stopped_epoch"), extra=extra,
    )


# ---- the time index ----------------------------------------------------------------------------


def _encode_index(index: pd.Index) -> dict:
    """Return a JSON description of the fitted data's index that ``_decode_index`` rebuilds exactly.

    Regular indexes are stored by their start, step and length; a DatetimeIndex without a set
    frequency, or an integer index without a constant step, as the explicit list of its values.
    """
    name = _labels([index.name], "index name")[0]
    n = len(index)
    candidates: list[dict] = []
    if isinstance(index, pd.PeriodIndex):
        candidates.append({"kind": "period", "freq": index.freqstr, "first": str(index[0]),
                           "first_ordinal": int(index.asi8[0]), "length": n})
    elif isinstance(index, pd.DatetimeIndex):
        base = {"kind": "datetime", "unit": index.unit, "tz": None if index.tz is None else str(index.tz),
                "freq": None if index.freq is None else index.freq.freqstr}
        if index.freq is not None:
            candidates.append({**base, "first": index[0].isoformat(), "first_tick": int(index.asi8[0]), "length": n})
        candidates.append({**base, "ticks": [int(t) for t in index.asi8]})
    elif pd.api.types.is_integer_dtype(index) and not pd.api.types.is_bool_dtype(index):
        values = [int(v) for v in index]
        steps = set(np.diff(values).tolist())
        if len(steps) <= 1 and 0 not in steps:
            candidates.append({"kind": "range", "start": values[0] if n else 0,
                               "step": steps.pop() if steps else 1, "length": n})
        candidates.append({"kind": "integers", "values": values})
    elif pd.api.types.is_float_dtype(index) or pd.api.types.is_string_dtype(index):
        candidates.append({"kind": "values", "dtype": str(index.dtype), "values": _labels(list(index), "index value")})
    for spec in candidates:
        spec["name"] = name
        try:
            rebuilt = _decode_index(spec)
        except (KeyError, TypeError, ValueError):
            continue
        if rebuilt.equals(index) and type(rebuilt) is type(index) and getattr(rebuilt, "freq", None) == getattr(
            index, "freq", None
        ) and getattr(rebuilt, "tz", None) == getattr(index, "tz", None):
            return spec
    raise InputError(
        f"cannot save a series indexed by a {type(index).__name__} ({index.dtype}); use a PeriodIndex, "
        "a DatetimeIndex, an integer index or plain labels"
    )


def _decode_index(spec: dict) -> pd.Index:
    """Return the index described by ``_encode_index``'s output."""
    kind, name = spec["kind"], spec.get("name")
    if kind == "period":
        first = pd.Period(ordinal=int(spec["first_ordinal"]), freq=spec["freq"])
        return pd.period_range(start=first, periods=int(spec["length"]), freq=spec["freq"], name=name)
    if kind == "datetime":
        unit, tz = spec["unit"], spec["tz"]
        if "ticks" in spec:
            ticks = np.asarray(spec["ticks"], dtype=np.int64).view(f"datetime64[{unit}]")
            index = pd.DatetimeIndex(ticks, name=name)
            if tz is not None:
                index = index.tz_localize("UTC").tz_convert(tz)
            return pd.DatetimeIndex(index, freq=spec["freq"]) if spec["freq"] else index
        first = pd.Timestamp(np.datetime64(int(spec["first_tick"]), unit))
        if tz is not None:
            first = first.tz_localize("UTC").tz_convert(tz)
        return pd.date_range(start=first, periods=int(spec["length"]), freq=spec["freq"], unit=unit, name=name)
    if kind == "range":
        start, step = int(spec["start"]), int(spec["step"])
        return pd.RangeIndex(start, start + step * int(spec["length"]), step, name=name)
    if kind == "integers":
        return pd.Index(np.asarray(spec["values"], dtype=np.int64), name=name)
    if kind == "values":
        return pd.Index(spec["values"], dtype=spec["dtype"], name=name)
    raise ValueError(f"unknown index kind {kind!r}")


# ---- bytes on disk -----------------------------------------------------------------------------


def _digest(document: str, tensors: dict[str, torch.Tensor]) -> str:
    """Return the SHA-256 (hex) of the document and every tensor's name, dtype, shape and bytes.

    Tensors are taken in sorted name order and each part is length-prefixed, so the digest does
    not depend on how safetensors lays the tensors out and no two contents share one.
    """
    h = hashlib.sha256()

    def part(data) -> None:
        view = memoryview(data)
        h.update(struct.pack("<Q", view.nbytes))
        h.update(view)

    part(f"lstmcast-format-{FORMAT_VERSION}".encode())
    part(document.encode("utf-8"))
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        part(name.encode("utf-8"))
        part(f"{t.dtype} {list(t.shape)}".encode())
        part(t.reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(
            f"model file {path} does not exist; check the path, or fit and save a model there"
        ) from None
    except IsADirectoryError:
        raise ModelFileError(f"model file {path} is a folder, not a file; pass the path of a saved model") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path} ({exc.strerror}); check its permissions") from None


def _header_metadata(path: Path, data: bytes) -> dict[str, str]:
    """Return the safetensors header's ``__metadata__`` (str -> str), or raise for a non-safetensors file."""
    problem = None
    if len(data) < 8:
        problem = f"only {len(data)} bytes long"
    else:
        (size,) = struct.unpack("<Q", data[:8])
        if size > min(len(data) - 8, _MAX_HEADER_BYTES) or data[8:9] != b"{":
            problem = "no safetensors header at its start"
        else:
            try:
                header = json.loads(data[8 : 8 + size].decode("utf-8"))
                metadata = header.get("__metadata__", {}) if isinstance(header, dict) else None
            except (UnicodeDecodeError, ValueError):
                metadata = None
            if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
                problem = "its safetensors header is unreadable"
            else:
                return metadata
    raise ModelFileError(
        f"model file {path} is not a complete safetensors file ({problem}; truncated or not a model file); "
        "pass a file written by Forecaster.save"
    )


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder, fsync'd and renamed over it."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        # created like an ordinary file (the umask applies), unlike mkstemp's 0600
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise ModelFileError(
            f"cannot write model file {path} ({exc.strerror}); check that its folder exists and is writable"
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            _write_all(handle, data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ModelFileError(
                f"cannot write model file {path} ({exc.strerror or exc}); the previous file, if any, is unchanged"
            ) from exc
        raise
    _fsync_folder(path.parent)


def _write_all(handle, data: bytes) -> None:
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        handle.write(view[start : start + _CHUNK])


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable where the platform allows syncing a folder (POSIX)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---- small helpers -----------------------------------------------------------------------------


def _labels(labels: list, what: str) -> list:
    """Return column/index labels as JSON values that load back equal (str, int, float, bool or None)."""
    out = []
    for label in labels:
        if isinstance(label, np.generic):
            label = label.item()
        if label is not None and not isinstance(label, (str, int, float)):
            raise InputError(
                f"cannot save a {what} {label!r} of type {type(label).__name__}; rename it to a str or int"
            )
        out.append(label)
    return out


def _plain_json(value):
    """Return numpy scalars and arrays as plain Python values for json.dumps."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} value {value!r} is not JSON-serializable")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 240 else text[:237] + "..."
