"""Random CSV files never make load_csv or `lstmcast evaluate` crash: a result or a one-line error."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lstmcast.cli import app
from lstmcast.data import load_csv
from lstmcast.errors import InputError

runner = CliRunner()

numbers = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e308", "-1e309", "0", "-0.0", "1,5", "1_000", "0x10", "nan", "inf", "-inf", "NA", "null"]),
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
    n_rows = draw(st.integers(0, 14))
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
    lines = [sep.join(header)] + [sep.join(row) for row in rows]
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n", "\r\n"]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=csv_files())
def test_random_csv_gives_a_result_or_a_one_line_error(content: str):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.csv"
        path.write_text(content, encoding="utf-8")

        try:
            data = load_csv(path)
        except InputError as exc:
            assert "\n" not in str(exc).strip()
        else:
            assert isinstance(data, (pd.Series, pd.DataFrame)) and len(data) >= 1

        result = runner.invoke(app, ["evaluate", str(path), "--model", "persistence", "--test-size", "2", "--json"])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
        event(f"exit {result.exit_code}")  # --hypothesis-show-statistics shows how many files were usable
        assert "Traceback" not in result.stderr
        if result.exit_code == 2:
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
            assert result.stdout == ""
