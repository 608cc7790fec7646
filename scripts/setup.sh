#!/usr/bin/env bash
# Creates .venv and installs lstmcast. torch==2.13.0 goes in first, on its own, so that pip takes the
# local CPU wheel and nothing later can pull a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check torch==2.13.0
.venv/bin/pip install -q --disable-pip-version-check -e ".[test]"
