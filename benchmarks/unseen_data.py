"""Data nobody here has tuned on: do the defaults land on the best route?

scikit-image's sample data (``pip install scikit-image``; the package is
BSD-3, its photographs public domain or CC0), none of it used to choose
anything in the library:

* ``photos-5@40``, ``photos-5@grey-40``: crops of five photographs (an
  astronaut, coffee, a cat, a rocket, a stained tissue slide), one class per
  photograph, 12 training crops each from the left 55% and 30 test crops
  from the right 45% (squares of a quarter to a half of the photo's height),
  at 40 px, in colour and in grey;
* ``faces@25``: its LFW subset, 100 faces and 100 non-faces of 25 px, 20 a
  class to train, the rest to test;
* ``textures-4@grey-32``: brick, grass, gravel and the moon's surface, 32-px
  crops, 10 a class to train (left 55%), 30 to test (right 45%).

Rows: the defaults (the route ``freeze_upto="auto"`` chose, its measured
shift and the input side are printed), the frozen body (``"all"``) at 64 px
(``input_size=64``, where frozen bodies took small images before), the
frozen body at the library's side, fine-tuning everything
(``freeze_upto=0``) and Lite0 features + LogisticRegression with C by
cross-validation. Test accuracy, mean ± SD over seeds, mean fit seconds.

    .venv/bin/python benchmarks/unseen_data.py [--tasks ...] [--seeds 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from PIL import Image
from sklearn.linear_model import LogisticRegressionCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from small_data import _LRCV_STABLE

from sktransfer import CNNFeatureExtractor, PretrainedCNNClassifier

TASKS = ("photos-5@40", "photos-5@grey-40", "faces@25", "textures-4@grey-32")
ROWS = {
    "defaults": {},
    "all@64": {"freeze_upto": "all", "input_size": 64},
    "all": {"freeze_upto": "all"},
    "fine-tune": {"freeze_upto": 0},
    "features-cv": None,
}


def sample_data():
    """scikit-image's ``data`` module, or an error that says how to get it."""
    try:
        import skimage.data
    except ImportError as error:
        raise SystemExit(
            "unseen_data.py reads scikit-image's sample data: pip install scikit-image"
        ) from error
    return skimage.data


def crops(image, n, rng, left, side):
    """``n`` random square crops of ``image`` resized to ``side`` px: from
    its left 55% (``left``) or its right 45%, each a quarter to a half of
    the height of that part."""
    height, width = image.shape[:2]
    start, stop = (0, int(0.55 * width)) if left else (int(0.55 * width), width)
    most = min(height, stop - start)
    out = []
    for _ in range(n):
        size = int(rng.integers(most // 4, most // 2 + 1))
        x = int(rng.integers(start, stop - size + 1))
        y = int(rng.integers(0, height - size + 1))
        crop = Image.fromarray(image[y : y + size, x : x + size])
        out.append(np.asarray(crop.resize((side, side), Image.BILINEAR)))
    return np.stack(out)


def _crop_task(images, n_train, n_test, side, rng, grey=False):
    X_train = np.concatenate([crops(im, n_train, rng, True, side) for im in images])
    X_test = np.concatenate([crops(im, n_test, rng, False, side) for im in images])
    if grey:
        X_train, X_test = (
            np.stack([np.asarray(Image.fromarray(x).convert("L")) for x in X])
            for X in (X_train, X_test)
        )
    y_train = np.repeat(np.arange(len(images)), n_train)
    y_test = np.repeat(np.arange(len(images)), n_test)
    return X_train, X_test, y_train, y_test


def load_task(name, seed):
    """Training and test images and labels of one task."""
    data, rng = sample_data(), np.random.default_rng(seed)
    if name.startswith("photos-5"):
        photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
        photos.append(data.immunohistochemistry())
        return _crop_task(photos, 12, 30, 40, rng, grey="grey" in name)
    if name == "faces@25":
        X = (data.lfw_subset() * 255).round().astype(np.uint8)
        y = np.repeat([1, 0], 100)
        train = np.concatenate(
            [
                rng.choice(100, 20, replace=False),
                100 + rng.choice(100, 20, replace=False),
            ]
        )
        test = np.setdiff1d(np.arange(200), train)
        return X[train], X[test], y[train], y[test]
    if name == "textures-4@grey-32":
        textures = [data.brick(), data.grass(), data.gravel(), data.moon()]
        return _crop_task(textures, 10, 30, 32, rng)
    raise ValueError(f"unknown task {name!r}; expected one of {TASKS}")


def model(row, seed):
    if ROWS[row] is None:
        return make_pipeline(
            CNNFeatureExtractor(),
            StandardScaler(),
            LogisticRegressionCV(Cs=10, cv=3, max_iter=2000, **_LRCV_STABLE),
        )
    return PretrainedCNNClassifier(random_state=seed, **ROWS[row])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    for task in args.tasks:
        print(f"### {task}\n\n| row | test accuracy | fit s |\n|---|---|---|")
        for row in args.rows:
            scores, seconds, chosen = [], [], []
            for seed in range(args.seeds):
                X_train, X_test, y_train, y_test = load_task(task, seed)
                torch.manual_seed(seed)
                estimator = model(row, seed)
                start = time.perf_counter()
                estimator.fit(X_train, y_train)
                seconds.append(time.perf_counter() - start)
                scores.append(float((estimator.predict(X_test) == y_test).mean()))
                if row == "defaults":
                    frozen = estimator.n_frozen_ == len(estimator.layer_names_)
                    chosen.append(
                        f"{'all' if frozen else estimator.n_frozen_} at "
                        f"{estimator.input_size_} px, shift "
                        f"{estimator.auto_shift_ or float('nan'):.2f}"
                    )
            said = f" ({'; '.join(chosen)})" if chosen else ""
            print(
                f"| {row}{said} | {np.mean(scores):.3f} ± {np.std(scores):.3f} "
                f"| {np.mean(seconds):.1f} |",
                flush=True,
            )
        print()


if __name__ == "__main__":
    main()
