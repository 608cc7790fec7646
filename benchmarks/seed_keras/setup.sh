#!/usr/bin/env bash
# Create benchmarks/seed_keras/.venv with CPU TensorFlow + Keras 3 for the seed harness.
# This environment is only for the benchmark; lstmcast does not depend on it.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --upgrade pip
# tensorflow-cpu is the CPU-only wheel; it pulls in Keras 3.
.venv/bin/python -m pip install tensorflow-cpu keras pandas scikit-learn
.venv/bin/python -c "import tensorflow as tf, keras; print('TF', tf.__version__, 'Keras', keras.__version__)"
