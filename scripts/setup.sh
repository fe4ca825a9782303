#!/usr/bin/env bash
# One-time (idempotent) set-up: a virtual environment in .venv with sktransfer
# and its development tools. Python >= 3.11 must be on PATH as python3.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
