"""The parameter spine: one declaration per parameter, checked the same way in Python and on the command line."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmcast.cli import app
from lstmcast.cli.options import as_flags, flags, parse_grid
from lstmcast.errors import InputError
from lstmcast.forecaster import Forecaster
from lstmcast.params import ACTIVATIONS, ARCHITECTURES, BASELINE_NAMES, PARAMS, SCALES, check_params, resolve

runner = CliRunner()


def test_forecaster_signature_is_the_declarations():
    signature = inspect.signature(Forecaster.__init__).parameters
    names = [n for n in signature if n != "self"]
    assert names == list(PARAMS)
    for name in names:
        assert signature[name].default == PARAMS[name].default, name


@pytest.mark.parametrize("command", ["evaluate", "forecast", "tune"])
def test_every_forecaster_parameter_is_an_option_of_the_command(command):
    import typer

    options = {opt for p in typer.main.get_command(app).commands[command].params for opt in p.opts}
    skipped = {"tune": {"members"}}.get(command, set())  # tune sets members itself (--repeats)
    for name, param in PARAMS.items():
        if name in skipped:
            continue
        assert set(flags(param)) <= options, f"{command} lacks {param.option}"
    assert "--look-back" in runner.invoke(app, [command, "--help"]).output


def test_registries_are_the_ones_the_implementations_use():
    from lstmcast.data.transforms import Scaler
    from lstmcast.evaluation import BASELINES
    from lstmcast.models.cells import activation_fn
    from lstmcast.models.zoo import ARCHITECTURES as ZOO

    assert tuple(ZOO) == ARCHITECTURES
    assert tuple(BASELINES) == BASELINE_NAMES
    for name in ACTIVATIONS:
        activation_fn(name)
    for kind in SCALES:
        Scaler(kind).fit(np.array([[1.0], [2.0], [4.0]]))


@pytest.mark.parametrize("params, fragment", [
    ({"units": [1.7, "2"]}, "units[0]"),
    ({"units": []}, "empty list"),
    ({"seed": 1.5}, "seed must be an integer"),
    ({"seed": "a"}, "seed must be an integer"),
    ({"seed": [1, 2**31]}, "seed[1]"),
    ({"learning_rate": float("inf")}, "finite"),
    ({"epochs": 2**63}, "epochs must be an integer in [1, 100000]"),
    ({"units": 20000}, "units must be an integer in [1, 4096]"),
    ({"dropout": 1.0}, "dropout must be a number in [0, 1)"),
    ({"stateful": "yes"}, "stateful must be true or false"),
    ({"model": "lstm"}, "model must be one of auto"),
])
def test_bad_parameters_are_refused_by_their_declaration(params, fragment):
    with pytest.raises(InputError, match=None) as info:
        Forecaster(**params).check_params()
    assert fragment in str(info.value)


def test_lists_are_checked_element_by_element_never_truncated():
    assert check_params({"units": [1, 2]}) == {"units": [1, 2]}
    with pytest.raises(InputError, match=r"units\[0\]"):
        check_params({"units": [1.7, 2]})


def test_grid_values_are_checked_like_options():
    assert parse_grid(["look_back=1,12", "learning-rate=0.01"]) == {"look_back": [1, 12], "learning_rate": [0.01]}
    for bad in (["learning_rate=inf"], ["epochs=4611686018427387904"], ["units=0"], ["nope=1"]):
        with pytest.raises(InputError):
            parse_grid(bad)


def test_the_command_line_refuses_the_same_values_with_flag_names():
    for args, flag in ((["--learning-rate", "inf"], "--learning-rate"), (["--epochs", "9223372036854775808"], "--epochs"),
                       (["--units", "20000"], "--units")):
        result = runner.invoke(app, ["evaluate", "shampoo", *args])
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1 and flag in result.stderr


def test_messages_name_flags_on_the_command_line_and_parameters_in_python():
    assert as_flags("look_back=48 needs 61 observations; the model is vanilla") == \
        "--look-back=48 needs 61 observations; the model is vanilla"
    with pytest.raises(InputError, match="look_back"):
        Forecaster(look_back=0).check_params()


def test_auto_fills_its_own_defaults_and_explicit_values_win():
    auto = resolve({"model": "auto", "look_back": None, "units": None, "batch_size": None, "scale": None,
                    "members": None}, season_length=12)
    assert (auto["look_back"], auto["units"], auto["members"], auto["scale"]) == (13, 8, 10, "standard")
    assert resolve({"model": "auto", "units": 32}, 4)["units"] == 32
    plain = Forecaster().resolved()
    assert (plain["look_back"], plain["units"], plain["batch_size"], plain["members"]) == (1, 50, 32, 1)
