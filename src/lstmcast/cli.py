"""The lstmcast command line: the only module that prints.

    lstmcast datasets
    lstmcast evaluate shampoo --model persistence --test-size 12 --json
    lstmcast evaluate airline --model stacked --look-back 12 --repeats 10
    lstmcast forecast airline --model stacked --horizon 12 --plot forecast.png

With ``--json`` stdout holds exactly one JSON object (the contract in DESIGN.md); progress and
logs go to stderr. Bad input of any kind ends with one line ``error: <message>`` on stderr and
exit status 2, never a traceback. pandas, torch and matplotlib are imported inside the commands
that need them, so ``lstmcast --help`` answers at once.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer
from typer.core import TyperGroup

from lstmcast import __version__
from lstmcast.errors import InputError, TrainingDivergedError

# The registries live in modules that import torch and scikit-learn; these copies keep the CLI
# import light, and tests/cli checks that they match BASELINES and models.zoo.ARCHITECTURES.
BASELINE_NAMES = ("persistence", "seasonal-naive", "mean", "drift")
ARCHITECTURES = ("vanilla", "stacked", "bidirectional", "cnn-lstm", "conv-lstm", "vector", "encoder-decoder")
MODELS = BASELINE_NAMES + ARCHITECTURES
SCALES = ("minmax", "minmax-sym", "standard", "none")
ACTIVATIONS = ("tanh", "relu")
SEASON = 12  # season length of the seasonal-naive baseline and of MASE (the seeds' monthly data)

# Options that only an LSTM reads: given with a baseline model they are reported as ignored.
LSTM_OPTIONS = {
    "look_back": "--look-back", "steps_out": "--steps-out", "units": "--units", "layers": "--layers",
    "activation": "--activation", "dropout": "--dropout", "epochs": "--epochs", "batch_size": "--batch-size",
    "learning_rate": "--learning-rate", "stateful": "--stateful", "difference": "--difference",
    "scale": "--scale", "seed": "--seed", "repeats": "--repeats",
}

Model = Literal[MODELS]  # type: ignore[valid-type]
Scale = Literal[SCALES]  # type: ignore[valid-type]
Activation = Literal[ACTIVATIONS]  # type: ignore[valid-type]

logger = logging.getLogger(__name__)


class _OneLineErrors(TyperGroup):
    """Typer's command group, reporting every expected failure as one stderr line.

    Usage errors (a bad option value, a missing argument) are Typer's own and keep their exit
    status 2, but print as ``error: ...`` like the library's InputError instead of a framed box,
    so scripts can rely on one line. Only ``standalone_mode`` (the console script and CliRunner)
    is changed; programmatic calls with ``standalone_mode=False`` see the exceptions.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = sys.argv[1:] if args is None else list(args)
        if not standalone_mode or not args:  # no arguments at all: let Typer print the help
            return super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=standalone_mode, **extra)
        try:
            code = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=False, **extra)
        except (InputError, TrainingDivergedError) as exc:
            _fail(str(exc), 2)
        except typer.TyperException as exc:  # click's UsageError, BadParameter, ...
            ctx = getattr(exc, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            _fail(exc.format_message() + hint, getattr(exc, "exit_code", 1))
        except typer.Abort:
            _fail("aborted", 1)
        sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int):
    """Print ``error: message`` as one line on stderr and exit with ``code``."""
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    sys.exit(code)


app = typer.Typer(
    cls=_OneLineErrors,
    name="lstmcast",
    help="Forecast time series with LSTM networks: evaluate against baselines, forecast, tune, reproduce the seeds.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def main() -> None:
    """Run the command line (the ``lstmcast`` console script)."""
    app(prog_name="lstmcast")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lstmcast {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens to stderr.")] = False,
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
) -> None:
    """Forecast time series with LSTM networks."""
    if verbose:
        _log_to_stderr(logging.INFO)


class _StderrHandler(logging.Handler):
    """Write log records to whatever sys.stderr is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging must never break a command
            self.handleError(record)


def _log_to_stderr(level: int) -> None:
    """Send the package's log records (``lstmcast.*``) at ``level`` and above to stderr.

    Without --verbose logging is left alone: Python's last-resort handler already prints
    warnings to stderr, and a process that embeds the app keeps its own configuration.
    """
    package = logging.getLogger("lstmcast")
    if not any(isinstance(h, _StderrHandler) for h in package.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        package.addHandler(handler)
    package.setLevel(level)


# ---- options shared by evaluate and forecast ---------------------------------------------------

Data = Annotated[str, typer.Argument(metavar="DATA", show_default=False,
                                     help="A bundled dataset name (see `lstmcast datasets`) or a CSV path.")]
ModelOpt = Annotated[Model, typer.Option(
    "--model", "-m", metavar="MODEL",
    help=f"A baseline ({', '.join(BASELINE_NAMES)}) or an LSTM architecture ({', '.join(ARCHITECTURES)}).")]
ColumnOpt = Annotated[Optional[str], typer.Option(
    "--column", help="Value column of a CSV file (default: the last); several as a,b,c use all as inputs "
    "and forecast the last.", show_default=False)]
DateColumnOpt = Annotated[Optional[str], typer.Option(
    "--date-column", help="Time column of a CSV file (default: the first).", show_default=False)]
LookBackOpt = Annotated[int, typer.Option("--look-back", help="Past observations fed to the network.")]
StepsOutOpt = Annotated[int, typer.Option("--steps-out", help="Steps the network emits at once.")]
UnitsOpt = Annotated[int, typer.Option("--units", help="LSTM units per layer.")]
LayersOpt = Annotated[Optional[int], typer.Option(
    "--layers", help="LSTM layers (default: 2 for stacked and vector, else 1).", show_default=False)]
ActivationOpt = Annotated[Activation, typer.Option("--activation", metavar="tanh|relu",
                                                   help="Activation of the LSTM cell.")]
DropoutOpt = Annotated[float, typer.Option("--dropout", help="Dropout rate in [0, 1).")]
EpochsOpt = Annotated[int, typer.Option("--epochs", help="Training epochs.")]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", help="Samples per training batch.")]
LearningRateOpt = Annotated[float, typer.Option("--learning-rate", help="Adam's learning rate.")]
StatefulOpt = Annotated[bool, typer.Option("--stateful", help="Carry the LSTM state across batches (Keras' stateful).")]
DifferenceOpt = Annotated[int, typer.Option("--difference", help="Difference the series at this lag (0 = none).")]
ScaleOpt = Annotated[Scale, typer.Option("--scale", metavar="KIND",
                                         help=f"Scaling fitted on the training part: {', '.join(SCALES)}.")]
RepeatsOpt = Annotated[int, typer.Option("--repeats", help="Networks trained together as one ensemble, seeds SEED, SEED+1, ...")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed of the first repeat.")]
PlotOpt = Annotated[Optional[Path], typer.Option("--plot", help="Write a PNG figure to this path.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout and nothing else.")]
ProgressOpt = Annotated[Optional[bool], typer.Option(
    "--progress/--no-progress", help="Show a progress bar on stderr (default: on a terminal, and never with --json).",
    show_default=False)]


@dataclass(frozen=True)
class ModelSettings:
    """The model options of one command, checked once and turned into a forecaster."""

    model: str
    look_back: int
    steps_out: int
    units: int
    layers: int | None
    activation: str
    dropout: float
    epochs: int
    batch_size: int
    learning_rate: float
    stateful: bool
    difference: int
    scale: str
    repeats: int
    seed: int

    @property
    def is_baseline(self) -> bool:
        return self.model in BASELINE_NAMES

    def check(self) -> "ModelSettings":
        """Return self, or raise InputError naming the first option out of range."""
        for name, minimum in (("look_back", 1), ("steps_out", 1), ("units", 1), ("epochs", 1),
                              ("batch_size", 1), ("repeats", 1), ("difference", 0), ("seed", 0)):
            _at_least(getattr(self, name), LSTM_OPTIONS[name], minimum)
        if self.layers is not None:
            _at_least(self.layers, "--layers", 1)
        if self.seed >= 2**31:
            raise InputError(f"--seed must be below 2**31 = {2**31}; got {self.seed}")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"--dropout must be in [0, 1); got {self.dropout}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise InputError(f"--learning-rate must be a positive number; got {self.learning_rate}")
        return self

    def min_observations(self) -> int:
        """Return the fewest training observations an LSTM fit needs."""
        return self.difference + self.look_back + self.steps_out

    def check_length(self, n: int, n_test: int = 0) -> None:
        """Raise InputError when a series of ``n`` observations is too short for these settings."""
        if self.is_baseline:
            return  # baselines state their own needs (walk_forward and fit check them)
        need = self.min_observations() + n_test
        if n < need:
            parts = [str(self.look_back), f"steps_out {self.steps_out}"]
            if self.difference:
                parts.append(f"difference {self.difference}")
            if n_test:
                parts.append(f"test {n_test}")
            raise InputError(
                f"look_back={self.look_back} needs at least {need} observations ({' + '.join(parts)}); "
                f"the series has {n}"
            )

    def forecaster(self, callbacks: tuple = ()):
        """Return an unfitted forecaster: a baseline, or an LSTM ensemble of ``repeats`` members.

        ``callbacks`` are trainer epoch callbacks, attached to every fit of the LSTM (also the
        fits that walk_forward makes on its own clones).
        """
        if self.is_baseline:
            return _baseline(self.model)
        from lstmcast.forecaster import Forecaster

        cls = _with_callbacks(Forecaster, callbacks) if callbacks else Forecaster
        return cls(
            model=self.model, look_back=self.look_back, steps_out=self.steps_out, units=self.units,
            layers=self.layers, activation=self.activation, dropout=self.dropout, epochs=self.epochs,
            batch_size=self.batch_size, learning_rate=self.learning_rate, stateful=self.stateful,
            difference=self.difference, scale=self.scale, members=self.repeats, seed=self.seed,
        )

    def config(self) -> dict[str, Any]:
        """Return the parameters that define the model, for the JSON output."""
        if self.is_baseline:
            return {"model": self.model, **({"m": SEASON} if self.model == "seasonal-naive" else {})}
        return {
            "model": self.model, "look_back": self.look_back, "steps_out": self.steps_out, "units": self.units,
            "layers": self.resolved_layers(), "activation": self.activation, "dropout": self.dropout,
            "epochs": self.epochs, "batch_size": self.batch_size, "learning_rate": self.learning_rate,
            "stateful": self.stateful, "difference": self.difference, "scale": self.scale, "seed": self.seed,
        }

    def resolved_layers(self) -> int:
        if self.layers is not None:
            return self.layers
        from lstmcast.models.zoo import DEFAULT_LAYERS

        return DEFAULT_LAYERS.get(self.model, 1)

    @property
    def runs(self) -> int:
        return 1 if self.is_baseline else self.repeats


def _baseline(name: str):
    """Return the unfitted baseline ``name``, with the CLI's season length where it has one."""
    from lstmcast.evaluation import BASELINES

    baseline = BASELINES[name]()
    return baseline.set_params(m=SEASON) if "m" in baseline.get_params() else baseline


def _with_callbacks(base: type, extra: tuple) -> type:
    """Return a subclass of ``base`` whose ``fit`` always passes the ``extra`` callbacks to the trainer.

    walk_forward clones the forecaster (scikit-learn's clone: same class, same parameters) and
    calls plain ``fit(y)``; a subclass carries the callbacks through the clone without adding a
    parameter, so every refit advances the progress bar.
    """

    def fit(self, y, callbacks=()):
        return base.fit(self, y, callbacks=(*callbacks, *extra))

    return type(base.__name__, (base,), {"fit": fit, "__module__": base.__module__, "__qualname__": base.__qualname__})


def _at_least(value: int, option: str, minimum: int) -> None:
    if value < minimum:
        raise InputError(f"{option} must be at least {minimum}; got {value}")


def _settings(ctx: typer.Context, **values) -> ModelSettings:
    """Return the checked settings, warning on stderr about LSTM options a baseline ignores."""
    settings = ModelSettings(**values).check()
    if settings.is_baseline:
        given = [flag for name, flag in LSTM_OPTIONS.items() if _given(ctx, name)]
        if given:
            typer.echo(f"warning: {', '.join(given)} apply to LSTM models; ignored by the {settings.model} baseline",
                       err=True)
    return settings


def _given(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


# ---- data ----------------------------------------------------------------------------------------


def _load(data: str, column: str | None, date_column: str | None):
    """Return the series to model: the chosen column(s) of DATA, the target last."""
    from lstmcast.data import load_data

    return load_data(data, column=_selected_columns(data, column, date_column), date_column=date_column)


def _selected_columns(data: str, column: str | None, date_column: str | None):
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
        import pandas as pd

        header = [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except Exception:  # only picking a default here; load_data gives the real error message
        return None
    time_column = date_column if date_column is not None else (header[0] if header else None)
    values = [c for c in header if c != time_column]
    return values[-1] if values else None


def _parse_test_size(text: str) -> int | float:
    """Return --test-size as a count (an integer string) or a fraction (any other number)."""
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise InputError(
            f"--test-size must be a count such as 12 or a fraction such as 0.2; got {text!r}"
        ) from None


def _label(value) -> str:
    """Return a time label as users write it: '1961-01' for a month, a date without midnight's clock."""
    import pandas as pd

    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.strftime("%Y-%m-%d")
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def _number(value) -> float | None:
    """Return ``value`` as a JSON-safe float, None when it is missing or not finite."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _summary(runs: list[float]) -> dict[str, Any]:
    """Return mean, std (sample, 0 for one run), min, max and the runs themselves."""
    import numpy as np

    values = np.asarray(runs, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # a non-finite run makes the stats null, quietly
        std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return {
        "mean": _number(values.mean()), "std": _number(std), "min": _number(values.min()),
        "max": _number(values.max()), "runs": [_number(v) for v in values],
    }


def _print_json(obj: dict) -> None:
    typer.echo(json.dumps(obj, allow_nan=False))


def _show_progress(progress: bool | None, as_json: bool) -> bool | None:
    """Return the bar's ``enabled``: as asked, else off with --json and "on a terminal" otherwise."""
    if progress is not None:
        return progress
    return False if as_json else None


# ---- commands ------------------------------------------------------------------------------------


@app.command("datasets")
def datasets_command(as_json: JsonOpt = False) -> None:
    """List the bundled datasets: name, length and first/last period."""
    from lstmcast.data import datasets

    rows = []
    for name in datasets.names():
        y = datasets.load(name)
        rows.append({
            "name": name, "column": str(y.name), "length": len(y), "first": _label(y.index[0]),
            "last": _label(y.index[-1]), "frequency": getattr(y.index, "freqstr", None),
        })
    if as_json:
        _print_json({"datasets": rows})
        return
    typer.echo(f"{'name':<10} {'column':<12} {'length':>6}  {'first':<10} {'last':<10}")
    for row in rows:
        typer.echo(f"{row['name']:<10} {row['column']:<12} {row['length']:>6}  {row['first']:<10} {row['last']:<10}")


@app.command("evaluate")
def evaluate_command(
    ctx: typer.Context,
    data: Data,
    model: ModelOpt = "vanilla",
    column: ColumnOpt = None,
    date_column: DateColumnOpt = None,
    test_size: Annotated[str, typer.Option(
        "--test-size", help="Test observations at the end: a count (12) or a fraction (0.2).")] = "12",
    refit: Annotated[Optional[int], typer.Option(
        "--refit", help="Refit every K test steps (default: fit once).", show_default=False)] = None,
    look_back: LookBackOpt = 1,
    steps_out: StepsOutOpt = 1,
    units: UnitsOpt = 50,
    layers: LayersOpt = None,
    activation: ActivationOpt = "tanh",
    dropout: DropoutOpt = 0.0,
    epochs: EpochsOpt = 100,
    batch_size: BatchSizeOpt = 32,
    learning_rate: LearningRateOpt = 1e-3,
    stateful: StatefulOpt = False,
    difference: DifferenceOpt = 0,
    scale: ScaleOpt = "minmax-sym",
    repeats: RepeatsOpt = 1,
    seed: SeedOpt = 0,
    plot: PlotOpt = None,
    as_json: JsonOpt = False,
    progress: ProgressOpt = None,
) -> None:
    """Walk-forward one-step evaluation on the last --test-size observations, against the baselines."""
    settings = _settings(
        ctx, model=model, look_back=look_back, steps_out=steps_out, units=units, layers=layers,
        activation=activation, dropout=dropout, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, stateful=stateful, difference=difference, scale=scale,
        repeats=repeats, seed=seed,
    )
    wanted = _parse_test_size(test_size)
    if refit is not None:
        _at_least(refit, "--refit", 0)
    refit = refit or None
    if plot is not None:
        from lstmcast.plots import check_target

        check_target(plot)

    series = _load(data, column, date_column)
    from lstmcast.evaluation import resolve_test_size, walk_forward
    from lstmcast.progress import epoch_callbacks, progress_bar

    n = len(series)
    n_test = resolve_test_size(n, wanted)
    settings.check_length(n, n_test)
    logger.info("%s: %d observations, the last %d for testing, model %s", data, n, n_test, settings.model)
    # every baseline runs on the same folds; one that needs more history than there is is skipped
    baselines = [name for name in BASELINE_NAMES if _baseline(name).min_train_size() <= n - n_test]
    fits = 1 if refit is None else math.ceil(n_test / refit)
    with progress_bar(total=0 if settings.is_baseline else settings.epochs * fits, desc=settings.model,
                      enabled=False if settings.is_baseline else _show_progress(progress, as_json)) as bar:
        forecaster = settings.forecaster(callbacks=epoch_callbacks(bar))
        started = time.perf_counter()  # the evaluation itself: training and predicting, not imports or I/O
        result = walk_forward(forecaster, series, test_size=n_test, refit=refit, baselines=baselines, m=SEASON)
        seconds = time.perf_counter() - started

    import numpy as np

    # one RMSE per repeat (ensemble member); a missing score becomes NaN here and null in JSON
    scores = result.member_metrics["rmse"] if result.member_metrics is not None else result.rmse
    runs = np.atleast_1d(np.asarray(scores, dtype=np.float64)).tolist()
    baseline_rmse = {name: _number(scores["rmse"]) for name, scores in result.baselines.items()}

    if plot is not None:
        from lstmcast.plots import plot_evaluation

        from lstmcast.evaluation.walk_forward import target_series

        target = target_series(forecaster, series)  # the column walk_forward scored
        plot_evaluation(
            target, result.predictions, plot, label=settings.model,
            baseline=None if settings.model == "persistence" else result.baseline_predictions.get("persistence"),
            members=result.member_predictions,
            title=f"{data}: walk-forward one-step over the last {n_test} observations",
        )

    if as_json:
        _print_json({
            "data": data,
            "config": {**settings.config(), "refit": refit},
            "test_size": n_test,
            "repeats": settings.runs,
            "rmse": _summary(runs),
            "baselines": baseline_rmse,
            "seconds": round(seconds, 3),
        })
        return
    _print_evaluation(data, settings, n, n_test, runs, result.rmse, baseline_rmse, seconds, plot)


def _print_evaluation(data, settings, n, n_test, runs, ensemble_rmse, baselines, seconds, plot) -> None:
    summary = _summary(runs)
    typer.echo(f"{data}: walk-forward one-step RMSE over the last {n_test} of {n} observations")
    typer.echo(f"{'model':<16} {'rmse':>10} {'std':>9} {'min':>10} {'max':>10} {'runs':>5}")
    typer.echo(f"{settings.model:<16} {_fmt(summary['mean']):>10} {_fmt(summary['std']):>9} "
               f"{_fmt(summary['min']):>10} {_fmt(summary['max']):>10} {len(runs):>5}")
    if len(runs) > 1:
        typer.echo(f"{'  ensemble mean':<16} {_fmt(ensemble_rmse):>10}")
    for name, value in baselines.items():
        if name == settings.model:
            continue  # the model's own row above
        typer.echo(f"{name:<16} {_fmt(value):>10}")
    skipped = [name for name in BASELINE_NAMES if name not in baselines]
    if skipped:
        typer.echo(f"(skipped, series too short: {', '.join(skipped)})")
    if plot is not None:
        typer.echo(f"plot: {plot}")
    typer.echo(f"{seconds:.2f} s")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@app.command("forecast")
def forecast_command(
    ctx: typer.Context,
    data: Data,
    horizon: Annotated[int, typer.Option("--horizon", help="Steps to forecast after the end of DATA.")] = 1,
    model: ModelOpt = "vanilla",
    column: ColumnOpt = None,
    date_column: DateColumnOpt = None,
    look_back: LookBackOpt = 1,
    steps_out: StepsOutOpt = 1,
    units: UnitsOpt = 50,
    layers: LayersOpt = None,
    activation: ActivationOpt = "tanh",
    dropout: DropoutOpt = 0.0,
    epochs: EpochsOpt = 100,
    batch_size: BatchSizeOpt = 32,
    learning_rate: LearningRateOpt = 1e-3,
    stateful: StatefulOpt = False,
    difference: DifferenceOpt = 0,
    scale: ScaleOpt = "minmax-sym",
    repeats: RepeatsOpt = 1,
    seed: SeedOpt = 0,
    plot: PlotOpt = None,
    as_json: JsonOpt = False,
    progress: ProgressOpt = None,
) -> None:
    """Fit on all of DATA and forecast the next --horizon steps."""
    settings = _settings(
        ctx, model=model, look_back=look_back, steps_out=steps_out, units=units, layers=layers,
        activation=activation, dropout=dropout, epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, stateful=stateful, difference=difference, scale=scale,
        repeats=repeats, seed=seed,
    )
    _at_least(horizon, "--horizon", 1)
    if plot is not None:
        from lstmcast.plots import check_target

        check_target(plot)

    series = _load(data, column, date_column)
    from lstmcast.progress import epoch_callbacks, progress_bar

    settings.check_length(len(series))
    logger.info("%s: fitting %s on %d observations", data, settings.model, len(series))
    forecaster = settings.forecaster()
    if settings.is_baseline:
        forecaster.fit(series)
    else:
        with progress_bar(total=settings.epochs, desc=settings.model,
                          enabled=_show_progress(progress, as_json)) as bar:
            forecaster.fit(series, callbacks=epoch_callbacks(bar))
    future = forecaster.forecast(horizon)
    method = future.attrs.get("method", "direct")  # a baseline extends its fit directly

    if plot is not None:
        from lstmcast.plots import plot_forecast

        members = None
        if not settings.is_baseline and settings.repeats > 1:
            members = forecaster.forecast(horizon, return_members=True)
        from lstmcast.evaluation.walk_forward import target_series

        plot_forecast(target_series(forecaster, series), future, plot, members=members, label=f"{settings.model} ({method})",
                      title=f"{data}: forecast of {horizon} steps")

    index = [_label(t) for t in future.index]
    values = [_number(v) for v in future.to_numpy()]
    if as_json:
        _print_json({
            "data": data,
            "config": {**settings.config(), "repeats": settings.runs, "horizon": horizon},
            "index": index,
            "forecast": values,
            "method": method,
        })
        return
    typer.echo(f"{data}: {settings.model} forecast of {horizon} steps ({method})")
    width = max(len("period"), *(len(i) for i in index))
    typer.echo(f"{'period':<{width}}  {'forecast':>12}")
    for label, value in zip(index, values):
        typer.echo(f"{label:<{width}}  {_fmt(value):>12}")
    if plot is not None:
        typer.echo(f"plot: {plot}")



# ---- studies -------------------------------------------------------------------------------------

StoreOpt = Annotated[Path, typer.Option("--store", help="SQLite file that keeps every study's results.")]
NameOpt = Annotated[Optional[str], typer.Option("--name", help="Study name (default: from the data and grid).",
                                                show_default=False)]
DiagnosticsOpt = Annotated[bool, typer.Option(
    "--diagnostics", help="Record train and test RMSE after every epoch of every run.")]
DiagPlotOpt = Annotated[Optional[Path], typer.Option(
    "--diagnostics-plot", help="Write the per-epoch train (blue) / test (orange) plot to this PNG.", show_default=False)]


def _parse_value(text: str):
    """Return a grid value typed as the user meant it: int, float, bool, None or text."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def _parse_grid(items: list[str]) -> dict[str, list]:
    """Return {param: [values]} from ``--grid name=v1,v2`` options (dashes in names become underscores)."""
    grid: dict[str, list] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not name.strip() or not values.strip():
            raise InputError(f"--grid expects NAME=V1,V2,...; got {item!r}")
        key = name.strip().replace("-", "_")
        if key in grid:
            raise InputError(f"--grid {key} is given twice; list all its values in one --grid")
        grid[key] = [_parse_value(v) for v in values.split(",") if v.strip()]
    return grid


def _open_store(path: Path):
    from lstmcast.experiments.store import Store

    if path.parent and not path.parent.is_dir():
        raise InputError(f"cannot open the store {path}: the folder {path.parent} does not exist")
    return Store(path)


def _study_plots(result, plot: Path | None, diag_plot: Path | None) -> None:
    from lstmcast.plots.study import boxplot, diagnostics

    if plot is not None:
        boxplot(result.scores(), plot, title=f"{result.name}: test RMSE", persistence=result.persistence)
    if diag_plot is not None:
        diagnostics(result.diagnostics(), diag_plot, title=f"{result.name}: train (blue) and test (orange) RMSE")


def _print_summary(result) -> None:
    """Print the describe() table of a study, persistence beside it, and the best configuration."""
    import pandas as pd

    table = result.summary()
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_colwidth", 60):
        typer.echo(table.round(3).to_string())
    if result.persistence is not None:
        typer.echo(f"persistence RMSE on the same split: {result.persistence:.3f}")
    best = result.best()
    if best is not None:
        typer.echo(f"best (lowest mean test RMSE): {best[0]}")
    typer.echo(f"{len(result.runs)} runs, {result.seconds:.1f} s of training")


def _run_study(study, store: Path, as_json: bool, progress: bool | None):
    from lstmcast.progress import progress_bar

    st = _open_store(store)
    with progress_bar(total=0, desc=study.study_name, enabled=_show_progress(progress, as_json)) as bar:
        return study.run(st, progress=bar)


@app.command("tune")
def tune_command(
    ctx: typer.Context,
    data: Data,
    grid: Annotated[list[str], typer.Option("--grid", help="NAME=V1,V2,... (repeatable): a parameter and its values.")],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="LSTM architecture for every configuration.",
                                                 show_default=False)] = None,
    test_size: Annotated[str, typer.Option("--test-size", help="Test observations at the end: a count or a fraction.")] = "12",
    column: ColumnOpt = None,
    date_column: DateColumnOpt = None,
    look_back: LookBackOpt = 1,
    steps_out: StepsOutOpt = 1,
    units: UnitsOpt = 50,
    layers: LayersOpt = None,
    activation: ActivationOpt = "tanh",
    dropout: DropoutOpt = 0.0,
    epochs: EpochsOpt = 100,
    batch_size: BatchSizeOpt = 32,
    learning_rate: LearningRateOpt = 1e-3,
    stateful: StatefulOpt = False,
    difference: DifferenceOpt = 0,
    scale: ScaleOpt = "minmax-sym",
    trim: Annotated[int, typer.Option("--trim", help="Oldest training windows to leave out (seed 002 drops 2).")] = 0,
    repeats: Annotated[int, typer.Option("--repeats", help="Runs per configuration (trained together).")] = 30,
    diagnostics: DiagnosticsOpt = False,
    store: StoreOpt = Path("lstmcast.db"),
    name: NameOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the execution plan and stop.")] = False,
    plot: PlotOpt = None,
    diagnostics_plot: DiagPlotOpt = None,
    as_json: JsonOpt = False,
    progress: ProgressOpt = None,
) -> None:
    """Run a grid of configurations x repeats by walk-forward, kept in the store; resumable."""
    from lstmcast.experiments.study import Study
    from lstmcast.plots import check_target

    values = dict(model=model, look_back=look_back, steps_out=steps_out, units=units, layers=layers,
                  activation=activation, dropout=dropout, epochs=epochs, batch_size=batch_size,
                  learning_rate=learning_rate, stateful=stateful, difference=difference, scale=scale, trim=trim)
    base = {k: v for k, v in values.items() if _given(ctx, k)}  # unset options keep Forecaster defaults
    if model is not None and model not in ARCHITECTURES:
        raise InputError(f"--model must be an LSTM architecture ({', '.join(ARCHITECTURES)}); got {model!r}")
    _at_least(repeats, "--repeats", 1)
    for path in (plot, diagnostics_plot):
        if path is not None:
            check_target(path)
    if diagnostics_plot is not None and not diagnostics:
        raise InputError("--diagnostics-plot needs --diagnostics (per-epoch RMSE is recorded only then)")
    study = Study(data, grid=_parse_grid(grid), repeats=repeats, base=base, test_size=_parse_test_size(test_size),
                  name=name, diagnostics=diagnostics, column=_selected_columns(data, column, date_column),
                  date_column=date_column)
    if dry_run:
        _print_plan(study, store, as_json)
        return
    result = _run_study(study, store, as_json, progress)
    _study_plots(result, plot, diagnostics_plot)
    if as_json:
        _print_json(_clean(result.to_json()))
        return
    typer.echo(f"study {result.name} on {result.data} (store {store})")
    _print_summary(result)


def _print_plan(study, store: Path, as_json: bool) -> None:
    """Print the groups the study would train: parameters, members, runs, epochs and optimizer steps."""
    from lstmcast.evaluation.split import resolve_test_size

    plan = study.plan(_open_store(store))
    y = study.series()
    n_train = len(y) - resolve_test_size(len(y), study.test_size)
    windows = max(1, n_train - int(study.base.get("difference", 0)) - int(study.base.get("look_back", 1))
                  - int(study.base.get("trim", 0)))
    rows = plan.describe(windows)
    if as_json:
        _print_json(_clean({"study": study.study_name, "groups": rows, "runs": plan.n_runs,
                            "skipped_runs": plan.skipped_runs}))
        return
    typer.echo(f"study {study.study_name}: {len(rows)} group(s), {plan.n_runs} run(s) to train, "
               f"{plan.skipped_runs} already stored")
    for row in rows:
        typer.echo(f"  group {row['group']}: {row['members']} members, {row['runs']} runs, {row['epochs']} epochs, "
                   f"~{row['steps']} optimizer steps; {row['params']}")


@app.command("studies")
def studies_command(store: StoreOpt = Path("lstmcast.db"), as_json: JsonOpt = False) -> None:
    """List the studies kept in the store."""
    if not store.exists():
        raise InputError(f"no store at {store}; run 'lstmcast tune' or 'lstmcast reproduce' first, or pass --store")
    frame = _open_store(store).list_studies()
    if as_json:
        _print_json(_clean({"store": str(store), "studies": frame.to_dict(orient="records")}))
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
    result = StudyResult.load(_open_store(store), name)
    _study_plots(result, plot, diagnostics_plot)
    if as_json:
        _print_json(_clean(result.to_json()))
        return
    typer.echo(f"study {result.name} on {result.data} (store {store})")
    _print_summary(result)


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
) -> None:
    """Run a seed tutorial's study as configured there; print its tables beside the published means."""
    from lstmcast.experiments import reproduce

    _at_least(repeats, "--repeats", 1)
    from lstmcast.plots import check_target

    for path in (plot, diagnostics_plot):
        if path is not None:
            check_target(path)
    study = reproduce.study(name, repeats=repeats, diagnostics=diagnostics,
                            study_name=study_name or (name if repeats == 30 else f"{name}-r{repeats}"))
    if diagnostics_plot is not None and not diagnostics:
        raise InputError("--diagnostics-plot needs --diagnostics")
    result = _run_study(study, store, as_json, progress)
    _study_plots(result, None, diagnostics_plot)
    tables = _reproduction_tables(result)
    if plot is not None:  # one panel per experiment, boxes labelled by the varied value, as in the seed
        from lstmcast.plots.study import boxplot

        scores = result.scores()
        panels, start = {}, 0
        for exp, rows in tables.items():
            frame = scores.iloc[:, start : start + len(rows)]
            panels[f"{exp} ({rows[0]['param']})"] = frame.set_axis([str(r["value"]) for r in rows], axis=1)
            start += len(rows)
        boxplot(panels, plot, persistence=result.persistence)
    if as_json:
        _print_json(_clean({"data": result.data, "study": result.name, "tables": tables,
                            "baselines": {"persistence": result.persistence}, "seconds": result.seconds}))
        return
    for exp, rows in tables.items():
        typer.echo(f"\n{exp}: test RMSE over {repeats} repeats (ours) beside the seed's published figures")
        typer.echo(f"{rows[0]['param']:>12} {'count':>6} {'mean':>9} {'std':>8} {'min':>8} {'50%':>8} {'max':>8}"
                   f" {'seed mean':>10} {'seed std':>9}")
        for row in rows:
            r = row["rmse"]
            typer.echo(f"{row['value']!s:>12} {r['count']:6.0f} {r['mean']:9.3f} {_fmt(r['std']):>8} {r['min']:8.3f} "
                       f"{r['50%']:8.3f} {r['max']:8.3f} {_fmt(row['published_mean']):>10} "
                       f"{_fmt(row['published_std']):>9}")
    if result.persistence is not None:
        typer.echo(f"\npersistence RMSE on the same split: {result.persistence:.3f}")
    typer.echo(f"{len(result.runs)} runs, {result.seconds:.1f} s")


def _reproduction_tables(result) -> dict[str, list[dict]]:
    """Return per experiment: the varied parameter, its value, our describe() and the published figures."""
    from lstmcast.experiments import reproduce

    table = result.summary()
    out: dict[str, list[dict]] = {}
    for (key, params), (_, stats) in zip(result.configs, table.iterrows()):
        exp = params["experiment"]
        value = reproduce.published_key(params)
        param = "variant" if exp == "airline" else reproduce.SHAMPOO_GRIDS[exp][0]
        out.setdefault(exp, []).append({
            "param": param, "value": value, "rmse": {k: _number(v) for k, v in stats.items()},
            "published_mean": reproduce.PUBLISHED.get(exp, {}).get(value),
            "published_std": reproduce.PUBLISHED_STD.get(exp, {}).get(value),
        })
    return out


def _clean(obj):
    """Return ``obj`` with NaN/inf turned into None and numpy scalars into Python numbers (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj

if __name__ == "__main__":
    main()
