"""Frozen-prefix caching: the output of the frozen units, computed once a fit.

The cache is kept for a fit when it takes at most ``CACHE_DEVICE_FRACTION``
of the free CUDA memory, or ``CACHE_HOST_BYTES`` on the CPU (budgets
documented in the GPU guide). On the CPU, a larger cache goes into a
memory-mapped file in a temporary folder, removed when the fit ends (or
fails), when the disk has room for it; otherwise the fit runs the whole
network every epoch.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import tempfile
from pathlib import Path

import torch

from .._runtime import free_cuda_bytes, is_cuda, iter_batches, prediction_batch_size

__all__ = ["compute_prefix", "frozen_prefix"]

CACHE_DEVICE_FRACTION = 0.4
CACHE_HOST_BYTES = 8 * 2**30
# Room left on the disk after a memory-mapped cache.
DISK_MARGIN = 1 * 2**30


def _cache_budget(device):
    if is_cuda(device):
        return CACHE_DEVICE_FRACTION * free_cuda_bytes(device)
    return CACHE_HOST_BYTES


def _spilled(folder, shape, dtype):
    """An empty tensor of ``shape`` backed by a file in ``folder`` (pages the
    system can write out), or None when the disk has no room for it."""
    count = math.prod(shape)
    nbytes = count * torch.empty((), dtype=dtype).element_size()
    if shutil.disk_usage(folder).free < nbytes + DISK_MARGIN:
        return None
    path = Path(folder) / "frozen-prefix.bin"
    with open(path, "wb") as stream:
        stream.truncate(nbytes)
    return torch.from_file(str(path), shared=True, size=count, dtype=dtype).view(shape)


def compute_prefix(network, X, n_units, device, batch_size, precision, spill=None):
    """Output of the first ``n_units`` units for all of ``X``, or None.

    None when it would not fit in the cache budget (and, on the CPU, not in
    a memory-mapped file in the folder ``spill`` either). The network runs
    in eval mode (its frozen units are in eval mode during training anyway)
    and without gradients; the result stays on ``device``. ``X`` may be
    image files, read a batch at a time.
    """

    def prefix(batch):
        return network.forward_features(network.prepare(batch), upto=n_units)

    was_training = network.training
    network.eval()
    out = None
    try:
        for start, stop, h in iter_batches(
            prefix, X, batch_size=batch_size, device=device, precision=precision
        ):
            if out is None:  # the first batch tells the size of the cache
                shape = (len(X), *h.shape[1:])
                per_sample = h.element_size() * math.prod(h.shape[1:])
                if per_sample * len(X) <= _cache_budget(device):
                    out = torch.empty(shape, dtype=h.dtype, device=device)
                elif spill is not None and not is_cuda(device):
                    out = _spilled(spill, shape, h.dtype)
                if out is None:
                    return None
            out[start:stop] = h
    finally:
        network.train(was_training)
    return out


@contextlib.contextmanager
def frozen_prefix(estimator, X, device):
    """Let ``estimator`` train on the cached output of its frozen units.

    Exact, so used, when the first units are frozen from the first epoch on
    (``freeze_epochs=0``), there is no augmentation and ``cache_frozen`` is
    set: the frozen units then give the same output every epoch, so it is
    computed once, a batch at a time (``X`` may be image files, read as
    they are sliced: then only the cache is held). Yields what to train on
    (``X`` itself when nothing is cached: image files are then read a
    training batch at a time, every epoch) and sets
    ``estimator.n_cached_units_``.
    """
    network = estimator.module_
    n_cached = network.n_frozen
    estimator.n_cached_units_ = 0
    if (
        not estimator.cache_frozen
        or n_cached == 0
        or estimator.freeze_epochs
        or network.augment is not None
    ):
        yield X  # image files: each epoch reads them a batch at a time
        return
    with tempfile.TemporaryDirectory(
        prefix="sktransfer-cache-", ignore_cleanup_errors=True
    ) as spill:
        cached = compute_prefix(
            network,
            X,
            n_cached,
            device,
            prediction_batch_size(estimator),
            estimator.precision,
            spill=spill,
        )
        if cached is None:  # over the memory budget and the disk's room
            yield X
            return
        network.cached_units = n_cached
        estimator.n_cached_units_ = n_cached
        try:
            yield cached
        finally:
            network.cached_units = 0
