"""The lstmcast command line: the only package that prints.

    lstmcast datasets
    lstmcast evaluate shampoo                       # the automatic model beside the baselines
    lstmcast evaluate airline --model stacked --look-back 12 --repeats 10
    lstmcast forecast airline --horizon 12 --plot forecast.png

With ``--json`` stdout holds exactly one JSON object (the contract in DESIGN.md); progress and
logs go to stderr. Bad input of any kind ends with one line ``error: <message>`` on stderr and
exit status 2, never a traceback; warnings from the numerical libraries are kept off stderr
unless ``--verbose``. pandas, torch and matplotlib are imported inside the commands that need
them, so ``lstmcast --help`` answers at once.

Modules: ``options`` (shared options, and the options generated from lstmcast.params),
``output`` (JSON and number formatting), ``forecasting`` (datasets, evaluate, forecast) and
``studies`` (tune, studies, show, reproduce).
"""

from lstmcast.cli import forecasting, search, studies  # noqa: F401  (registers the commands on app)
from lstmcast.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Run the command line (the ``lstmcast`` console script)."""
    app(prog_name="lstmcast")


if __name__ == "__main__":
    main()
