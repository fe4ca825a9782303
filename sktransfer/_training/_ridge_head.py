"""A regressor's linear head on a frozen body, solved: ridge regression with
its penalty chosen by leave-one-out.

A head of one ``Linear`` layer on the cached output of a wholly frozen body,
trained on the squared error, is least squares on the body's ``p`` pooled
features (1,280 for EfficientNet-Lite0). With a few hundred images, fewer
than ``p``, the recipe's 2,000 gradient steps drive it to interpolate the
training targets (training R² 1.00) and its test predictions pay for it:
on every task of ``benchmarks/small_regression.py`` it scored below a ridge
on the same features. The same linear model with an L2 penalty chosen by
leave-one-out (closed form, [1]_) is what a practitioner would fit on those
features (``RidgeCV``), in milliseconds; it is the head's start, and the
whole fit when the recipe sets the schedule (no gradient steps after it).

A classifier's head is not solved: cross-entropy has no closed form, and its
gradient head matches logistic regression on the same features (the recipe
guide's tables).

References
----------
.. [1] R. Rifkin and R. Lippert, "Notes on regularized least squares",
   MIT-CSAIL-TR-2007-025 (the closed-form leave-one-out errors of ridge).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import RidgeCV

from ._depth_probe import PROBE_ALPHAS

__all__ = ["RIDGE_HEAD_MAX_VALUES", "ridge_head", "solve_linear_head"]

# The closed form holds the features in float64 (and sklearn a centred
# copy): up to this many values (128 MB; 13,000 images of EfficientNet-
# Lite0's 1,280 features). Beyond, there are ten images and more a feature,
# and the gradient head does not learn them by heart.
RIDGE_HEAD_MAX_VALUES = 2**24


def ridge_head(features, targets, sample_weight=None):
    """Ridge regression of ``targets`` on ``features``, its penalty chosen by
    leave-one-out among :data:`PROBE_ALPHAS` (those of the depth probes).

    Parameters
    ----------
    features : ndarray of shape (n, p)
    targets : ndarray of shape (n, k)
    sample_weight : ndarray of shape (n,) or None, default=None

    Returns
    -------
    coef : ndarray of shape (k, p)
    intercept : ndarray of shape (k,)
    alpha : float
        The penalty chosen.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 200))  # more features than images
    >>> y = X[:, :1] + 0.1 * rng.normal(size=(50, 1))
    >>> coef, intercept, alpha = ridge_head(X, y)
    >>> coef.shape, intercept.shape, alpha > 0
    ((1, 200), (1,), True)
    """
    ridge = RidgeCV(alphas=PROBE_ALPHAS).fit(
        features, targets, sample_weight=sample_weight
    )
    coef = np.atleast_2d(ridge.coef_)
    intercept = np.atleast_1d(ridge.intercept_)
    return coef, intercept, float(ridge.alpha_)


def solve_linear_head(head, features, targets, sample_weight=None):
    """Set ``head``'s weights to :func:`ridge_head`'s solution; its penalty,
    or None when the head is not solved.

    Solved when ``head`` is one ``Linear`` layer (after a ``Dropout`` at
    most: the identity at prediction) on 2-D ``features`` of at most
    :data:`RIDGE_HEAD_MAX_VALUES` values; anything else (hidden layers, a
    BatchNorm, larger features) is left to the gradient steps.

    Parameters
    ----------
    head : nn.Module
    features : tensor of shape (n, p)
        The frozen body's cached output (on any device, in any precision).
    targets : ndarray of shape (n, k)
        The standardised training targets.
    sample_weight : ndarray of shape (n,) or None, default=None
        Each image's loss weight.

    Returns
    -------
    alpha : float or None
    """
    layers = list(head) if isinstance(head, torch.nn.Sequential) else [head]
    if len(layers) == 2 and isinstance(layers[0], torch.nn.Dropout):
        layers = layers[1:]
    if (
        len(layers) != 1
        or not isinstance(layers[0], torch.nn.Linear)
        or layers[0].bias is None
        or features.ndim != 2
        or features.numel() > RIDGE_HEAD_MAX_VALUES
    ):
        return None
    linear = layers[0]
    coef, intercept, alpha = ridge_head(
        features.detach().to("cpu", torch.float64).numpy(),
        np.asarray(targets, dtype=np.float64).reshape(len(features), -1),
        sample_weight,
    )
    # Copied into the layer's own tensors, on its device, in its dtype.
    linear.load_state_dict(
        {
            "weight": torch.as_tensor(coef, dtype=linear.weight.dtype),
            "bias": torch.as_tensor(intercept, dtype=linear.bias.dtype),
        }
    )
    return alpha
