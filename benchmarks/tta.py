"""Test-time augmentation: does averaging over flips or rotations help?

EfficientNet-Lite0 (ImageNet weights, 64 px) fitted with the defaults on
``small_data.py``'s tasks; each fit predicts the test images without TTA and
with ``tta="flip"``, ``"rot90"`` and ``"flip_rot90"`` (set after the fit: TTA
changes prediction only); ``--augment`` trains with that augmentation
first, as fastai's ``tta`` assumes. Mean ± SD over ``--seeds``, and predict time
relative to no TTA.

    .venv/bin/python benchmarks/tta.py [--tasks fashion-10 digits-10] [--seeds 3]
        [--augment flip] [--max-epochs N] [--n-test N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from small_data import TASKS, cnn, load_task

MODES = (None, "flip", "rot90", "flip_rot90")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["fashion-10", "digits-10"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-epochs", type=int, help="override the recipe (tests: 1)")
    parser.add_argument(
        "--n-test", type=int, help="predict only the first N test images (tests)"
    )
    parser.add_argument(
        "--augment",
        choices=("flip", "rot90", "standard"),
        help="train with this augmentation (default: none, the recipe's)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.tasks) - set(TASKS)
    if unknown:
        parser.error(f"unknown tasks {sorted(unknown)}; expected some of {TASKS}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    for task in args.tasks:
        scores = {mode: [] for mode in MODES}
        times = {mode: [] for mode in MODES}
        for seed in range(args.seeds):
            X_train, X_test, y_train, y_test, score = load_task(task, seed)
            X_test, y_test = X_test[: args.n_test], y_test[: args.n_test]
            torch.manual_seed(seed)
            model = cnn(seed, max_epochs=args.max_epochs, augment=args.augment)
            model.fit(X_train, y_train)
            for mode in MODES:
                model.set_params(tta=mode)
                start = time.perf_counter()
                predicted = model.predict(X_test)
                times[mode].append(time.perf_counter() - start)
                scores[mode].append(score(y_test, predicted))
        print(f"### {task}, trained with augment={args.augment}\n")
        print("| tta | test score | predict time vs none |")
        print("|---|---|---|")
        for mode in MODES:
            s = np.array(scores[mode])
            ratio = np.sum(times[mode]) / np.sum(times[None])
            print(f"| {mode} | {s.mean():.4f} ± {s.std():.4f} | {ratio:.1f}x |")
        print(flush=True)


if __name__ == "__main__":
    main()
