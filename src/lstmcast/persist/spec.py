"""The model file's fixed points: its format version, the names of its tensors and keys, and the bounds of its fields.

A leaf of the persist package (it imports no other part of lstmcast), so that ``fields``,
``single``, ``panel`` and ``__init__`` all take these from one place without importing one
another for a constant. The limits that bound a whole file or document (``MAX_FILE_BYTES``,
``MAX_DOCUMENT_BYTES``, ``_MAX_HISTORY_NUMBERS``) live in ``persist/__init__.py`` instead, whose
functions read them at call time.
"""

from __future__ import annotations

import numpy as np

FORMAT_VERSION = 1
MAX_REPORT_BYTES = 1 << 20  # model="auto"'s report of what it chose
MAX_SERIES = 1_000_000  # ids in one panel file; far above the panels lstmcast trains
_MAX_LABEL_CHARS = 10_000
_PANEL_KEY = "panel"
_NETWORK_PREFIX = "network."
_VALUES = "values"
_SERIES_PREFIX = "series."
_DATA = "data"
_INT64 = (-(2**63), 2**63 - 1)
_FLOAT_MAX = float(np.finfo(np.float64).max)
