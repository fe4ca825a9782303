"""Datasets that work offline: the bundled digits and Fashion-MNIST's IDX files."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

__all__ = ["FASHION_MNIST_CLASSES", "load_digits_images", "load_fashion_mnist"]

FASHION_MNIST_HOME = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def load_digits_images():
    """scikit-learn's bundled digits as ``uint8`` images.

    Returns
    -------
    X : ndarray of shape (1797, 8, 8), dtype uint8
        Pixel values 0..16 scaled to 0..255.
    y : ndarray of shape (1797,)
        Digits 0..9.

    Examples
    --------
    >>> from sktransfer.datasets import load_digits_images
    >>> X, y = load_digits_images()
    >>> X.shape, X.dtype, int(X.max())
    ((1797, 8, 8), dtype('uint8'), 255)
    """
    X, y = load_digits(return_X_y=True)
    images = (X.reshape(-1, 8, 8) * (255 / 16)).round().astype(np.uint8)
    return images, y


def _read_idx(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes.")
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: expected {shape}.")
    return array.reshape(shape)


def load_fashion_mnist(data_home=None, *, subset="train"):
    """Fashion-MNIST images and labels from the IDX files.

    Parameters
    ----------
    data_home : str or path, default=None
        Folder holding ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``.
        Default: ``$SKTRANSFER_FASHION_MNIST``, else the Debian package's
        ``/usr/share/datasets/fashion-mnist``.
    subset : {"train", "test"}, default="train"
        60,000 training or 10,000 test images.

    Returns
    -------
    X : ndarray of shape (n, 28, 28), dtype uint8
    y : ndarray of shape (n,)
        Class indices; names in ``FASHION_MNIST_CLASSES``.

    Raises
    ------
    FileNotFoundError
        Saying where it looked and how to get the files.
    """
    if subset not in ("train", "test"):
        raise ValueError(f"`subset` must be 'train' or 'test', got {subset!r}.")
    home = Path(
        data_home or os.environ.get("SKTRANSFER_FASHION_MNIST") or FASHION_MNIST_HOME
    )
    prefix = "train" if subset == "train" else "t10k"
    found = {}
    for kind, stem in (("images", "images-idx3"), ("labels", "labels-idx1")):
        candidates = [home / f"{prefix}-{stem}-ubyte{ext}" for ext in (".gz", "")]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise FileNotFoundError(
                f"Fashion-MNIST {subset} {kind} not found: looked for "
                f"{', '.join(map(str, candidates))}. Install them with "
                "`apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or "
                "download the IDX files from "
                "https://github.com/zalandoresearch/fashion-mnist and pass "
                "`data_home` or set SKTRANSFER_FASHION_MNIST."
            )
        found[kind] = _read_idx(path)
    X, y = found["images"], found["labels"].astype(np.int64)
    if len(X) != len(y):
        raise ValueError(
            f"Fashion-MNIST files in {home} disagree: {len(X)} images, {len(y)} labels."
        )
    return X, y
