"""The field validators every part of a model file's document goes through, and the time index's encoding.

A field that fails raises ``_Invalid`` (where it is, what is wrong); ``persist.load`` turns that
into one ModelFileError naming the file and the field. The validators are generic (an int in a
range, a list of finite numbers, text from a set of choices, a label as ``_labels`` writes it),
so that the single forecaster's schema (``single``) and the panel's (``panel``) read as a list of
fields and their rules. The time index lives here too: ``_encode_index`` writes it,
``_decode_index`` rebuilds it exactly, ``_index`` checks a saved description before rebuilding it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lstmcast.data.validate import validate_series
from lstmcast.errors import InputError
from lstmcast.persist.spec import _FLOAT_MAX, _INT64, _MAX_LABEL_CHARS


class _Invalid(Exception):
    """A field of a model file that fails the schema: where it is and what is wrong with it."""

    def __init__(self, field: str, problem: str):
        super().__init__(field, problem)
        self.field, self.problem = field, problem


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


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 240 else text[:237] + "..."


def _plain_json(value):
    """Return numpy scalars and arrays as plain Python values for json.dumps."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} value {value!r} is not JSON-serializable")


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
