"""Data stage: load and validate series, invertible transforms, and supervised windows."""

from lstmcast.data import datasets
from lstmcast.data.io import load_csv, load_data, parse_time_index
from lstmcast.data.transforms import Scaler, difference, undifference_one_step, undifference_recursive
from lstmcast.data.validate import check_int, validate_series
from lstmcast.data.windows import last_window, windows

__all__ = [
    "Scaler",
    "check_int",
    "datasets",
    "difference",
    "last_window",
    "load_csv",
    "load_data",
    "parse_time_index",
    "undifference_one_step",
    "undifference_recursive",
    "validate_series",
    "windows",
]
