"""BatchNorm statistics that agree with the trained weights ("precise BN").

BatchNorm running statistics lag the weights. With momentum 0.01
(EfficientNet's, from TensorFlow) a hundred optimiser steps leave them close
to ImageNet's, so eval-mode predictions disagree with what training learned
(measured in ``benchmarks/small_data.py`` and ``docs/guide/recipe.rst``).
``batchnorm="recalibrate"`` re-estimates them after training with one
forward pass over the training data, as ``torch.optim.swa_utils.update_bn``.

References
----------
.. [1] Y. Wu and J. Johnson, "Rethinking 'batch' in BatchNorm", 2021
   ("precise BN": statistics re-estimated over the data after training).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .._inputs import ImageFiles
from .._runtime import iter_batches

__all__ = ["BATCHNORM_MODES", "recalibrate_batchnorm", "trainable_batchnorms"]

BATCHNORM_MODES = ("recalibrate", "frozen", "train")


def _is_batchnorm(module):
    return isinstance(module, nn.modules.batchnorm._BatchNorm) and (
        module.track_running_stats
    )


def trainable_batchnorms(network):
    """The BatchNorm layers of ``network`` that training changes: all but those
    of its frozen modules (:meth:`TransferNetwork.frozen_modules`)."""
    frozen = {id(m) for module in network.frozen_modules() for m in module.modules()}
    return [m for m in network.modules() if _is_batchnorm(m) and id(m) not in frozen]


def _chunks(n, batch_size):
    """Index ranges of about ``batch_size``, none of a single image.

    BatchNorm in training mode cannot normalise one image whose feature map
    is 1x1, so the images are split into near-equal chunks.
    """
    n_chunks = max(1, math.ceil(n / batch_size))
    if n >= 2:
        n_chunks = min(n_chunks, n // 2)
    bounds = np.linspace(0, n, n_chunks + 1).round().astype(int)
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def recalibrate_batchnorm(network, X, forward, batch_size):
    """Re-estimate the running statistics of the trained BatchNorm layers.

    Every BatchNorm layer that training changed (:func:`trainable_batchnorms`)
    forgets its statistics and averages them, with equal weight per batch,
    over one pass of ``X`` in training mode; everything else runs in eval
    mode (no dropout, no augmentation), and frozen units are untouched. The
    pass draws the images in a fixed pseudo-random order: a batch's variance
    is the variance within it, so batches of similar images (the training
    set comes in an order set by content) would understate the variance.
    With a cached frozen prefix, ``X`` is that prefix's output and ``forward``
    runs the rest of the network, so the result is the same as without it.

    Parameters
    ----------
    network : TransferNetwork
    X : tensor
        What the network trains on: images, or the cached prefix output.
    forward : callable
        Runs one batch of ``X`` through ``network`` (device, precision).
    batch_size : int

    Returns
    -------
    n_layers : int
        Number of BatchNorm layers re-estimated (0: nothing to do).
    """
    layers = trainable_batchnorms(network)
    if not layers or len(X) == 0:
        return 0
    was_training = network.training
    momenta = [layer.momentum for layer in layers]
    network.eval()
    try:
        for layer in layers:
            layer.reset_running_stats()
            layer.momentum = None  # cumulative average over the batches
            layer.train()
        order = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
        # Image files are reordered, not read: each batch reads its own.
        X = X.select(order) if isinstance(X, ImageFiles) else X[order.to(X.device)]
        bounds = _chunks(len(X), batch_size)
        for _ in iter_batches(forward, X, bounds=bounds):
            pass
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        network.train(was_training)
    return len(layers)
