"""Command-line options: the shared ones, and one option per Forecaster parameter generated from lstmcast.params.

``forecaster_options`` adds ``--look-back``, ``--units``, ... to a command from the declarations,
so a new parameter reaches ``evaluate``, ``forecast`` and ``tune`` without touching this file.
Every generated option reads text and is parsed and checked by its declaration, the same code
that checks ``--grid`` values and the Python API, with messages naming the flag.
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
from pathlib import Path
from typing import Annotated, Optional

import typer

from lstmcast.errors import InputError
from lstmcast.params import BASELINE_NAMES, MODELS, PARAMS, Param

ALL_MODELS = BASELINE_NAMES + MODELS
# Options given on the command line under another name than the parameter's
ALIASES = {"members": ("--repeats",)}

Data = Annotated[str, typer.Argument(metavar="DATA", show_default=False,
                                     help="A bundled dataset name (see `lstmcast datasets`) or a CSV path.")]
ModelOpt = Annotated[Optional[str], typer.Option(
    "--model", "-m", metavar="MODEL", show_default=False,
    help=f"auto (default when no model option is given), a baseline ({', '.join(BASELINE_NAMES)}) "
         f"or an LSTM architecture ({', '.join(MODELS[1:])}).")]
ColumnOpt = Annotated[Optional[str], typer.Option(
    "--column", help="Value column of a CSV file (default: the last); several as a,b,c use all as inputs "
    "and forecast the last.", show_default=False)]
DateColumnOpt = Annotated[Optional[str], typer.Option(
    "--date-column", help="Time column of a CSV file (default: the first).", show_default=False)]
IdColumnOpt = Annotated[Optional[str], typer.Option(
    "--id-column", help="Many series in long format: the column naming each series (one global network; "
    "--date-column and --column name the time and value columns, default the first and last others).",
    show_default=False)]
DayFirstOpt = Annotated[Optional[bool], typer.Option(
    "--dayfirst/--monthfirst", help="Dates are day-first (31/01/2020) or month-first (default: detected).",
    show_default=False)]
PlotOpt = Annotated[Optional[Path], typer.Option("--plot", help="Write a PNG figure to this path.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout and nothing else.")]
ProgressOpt = Annotated[Optional[bool], typer.Option(
    "--progress/--no-progress", help="Show a progress bar on stderr (default: on a terminal, and never with --json).",
    show_default=False)]
LevelOpt = Annotated[Optional[list[float]], typer.Option(
    "--level", help="Prediction interval level in percent (repeatable: --level 80 --level 95).", show_default=False)]
StoreOpt = Annotated[Path, typer.Option("--store", help="SQLite file that keeps every study's results.")]
NameOpt = Annotated[Optional[str], typer.Option("--name", help="Study name (default: from the data and grid).",
                                                show_default=False)]
DiagnosticsOpt = Annotated[bool, typer.Option(
    "--diagnostics", help="Record train and test RMSE after every epoch of every run.")]
DiagPlotOpt = Annotated[Optional[Path], typer.Option(
    "--diagnostics-plot", help="Write the per-epoch train (blue) / test (orange) plot to this PNG.", show_default=False)]
TestSizeOpt = Annotated[str, typer.Option(
    "--test-size", help="Test observations at the end: a count (12) or a fraction (0.2).")]


def flags(param: Param) -> tuple[str, ...]:
    """Return the flags of a parameter: ``--look-back`` for look_back, plus any alias."""
    return (param.option,) + ALIASES.get(param.name, ())


def _annotation(param: Param):
    default = str(param.default).lower() if param.kind is bool else param.default
    help_ = f"{param.help} [{param.describe()}" + ("]" if param.default is None else f"; default: {default}]")
    if param.kind is bool:
        name = param.option[2:]
        return Annotated[Optional[bool], typer.Option(f"--{name}/--no-{name}", help=help_, show_default=False)]
    metavar = "|".join(param.choices) if param.choices else {int: "INT", float: "NUMBER", str: "TEXT"}[param.kind]
    if param.many:
        metavar += "[,...]"
    return Annotated[Optional[str], typer.Option(*flags(param), metavar=metavar, help=help_, show_default=False)]


def forecaster_options(exclude: tuple[str, ...] = ("model",)):
    """Return a decorator that adds one option per Forecaster parameter to a Typer command.

    The command receives ``params``: the parameters given on the command line, parsed and
    checked by their declarations (those not given are absent, so Forecaster defaults apply).
    """
    generated = [p for p in PARAMS.values() if p.flag and p.name not in exclude]

    def decorate(command):
        hints = typing.get_type_hints(command, include_extras=True)  # the command's own annotations, evaluated
        own = [p.replace(annotation=hints.get(p.name, p.annotation))
               for p in inspect.signature(command).parameters.values() if p.name != "params"]
        extra = [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=_annotation(p))
                 for p in generated]

        @functools.wraps(command)
        def wrapper(**values):
            given = {p.name: values.pop(p.name) for p in generated}
            params = {}
            for param in generated:
                value = given[param.name]
                if value is None:
                    continue
                params[param.name] = value if param.kind is bool else param.parse(value, "/".join(flags(param)))
            return command(**values, params=params)

        wrapper.__signature__ = inspect.Signature(own + extra)
        wrapper.__annotations__ = {**{p.name: p.annotation for p in own}, **{p.name: p.annotation for p in extra}}
        del wrapper.__wrapped__  # typer must read the generated signature, not the command's own
        return wrapper

    return decorate


def parse_grid(items: list[str]) -> dict[str, list]:
    """Return {param: [values]} from ``--grid name=v1,v2`` options, each value checked by its declaration."""
    grid: dict[str, list] = {}
    for item in items:
        name, sep, values = item.partition("=")
        key = name.strip().replace("-", "_")
        if not sep or not key or not values.strip():
            raise InputError(f"--grid expects NAME=V1,V2,...; got {item!r}")
        if key not in PARAMS:
            raise InputError(f"--grid {key}: unknown parameter; parameters are: {', '.join(PARAMS)}")
        if key in grid:
            raise InputError(f"--grid {key} is given twice; list all its values in one --grid")
        param = PARAMS[key]
        texts = [v for v in values.split(",") if v.strip()]
        grid[key] = [param.parse(t, f"--grid {key}") for t in texts]
    return grid


def parse_test_size(text: str) -> int | float:
    """Return --test-size as a count (an integer string) or a fraction (any other number)."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise InputError(f"--test-size must be a count such as 12 or a fraction such as 0.2; got {text!r}") from None


def at_least(value: int, option: str, minimum: int) -> None:
    """Raise InputError when an integer option is below ``minimum``."""
    if value < minimum:
        raise InputError(f"{option} must be at least {minimum}; got {value}")


# a name inside a word, a flag or a study name ("shampoo-batch_size") and one after "--grid " stay as they are
# Python names of command options that are not Forecaster parameters (load_data, walk_forward, forecast)
_OTHER_NAMES = ("test_size", "date_column", "id_column", "column", "dayfirst", "horizon", "stride", "refit", "level")
_FLAGS = {**{name: p.option for name, p in PARAMS.items()}, **{n: "--" + n.replace("_", "-") for n in _OTHER_NAMES}}
_NAMED = re.compile(r"(?<![-\w])(?<!--grid )(" + "|".join(sorted(_FLAGS, key=len, reverse=True)) + r")\b(=?)")


def as_flags(message: str) -> str:
    """Return an error message with Python parameter names written as the command line's flags.

    ``look_back=48`` becomes ``--look-back=48``; a bare name becomes a flag only when it cannot be
    an ordinary word (it has an underscore), so prose such as "the model" is left alone.
    """

    def swap(match: re.Match) -> str:
        name, eq = match.group(1), match.group(2)
        if eq or "_" in name:
            return _FLAGS[name] + eq
        return match.group(0)

    return _NAMED.sub(swap, message)
