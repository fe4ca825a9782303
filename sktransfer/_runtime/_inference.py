"""Batched inference: the one loop that runs a network over many images.

Every forward pass that is not a training step goes through here: prediction,
the feature extractor, label-relation transfer's source outputs, the
frozen-prefix cache, BatchNorm recalibration and the Displays. One place
decides where the images live (:func:`~sktransfer._runtime._device.place_images`),
the batch size, the precision (bf16 autocast on CUDA) and, where asked,
an order of the rows set by their content, so that the same images give the
same bits in any order (:func:`~sktransfer._runtime._batches.content_order`).
"""

from __future__ import annotations

import contextlib

import torch
from torch.utils.data import Subset

from ._batches import BatchLoader, ImageDataset, content_order
from ._device import autocast_for, is_cuda, place_images

__all__ = [
    "PREDICT_BATCH_SIZE",
    "batched_inference",
    "iter_batches",
    "prediction_batch_size",
    "require_finite",
    "statistics_batch_size",
]

PREDICT_BATCH_SIZE = 256
# On a CPU, a batch of more input pixels than this runs slower (the
# activations leave the caches) and holds gigabytes of them: 32 images at
# 224 px (31 against 22 images/s, 1.4 against 4.1 GB for EfficientNet-Lite0
# on 2 cores; benchmarks/large_folder.py); 256 at 64 px.
CPU_BATCH_PIXELS = 32 * 224 * 224


def statistics_batch_size(estimator):
    """The batch size of a skorch ``estimator``'s passes that gather batch
    statistics (BatchNorm recalibration): its ``iterator_valid__batch_size``
    if set, else its ``batch_size`` and at least ``PREDICT_BATCH_SIZE``."""
    return estimator.get_params_for("iterator_valid").get(
        "batch_size", max(estimator.batch_size, PREDICT_BATCH_SIZE)
    )


def prediction_batch_size(estimator):
    """The batch size of a skorch ``estimator``'s prediction: its
    ``iterator_valid__batch_size`` if set; else its ``batch_size`` and at
    least ``PREDICT_BATCH_SIZE``, but on the CPU at most
    ``CPU_BATCH_PIXELS`` input pixels (32 images at 224 px). In eval mode
    each image's output is its own, so the batch size changes no result
    beyond rounding."""
    size = statistics_batch_size(estimator)
    if "batch_size" in estimator.get_params_for("iterator_valid"):
        return size
    device = getattr(estimator, "device", None)
    network = getattr(estimator, "module_", None)
    side = getattr(network, "input_size", None)
    if device is None or side is None or is_cuda(device):
        return size  # Accelerate places it; or the input's size is not known
    return max(1, min(size, CPU_BATCH_PIXELS // (side * side)))


def _mode(grad, device, precision):
    """No gradients (unless ``grad``), autocast as ``precision`` asks."""
    autocast = (
        contextlib.nullcontext()
        if precision is None or device is None
        else autocast_for(device, precision)
    )
    stack = contextlib.ExitStack()
    if not grad:
        stack.enter_context(torch.no_grad())
    stack.enter_context(autocast)
    return stack


def iter_batches(
    forward,
    X,
    *,
    batch_size=PREDICT_BATCH_SIZE,
    device=None,
    precision=None,
    bounds=None,
    grad=False,
    extras=(),
):
    """Yield ``(start, stop, forward(X[start:stop]))`` batch by batch.

    Each batch runs without gradients (unless ``grad``) and under the
    autocast of ``precision``; the context is entered anew for every batch,
    so the caller's code between batches runs as it was.

    Parameters
    ----------
    forward : callable
        Batch (on ``device``) -> tensor.
    X : tensor of shape (n, ...)
    batch_size : int, default=256
    device : str, torch.device or None, default=None
        Where each batch goes; None leaves it where it is (``forward`` moves
        it, as skorch's ``infer`` does).
    precision : {"auto", "float32", "bfloat16"} or None, default=None
        None: no autocast here (``forward`` has its own).
    bounds : list of (start, stop) or None
        The batches, when not every ``batch_size`` images.
    grad : bool, default=False
        Keep gradients (Grad-CAM).
    extras : tuple of tensors, default=()
        Tensors of ``len(X)`` rows sliced like ``X`` and passed to
        ``forward`` after the batch (e.g. a target per image).
    """
    if bounds is None:
        bounds = [
            (start, min(start + batch_size, len(X)))
            for start in range(0, len(X), batch_size)
        ]
    for start, stop in bounds:
        batch, *more = (tensor[start:stop] for tensor in (X, *extras))
        if device is not None:
            batch, *more = (t.to(device, non_blocking=True) for t in (batch, *more))
        with _mode(grad, device, precision):
            output = forward(batch, *more)
        yield start, stop, output


def _concatenate(outputs, to):
    """Concatenate per-batch outputs (tensors, or tuples of tensors)."""
    if isinstance(outputs[0], tuple | list):
        parts = zip(*outputs, strict=True)
        return tuple(_concatenate(list(part), to) for part in parts)
    return torch.cat(outputs).to(to)


def _scatter(outputs, order):
    """Put rows computed in ``order`` back where they came from."""
    if isinstance(outputs, tuple):
        return tuple(_scatter(part, order) for part in outputs)
    outputs[order.to(outputs.device)] = outputs.clone()
    return outputs


def batched_inference(
    forward,
    X,
    *,
    device=None,
    precision=None,
    batch_size=PREDICT_BATCH_SIZE,
    ordered=False,
    loader=None,
    to="cpu",
):
    """``forward`` over all images ``X``, in batches: one output in ``X``'s order.

    Parameters
    ----------
    forward : callable
        Batch -> tensor (or tuple of tensors).
    X : tensor of shape (n, C, H, W)
        Images (uint8 or float), or what ``forward`` takes.
    device : str, torch.device or None, default=None
        Where the work runs: ``X`` goes there when it fits in the device
        budget, else in pinned host memory, batch by batch. None leaves
        ``X`` and its batches where they are.
    precision : {"auto", "float32", "bfloat16"} or None, default=None
        Autocast (:func:`~sktransfer._runtime._device.autocast_for`); None: none here.
    batch_size : int, default=256
    ordered : bool, default=False
        Run the rows in an order set by their content (the same images give
        the same bits in any order), then put them back in ``X``'s order.
    loader : callable or None, default=None
        ``loader(dataset) -> iterable of (X_batch, y_batch)``: the batches of
        an :class:`~sktransfer._runtime._batches.ImageDataset` (or a ``Subset`` of one);
        None slices ``batch_size`` images at a time. The skorch estimators
        pass their ``get_iterator``.
    to : str or torch.device, default="cpu"
        Where the concatenated output goes.

    Returns
    -------
    outputs : tensor (or tuple of tensors) of n rows
    """
    if device is not None:
        X = place_images(X, device)
    dataset = ImageDataset(X, device=device)
    order = content_order(X) if ordered else None
    if order is not None:
        dataset = Subset(dataset, order)
    if loader is None:

        def loader(dataset):
            return BatchLoader(dataset, batch_size=batch_size)

    outputs = []
    for batch, _ in loader(dataset):
        with _mode(False, device, precision):
            outputs.append(forward(batch))
    outputs = _concatenate(outputs, to)
    return outputs if order is None else _scatter(outputs, order)


def require_finite(outputs, what="outputs"):
    """Refuse non-finite network outputs with a ``ValueError`` naming ``X``:
    never a silently wrong answer."""
    if not torch.isfinite(outputs).all():
        raise ValueError(
            f"The network gave non-finite {what} for `X`: its weights are not "
            "finite (a diverged fit?) or `X` holds extreme values (on another "
            "scale than floats in [0, 1] or uint8). Scale X, or refit with a "
            "smaller `lr`."
        )
    return outputs
