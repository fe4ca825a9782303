"""The learning-rate range test (Smith; fastai's ``lr_find``)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone

from .._inputs import check_fitted_images
from .._runtime import seeded

__all__ = ["LRFindResult", "lr_find"]


@dataclass
class LRFindResult:
    """The loss against the learning rate, from :func:`lr_find`.

    Parameters
    ----------
    lrs : ndarray
        Learning rate of the head at each step (the body's is
        ``backbone_lr_scale`` times it).
    losses : ndarray
        Exponentially smoothed training loss after each step.
    suggestion : float
        A learning rate to pass as ``lr``: a tenth of the rate at which the
        smoothed loss was lowest (the classic rule of the range test).
    """

    lrs: np.ndarray
    losses: np.ndarray
    suggestion: float


def _check_range(start_lr, end_lr, num_steps):
    if not (isinstance(start_lr, int | float) and start_lr > 0):
        raise ValueError(f"`start_lr` must be a positive number; got {start_lr!r}.")
    if not (isinstance(end_lr, int | float) and end_lr > start_lr):
        raise ValueError(
            f"`end_lr` must be a number above `start_lr`={start_lr}; got {end_lr!r}."
        )
    if not (isinstance(num_steps, int) and num_steps >= 5):
        raise ValueError(f"`num_steps` must be an int >= 5; got {num_steps!r}.")


def lr_find(
    estimator,
    X,
    y,
    *,
    start_lr=1e-6,
    end_lr=1.0,
    num_steps=100,
    smoothing=0.05,
    divergence=4.0,
):
    """Run the learning-rate range test of ``estimator`` on ``X, y``.

    A copy of the estimator (``clone``; the one passed is not touched) is
    built on the data, then trained for up to ``num_steps`` mini-batches
    while its learning rate grows exponentially from ``start_lr`` to
    ``end_lr``; the test stops once the smoothed loss exceeds ``divergence``
    times its minimum. The frozen units, the body's learning-rate scale and
    the head are those the estimator's parameters give.

    Parameters
    ----------
    estimator : PretrainedCNNClassifier or LabelRelationTransfer
        Unfitted or fitted; only its parameters are used.
    X : array-like or tensor
        Training images, in any layout ``fit`` accepts.
    y : array-like of shape (n,)
        Labels of any type.
    start_lr, end_lr : float, default=1e-6, 1.0
        The range of the head's learning rate.
    num_steps : int, default=100
        Mini-batches; the data is cycled when it has fewer.
    smoothing : float, default=0.05
        Weight of the newest loss in the exponential moving average.
    divergence : float, default=4.0
        Stop when the smoothed loss exceeds this multiple of its minimum.

    Returns
    -------
    result : LRFindResult
        ``lrs``, ``losses`` and ``suggestion``; draw it with
        :class:`sktransfer.inspection.LRFinderDisplay`.

    References
    ----------
    .. [1] L. N. Smith, "Cyclical learning rates for training neural
       networks", WACV 2017.
    .. [2] J. Howard and S. Gugger, "Fastai: a layered API for deep learning",
       Information 11(2), 2020 (``Learner.lr_find``).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sktransfer import PretrainedCNNClassifier, lr_find
    >>> X, y = load_digits(return_X_y=True)
    >>> result = lr_find(PretrainedCNNClassifier("mlp", input_size=8,
    ...                  random_state=0), X[:200] / 16, y[:200], num_steps=20)
    >>> 1e-6 <= result.suggestion <= 1.0
    True
    """
    _check_range(start_lr, end_lr, num_steps)
    finder = clone(estimator).set_params(
        max_epochs=0, lr=start_lr, lr_schedule="constant", warm_start=False
    )
    finder.fit(X, y)  # validates X and y, builds the network, trains nothing
    X_checked = check_fitted_images(finder, X)
    y_encoded = finder._encode_more_targets(y, len(X_checked))
    ratio = (end_lr / start_lr) ** (1 / (num_steps - 1))
    lrs, losses = [], []
    average, best = 0.0, math.inf
    with seeded(finder.random_state), finder._on_device():
        network = finder.module_
        network.set_frozen(finder.n_frozen_)
        network.train()
        dataset = finder.get_dataset(X_checked, y_encoded)
        base = [group["lr"] for group in finder.optimizer_.param_groups]

        def batches():
            while True:
                yield from finder.get_iterator(dataset, training=True)

        for step, (Xb, yb) in enumerate(itertools.islice(batches(), num_steps)):
            factor = ratio**step
            for group, lr in zip(finder.optimizer_.param_groups, base, strict=True):
                group["lr"] = lr * factor
            loss = float(finder.train_step((Xb, yb))["loss"].detach())
            if not math.isfinite(loss):
                break
            average = smoothing * loss + (1 - smoothing) * average
            smoothed = average / (1 - (1 - smoothing) ** (step + 1))
            lrs.append(start_lr * factor)
            losses.append(smoothed)
            best = min(best, smoothed)
            if step > 0 and smoothed > divergence * best:
                break
    if not lrs:
        raise ValueError(
            f"The loss was not finite at `start_lr`={start_lr}; try a smaller "
            "`start_lr`."
        )
    lrs, losses = np.asarray(lrs), np.asarray(losses)
    suggestion = float(lrs[int(np.argmin(losses))] / 10)
    return LRFindResult(lrs=lrs, losses=losses, suggestion=max(suggestion, start_lr))
