"""A large folder of real images from paths against the same images as arrays:
peak memory and images per second.

Writes Fashion-MNIST's images (training and test: 70,000) as JPEG files of
``--side`` px (224 by default) into class folders, then, each route in a fresh
process so that its peak resident set size (RSS) is its own:

* ``paths``: ``list_image_folder`` then ``fit`` of ``freeze_upto="all"`` on
  the paths (``--n-fit`` of them; all by default), which reads them a batch at
  a time, and ``predict`` on all of them (read 2,048 files at a time);
* ``arrays``: the same, with the images decoded into one array first
  (``load_image_folder``), on the first ``--n-array`` images, a subset that
  fits in memory (the whole folder at 224 px would be 10.5 GB of images).

Both routes are also run side by side on the same subset, so that their
images per second compare at equal size (the ratio row). Each row prints the
fit seconds, the prediction's images per second and the peak RSS.

    .venv/bin/python benchmarks/large_folder.py                     # 70,000 images
    .venv/bin/python benchmarks/large_folder.py --n 5000 --n-array 2000
    .venv/bin/python benchmarks/large_folder.py --tiny              # the test's run

Needs Debian's ``dataset-fashion-mnist`` (or ``--data-home``); ``--folder``
keeps the written folder between runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

CHILD = r"""
import json, resource, sys, time
import numpy as np
from sktransfer import PretrainedCNNClassifier
from sktransfer.datasets import list_image_folder, load_image_folder

folder, route, n, n_fit, backbone = sys.argv[1:6]
n, n_fit = int(n), int(n_fit)
paths, y = list_image_folder(folder)
order = np.random.default_rng(0).permutation(len(paths))[:n]
paths, y = paths[order], y[order]
if route == "arrays":
    # As a user would: every image decoded into one array, then used.
    X, y_all, all_paths = load_image_folder(folder, return_paths=True)
    position = {p: i for i, p in enumerate(all_paths)}
    X = X[[position[p] for p in paths]]
else:
    X = paths
clf = PretrainedCNNClassifier(backbone, freeze_upto="all", random_state=0)
start = time.perf_counter()
clf.fit(X[:n_fit], y[:n_fit])
fit_s = time.perf_counter() - start
start = time.perf_counter()
labels = clf.predict(X)
predict_s = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({
    "fit_s": fit_s, "images_per_s": len(labels) / predict_s, "peak_mib": peak,
    "accuracy": float(np.mean(labels == y)),
}))
"""


def write_folder(folder, n, side, data_home=None):
    """Fashion-MNIST's first ``n`` images (training, then test) as JPEG of
    ``side`` px in class folders under ``folder`` (kept if complete)."""
    from sktransfer.datasets import FASHION_MNIST_CLASSES, load_fashion_mnist

    folder = Path(folder)
    done = folder / f".complete-{n}-{side}"
    if done.exists():
        return folder
    X_train, y_train = load_fashion_mnist(data_home, subset="train")
    X_test, y_test = load_fashion_mnist(data_home, subset="test")
    X, y = np.concatenate([X_train, X_test])[:n], np.concatenate([y_train, y_test])[:n]
    names = [name.replace("/", "-") for name in FASHION_MNIST_CLASSES]
    for i, (image, label) in enumerate(zip(X, y, strict=True)):
        big = Image.fromarray(image).resize((side, side), Image.Resampling.BILINEAR)
        (folder / names[int(label)]).mkdir(parents=True, exist_ok=True)
        big.save(folder / names[int(label)] / f"{i:05d}.jpg", quality=90)
    done.touch()
    return folder


def measure(folder, route, n, n_fit, backbone):
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), route, str(n), str(n_fit), backbone],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{route} on {n} images failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(folder, n, n_array, n_fit, backbone):
    """The table's rows: ``(label, n, result)``."""
    rows = []
    for label, route, count in (
        ("paths", "paths", n),
        ("arrays, the subset", "arrays", n_array),
        ("paths, the subset", "paths", n_array),
    ):
        rows.append((label, count, measure(folder, route, count, n_fit, backbone)))
        # Each row as it comes: a long run that is stopped keeps what it measured.
        print(f"{label}, {count:,} images: {json.dumps(rows[-1][2])}", flush=True)
    return rows


def table(rows, side):
    lines = [
        f"Fashion-MNIST as JPEG of {side} px; freeze_upto='all'; each row a fresh "
        "process",
        "",
        "| route | images | fit s | predict images/s | peak RSS MiB | accuracy |",
        "|---|---|---|---|---|---|",
    ]
    for label, n, r in rows:
        lines.append(
            f"| {label} | {n:,} | {r['fit_s']:.1f} | {r['images_per_s']:.1f} | "
            f"{r['peak_mib']:.0f} | {r['accuracy']:.3f} |"
        )
    paths, arrays = rows[2][2], rows[1][2]
    ratio = paths["images_per_s"] / arrays["images_per_s"]
    lines += ["", f"paths / arrays, images per second on the subset: {ratio:.2f}x"]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=70_000)
    parser.add_argument("--n-array", type=int, default=10_000)
    parser.add_argument("--n-fit", type=int, help="images fitted (default: all)")
    parser.add_argument("--side", type=int, default=224)
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--folder", help="where the JPEG files go (kept)")
    parser.add_argument("--data-home", help="Fashion-MNIST's IDX files")
    parser.add_argument(
        "--tiny", action="store_true", help="60 images of 32 px, small_cnn (tests)"
    )
    args = parser.parse_args(argv)
    if args.tiny:
        args.n, args.n_array, args.n_fit, args.side = 60, 40, 30, 32
        args.backbone = "small_cnn"
    args.n_fit = args.n if args.n_fit is None else args.n_fit
    with tempfile.TemporaryDirectory() as scratch:
        folder = write_folder(args.folder or scratch, args.n, args.side, args.data_home)
        rows = run(folder, args.n, args.n_array, args.n_fit, args.backbone)
    print(table(rows, args.side))
    return rows


if __name__ == "__main__":
    main()
