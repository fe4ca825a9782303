"""The ``sktransfer`` command."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

__all__ = ["main"]


def _demo(args):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    from . import PretrainedCNNClassifier

    X, y = load_digits(return_X_y=True)
    images = (X.reshape(-1, 8, 8) * (255 / 16)).round().astype(np.uint8)
    X_train, X_test, y_train, y_test = train_test_split(
        images, y, test_size=0.3, stratify=y, random_state=args.seed
    )
    models = {
        "linear SVM on raw pixels": make_pipeline(StandardScaler(), LinearSVC()),
        "small_cnn from scratch": PretrainedCNNClassifier(
            "small_cnn",
            input_size=32,
            max_epochs=args.epochs,
            random_state=args.seed,
            device=args.device,
        ),
        f"{args.backbone} fine-tuned": PretrainedCNNClassifier(
            args.backbone,
            input_size=args.input_size,
            max_epochs=args.epochs,
            random_state=args.seed,
            device=args.device,
        ),
    }
    print(
        f"Bundled digits: {len(X_train)} training / {len(X_test)} test images, "
        f"8x8 grayscale, 10 classes\n"
    )
    print(f"| {'model':<36} | test accuracy | fit time (s) |")
    print(f"|{'-' * 38}|---------------|--------------|")
    for name, model in models.items():
        fit_X = X_train.reshape(len(X_train), -1) if "SVM" in name else X_train
        test_X = X_test.reshape(len(X_test), -1) if "SVM" in name else X_test
        start = time.perf_counter()
        model.fit(fit_X, y_train)
        elapsed = time.perf_counter() - start
        accuracy = float(np.mean(model.predict(test_X) == y_test))
        print(f"| {name:<36} | {accuracy:13.4f} | {elapsed:12.1f} |", flush=True)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sktransfer",
        description="Transfer learning of CNNs for small image datasets.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="fine-tune a pretrained CNN on the bundled digits and compare it "
        "with a linear SVM on raw pixels",
    )
    demo.add_argument("--backbone", default="efficientnet_lite0")
    demo.add_argument("--input-size", type=int, default=64)
    demo.add_argument("--epochs", type=int, default=5)
    demo.add_argument("--device", default="auto")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(run=_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
