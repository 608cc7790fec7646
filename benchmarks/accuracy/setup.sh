#!/usr/bin/env bash
# Create benchmarks/accuracy/.venv with statsforecast, pmdarima, statsmodels and pandas.
# This environment exists only for the accuracy benchmark: lstmcast never depends on
# statsforecast or pmdarima, and torch must not be installed here (it would pull GBs).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# Pinned to the versions the figures in README.md were measured with (statsforecast 2.1.1
# needs pandas < 3, so this venv has pandas 2.3 while lstmcast's has 3.1).
.venv/bin/python -m pip install --quiet \
    "statsforecast==2.1.1" "pmdarima==2.1.1" "statsmodels==0.15.0" "pandas==2.3.3" "numpy==2.4.6"
if .venv/bin/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"; then
    echo "error: torch was installed into benchmarks/accuracy/.venv by a dependency; remove it" >&2
    exit 1
fi
.venv/bin/python -c "import statsforecast, pmdarima, statsmodels, pandas; print('statsforecast', statsforecast.__version__, 'pmdarima', pmdarima.__version__, 'statsmodels', statsmodels.__version__, 'pandas', pandas.__version__)"
