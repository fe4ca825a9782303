"""``sktransfer predict MODEL IMAGES``: label new images with a saved model
and write a CSV of path, label and class probabilities (a regressor's
predicted values)."""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np
from sklearn.base import is_regressor
from tqdm.auto import tqdm

from .._inputs import files_per_chunk, fitted_image_shape, scan_image_files
from .._model_files import load_model
from .._runtime import written_whole
from ..datasets import list_images, load_images

__all__ = ["add_predict_parser", "iter_prediction_rows", "predict_images"]

PREDICT_DESCRIPTION = """\
Label new images with a model saved by `sktransfer study --save-model FILE`
or `sktransfer.save_model(model, FILE)`; the file is checked and loaded as
`sktransfer.load_model` does (a pickle is refused: see `sktransfer convert`).
IMAGES is a folder (its image files,
not sub-folders) or image files. The images are read as the model's training
images were (its channels, resized to its fitted height and width; the
network then resizes them to its input size as in training). Writes a CSV of
path, label and one probability column per class; for a regressor, path and
the predicted value (one column per target: prediction_0, prediction_1, ...
when it has several). A folder of any size takes bounded memory: every
file's header is checked first (all broken files named in one error, before
any prediction), then the images are read and predicted a chunk at a time
(2,048 files, fewer when that is over 103 MB of pixels: 682 RGB images of
224 px) and their rows written as they come. The CSV is written under a temporary name
and renamed once whole, so an error leaves an earlier file as it was. Of an
animated or multi-page image, the first frame is read, with a warning.
"""

PREDICT_EPILOG = """\
examples:
  sktransfer predict model.sktransfer new_photos/
  sktransfer predict model.sktransfer a.jpg b.png --out -        # CSV to stdout
  sktransfer predict model.sktransfer scans/ --resize pad --out scans.csv
"""


def iter_prediction_rows(
    model,
    sources,
    *,
    image_size=None,
    resize="stretch",
    color=None,
    progress=False,
    chunk=None,
):
    """Rows ``{path, label, proba_<class>...}`` for the images of ``sources``,
    yielded ``chunk`` files at a time (by default as many as
    :func:`~sktransfer._inputs.files_per_chunk` allows at the size they are
    read at), so that a folder of any size takes bounded memory; the label
    is the most probable class (``predict`` without probabilities). For a
    regressor, ``{path, prediction}`` (``prediction_<j>`` per target when it
    predicts several).

    ``image_size`` and ``color`` default to the model's fitted image shape.
    """
    shape = fitted_image_shape(model)
    if image_size is None and shape is not None:
        image_size = shape[1:]
    if color is None:
        color = {1: "grey", 3: "rgb"}.get(shape[0], "auto") if shape else "auto"
    files = list_images(sources[0] if len(sources) == 1 else list(sources))
    if chunk is None:
        channels = 1 if color == "grey" else 3  # "auto": as many as RGB
        side = np.broadcast_to(image_size, 2).tolist() if image_size else None
        chunk = files_per_chunk((channels, *side) if side else None)
    show = progress is True or (progress == "auto" and len(files) >= 500)
    if len(files) > chunk:  # a broken file is named before any prediction
        scan_image_files(files.tolist(), where="`IMAGES`", progress=progress)
    with tqdm(total=len(files), desc="predicting", disable=not show) as bar:
        for start in range(0, len(files), chunk):
            part = files[start : start + chunk].tolist()
            X, paths = load_images(
                part, image_size, resize=resize, color=color, progress=False
            )
            yield from _rows(model, X, paths)
            bar.update(len(part))


def predict_images(model, sources, **options):
    """Every row of :func:`iter_prediction_rows`, as a list."""
    return list(iter_prediction_rows(model, sources, **options))


def _rows(model, X, paths):
    if is_regressor(model):
        return _regression_rows(paths, model.predict(X))
    if not hasattr(model, "predict_proba"):
        labels = model.predict(X)
        return [
            {"path": path, "label": label}
            for path, label in zip(paths, labels, strict=True)
        ]
    # One pass through the model: the label is the most probable class.
    proba = model.predict_proba(X)
    classes = np.asarray(model.classes_).tolist()
    rows = []
    for path, p in zip(paths, proba, strict=True):
        row = {"path": path, "label": classes[int(p.argmax())]}
        row.update({f"proba_{c}": f"{v:.6f}" for c, v in zip(classes, p, strict=True)})
        rows.append(row)
    return rows


def _regression_rows(paths, predictions):
    predictions = np.asarray(predictions, dtype=float)
    if predictions.ndim == 1:
        names, predictions = ["prediction"], predictions[:, None]
    else:
        names = [f"prediction_{j}" for j in range(predictions.shape[1])]
    return [
        {"path": path, **{name: float(v) for name, v in zip(names, row, strict=True)}}
        for path, row in zip(paths, predictions, strict=True)
    ]


class _Summary:
    """What the rows written hold, in a few words, kept as they pass: the
    count per label, or the range of each predicted target."""

    def __init__(self):
        self.n, self.counts, self.ranges = 0, {}, {}

    def add(self, row):
        self.n += 1
        if "label" in row:
            self.counts[row["label"]] = self.counts.get(row["label"], 0) + 1
            return
        for name in list(row)[1:]:
            total, low, high = self.ranges.get(name, (0.0, np.inf, -np.inf))
            value = row[name]
            self.ranges[name] = (total + value, min(low, value), max(high, value))

    def __str__(self):
        if self.counts:
            counts = sorted(self.counts.items(), key=lambda item: str(item[0]))
            summary = ", ".join(f"{label}: {n}" for label, n in counts)
            return f"Labelled {self.n} images ({summary})"
        ranges = "; ".join(
            f"{name}: mean {total / self.n:.4g}, min {low:.4g}, max {high:.4g}"
            for name, (total, low, high) in self.ranges.items()
        )
        return f"Predicted {self.n} images ({ranges})"


def _write_rows(rows, stream):
    """Write ``rows`` as CSV as they come; returns their :class:`_Summary`."""
    summary, writer = _Summary(), None
    for row in rows:
        _check_name(row)
        if writer is None:
            writer = csv.DictWriter(stream, fieldnames=list(row))
            writer.writeheader()
        writer.writerow(row)
        summary.add(row)
    return summary


def _check_name(row):
    """The row's path can be written as UTF-8 text (a file name of other
    bytes, which Python reads with surrogate escapes, cannot)."""
    try:
        str(row["path"]).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"`IMAGES`: the file name {os.fsencode(row['path'])!r} is not "
            "UTF-8, so it cannot be written to the CSV; rename the file."
        ) from None


def _predict(args):
    out = None if args.out == "-" else Path(args.out)
    if out is not None and not out.parent.is_dir():
        raise FileNotFoundError(
            f"`--out` {out}: the folder {out.parent} does not exist; create it first."
        )
    params = {"device": args.device} if args.device else None
    model = load_model(args.model, params=params)
    rows = iter_prediction_rows(
        model,
        args.images,
        image_size=(args.image_size, args.image_size) if args.image_size else None,
        resize=args.resize,
        color=args.color,
        progress="auto",
    )
    if out is None:
        _write_rows(rows, sys.stdout)
        return 0
    # Rows are written as they come; the CSV appears whole, or not at all.
    with written_whole(out, "w", newline="", encoding="utf-8") as stream:
        summary = _write_rows(rows, stream)
    print(f"{summary}; wrote {out}")
    return 0


def add_predict_parser(commands):
    predict = commands.add_parser(
        "predict",
        help="label new images (or predict a regressor's values) with a saved "
        "model, as a CSV",
        description=PREDICT_DESCRIPTION,
        epilog=PREDICT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict.add_argument("model", metavar="MODEL", help="a file from save_model")
    predict.add_argument(
        "images", metavar="IMAGES", nargs="+", help="a folder of images, or files"
    )
    predict.add_argument(
        "--out",
        default="predictions.csv",
        help="CSV to write (default: predictions.csv; - for stdout)",
    )
    predict.add_argument(
        "--image-size",
        type=int,
        metavar="PX",
        help="read images at PX x PX (default: the model's fitted size)",
    )
    predict.add_argument(
        "--resize",
        choices=("stretch", "crop", "pad"),
        default="stretch",
        help="how images of another aspect ratio are resized (default: stretch, "
        "as load_image_folder)",
    )
    predict.add_argument(
        "--device",
        help="where the model runs, e.g. cpu or cuda (default: the model's own, "
        "the CPU where it has no GPU); the program decides, never the file",
    )
    predict.add_argument(
        "--color",
        choices=("auto", "grey", "rgb"),
        default=None,
        help="channels to read (default: the model's)",
    )
    predict.set_defaults(run=_predict)
    return predict
