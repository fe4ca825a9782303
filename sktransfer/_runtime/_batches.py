"""Batches sliced from in-memory tensors by index.

skorch's default ``DataLoader`` fetches every image through a Python
``__getitem__`` and collates them; a small image dataset fits in memory (on
the GPU when there is one), so here a batch is one index operation. Image
files (what ``fit`` keeps of paths) are indexed the same way, each batch
read one ahead in a thread.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import torch
from torch.utils.data import Dataset, Subset

__all__ = ["BatchLoader", "ImageDataset", "ShuffledBatchLoader", "content_order"]


class ImageDataset(Dataset):
    """Images ``(n, C, H, W)`` and optional targets, as tensors.

    ``device`` is where batches go; ``X`` may live elsewhere (pinned host
    memory when it does not fit on the GPU), and then each batch is copied
    over as it is drawn. With a ``weight`` per image (the loss weights of
    :mod:`sktransfer._training._training_set`), a batch's targets are ``(y, weight)``.
    """

    def __init__(self, X, y=None, device=None, weight=None):
        self.X = X
        self.y = y
        self.weight = weight
        self.device = X.device if device is None else torch.device(device)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        # A 0 placeholder without labels, as skorch's Dataset, so that
        # torch's DataLoader can collate (the Accelerate variant uses it).
        y = self.y[index] if self.y is not None else torch.zeros((), dtype=torch.long)
        if self.weight is not None:
            return self.X[index], (y, self.weight[index])
        return self.X[index], y


def content_order(X, chunk=1024):
    """An order of the images ``X`` that depends on their content only.

    A batched matrix product may round a row differently depending on where
    in the batch it sits (BLAS handles the last rows of a block with another
    kernel). Predicting the rows in this order, whatever order they came in,
    gives the same bits for the same images (scikit-learn's
    ``check_methods_sample_order_invariance`` demands 1e-7). Each image's key
    is a fixed random projection of its pixels, in float64.

    Parameters
    ----------
    X : tensor of shape (n, ...), n >= 1, or what slices into one
    chunk : int, default=1024
        Images projected at a time (bounds the float64 copy).

    Returns
    -------
    order : LongTensor of shape (n,), on ``X``'s device
    """
    size = math.prod(X.shape[1:])
    generator = torch.Generator().manual_seed(0)
    weights = torch.rand(size, generator=generator, dtype=torch.float64)
    weights = weights.to(X.device)
    # A slice at a time: X may be image files, decoded as they are sliced.
    keys = torch.cat(
        [
            X[start : start + chunk].reshape(-1, size).to(torch.float64) @ weights
            for start in range(0, len(X), chunk)
        ]
    )
    return torch.argsort(keys, stable=True)


def _read_ahead(X, batches):
    """``X[batch]`` for each batch in turn. Images in memory are sliced as
    they are asked for; image files (what ``fit`` keeps of paths) are read
    one batch ahead in a thread, so that decoding the next batch overlaps
    the training step on this one."""
    if isinstance(X, torch.Tensor):
        for batch in batches:
            yield X[batch]
        return
    with ThreadPoolExecutor(max_workers=1) as reader:
        coming = reader.submit(X.__getitem__, batches[0]) if batches else None
        for index in range(len(batches)):
            X_batch = coming.result()
            if index + 1 < len(batches):
                coming = reader.submit(X.__getitem__, batches[index + 1])
            yield X_batch


def _base_and_indices(dataset):
    indices = None
    while isinstance(dataset, Subset):
        subset_indices = torch.as_tensor(dataset.indices, dtype=torch.long)
        indices = subset_indices if indices is None else subset_indices[indices]
        dataset = dataset.dataset
    if not isinstance(dataset, ImageDataset):
        raise TypeError(
            f"BatchLoader needs an ImageDataset (or a Subset of one); got "
            f"{type(dataset).__name__}."
        )
    return dataset, indices


class BatchLoader:
    """Iterate over ``(X_batch, y_batch)`` slices of the images an estimator
    holds in memory: the default ``iterator_valid`` of the estimators
    (``iterator_train``: :class:`ShuffledBatchLoader`), a batch one index
    operation instead of skorch's ``DataLoader`` collating image by image.

    Parameters
    ----------
    dataset : dataset
        The estimator's images (and targets) as tensors, or a
        ``torch.utils.data.Subset`` of them.
    batch_size : int, default=128
        Images per batch.
    shuffle : bool, default=False
        Draw a new permutation (from torch's global generator) each epoch.
    drop_last : bool, default=False
        Leave out a last batch smaller than ``batch_size``.
    **ignored
        DataLoader arguments without meaning here (``num_workers``,
        ``pin_memory``, ...), accepted so that skorch settings keep working.
    """

    def __init__(
        self, dataset, batch_size=128, shuffle=False, drop_last=False, **ignored
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.base, self.indices = _base_and_indices(dataset)

    def __len__(self):
        n = len(self.dataset)
        full, rest = divmod(n, self.batch_size)
        return full if self.drop_last or not rest else full + 1

    def __iter__(self):
        n = len(self.dataset)
        device = self.base.X.device
        if self.shuffle:
            order = torch.randperm(n)
            order = order if self.indices is None else self.indices[order]
        else:
            order = self.indices
        if order is not None:
            order = order.to(device)
        stop = n - n % self.batch_size if self.drop_last else n
        batches = [
            slice(start, start + self.batch_size)
            if order is None
            else order[start : start + self.batch_size]
            for start in range(0, stop, self.batch_size)
        ]
        for batch, X in zip(batches, _read_ahead(self.base.X, batches), strict=True):
            y = None if self.base.y is None else self.base.y[batch]
            weight = None if self.base.weight is None else self.base.weight[batch]
            if X.device != self.base.device:
                X, y, weight = (
                    None if t is None else t.to(self.base.device, non_blocking=True)
                    for t in (X, y, weight)
                )
            yield X, y if weight is None else (y, weight)


class ShuffledBatchLoader(BatchLoader):
    """:class:`BatchLoader` that shuffles by default: the estimators' default
    ``iterator_train``.

    Parameters
    ----------
    dataset : dataset
        As in :class:`BatchLoader`.
    batch_size : int, default=128
        Images per batch.
    shuffle : bool, default=True
        Draw a new permutation each epoch.
    drop_last : bool, default=False
        Leave out a last batch smaller than ``batch_size``.
    **ignored
        As in :class:`BatchLoader`.
    """

    def __init__(
        self, dataset, batch_size=128, shuffle=True, drop_last=False, **ignored
    ):
        super().__init__(dataset, batch_size, shuffle=shuffle, drop_last=drop_last)
