"""windows(): every layout of seed 003 sample for sample, the Airline framings, views, errors."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstmcast.data import datasets
from lstmcast.data.windows import last_window, windows
from lstmcast.errors import InputError

# The printed outputs of seed 003 (its line numbers removed), `for i in range(len(X)): print(X[i], y[i])`.
SEED_UNIVARIATE = """
[10 20 30] 40
[20 30 40] 50
[30 40 50] 60
[40 50 60] 70
[50 60 70] 80
[60 70 80] 90
"""
SEED_MULTIPLE_INPUT = """
[[10 15]
 [20 25]
 [30 35]] 65
 [[20 25]
 [30 35]
 [40 45]] 85
 [[30 35]
 [40 45]
 [50 55]] 105
 [[40 45]
 [50 55]
 [60 65]] 125
 [[50 55]
 [60 65]
 [70 75]] 145
 [[60 65]
 [70 75]
 [80 85]] 165
 [[70 75]
 [80 85]
 [90 95]] 185
"""
SEED_PARALLEL = """
[[10 15 25]
 [20 25 45]
 [30 35 65]] [40 45 85]
[[20 25 45]
 [30 35 65]
 [40 45 85]] [ 50  55 105]
[[ 30  35  65]
 [ 40  45  85]
 [ 50  55 105]] [ 60  65 125]
[[ 40  45  85]
 [ 50  55 105]
 [ 60  65 125]] [ 70  75 145]
[[ 50  55 105]
 [ 60  65 125]
 [ 70  75 145]] [ 80  85 165]
[[ 60  65 125]
 [ 70  75 145]
 [ 80  85 165]] [ 90  95 185]
"""
SEED_UNIVARIATE_MULTI_STEP = """
[10 20 30] [40 50]
[20 30 40] [50 60]
[30 40 50] [60 70]
[40 50 60] [70 80]
[50 60 70] [80 90]
"""
SEED_MULTIPLE_INPUT_MULTI_STEP = """
[[10 15]
 [20 25]
 [30 35]] [65 85]
[[20 25]
 [30 35]
 [40 45]] [ 85 105]
[[30 35]
 [40 45]
 [50 55]] [105 125]
[[40 45]
 [50 55]
 [60 65]] [125 145]
[[50 55]
 [60 65]
 [70 75]] [145 165]
[[60 65]
 [70 75]
 [80 85]] [165 185]
"""
SEED_PARALLEL_MULTI_STEP = """
[[10 15 25]
 [20 25 45]
 [30 35 65]] [[ 40  45  85]
 [ 50  55 105]]
[[20 25 45]
 [30 35 65]
 [40 45 85]] [[ 50  55 105]
 [ 60  65 125]]
[[ 30  35  65]
 [ 40  45  85]
 [ 50  55 105]] [[ 60  65 125]
 [ 70  75 145]]
[[ 40  45  85]
 [ 50  55 105]
 [ 60  65 125]] [[ 70  75 145]
 [ 80  85 165]]
[[ 50  55 105]
 [ 60  65 125]
 [ 70  75 145]] [[ 80  85 165]
 [ 90  95 185]]
"""


def printed_numbers(listing: str) -> list[int]:
    return [int(n) for n in re.findall(r"-?\d+", listing)]


def as_printed(X: np.ndarray, y: np.ndarray, y_shape: tuple[int, ...]) -> list[int]:
    """Numbers in the order `print(X[i], y[i])` shows them, with y[i] in the seed's shape."""
    return [int(v) for i in range(len(X)) for v in (*X[i].ravel(), *y[i].reshape(y_shape).ravel())]


@pytest.mark.parametrize(
    "listing, n_samples, kwargs, x_shape, y_shape",
    [
        (SEED_UNIVARIATE, 6, dict(n_in=3), (3, 1), ()),
        (SEED_UNIVARIATE_MULTI_STEP, 5, dict(n_in=3, n_out=2), (3, 1), (2,)),
    ],
    ids=["univariate", "univariate-multi-step"],
)
def test_univariate_layouts_match_seed_printout(toy_sequence, listing, n_samples, kwargs, x_shape, y_shape):
    X, y = windows(toy_sequence, **kwargs)
    assert X.shape == (n_samples, *x_shape)
    assert as_printed(X, y, y_shape) == printed_numbers(listing)


@pytest.mark.parametrize(
    "listing, n_samples, kwargs, x_shape, y_shape",
    [
        (SEED_MULTIPLE_INPUT, 7, dict(n_in=3, inputs=[0, 1], targets=[2], align="last"), (3, 2), ()),
        (SEED_PARALLEL, 6, dict(n_in=3), (3, 3), (3,)),
        (
            SEED_MULTIPLE_INPUT_MULTI_STEP,
            6,
            dict(n_in=3, n_out=2, inputs=[0, 1], targets=[-1], align="last"),
            (3, 2),
            (2,),
        ),
        (SEED_PARALLEL_MULTI_STEP, 5, dict(n_in=3, n_out=2), (3, 3), (2, 3)),
    ],
    ids=["multiple-input", "parallel", "multiple-input-multi-step", "parallel-multi-step"],
)
def test_multivariate_layouts_match_seed_printout(toy_dataset, listing, n_samples, kwargs, x_shape, y_shape):
    X, y = windows(toy_dataset, **kwargs)
    assert X.shape == (n_samples, *x_shape)
    assert len(y) == n_samples
    assert as_printed(X, y, y_shape) == printed_numbers(listing)


def test_seed_first_samples_spelled_out(toy_dataset):
    X, y = windows(toy_dataset, 3, inputs=[0, 1], targets=[2], align="last")
    np.testing.assert_array_equal(X[0], [[10, 15], [20, 25], [30, 35]])
    assert y[0, 0, 0] == 65
    X, y = windows(toy_dataset, 3, n_out=2)
    np.testing.assert_array_equal(X[0], [[10, 15, 25], [20, 25, 45], [30, 35, 65]])
    np.testing.assert_array_equal(y[0], [[40, 45, 85], [50, 55, 105]])


def test_y_is_always_samples_by_steps_by_targets(toy_dataset):
    X, y = windows(toy_dataset, 3, n_out=2, targets=[2])
    assert X.shape == (5, 3, 3)
    assert y.shape == (5, 2, 1)


def test_pandas_input_gives_the_same_windows_as_numpy(toy_dataset):
    frame = datasets.toy_multivariate()
    for a, b in zip(windows(frame, 3, n_out=2), windows(toy_dataset, 3, n_out=2)):
        np.testing.assert_array_equal(a, b)
    X, y = windows(datasets.toy_univariate(), 3)
    assert X.shape == (6, 3, 1) and y[-1, 0, 0] == 90


# --- Airline tutorial (seed 004): the window method versus time steps -----------------------


def seed_create_dataset(dataset: np.ndarray, look_back: int) -> tuple[np.ndarray, np.ndarray]:
    """Seed 004's create_dataset(), verbatim in logic (it stops one sample early)."""
    data_x, data_y = [], []
    for i in range(len(dataset) - look_back - 1):
        data_x.append(dataset[i : (i + look_back), 0])
        data_y.append(dataset[i + look_back, 0])
    return np.array(data_x), np.array(data_y)


def test_window_method_puts_lags_as_features_of_one_time_step():
    passengers = datasets.load("airline").to_numpy()[:8]  # 112 118 132 129 121 135 148 148
    X, y = windows(passengers, n_in=3, framing="features")
    assert X.shape == (5, 1, 3)
    # the table the tutorial prints: X1 X2 X3 Y
    table = [[112, 118, 132, 129], [118, 132, 129, 121], [132, 129, 121, 135], [129, 121, 135, 148], [121, 135, 148, 148]]
    np.testing.assert_array_equal(np.hstack([X[:, 0, :], y[:, 0, :]]), table)


def test_time_steps_framing_puts_lags_as_steps_of_one_feature():
    passengers = datasets.load("airline").to_numpy()[:8]
    X, _ = windows(passengers, n_in=3)
    assert X.shape == (5, 3, 1)
    np.testing.assert_array_equal(X[0, :, 0], [112, 118, 132])


def test_both_framings_match_seed_create_dataset_plus_its_dropped_last_sample():
    series = datasets.load("airline").to_numpy()[:20]
    data_x, data_y = seed_create_dataset(series[:, None], look_back=3)
    X_features, y = windows(series, 3, framing="features")
    X_steps, _ = windows(series, 3)
    # create_dataset's range(len - look_back - 1) skips the last usable sample; we keep it
    assert len(X_features) == len(data_x) + 1
    np.testing.assert_array_equal(np.asarray(X_features)[:-1], data_x.reshape(-1, 1, 3))
    np.testing.assert_array_equal(np.asarray(X_steps)[:-1], data_x.reshape(-1, 3, 1))
    np.testing.assert_array_equal(y[:-1, 0, 0], data_y)
    np.testing.assert_array_equal(y[-1, 0, 0], series[-1])


def test_features_framing_of_several_columns_orders_lags_oldest_first(toy_dataset):
    X, _ = windows(toy_dataset, 2, framing="features")
    np.testing.assert_array_equal(X[0, 0], [10, 15, 25, 20, 25, 45])


# --- views, not copies -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_in=3),
        dict(n_in=3, n_out=2),
        dict(n_in=3, inputs=[0, 1], targets=[2], align="last"),
        dict(n_in=3, inputs=[2, 0], targets=[1]),
        dict(n_in=2, framing="features"),
    ],
)
def test_windows_are_read_only_views_of_the_input(toy_dataset, kwargs):
    X, y = windows(toy_dataset, **kwargs)
    for part in (X, y):
        assert np.shares_memory(part, toy_dataset)
        assert not part.flags.writeable
        with pytest.raises(ValueError):
            part[0, 0, 0] = -1
    assert toy_dataset.flags.writeable  # the caller's array is untouched


def test_univariate_windows_share_memory_with_a_long_series():
    series = np.arange(10_000.0)
    X, y = windows(series, 48, framing="features")
    assert np.shares_memory(X, series) and np.shares_memory(y, series)
    assert X.base is not None and X.shape == (9_952, 1, 48)


def test_irregular_column_pick_still_windows_correctly(toy_dataset):
    X, y = windows(toy_dataset, 3, inputs=[0, 2, 1], targets=[1, 1])
    np.testing.assert_array_equal(X[0], toy_dataset[:3][:, [0, 2, 1]])
    np.testing.assert_array_equal(y[0, 0], [45, 45])
    assert not X.flags.writeable


# --- last_window ---------------------------------------------------------------------------


def test_last_window_is_the_seed_prediction_input(toy_sequence, toy_dataset):
    np.testing.assert_array_equal(last_window(toy_sequence, 3), [[[70], [80], [90]]])
    window = last_window(toy_dataset, 3, inputs=[0, 1])
    np.testing.assert_array_equal(window, [[[70, 75], [80, 85], [90, 95]]])
    assert np.shares_memory(window, toy_dataset) and not window.flags.writeable
    assert last_window(toy_sequence, 3, framing="features").shape == (1, 1, 3)


def test_last_window_longer_than_the_series_is_an_input_error(toy_sequence):
    with pytest.raises(InputError, match="look_back=10 needs at least 10 observations; the series has 9"):
        last_window(toy_sequence, 10)


# --- bad input -------------------------------------------------------------------------------


def test_window_longer_than_the_data_names_both_lengths():
    with pytest.raises(
        InputError, match=r"look_back=48 with steps_out=1 needs at least 49 observations; the series has 36"
    ):
        windows(np.zeros(36), 48)


def test_last_alignment_needs_one_row_less(toy_sequence):
    X, _ = windows(toy_sequence, 9, align="last")
    assert len(X) == 1
    with pytest.raises(InputError, match="needs at least 10"):
        windows(toy_sequence, 9)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_in=0), "n_in"),
        (dict(n_in=3, n_out=0), "n_out"),
        (dict(n_in=2.5), "n_in"),
        (dict(n_in=3, inputs=[3]), "inputs must be a non-empty list of column indices in 0..2"),
        (dict(n_in=3, targets=[]), "targets"),
        (dict(n_in=3, targets=["out"]), "targets"),
        (dict(n_in=3, align="prev"), "align must be one of next, last"),
        (dict(n_in=3, framing="lags"), "framing"),
    ],
)
def test_bad_arguments_raise_input_error(toy_dataset, kwargs, message):
    with pytest.raises(InputError, match=message):
        windows(toy_dataset, **kwargs)


def test_three_dimensional_values_are_rejected():
    with pytest.raises(InputError, match="1-D or 2-D"):
        windows(np.zeros((4, 3, 2)), 1)


# --- against a naive loop ----------------------------------------------------------------------


def naive_windows(data, n_in, n_out, inputs, targets, align):
    """The seeds' split loops, generalised: one Python iteration and one copy per sample."""
    overlap = 1 if align == "last" else 0
    xs, ys = [], []
    for i in range(len(data)):
        end = i + n_in
        out_end = end - overlap + n_out
        if out_end > len(data):
            break
        xs.append(data[i:end][:, inputs])
        ys.append(data[end - overlap : out_end][:, targets])
    return np.array(xs), np.array(ys)


@st.composite
def window_cases(draw):
    columns = draw(st.integers(1, 4))
    rows = draw(st.integers(1, 25))
    data = np.arange(rows * columns, dtype=np.float64).reshape(rows, columns) * 1.5
    picks = st.lists(st.integers(0, columns - 1), min_size=1, max_size=4)
    return (
        data,
        draw(st.integers(1, 8)),
        draw(st.integers(1, 4)),
        draw(picks),
        draw(picks),
        draw(st.sampled_from(["next", "last"])),
    )


@settings(max_examples=200, deadline=None)
@given(window_cases())
def test_windows_equal_a_naive_loop_on_random_shapes(case):
    data, n_in, n_out, inputs, targets, align = case
    expected_x, expected_y = naive_windows(data, n_in, n_out, inputs, targets, align)
    if len(expected_x) == 0:
        with pytest.raises(InputError):
            windows(data, n_in, n_out, inputs=inputs, targets=targets, align=align)
        return
    X, y = windows(data, n_in, n_out, inputs=inputs, targets=targets, align=align)
    np.testing.assert_array_equal(X, expected_x)
    np.testing.assert_array_equal(y, expected_y)
    X_features, _ = windows(data, n_in, n_out, inputs=inputs, targets=targets, align=align, framing="features")
    np.testing.assert_array_equal(X_features, expected_x.reshape(len(expected_x), 1, -1))


def test_series_with_period_index_frames_its_values():
    y = pd.Series(np.arange(12.0), index=pd.period_range("2000-01", periods=12, freq="M"))
    X, target = windows(y, 4, n_out=2)
    assert X.shape == (7, 4, 1) and target.shape == (7, 2, 1)
