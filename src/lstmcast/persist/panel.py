"""A fitted PanelForecaster as a model file's tensors and document, and that document checked and rebuilt.

A panel file holds the panel's own parameters, the forecasters' parameters, the ids, per series
the fields of a single model file (``single``) and its tensors under ``series.<i>.``, the global
network once (or each series' network) and the bands. Loading checks the panel's own fields
here and each series with the single forecaster's schema, the global network's fields once.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import torch

from lstmcast.errors import InputError
from lstmcast.forecaster import Forecaster
from lstmcast.persist.fields import _Invalid, _int, _keys, _kind, _label, _labels, _one_line, _short, _text
from lstmcast.persist.single import _checked_forecaster, _describe, _float64, _network_tensors, _params
from lstmcast.persist.spec import (
    _DATA,
    _INT64,
    _NETWORK_PREFIX,
    _PANEL_KEY,
    _SERIES_PREFIX,
    _VALUES,
    FORMAT_VERSION,
    MAX_SERIES,
)

_NETWORK_FIELDS = ("model_config", "seeds", "history", "n_train_windows")  # once for a global network
_PANEL_PARAMS = ("global_model", "id_column", "time_column", "value_column", "calendar", "future_columns",
                 "past_columns", "pooling")


def _describe_panel(pf, *, history_limit: int) -> tuple[dict, dict]:
    """Return (tensors, document) of a fitted PanelForecaster.

    Tensors: the global network once (``network.*``) or each series' (``series.<i>.network.*``),
    each series' fitted values (``series.<i>.values``) and, with covariates, its raw data
    (``series.<i>.data``: what ``forecast`` extends; the values are the frame the network sees).
    The document holds the panel's and the forecasters' parameters, the ids, per series the
    fields of a single model file (``history_limit`` as for ``single._describe``), and the bands.
    """
    import lstmcast

    keys = list(pf.forecasters_)
    tensors, entries = {}, []
    lead = pf.forecasters_[keys[0]]
    for i, key in enumerate(keys):
        f, prefix = pf.forecasters_[key], f"{_SERIES_PREFIX}{i}."
        entry = {k: v for k, v in _describe(f, history_limit=history_limit).items()
                 if k not in ("format_version", "lstmcast_version", "params", "bands")}
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
        single = _describe(lead, history_limit=history_limit)
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


# ---- the schema --------------------------------------------------------------------------------


_PANEL_FIELDS = ("params", "forecaster", "ids", "network", "series", "n_windows", "bands")


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
