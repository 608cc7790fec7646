"""Random CSV bytes and random option mixes never make the command line crash (issue 14).

Every invocation of ``evaluate``, ``forecast`` and ``tune --dry-run`` ends with exit 0 and a
result, or exit 2 and one stderr line ``error: ...``: never exit 1, never a traceback, and with
``--json`` never a null or NaN where the contract promises a number. The option values are
generated from ``lstmcast.params.PARAMS`` (valid small values and hostile ones: 0, -1, 2**63,
1e300, inf, nan, text), so a new parameter is fuzzed without touching this file. Training
options default to one epoch of two units, so each example takes a fraction of a second.

Case counts (derandomized, so every run draws the same cases): 100 CSV files through
``load_csv`` and the persistence baseline, 40 CSV files through a random command with an LSTM,
120 random option mixes over the bundled and a small monthly series.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lstmcast.cli import app
from lstmcast.data import load_csv
from lstmcast.errors import InputError
from lstmcast.params import BASELINE_NAMES, MODELS, PARAMS, Param

runner = CliRunner()

numbers = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e308", "-1e309", "0", "-0.0", "1,5", "1_000", "0x10", "nan", "inf", "-inf", "NA", "null",
                     "1e200", "-1.7e308", "5e-324", "1e-320", "1+2j", "(3-0j)", "1e", "--1", "٣", "1 000"]),
)
dates = st.one_of(
    st.dates().map(str),
    st.dates().map(lambda d: d.strftime("%Y-%m")),
    st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
    st.dates().map(lambda d: d.strftime("%m/%d/%y")),
    st.datetimes().map(lambda d: d.isoformat()),
    st.integers(0, 3000).map(str),
    st.sampled_from(["1-Jan", "2020-13-01", "2020-02-30", "Q1 2020", "1991-1", "yesterday", "0000-00-00"]),
)
plain_numbers = st.floats(-1e6, 1e6).map(str)
text = st.text(max_size=12)
cells = st.one_of(numbers, dates, text, st.just(""), st.just(" "))
names = st.one_of(st.text(min_size=0, max_size=8), st.sampled_from(["Date", "Time", "value", "y", "Sales", ""]))


@st.composite
def csv_files(draw) -> str:
    """Return CSV text: a header of random names over rows of random numbers, dates, text and blanks."""
    if draw(st.integers(0, 9)) == 0:  # sometimes not a table at all
        return draw(st.text(max_size=200))
    width = draw(st.integers(1, 4))
    if draw(st.booleans()):
        header = draw(st.lists(names, min_size=width, max_size=width))
    else:  # distinct ordinary names, so that the rows decide what happens
        header = draw(st.lists(st.sampled_from(["Date", "a", "b", "Sales", "y"]), min_size=width, max_size=width,
                               unique=True))
    time_cells = draw(st.sampled_from([dates, numbers, cells]))
    value_cells = draw(st.sampled_from([cells, numbers, plain_numbers]))
    n_rows = draw(st.integers(0, 30))
    start = draw(st.dates(min_value=pd.Timestamp("1900-01-01").date(), max_value=pd.Timestamp("2100-01-01").date()))
    regular = draw(st.booleans())
    rows = []
    for i in range(n_rows):
        if regular:  # a clean monthly index, so the values themselves get exercised
            first = (pd.Period(start, "M") + i).strftime("%Y-%m")
        else:
            first = draw(time_cells)
        rest = [draw(value_cells) for _ in range(width - 1)]
        rows.append([first, *rest][:width])
    sep = draw(st.sampled_from([",", ",", ",", ";", "\t"]))
    lines = [sep.join(header)] if draw(st.integers(0, 4)) else []  # sometimes no header: data from row one
    lines += [sep.join(row) for row in rows]
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n", "\r\n"]))


@st.composite
def csv_bytes(draw) -> bytes:
    """Return a file's bytes: CSV text in some encoding, or garbage."""
    if draw(st.integers(0, 7)) == 0:
        return draw(st.binary(max_size=300))
    text = draw(csv_files())
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


# ---- the contract every invocation keeps ---------------------------------------------------------------


def _no_constants(name: str):
    raise ValueError(f"{name} in JSON output")  # json.loads would otherwise accept NaN and Infinity


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def assert_contract(result, args: list[str]) -> None:
    """Exit 0 with a result or exit 2 with one line; with --json, one object whose promised numbers are numbers."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    assert result.exit_code in (0, 2), (args, result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, (args, result.stderr)
    event(f"{args[0]}: exit {result.exit_code}")  # --hypothesis-show-statistics shows the mix
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
        assert result.stdout == "", args
        return
    if "--json" not in args:
        return
    obj = json.loads(result.stdout, parse_constant=_no_constants)  # one object and nothing else
    assert isinstance(obj, dict), args
    if args[0] == "evaluate":
        rmse = obj["rmse"]
        assert all(_number(rmse[k]) for k in ("mean", "std", "min", "max")), (args, rmse)
        assert rmse["runs"] and all(_number(v) for v in rmse["runs"]), (args, rmse)
        assert all(_number(v) for v in obj["baselines"].values()), (args, obj["baselines"])
    elif args[0] == "forecast":
        assert obj["forecast"] and all(_number(v) for v in obj["forecast"]), (args, obj["forecast"])
        assert len(obj["forecast"]) == len(obj["index"]), args


# ---- option values generated from the parameter declarations --------------------------------------------

HOSTILE = ["0", "-1", "9223372036854775808", "-9223372036854775809", "1e300", "-1e300", "1e-400", "inf", "-inf",
           "nan", "1.5", "abc", "", " ", "1_000", "0x10", "\u0663", "1,", ",", "2,3", "none", "true"]
# largest value worth training with in a fuzz example, per parameter (the declared maxima take hours)
SMALL = {"epochs": 2, "units": 3, "members": 3, "layers": 3, "filters": 4, "batch_size": 8, "max_steps": 5,
         "validation_size": 3, "difference": 13, "season_length": 13, "look_back": 4, "steps_out": 3}


def valid_text(param: Param) -> st.SearchStrategy[str]:
    """Return a strategy of command-line texts that the declaration accepts and that train quickly."""
    if param.choices is not None:
        return st.sampled_from(param.choices)
    if param.kind is int:
        low = int(param.minimum or 0)
        high = min(int(param.maximum), low + SMALL.get(param.name, 3))
        one = st.integers(low, high).map(str)
        return st.one_of(one, st.lists(one, min_size=2, max_size=3).map(",".join)) if param.many else one
    if param.kind is float:
        low, high = param.minimum or 0.0, param.maximum or 1.0
        return st.sampled_from(sorted({low, high, 1e-3, 0.1, 0.5})).filter(
            lambda v: low <= v <= high and not (param.exclusive_max and v >= high)).map(repr)
    return st.sampled_from(["all", "Sales", "Passengers", "value", "nope"])  # free text: the target column


def hostile_text(param: Param) -> st.SearchStrategy[str]:
    """Return a strategy of texts just outside the declaration, or not numbers at all."""
    extra = [] if param.maximum is None else [repr(param.maximum * 10), str(int(param.maximum) + 1)]
    extra += [c.upper() for c in param.choices or ()] + [f"{c},{c}" for c in (param.choices or ())[:1]]
    return st.sampled_from(HOSTILE + extra)


@st.composite
def forecaster_options(draw, exclude: tuple[str, ...] = ("model",)) -> list[str]:
    """Return option arguments for a random set of Forecaster parameters, valid or hostile.

    ``--epochs 1 --units 2`` are added unless drawn, so that whatever trains is quick.
    """
    declared = [p for p in PARAMS.values() if p.flag and p.name not in exclude]
    chosen = draw(st.lists(st.sampled_from(declared), max_size=5, unique_by=lambda p: p.name))
    args: list[str] = []
    for param in chosen:
        if param.kind is bool:
            args.append(draw(st.sampled_from([param.option, "--no-" + param.option[2:]])))
        else:
            # mostly valid values, so that many examples get past parsing to the data and the training
            args += [param.option, draw(st.one_of(valid_text(param), valid_text(param), hostile_text(param)))]
    names = {p.name for p in chosen}
    if "epochs" not in names:
        args += ["--epochs", "1"]
    if "units" not in names and "units" not in exclude:
        args += ["--units", "2"]
    return args


models = st.sampled_from([None, *BASELINE_NAMES, *MODELS, "", "LSTM", "vanilla,stacked"])
test_sizes = st.one_of(st.sampled_from([None, "2", "6", "0.2"]),
                       st.sampled_from(["0", "-1", "1", "1e300", "nan", "inf", "0.0", "1.0", "99999", "x"]))
horizons = st.one_of(st.sampled_from([None, "1", "3", "12"]),
                     st.sampled_from(["0", "-1", "1000001", "9223372036854775808", "1.5", "nan", ""]))
grid_names = st.one_of(st.sampled_from(sorted(PARAMS)), st.sampled_from(["", "bogus", "look-back", "epochs=1"]))


@st.composite
def grids(draw, exclude=("model",)) -> list[str]:
    """Return ``--grid NAME=V1,V2`` arguments, values drawn like the options' values."""
    args = []
    for _ in range(draw(st.integers(1, 2))):
        name = draw(grid_names)
        param = PARAMS.get(name)
        if param is None or param.kind is bool:
            values = draw(st.sampled_from(["1,2", "true", "", "inf"]))
        else:
            values = ",".join(draw(st.lists(st.one_of(valid_text(param), hostile_text(param)), min_size=1,
                                            max_size=3)))
        args += ["--grid", f"{name}={values}"]
    return args


@st.composite
def commands(draw, data: str, folder: Path) -> list[str]:
    """Return a random ``evaluate``, ``forecast`` or ``tune --dry-run`` invocation on ``data``."""
    command = draw(st.sampled_from(["evaluate", "forecast", "tune"]))
    args = [command, data]
    if command == "tune":
        args += draw(grids()) + draw(forecaster_options(exclude=("model", "members")))
        args += ["--dry-run", "--store", str(folder / "store.db")]
        args += draw(st.sampled_from([[], ["--repeats", "2"], ["--repeats", "0"], ["--name", ""], ["--name", "s 1"],
                                      ["--model", "stacked"], ["--model", "persistence"]]))
    else:
        model = draw(models)
        args += ([] if model is None else ["--model", model]) + draw(forecaster_options())
        if command == "forecast":
            horizon = draw(horizons)
            args += [] if horizon is None else ["--horizon", horizon]
        else:
            args += draw(st.sampled_from([[], ["--refit", "1"], ["--refit", "0"], ["--refit", "-3"]]))
    size = draw(test_sizes)
    if size is not None and command != "forecast":
        args += ["--test-size", size]
    plot = draw(st.sampled_from([None] * 8 + ["plot.png", "plot.txt", "missing/plot.png"]))
    if plot is not None:
        args += ["--plot", str(folder / plot)]
    if draw(st.integers(0, 5)):
        args.append("--json")
    return args


# ---- the tests ---------------------------------------------------------------------------------------------

# derandomized: every run tries the same cases; no explain phase (it reruns a failure ~100 times)
FUZZ = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
                phases=(Phase.explicit, Phase.generate, Phase.shrink))
SERIES = "\n".join(["Month,Sales"] + [f"{2001 + i // 12}-{i % 12 + 1:02d},{100 + 7 * (i % 12) + i}" for i in range(30)])




@settings(FUZZ, max_examples=100)
@given(content=csv_bytes())
def test_random_csv_gives_a_result_or_a_one_line_error(content: bytes):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.csv"
        path.write_bytes(content)

        try:
            data = load_csv(path)
        except InputError as exc:
            assert "\n" not in str(exc).strip()
        else:
            assert isinstance(data, (pd.Series, pd.DataFrame)) and len(data) >= 1

        args = ["evaluate", str(path), "--model", "persistence", "--test-size", "2", "--json"]
        assert_contract(runner.invoke(app, args), args)


@pytest.mark.slow
@settings(FUZZ, max_examples=40)
@given(content=csv_bytes(), data=st.data())
def test_random_csv_through_a_random_command_gives_a_result_or_a_one_line_error(content: bytes, data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.csv"
        path.write_bytes(content)
        args = data.draw(commands(str(path), Path(folder)))
        assert_contract(runner.invoke(app, args), args)


@pytest.mark.slow
@settings(FUZZ, max_examples=120)
@given(source=st.sampled_from(["shampoo", "airline", "small.csv"]), data=st.data())
def test_random_option_mixes_give_a_result_or_a_one_line_error(source: str, data):
    with tempfile.TemporaryDirectory() as folder:
        if source == "small.csv":
            source = str(Path(folder) / source)
            Path(source).write_text(SERIES + "\n", encoding="utf-8")
        args = data.draw(commands(source, Path(folder)))
        assert_contract(runner.invoke(app, args), args)
