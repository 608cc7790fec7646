"""One fitted Forecaster as a model file's tensors and document, and that document checked and rebuilt.

Saving: ``_network_tensors`` and ``_float64`` give the tensors (the network's weights, the fitted
values), ``_describe`` the JSON document of everything else a forecast needs (parameters, model
config, scaler, columns, index, seeds, losses, the skeleton and report of ``model="auto"``, bands).

Loading: ``_checked_forecaster`` checks every field of a parsed document against the schema
below (types, ranges, and agreement with the parameters and the tensors) before rebuilding the
Forecaster from it, then refits the scaler on the saved values to catch edits that each pass
alone. The panel's schema (``panel``) checks each of its series with the same function.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import torch

from lstmcast.data.validate import MAX_ABS_VALUE
from lstmcast.errors import InputError
from lstmcast.forecaster import Forecaster
from lstmcast.models.zoo import ModelConfig, build_network
from lstmcast.params import PARAMS, SCALES, check_params, resolve
from lstmcast.persist.fields import (
    _Invalid,
    _encode_index,
    _index,
    _int,
    _keys,
    _kind,
    _label,
    _labels,
    _number,
    _numbers,
    _one_line,
    _plain_json,
    _short,
    _text,
)
from lstmcast.persist.spec import _INT64, _NETWORK_PREFIX, _VALUES, FORMAT_VERSION, MAX_REPORT_BYTES
from lstmcast.training.trainer import TrainHistory

# ---- what is saved -----------------------------------------------------------------------------


def _network_tensors(network, prefix: str) -> dict:
    return {prefix + name: value.detach().cpu().contiguous().clone() for name, value in network.state_dict().items()}


def _float64(values) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float64).copy())


def _describe(f: Forecaster, *, history_limit: int) -> dict:
    """Return the JSON document of everything besides the tensors that predicting needs.

    ``format_version`` comes first: ``persist._declared_version`` reads it from the raw text.
    ``history_limit``: the most loss values kept (save passes ``persist._MAX_HISTORY_NUMBERS``).
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
        "history": _encode_history(state["history"], history_limit),
        "season_length": state["season_length"],
        "skeleton": state["skeleton"],
        "chosen": state["chosen"],
        "bands": state.get("bands"),
    }


def _encode_history(history: TrainHistory | None, limit: int) -> dict | None:
    """Return the training history as JSON; the losses only when there are at most ``limit``."""
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
    if loss.size + (0 if val is None else val.size) <= limit:
        out["loss"] = loss.tolist()
        out["val_loss"] = None if val is None else val.tolist()
    return out


# ---- the schema: every field checked before it is used --------------------------------------------


_REQUIRED = ("format_version", "params", "model_config", "seeds", "columns", "target_idx", "index", "scaler",
             "n_train_windows")
_OPTIONAL = ("lstmcast_version", "history", "season_length", "skeleton", "chosen", "bands")  # absent in older files


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
    if "skeleton_weight" in value:  # the one entry that shapes forecasts: the skeleton's share of them
        weight = _number(value["skeleton_weight"], "chosen.skeleton_weight")
        if not 0.0 <= weight <= 1.0:
            raise _Invalid("chosen.skeleton_weight", f"must lie in [0, 1]; got {weight}")
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
