"""Save a fitted Forecaster to one safetensors file and load it back, never unpickling.

The file is a plain safetensors file: the network's weights (``network.<name>``) and the fitted
training values (``values``, float64) are its tensors; everything else a forecast needs (the
Forecaster's parameters, model config, scaler state, columns, index, seeds, training losses,
the skeleton and report of ``model="auto"``) is one JSON document in the safetensors metadata
under ``"lstmcast"``. A SHA-256 over that document's text and every tensor's bytes, stored beside
it, is checked on load before the document is parsed, so a file changed after saving is refused
even where its header still parses. Files are written atomically (temp file, fsync, rename): a
failed save never leaves a half-written file behind.

Loading trusts nothing in the file, since anyone can recompute a digest: it reads only regular
files of at most ``MAX_FILE_BYTES``, parses a document of at most ``MAX_DOCUMENT_BYTES`` and
``_MAX_DEPTH`` levels, checks every field against the schema below (types, ranges, and agreement
with the parameters and tensors), and makes one forecast before handing the model back. Anything
wrong is a ModelFileError naming the file and the field.

    save(Forecaster(epochs=50).fit(y), "model.safetensors")
    load("model.safetensors").forecast(12)      # identical to the saved forecaster's forecast
"""

from __future__ import annotations

import contextlib
import copy
import errno
import hashlib
import json
import math
import os
import re
import secrets
import stat
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load as _load_tensors
from safetensors.torch import save as _save_tensors

from lstmcast.data.validate import MAX_ABS_VALUE, validate_series
from lstmcast.errors import InputError, LstmcastError, ModelFileError, NotFittedError
from lstmcast.forecaster import Forecaster
from lstmcast.models.zoo import ModelConfig, build_network
from lstmcast.params import PARAMS, SCALES, check_params, resolve
from lstmcast.training.trainer import TrainHistory

FORMAT_VERSION = 1
MAX_FILE_BYTES = 1 << 30  # 1 GiB: far above the models lstmcast trains; bounds the memory one load takes
MAX_DOCUMENT_BYTES = 64 << 20  # the JSON document; long series keep their index and losses in it
MAX_REPORT_BYTES = 1 << 20  # model="auto"'s report of what it chose
_MAX_DEPTH = 32  # JSON nesting; documents written here nest at most about ten levels
_MAX_LABEL_CHARS = 10_000
_DOCUMENT_KEY = "lstmcast"
_DIGEST_KEY = "lstmcast.sha256"
_NETWORK_PREFIX = "network."
_VALUES = "values"
_PANEL_KEY = "panel"
_SERIES_PREFIX = "series."
_DATA = "data"
MAX_SERIES = 1_000_000  # ids in one panel file; far above the panels lstmcast trains
_MAX_HISTORY_NUMBERS = 100_000  # larger loss histories are left out of the metadata
_MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
_CHUNK = 1 << 20
_INT64 = (-(2**63), 2**63 - 1)
_FLOAT_MAX = float(np.finfo(np.float64).max)


# ---- public API --------------------------------------------------------------------------------


def save(forecaster, path: str | os.PathLike) -> Path:
    """Return the path written: ``forecaster`` (a Forecaster or a PanelForecaster) saved to one safetensors file.

    Written atomically. A panel keeps its parameters, every series' fitted state (transforms,
    skeleton, history values and index) and the global network once (or each series' network
    with ``global_model=False``). Raises NotFittedError for an unfitted forecaster, InputError
    for one that cannot be saved (unusual labels, or a file ``load`` would refuse as too large)
    and ModelFileError when the file cannot be written.
    """
    from lstmcast.panel import PanelForecaster

    what = "PanelForecaster" if isinstance(forecaster, PanelForecaster) else "Forecaster"
    if isinstance(forecaster, PanelForecaster):
        if not hasattr(forecaster, "forecasters_"):
            raise NotFittedError("this PanelForecaster is not fitted yet; call fit(data) before saving it")
        tensors, described = _describe_panel(forecaster)
    else:
        if not hasattr(forecaster, "network_"):
            raise NotFittedError("this Forecaster is not fitted yet; call fit(y) before saving it")
        tensors = _network_tensors(forecaster.network_, _NETWORK_PREFIX)
        tensors[_VALUES] = _float64(forecaster.values_)
        described = _describe(forecaster)
    path = Path(path)
    try:
        document = json.dumps(described, default=_plain_json)
    except TypeError as exc:
        raise InputError(f"cannot save this {what}: {exc}; use plain str/int/float parameters and labels") from None
    if len(document) > MAX_DOCUMENT_BYTES:  # json.dumps writes ASCII: characters are bytes
        raise InputError(
            f"cannot save this {what}: its metadata takes {len(document)} bytes, over the limit of "
            f"{MAX_DOCUMENT_BYTES} bytes that load accepts; fit on a shorter series or with a regular index"
        )
    data = _save_tensors(tensors, metadata={_DOCUMENT_KEY: document, _DIGEST_KEY: _digest(document, tensors)})
    if len(data) > MAX_FILE_BYTES:
        raise InputError(
            f"cannot save this {what}: its file would take {len(data)} bytes, over the limit of "
            f"{MAX_FILE_BYTES} bytes that load accepts; use fewer members, units or layers"
        )
    _write_atomic(path, data)
    return path


def _network_tensors(network, prefix: str) -> dict:
    return {prefix + name: value.detach().cpu().contiguous().clone() for name, value in network.state_dict().items()}


def _float64(values) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float64).copy())


def load(path: str | os.PathLike):
    """Return the fitted Forecaster (or PanelForecaster) saved at ``path``; it forecasts exactly as the saved one.

    Raises ModelFileError when the path is missing or not a regular file, the file is too large,
    not a safetensors file, truncated, changed since it was saved, of an unknown format version,
    or when any field of its metadata or any tensor is invalid or disagrees with the others.
    """
    path = Path(path)
    data = _read(path)
    metadata = _header_metadata(path, data)
    if _DOCUMENT_KEY not in metadata:
        raise ModelFileError(
            f"model file {path} is a safetensors file but not an lstmcast model (no {_DOCUMENT_KEY!r} metadata); "
            "pass a file written by lstmcast.save"
        )
    text = metadata[_DOCUMENT_KEY]
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_DOCUMENT_BYTES:
        raise ModelFileError(
            f"model file {path} has {size} bytes of lstmcast metadata, over the limit of {MAX_DOCUMENT_BYTES} "
            "bytes; it is not a file written by lstmcast.save"
        )
    tensors = _tensors(path, data)
    # The digest covers the raw text, so nothing an editor wrote reaches the JSON parser unless
    # the digest matches; a matching digest proves nothing either, hence the schema after it.
    if metadata.get(_DIGEST_KEY) != _digest(text, tensors):
        declared = _declared_version(text)
        if declared is not None and declared[0] != FORMAT_VERSION:
            raise _version_error(path, *declared)
        raise ModelFileError(
            f"model file {path} failed its SHA-256 integrity check: its contents changed after it was saved; "
            "save the model again from a fitted forecaster"
        )
    document = _parse(path, text)
    if _PANEL_KEY in document:
        return _rebuild_panel(path, document, tensors)
    return _rebuild(path, document, tensors)


# ---- what is saved -----------------------------------------------------------------------------


def _describe(f: Forecaster) -> dict:
    """Return the JSON document of everything besides the tensors that predicting needs.

    ``format_version`` comes first: ``_declared_version`` reads it from the raw text.
    """
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
        "bands": state.get("bands"),
    }


_NETWORK_FIELDS = ("model_config", "seeds", "history", "n_train_windows")  # once for a global network
_PANEL_PARAMS = ("global_model", "id_column", "time_column", "value_column", "calendar", "future_columns",
                 "past_columns", "pooling")


def _describe_panel(pf) -> tuple[dict, dict]:
    """Return (tensors, document) of a fitted PanelForecaster.

    Tensors: the global network once (``network.*``) or each series' (``series.<i>.network.*``),
    each series' fitted values (``series.<i>.values``) and, with covariates, its raw data
    (``series.<i>.data``: what ``forecast`` extends; the values are the frame the network sees).
    The document holds the panel's and the forecasters' parameters, the ids, per series the
    fields of a single model file, and the bands.
    """
    import lstmcast

    keys = list(pf.forecasters_)
    tensors, entries = {}, []
    lead = pf.forecasters_[keys[0]]
    for i, key in enumerate(keys):
        f, prefix = pf.forecasters_[key], f"{_SERIES_PREFIX}{i}."
        entry = {k: v for k, v in _describe(f).items() if k not in ("format_version", "lstmcast_version", "params",
                                                                     "bands")}
        tensors[prefix + _VALUES] = _float64(f.values_)
        if pf.global_model:
            entry = {k: v for k, v in entry.items() if k not in _NETWORK_FIELDS}
        else:
            tensors.update(_network_tensors(f.network_, prefix + _NETWORK_PREFIX))
        raw = pf.data_[key]
        if isinstance(raw, pd.DataFrame):
            entry["data_columns"] = _labels(list(raw.columns), "column")
            tensors[prefix + _DATA] = _float64(raw.to_numpy(dtype=np.float64))
        entries.append(entry)
    network = None
    if pf.global_model:
        tensors.update(_network_tensors(pf.network_, _NETWORK_PREFIX))
        single = _describe(lead)
        network = {k: single[k] for k in _NETWORK_FIELDS}
    bands = getattr(pf, "bands_", None)
    params = pf.get_params(deep=False)
    return tensors, {
        "format_version": FORMAT_VERSION,
        "lstmcast_version": lstmcast.__version__,
        _PANEL_KEY: {
            "params": {k: list(v) if k.endswith("_columns") else v for k, v in params.items() if k in _PANEL_PARAMS},
            "forecaster": lead.get_params(),
            "ids": _labels(keys, "series id"),
            "network": network,
            "series": entries,
            "n_windows": int(pf.n_windows_),
            "bands": None if bands is None else bands.state(keys),
        },
    }


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


# ---- reading a file ----------------------------------------------------------------------------


def _read(path: Path) -> bytes:
    """Return the bytes of the regular file at ``path`` (symbolic links followed), at most MAX_FILE_BYTES.

    Pipes, devices and sockets are refused before opening: reading a FIFO blocks until a writer
    appears and /dev/zero never ends.
    """
    try:
        _check_regular(path, os.stat(path))
        # O_NONBLOCK: should the path become a FIFO between the stat and the open, opening it
        # must not wait for a writer; fstat then refuses what was opened.
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    try:
        _check_regular(path, os.fstat(fd))
        chunks, total = [], 0
        while chunk := os.read(fd, min(_CHUNK, MAX_FILE_BYTES + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_FILE_BYTES:  # it grew while being read
                raise _too_large(path, total)
        return b"".join(chunks)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    finally:
        os.close(fd)


_NOT_REGULAR = {
    stat.S_ISFIFO: "a named pipe (FIFO)", stat.S_ISCHR: "a character device", stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
}


def _check_regular(path: Path, info: os.stat_result) -> None:
    """Raise ModelFileError unless ``info`` describes a regular file of at most MAX_FILE_BYTES."""
    if stat.S_ISDIR(info.st_mode):
        raise ModelFileError(f"model file {path} is a folder, not a file; pass the path of a saved model")
    if not stat.S_ISREG(info.st_mode):
        what = next((name for test, name in _NOT_REGULAR.items() if test(info.st_mode)), "a special file")
        raise ModelFileError(
            f"model file {path} is {what}, not a regular file; pass the path of a model saved by lstmcast.save"
        )
    if info.st_size > MAX_FILE_BYTES:
        raise _too_large(path, info.st_size)


def _too_large(path: Path, size: int) -> ModelFileError:
    return ModelFileError(
        f"model file {path} has {size} bytes, over the limit of {MAX_FILE_BYTES} bytes for a model file; "
        "it is not a file written by lstmcast.save"
    )


def _unreadable(path: Path, exc: OSError) -> ModelFileError:
    if exc.errno == errno.ENOENT:
        link = " (it is a symbolic link to a missing file)" if os.path.islink(path) else ""
        return ModelFileError(f"model file {path} does not exist{link}; check the path, or fit and save a model there")
    if exc.errno == errno.ELOOP:
        return ModelFileError(
            f"model file {path} is a symbolic link loop (too many levels of symbolic links); "
            "point the link at a saved model"
        )
    if exc.errno == errno.EISDIR:
        return ModelFileError(f"model file {path} is a folder, not a file; pass the path of a saved model")
    return ModelFileError(f"cannot read model file {path} ({exc.strerror or exc}); check its permissions")


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
            except (UnicodeDecodeError, ValueError, RecursionError):  # nesting too deep for the parser
                metadata = None
            if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
                problem = "its safetensors header is unreadable"
            else:
                return metadata
    raise ModelFileError(
        f"model file {path} is not a complete safetensors file ({problem}; truncated or not a model file); "
        "pass a file written by lstmcast.save"
    )


def _tensors(path: Path, data: bytes) -> dict[str, torch.Tensor]:
    """Return the file's tensors, parsed by safetensors (which checks offsets against the file size)."""
    try:
        return _load_tensors(data)
    except (SafetensorError, ValueError, TypeError, RuntimeError, OverflowError) as exc:
        raise ModelFileError(
            f"model file {path} is truncated or corrupt ({_one_line(exc)}); save the model again"
        ) from None


def _declared_version(text: str) -> tuple[int, str] | None:
    """Return (format version, lstmcast version) from the start of the raw document, or None.

    Read without parsing, so that a file of another format (whose digest is computed otherwise)
    gets the version message rather than a failed integrity check.
    """
    match = re.match(r'\{"format_version": (\d{1,9})(?:, "lstmcast_version": "([\w.+-]{0,40})")?', text)
    return None if match is None else (int(match[1]), match[2] or "unknown")


def _version_error(path: Path, version, saved_by: str) -> ModelFileError:
    import lstmcast

    return ModelFileError(
        f"model file {path} has format version {version!r:.40}, and lstmcast {lstmcast.__version__} reads "
        f"version {FORMAT_VERSION}; load it with the lstmcast version that saved it ({saved_by:.40}) "
        "or refit and save again"
    )


def _parse(path: Path, text: str) -> dict:
    """Return the document parsed, after its digest matched; ModelFileError when it is not a JSON object."""
    try:
        document = json.loads(text)
        _check_depth(document)
    except RecursionError:  # from the parser, or from _check_depth
        raise ModelFileError(
            f"model file {path} has lstmcast metadata nested more than {_MAX_DEPTH} levels deep; "
            "it is not a file written by lstmcast.save"
        ) from None
    except ValueError as exc:
        raise ModelFileError(
            f"model file {path} has unreadable lstmcast metadata ({_one_line(exc)}); save the model again"
        ) from None
    if not isinstance(document, dict):
        raise ModelFileError(
            f"model file {path} has lstmcast metadata that is a JSON {type(document).__name__}, not an object; "
            "it is not a file written by lstmcast.save"
        )
    return document


def _check_depth(value) -> None:
    """Raise RecursionError when ``value`` nests lists and objects more than _MAX_DEPTH levels deep.

    Iterative, so that checking never recurses itself; what follows (the skeleton's from_state,
    json.dumps of the report) does recurse.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > _MAX_DEPTH:
                raise RecursionError
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
# ---- the schema: every field checked before it is used --------------------------------------------


class _Invalid(Exception):
    """A field of a model file that fails the schema: where it is and what is wrong with it."""

    def __init__(self, field: str, problem: str):
        super().__init__(field, problem)
        self.field, self.problem = field, problem


_REQUIRED = ("format_version", "params", "model_config", "seeds", "columns", "target_idx", "index", "scaler",
             "n_train_windows")
_OPTIONAL = ("lstmcast_version", "history", "season_length", "skeleton", "chosen", "bands")  # absent in older files


def _rebuild(path: Path, doc: dict, tensors: dict[str, torch.Tensor]) -> Forecaster:
    """Return the Forecaster described by a document whose digest matched and its tensors, all fields checked."""
    try:
        forecaster = _checked_forecaster(doc, tensors)
    except _Invalid as bad:
        if bad.field == "format_version":
            raise _version_error(path, doc.get("format_version"), str(doc.get("lstmcast_version", "unknown"))) from None
        raise ModelFileError(
            f"model file {path} has incomplete or inconsistent metadata in {bad.field!r}: {_one_line(bad.problem)}; "
            "the file was damaged or edited after saving, save the model again"
        ) from None
    _check_forecasts(path, forecaster)
    return forecaster


def _checked_forecaster(doc: dict, tensors: dict[str, torch.Tensor], shared: Forecaster | None = None) -> Forecaster:
    """Return the fitted Forecaster of a parsed document; _Invalid names the first field that fails.

    ``shared``: a forecaster whose network and training history this one shares (a panel's
    global network, checked once); its model configuration must be the one this document gives.
    """
    version = doc.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:  # checked first: other versions have other fields
        raise _Invalid("format_version", "")
    _keys(doc, "metadata", _REQUIRED, _OPTIONAL)
    if "lstmcast_version" in doc:
        _text(doc["lstmcast_version"], "lstmcast_version")
    params = _params(doc["params"])
    season = _season_length(doc.get("season_length", 1), params)
    p = resolve(params, season)
    values = _values(tensors)
    rows, n_cols = values.shape
    columns = _columns(doc["columns"], n_cols)
    target_idx = _target_idx(doc["target_idx"], columns, params.get("target"))
    index = _index(doc["index"], values)
    seeds = _seeds(doc["seeds"], p)
    config = _model_config(doc["model_config"], Forecaster(**params), n_cols, len(target_idx), p)
    if shared is not None and shared.network_.config != config:
        raise _Invalid("columns", f"give the network configuration {config}, but the shared network has "
                       f"{shared.network_.config}")
    state = {
        "columns": columns, "target_idx": target_idx, "index": index, "values": values,
        "scaler": _scaler(doc["scaler"], p["scale"], n_cols), "seeds": seeds,
        "network": _network(config, seeds, tensors) if shared is None else shared.network_,
        "history": _history(doc.get("history"), len(seeds)) if shared is None else shared.history_,
        # not bounded by the rows: a network shared across a panel counts the pooled windows
        "n_train_windows": _int(doc["n_train_windows"], "n_train_windows", 1, _INT64[1]),
        "season_length": season, "skeleton": _skeleton(doc.get("skeleton"), p["model"]),
        "chosen": _chosen(doc.get("chosen"), p["model"]), "bands": _bands(doc.get("bands")),
    }
    try:
        forecaster = Forecaster.from_fitted_state(params, state)
    except (InputError, ValueError, TypeError, KeyError) as exc:  # every field passed: they disagree
        raise _Invalid("params", f"they do not fit the saved state ({_one_line(exc)})") from None
    try:
        forecaster.check_data(rows, "the saved values")
    except InputError as exc:
        raise _Invalid("params", str(exc)) from None
    _check_scaler_refits(forecaster)
    return forecaster


_PANEL_FIELDS = ("params", "forecaster", "ids", "network", "series", "n_windows", "bands")


def _rebuild_panel(path: Path, doc: dict, tensors: dict[str, torch.Tensor]):
    """Return the PanelForecaster of a document whose digest matched, every field and series checked."""
    try:
        panel = _checked_panel(doc, tensors)
    except _Invalid as bad:
        if bad.field == "format_version":
            raise _version_error(path, doc.get("format_version"), str(doc.get("lstmcast_version", "unknown"))) from None
        raise ModelFileError(
            f"model file {path} has incomplete or inconsistent metadata in {bad.field!r}: {_one_line(bad.problem)}; "
            "the file was damaged or edited after saving, save the model again"
        ) from None
    for key, f in panel.forecasters_.items():
        _check_forecasts(path, f)
    return panel


def _checked_panel(doc: dict, tensors: dict[str, torch.Tensor]):
    """Return the fitted PanelForecaster of a parsed document; _Invalid names the first field that fails."""
    from lstmcast.evaluation.conformal import PanelBands
    from lstmcast.panel import PanelForecaster

    version = doc.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise _Invalid("format_version", "")
    _keys(doc, "metadata", ("format_version", _PANEL_KEY), ("lstmcast_version",))
    if "lstmcast_version" in doc:
        _text(doc["lstmcast_version"], "lstmcast_version")
    spec = _keys(doc[_PANEL_KEY], "panel", _PANEL_FIELDS)
    params = _panel_params(spec["params"])
    fparams = _params(spec["forecaster"])
    try:
        pf = PanelForecaster(Forecaster(**fparams), **params)
        if pf._template().get_params() != fparams:
            raise InputError("they are not the panel's template parameters (its target follows value_column)")
    except InputError as exc:
        raise _Invalid("panel.forecaster", str(exc)) from None
    ids = spec["ids"]
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_SERIES:
        raise _Invalid("panel.ids", f"must be a list of 1 to {MAX_SERIES} series ids; got {_short(ids)}")
    ids = [_label(v, f"panel.ids[{i}]") for i, v in enumerate(ids)]
    if len(set(ids)) != len(ids):
        raise _Invalid("panel.ids", "has repeated ids")
    entries = spec["series"]
    if not isinstance(entries, list) or len(entries) != len(ids):
        raise _Invalid("panel.series", f"must be a list of {len(ids)} series (one per id); got {_kind(entries)}")
    expected_network = dict.fromkeys(_NETWORK_FIELDS) if params["global_model"] else None
    if (spec["network"] is None) != (expected_network is None):
        raise _Invalid("panel.network", "must be an object for global_model=True and null otherwise")
    if expected_network is not None:
        _keys(spec["network"], "panel.network", _NETWORK_FIELDS)
    _panel_tensor_names(tensors, len(ids), params["global_model"], bool(pf._covariates()))
    shared_tensors = {k: v for k, v in tensors.items() if k.startswith(_NETWORK_PREFIX)}
    pf.leads_ = int(pf._template().resolved()["steps_out"])
    forecasters, data, shared = {}, {}, None
    for i, (key, entry) in enumerate(zip(ids, entries)):
        field = f"panel.series[{i}]"
        if not isinstance(entry, dict):
            raise _Invalid(field, f"must be a JSON object; got {_kind(entry)}")
        prefix = f"{_SERIES_PREFIX}{i}."
        sub = {k: v for k, v in entry.items() if k != "data_columns"}
        own = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix) and not k.endswith("." + _DATA)}
        if params["global_model"]:
            clash = [k for k in _NETWORK_FIELDS if k in sub]
            if clash:
                raise _Invalid(field, f"the field {clash[0]!r} belongs to panel.network for a global model")
            sub.update(spec["network"])
            own.update(shared_tensors)
        sub = {"format_version": FORMAT_VERSION, "params": fparams, **sub}
        try:
            f = _checked_forecaster(sub, own, shared)
        except _Invalid as bad:
            raise _Invalid(f"{field}.{bad.field}", bad.problem) from None
        if params["global_model"] and shared is None:
            shared = f
        forecasters[key] = f
        data[key] = _panel_data(pf, entry, tensors.get(prefix + _DATA), f, field)
    pf.data_, pf.forecasters_ = data, forecasters
    pf.n_windows_ = _int(spec["n_windows"], "panel.n_windows", 1, _INT64[1])
    if params["global_model"]:
        pf.network_ = shared.network_
    pf.bands_ = None
    if spec["bands"] is not None:
        try:
            pf.bands_ = PanelBands.from_state(spec["bands"], ids)
        except InputError as exc:
            raise _Invalid("panel.bands", str(exc)) from None
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
            raise _Invalid("panel.bands", f"cannot be rebuilt ({type(exc).__name__}: {exc})") from None
    return pf


def _panel_params(value) -> dict:
    """Return the PanelForecaster's own parameters, each checked (types, choices)."""
    from lstmcast.evaluation.conformal import POOLINGS

    _keys(value, "panel.params", _PANEL_PARAMS)
    for name in ("global_model", "calendar"):
        if type(value[name]) is not bool:
            raise _Invalid(f"panel.params.{name}", f"must be true or false; got {_short(value[name])}")
    for name in ("id_column", "time_column", "value_column"):
        _text(value[name], f"panel.params.{name}")
    _text(value["pooling"], "panel.params.pooling", POOLINGS)
    for name in ("future_columns", "past_columns"):
        columns = value[name]
        if not isinstance(columns, list) or len(columns) > 1000:
            raise _Invalid(f"panel.params.{name}", f"must be a list of column names; got {_short(columns)}")
        for i, c in enumerate(columns):
            _text(c, f"panel.params.{name}[{i}]")
    return dict(value)


def _panel_tensor_names(tensors: dict, n_series: int, global_model: bool, covariates: bool) -> None:
    """Raise _Invalid for a tensor that no series owns, or a series without its values (or data with covariates)."""
    for name in tensors:
        if name.startswith(_NETWORK_PREFIX) and global_model:
            continue
        match = re.fullmatch(r"series\.(0|[1-9]\d{0,8})\.(values|data|network\..+)", name)
        ok = match is not None and int(match[1]) < n_series
        ok = ok and (match[2] != _DATA or covariates) and (not match[2].startswith(_NETWORK_PREFIX) or not global_model)
        if not ok:
            raise _Invalid(f"tensor {name!r:.80}", "is not part of this panel's model file")
    for i in range(n_series):
        for part in (_VALUES, _DATA) if covariates else (_VALUES,):
            if f"{_SERIES_PREFIX}{i}.{part}" not in tensors:
                raise _Invalid(f"tensor {_SERIES_PREFIX}{i}.{part}", "is missing")


def _panel_data(pf, entry: dict, raw, f: Forecaster, field: str):
    """Return a series' raw panel data: its values (no covariates) or its data tensor, which must give its values."""
    if raw is None:
        return pd.Series(f.values_[:, 0], index=f.index_, name=pf.value_column)
    if raw.dtype != torch.float64 or raw.ndim != 2 or raw.shape[0] != len(f.index_):
        raise _Invalid(f"{field}.data", f"must be a float64 tensor of {len(f.index_)} rows; got {raw.dtype} "
                       f"of shape {list(raw.shape)}")
    columns = entry.get("data_columns")
    if not isinstance(columns, list) or len(columns) != raw.shape[1]:
        raise _Invalid(f"{field}.data_columns", f"must list the {raw.shape[1]} data columns; got {_short(columns)}")
    frame = pd.DataFrame(raw.numpy(), index=f.index_, columns=[_label(c, f"{field}.data_columns") for c in columns])
    try:
        frame = pf._panel({"_": frame})["_"]
        model = pf._model_frame(frame)
    except (InputError, KeyError, ValueError) as exc:
        raise _Invalid(f"{field}.data", f"is not this panel's data ({_one_line(str(exc))})") from None
    if list(model.columns) != f.columns_ or not np.array_equal(model.to_numpy(dtype=np.float64), f.values_):
        raise _Invalid(f"{field}.data", "does not give the saved values (the frame the network sees)")
    return frame


def _check_scaler_refits(forecaster: Forecaster) -> None:
    """Raise _Invalid unless the saved scaler is the one fit gives the saved values (skeleton and difference applied).

    fit computes the scaler from exactly these values, skeleton and difference, and JSON keeps
    floats exactly, so refitting reproduces it; an edit to any of them (an STL index of 2**31, a
    scale of 1e-300, a value inside the data) shows up here as a scaler that no longer fits.
    """
    twin = copy.copy(forecaster)  # refitting replaces the twin's scaler_, not the forecaster's
    try:
        with np.errstate(all="ignore"):
            twin._transformed(forecaster.values_, fit=True)
    except (InputError, ValueError, ArithmeticError) as exc:
        raise _Invalid("skeleton", f"it cannot transform the saved values ({_one_line(exc)})") from None
    refit, saved = twin.scaler_.to_dict()["state"], forecaster.scaler_.to_dict()["state"]
    for name, values in saved.items():
        if not np.allclose(refit[name], values, rtol=1e-9, atol=0.0):
            raise _Invalid("scaler", f"{name} is {_short(values)}, but fitting on the saved values (skeleton and "
                           f"difference applied) gives {_short(refit[name])}")


def _check_forecasts(path: Path, forecaster: Forecaster) -> None:
    """Raise ModelFileError unless the loaded forecaster makes a finite, sane one-step forecast.

    Every field has passed the schema and the scaler refits; this last check catches whatever
    combination of valid fields still cannot forecast, so that load refuses it rather than the
    first forecast failing later. The values go in with a plain RangeIndex: a model fitted on an
    irregular integer index predicts but cannot date a forecast, and that is no fault of the file.
    """
    try:
        forecaster.forecast(1, y=pd.DataFrame(forecaster.values_))
    except (LstmcastError, ValueError, TypeError, KeyError, IndexError, RuntimeError, ArithmeticError) as exc:
        raise ModelFileError(
            f"model file {path} holds a model that cannot forecast ({_one_line(exc)}); its metadata and weights "
            "do not fit together, refit and save the model again"
        ) from None


def _keys(value, field: str, required: tuple, optional: tuple = ()) -> dict:
    """Return ``value`` when it is a JSON object with every ``required`` key and no key outside ``optional``."""
    if not isinstance(value, dict):
        raise _Invalid(field, f"must be a JSON object; got {_kind(value)}")
    missing = [k for k in required if k not in value]
    unknown = [k for k in value if k not in required and k not in optional]
    if missing:
        raise _Invalid(missing[0] if field == "metadata" else field, f"the field {missing[0]!r} is missing")
    if unknown and field == "metadata":
        raise _Invalid(f"{unknown[0]:.80}", "is not a field of lstmcast model files")
    if unknown:
        raise _Invalid(field, f"unknown field(s) {unknown[:5]!r:.200}")
    return value


def _int(value, field: str, low: int, high: int) -> int:
    """Return ``value`` when it is an int (not a bool) in [low, high]."""
    if type(value) is not int or not low <= value <= high:
        raise _Invalid(field, f"must be an integer in [{low}, {high}]; got {_short(value)}")
    return value


def _number(value, field: str) -> float:
    """Return ``value`` as a float when it is a finite int or float (JSON ints can exceed any float)."""
    if type(value) is int and abs(value) <= _FLOAT_MAX:
        return float(value)
    if type(value) is not float or not math.isfinite(value):
        raise _Invalid(field, f"must be a finite number; got {_short(value)}")
    return value


def _numbers(value, field: str, length: int) -> list[float]:
    """Return ``value`` when it is a list of ``length`` finite numbers."""
    if not isinstance(value, list) or len(value) != length:
        raise _Invalid(field, f"must be a list of {length} finite numbers; got {_short(value)}")
    return [_number(v, f"{field}[{i}]") for i, v in enumerate(value)]


def _text(value, field: str, choices: tuple | None = None, optional: bool = False) -> str | None:
    """Return ``value`` when it is text of at most _MAX_LABEL_CHARS (one of ``choices``), or None if ``optional``."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > _MAX_LABEL_CHARS or (choices is not None and value not in choices):
        wanted = f"one of {', '.join(choices)}" if choices else "text"
        raise _Invalid(field, f"must be {wanted}; got {_short(value)}")
    return value


def _label(value, field: str):
    """Return a column or index label: str, int (within int64), finite float or None, as _labels writes them."""
    ok = value is None or (isinstance(value, str) and len(value) <= _MAX_LABEL_CHARS)
    ok = ok or (type(value) is int and _INT64[0] <= value <= _INT64[1])
    ok = ok or (type(value) is float and math.isfinite(value))
    if not ok:
        raise _Invalid(field, f"must be a str, int, finite float or null label; got {_short(value)}")
    return value


def _params(value) -> dict:
    """Return the Forecaster parameters, each checked by its declaration (lstmcast.params)."""
    if not isinstance(value, dict):
        raise _Invalid("params", f"must be a JSON object of Forecaster parameters; got {_kind(value)}")
    try:
        # absent ones take their defaults, as for a file saved before a parameter existed
        return Forecaster(**check_params(value)).check_params().get_params()
    except InputError as exc:
        raise _Invalid("params", str(exc)) from None
    except OverflowError:  # Param.check of a float parameter given an int beyond any float
        raise _Invalid("params", "a number parameter is an integer too large for a float") from None


def _season_length(value, params: dict) -> int:
    season = _int(value, "season_length", 1, int(PARAMS["season_length"].maximum))
    if params.get("season_length") not in (None, season):
        raise _Invalid("season_length", f"is {season}, but the parameters set season_length={params['season_length']}")
    return season


def _values(tensors: dict[str, torch.Tensor]) -> np.ndarray:
    """Return the fitted values (rows, columns): float64, finite and within validate_series' magnitude limit."""
    unknown = [name for name in tensors if name != _VALUES and not name.startswith(_NETWORK_PREFIX)]
    if unknown:
        raise _Invalid(f"tensor {unknown[0]!r:.80}", "is not part of an lstmcast model")
    if _VALUES not in tensors:
        raise _Invalid("values", "the tensor of fitted values is missing")
    t = tensors[_VALUES]
    if t.dtype != torch.float64 or t.ndim != 2 or 0 in t.shape:
        raise _Invalid("values", f"must be a non-empty 2-D float64 tensor; got {t.dtype} of shape {list(t.shape)}")
    values = t.numpy()
    if not np.isfinite(values).all() or np.abs(values).max() > MAX_ABS_VALUE:
        raise _Invalid("values", f"must be finite numbers within {MAX_ABS_VALUE:g} in magnitude")
    return values


def _columns(value, n_cols: int) -> list:
    """Return the column labels: one distinct label per column of values."""
    if not isinstance(value, list) or len(value) != n_cols:
        raise _Invalid("columns", f"must be a list of {n_cols} labels (one per column of values); got {_short(value)}")
    labels = [_label(v, f"columns[{i}]") for i, v in enumerate(value)]
    if len(set(labels)) != len(labels):
        raise _Invalid("columns", f"has repeated labels: {_short(labels)}")
    return labels


def _target_idx(value, columns: list, target) -> list[int]:
    """Return the target column positions, which the ``target`` parameter and the columns determine."""
    n = len(columns)
    if target == "all":
        expected = list(range(n))
    elif target is None:
        expected = [n - 1]
    elif target in columns:
        expected = [columns.index(target)]
    else:
        raise _Invalid("params", f"target {target!r:.80} is not one of the saved columns {_short(columns)}")
    if not isinstance(value, list) or any(type(i) is not int for i in value) or value != expected:
        raise _Invalid("target_idx",
                       f"must be {expected} for target={target!r:.80} and {n} columns; got {_short(value)}")
    return value


_INDEX_FIELDS = {
    "period": (("kind", "freq", "first", "first_ordinal", "length", "name"), ()),
    "datetime": (("kind", "unit", "tz", "freq", "name"), ("ticks", "first", "first_tick", "length")),
    "range": (("kind", "start", "step", "length", "name"), ()),
    "integers": (("kind", "values", "name"), ()),
    "values": (("kind", "dtype", "values", "name"), ()),
}
_INDEX_DTYPES = ("float64", "float32", "object", "str", "string")
_TIME_UNITS = ("s", "ms", "us", "ns")


def _index(spec, values: np.ndarray) -> pd.Index:
    """Return the index of the fitted values from its checked description, one label per row and regular."""
    rows = len(values)
    kind = spec.get("kind") if isinstance(spec, dict) else None
    if not isinstance(kind, str) or kind not in _INDEX_FIELDS:
        raise _Invalid("index",
                       f"must be an object whose kind is one of {', '.join(_INDEX_FIELDS)}; got {_short(spec)}")
    _keys(spec, "index", *_INDEX_FIELDS[kind])
    _label(spec["name"], "index.name")
    if kind == "period":
        _text(spec["freq"], "index.freq")
        _text(spec["first"], "index.first")
        _int(spec["first_ordinal"], "index.first_ordinal", *_INT64)
    elif kind == "datetime":
        _text(spec["unit"], "index.unit", _TIME_UNITS)
        _text(spec["tz"], "index.tz", optional=True)
        _text(spec["freq"], "index.freq", optional=True)
        if "ticks" in spec:
            if not isinstance(spec["ticks"], list) or len(spec["ticks"]) != rows:
                raise _Invalid("index.ticks", f"must be a list of {rows} integers; got {_short(spec['ticks'])}")
            for i, tick in enumerate(spec["ticks"]):
                _int(tick, f"index.ticks[{i}]", *_INT64)
        else:
            _keys(spec, "index", ("kind", "unit", "tz", "freq", "name", "first", "first_tick", "length"))
            _text(spec["first"], "index.first")
            _int(spec["first_tick"], "index.first_tick", *_INT64)
    elif kind == "range":
        start, step = _int(spec["start"], "index.start", *_INT64), _int(spec["step"], "index.step", *_INT64)
        if step == 0 or not _INT64[0] <= start + step * rows <= _INT64[1]:
            raise _Invalid("index", f"start={start}, step={step} and {rows} rows leave the int64 range or do not step")
    elif kind == "integers":
        if not isinstance(spec["values"], list) or len(spec["values"]) != rows:
            raise _Invalid("index.values", f"must be a list of {rows} integers; got {_short(spec['values'])}")
        for i, v in enumerate(spec["values"]):
            _int(v, f"index.values[{i}]", *_INT64)
    else:
        _text(spec["dtype"], "index.dtype", _INDEX_DTYPES)
        if not isinstance(spec["values"], list) or len(spec["values"]) != rows:
            raise _Invalid("index.values", f"must be a list of {rows} labels; got {_short(spec['values'])}")
        for i, v in enumerate(spec["values"]):
            _label(v, f"index.values[{i}]")
    if "length" in spec and _int(spec["length"], "index.length", 0, _INT64[1]) != rows:
        raise _Invalid("index.length", f"is {spec['length']}, but the values tensor has {rows} rows")
    try:
        index = _decode_index(spec)
        validate_series(pd.DataFrame(values, index=index), "the saved values")  # regular, as fit required
    except InputError as exc:
        raise _Invalid("index", str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - pandas rejects bad frequencies and dates in many ways
        raise _Invalid("index", f"cannot be rebuilt ({type(exc).__name__}: {exc})") from None
    if len(index) != rows:
        raise _Invalid("index", f"has {len(index)} labels for {rows} rows of values")
    return index


def _seeds(value, p: dict) -> list[int]:
    """Return the member seeds, which the ``seed`` and ``members`` parameters determine (but a random first seed)."""
    if not isinstance(value, list) or not value:
        raise _Invalid("seeds", f"must be a non-empty list of integers; got {_short(value)}")
    try:
        seeds = PARAMS["seed"].check(value, "seeds")
    except InputError as exc:
        raise _Invalid("seeds", str(exc)) from None
    if isinstance(p["seed"], list):
        expected = p["seed"]
    else:
        first = seeds[0] if p["seed"] is None else p["seed"]
        expected = [first + k for k in range(p["members"])]
    if seeds != expected:
        raise _Invalid("seeds", f"must be {_short(expected)} for seed={p['seed']!r:.80} and members={p['members']}; "
                       f"got {_short(seeds)}")
    return seeds


def _model_config(value, forecaster: Forecaster, n_cols: int, n_targets: int, p: dict) -> ModelConfig:
    """Return the network configuration, which must be exactly the one the parameters give for this data."""
    try:
        expected = forecaster.model_config(n_cols, n_targets, p)
    except InputError as exc:
        raise _Invalid("params", str(exc)) from None
    fields = expected.to_dict()
    _keys(value, "model_config", tuple(fields))
    for name, want in fields.items():
        if type(value[name]) is not type(want) or value[name] != want:
            raise _Invalid("model_config", f"{name} is {_short(value[name])}, but the parameters give {want!r}")
    return expected


def _network(config: ModelConfig, seeds: list[int], tensors: dict[str, torch.Tensor]):
    """Return the network with the file's weights, after checking their names, dtypes, shapes and values.

    The network is built on the meta device (shapes, no memory) and takes the file's tensors as
    its parameters (``assign``): a configuration is never allocated before the weights in the
    file prove its size, and no time goes into initialising weights that are then replaced.
    """
    weights = {k[len(_NETWORK_PREFIX) :]: v for k, v in tensors.items() if k.startswith(_NETWORK_PREFIX)}
    with torch.device("meta"):
        network = build_network(config, seeds)
    shapes = network.state_dict()
    missing, unknown = sorted(set(shapes) - set(weights)), sorted(set(weights) - set(shapes))
    if missing or unknown:
        name, problem = (missing[0], "is missing") if missing else (
            unknown[0], "is not a weight of its model configuration")
        raise _Invalid(f"tensor {_NETWORK_PREFIX + name!r:.120}", problem)
    for name, want in shapes.items():
        got, field = weights[name], f"tensor {_NETWORK_PREFIX + name!r:.120}"
        if got.dtype != want.dtype or got.shape != want.shape:
            raise _Invalid(field, f"does not match its model configuration: expected {want.dtype} of shape "
                           f"{list(want.shape)}, got {got.dtype} of shape {list(got.shape)}")
        if not torch.isfinite(got).all():
            raise _Invalid(field, "has values that are not finite (NaN or infinite)")
    network.load_state_dict(weights, strict=True, assign=True)
    return network.eval()


_SCALER_STATE = {
    "minmax": ("min_", "scale_", "data_min_", "data_max_", "data_range_"),
    "minmax-sym": ("min_", "scale_", "data_min_", "data_max_", "data_range_"),
    "standard": ("mean_", "var_", "scale_"),
    "none": (),
}


def _scaler(value, kind: str, n_cols: int) -> dict:
    """Return the scaler state: the kind the parameters give, one finite number per column for each attribute.

    Whether the numbers are the ones fit computes is checked once the forecaster is whole
    (``_check_scaler_refits``).
    """
    _keys(value, "scaler", ("kind", "n_features", "state"))
    _text(value["kind"], "scaler.kind", SCALES)
    if value["kind"] != kind:
        raise _Invalid("scaler", f"kind is {value['kind']!r}, but the parameters give scale={kind!r}")
    _int(value["n_features"], "scaler.n_features", n_cols, n_cols)
    state = _keys(value["state"], "scaler.state", _SCALER_STATE[kind])
    for name in _SCALER_STATE[kind]:
        numbers = _numbers(state[name], f"scaler.state.{name}", n_cols)
        if name == "scale_" and min(numbers) <= 0:
            raise _Invalid("scaler.state.scale_", f"must be positive; got {_short(numbers)}")
    return value


def _history(value, members: int) -> TrainHistory | None:
    """Return the training history, or None; losses (when kept) are (epochs, members) finite numbers."""
    if value is None:
        return None
    _keys(value, "history", ("epochs",), ("best_epoch", "stopped_epoch", "extra", "loss", "val_loss"))
    epochs = _int(value["epochs"], "history.epochs", 0, int(PARAMS["epochs"].maximum))
    best = value.get("best_epoch")
    if best is not None:
        for i, b in enumerate(best if isinstance(best, list) else [best]):
            _int(b, f"history.best_epoch[{i}]", 0, epochs)
        if isinstance(best, list) and len(best) != members:
            raise _Invalid("history.best_epoch", f"must have one epoch per member ({members}); got {len(best)}")
    stopped = value.get("stopped_epoch")
    if stopped is not None:
        _int(stopped, "history.stopped_epoch", 0, epochs)
    extra = value.get("extra") or {}
    if not isinstance(extra, dict):
        raise _Invalid("history.extra", f"must be a JSON object; got {_kind(extra)}")
    extra = dict(extra)
    if "loss" in value:
        loss = _loss_rows(value["loss"], "history.loss", epochs, members)
        val = value.get("val_loss")
        val = None if val is None else _loss_rows(val, "history.val_loss", epochs, members)
    else:  # too long to keep: an empty history that says how many epochs ran
        loss, val = np.empty((0, members)), None
        extra["losses_not_saved"] = epochs
    return TrainHistory(loss=loss, val_loss=val, best_epoch=None if best is None else np.asarray(best),
                        stopped_epoch=stopped, extra=extra)


def _loss_rows(value, field: str, epochs: int, members: int) -> np.ndarray:
    if not isinstance(value, list) or len(value) != epochs:
        raise _Invalid(field, f"must be a list of {epochs} rows (one per epoch); got {_short(value)}")
    return np.array([_numbers(row, f"{field}[{i}]", members) for i, row in enumerate(value)]).reshape(-1, members)


def _skeleton(value, model: str) -> dict | None:
    """Return the skeleton state of model="auto" after rebuilding it once; None for the explicit models."""
    if model != "auto":
        if value is not None:
            raise _Invalid("skeleton", f"must be null for model={model!r}; only model='auto' has a skeleton")
        return None
    from lstmcast.data.skeleton import Chain

    try:
        Chain.from_state(value)
    except InputError as exc:  # ModelFileError included: the skeleton checks its own numbers
        raise _Invalid("skeleton", str(exc)) from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError, RecursionError) as exc:
        raise _Invalid("skeleton", f"cannot be rebuilt ({type(exc).__name__}: {exc})") from None
    return value


def _chosen(value, model: str) -> dict | None:
    """Return model="auto"'s report of its choice (a JSON object of at most MAX_REPORT_BYTES); None otherwise."""
    if model != "auto":
        if value is not None:
            raise _Invalid("chosen", f"must be null for model={model!r}; only model='auto' reports a choice")
        return None
    if not isinstance(value, dict):
        raise _Invalid("chosen", f"must be the JSON object model='auto' reports; got {_kind(value)}")
    size = len(json.dumps(value))
    if size > MAX_REPORT_BYTES:
        raise _Invalid("chosen", f"takes {size} bytes, over the limit of {MAX_REPORT_BYTES}")
    return value


def _bands(value) -> dict | None:
    """Return the conformal bands' state (evaluation.conformal checks its own widths), or None."""
    if value is None:
        return None
    from lstmcast.evaluation.conformal import ConformalBands

    try:
        bands = ConformalBands.from_state(value)
    except InputError as exc:
        raise _Invalid("bands", str(exc)) from None
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        raise _Invalid("bands", f"cannot be rebuilt ({type(exc).__name__}: {exc})") from None
    if not math.isfinite(bands.spread_floor) or bands.spread_floor < 0:
        raise _Invalid("bands", f"spread_floor must be a finite number >= 0; got {bands.spread_floor!r}")
    if bands.warning is not None and not isinstance(bands.warning, str):
        raise _Invalid("bands", f"warning must be text or null; got {_short(bands.warning)}")
    _int(value["n_origins"], "bands.n_origins", 1, _INT64[1])
    return value


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


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
    not depend on how safetensors lays the tensors out and no two contents share one. The text
    is encoded with lone surrogates kept (a JSON header can hold them), so hashing never fails.
    """
    h = hashlib.sha256()

    def part(data) -> None:
        view = memoryview(data)
        h.update(struct.pack("<Q", view.nbytes))
        h.update(view)

    part(f"lstmcast-format-{FORMAT_VERSION}".encode())
    part(document.encode("utf-8", "surrogatepass"))
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        part(name.encode("utf-8", "surrogatepass"))
        part(f"{t.dtype} {list(t.shape)}".encode())
        part(t.reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


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
