"""train(rows=...): training on chosen samples of a pooled view equals training on a copy of those samples."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from lstmcast.data.windows import windows
from lstmcast.errors import InputError
from lstmcast.models.zoo import ModelConfig, build_network
from lstmcast.training.trainer import TrainConfig, train


def pooled_series(lengths=(13, 9, 17), n_in: int = 4, n_out: int = 1, seed: int = 0):
    """Return (X, y, rows): windows over the concatenation of several noisy series, and those inside one series."""
    rng = np.random.default_rng(seed)
    values = [np.sin(np.arange(n) * 0.5 + i) + 0.1 * rng.standard_normal(n) for i, n in enumerate(lengths)]
    pooled = np.concatenate(values).astype(np.float32)
    X, y = windows(pooled, n_in, n_out)  # read-only strided views over every row
    rows, offset = [], 0
    for n in lengths:
        rows.append(np.arange(offset, offset + n - n_in - n_out + 1))  # windows that stay inside this series
        offset += n
    with warnings.catch_warnings():  # torch warns that read-only windows could be written; they never are
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(X), torch.from_numpy(y), np.concatenate(rows)


def run(X, y, config: TrainConfig, seeds, rows=None, validation=None):
    net = build_network(ModelConfig(n_in=X.shape[1], n_out=y.shape[1], units=5), seeds)
    history = train(net, X, y, config, seeds, validation=validation, rows=rows)
    return history, [p.detach().clone() for p in net.parameters()]


@pytest.mark.parametrize("engine", ["torch", "numpy", "fused"])
@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in-order"])
def test_rows_of_a_pooled_view_train_exactly_like_a_copy_of_those_windows(engine, shuffle):
    X, y, rows = pooled_series()
    assert len(rows) < len(X)  # some windows cross a series boundary and must be left out
    config = TrainConfig(epochs=4, batch_size=5, learning_rate=0.01, shuffle=shuffle, engine=engine)
    seeds = [3, 4]
    pooled_history, pooled_params = run(X, y, config, seeds, rows=rows)
    copy_history, copy_params = run(X[torch.from_numpy(rows)].contiguous(), y[torch.from_numpy(rows)].contiguous(),
                                    config, seeds)
    assert pooled_history.extra == copy_history.extra  # same engine, same number of steps
    np.testing.assert_array_equal(pooled_history.loss, copy_history.loss)
    for a, b in zip(pooled_params, copy_params):
        assert torch.equal(a, b)


def test_rows_differ_from_training_on_every_window():
    X, y, rows = pooled_series()
    config = TrainConfig(epochs=2, batch_size=5, learning_rate=0.01, engine="torch")
    with_rows, _ = run(X, y, config, [0], rows=rows)
    every, _ = run(X, y, config, [0])
    assert with_rows.extra["steps"] < every.extra["steps"]  # fewer samples, fewer batches
    assert not np.array_equal(with_rows.loss, every.loss)


def test_stateful_rows_replay_the_chosen_windows_before_validation():
    X, y, rows = pooled_series(lengths=(14, 14), n_in=3)  # 11 windows each: 22 rows
    rows = rows[:20]
    held = torch.arange(len(X) - 2, len(X))
    validation = (X[held].contiguous(), y[held].contiguous())
    config = TrainConfig(epochs=3, batch_size=4, learning_rate=0.01, stateful=True, engine="torch")
    pooled, pooled_params = run(X, y, config, [1], rows=rows, validation=validation)
    index = torch.from_numpy(rows)
    copied, copied_params = run(X[index].contiguous(), y[index].contiguous(), config, [1], validation=validation)
    np.testing.assert_array_equal(pooled.val_loss, copied.val_loss)
    for a, b in zip(pooled_params, copied_params):
        assert torch.equal(a, b)


@pytest.mark.parametrize("rows, message", [
    (np.array([], dtype=int), "non-empty"),
    (np.array([0.0, 1.0]), "integer"),
    (np.array([[0, 1]]), "1-D"),
    (np.array([0, 99]), r"index the \d+ samples"),
    (np.array([-1, 2]), r"index the \d+ samples"),
])
def test_bad_rows_are_an_input_error(rows, message):
    X, y, _ = pooled_series()
    with pytest.raises(InputError, match=message):
        run(X, y, TrainConfig(epochs=1, batch_size=4, engine="torch"), [0], rows=rows)
