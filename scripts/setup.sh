#!/usr/bin/env bash
# One-time (idempotent) set-up: a virtual environment in .venv with sktransfer
# and its development tools, and Debian's dataset-fashion-mnist and
# chromium-headless-shell (the docs screenshots) where they are missing and
# apt-get can. Python >= 3.11 must be on PATH as python3.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
source scripts/_debian.sh
install_fashion_mnist
install_chromium
source scripts/_pip.sh
pip_install .venv/bin/python --upgrade pip
pip_install .venv/bin/python -e ".[dev]"
