"""Commands that load one series and model it: datasets, evaluate, forecast."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from lstmcast.cli.app import app, warn_on_success
from lstmcast.cli.options import (
    ALL_MODELS, ColumnOpt, Data, DateColumnOpt, DayFirstOpt, IdColumnOpt, JsonOpt, LevelOpt, ModelOpt, PlotOpt, ProgressOpt,
    TestSizeOpt,
    at_least, forecaster_options, parse_test_size,
)
from lstmcast.cli.output import clean, fmt, label, print_json, summary
from lstmcast.errors import InputError
from lstmcast.params import BASELINE_NAMES, HORIZON, PARAMS

logger = logging.getLogger(__name__)

# Options that do not pick a model: given alone, the automatic model stays the default.
_NEUTRAL = frozenset({"seed", "members", "engine", "device", "season_length", "max_steps", "epochs"})


# ---- data ----------------------------------------------------------------------------------------


def load_series(data: str, column: str | None, date_column: str | None, dayfirst: bool | None = None):
    """Return the series to model: the chosen column(s) of DATA, the target last."""
    from lstmcast.data import load_data

    return load_data(data, column=selected_columns(data, column, date_column), date_column=date_column,
                     dayfirst=dayfirst)


def selected_columns(data: str, column: str | None, date_column: str | None):
    """Return what --column selects: one name, a list (``a,b,c``), or by default the last column."""
    if column is not None:
        names = [c.strip() for c in column.split(",")] if "," in column else [column]
        return names if len(names) > 1 else names[0]
    return _default_column(data, date_column)


def _default_column(data: str, date_column: str | None) -> str | None:
    """Return the last non-time column of a CSV file's header, or None to let load_data decide.

    Without --column the CLI forecasts the last column from its own past, so other columns (text
    notes, say) must not stop it. Anything unreadable is left to load_data, which reports it.
    """
    path = Path(data)
    try:
        if not path.is_file():
            return None
        from lstmcast.data.io import csv_columns

        header = csv_columns(path)
    except Exception:  # only picking a default here; load_data gives the real error message
        return None
    time_column = date_column if date_column is not None else (header[0] if header else None)
    values = [c for c in header if c != time_column]
    return values[-1] if values else None


# ---- models --------------------------------------------------------------------------------------


class Model:
    """The model a command runs: a baseline or a Forecaster, built from --model and the generated options."""

    def __init__(self, ctx: typer.Context, model: str | None, params: dict):
        if model is None:  # the automatic model, unless options that shape an LSTM were given
            model = "vanilla" if set(params) - _NEUTRAL else "auto"
        if model not in ALL_MODELS:
            raise InputError(f"--model must be one of {', '.join(ALL_MODELS)}; got {model!r}")
        self.name = model
        self.params = dict(params)
        if self.is_baseline and params:
            warn_on_success(f"warning: {', '.join(PARAMS[k].option for k in params)} apply to LSTM models; "
                            f"ignored by the {model} baseline")
        if not self.is_baseline:
            self.params.setdefault("seed", 0)  # the command line is reproducible by default
        self.fitted = None  # the last forecaster fitted (walk_forward fits clones)

    @property
    def is_baseline(self) -> bool:
        return self.name in BASELINE_NAMES

    def forecaster(self, callbacks: tuple = (), season: int | None = None):
        """Return an unfitted forecaster; ``callbacks`` reach every fit (also walk_forward's clones)."""
        if self.is_baseline:
            from lstmcast.evaluation import BASELINES

            baseline = BASELINES[self.name]()
            return baseline.set_params(m=season) if season and "m" in baseline.get_params() else baseline
        from lstmcast.forecaster import Forecaster

        f = _recording(Forecaster, callbacks, self)(model=self.name, **self.params)
        return f.check_params()

    def config(self, season: int) -> dict:
        """Return the parameters that define the model, for the JSON output (defaults resolved)."""
        if self.is_baseline:
            return {"model": self.name, **({"m": season} if self.name == "seasonal-naive" else {})}
        from lstmcast.forecaster import Forecaster
        from lstmcast.models.zoo import DEFAULT_LAYERS

        p = Forecaster(model=self.name, **self.params).resolved(season)
        if p["layers"] is None:
            p["layers"] = DEFAULT_LAYERS.get(p["model"], 1)
        return p

    @property
    def epochs(self) -> int:
        return 0 if self.is_baseline else self.params.get("epochs", PARAMS["epochs"].default)

    @property
    def runs(self) -> int:
        if self.is_baseline:
            return 1
        seeds = self.params.get("seed")
        if isinstance(seeds, list):
            return len(seeds)
        return self.params.get("members") or (PARAMS["members"].auto if self.name == "auto" else 1)


def _recording(base: type, extra: tuple, model: Model) -> type:
    """Return a subclass of ``base`` whose ``fit`` passes ``extra`` callbacks and records the fitted forecaster.

    walk_forward clones the forecaster (scikit-learn's clone: same class, same parameters) and
    calls plain ``fit(y)``; a subclass carries the callbacks through the clone without adding a
    parameter, so every refit advances the progress bar, and the command can report what the
    fitted model chose.
    """

    def fit(self, y, callbacks=()):
        out = base.fit(self, y, callbacks=(*callbacks, *extra))
        model.fitted = self
        return out

    return type(base.__name__, (base,), {"fit": fit, "__module__": base.__module__, "__qualname__": base.__qualname__})


def _show_progress(progress: bool | None, as_json: bool) -> bool | None:
    """Return the bar's ``enabled``: as asked, else off with --json and "on a terminal" otherwise."""
    if progress is not None:
        return progress
    return False if as_json else None


def _season(series, params: dict) -> int:
    from lstmcast.data.timeindex import season_length

    return params.get("season_length") or season_length(series.index)


def _check_plot(plot: Path | None) -> None:
    if plot is not None:
        from lstmcast.plots import check_target

        check_target(plot)


def _chosen_line(chosen: dict | None) -> str | None:
    if not chosen:
        return None
    picked = chosen.get("chosen", "?")
    tail = chosen.get("tail")
    weight = chosen.get("skeleton_weight")
    blend = "" if weight is None else f"; forecast = {1 - weight:g} LSTM + {weight:g} skeleton"
    return (f"auto chose: {picked}; LSTM look_back {chosen.get('look_back')}, units {chosen.get('units')}, "
            f"{chosen.get('members')} members, {chosen.get('epochs')} epochs{blend}"
            + (f" (chosen on a {tail}-point validation tail of the training part)" if tail else ""))


# ---- commands ------------------------------------------------------------------------------------


@app.command("datasets")
def datasets_command(as_json: JsonOpt = False) -> None:
    """List the bundled datasets: name, length and first/last period."""
    from lstmcast.data import datasets
    from lstmcast.data.timeindex import season_length

    rows = []
    for name in datasets.names():
        y = datasets.load(name)
        rows.append({
            "name": name, "column": str(y.name), "length": len(y), "first": label(y.index[0]),
            "last": label(y.index[-1]), "frequency": getattr(y.index, "freqstr", None),
            "season_length": season_length(y.index),
        })
    if as_json:
        print_json({"datasets": rows})
        return
    typer.echo(f"{'name':<10} {'column':<12} {'length':>6}  {'first':<10} {'last':<10} {'season':>6}")
    for row in rows:
        typer.echo(f"{row['name']:<10} {row['column']:<12} {row['length']:>6}  {row['first']:<10} {row['last']:<10} "
                   f"{row['season_length']:>6}")


@app.command("evaluate")
@forecaster_options()
def evaluate_command(
    ctx: typer.Context,
    data: Data,
    model: ModelOpt = None,
    column: ColumnOpt = None,
    date_column: DateColumnOpt = None,
    dayfirst: DayFirstOpt = None,
    id_column: IdColumnOpt = None,
    test_size: TestSizeOpt = "12",
    refit: Annotated[Optional[int], typer.Option(
        "--refit", help="Refit every K origins (default: fit once).", show_default=False)] = None,
    horizon: Annotated[str, typer.Option("--horizon", help="Steps forecast from each origin [an integer >= 1].")] = "1",
    stride: Annotated[int, typer.Option("--stride", help="Steps between forecast origins.")] = 1,
    level: LevelOpt = None,
    plot: PlotOpt = None,
    as_json: JsonOpt = False,
    progress: ProgressOpt = None,
    params: dict | None = None,
) -> None:
    """Walk-forward evaluation on the last --test-size observations, against the baselines on the same folds.

    One step ahead from every test position by default; --horizon H --stride S forecasts H steps
    from every S-th origin; --level adds conformal intervals, scored by coverage, width and
    interval (Winkler) score.
    """
    spec = Model(ctx, model, params or {})
    wanted = parse_test_size(test_size)
    if refit is not None:
        at_least(refit, "--refit", 0)
    refit = refit or None
    steps = HORIZON.parse(horizon, "--horizon")
    at_least(stride, "--stride", 1)
    levels = _levels(level)
    _check_plot(plot)
    if id_column is not None:
        return _evaluate_panel(spec, data, id_column, column, date_column, wanted, steps, stride, as_json, plot, levels)

    series = load_series(data, column, date_column, dayfirst)
    from lstmcast.evaluation import BASELINES, resolve_test_size, walk_forward
    from lstmcast.progress import epoch_callbacks, progress_bar

    n = len(series)
    n_test = resolve_test_size(n, wanted)
    season = _season(series, spec.params)
    logger.info("%s: %d observations, the last %d for testing, model %s", data, n, n_test, spec.name)
    # every baseline runs on the same folds; one that needs more history than there is is skipped
    baselines = [name for name in BASELINE_NAMES
                 if _baseline_fits(BASELINES[name], season, n - n_test)]
    fits = 1 if refit is None else math.ceil(n_test / refit)
    with progress_bar(total=spec.epochs * fits, desc=spec.name,
                      enabled=False if spec.is_baseline else _show_progress(progress, as_json)) as bar:
        forecaster = spec.forecaster(callbacks=epoch_callbacks(bar), season=season)
        if not spec.is_baseline:
            forecaster.check_data(n - n_test, what=f"the training part (all but the last {n_test} of {n})")
        started = time.perf_counter()  # the evaluation itself: training and predicting, not imports or I/O
        result = walk_forward(forecaster, series, test_size=n_test, refit=refit, baselines=baselines, m=season,
                              horizon=steps, stride=stride, level=levels)
        seconds = time.perf_counter() - started

    import numpy as np

    # one RMSE per repeat (ensemble member); a missing score becomes NaN here and null in JSON
    scores = result.member_metrics["rmse"] if result.member_metrics is not None else result.rmse
    runs = np.atleast_1d(np.asarray(scores, dtype=np.float64)).tolist()
    _check_finite(runs, "RMSE")
    baseline_rmse = {name: clean(s["rmse"]) for name, s in result.baselines.items()}
    chosen = getattr(spec.fitted, "chosen_", None)

    if plot is not None:
        from lstmcast.evaluation.walk_forward import target_series
        from lstmcast.plots import plot_evaluation

        plot_evaluation(
            target_series(forecaster, series), result.predictions, plot, label=spec.name,
            baseline=None if spec.name == "persistence" else result.baseline_predictions.get("persistence"),
            members=result.member_predictions,
            folds=result.folds if (levels or steps > 1 or stride > 1) else None,
            title=f"{data}: walk-forward {'one-step' if steps == 1 else f'{steps}-step, stride {stride}'} "
                  f"over the last {n_test} observations",
        )

    out = {
        "data": data, "config": {**spec.config(season), "refit": refit}, "test_size": n_test,
        "repeats": len(runs), "rmse": summary(runs), "ensemble_rmse": clean(result.rmse),
        "baselines": baseline_rmse, "seconds": round(seconds, 3),
    }
    if chosen is not None:
        out["chosen"] = chosen
    if levels:
        from lstmcast.evaluation import level_label

        for key in ("coverage", "width", "winkler"):
            out[key] = {level_label(lv): clean(result.intervals[lv][key]) for lv in levels}
    if steps > 1 or levels:
        out["horizon"], out["stride"] = steps, stride
        out["by_step"] = clean(result.by_step.reset_index().to_dict(orient="records"))
    if as_json:
        print_json(out)
        return
    what = "one-step" if steps == 1 else f"{steps}-step (origins every {stride})"
    typer.echo(f"{data}: walk-forward {what} RMSE over the last {n_test} of {n} observations")
    typer.echo(f"{'model':<16} {'rmse':>10} {'std':>9} {'min':>10} {'max':>10} {'runs':>5}")
    s = out["rmse"]
    typer.echo(f"{spec.name:<16} {fmt(s['mean']):>10} {fmt(s['std']):>9} {fmt(s['min']):>10} {fmt(s['max']):>10} "
               f"{len(runs):>5}")
    if len(runs) > 1:
        typer.echo(f"{'  ensemble mean':<16} {fmt(out['ensemble_rmse']):>10}")
    for name, value in baseline_rmse.items():
        if name != spec.name:
            typer.echo(f"{name:<16} {fmt(value):>10}")
    skipped = [name for name in BASELINE_NAMES if name not in baseline_rmse]
    if skipped:
        typer.echo(f"(skipped, series too short: {', '.join(skipped)})")
    if "by_step" in out:
        import pandas as pd

        with pd.option_context("display.width", 160, "display.max_columns", 30):
            typer.echo("by horizon step:\n" + result.by_step.round(3).to_string())
    if levels:
        for lv in levels:
            key = level_label(lv)
            typer.echo(f"{key}% intervals: coverage {fmt(out['coverage'][key])}%, mean width "
                       f"{fmt(out['width'][key])}, interval score {fmt(out['winkler'][key])}")
    if chosen is not None:
        typer.echo(_chosen_line(chosen))
    if plot is not None:
        typer.echo(f"plot: {plot}")
    typer.echo(f"{seconds:.2f} s")


def _levels(level: list[float] | None):
    """Return the --level values checked (each in (0, 100)), or None."""
    if not level:
        return None
    from lstmcast.evaluation import check_levels

    return list(check_levels(level))


def _label_of(level) -> str:
    from lstmcast.evaluation import level_label

    return level_label(level)


def _baseline_fits(cls, season: int, n_train: int) -> bool:
    baseline = cls()
    if "m" in baseline.get_params():
        baseline.set_params(m=season)
    return baseline.min_train_size() <= n_train


def _check_finite(values, what: str) -> None:
    """Raise TrainingDivergedError when a reported figure is not finite (never a quiet null)."""
    import numpy as np

    from lstmcast.errors import TrainingDivergedError

    if not np.isfinite(np.asarray(values, dtype=np.float64)).all():
        raise TrainingDivergedError(
            f"the {what} is not finite: the model diverged; lower learning_rate or epochs, or use activation tanh"
        )


@app.command("forecast")
@forecaster_options()
def forecast_command(
    ctx: typer.Context,
    data: Annotated[Optional[str], typer.Argument(
        metavar="[DATA]", show_default=False,
        help="A bundled dataset name or a CSV path; optional with --model-file (then the saved model's own data).")] = None,
    horizon: Annotated[str, typer.Option("--horizon", help=HORIZON.help + f" [{HORIZON.describe()}]")] = "1",
    model: ModelOpt = None,
    column: ColumnOpt = None,
    date_column: DateColumnOpt = None,
    dayfirst: DayFirstOpt = None,
    id_column: IdColumnOpt = None,
    save: Annotated[Optional[Path], typer.Option(
        "--save", help="Save the fitted model to this file (load it with --model-file).", show_default=False)] = None,
    model_file: Annotated[Optional[Path], typer.Option(
        "--model-file", help="Forecast with a saved model instead of fitting one (DATA, if given, is the history "
        "to forecast from).", show_default=False)] = None,
    level: LevelOpt = None,
    plot: PlotOpt = None,
    as_json: JsonOpt = False,
    progress: ProgressOpt = None,
    params: dict | None = None,
) -> None:
    """Fit on all of DATA (or load --model-file) and forecast the next --horizon steps."""
    steps = HORIZON.parse(horizon, "--horizon")
    levels = _levels(level)
    _check_plot(plot)
    if model_file is not None and (params or model is not None):
        raise InputError("--model-file forecasts with the saved model's own configuration; drop the model options")
    if model_file is not None and save is not None:
        raise InputError("--save keeps a model this command fits; --model-file forecasts with one already saved: "
                         "drop --save (or copy the file)")
    if id_column is not None:
        if plot is not None:
            raise InputError("--plot applies to one series; drop it with --id-column")
        if model_file is not None:
            return _forecast_saved_panel(model_file, data, id_column, steps, as_json, levels,
                                         given=[flag for flag, value in (("--column", column), ("--date-column", date_column),
                                                                         ("--dayfirst", dayfirst)) if value is not None])
        if data is None:
            raise InputError("forecast needs DATA with --id-column")
        return _forecast_panel(Model(ctx, model, params or {}), data, id_column, column, date_column, steps, as_json,
                               levels, save)
    if model_file is not None:
        forecaster, series, spec_name, config = _loaded(model_file, data, column, date_column, dayfirst)
    else:
        if data is None:
            raise InputError("forecast needs DATA (a dataset name or CSV path), or --model-file")
        spec = Model(ctx, model, params or {})
        series = load_series(data, column, date_column, dayfirst)
        season = _season(series, spec.params)
        from lstmcast.progress import epoch_callbacks, progress_bar

        logger.info("%s: fitting %s on %d observations", data, spec.name, len(series))
        with progress_bar(total=spec.epochs, desc=spec.name,
                          enabled=False if spec.is_baseline else _show_progress(progress, as_json)) as bar:
            forecaster = spec.forecaster(season=season)
            if spec.is_baseline:
                forecaster.fit(series)
            else:
                forecaster.fit(series, callbacks=epoch_callbacks(bar))
        if save is not None:
            if spec.is_baseline:
                raise InputError(f"--save keeps LSTM models; the {spec.name} baseline has nothing to save")
            from lstmcast.persist import save as save_model

            save_model(forecaster, save)
        spec_name, config = spec.name, {**spec.config(season), "repeats": spec.runs}
    history_kw = {} if model_file is None or data is None else {"y": series}
    bands = None
    if levels:
        if getattr(forecaster, "network_", None) is None and not hasattr(forecaster, "fit"):
            raise InputError("--level needs a forecaster that gives intervals")
        frame = forecaster.forecast(steps, level=levels, **history_kw)
        future = frame["forecast"].rename(frame.attrs.get("name"))
        future.attrs["method"] = frame.attrs.get("method", "direct")
        bands = {lv: (frame[f"lower_{_label_of(lv)}"], frame[f"upper_{_label_of(lv)}"]) for lv in levels}
    else:
        future = forecaster.forecast(steps, **history_kw)
    _check_finite(future.to_numpy(), "forecast")
    method = future.attrs.get("method", "direct")  # a baseline extends its fit directly
    chosen = getattr(forecaster, "chosen_", None)

    if plot is not None:
        from lstmcast.evaluation.walk_forward import target_series
        from lstmcast.plots import plot_forecast

        members = None
        if getattr(forecaster, "network_", None) is not None and forecaster.network_.members > 1:
            members = forecaster.forecast(steps, return_members=True, **({} if data is None or model_file is None
                                                                          else {"y": series}))
        history = series if series is not None else forecaster.values_[:, forecaster.target_idx_[0]]
        if not hasattr(history, "index"):
            import pandas as pd

            history = pd.Series(history, index=forecaster.index_, name=future.name)
        plot_forecast(target_series(forecaster, history), future, plot, members=members, bands=bands,
                      label=f"{spec_name} ({method})", title=f"{data or model_file}: forecast of {steps} steps")

    index = [label(t) for t in future.index]
    values = clean(future.to_numpy())
    if as_json:
        out = {"data": data if data is not None else str(model_file), "config": {**config, "horizon": steps},
               "index": index, "forecast": values, "method": method}
        if chosen is not None:
            out["chosen"] = chosen
        if bands is not None:
            out["lower"] = {_label_of(lv): clean(lo.to_numpy()) for lv, (lo, _) in bands.items()}
            out["upper"] = {_label_of(lv): clean(hi.to_numpy()) for lv, (_, hi) in bands.items()}
        if save is not None:
            out["saved"] = str(save)
        print_json(out)
        return
    typer.echo(f"{data or model_file}: {spec_name} forecast of {steps} steps ({method})")
    width = max(len("period"), *(len(i) for i in index))
    head = "".join(f"  {'lower_' + _label_of(lv):>12}  {'upper_' + _label_of(lv):>12}" for lv in (bands or {}))
    typer.echo(f"{'period':<{width}}  {'forecast':>12}{head}")
    for i, (when, value) in enumerate(zip(index, values)):
        cells = "".join(f"  {fmt(float(lo.iloc[i])):>12}  {fmt(float(hi.iloc[i])):>12}" for lo, hi in (bands or {}).values())
        typer.echo(f"{when:<{width}}  {fmt(value):>12}{cells}")
    if chosen is not None:
        typer.echo(_chosen_line(chosen))
    if save is not None:
        typer.echo(f"saved: {save}")
    if plot is not None:
        typer.echo(f"plot: {plot}")


# ---- many series (--id-column) -------------------------------------------------------------------


def _panel_model(spec: Model, data: str, id_column: str, column, date_column):
    """Return (PanelForecaster, its input) for a long-format CSV: one global network, each series its own transforms."""
    if spec.is_baseline:
        raise InputError(f"--id-column trains one LSTM across all series; the {spec.name} baseline is per series")
    from lstmcast.data.io import csv_columns
    from lstmcast.forecaster import Forecaster
    from lstmcast.panel import PanelForecaster

    path = Path(data)
    if not path.is_file():
        raise InputError(f"--id-column needs a CSV file in long format (id, time, value); got {data!r}")
    header = csv_columns(path)
    if id_column not in header:
        raise InputError(f"no column {id_column!r} for --id-column in {data}; columns are {header}")
    rest = [c for c in header if c != id_column]
    time_column = date_column or (rest[0] if rest else None)
    value_column = column or (rest[-1] if len(rest) > 1 else None)
    if time_column is None or value_column is None or time_column == value_column:
        raise InputError(f"{data} needs an id, a time and a value column; columns are {header}")
    template = Forecaster(model=spec.name, **spec.params).check_params()
    panel = PanelForecaster(template, id_column=id_column, time_column=time_column, value_column=value_column)
    return panel, path


def _evaluate_panel(spec, data, id_column, column, date_column, wanted, steps, stride, as_json, plot, levels) -> None:
    if plot is not None:
        raise InputError("--plot applies to one series; drop it with --id-column")
    from lstmcast.panel import panel_walk_forward

    panel, source = _panel_model(spec, data, id_column, column, date_column)
    started = time.perf_counter()
    result = panel_walk_forward(panel, source, test_size=wanted, horizon=steps, stride=stride, level=levels)
    seconds = time.perf_counter() - started
    per = result.per_series
    out = {
        "data": data, "config": {**spec.config(1), "id_column": id_column, "horizon": steps, "stride": stride},
        "series": {str(k): {"n": int(r["n"]), "rmse": clean(r["rmse"]), "baselines": {"persistence": clean(
            r["persistence_rmse"])}} for k, r in per.iterrows()},
        "rmse": clean(result.rmse), "baselines": {"persistence": clean(result.persistence_rmse)},
        "geomean_ratio_to_persistence": clean(result.geomean_ratio), "seconds": round(seconds, 3),
    }
    for lv in levels or ():
        key = _label_of(lv)
        for name in ("coverage", "width", "winkler"):
            out.setdefault(name, {})[key] = clean(result.intervals[lv][name])
            for k, r in per.iterrows():
                out["series"][str(k)].setdefault(name, {})[key] = clean(r[f"{name}_{key}"])
    if as_json:
        print_json(out)
        return
    typer.echo(f"{data}: walk-forward RMSE per series ({len(per)} series, one global {spec.name} network)")
    typer.echo(f"{'series':<20} {'n':>5} {'rmse':>12} {'persistence':>12}")
    for key, row in per.iterrows():
        typer.echo(f"{str(key):<20} {int(row['n']):>5} {fmt(clean(row['rmse'])):>12} "
                   f"{fmt(clean(row['persistence_rmse'])):>12}")
    typer.echo(f"{'all (pooled)':<20} {int(per['n'].sum()):>5} {fmt(out['rmse']):>12} "
               f"{fmt(out['baselines']['persistence']):>12}")
    for lv in levels or ():
        key = _label_of(lv)
        typer.echo(f"{key}% intervals (all series): coverage {fmt(out['coverage'][key])}%, mean width "
                   f"{fmt(out['width'][key])}, interval score {fmt(out['winkler'][key])}")
    typer.echo(f"{seconds:.2f} s")


def _forecast_panel(spec, data, id_column, column, date_column, steps, as_json, levels=None, save=None) -> None:
    panel, source = _panel_model(spec, data, id_column, column, date_column)
    frame = panel.fit(source).forecast(steps, level=levels)
    if save is not None:  # after forecasting, so that calibrated bands are kept in the file
        from lstmcast.persist import save as save_model

        save_model(panel, save)
    config = {**spec.config(1), "id_column": id_column, "horizon": steps}
    _print_panel(frame, panel, data, config, f"{spec.name} forecast", steps, as_json, levels, save)


def _forecast_saved_panel(model_file: Path, data, id_column: str, steps: int, as_json: bool, levels,
                          given: list[str] = ()) -> None:
    """Forecast every series of a saved panel, or (DATA) new histories of its ids or of new ids.

    New data is read with the saved panel's own column names, so ``given`` (the reading options
    passed, by flag) is refused rather than silently ignored.
    """
    from lstmcast.panel import PanelForecaster
    from lstmcast.persist import load

    panel = load(model_file)
    if not isinstance(panel, PanelForecaster):
        raise InputError(f"{model_file} holds a single-series model; drop --id-column to forecast with it")
    if id_column != panel.id_column:
        raise InputError(f"{model_file} was fitted with id column {panel.id_column!r}; got --id-column {id_column!r}")
    if given:
        raise InputError(f"{', '.join(given)}: a saved panel reads new data by its own columns ({panel.id_column}, "
                         f"{panel.time_column}, {panel.value_column}); rename the CSV's columns and drop {given[0]}")
    source = None
    if data is not None:
        source = Path(data)
        if not source.is_file():
            raise InputError(f"--id-column needs a CSV file in long format (id, time, value); got {data!r}")
    frame = panel.forecast(steps, level=levels, data=source)
    lead = next(iter(panel.forecasters_.values()))
    config = {**lead.resolved(lead.season_length_), "id_column": id_column, "horizon": steps,
              "model_file": str(model_file)}
    _print_panel(frame, panel, data if data is not None else str(model_file), config, f"{lead.model} forecast",
                 steps, as_json, levels, None)


def _print_panel(frame, panel, data: str, config: dict, what: str, steps: int, as_json: bool, levels, save) -> None:
    """Print a panel's long forecast frame: one JSON entry per id (index, forecast, lower, upper), or lines."""
    id_column = panel.id_column
    series = {}
    for key, part in frame.groupby(id_column, sort=False):
        entry = {"index": [label(t) for t in part[panel.time_column]], "forecast": clean(part["forecast"].to_numpy())}
        _check_finite(part["forecast"].to_numpy(), f"forecast of series {key!r}")
        if levels:
            entry["lower"] = {_label_of(lv): clean(part[f"lower_{_label_of(lv)}"].to_numpy()) for lv in levels}
            entry["upper"] = {_label_of(lv): clean(part[f"upper_{_label_of(lv)}"].to_numpy()) for lv in levels}
        series[str(key)] = entry
    if as_json:
        out = {"data": data, "config": config, "series": series}
        if save is not None:
            out["saved"] = str(save)
        print_json(out)
        return
    network = "one global network" if panel.global_model else "one network per series"
    typer.echo(f"{data}: {what} of {steps} steps for {len(series)} series ({network})")
    for key, entry in series.items():
        cells = []
        for i, (t, v) in enumerate(zip(entry["index"], entry["forecast"])):
            bands = "".join(f" [{fmt(entry['lower'][lv][i])}, {fmt(entry['upper'][lv][i])}]"
                            for lv in entry.get("lower", {}))
            cells.append(f"{t} {fmt(v)}{bands}")
        typer.echo(f"{key}: " + ", ".join(cells))
    if levels:
        typer.echo("intervals: " + ", ".join(f"{_label_of(lv)}%" for lv in levels) + " [lower, upper] after each forecast")
    if save is not None:
        typer.echo(f"saved: {save}")


def _loaded(model_file: Path, data, column, date_column, dayfirst):
    """Return (forecaster, history or None, model name, config) for a forecast from a saved model."""
    from lstmcast.persist import load

    forecaster = load(model_file)
    if not hasattr(forecaster, "network_") or not hasattr(forecaster, "values_"):  # a panel's file
        raise InputError(f"{model_file} holds a model of many series; pass --id-column "
                         f"{getattr(forecaster, 'id_column', 'unique_id')} to forecast with it")
    series = load_series(data, column, date_column, dayfirst) if data is not None else None
    config = {**forecaster.resolved(forecaster.season_length_), "model_file": str(model_file)}
    return forecaster, series, forecaster.model, config
