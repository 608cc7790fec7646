"""Commands on studies kept in the store: tune, studies, show, reproduce."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lstmcast.cli.app import app
from lstmcast.cli.forecasting import _show_progress, selected_columns
from lstmcast.cli.options import (
    ColumnOpt, Data, DateColumnOpt, DiagnosticsOpt, DiagPlotOpt, JsonOpt, NameOpt, PlotOpt, ProgressOpt, StoreOpt,
    TestSizeOpt, at_least, forecaster_options, parse_grid, parse_test_size,
)
from lstmcast.cli.output import clean, fmt, print_json
from lstmcast.errors import InputError
from lstmcast.params import ARCHITECTURES


WorkersOpt = Annotated[Optional[int], typer.Option(
    "--workers", help="Worker processes (default: one per core).", show_default=False)]
ExecutorOpt = Annotated[str, typer.Option("--executor", help="local (worker processes) or ray (a Ray cluster).")]
AddressOpt = Annotated[Optional[str], typer.Option(
    "--address", help="Ray cluster address with --executor ray (default: a running local Ray, or a new one).",
    show_default=False)]


def _open_store(path: Path, read_only: bool = False):
    """Return the store at ``path``; commands that only read it never write or create it."""
    from lstmcast.experiments.store import Store

    if path.parent and not path.parent.is_dir():
        raise InputError(f"cannot open the store {path}: the folder {path.parent} does not exist")
    return Store(path, read_only=read_only)


def _check_plots(*paths: Path | None) -> None:
    from lstmcast.plots import check_target

    for path in paths:
        if path is not None:
            check_target(path)


def _study_plots(result, plot: Path | None, diag_plot: Path | None) -> None:
    from lstmcast.plots.study import boxplot, diagnostics

    if plot is not None:
        boxplot(result.scores(), plot, title=f"{result.name}: test RMSE", persistence=result.persistence)
    if diag_plot is not None:
        diagnostics(result.diagnostics(), diag_plot, title=f"{result.name}: train (blue) and test (orange) RMSE")


def _print_summary(result) -> None:
    """Print validation and test RMSE side by side, persistence beside them, and the best configuration."""
    import pandas as pd

    table = result.table()
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_colwidth", 60):
        typer.echo(table.round(3).to_string())
    if result.validation_tail:
        typer.echo(f"validation: the last {result.validation_tail} observations before the test part (each run is "
                   "fit on what precedes them); test: reported only, never used to choose")
    if result.persistence is not None:
        typer.echo(f"persistence RMSE on the same split: {result.persistence:.3f}")
    best = result.best()
    if best is not None:
        if result.validation_tail:
            typer.echo(f"best (lowest mean validation RMSE): {best[0]}")
        else:
            typer.echo(f"best (lowest mean test RMSE; chosen on the test part itself, the seeds' protocol): {best[0]}")
    if not result.complete:
        typer.echo(f"INCOMPLETE: {len(result.runs)} of {result.planned_runs} planned runs are stored "
                   "(a killed or still running study); rerun the same command to finish it")
    typer.echo(f"{len(result.runs)} runs, {result.seconds:.1f} s of training")


def _report(result, store: Path, as_json: bool) -> None:
    """Print a study's result: its JSON, or the summary table with persistence and the best configuration."""
    if as_json:
        print_json(result.to_json())
        return
    typer.echo(f"study {result.name} on {result.data} (store {store})")
    _print_summary(result)


def _run_study(study, store: Path, as_json: bool, progress: bool | None, workers: int | None = None,
               executor: str = "local", address: str | None = None):
    from lstmcast.progress import progress_bar

    if workers is not None:
        at_least(workers, "--workers", 1)
    st = _open_store(store)
    with progress_bar(total=0, desc=study.study_name, enabled=_show_progress(progress, as_json)) as bar:
        return study.run(st, progress=bar, workers=workers, executor=executor, address=address)


@app.command("tune")
@forecaster_options(exclude=("model", "members"))
def tune_command(
    ctx: typer.Context,
    data: Data,
    grid: Annotated[list[str], typer.Option("--grid", help="NAME=V1,V2,... (repeatable): a parameter and its values.")],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="LSTM architecture for every configuration.",
                                                 show_default=False)] = None,
    test_size: TestSizeOpt = "12",
    validation_tail: Annotated[Optional[str], typer.Option(
        "--validation-tail", help="Validation tail inside the training part that chooses the best configuration: "
        "a count or a fraction; default: as long as the test part (shorter if the data needs); 0: choose on the "
        "test part (the seeds' protocol).", show_default=False)] = None,
    column: ColumnOpt = None,
    date_column: DateColumnOpt = None,
    repeats: Annotated[int, typer.Option("--repeats", help="Runs per configuration (trained together).")] = 30,
    diagnostics: DiagnosticsOpt = False,
    store: StoreOpt = Path("lstmcast.db"),
    name: NameOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the execution plan and stop.")] = False,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = "local",
    address: AddressOpt = None,
    plot: PlotOpt = None,
    diagnostics_plot: DiagPlotOpt = None,
    as_json: JsonOpt = False,
    progress: ProgressOpt = None,
    params: dict | None = None,
) -> None:
    """Run a grid of configurations x repeats by walk-forward, kept in the store; resumable."""
    from lstmcast.experiments.study import Study

    base = dict(params or {})  # options not given keep the Forecaster's defaults
    if model is not None:
        if model not in ARCHITECTURES:
            raise InputError(f"--model must be an LSTM architecture ({', '.join(ARCHITECTURES)}); got {model!r}")
        base["model"] = model
    at_least(repeats, "--repeats", 1)
    _check_plots(plot, diagnostics_plot)
    if diagnostics_plot is not None and not diagnostics:
        raise InputError("--diagnostics-plot needs --diagnostics (per-epoch RMSE is recorded only then)")
    study = Study(data, grid=parse_grid(grid), repeats=repeats, base=base, test_size=parse_test_size(test_size),
                  validation_tail=_parse_validation_tail(validation_tail), name=name, diagnostics=diagnostics,
                  column=selected_columns(data, column, date_column),
                  date_column=date_column)
    if dry_run:
        _print_plan(study, store, as_json)
        return
    result = _run_study(study, store, as_json, progress, workers, executor, address)
    _study_plots(result, plot, diagnostics_plot)
    _report(result, store, as_json)


def _parse_validation_tail(text: str | None) -> int | float | None:
    """Return --validation-tail as a count or fraction (None when not given; 0 is the seeds' protocol)."""
    if text is None:
        return None
    if text.strip() == "0":
        return 0
    try:
        return parse_test_size(text)
    except InputError:
        raise InputError(f"--validation-tail must be a count (0 or more) or a fraction in (0, 1); got {text!r}") from None


def _print_plan(study, store: Path, as_json: bool) -> None:
    """Print the groups the study would train: parameters, members, runs, epochs and optimizer steps."""
    plan = study.plan(_open_store(store))
    y = study.series()
    test, val = study._check_against(y)
    rows = plan.describe(len(y) - test - val)  # runs are fit on what precedes the validation tail
    if as_json:
        print_json({"study": study.study_name, "groups": rows, "runs": plan.n_runs, "skipped_runs": plan.skipped_runs,
                    "validation_tail": val, "test_size": test})
        return
    typer.echo(f"study {study.study_name}: {len(rows)} group(s), {plan.n_runs} run(s) to train, "
               f"{plan.skipped_runs} already stored; each fit on {len(y) - test - val} observations "
               f"(validation tail {val}, test {test})")
    for row in rows:
        typer.echo(f"  group {row['group']}: {row['members']} members, {row['runs']} runs, {row['epochs']} epochs, "
                   f"{row['steps']} optimizer steps; {row['params']}")


@app.command("studies")
def studies_command(store: StoreOpt = Path("lstmcast.db"), as_json: JsonOpt = False) -> None:
    """List the studies kept in the store."""
    if not store.exists():
        raise InputError(f"no store at {store}; run 'lstmcast tune' or 'lstmcast reproduce' first, or pass --store")
    frame = _open_store(store, read_only=True).list_studies()
    if as_json:
        print_json({"store": str(store), "studies": frame.to_dict(orient="records")})
        return
    if frame.empty:
        typer.echo(f"no studies in {store}")
        return
    typer.echo(frame.to_string(index=False))


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="A stored study's name (see 'lstmcast studies').")],
    store: StoreOpt = Path("lstmcast.db"),
    plot: PlotOpt = None,
    diagnostics_plot: DiagPlotOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a stored study's summary again, without recomputing anything."""
    from lstmcast.experiments.study import StudyResult

    if not store.exists():
        raise InputError(f"no store at {store}; pass --store")
    _check_plots(plot, diagnostics_plot)
    result = StudyResult.load(_open_store(store, read_only=True), name)
    _study_plots(result, plot, diagnostics_plot)
    _report(result, store, as_json)


@app.command("reproduce")
def reproduce_command(
    name: Annotated[str, typer.Argument(
        help="shampoo-epochs | shampoo-batch-size | shampoo-neurons | shampoo-all | airline")],
    repeats: Annotated[int, typer.Option("--repeats", help="Runs per configuration (the seed: 30).")] = 30,
    diagnostics: DiagnosticsOpt = False,
    store: StoreOpt = Path("lstmcast.db"),
    study_name: NameOpt = None,
    plot: PlotOpt = None,
    diagnostics_plot: DiagPlotOpt = None,
    as_json: JsonOpt = False,
    progress: ProgressOpt = None,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = "local",
    address: AddressOpt = None,
) -> None:
    """Run a seed tutorial's study as configured there; print its tables beside the published means.

    As in the seed, configurations are compared on the test split itself.
    """
    from lstmcast.experiments import reproduce

    at_least(repeats, "--repeats", 1)
    _check_plots(plot, diagnostics_plot)
    if diagnostics_plot is not None and not diagnostics:
        raise InputError("--diagnostics-plot needs --diagnostics")
    study = reproduce.study(name, repeats=repeats, diagnostics=diagnostics,
                            study_name=study_name or (name if repeats == 30 else f"{name}-r{repeats}"))
    result = _run_study(study, store, as_json, progress, workers, executor, address)
    _study_plots(result, None, diagnostics_plot)
    tables = reproduce.tables(result)
    if plot is not None:
        from lstmcast.plots.study import reproduction_boxplot

        reproduction_boxplot(result.scores(), tables, plot, persistence=result.persistence)
    if as_json:
        print_json({"data": result.data, "study": result.name, "tables": tables, "selected_on": "test",
                    "baselines": {"persistence": result.persistence}, "seconds": result.seconds})
        return
    for exp, rows in tables.items():
        typer.echo(f"\n{exp}: test RMSE over {repeats} repeats (ours) beside the seed's published figures "
                   "(the seed's protocol: compared on the test part itself, no validation tail)")
        typer.echo(f"{rows[0]['param']:>12} {'count':>6} {'mean':>9} {'std':>8} {'min':>8} {'50%':>8} {'max':>8}"
                   f" {'seed mean':>10} {'seed std':>9}")
        for row in rows:
            r = row["rmse"]
            typer.echo(f"{row['value']!s:>12} {r['count']:6.0f} {r['mean']:9.3f} {fmt(r['std']):>8} {r['min']:8.3f} "
                       f"{r['50%']:8.3f} {r['max']:8.3f} {fmt(row['published_mean']):>10} "
                       f"{fmt(row['published_std']):>9}")
    if result.persistence is not None:
        typer.echo(f"\npersistence RMSE on the same split: {result.persistence:.3f}")
    typer.echo(f"{len(result.runs)} runs, {result.seconds:.1f} s")
