"""Labels: validated, and encoded as positions in ``classes_``.

The one place that knows what a classifier accepts as ``y``: labels of any
type (ints, strings), in any container, one per image; the order of
``classes_`` (sorted, or the user's ``classes``) is the order of the
network's outputs.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.exceptions import DataConversionWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets

from ._images import to_numpy

__all__ = ["check_labels", "encode_labels", "encode_targets"]


def check_labels(y, n_samples):
    """Validate classification targets; return them as a 1-D array."""
    if y is None:
        raise ValueError(
            "`y` is required: a label for every image in X (this estimator "
            "requires y to be passed, but the target y is None)."
        )
    labels = to_numpy(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please "
            "change the shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning,
            stacklevel=3,
        )
        labels = labels.ravel()
    if labels.ndim != 1:
        raise ValueError(
            f"`y` must be 1-D (one label per image); got shape {labels.shape}."
        )
    if len(labels) != n_samples:
        raise ValueError(
            f"`X` and `y` have inconsistent numbers of samples: {n_samples} images "
            f"but {len(labels)} labels."
        )
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise ValueError("`y` contains NaN or infinity (Input y contains NaN).")
    if labels.dtype.kind == "f" and not np.all(np.mod(labels, 1) == 0):
        raise ValueError(
            "Unknown label type: `y` holds continuous values; a classifier needs "
            "class labels."
        )
    if labels.dtype == object:
        kinds = {
            "number" if isinstance(v, numbers.Number) else type(v).__name__
            for v in labels.tolist()
        }
        if len(kinds) > 1:
            raise ValueError(
                f"`y` mixes label types ({', '.join(sorted(kinds))}); labels "
                "must be all strings or all numbers, e.g. y.astype(str)."
            )
    return labels


def encode_labels(y, classes, name="y"):
    """Positions of the labels ``y`` in ``classes``, as int64.

    ``classes`` fixes the order of the network's outputs (and of
    ``classes_``); a label not in it raises a ``ValueError`` naming ``name``.
    """
    index = {label: i for i, label in enumerate(np.asarray(classes).tolist())}
    unknown = sorted({str(v) for v in y.tolist() if v not in index})
    if unknown:
        raise ValueError(
            f"`{name}` has labels not in the classes {list(index)}: {unknown}."
        )
    return np.array([index[v] for v in y.tolist()], dtype=np.int64)


def encode_targets(y, n_samples, classes=None):
    """Validate the targets of a classifier's ``fit``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels of any type.
    n_samples : int
        The number of images.
    classes : array-like or None
        The user's order of the classes (the order of the outputs); None
        sorts them.

    Returns
    -------
    classes : ndarray
        What becomes ``classes_``.
    y_encoded : ndarray of int64
        Positions of ``y`` in ``classes``.
    """
    y = check_labels(y, n_samples)
    check_classification_targets(y)
    if classes is not None:
        # The user's order is the order of classes_ and of the outputs.
        classes = np.asarray(classes)
        if classes.ndim != 1 or len(np.unique(classes)) != len(classes):
            raise ValueError(
                "`classes` must list each class once, in the order of the "
                f"outputs; got {classes.tolist()}."
            )
        return classes, encode_labels(y, classes, name="y")
    encoder = LabelEncoder().fit(y)
    if len(encoder.classes_) < 2:
        raise ValueError(
            f"`y` has only one class ({encoder.classes_[0]!r}); a classifier "
            "needs at least 2 classes (The number of classes has to be greater "
            "than one)."
        )
    return encoder.classes_, encoder.transform(y).astype(np.int64)
