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
``_MAX_DEPTH`` levels, checks every field against the schema (types, ranges, and agreement
with the parameters and tensors), and makes one forecast before handing the model back. Anything
wrong is a ModelFileError naming the file and the field.

    save(Forecaster(epochs=50).fit(y), "model.safetensors")
    load("model.safetensors").forecast(12)      # identical to the saved forecaster's forecast

This module holds the public API and the file layer (limits, reading, the safetensors header,
the digest, the version, JSON parsing, the atomic write); the document's schema lives in
``fields`` (generic field validators, the time index), ``single`` (one Forecaster: describe,
check, rebuild) and ``panel`` (a PanelForecaster), and the format's constants in ``spec``.
The limits below are read at call time, so that tests can patch them here.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import stat
import struct
from pathlib import Path

import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load as _load_tensors
from safetensors.torch import save as _save_tensors

from lstmcast.errors import InputError, LstmcastError, ModelFileError, NotFittedError
from lstmcast.forecaster import Forecaster
from lstmcast.persist.fields import _Invalid, _one_line, _plain_json
from lstmcast.persist.panel import _checked_panel, _describe_panel
from lstmcast.persist.single import _checked_forecaster, _describe, _float64, _network_tensors
from lstmcast.persist.spec import (  # noqa: F401  (MAX_REPORT_BYTES, MAX_SERIES: part of the module's API)
    _NETWORK_PREFIX,
    _PANEL_KEY,
    _VALUES,
    FORMAT_VERSION,
    MAX_REPORT_BYTES,
    MAX_SERIES,
)

MAX_FILE_BYTES = 1 << 30  # 1 GiB: far above the models lstmcast trains; bounds the memory one load takes
MAX_DOCUMENT_BYTES = 64 << 20  # the JSON document; long series keep their index and losses in it
_MAX_HISTORY_NUMBERS = 100_000  # larger loss histories are left out of the metadata
_MAX_DEPTH = 32  # JSON nesting; documents written here nest at most about ten levels
_DOCUMENT_KEY = "lstmcast"
_DIGEST_KEY = "lstmcast.sha256"
_MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
_CHUNK = 1 << 20


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
        tensors, described = _describe_panel(forecaster, history_limit=_MAX_HISTORY_NUMBERS)
    else:
        if not hasattr(forecaster, "network_"):
            raise NotFittedError("this Forecaster is not fitted yet; call fit(y) before saving it")
        tensors = _network_tensors(forecaster.network_, _NETWORK_PREFIX)
        tensors[_VALUES] = _float64(forecaster.values_)
        described = _describe(forecaster, history_limit=_MAX_HISTORY_NUMBERS)
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
    return _rebuild(path, _parse(path, text), tensors)


def _rebuild(path: Path, doc: dict, tensors: dict[str, torch.Tensor]):
    """Return the Forecaster or PanelForecaster of a document whose digest matched, every field checked.

    The schema (``single``, ``panel``) raises _Invalid naming a field; here it becomes one
    ModelFileError naming the file. Each rebuilt forecaster then makes one forecast.
    """
    try:
        if _PANEL_KEY in doc:
            model = _checked_panel(doc, tensors)
            forecasters = list(model.forecasters_.values())
        else:
            model = _checked_forecaster(doc, tensors)
            forecasters = [model]
    except _Invalid as bad:
        if bad.field == "format_version":
            raise _version_error(path, doc.get("format_version"), str(doc.get("lstmcast_version", "unknown"))) from None
        raise ModelFileError(
            f"model file {path} has incomplete or inconsistent metadata in {bad.field!r}: {_one_line(bad.problem)}; "
            "the file was damaged or edited after saving, save the model again"
        ) from None
    for forecaster in forecasters:
        _check_forecasts(path, forecaster)
    return model


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
