"""The Typer application, its one-line error handling and logging; the commands register on ``app``."""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from lstmcast import __version__
from lstmcast.cli.options import as_flags
from lstmcast.errors import InputError, TrainingDivergedError

logger = logging.getLogger(__name__)


class _OneLineErrors(TyperGroup):
    """Typer's command group, reporting every failure as one stderr line.

    Usage errors (a bad option value, a missing argument) keep Typer's exit status 2 but print
    as ``error: ...``; InputError and TrainingDivergedError exit 2 with their message, parameter
    names written as flags; anything unexpected exits 1 with one line naming it. Only
    ``standalone_mode`` (the console script and CliRunner) is changed; programmatic calls with
    ``standalone_mode=False`` see the exceptions.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = sys.argv[1:] if args is None else list(args)
        if not standalone_mode or not args:  # no arguments at all: let Typer print the help
            return super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=standalone_mode, **extra)
        _deferred.clear()
        try:
            with warnings.catch_warnings():
                if not logging.getLogger("lstmcast").isEnabledFor(logging.INFO):
                    warnings.simplefilter("ignore")  # RuntimeWarnings would break the one-line contract
                code = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                    standalone_mode=False, **extra)
        except (InputError, TrainingDivergedError) as exc:
            _fail(as_flags(str(exc)), 2)
        except typer.TyperException as exc:  # click's UsageError, BadParameter, ...
            ctx = getattr(exc, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            _fail(exc.format_message() + hint, getattr(exc, "exit_code", 1))
        except (typer.Abort, KeyboardInterrupt):
            _fail("interrupted", 130)
        except MemoryError:
            _fail("out of memory: the configuration or data is too large for this machine; "
                  "lower units, members, batch_size or the horizon", 2)
        except Exception as exc:  # a bug: still one line, with what to report
            _fail(f"internal error ({type(exc).__name__}: {exc}); please report it with the command you ran", 1)
        for message in _deferred:  # the command succeeded: now its warnings may follow the result
            typer.echo(message, err=True)
        sys.exit(code if isinstance(code, int) else 0)


_deferred: list[str] = []


def warn_on_success(message: str) -> None:
    """Print ``message`` on stderr once the command has succeeded; a failure prints only its error line."""
    _deferred.append(message)


def _fail(message: str, code: int):
    """Print ``error: message`` as one line on stderr and exit with ``code``."""
    _deferred.clear()
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


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lstmcast {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens (and warnings) to stderr.")] = False,
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
    """Send the package's log records (``lstmcast.*``) and Python warnings at ``level`` and above to stderr."""
    package = logging.getLogger("lstmcast")
    if not any(isinstance(h, _StderrHandler) for h in package.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        package.addHandler(handler)
    package.setLevel(level)

