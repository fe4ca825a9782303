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

from .._inputs import fitted_image_shape
from .._model_files import load_model
from .._runtime import written_whole
from ..datasets import load_images

__all__ = ["add_predict_parser", "predict_images"]

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
when it has several). The CSV is written under a temporary name and renamed
once whole, so an error leaves an earlier file as it was. Of an animated or
multi-page image, the first frame is read, with a warning.
"""

PREDICT_EPILOG = """\
examples:
  sktransfer predict model.sktransfer new_photos/
  sktransfer predict model.sktransfer a.jpg b.png --out -        # CSV to stdout
  sktransfer predict model.sktransfer scans/ --resize pad --out scans.csv
"""


def predict_images(
    model, sources, *, image_size=None, resize="stretch", color=None, progress=False
):
    """Rows ``{path, label, proba_<class>...}`` for the images of ``sources``;
    the label is the most probable class (``predict`` without probabilities).
    For a regressor, ``{path, prediction}`` (``prediction_<j>`` per target
    when it predicts several).

    ``image_size`` and ``color`` default to the model's fitted image shape.
    """
    shape = fitted_image_shape(model)
    if image_size is None and shape is not None:
        image_size = shape[1:]
    if color is None:
        color = {1: "grey", 3: "rgb"}.get(shape[0], "auto") if shape else "auto"
    source = sources[0] if len(sources) == 1 else list(sources)
    X, paths = load_images(
        source, image_size, resize=resize, color=color, progress=progress
    )
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


def _summary(rows):
    """What the rows hold, in a few words: the count per label, or the range
    of each predicted target."""
    if "label" in rows[0]:
        counts = {}
        for row in rows:
            counts[row["label"]] = counts.get(row["label"], 0) + 1
        summary = ", ".join(f"{label}: {n}" for label, n in sorted(counts.items()))
        return f"Labelled {len(rows)} images ({summary})"
    ranges = []
    for name in list(rows[0])[1:]:
        values = [row[name] for row in rows]
        ranges.append(
            f"{name}: mean {sum(values) / len(values):.4g}, "
            f"min {min(values):.4g}, max {max(values):.4g}"
        )
    return f"Predicted {len(rows)} images ({'; '.join(ranges)})"


def _write_csv(rows, stream):
    writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)


def _check_names(rows):
    """Every path can be written as UTF-8 text (a file name of other bytes,
    which Python reads with surrogate escapes, cannot)."""
    for row in rows:
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
    rows = predict_images(
        model,
        args.images,
        image_size=(args.image_size, args.image_size) if args.image_size else None,
        resize=args.resize,
        color=args.color,
        progress="auto",
    )
    _check_names(rows)
    if out is None:
        _write_csv(rows, sys.stdout)
        return 0
    with written_whole(out, "w", newline="", encoding="utf-8") as stream:
        _write_csv(rows, stream)
    print(f"{_summary(rows)}; wrote {out}")
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
