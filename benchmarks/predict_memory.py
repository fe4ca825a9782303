"""Peak memory of prediction on many images: batched (ours) vs one big batch.

Each row runs in a fresh process and reports its peak resident set size
(RSS) above the process's size after fitting, for ``predict`` on ``n`` random
28x28 uint8 images with ``small_cnn`` (28 px) — ours, which predicts in
batches of 256 — against a naive ``network(all_images)`` in one batch. Our
peak should stay flat as ``n`` grows; the naive one grows with ``n``.

    .venv/bin/python benchmarks/predict_memory.py [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys
import numpy as np, torch
from sktransfer import PretrainedCNNClassifier

n, how = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
X_fit = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8)
clf = PretrainedCNNClassifier("small_cnn", input_size=28, max_epochs=1).fit(
    X_fit, np.arange(64) % 10
)
X = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if how == "ours":
    predictions = clf.predict(X)
else:
    with torch.no_grad():
        predictions = clf.module_.eval()(torch.as_tensor(X[:, None])).argmax(1)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"extra_mib": (peak - base) / 1024, "n": len(predictions)}))
"""


def measure(n, how):
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), how],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])["extra_mib"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--naive-up-to",
        type=int,
        default=10_000,
        help="largest n for the one-batch baseline (it needs GBs beyond)",
    )
    args = parser.parse_args(argv)
    print(
        "| images | input (MiB) | ours: peak RSS above baseline (MiB) | "
        "one batch: peak RSS above baseline (MiB) |"
    )
    print("|---|---|---|---|")
    for n in args.sizes:
        ours = measure(n, "ours")
        naive = measure(n, "naive") if n <= args.naive_up_to else None
        print(
            f"| {n:,} | {n * 28 * 28 / 2**20:.0f} | "
            f"{'failed' if ours is None else f'{ours:.0f}'} | "
            f"{'not run' if naive is None else f'{naive:.0f}'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
