"""Accuracy and fit time on the bundled digits, stratified 5-fold CV.

Prints mean +- SD over the folds (fixed seeds) for a linear SVM on raw pixels,
``small_cnn`` trained from scratch, and EfficientNet-Lite0 with its ImageNet
weights, frozen (feature extraction) and fine-tuned.

    .venv/bin/python benchmarks/digits_cv.py [--folds 5] [--epochs 10]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from sktransfer import PretrainedCNNClassifier


def models(epochs, seed):
    return {
        "linear SVM on raw pixels": (
            make_pipeline(StandardScaler(), LinearSVC(random_state=seed)),
            "rows",
        ),
        "small_cnn from scratch": (
            PretrainedCNNClassifier(
                "small_cnn",
                input_size=32,
                max_epochs=epochs,
                lr=1e-3,
                random_state=seed,
            ),
            "images",
        ),
        "efficientnet_lite0 frozen (freeze_upto='all')": (
            PretrainedCNNClassifier(
                "efficientnet_lite0",
                input_size=64,
                freeze_upto="all",
                max_epochs=epochs,
                lr=1e-2,
                random_state=seed,
            ),
            "images",
        ),
        "efficientnet_lite0 fine-tuned": (
            PretrainedCNNClassifier(
                "efficientnet_lite0",
                input_size=64,
                max_epochs=epochs,
                lr=1e-3,
                random_state=seed,
            ),
            "images",
        ),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    images = (X.reshape(-1, 8, 8) * (255 / 16)).round().astype(np.uint8)
    cv = StratifiedKFold(args.folds, shuffle=True, random_state=args.seed)
    print(
        f"Bundled digits ({len(y)} images, 8x8, 10 classes), stratified "
        f"{args.folds}-fold CV, {args.epochs} epochs, seed {args.seed}\n"
    )
    print(f"| {'model':<46} | accuracy (mean ± SD) | fit time s (mean ± SD) |")
    print(f"|{'-' * 48}|----------------------|------------------------|")
    for name, (model, kind) in models(args.epochs, args.seed).items():
        data = images.reshape(len(images), -1) if kind == "rows" else images
        scores = cross_validate(model, data, y, cv=cv)
        acc, fit = scores["test_score"], scores["fit_time"]
        print(
            f"| {name:<46} | {acc.mean():.4f} ± {acc.std():.4f}      "
            f"| {fit.mean():8.1f} ± {fit.std():6.1f}      |",
            flush=True,
        )


if __name__ == "__main__":
    main()
