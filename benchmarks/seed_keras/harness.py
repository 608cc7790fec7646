"""The seed-002 tuning harness (Brownlee, "How to Tune LSTM Hyperparameters
with Keras for Time Series Forecasting"), ported minimally to Keras 3.

Changes from the tutorial, all forced by the library versions:
  * `batch_input_shape=` -> `keras.Input(batch_shape=...)`
  * `model.reset_states()` -> reset every stateful layer (Keras 3 models have
    no `reset_states`)
  * `read_csv(squeeze=True, date_parser=...)` / `pandas.datetime` -> read the
    `Sales` column directly (dates are not used by the experiment)
  * `predict(..., verbose=0)` so stdout carries only the JSON result

Run with the venv made by setup.sh:
    .venv/bin/python harness.py --epochs 100 --batch 4 --neurons 1 --repeats 2
"""
import argparse
import json
import os
import time
from math import sqrt
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy  # noqa: E402
from pandas import DataFrame, Series, concat, read_csv  # noqa: E402
from sklearn.metrics import mean_squared_error  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "src/lstmcast/data/files/shampoo-sales.csv"


# ---- data preparation, as in the tutorial ----
def timeseries_to_supervised(data, lag=1):
    df = DataFrame(data)
    columns = [df.shift(i) for i in range(1, lag + 1)]
    columns.append(df)
    df = concat(columns, axis=1)
    df = df.drop(0)
    return df


def difference(dataset, interval=1):
    return Series([dataset[i] - dataset[i - interval] for i in range(interval, len(dataset))])


def inverse_difference(history, yhat, interval=1):
    return yhat + history[-interval]


def scale(train, test):
    scaler = MinMaxScaler(feature_range=(-1, 1)).fit(train)
    return scaler, scaler.transform(train), scaler.transform(test)


def invert_scale(scaler, X, yhat):
    array = numpy.array([x for x in X] + [yhat]).reshape(1, -1)
    return scaler.inverse_transform(array)[0, -1]


# ---- model and fit loop, as in the tutorial ----
def reset_states(model):
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_states()


def fit_lstm(train, batch_size, nb_epoch, neurons):
    X, y = train[:, 0:-1], train[:, -1]
    X = X.reshape(X.shape[0], 1, X.shape[1])
    model = keras.Sequential([
        keras.Input(batch_shape=(batch_size, X.shape[1], X.shape[2])),
        keras.layers.LSTM(neurons, stateful=True),
        keras.layers.Dense(1),
    ])
    model.compile(loss="mean_squared_error", optimizer="adam")
    times = []  # wall time of each epoch (fit + reset); the first includes tracing
    for _ in range(nb_epoch):
        t0 = time.perf_counter()
        model.fit(X, y, epochs=1, batch_size=batch_size, verbose=0, shuffle=False)
        reset_states(model)
        times.append(time.perf_counter() - t0)
    return model, times


def experiment(repeats, series, epochs, batch_size, neurons):
    raw_values = series.values
    diff_values = difference(raw_values, 1)
    supervised_values = timeseries_to_supervised(diff_values, 1).values
    train, test = supervised_values[0:-12], supervised_values[-12:]
    scaler, train_scaled, test_scaled = scale(train, test)
    error_scores, fit_seconds = [], []
    for _ in range(repeats):
        train_trimmed = train_scaled[2:, :]
        lstm_model, times = fit_lstm(train_trimmed, batch_size, epochs, neurons)
        fit_seconds.append(times)
        # forecast the training data to build up state, then the test data
        train_reshaped = train_trimmed[:, 0].reshape(len(train_trimmed), 1, 1)
        lstm_model.predict(train_reshaped, batch_size=batch_size, verbose=0)
        test_reshaped = test_scaled[:, 0:-1].reshape(len(test_scaled), 1, 1)
        output = lstm_model.predict(test_reshaped, batch_size=batch_size, verbose=0)
        predictions = []
        for i in range(len(output)):
            yhat = invert_scale(scaler, test_scaled[i, 0:-1], output[i, 0])
            predictions.append(inverse_difference(raw_values, yhat, len(test_scaled) + 1 - i))
        error_scores.append(sqrt(mean_squared_error(raw_values[-12:], predictions)))
    return error_scores, fit_seconds, len(train_trimmed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--neurons", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    series = read_csv(DATA, header=0, index_col=0)["Sales"]
    t0 = time.perf_counter()
    rmse, epoch_times, n_train = experiment(args.repeats, series, args.epochs, args.batch, args.neurons)
    total = time.perf_counter() - t0
    fit_seconds = [sum(t) for t in epoch_times]
    later = [x for t in epoch_times for x in t[1:]]
    import tensorflow as tf

    print(json.dumps({
        "epochs": args.epochs, "batch": args.batch, "neurons": args.neurons,
        "repeats": args.repeats, "train_rows": n_train,
        "rmse": rmse,
        "total_seconds": total,
        "fit_seconds": fit_seconds,
        "seconds_per_epoch": sum(fit_seconds) / (args.epochs * args.repeats),
        # split of the same fit loop: first epoch (builds the train function) vs the rest
        "first_epoch_seconds": [t[0] for t in epoch_times],
        "later_seconds_per_epoch": sum(later) / len(later) if later else None,
        "tensorflow": tf.__version__, "keras": keras.__version__,
    }))


if __name__ == "__main__":
    main()
