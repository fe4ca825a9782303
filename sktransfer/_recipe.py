"""The fine-tuning recipe: BatchNorm statistics, schedule length, learning-rate
schedule.

Three facts of small-data fine-tuning, each measured in
``benchmarks/small_data.py`` and ``docs/guide/recipe.rst``:

* BatchNorm running statistics lag the weights. With momentum 0.01
  (EfficientNet's, from TensorFlow) a hundred optimiser steps leave them close
  to ImageNet's, so eval-mode predictions disagree with what training
  learned. ``batchnorm="recalibrate"`` re-estimates them after training with
  one forward pass over the training data ("precise BN", as
  ``torch.optim.swa_utils.update_bn``).
* A fixed number of epochs ignores the dataset size: 100 images are 4
  optimiser steps an epoch. The default length is counted in optimiser steps
  (Kolesnikov et al.'s BiT-HyperRule sets the schedule by dataset size).
* A constant learning rate wrecks pretrained weights at the start and never
  settles at the end: a short linear warm-up, then cosine decay to zero.

References
----------
.. [1] A. Kolesnikov et al., "Big Transfer (BiT): General visual
   representation learning", ECCV 2020 (the BiT-HyperRule).
.. [2] I. Loshchilov and F. Hutter, "SGDR: Stochastic gradient descent with
   warm restarts", ICLR 2017 (cosine decay).
.. [3] Y. Wu and J. Johnson, "Rethinking 'batch' in BatchNorm", 2021
   ("precise BN": statistics re-estimated over the data after training).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from skorch.callbacks import Callback, Checkpoint, LRScheduler
from torch import nn

__all__ = [
    "BATCHNORM_MODES",
    "LR_SCHEDULES",
    "WarmupCosine",
    "default_epochs",
    "default_input_size",
    "recalibrate_batchnorm",
    "resave_checkpoints",
    "trainable_batchnorms",
]

BATCHNORM_MODES = ("recalibrate", "frozen", "train")
LR_SCHEDULES = ("warmup_cosine", "constant")

# The default schedule length: about this many optimiser steps, within
# [MIN_EPOCHS, MAX_EPOCHS] epochs (see default_epochs).
TARGET_STEPS = 300
MIN_EPOCHS = 5
MAX_EPOCHS = 60
# When only the head trains on cached features, an epoch costs next to
# nothing and a head learned from scratch needs many more steps.
HEAD_TARGET_STEPS = 2000
HEAD_MAX_EPOCHS = 300
WARMUP_FRACTION = 0.1
# Images under SMALL_IMAGE pixels a side go into an ImageNet network at
# SMALL_INPUT_SIZE, not at its own 224 (see default_input_size).
SMALL_IMAGE = 96
SMALL_INPUT_SIZE = 64


def default_epochs(n_train, batch_size, head_only=False):
    """Epochs of the default schedule for ``n_train`` training images.

    About ``TARGET_STEPS`` optimiser steps: a small dataset gets more epochs,
    a large one fewer, within ``[MIN_EPOCHS, MAX_EPOCHS]``. When only the head
    trains, on the cached output of the frozen body, an epoch is a pass of a
    linear layer over stored features: the schedule is then about
    ``HEAD_TARGET_STEPS`` steps, within ``[MIN_EPOCHS, HEAD_MAX_EPOCHS]``
    (a head learned from scratch underfits at 150 steps: 0.74 against 0.98
    test accuracy on the digits study). The numbers were chosen by
    measurement on the tasks of ``benchmarks/small_data.py`` and the
    ``sktransfer study``.

    Parameters
    ----------
    n_train : int
        Number of training images (after any validation split).
    batch_size : int
    head_only : bool, default=False
        Whether only the head trains, on cached features.

    Returns
    -------
    epochs : int

    Examples
    --------
    >>> default_epochs(100, 32), default_epochs(300, 32), default_epochs(5000, 32)
    (60, 30, 5)
    >>> default_epochs(300, 32, head_only=True)
    200
    """
    steps_per_epoch = max(1, math.ceil(n_train / batch_size))
    target, most = (TARGET_STEPS, MAX_EPOCHS)
    if head_only:
        target, most = (HEAD_TARGET_STEPS, HEAD_MAX_EPOCHS)
    epochs = round(target / steps_per_epoch)
    return int(min(most, max(MIN_EPOCHS, epochs)))


def default_input_size(image_side, backbone_size, min_size=32):
    """The input side for ``input_size=None``: the backbone's own size, but
    ``SMALL_INPUT_SIZE`` (64 px, at least ``min_size``) for small images.

    Images under ``SMALL_IMAGE`` (96) pixels a side (8x8 digits, 28x28
    Fashion-MNIST, CT patches) gain nothing from being blown up to 224 px,
    which costs 12 times the compute of 64 px. Measured with EfficientNet-
    Lite0 and the default recipe (``benchmarks/small_data.py`` tasks, seed
    0): 64 px scored 0.954 on digits-10 and 0.708 on fashion-10, 96 px 0.923
    and 0.727 at twice the time (BiT-HyperRule resizes such images to
    128-160 px). A backbone whose own size is already smaller keeps it.

    Parameters
    ----------
    image_side : int or None
        The smaller side of the training images; None keeps the backbone's.
    backbone_size : int
        The backbone's own input side.
    min_size : int, default=32
        The smallest side the backbone runs on.

    Returns
    -------
    input_size : int

    Examples
    --------
    >>> default_input_size(8, 224), default_input_size(28, 299, min_size=75)
    (64, 75)
    >>> default_input_size(128, 224), default_input_size(8, 28)
    (224, 28)
    """
    if image_side is None or image_side >= SMALL_IMAGE:
        return backbone_size
    return min(backbone_size, max(SMALL_INPUT_SIZE, min_size))


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
    mode (no dropout, no augmentation), and frozen units are untouched.
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
        with torch.no_grad():
            for start, stop in _chunks(len(X), batch_size):
                forward(X[start:stop])
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        network.train(was_training)
    return len(layers)


class WarmupCosine(Callback):
    """Linear warm-up, then cosine decay to zero, stepped every batch.

    Every parameter group follows the same curve from its own starting
    learning rate (so the body's smaller rate stays proportionally smaller).
    The learning rate of each group at the end of an epoch is written to the
    history (``lr``, the head's, and ``lr_body`` when the body has its own).

    Parameters
    ----------
    warmup : float, default=0.1
        Fraction of the steps spent warming up linearly from zero.

    Attributes
    ----------
    epochs_ : int
        Epochs of the current training run, set by the estimator.
    """

    def __init__(self, warmup=WARMUP_FRACTION):
        self.warmup = warmup

    def initialize(self):
        self.epochs_ = None
        self.total_steps_ = None
        self.step_ = 0
        self.base_lrs_ = None
        return self

    def factor(self, step):
        """Multiplier of the starting learning rate at ``step`` (0-based)."""
        total = max(1, self.total_steps_)
        warmup = max(1, round(self.warmup * total)) if self.warmup else 0
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    def on_train_begin(self, net, **kwargs):
        self.base_lrs_ = [group["lr"] for group in net.optimizer_.param_groups]
        self.step_ = 0
        self.total_steps_ = None

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.total_steps_ is None:
            epochs = self.epochs_ if self.epochs_ is not None else net.max_epochs
            n_train = len(dataset_train) if dataset_train is not None else 0
            self.total_steps_ = epochs * max(1, math.ceil(n_train / net.batch_size))

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        factor = self.factor(self.step_)
        for group, base in zip(
            net.optimizer_.param_groups, self.base_lrs_, strict=True
        ):
            group["lr"] = base * factor
        self.step_ += 1

    def on_epoch_end(self, net, **kwargs):
        record_lr(net)

    def on_train_end(self, net, **kwargs):
        # Leave the optimizer as it was built, for a later partial_fit.
        if self.base_lrs_ is not None:
            for group, base in zip(
                net.optimizer_.param_groups, self.base_lrs_, strict=True
            ):
                group["lr"] = base


def record_lr(net):
    """Write the learning rate(s) of ``net``'s optimizer to its history."""
    groups = net.optimizer_.param_groups
    net.history.record("lr", groups[-1]["lr"])
    if len(groups) > 1:
        net.history.record("lr_body", groups[0]["lr"])


class RecordLR(Callback):
    """Write the learning rate to the history each epoch (constant schedule)."""

    def on_epoch_end(self, net, **kwargs):
        record_lr(net)


def user_schedules(callbacks):
    """Whether the user's ``callbacks`` set the learning rate themselves.

    Anything but a list or tuple answers False: ``callbacks`` is validated
    when ``fit`` builds the callbacks, not while parameters are listed.
    """
    if not isinstance(callbacks, list | tuple):
        return False
    for callback in callbacks:
        if isinstance(callback, tuple):
            callback = callback[1]
        if isinstance(callback, LRScheduler) or (
            isinstance(callback, type) and issubclass(callback, LRScheduler)
        ):
            return True
    return False


def resave_checkpoints(net):
    """Write recalibrated BatchNorm statistics into ``net``'s checkpoints.

    A skorch ``Checkpoint`` saves at the end of an epoch, before the
    recalibration that follows training, so its file would hold the lagging
    statistics and a model restored from it would predict differently from
    the fitted one. Each checkpoint that holds the current weights (it saved
    the last epoch, saves every epoch, or loaded its best weights back with
    ``load_best``) is saved again; one that holds an earlier epoch's weights
    cannot be recalibrated without them, and a warning says so.
    """
    last = net.history[-1] if len(net.history) else {}
    for name, callback in net.callbacks_:
        if not isinstance(callback, Checkpoint):
            continue
        current = (
            callback.load_best
            or callback.monitor is None
            or (callback.event_name is not None and last.get(callback.event_name))
        )
        if current:
            callback.save_model(net)
        else:
            warnings.warn(
                f"Checkpoint {name!r} holds the weights of an earlier epoch with "
                "BatchNorm statistics from before the recalibration "
                '(batchnorm="recalibrate"); a model restored from it can '
                "predict differently. Pass Checkpoint(load_best=True) so that fit "
                "recalibrates the best weights and saves them again, or "
                'batchnorm="train".',
                UserWarning,
                stacklevel=4,
            )
