"""Data stage: load and validate series, time indexes, invertible transforms, and supervised windows."""

from lstmcast.data import datasets
from lstmcast.data.io import csv_columns, load_csv, load_data, parse_time_index
from lstmcast.data.skeleton import Chain, guerrero_lambda
from lstmcast.data.skeleton_choice import choose_skeleton
from lstmcast.data.timeindex import future_index, season_length
from lstmcast.data.transforms import Scaler, difference, undifference_one_step, undifference_recursive
from lstmcast.data.validate import check_int, validate_series
from lstmcast.data.windows import WindowLayout, last_window, windows

__all__ = [
    "Chain",
    "Scaler",
    "WindowLayout",
    "check_int",
    "choose_skeleton",
    "csv_columns",
    "datasets",
    "difference",
    "future_index",
    "guerrero_lambda",
    "last_window",
    "load_csv",
    "load_data",
    "parse_time_index",
    "season_length",
    "undifference_one_step",
    "undifference_recursive",
    "validate_series",
    "windows",
]
