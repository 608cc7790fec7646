"""Calibration and multi-horizon walk-forward give the same results from forecast_origins (one pass over the
origins of a model fitted once) as from one forecast(y=series[:origin]) per origin."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcast.data import datasets
from lstmcast.evaluation import walk_forward
from lstmcast.evaluation.conformal import calibrate
from lstmcast.forecaster import Forecaster


class OneOriginAtATime:
    """A Forecaster seen without forecast_origins: callers must ask it once per origin."""

    def __init__(self, forecaster: Forecaster):
        self.forecaster = forecaster

    def fit(self, y) -> "OneOriginAtATime":
        self.forecaster.fit(y)
        return self

    def forecast(self, horizon, y=None, return_members=False, level=None):
        return self.forecaster.forecast(horizon, y=y, return_members=return_members, level=level)

    def min_train_size(self) -> int:
        return self.forecaster.min_train_size()


@pytest.fixture(scope="module")
def airline():
    return datasets.load("airline")


def _auto(members: int = 1) -> Forecaster:
    return Forecaster(model="auto", epochs=1, members=members, seed=0, skeleton_weight=0.5)


@pytest.mark.slow  # fits model="auto" four times
@pytest.mark.parametrize("scale, members", [("absolute", 1), ("spread", 2)])
def test_calibration_in_one_pass_gives_the_per_origin_bands(airline, scale, members):
    y = airline.iloc[:100]
    batched = calibrate(_auto(members), y, 6, [80, 95], n_origins=15, scale=scale)
    one_by_one = calibrate(OneOriginAtATime(_auto(members)), y, 6, [80, 95], n_origins=15, scale=scale)
    assert batched.n_origins == one_by_one.n_origins == 15
    for lv in (80, 95):
        np.testing.assert_allclose(batched.widths[lv], one_by_one.widths[lv], rtol=1e-10)
    assert batched.spread_floor == pytest.approx(one_by_one.spread_floor, rel=1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("level", [None, [80]])
def test_multi_horizon_walk_forward_in_one_pass_gives_the_per_origin_folds(airline, level):
    kwargs = dict(test_size=24, horizon=6, stride=2, baselines=(), level=level)
    batched = walk_forward(_auto(), airline, **kwargs)
    one_by_one = walk_forward(OneOriginAtATime(_auto()), airline, **kwargs)
    assert list(batched.folds.columns) == list(one_by_one.folds.columns)
    assert batched.folds[["origin", "step"]].equals(one_by_one.folds[["origin", "step"]])
    numbers = [c for c in batched.folds.columns if c not in ("origin", "step", "time")]
    np.testing.assert_allclose(batched.folds[numbers].to_numpy(), one_by_one.folds[numbers].to_numpy(), rtol=1e-10)
