"""The training set of a fit: images in an order set by their content, each
counted as often as its sample weight says.

``sample_weight=w`` counts an image ``w`` times: ``ceil(w)`` copies of it
enter the training set, every copy with a weight of 1 in the loss but the
last, which carries the fraction (2.5: three copies weighing 1, 1 and 0.5;
0.3: one copy weighing 0.3; 0: none). So integer weights are exactly
repeated images (scikit-learn's ``check_sample_weight_equivalence``), a
weight of 0 removes an image, and fractions weigh the loss. Everything after
this step (the recipe's schedule length, the frozen-prefix cache, BatchNorm
recalibration, the early-stopping split) sees the training set as the
optimiser does; the loss weights travel with the labels to
:func:`weighted_loss`.

The order of the training set depends on the images only
(:func:`~sktransfer._runtime._batches.content_order`), so a fit gives the same network
whatever the order of the rows it is given: the weighted images and the
repeated ones above are the same training set.
"""

from __future__ import annotations

import numpy as np
import torch

from .._inputs import ImageFiles
from .._runtime import content_order

__all__ = [
    "MAX_COPIES",
    "WeightedTargets",
    "training_set",
    "weighted_loss",
]

# A training set may hold at most this many copies per image given.
MAX_COPIES = 100


class WeightedTargets:
    """Targets and the loss weight of each, on their way through skorch's fit
    loop to the dataset
    (:meth:`~sktransfer._estimators._data_hooks.ImageDataHooks.get_dataset`)."""

    def __init__(self, targets, weight):
        self.targets = targets
        self.weight = weight

    def __len__(self):
        return len(self.targets)


def _copies(weights):
    """The image of each copy, and the loss weight of each copy (None when
    every copy weighs 1)."""
    counts = np.ceil(weights).astype(np.int64)
    if counts.sum() > MAX_COPIES * len(weights):
        raise ValueError(
            f"`sample_weight` counts the images {int(counts.sum())} times in all, "
            f"more than {MAX_COPIES} times their number ({len(weights)}); the "
            "weights say how often an image counts: divide them by a constant."
        )
    source = np.repeat(np.arange(len(weights)), counts)
    last = np.cumsum(counts) - 1  # the last copy of each image
    loss_weight = np.ones(len(source))
    kept = counts > 0
    loss_weight[last[kept]] = weights[kept] - (counts[kept] - 1)
    if np.all(loss_weight == 1.0):
        loss_weight = None
    return source, loss_weight


def training_set(X, y, sample_weight=None):
    """``(X, y, loss_weight)``: the training set of a fit.

    Parameters
    ----------
    X : tensor of shape (n, C, H, W), or ImageFiles
    y : ndarray or tensor of shape (n, ...)
        Encoded targets.
    sample_weight : ndarray of shape (n,) or None
        From :func:`~sktransfer._inputs._sample_weight.check_sample_weight`.

    Returns
    -------
    X, y : the images and targets, in content order, each image repeated as
        its weight says
    loss_weight : tensor of shape (len(X),) or None
        None when every copy weighs 1 in the loss.
    """
    order = content_order(X).cpu().numpy()
    loss_weight = None
    if sample_weight is not None:
        # Copies of the same image sit together, in the content order.
        source, copy_weight = _copies(sample_weight[order])
        order = order[source]
        if copy_weight is not None:
            loss_weight = torch.as_tensor(copy_weight, dtype=torch.float32)
    index = torch.as_tensor(order, device=X.device)
    y = y[index.to(y.device)] if isinstance(y, torch.Tensor) else y[order]
    if isinstance(X, ImageFiles):  # reordered, not read
        return X.select(order), y, loss_weight
    return X[index], y, loss_weight


def weighted_loss(criterion, y_pred, y_true, weight):
    """The ``criterion``'s loss with each sample's loss times ``weight``.

    Reduced as the criterion reduces: for ``"mean"`` the weighted sum over
    the samples is divided by the batch size, or by the sum of the class
    weights of the targets when the criterion has class weights (as torch's
    weighted mean does), so that weights of 1 give the criterion's own loss.
    """
    reduction = criterion.reduction
    criterion.reduction = "none"
    try:
        losses = criterion(y_pred, y_true)
    finally:
        criterion.reduction = reduction
    losses = losses.reshape(len(losses), -1).mean(dim=1)
    total = (losses * weight.to(losses.device, losses.dtype)).sum()
    if reduction == "sum":
        return total
    class_weight = getattr(criterion, "weight", None)
    if class_weight is not None and not y_true.is_floating_point():
        return total / class_weight[y_true].sum()
    return total / len(losses)
