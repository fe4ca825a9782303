"""Small tasks at photo sizes: what the recipe costs and scores on images of
112 px and more, which go into the network at the backbone's input size.

Tasks (EfficientNet-Lite0 with its ImageNet weights, offline):

* ``photos-3``: crops of three real photos (scikit-learn's temple and flower,
  matplotlib's portrait of Grace Hopper), one class per photo, 20 training
  crops per class (60 images), 50 test crops per class;
* ``regions-6``: the top and bottom halves of the same three photos as six
  classes (10 training crops each): two classes share a photo's colours;
* ``fashion-112``: Fashion-MNIST, 10 training images per class, scaled up
  from 28 to 112 px (a proxy for photos: the detail is still 28 px');
* ``digits-128``: the bundled digits, 10 per class, scaled up from 8 to
  128 px (a proxy, as above);
* ``stamps-4``: photographs of birds, fruit, flowers and vegetables, each
  a different one (Tux Paint's stamps: cut-out photos on white; Debian's
  ``tuxpaint-stamps-default``, GPL-2), 10 training images per class, the
  rest (8 to 25 a class) to test: near ImageNet;
* ``clipart-5``: drawings of mammals, birds, bugs, fruit and vehicles
  (Open Clip Art Library; Debian's ``openclipart-png``, public domain), 20
  training drawings per class, up to 25 to test: the same objects, drawn;
* ``shapes-4``: drawings of arrows, stars, jigsaw pieces and flowchart
  symbols (Open Clip Art Library, as above), 15 training drawings per
  class, up to 25 to test: far from ImageNet;
* ``topics-6``: six whole topics of the clip art (computer, shapes, signs
  and symbols, recreation, people, transportation), 200 training drawings
  per class (1,200 images, past the old rule's line of 1,000), up to 50 to
  test.

Any task can be shown another way, the same images in grey or at another
side: ``photos-3@grey``, ``stamps-4@64``, ``clipart-5@grey-64``,
``digits-128@64`` (``LOOKS``), so that a choice made from the images'
shape rather than their content shows itself.

The folder tasks read the packages' folders (``/usr/share/tuxpaint/stamps``,
``/usr/share/openclipart/png``; ``SKTRANSFER_STAMPS`` and
``SKTRANSFER_CLIPART`` name others): ``sudo apt-get install
tuxpaint-stamps-default openclipart-png``. Each seed draws its own training
images; a drawing with transparency is laid on white, padded with white to a
square and resized to 128 px (images over 20 million pixels, a few posters
of the clip art, are left out).

Each crop is a square of 112 to 200 px at a random place, resized to 128 px
(RGB). Training crops come from the left 55% of each photo (or half), test
crops from the right 45%: no test pixel was seen in training, and test
crops show parts of the scene that no training crop shows (the temple's
lake, the flower's dark leaves), as new photos of a class would.

Rows: a linear SVM on pixels; Lite0 features (at the library's input size)
+ LogisticRegression with C by cross-validation; ``freeze_upto="all"``; the
defaults (``freeze_upto="auto"``: a head on the frozen body for images
near the source, as their shift at the body's middle units says; a
fine-tune for digits); fine-tuning everything (``freeze_upto=0``, the
defaults before ``"auto"``), also at a fixed input size (``size-128``,
``size-160``, ``size-224``); a slow reference of it, input
224 px for 60 epochs (``slow``); and an oracle of it, the best test score over
input size (128, 160, 224) x learning rate (1e-3, 3e-3) x schedule (the
defaults' length with the convergence stop, and a fixed half of it: an
explicit ``max_epochs`` runs every epoch, so the half often costs more).
Each row prints the test score, the score on its own training images,
the fit seconds and their ratio to the default fit on 300 digits
(small_data.py's recipe at 64 px, measured first in the same run:
``--reference-seconds`` skips it).

    .venv/bin/python benchmarks/photo_data.py [--tasks ...] [--rows ...]
        [--seeds 3]
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from small_data import _LRCV_STABLE

from sktransfer import CNNFeatureExtractor, PretrainedCNNClassifier
from sktransfer._inputs._reading import read_image
from sktransfer._training._recipe import default_epochs
from sktransfer.baselines import linear_svm_on_pixels
from sktransfer.datasets import load_digits_images, load_fashion_mnist

BACKBONE = "efficientnet_lite0"
SIDE = 128  # of the photo crops
TRAIN_SHARE = 0.55  # of each photo's width, for training crops
# Folder tasks: the package's folder (and its environment variable), the
# classes and their sub-folders, training images per class, test images at
# most per class.
FOLDERS = {
    "stamps": (
        "/usr/share/tuxpaint/stamps",
        "SKTRANSFER_STAMPS",
        "tuxpaint-stamps-default",
    ),
    "clipart": ("/usr/share/openclipart/png", "SKTRANSFER_CLIPART", "openclipart-png"),
}
FOLDER_TASKS = {
    "stamps-4": (
        "stamps",
        {
            "bird": "animals/birds",
            "fruit": "food/fruit",
            "flower": "plants/flowers",
            "vegetable": "food/vegetables",
        },
        10,
        25,
    ),
    "clipart-5": (
        "clipart",
        {
            "mammal": "animals/mammals",
            "bird": "animals/birds",
            "bug": "animals/bugs",
            "fruit": "food/fruit",
            "vehicle": "transportation/vehicles",
        },
        20,
        25,
    ),
    "shapes-4": (
        "clipart",
        {
            "arrow": "shapes/arrows",
            "star": "shapes/stars",
            "jigsaw": "shapes/jigsaw",
            "flowchart": "shapes/flowchart",
        },
        15,
        25,
    ),
}
# More than 1,000 colour training images: whole topics of the clip art,
# where the old rule switched to fine-tuning by count alone.
FOLDER_TASKS["topics-6"] = (
    "clipart",
    {
        topic: topic
        for topic in (
            "computer",
            "shapes",
            "signs_and_symbols",
            "recreation",
            "people",
            "transportation",
        )
    },
    200,
    50,
)
TASKS = ("photos-3", "regions-6", "fashion-112", "digits-128", *FOLDER_TASKS)
# A task's images may be shown another way: ``task@grey`` (one channel),
# ``task@64`` (resized to 64 px a side, area resampling when shrinking),
# ``task@grey-64``; the same images, so a rule that reads the images' shape
# rather than their content shows itself in the table.
LOOKS = ("grey", "64", "grey-64", "128", "grey-128")
ROWS = (
    "svm",
    "features-cv",
    "all",
    "defaults",
    "fine-tune",
    "size-128",
    "size-160",
    "size-224",
    "slow",
    "oracle",
)
ROW_NAMES = {
    "svm": "linear SVM on pixels",
    "features-cv": "Lite0 features + LogisticRegression, C by CV",
    "all": 'freeze_upto="all"',
    "defaults": "defaults",
    "fine-tune": "freeze_upto=0 (fine-tune everything; the old defaults)",
    "size-128": "freeze_upto=0, input_size=128",
    "size-160": "freeze_upto=0, input_size=160",
    "size-224": "freeze_upto=0, input_size=224",
    "slow": "freeze_upto=0, input_size=224, max_epochs=60",
    "oracle": "oracle of fine-tuning (best of 12 on test)",
}


def sample_photos():
    """The three photos, as uint8 arrays (H, W, 3)."""
    from matplotlib import cbook
    from sklearn.datasets import load_sample_image

    with cbook.get_sample_data("grace_hopper.jpg") as stream:
        portrait = np.asarray(Image.open(stream).convert("RGB"))
    return {
        "temple": np.asarray(load_sample_image("china.jpg")),
        "flower": np.asarray(load_sample_image("flower.jpg")),
        "portrait": portrait,
    }


def crops(photo, n, rng, *, part):
    """``n`` crops of ``photo``, ``SIDE`` px square, from its left
    (``part="train"``) or right (``"test"``) part."""
    height, width = photo.shape[:2]
    split = int(width * TRAIN_SHARE)
    left, right = (0, split) if part == "train" else (split, width)
    largest = min(200, height, right - left)
    out = np.empty((n, SIDE, SIDE, 3), dtype=np.uint8)
    for i in range(n):
        side = int(rng.integers(112, largest + 1))
        top = int(rng.integers(0, height - side + 1))
        start = int(rng.integers(left, right - side + 1))
        piece = Image.fromarray(photo[top : top + side, start : start + side])
        out[i] = np.asarray(piece.resize((SIDE, SIDE), Image.Resampling.BILINEAR))
    return out


def photo_task(regions, per_class, n_test, seed):
    """Crops of the sample photos: one class per photo, or per half of a
    photo (``regions``)."""
    rng = np.random.default_rng(seed)
    parts = []
    for photo in sample_photos().values():
        if regions:
            middle = photo.shape[0] // 2
            parts += [photo[:middle], photo[middle:]]
        else:
            parts.append(photo)
    X_train, X_test, y_train, y_test = [], [], [], []
    for label, part in enumerate(parts):
        X_train.append(crops(part, per_class, rng, part="train"))
        X_test.append(crops(part, n_test, rng, part="test"))
        y_train += [label] * per_class
        y_test += [label] * n_test
    return (
        np.concatenate(X_train),
        np.concatenate(X_test),
        np.array(y_train),
        np.array(y_test),
    )


def scaled(images, side):
    """Grey images scaled up to ``side`` px (bilinear)."""
    return np.stack(
        [
            np.asarray(
                Image.fromarray(image).resize((side, side), Image.Resampling.BILINEAR)
            )
            for image in images
        ]
    )


def folder(source):
    """The folder of a package's images (``FOLDERS``), or an error that says
    how to install it."""
    default, variable, package = FOLDERS[source]
    root = Path(os.environ.get(variable, default))
    if not root.is_dir():
        raise FileNotFoundError(
            f"{root} not found: install Debian's {package} (sudo apt-get install "
            f"{package}) or set {variable} to a copy of its folder."
        )
    return root


def on_white(path):
    """An image file read as RGB by the library (transparency laid on
    white), padded with white to a square and resized to ``SIDE`` px, RGB
    uint8 (the library's ``resize="pad"`` pads with black)."""
    image = Image.fromarray(read_image(path, color="rgb"))
    side = max(image.size)
    square = Image.new("RGB", (side, side), (255, 255, 255))
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return np.asarray(square.resize((SIDE, SIDE), Image.Resampling.BILINEAR))


def _not_huge(path, pixels=20_000_000):
    """Whether the image has at most ``pixels`` (read off its header): the
    clip art holds a few posters of 100 million pixels and more."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                return image.width * image.height <= pixels
        except Image.DecompressionBombError:  # over twice Pillow's own limit
            return False


def folder_task(name, seed):
    """A folder task: per class, ``per_class`` training images drawn by
    ``seed`` and at most ``n_test`` of the others to test."""
    source, classes, per_class, n_test = FOLDER_TASKS[name]
    root = folder(source)
    rng = np.random.default_rng(seed)
    X_train, X_test, y_train, y_test = [], [], [], []
    for label, sub in enumerate(classes.values()):
        files = [f for f in sorted((root / sub).rglob("*.png")) if _not_huge(f)]
        if len(files) <= per_class:
            raise FileNotFoundError(
                f"{root / sub} holds {len(files)} PNG images; {name} needs more "
                f"than {per_class}."
            )
        files = [files[i] for i in rng.permutation(len(files))]
        X_train += [on_white(f) for f in files[:per_class]]
        X_test += [on_white(f) for f in files[per_class : per_class + n_test]]
        y_train += [label] * per_class
        y_test += [label] * len(files[per_class : per_class + n_test])
    return np.stack(X_train), np.stack(X_test), np.array(y_train), np.array(y_test)


def looked(images, look):
    """``images`` shown as ``look`` (one of ``LOOKS``): in grey (one channel,
    ITU-R 601-2 luma, as PIL's ``convert("L")``) and/or resized to a side
    (area resampling when shrinking, bilinear when enlarging)."""
    grey = look.startswith("grey")
    side = look.removeprefix("grey").strip("-")
    out = []
    for image in images:
        picture = Image.fromarray(image)
        if grey:
            picture = picture.convert("L")
        if side and picture.size != (int(side), int(side)):
            resample = (
                Image.Resampling.BOX
                if int(side) < picture.width
                else Image.Resampling.BILINEAR
            )
            picture = picture.resize((int(side), int(side)), resample)
        out.append(np.asarray(picture))
    return np.stack(out)


def check_task(name):
    """``name`` if it is a task, a task ``@`` a look, else a ValueError."""
    task, at, look = name.partition("@")
    if task not in TASKS or (at and look not in LOOKS):
        raise ValueError(
            f"unknown task {name!r}; expected one of {TASKS}, optionally "
            f"followed by @ and one of {LOOKS}"
        )
    return name


def load_task(name, seed):
    """Training and test images and labels of one task (``task@look``: shown
    as ``look``, see ``LOOKS``)."""
    task, _, look = check_task(name).partition("@")
    X_train, X_test, y_train, y_test = _load_task(task, seed)
    if look:
        X_train, X_test = looked(X_train, look), looked(X_test, look)
    return X_train, X_test, y_train, y_test


def _load_task(name, seed):
    if name in FOLDER_TASKS:
        return folder_task(name, seed)
    if name == "photos-3":
        return photo_task(False, 20, 50, seed)
    if name == "regions-6":
        return photo_task(True, 10, 25, seed)
    if name == "fashion-112":
        X, y = load_fashion_mnist()
        X_test, y_test = load_fashion_mnist(subset="test")
        X_train, _, y_train, _ = train_test_split(
            X, y, train_size=100, stratify=y, random_state=seed
        )
        test = np.random.default_rng(0).choice(len(y_test), 1000, replace=False)
        return scaled(X_train, 112), scaled(X_test[test], 112), y_train, y_test[test]
    if name == "digits-128":
        X, y = load_digits_images()
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, train_size=100, stratify=y, random_state=seed
        )
        return scaled(X_train, 128), scaled(X_test[:500], 128), y_train, y_test[:500]
    raise AssertionError(name)  # check_task let through a task it should not


def cnn(seed, **params):
    return PretrainedCNNClassifier(BACKBONE, random_state=seed, **params)


def oracle_grid(n_train):
    """Input size x learning rate x schedule length (the defaults', with
    the stop; half of it, fixed)."""
    half = max(5, default_epochs(n_train, 32) // 2)
    for size, lr, epochs in itertools.product(
        (128, 160, 224), (1e-3, 3e-3), (None, half)
    ):
        yield {"input_size": size, "lr": lr, "max_epochs": epochs}


def run_row(row, X_train, X_test, y_train, y_test, seed):
    """[(test accuracy, train accuracy, fit seconds, params)] of one row."""

    def measure(model, rows=False, params=None):
        a, b = (X_train, X_test)
        if rows:
            a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
        start = time.perf_counter()
        model.fit(a, y_train)
        fit_time = time.perf_counter() - start
        return (
            accuracy_score(y_test, model.predict(b)),
            accuracy_score(y_train, model.predict(a)),
            fit_time,
            params,
        )

    if row == "svm":
        return [measure(linear_svm_on_pixels(), rows=True)]
    if row == "features-cv":
        model = make_pipeline(
            CNNFeatureExtractor(BACKBONE),
            StandardScaler(),
            LogisticRegressionCV(Cs=10, cv=3, max_iter=2000, **_LRCV_STABLE),
        )
        return [measure(model)]
    if row == "all":
        return [measure(cnn(seed, freeze_upto="all"))]
    if row == "defaults":
        return [measure(cnn(seed))]
    if row == "fine-tune":
        return [measure(cnn(seed, freeze_upto=0))]
    if row.startswith("size-"):
        size = int(row.removeprefix("size-"))
        return [measure(cnn(seed, freeze_upto=0, input_size=size))]
    if row == "slow":
        return [measure(cnn(seed, freeze_upto=0, input_size=224, max_epochs=60))]
    if row == "oracle":
        results = [
            measure(cnn(seed, freeze_upto=0, **params), params=params)
            for params in oracle_grid(len(y_train))
        ]
        return [max(results, key=lambda result: result[0])]
    raise ValueError(f"unknown row {row!r}; expected one of {ROWS}")


def reference_seconds(seed=0):
    """Seconds of the default fit on 300 digits at 64 px (small_data.py's
    recipe), the yardstick of the fit times here."""
    X, y = load_digits_images()
    X_train, _, y_train, _ = train_test_split(
        X, y, train_size=300, stratify=y, random_state=seed
    )
    start = time.perf_counter()
    cnn(seed, input_size=64).fit(X_train, y_train)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tasks",
        nargs="+",
        default=list(TASKS),
        type=check_task,
        help=f"of {TASKS}, each optionally @ one of {LOOKS}",
    )
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--oracle-seeds", type=int, default=1)
    parser.add_argument(
        "--reference-seconds",
        type=float,
        help="the default fit on 300 digits, if measured already (skips it)",
    )
    args = parser.parse_args(argv)
    for task in args.tasks:  # a missing package is said before any fit
        if task.partition("@")[0] in FOLDER_TASKS:
            folder(FOLDER_TASKS[task.partition("@")[0]][0])

    reference = args.reference_seconds or reference_seconds()
    print(
        f"{BACKBONE} ImageNet weights, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; mean ± SD over {args.seeds} seeds "
        f"(oracle: {args.oracle_seeds}); the default fit on 300 digits at 64 px: "
        f"{reference:.1f} s\n"
    )
    for task in args.tasks:
        print(f"### {task}\n")
        print("| row | test accuracy | train accuracy | fit s | fit / 300 digits |")
        print("|---|---|---|---|---|")
        for row in args.rows:
            runs = []
            for seed in range(args.oracle_seeds if row == "oracle" else args.seeds):
                data = load_task(task, seed)
                torch.manual_seed(seed)
                runs += run_row(row, *data, seed)
            test, train, fit = (np.array([r[i] for r in runs]) for i in range(3))
            extra = f" {[r[3] for r in runs]}" if row == "oracle" else ""
            print(
                f"| {ROW_NAMES[row]}{extra} | {test.mean():.4f} ± {test.std():.4f} "
                f"| {train.mean():.4f} | {fit.mean():.1f} "
                f"| {fit.mean() / reference:.2f}x |",
                flush=True,
            )
        print()


if __name__ == "__main__":
    main()
