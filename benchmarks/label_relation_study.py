"""Sawada & Kozuka's Tables II, IV and V on a real pair, over repeated seeds.

Source: Fashion-MNIST's 60,000 training images (the (784, 500, 500, 10)
network trained from scratch). Target: a small task on the bundled digits
with ``--per-class`` training images per class; the rest of those digits is
the test set.

    .venv/bin/python benchmarks/label_relation_study.py --classes 3 8 --per-class 20
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sktransfer.datasets import load_digits_images, load_fashion_mnist
from sktransfer.model_selection import format_table, label_relation_study


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, nargs="+", default=[3, 8])
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--source-epochs", type=int, default=None)
    parser.add_argument("--target-epochs", type=int, default=None)
    args = parser.parse_args(argv)

    X_source, y_source = load_fashion_mnist()
    digits, labels = load_digits_images()
    target = np.isin(labels, args.classes)
    start = time.perf_counter()
    result = label_relation_study(
        X_source,
        y_source,
        digits[target],
        labels[target],
        n_train_per_class=args.per_class,
        n_repeats=args.repeats,
        source_params={"max_epochs": args.source_epochs, "batch_size": 128},
        target_params={"max_epochs": args.target_epochs},
    )
    print(
        f"Source Fashion-MNIST (60,000), target digits {args.classes} with "
        f"{args.per_class} training images per class, {args.repeats} seeds, "
        f"{time.perf_counter() - start:.0f} s\n"
    )
    for table in ("II", "IV", "V"):
        print(f"Table {table}")
        print(format_table(result[table], ["method", "mean", "sd", "n_runs"]))
        print()


if __name__ == "__main__":
    main()
