"""The fine-tuning recipe: the schedule's length, its early end on a
converged run, and what ``freeze_upto="auto"`` trains (the skorch callbacks
that run the schedules are in :mod:`sktransfer._training._callbacks`,
BatchNorm statistics in :mod:`sktransfer._training._batchnorm`, the input
size in :mod:`sktransfer._networks._input_size`).

Facts of small-data fine-tuning, each measured in
``benchmarks/small_data.py`` and ``docs/guide/recipe.rst``:

* A fixed number of epochs ignores the dataset size: 100 images are 4
  optimiser steps an epoch. The default length is counted in optimiser steps
  (Kolesnikov et al.'s BiT-HyperRule sets the schedule by dataset size).
* A constant learning rate wrecks pretrained weights at the start and never
  settles at the end: a short linear warm-up, then cosine decay to zero.
* What to train depends on how far the images are from the source's, and
  the body itself says it: the statistics of the images at its middle
  BatchNorm layers against the running ones it holds (AdaBN). Photographs
  and drawings, in colour or grey, at 64 px or at 224 px, are near: the
  pretrained body's features fit as they are, and fine-tuning its millions
  of weights on a few hundred images distorts them (Kumar et al.): a head
  on the frozen body scores higher, in seconds. Digits blown up from 8 px,
  at 64 px or at 128 px, are far: the body must adapt, and fine-tuning all
  of it scores higher (:func:`auto_freezing`). A regressor's target may be
  what the top units are built to ignore (an angle, a position) on images
  near the source: probes of the body at several depths tell it
  (:mod:`sktransfer._training._depth_probe`).
* A few dozen images are learned by heart in a few epochs: once the training
  loss has stayed under a hundredth of its first epoch's for three epochs
  after the warm-up, the rest of the cosine decay is compressed into a short
  tail and the fit stops (:func:`converged_tail`), when the recipe chose the
  length (``max_epochs=None``).

References
----------
.. [1] A. Kolesnikov et al., "Big Transfer (BiT): General visual
   representation learning", ECCV 2020 (the BiT-HyperRule).
.. [2] I. Loshchilov and F. Hutter, "SGDR: Stochastic gradient descent with
   warm restarts", ICLR 2017 (cosine decay).
.. [3] J. Howard and S. Gugger, "Fastai: a layered API for deep learning",
   2020 (``fine_tune``: the head alone first).
.. [4] A. Kumar, A. Raghunathan, R. Jones, T. Ma and P. Liang, "Fine-tuning
   can distort pretrained features and underperform out-of-distribution",
   ICLR 2022.
.. [5] A. Trivedi, "Transfer learning and fine-tuning deep convolutional
   neural networks", 2017 (a small set similar to the source: a linear
   classifier on the top features).
"""

from __future__ import annotations

import math

from .._networks import SMALL_IMAGE

__all__ = [
    "AUTO_FINE_TUNE_FROM",
    "CONVERGED_EPOCHS",
    "CONVERGED_LOSS_RATIO",
    "FAR_SHIFT",
    "PROBE_MARGIN",
    "LR_SCHEDULES",
    "WARMUP_FRACTION",
    "auto_freezing",
    "auto_freezing_and_why",
    "converged_tail",
    "default_epochs",
    "is_auto",
]

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
# The training loss has converged when it stayed under CONVERGED_LOSS_RATIO
# times the first epoch's for CONVERGED_EPOCHS epochs after the warm-up; the
# decay then ends in TAIL_FRACTION of the planned epochs (at least
# MIN_TAIL_EPOCHS) instead of running the whole schedule.
CONVERGED_LOSS_RATIO = 0.01
CONVERGED_EPOCHS = 3
TAIL_FRACTION = 0.1
MIN_TAIL_EPOCHS = 2
# freeze_upto="auto" fine-tunes from this many training images on
# (suggest_strategy's line between a small and a large set), and below it
# when the images' shift at the body's middle units is over FAR_SHIFT (the
# middle of the gap measured between digits and garments, 0.43 to 0.45, and
# photographs and drawings, 0.06 to 0.29: benchmarks/route_signals.py).
AUTO_FINE_TUNE_FROM = 1000
FAR_SHIFT = 0.35
# The regressor also fine-tunes when ridge probes of several depths explain
# its target better than the top's by more than twice the comparison's
# standard error and more than PROBE_MARGIN of its variance, or when the
# top's explains no more than PROBE_MARGIN of it
# (sktransfer._training._depth_probe; regression guide).
PROBE_MARGIN = 0.05


def default_epochs(n_train, batch_size, head_only=False):
    """Epochs of the default schedule for ``n_train`` training images.

    About ``TARGET_STEPS`` optimiser steps: a small dataset gets more epochs,
    a large one fewer, within ``[MIN_EPOCHS, MAX_EPOCHS]``. When only the head
    trains, on the cached output of the frozen body, an epoch is a pass of a
    linear layer over stored features: the schedule is then about
    ``HEAD_TARGET_STEPS`` steps, within ``[MIN_EPOCHS, HEAD_MAX_EPOCHS]``: a
    head learned from scratch underfits in the body's 300 steps. The numbers
    were chosen by measurement on the tasks of ``benchmarks/small_data.py``
    and the ``sktransfer study`` (the recipe guide says what they gave).

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


def is_auto(freeze_upto):
    """Whether ``freeze_upto`` asks :func:`auto_freezing` to choose."""
    return isinstance(freeze_upto, str) and freeze_upto == "auto"


def auto_freezing(image_shape, n_images, pretrained=True, shift=None, probe=None):
    """What ``freeze_upto="auto"`` freezes: ``"all"`` (a head on the frozen
    body) or ``0`` (fine-tune everything).

    Units without pretrained weights (a backbone with random
    initialisation, units ``transfer_upto`` re-initialises) have nothing to
    keep: they are always trained. Otherwise two facts decide:

    * how far the images are from the source's, as the body itself sees
      them: ``shift``, the KL divergence of the training images' statistics
      from the running statistics at the BatchNorm layers of the body's
      middle units (:func:`~sktransfer._training._shift.middle_shift`, one
      forward pass over 64 images). Above ``FAR_SHIFT`` the body's features
      do not fit the images (digits, garments: strokes and flat
      backgrounds blown up from a few pixels), the body must adapt, and
      fine-tuning it wins; below, the pretrained features fit as they are
      (photographs, drawings, in colour or grey, at 64 px or at 224 px),
      and fine-tuning millions of weights on a few hundred images distorts
      them (Kumar et al.): a head on the frozen body scores higher, in a
      fraction of the time. Measured in ``docs/guide/recipe.rst`` with
      ``benchmarks/route_signals.py``, ``photo_data.py`` and
      ``small_data.py``. A body without BatchNorm layers there has no
      statistics to read (``shift=None``): small grey images (one channel,
      under ``SMALL_IMAGE`` px) count as far, the rest as near;
    * how many images there are. From ``AUTO_FINE_TUNE_FROM`` (1,000) on, a
      set counts as large (Trivedi's rule; the default line of
      :func:`~sktransfer.suggest_strategy`), enough to fine-tune without
      distorting the features.

    A regressor also reads ``probe``: ridge probes of the body's pooled
    features on its target, at the top and at several depths
    (:func:`~sktransfer._training._depth_probe.depth_probe`). When the
    several depths explain the target better than the top by more than
    twice the comparison's standard error and more than ``PROBE_MARGIN``,
    the top discards what the target needs (an angle, a position, a size:
    what ImageNet's top features are built to ignore) and the body is
    fine-tuned, near the source or not. So it is when the top explains no
    more than ``PROBE_MARGIN`` of the target's variance, however noisy the
    comparison (a few dozen images): a head on the frozen body would then
    predict the mean at best, and only training the body can learn the
    target. The frozen body is kept for a target its top is shown to hold.

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)`` of the training images.
    n_images : int
        Number of training images.
    pretrained : bool, default=True
        Whether the units hold pretrained weights.
    shift : float or None, default=None
        The images' shift at the body's middle units; None where it has no
        BatchNorm layer there.
    probe : DepthProbe or None, default=None
        The regressor's probes of several depths; None: not measured.

    Returns
    -------
    freeze_upto : "all" or 0

    Examples
    --------
    >>> auto_freezing((1, 128, 128), 100, shift=0.45)  # digits, blown up
    0
    >>> auto_freezing((1, 64, 64), 60, shift=0.15)  # grey photographs
    'all'
    >>> auto_freezing((1, 8, 8), 100), auto_freezing((3, 128, 128), 60)
    (0, 'all')
    >>> auto_freezing((3, 224, 224), 5000, shift=0.1)
    0
    >>> auto_freezing((3, 128, 128), 60, pretrained=False)
    0
    >>> from sktransfer._training._depth_probe import DepthProbe
    >>> auto_freezing((3, 64, 64), 300, shift=0.1, probe=DepthProbe(0.25, 0.63, 0.04))
    0
    >>> auto_freezing((3, 64, 64), 300, shift=0.1, probe=DepthProbe(0.9, 0.92, 0.01))
    'all'
    """
    return auto_freezing_and_why(image_shape, n_images, pretrained, shift, probe)[0]


def auto_freezing_and_why(
    image_shape, n_images, pretrained=True, shift=None, probe=None
):
    """:func:`auto_freezing`'s choice and the reason for it, in words.

    Examples
    --------
    >>> auto_freezing_and_why((1, 128, 128), 100, shift=0.452)
    (0, 'far from the source: a shift of 0.45 at the middle units, over 0.35')
    """
    if not pretrained:
        return 0, "no pretrained weights to keep"
    if n_images >= AUTO_FINE_TUNE_FROM:
        return 0, f"{AUTO_FINE_TUNE_FROM:,} images or more"
    if shift is None:
        channels, side = image_shape[0], min(image_shape[1:])
        if channels == 1 and side < SMALL_IMAGE:
            return 0, "small and grey, far from the source's photos"
        return _probed("near the source's photos", probe)
    if shift > FAR_SHIFT:
        return 0, (
            f"far from the source: a shift of {shift:.2f} at the middle units, "
            f"over {FAR_SHIFT}"
        )
    near = (
        f"near the source: a shift of {shift:.2f} at the middle units, at most "
        f"{FAR_SHIFT}"
    )
    return _probed(near, probe)


def _probed(near, probe):
    """The frozen body for images ``near`` the source, unless ``probe`` says
    its top discards what the target needs, or holds nothing of it."""
    if probe is not None and probe.top <= PROBE_MARGIN:
        return 0, (
            f"{near}, but the top units hold nothing of the target: a ridge "
            f"probe explains {probe.top:.2f} of its variance from the top "
            f"({probe.depths:.2f} from several depths)"
        )
    if probe is not None and probe.gain > max(PROBE_MARGIN, 2 * probe.noise):
        return 0, (
            f"{near}, but the top units discard what the target needs: ridge "
            f"probes explain {probe.depths:.2f} of its variance from several "
            f"depths, {probe.top:.2f} from the top"
        )
    return "all", f"{near}; fewer than {AUTO_FINE_TUNE_FROM:,} images"


def converged_tail(planned_epochs, epochs_done):
    """Epochs left after the training loss converged at ``epochs_done``.

    The rest of the cosine decay is compressed into ``TAIL_FRACTION`` of
    the planned epochs (at least ``MIN_TAIL_EPOCHS``), never more than the
    epochs the plan has left.

    Parameters
    ----------
    planned_epochs : int
        The schedule's length.
    epochs_done : int
        Epochs trained when the loss was found converged.

    Returns
    -------
    tail : int
        Epochs still to run (0: the plan ends now anyway).

    Examples
    --------
    >>> converged_tail(60, 9), converged_tail(20, 9), converged_tail(10, 9)
    (6, 2, 1)
    """
    left = max(0, planned_epochs - epochs_done)
    tail = max(MIN_TAIL_EPOCHS, round(TAIL_FRACTION * planned_epochs))
    return min(left, tail)
