"""Balanced accuracy on an imbalanced target (1:9), repeated stratified CV.

Target: bundled digits, 8 (minority, 20 images) against 3 (majority, 180
images). Compares EfficientNet-Lite0 ImageNet features + LinearSVC with and
without SMOTE (in feature space), and the fine-tuned CNN with and without
SMOTE (on pixel rows) or class weights.

    .venv/bin/python benchmarks/imbalanced.py [--splits 5] [--repeats 2]
        [--input-size 64] [--epochs N]

Without ``--epochs`` the fine-tuned rows use the library's default schedule
(its length set by the number of training images).
"""

from __future__ import annotations

import argparse

import numpy as np
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline
from sklearn.model_selection import RepeatedStratifiedKFold, cross_validate
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from sktransfer import CNNFeatureExtractor, PretrainedCNNClassifier
from sktransfer.datasets import load_digits_images


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--epochs", type=int, default=None, help="default: the recipe's schedule"
    )
    parser.add_argument("--input-size", type=int, default=64)
    args = parser.parse_args(argv)

    images, labels = load_digits_images()
    minority = np.flatnonzero(labels == 8)[:20]
    majority = np.flatnonzero(labels == 3)[:180]
    index = np.concatenate([minority, majority])
    X, y = images[index].reshape(len(index), -1), (labels[index] == 8).astype(int)

    def features():
        return CNNFeatureExtractor(
            "efficientnet_lite0", input_size=args.input_size, image_shape=(8, 8)
        )

    def cnn(**params):
        return PretrainedCNNClassifier(
            "efficientnet_lite0",
            input_size=args.input_size,
            image_shape=(8, 8),
            max_epochs=args.epochs,
            random_state=0,
            **params,
        )

    models = {
        "Lite0 features + LinearSVC": make_pipeline(
            features(), StandardScaler(), LinearSVC(random_state=0)
        ),
        "Lite0 features + SMOTE + LinearSVC": make_pipeline(
            features(),
            StandardScaler(),
            SMOTE(random_state=0),
            LinearSVC(random_state=0),
        ),
        "Lite0 fine-tuned": cnn(),
        "SMOTE (pixels) + Lite0 fine-tuned": make_pipeline(
            SMOTE(random_state=0), cnn()
        ),
        "Lite0 fine-tuned, class_weight='balanced'": cnn(class_weight="balanced"),
    }
    cv = RepeatedStratifiedKFold(
        n_splits=args.splits, n_repeats=args.repeats, random_state=0
    )
    print(
        f"digits 8 vs 3 at 1:9 ({len(y)} images), balanced accuracy over "
        f"{args.splits}x{args.repeats} repeated stratified CV, "
        f"{args.input_size} px, "
        + (f"{args.epochs} epochs" if args.epochs else "the default schedule")
        + "\n"
    )
    print("| model | balanced accuracy (mean ± SD) | fit time s |")
    print("|---|---|---|")
    for name, model in models.items():
        scores = cross_validate(model, X, y, cv=cv, scoring="balanced_accuracy")
        s = scores["test_score"]
        print(
            f"| {name} | {s.mean():.4f} ± {s.std():.4f} | "
            f"{scores['fit_time'].mean():.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
