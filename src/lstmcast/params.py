"""Every Forecaster parameter, declared once: name, type, range or choices, default and help.

The Forecaster validates through these declarations, the CLI generates its options from them
(``look_back`` -> ``--look-back``), and grid values given on the command line are parsed and
checked by the same code, so a value refused by ``--learning-rate`` is refused by ``--grid`` too.
Adding a parameter is one declaration here, one keyword in ``Forecaster.__init__`` and the code
that reads it.

This module imports nothing heavy (no torch, pandas or scikit-learn), so ``lstmcast --help`` is quick;
the registries of names (architectures, activations, scalings, baselines) live here for that
reason and the modules that implement them import their names from here.

    >>> PARAMS["look_back"].check(12)
    12
    >>> PARAMS["units"].parse("8,16")
    [8, 16]
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from lstmcast.errors import InputError

# ---- registries of names (one place each) ---------------------------------------------------------
ARCHITECTURES = ("vanilla", "stacked", "bidirectional", "cnn-lstm", "conv-lstm", "vector", "encoder-decoder")
MODELS = ("auto",) + ARCHITECTURES
BASELINE_NAMES = ("persistence", "seasonal-naive", "mean", "drift")
ACTIVATIONS = ("tanh", "relu")
SCALES = ("minmax", "minmax-sym", "standard", "none")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
LOSSES = ("mse", "mae", "huber")
ENGINES = ("auto", "torch", "numpy", "fused")
DEVICES = ("cpu", "cuda")
FRAMINGS = ("steps", "features")

SEED_LIMIT = 2**31  # numpy/torch seeds derived as seed + k must stay below this
MAX_HORIZON = 1_000_000  # forecasts beyond this many steps are refused before anything is allocated


@dataclass(frozen=True)
class Param:
    """One parameter: its type (``int``, ``float``, ``bool`` or ``str``), range or choices, default and help.

    ``many`` admits a list of values as well as one (one per ensemble member: units, seed);
    ``optional`` admits None (``none`` on the command line), whose meaning the help states.
    ``auto`` is the default when ``model="auto"`` and the parameter is left at None.
    ``flag`` is False for parameters the command line sets through other options.
    """

    name: str
    kind: type
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple | None = None
    optional: bool = False
    many: bool = False
    exclusive_max: bool = False
    auto: Any = None
    flag: bool = True

    @property
    def option(self) -> str:
        """Return the command-line flag: ``--look-back`` for ``look_back``."""
        return "--" + self.name.replace("_", "-")

    def check(self, value, label: str | None = None):
        """Return ``value`` checked (ints stay ints, numbers become floats), or raise InputError.

        ``label`` names the parameter in the message (the flag on the command line); lists are
        checked element by element, never truncated or coerced from other types.
        """
        label = label or self.name
        if value is None:
            if self.optional or self.default is None:
                return None
            raise InputError(f"{label} must be set; got None")
        if self.many and isinstance(value, (list, tuple)):
            if not value:
                raise InputError(f"{label} must be one value or a non-empty list; got an empty list")
            return [self._one(v, f"{label}[{i}]") for i, v in enumerate(value)]
        return self._one(value, label)

    def parse(self, text: str, label: str | None = None):
        """Return the command-line text ``text`` as a checked value (``a,b`` is a list where ``many``)."""
        label = label or self.option
        text = text.strip()
        if self.optional and text.lower() in ("none", "null", ""):
            return None
        if self.many and "," in text:
            return self.check([self._from_text(t, f"{label}") for t in text.split(",")], label)
        return self.check(self._from_text(text, label), label)

    def describe(self) -> str:
        """Return the allowed values in words: 'an integer in [1, 10000]', 'one of tanh, relu'."""
        if self.choices is not None:
            return "one of " + ", ".join(self.choices)
        if self.kind is bool:
            return "true or false"
        what = {int: "an integer", float: "a number", str: "text"}[self.kind]
        low = "-inf" if self.minimum is None else _fmt(self.minimum)
        high = "inf" if self.maximum is None else _fmt(self.maximum)
        if self.minimum is None and self.maximum is None:
            return what
        return f"{what} in [{low}, {high}{')' if self.exclusive_max or self.maximum is None else ']'}"

    def _one(self, value, label: str):
        if self.kind is bool:
            if not isinstance(value, bool):
                raise InputError(f"{label} must be true or false; got {value!r}")
            return value
        if self.kind is str:
            if not isinstance(value, str):
                raise InputError(f"{label} must be {self.describe()}; got {value!r}")
            if self.choices is not None and value not in self.choices:
                raise InputError(f"{label} must be {self.describe()}; got {value!r}")
            return value
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise InputError(f"{label} must be {self.describe()}; got {value!r}")
            value = int(value)
        else:
            if isinstance(value, numbers.Integral) and not isinstance(value, bool) and abs(value) > 1e300:
                raise InputError(f"{label} must be {self.describe()}; got an integer of {len(str(abs(value)))} digits")
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise InputError(f"{label} must be {self.describe()} (finite); got {value!r}")
            value = float(value)
        too_high = self.maximum is not None and (value >= self.maximum if self.exclusive_max else value > self.maximum)
        if (self.minimum is not None and value < self.minimum) or too_high:
            raise InputError(f"{label} must be {self.describe()}; got {value!r}")
        return value

    def _from_text(self, text: str, label: str):
        text = text.strip()
        if self.kind is bool:
            low = text.lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise InputError(f"{label} must be true or false; got {text!r}")
        if self.kind is int:
            try:
                return int(text)
            except ValueError:
                raise InputError(f"{label} must be {self.describe()}; got {text!r}") from None
        if self.kind is float:
            try:
                return float(text)
            except ValueError:
                raise InputError(f"{label} must be {self.describe()}; got {text!r}") from None
        return text


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


# ---- the Forecaster's parameters ---------------------------------------------------------------
# Upper bounds keep a typo from allocating gigabytes (issue: --epochs 1e9 asked 7.45 GiB for its
# loss history); the memory a network needs is estimated separately (models.zoo) before it is built.
_DECLARED = (
    Param("model", str, "vanilla", "Architecture; 'auto' chooses transforms and look-back on a validation tail "
          "of the training part (see docs/auto.md).", choices=MODELS),
    Param("look_back", int, None, "Past observations fed to the network (default: 1; auto: season length + 1).",
          minimum=1, maximum=10_000, optional=True, auto="season+1"),
    Param("steps_out", int, 1, "Steps the network emits at once (direct multi-step output).", minimum=1, maximum=1000),
    Param("units", int, None, "LSTM units per layer, or one count per member as 8,16 (default: 50; auto: 8).",
          minimum=1, maximum=4096, optional=True, many=True, auto=8),
    Param("layers", int, None, "LSTM layers (default: 2 for stacked and vector, else 1).",
          minimum=1, maximum=16, optional=True),
    Param("activation", str, "tanh", "Activation of the LSTM cell.", choices=ACTIVATIONS),
    Param("dropout", float, 0.0, "Dropout rate between layers.", minimum=0.0, maximum=1.0, exclusive_max=True),
    Param("subsequences", int, 2, "cnn-lstm/conv-lstm: parts the look-back is split into.", minimum=1, maximum=1000),
    Param("filters", int, 64, "cnn-lstm: convolution filters.", minimum=1, maximum=4096),
    Param("kernel", int, None, "cnn-lstm/conv-lstm: kernel size (default: 1 for cnn-lstm, 2 for conv-lstm).",
          minimum=1, maximum=1000, optional=True),
    Param("framing", str, "steps", "Lags as time steps (steps) or as features of one step (features).",
          choices=FRAMINGS),
    Param("epochs", int, 100, "Training epochs.", minimum=1, maximum=100_000),
    Param("batch_size", int, None, "Samples per training batch (default: 32; auto: 16).",
          minimum=1, maximum=1 << 20, optional=True, auto=16),
    Param("learning_rate", float, 1e-3, "Learning rate of the optimizer.", minimum=1e-12, maximum=100.0),
    Param("optimizer", str, "adam", "Optimizer.", choices=OPTIMIZERS),
    Param("loss", str, "mse", "Training loss.", choices=LOSSES),
    Param("shuffle", bool, True, "Shuffle training windows each epoch (stateless only)."),
    Param("stateful", bool, False, "Carry the LSTM state across batches (Keras' stateful)."),
    Param("patience", int, None, "Early stopping: epochs without validation improvement (needs validation_size).",
          minimum=1, maximum=100_000, optional=True),
    Param("validation_size", int, 0, "Training windows held out (the newest) to watch the validation loss.",
          minimum=0, maximum=10_000_000),
    Param("difference", int, 0, "Difference the series at this lag before scaling (0 = none).",
          minimum=0, maximum=100_000),
    Param("scale", str, None, "Scaling fitted on the training part (default: minmax-sym; auto: standard).",
          choices=SCALES, optional=True, auto="standard"),
    Param("target", str, None, "Column to forecast (default: the last); 'all' forecasts every column.",
          optional=True),
    Param("members", int, None, "Networks trained together as one ensemble (default: 1; auto: 10).",
          minimum=1, maximum=1000, optional=True, auto=10),
    Param("seed", int, None, "Seed of the first member (member k gets seed + k), or one seed per member.",
          minimum=0, maximum=SEED_LIMIT - 1, optional=True, many=True),
    Param("trim", int, 0, "Oldest training windows to leave out (seed 002 drops 2 for a stateful batch of 4).",
          minimum=0, maximum=10_000_000),
    Param("season_length", int, None, "Season length (default: from the index frequency: monthly 12, "
          "quarterly 4, weekly 52, daily 7, hourly 24, annual 1).", minimum=1, maximum=10_000, optional=True),
    Param("skeleton_weight", float, None, "model='auto': weight of the statistical skeleton's own forecast in the "
          "forecast, the rest the LSTM's (default: chosen among 0, 0.25, 0.5, 0.75, 1 on the validation tail).",
          minimum=0.0, maximum=1.0, optional=True),
    Param("engine", str, "auto", "Training kernel: auto picks by model size.", choices=ENGINES),
    Param("device", str, "cpu", "Where training and prediction run.", choices=DEVICES),
    Param("max_steps", int, None, "Stop training after this many optimizer steps (bounds work on long series).",
          minimum=1, maximum=10**9, optional=True),
)

PARAMS: dict[str, Param] = {p.name: p for p in _DECLARED}
HORIZON = Param("horizon", int, 1, "Steps to forecast after the end of the data.", minimum=1, maximum=MAX_HORIZON)

# Defaults of the parameters whose declared default is None, for the explicit architectures.
MODEL_DEFAULTS = {"look_back": 1, "units": 50, "batch_size": 32, "scale": "minmax-sym", "members": 1}


def check_params(values: dict, labels: dict[str, str] | None = None) -> dict:
    """Return ``values`` with every entry checked by its declaration, or raise InputError.

    Unknown names are refused with the known ones listed; ``labels`` maps names to the words the
    caller uses for them (flags on the command line).
    """
    labels = labels or {}
    out = {}
    for name, value in values.items():
        if name not in PARAMS:
            raise InputError(f"unknown parameter {name!r}; parameters are: {', '.join(PARAMS)}")
        out[name] = PARAMS[name].check(value, labels.get(name))
    return out


def resolve(values: dict, season_length: int = 1) -> dict:
    """Return ``values`` with every None that means "the model's default" filled in.

    ``model="auto"`` takes each parameter's ``auto`` default (look-back: one season plus one step,
    5 without a season); the explicit architectures take ``MODEL_DEFAULTS``.
    """
    out = dict(values)
    auto = values.get("model") == "auto"
    for name, fallback in MODEL_DEFAULTS.items():
        if out.get(name) is not None:
            continue
        if auto and name == "look_back":
            out[name] = season_length + 1 if season_length > 1 else 5
        elif auto:
            out[name] = PARAMS[name].auto
        else:
            out[name] = fallback
    return out
