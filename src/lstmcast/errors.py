"""Exceptions raised by lstmcast.

Every error caused by what a user passed in derives from ``InputError``; the CLI turns it into a
one-line message and exit status 2. Messages say what was received, what was expected and how
to fix it.
"""


class LstmcastError(Exception):
    """Base class of every lstmcast error."""


class InputError(LstmcastError, ValueError):
    """Bad user input: data, parameters or files. The CLI exits with status 2."""


class ModelFileError(InputError):
    """A saved model file is missing, truncated, tampered with or of an unknown version."""


class NotFittedError(LstmcastError, RuntimeError):
    """A forecaster or transform was used before ``fit``."""


class TrainingDivergedError(LstmcastError, RuntimeError):
    """The training loss became NaN or infinite."""
