"""Where training data lives, and frozen-prefix caching.

Two memory budgets, both documented in the GPU guide:

* the images go to the device as uint8 when they take at most
  ``DEVICE_DATA_FRACTION`` of its free memory; otherwise they stay in (pinned)
  host memory and each batch is copied over as it is needed;
* the output of the frozen units is cached for a fit when it takes at most
  ``CACHE_DEVICE_FRACTION`` of the free CUDA memory, or ``CACHE_HOST_BYTES``
  on the CPU; otherwise the fit runs the whole network every epoch.
"""

from __future__ import annotations

import contextlib
import math

import torch

__all__ = ["compute_prefix", "fits_on_device", "frozen_prefix", "place_images"]

DEVICE_DATA_FRACTION = 0.25
CACHE_DEVICE_FRACTION = 0.4
CACHE_HOST_BYTES = 8 * 2**30


def _free_cuda_bytes(device):
    free, _ = torch.cuda.mem_get_info(torch.device(device))
    return free


def fits_on_device(nbytes, device, fraction=DEVICE_DATA_FRACTION):
    """Whether ``nbytes`` may live on ``device`` (always true for the CPU)."""
    if torch.device(device).type != "cuda":
        return True
    return nbytes <= fraction * _free_cuda_bytes(device)


def place_images(X, device):
    """Images on the device when they fit there, else in pinned host memory."""
    nbytes = X.element_size() * X.nelement()
    if fits_on_device(nbytes, device):
        return X.to(device)
    if torch.device(device).type == "cuda" and torch.cuda.is_available():
        return X if X.is_pinned() else X.pin_memory()
    return X


def _cache_budget(device):
    if torch.device(device).type == "cuda":
        return CACHE_DEVICE_FRACTION * _free_cuda_bytes(device)
    return CACHE_HOST_BYTES


def compute_prefix(network, X, n_units, device, batch_size, autocast):
    """Output of the first ``n_units`` units for all of ``X``, or None.

    None when it would not fit in the cache budget. The network runs in eval
    mode (its frozen units are in eval mode during training anyway) and
    without gradients; the result stays on ``device``.
    """
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad(), autocast:
            for start in range(0, len(X), batch_size):
                batch = X[start : start + batch_size].to(device, non_blocking=True)
                h = network.forward_features(network.prepare(batch), upto=n_units)
                if start == 0:  # the first batch tells the size of the cache
                    per_sample = h.element_size() * math.prod(h.shape[1:])
                    if per_sample * len(X) > _cache_budget(device):
                        return None
                    out = torch.empty(
                        (len(X), *h.shape[1:]), dtype=h.dtype, device=device
                    )
                out[start : start + len(batch)] = h
    finally:
        network.train(was_training)
    return out


@contextlib.contextmanager
def frozen_prefix(estimator, X):
    """Let ``estimator`` train on the cached output of its frozen units.

    Exact, so used, when the first units are frozen from the first epoch on
    (``freeze_epochs=0``), there is no augmentation and ``cache_frozen`` is
    set: the frozen units then give the same output every epoch, so it is
    computed once. Yields what to train on (``X`` itself when nothing is
    cached) and sets ``estimator.n_cached_units_``.
    """
    from ._training import resolve_device

    network = estimator.module_
    n_cached = network.n_frozen
    estimator.n_cached_units_ = 0
    if (
        not estimator.cache_frozen
        or n_cached == 0
        or estimator.freeze_epochs
        or network.augment is not None
    ):
        yield X
        return
    cached = compute_prefix(
        network,
        X,
        n_cached,
        resolve_device(estimator.device),
        estimator._predict_batch_size(),
        estimator._autocast(),
    )
    if cached is None:  # over the memory budget
        yield X
        return
    network.cached_units = n_cached
    estimator.n_cached_units_ = n_cached
    try:
        yield cached
    finally:
        network.cached_units = 0
