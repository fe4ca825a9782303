#!/usr/bin/env bash
# One-time (idempotent) set-up: a virtual environment in .venv with sktransfer
# and its development tools. Python >= 3.11 must be on PATH as python3.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# Fashion-MNIST's IDX files (Debian's dataset-fashion-mnist), which the
# Fashion-MNIST study, its tests and the benchmarks read: installed when
# missing and apt-get can (as root, or through sudo without a password).
if [ ! -e /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo -n"; fi
  $sudo apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
    || { $sudo apt-get update -qq >/dev/null 2>&1 \
         && $sudo apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; } \
    || echo "setup.sh: could not install dataset-fashion-mnist; the Fashion-MNIST tests need it" >&2
fi
source scripts/_pip.sh
pip_install .venv/bin/python --upgrade pip
pip_install .venv/bin/python -e ".[dev]"
