"""Training throughput on the CPU: hand-written loop vs plain skorch vs ours.

Small networks at small sizes (``small_cnn`` 32 px RGB, ``mlp`` 28 px grey,
``resnet18`` 32 px RGB), full fine-tune, half frozen and ``freeze_upto="all"``;
prints images/s and the ratios (goal: ours >= 0.9x the loop). See
``benchmarks/_throughput.py`` for what each method does.

    .venv/bin/python benchmarks/cpu_throughput.py [--n 1024] [--epochs 3]
"""

from __future__ import annotations

import argparse

import torch
from _throughput import run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--networks", nargs="+", default=["small_cnn", "mlp", "resnet18"]
    )
    args = parser.parse_args(argv)
    sizes = {"small_cnn": (32, 3), "mlp": (28, 1), "resnet18": (32, 3)}
    workloads = [(name, *sizes.get(name, (32, 3))) for name in args.networks]
    print(f"CPU threads: {torch.get_num_threads()}")
    run(
        workloads,
        n=args.n,
        epochs=args.epochs,
        batch_size=args.batch_size,
        device="cpu",
        repeats=args.repeats,
    )


if __name__ == "__main__":
    main()
