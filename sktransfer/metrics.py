"""Metrics: source/target similarity, and sensitivity and specificity.

``sensitivity_score`` and ``specificity_score`` are imbalanced-learn's
(:func:`imblearn.metrics.sensitivity_score`,
:func:`imblearn.metrics.specificity_score`), re-exported here for the medical
use the papers report them for; ``make_scorer`` turns them into scorers for
``GridSearchCV`` and ``cross_validate``.
"""

from __future__ import annotations

import numpy as np
from imblearn.metrics import sensitivity_score, specificity_score  # noqa: F401
from sklearn.base import clone

from ._estimators import CNNFeatureExtractor

# sensitivity_score and specificity_score are importable from here, and
# documented by imbalanced-learn.
__all__ = ["embedding_cosine_distance"]


def embedding_cosine_distance(X_source, X_target, *, extractor=None):
    """Cosine distance between the mean embeddings of two image sets.

    The source/target similarity of Molina et al. (section 3.5): each image
    is embedded by a pretrained CNN (they used Inception v3's 2048 pooled
    features), and the distance is 1 - cos(a, b) between the two sets'
    mean embeddings; values near 0 mean very similar sets.

    Parameters
    ----------
    X_source, X_target : array-like or tensor
        The two sets of images, in any layout the estimators take.
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
