"""Metrics: sensitivity and specificity, and source/target similarity.

``sensitivity_score`` and ``specificity_score`` have scikit-learn's metric
signature, so ``make_scorer`` turns them into scorers for ``GridSearchCV``
and ``cross_validate``.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix

__all__ = [
    "embedding_cosine_distance",
    "sensitivity_score",
    "specificity_score",
]


def _per_class_rates(y_true, y_pred, labels):
    labels = (
        np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
        if labels is None
        else np.asarray(labels)
    )
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    tp = np.diag(matrix).astype(float)
    fn = matrix.sum(axis=1) - tp
    fp = matrix.sum(axis=0) - tp
    tn = matrix.sum() - tp - fn - fp
    with np.errstate(divide="ignore", invalid="ignore"):
        sensitivity = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        specificity = np.where(tn + fp > 0, tn / (tn + fp), 0.0)
    return labels, sensitivity, specificity


def _select(labels, rates, average, pos_label):
    if average == "binary":
        if len(labels) > 2:
            raise ValueError(
                f"`average`='binary' needs two classes, y has {len(labels)}: "
                f"{labels.tolist()}; use average='macro' or None."
            )
        if pos_label not in labels.tolist():
            raise ValueError(
                f"`pos_label`={pos_label!r} is not a label of y ({labels.tolist()})."
            )
        return float(rates[labels.tolist().index(pos_label)])
    if average == "macro":
        return float(rates.mean())
    if average is None:
        return rates
    raise ValueError(f"`average` must be 'binary', 'macro' or None; got {average!r}.")


def sensitivity_score(y_true, y_pred, *, pos_label=1, average="binary", labels=None):
    """Sensitivity (true positive rate, recall): TP / (TP + FN).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
    pos_label : label, default=1
        The positive class for ``average="binary"``.
    average : {"binary", "macro"} or None, default="binary"
        ``"macro"``: mean over classes (one-vs-rest); None: one value per
        class, in the order of ``labels``.
    labels : array-like, default=None

    Returns
    -------
    score : float or ndarray

    Examples
    --------
    >>> from sktransfer.metrics import sensitivity_score
    >>> sensitivity_score([0, 1, 1, 1], [0, 1, 0, 1])
    0.6666666666666666
    """
    labels, sensitivity, _ = _per_class_rates(y_true, y_pred, labels)
    return _select(labels, sensitivity, average, pos_label)


def specificity_score(y_true, y_pred, *, pos_label=1, average="binary", labels=None):
    """Specificity (true negative rate): TN / (TN + FP).

    Parameters are those of :func:`sensitivity_score`; with
    ``average="binary"`` the negatives are every class but ``pos_label``.

    Examples
    --------
    >>> from sktransfer.metrics import specificity_score
    >>> specificity_score([0, 0, 0, 1], [0, 1, 0, 1])
    0.6666666666666666
    """
    labels, _, specificity = _per_class_rates(y_true, y_pred, labels)
    return _select(labels, specificity, average, pos_label)


def embedding_cosine_distance(X_source, X_target, *, extractor=None):
    """Cosine distance between the mean embeddings of two image sets.

    The source/target similarity of Molina et al. (section 3.5): each image
    is embedded by a pretrained CNN (they used Inception v3's 2048 pooled
    features), and the distance is 1 - cos(a, b) between the two sets'
    mean embeddings; values near 0 mean very similar sets.

    Parameters
    ----------
    X_source, X_target : images of the same shape
    extractor : CNNFeatureExtractor or None, default=None
        Unfitted or fitted; None uses EfficientNet-Lite0's ImageNet features
        (offline, from its weights package). When the two sets differ in
        image shape (grey and RGB, other sizes) a clone is fitted on each, so
        the extractor must be deterministic: pretrained weights, or a fixed
        ``random_state``.

    Returns
    -------
    distance : float in [0, 2]

    References
    ----------
    .. [1] M. A. Molina et al., "A preliminary study on deep transfer learning
       applied to image classification for small datasets", 2020.
    """
    from sklearn.base import clone

    from ._extractor import CNNFeatureExtractor

    if extractor is None:
        extractor = CNNFeatureExtractor("efficientnet_lite0")
    if not hasattr(extractor, "network_"):
        extractor = clone(extractor).fit(X_source)
    target_extractor = extractor
    if np.shape(X_target)[1:] != np.shape(X_source)[1:]:
        # Another image shape (grey vs RGB, another size): the same network,
        # fitted on the target's shape.
        target_extractor = clone(extractor).fit(X_target)
    a = extractor.transform(X_source).astype(np.float64).mean(axis=0)
    b = target_extractor.transform(X_target).astype(np.float64).mean(axis=0)
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    if norm == 0:
        raise ValueError("An image set has an all-zero mean embedding.")
    return float(1.0 - a @ b / norm)
