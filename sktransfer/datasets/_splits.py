"""Source/target splits of one labelled image set."""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import linkage, to_tree

__all__ = ["class_split", "dendrogram_split"]


def _check_xy(X, y):
    if not hasattr(X, "__len__") or not hasattr(X, "shape"):
        X = np.asarray(X)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"`y` must be 1-D; got shape {y.shape}.")
    if len(X) != len(y):
        raise ValueError(f"`X` has {len(X)} samples but `y` has {len(y)} labels.")
    return X, y


def class_split(X, y, source_classes, target_classes=None):
    """Split by class: source task A and target task B, as Yosinski et al.

    Parameters
    ----------
    X : array-like of shape (n, ...)
        Images, in any shape with the samples first.
    y : array-like of shape (n,)
        Their labels.
    source_classes : array-like
        Labels of the source task A.
    target_classes : array-like or None, default=None
        Labels of the target task B; None takes every other label.

    Returns
    -------
    X_source, y_source, X_target, y_target : arrays

    References
    ----------
    .. [1] J. Yosinski et al., "How transferable are features in deep neural
       networks?", NeurIPS 2014.
    .. [2] G. Shanmugam S, J. Felix and S. Tiwari, "Transfer Learning".

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.datasets import class_split
    >>> X, y = np.zeros((6, 2, 2)), np.array([0, 1, 2, 0, 1, 2])
    >>> X_a, y_a, X_b, y_b = class_split(X, y, source_classes=[0, 1])
    >>> y_a.tolist(), y_b.tolist()
    ([0, 1, 0, 1], [2, 2])
    """
    X, y = _check_xy(X, y)
    labels = np.unique(y)
    source = np.unique(np.asarray(source_classes, dtype=y.dtype))
    missing = np.setdiff1d(source, labels)
    if len(source) == 0 or len(missing):
        raise ValueError(
            "`source_classes` must be a non-empty subset of the labels "
            f"{labels.tolist()}; got {np.asarray(source_classes).tolist()}."
        )
    if target_classes is None:
        target = np.setdiff1d(labels, source)
    else:
        target = np.unique(np.asarray(target_classes, dtype=y.dtype))
        if len(np.setdiff1d(target, labels)) or len(np.intersect1d(target, source)):
            raise ValueError(
                "`target_classes` must be labels of `y` outside `source_classes`; "
                f"got {np.asarray(target_classes).tolist()}."
            )
    if len(target) == 0:
        raise ValueError(
            f"`source_classes` takes every label {labels.tolist()}; leave at least "
            "one for the target task."
        )
    in_source, in_target = np.isin(y, source), np.isin(y, target)
    return X[in_source], y[in_source], X[in_target], y[in_target]


def _nodes(members, embedding, level, method, metric):
    """The 2 (level 1) or up to 4 (level 2) top nodes of one label's dendrogram."""
    root = to_tree(linkage(embedding[members], method=method, metric=metric))
    nodes = [root]
    for _ in range(level):
        nodes = [
            child
            for node in nodes
            for child in ([node] if node.is_leaf() else [node.left, node.right])
        ]
    return [members[np.array(node.pre_order())] for node in nodes]


def dendrogram_split(
    X,
    y,
    *,
    embedding=None,
    level=1,
    target_nodes=None,
    method="ward",
    return_nodes=False,
):
    """Split each label's images by hierarchical clustering (Molina et al.).

    For each label, the images' embeddings are clustered hierarchically
    (section 3.2 of Molina et al.). At ``level=1`` the two nodes under the
    root are taken: the larger goes to the source subset, the smaller to the
    target subset, so source and target hold dissimilar images and the source
    is the larger. At ``level=2`` (section 3.5) the (up to) four nodes of the
    second level are taken; ``target_nodes`` picks, per label, which of them
    forms the target (default: the smallest), the rest go to the source.

    Parameters
    ----------
    X : array-like of shape (n, ...)
        Images, in any shape with the samples first.
    y : array-like of shape (n,)
        Their labels.
    embedding : None, ndarray of shape (n, d) or transformer, default=None
        What to cluster. None: the flattened pixels scaled to [0, 1]. An
        array: precomputed embeddings (Molina et al. used Inception v3's 2048
        pooled features). A transformer, e.g.
        ``CNNFeatureExtractor("inception_v3")``: fitted on ``X`` and applied.
    level : {1, 2}, default=1
        The level of the dendrogram whose nodes split each label.
    target_nodes : dict or None, default=None
        ``level=2`` only: ``{label: node index 0..3}`` (nodes ordered by
        dendrogram position); labels left out take their smallest node.
    method : str, default="ward"
        The linkage method of :func:`scipy.cluster.hierarchy.linkage`
        (``"ward"`` with Euclidean distances; others with cosine distances).
    return_nodes : bool, default=False
        Also return one dict per node: ``label``, ``node``, ``size``, ``role``
        ("source" or "target") and ``index`` (the sample indices).

    Returns
    -------
    X_source, y_source, X_target, y_target : arrays
    nodes : list of dict
        Only with ``return_nodes=True``.

    References
    ----------
    .. [1] M. A. Molina et al., "A preliminary study on deep transfer learning
       applied to image classification for small datasets", 2020, 3.2 and 3.5.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.datasets import dendrogram_split
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 1, (7, 4)), rng.normal(9, 1, (3, 4))] * 2)
    >>> y = np.repeat([0, 1], 10)
    >>> X_s, y_s, X_t, y_t = dendrogram_split(X, y, embedding=X)
    >>> np.bincount(y_s).tolist(), np.bincount(y_t).tolist()
    ([7, 7], [3, 3])
    """
    X, y = _check_xy(X, y)
    if level not in (1, 2):
        raise ValueError(f"`level` must be 1 or 2; got {level!r}.")
    if target_nodes is not None and level != 2:
        raise ValueError("`target_nodes` applies to level=2 only.")
    if embedding is None:
        features = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
        features = features / max(features.max(), 1.0)
    elif hasattr(embedding, "fit_transform"):
        features = np.asarray(embedding.fit_transform(X), dtype=np.float64)
    else:
        features = np.asarray(embedding, dtype=np.float64)
        if features.ndim != 2 or len(features) != len(y):
            raise ValueError(
                f"`embedding` must have shape ({len(y)}, d); got {features.shape}."
            )
    metric = "euclidean" if method in ("ward", "centroid", "median") else "cosine"
    if metric == "cosine" and not np.linalg.norm(features, axis=1).all():
        raise ValueError(
            f"`method`={method!r} clusters by cosine distance, which all-zero "
            "embeddings (blank images?) do not have; use method='ward' or another "
            "`embedding`."
        )
    target_nodes = dict(target_nodes or {})
    unknown = set(target_nodes) - set(np.unique(y).tolist())
    if unknown:
        raise ValueError(f"`target_nodes` names labels not in `y`: {sorted(unknown)}.")
    source, target, records = [], [], []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        if len(members) < 2 * level:
            raise ValueError(
                f"Label {label!r} has {len(members)} images; a level-{level} "
                f"dendrogram split needs at least {2 * level}."
            )
        nodes = _nodes(members, features, level, method, metric)
        sizes = [len(node) for node in nodes]
        chosen = target_nodes.get(label.item(), int(np.argmin(sizes)))
        if not 0 <= chosen < len(nodes):
            raise ValueError(
                f"`target_nodes[{label.item()!r}]` must be 0..{len(nodes) - 1}; "
                f"got {chosen}."
            )
        for index, node in enumerate(nodes):
            role = "target" if index == chosen else "source"
            (target if role == "target" else source).append(node)
            records.append(
                {
                    "label": label.item(),
                    "node": index,
                    "size": len(node),
                    "role": role,
                    "index": np.sort(node),
                }
            )
    source, target = np.sort(np.concatenate(source)), np.sort(np.concatenate(target))
    result = (X[source], y[source], X[target], y[target])
    return (*result, records) if return_nodes else result
