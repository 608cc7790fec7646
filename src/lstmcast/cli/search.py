"""The search command: an Optuna search over a space of LSTM parameters, kept in the study store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lstmcast.cli.app import app
from lstmcast.cli.forecasting import selected_columns
from lstmcast.cli.options import (
    ColumnOpt, Data, DateColumnOpt, JsonOpt, StoreOpt, TestSizeOpt, at_least, parse_test_size,
)
from lstmcast.cli.output import fmt, print_json
from lstmcast.cli.studies import ExecutorOpt, AddressOpt, WorkersOpt, _open_store, _parse_validation_tail

SpaceOpt = Annotated[Optional[list[str]], typer.Option(
    "--space", help="NAME=LOW..HIGH or NAME=A,B,C (repeatable): a searched parameter; default: look-back relative "
    "to the season, units, layers, epochs, learning rate, dropout.", show_default=False)]


@app.command("search")
def search_command(
    data: Data,
    trials: Annotated[int, typer.Option("--trials", help="Trials to finish (pruned ones count).")] = 50,
    space: SpaceOpt = None,
    repeats: Annotated[int, typer.Option("--repeats", help="Models per trial, trained together as one ensemble.")] = 10,
    test_size: TestSizeOpt = "12",
    validation_tail: Annotated[Optional[str], typer.Option(
        "--validation-tail", help="Validation tail that scores trials (default: as long as the test part).",
        show_default=False)] = None,
    column: ColumnOpt = None,
    date_column: DateColumnOpt = None,
    store: StoreOpt = Path("lstmcast.db"),
    name: Annotated[Optional[str], typer.Option("--name", help="Search name (default: DATA-search); "
                                                "the same name resumes.", show_default=False)] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the TPE sampler.")] = 0,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = "local",
    address: AddressOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search a space with Optuna (TPE), each trial an ensemble scored on validation; resumable."""
    from lstmcast.experiments.search import search

    at_least(trials, "--trials", 1)
    at_least(repeats, "--repeats", 1)
    result = search(data, trials=trials, space=space or None, repeats=repeats, store=_open_store(store), name=name,
                    test_size=parse_test_size(test_size), validation_tail=_parse_validation_tail(validation_tail),
                    column=selected_columns(data, column, date_column), date_column=date_column,
                    workers=workers, executor=executor, address=address, seed=seed)
    if as_json:
        print_json(result.to_json())
        return
    states = [t["state"] for t in result.trials]
    typer.echo(f"search {result.name} on {data} (store {store}; optuna-dashboard sqlite:///{store}): "
               f"{states.count('COMPLETE')} complete, {states.count('PRUNED')} pruned, {states.count('FAIL')} failed")
    best = result.best
    if best is not None:
        typer.echo(f"best (lowest mean validation RMSE over {repeats} members): trial {best['number']} {best['params']}")
        typer.echo(f"  validation RMSE {fmt(best['validation_rmse'])}; test RMSE {fmt(best['test_rmse'])} "
                   "(reported only, never used to choose)")
    typer.echo(f"{result.seconds:.1f} s")
