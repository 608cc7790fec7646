"""Example candidates for ``run.py --candidate benchmarks/accuracy/examples.py:FUNCTION``.

A candidate is a function ``(season_length: int) -> forecaster``; run.py calls it once per series
and evaluates the result with ``lstmcast.walk_forward``. Its name labels the table's columns.
"""

from lstmcast import Forecaster


def differenced(season_length: int) -> Forecaster:
    """Return a small differenced, standard-scaled ensemble looking back one season (the recipe's network without its skeleton)."""
    return Forecaster(look_back=season_length + 1 if season_length > 1 else 5, units=8, epochs=100,
                      batch_size=16, difference=1, scale="standard", members=5, seed=0)
