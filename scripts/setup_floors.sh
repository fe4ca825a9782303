#!/usr/bin/env bash
# A second environment, .venv-floors, with exactly the lowest versions
# sktransfer supports (.ci/floors.txt, the lower bounds of pyproject.toml) and
# what the fast test tier needs. Idempotent. Python >= 3.11 as python3.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv-floors/bin/python ]; then
  "$python" -m venv .venv-floors
fi
source scripts/_debian.sh
install_fashion_mnist
source scripts/_pip.sh
pip_install .venv-floors/bin/python --upgrade pip
# --no-cache-dir: the floors' torch brings 2.6 GB of CUDA wheels, which pip
# would otherwise keep a second time in its cache.
pip_install .venv-floors/bin/python --no-cache-dir -c .ci/floors.txt \
  -e ".[lite,accelerate,timm]" pytest pytest-xdist hypothesis pandas numpydoc
