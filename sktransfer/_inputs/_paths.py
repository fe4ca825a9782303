"""Image files as ``X``: a 1-D array or list of paths, read with the library's
reader where images are accepted.

``X`` is paths when it is one-dimensional and every entry is text or an
``os.PathLike`` (scikit-learn indexes such an array like any ``X``, so it
goes through ``Pipeline``, ``GridSearchCV`` and ``cross_validate``). A 1-D
``X`` of text and numbers mixed, or text that names no file, is refused by
name; 2-D text stays what it was (not numbers).

The files are read (EXIF orientation, transparency on white, palettes, 16-bit
scaled) at one size:

* in ``fit`` (no size yet), images that all share one size of at most
  :data:`PATH_SIDE` pixels a side are read at that size, as
  :func:`~sktransfer.datasets.load_images` reads them; any other set is
  stretched to :data:`PATH_SIDE` square, the input side of ImageNet
  networks, which resize every image to their input anyway;
* after ``fit``, at the fitted height, width and channels, so that paths and
  the same images read as arrays at that size give the same predictions.

Predictions and features of many files are computed a chunk of files at a
time (:func:`path_chunks`), once every file's header has been read: at most
:data:`PATH_CHUNK` files and :data:`PATH_CHUNK_BYTES` of decoded pixels at the
fitted size (:func:`files_per_chunk`), so the memory they take grows neither
with the number of files nor with their size, and a broken file among them
is named before any work.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np
import torch

from ._reading import read_images, scan_image_files

__all__ = [
    "PATH_CHUNK",
    "PATH_CHUNK_BYTES",
    "PATH_SIDE",
    "ImageFiles",
    "files_per_chunk",
    "image_files",
    "is_image_paths",
    "path_chunks",
    "read_image_paths",
]

# The side images of several sizes (or larger ones) are read at, in pixels.
PATH_SIDE = 224
# Files read at a time where a method's output is per image (predict,
# transform): at most PATH_CHUNK files and PATH_CHUNK_BYTES of decoded
# pixels, 2,048 grey images of 224 px (103 MB; the 70,000-image run of
# benchmarks/large_folder.py peaked at 1,882 MiB with them) or 682 RGB ones.
PATH_CHUNK = 2048
PATH_CHUNK_BYTES = 2048 * 224 * 224


def files_per_chunk(image_shape=None):
    """How many files of ``image_shape`` a chunk holds: at most
    :data:`PATH_CHUNK`, and no more than :data:`PATH_CHUNK_BYTES` of decoded
    uint8 pixels (at least one file).

    Parameters
    ----------
    image_shape : tuple of int or None, default=None
        ``(C, H, W)`` the files are read at; None: :data:`PATH_CHUNK`.

    Returns
    -------
    files : int

    Examples
    --------
    >>> files_per_chunk((1, 224, 224)), files_per_chunk((3, 224, 224))
    (2048, 682)
    >>> files_per_chunk((3, 64, 64)), files_per_chunk((3, 8192, 8192))
    (2048, 1)
    """
    if image_shape is None:
        return PATH_CHUNK
    per_image = max(1, math.prod(int(v) for v in image_shape))
    return max(1, min(PATH_CHUNK, PATH_CHUNK_BYTES // per_image))


def _is_path(value):
    return isinstance(value, str | os.PathLike) and not isinstance(value, bytes)


def _values(X):
    """The entries of a 1-D ``X`` of paths, as a list."""
    if hasattr(X, "to_numpy"):
        X = X.to_numpy()
    return X.tolist() if isinstance(X, np.ndarray) else list(X)


def is_image_paths(X):
    """Whether ``X`` is meant as image files: one dimension, text or paths.

    Raises
    ------
    TypeError
        When ``X`` is one-dimensional and mixes paths with other values.
    """
    if _is_path(X):
        raise TypeError(
            f"`X` is one path ({os.fspath(X)!r}); pass a list or 1-D array of "
            "image files, e.g. [path] or sktransfer.datasets.list_images(folder)."
        )
    if hasattr(X, "to_numpy") and getattr(X, "ndim", None) == 1:
        X = X.to_numpy()  # a pandas Series of paths
    if isinstance(X, np.ndarray):
        if X.ndim != 1 or X.dtype.kind not in "UO" or X.size == 0:
            return False
        values = X.tolist()
    elif isinstance(X, list | tuple) and X:
        values = list(X)
    else:
        return False
    paths = [_is_path(v) for v in values]
    if not any(paths):
        return False
    if not all(paths):
        odd = next(v for v, p in zip(values, paths, strict=True) if not p)
        raise TypeError(
            "`X` mixes file paths with other values (for example "
            f"{odd!r} of type {type(odd).__name__}); pass a 1-D array of paths "
            "(text or pathlib.Path) or an array of images."
        )
    return True


def _check_files(files, scan=True):
    """Every path names a file and, with ``scan``, opens as an image (headers
    only): a broken file among many is named before any work on them.
    Returns the headers :func:`scan_image_files` read (None without ``scan``)."""
    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise FileNotFoundError(
            f"`X` is read as {len(files)} image files, but these are not files: "
            f"{missing[:5]}{more}."
        )
    return scan_image_files(files, where="`X`") if scan else None


def _fit_size(headers):
    """The size files of these ``headers`` are read at in ``fit``: the one
    they share when it is at most :data:`PATH_SIDE` a side, else
    :data:`PATH_SIDE` square."""
    sizes = {size for size, _ in headers}
    one = len(sizes) == 1 and max(next(iter(sizes))) <= PATH_SIDE
    return next(iter(sizes)) if one else (PATH_SIDE, PATH_SIDE)


# Modes whose images the reader keeps grey with color="auto".
_GREY_MODES = ("1", "L", "LA", "La", "I", "F", "I;16", "I;16B", "I;16L")


class ImageFiles:
    """Image files standing in for the ``(n, C, H, W)`` uint8 tensor they
    decode to, read a slice at a time: what ``fit`` keeps of a 1-D ``X`` of
    paths, so that its passes over the images (their content order, their
    scale, the frozen units' output) hold a batch of them at a time.

    ``images[start:stop]`` and ``images[indices]`` decode those files into a
    tensor (``images[i]``: one image); :meth:`select` reorders the files
    without reading them; :meth:`load` decodes them all. The training
    batches of a fit that caches nothing index it too: each epoch reads the
    files again, a batch at a time.

    Parameters
    ----------
    files : list of str
    size : (int, int)
        Height and width every file is read at (stretched).
    channels : {1, 3}
    """

    dtype = torch.uint8
    device = torch.device("cpu")

    def __init__(self, files, size, channels):
        self.files, self.size, self.channels = list(files), tuple(size), channels

    def __len__(self):
        return len(self.files)

    @property
    def shape(self):
        return torch.Size((len(self.files), self.channels, *self.size))

    def select(self, indices):
        """The files at ``indices`` (any integer sequence), not read."""
        indices = np.asarray(indices, dtype=np.int64).tolist()
        return ImageFiles([self.files[i] for i in indices], self.size, self.channels)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self._read(self.files[key])
        if isinstance(key, numbers.Integral):  # one image, as a tensor's row
            return self._read([self.files[key]])[0]
        return self._read(self.select(np.asarray(key).reshape(-1)).files)

    def _read(self, files, progress=False):
        if not files:
            return torch.empty((0, self.channels, *self.size), dtype=torch.uint8)
        array = read_images(
            files,
            self.size,
            resize="stretch",
            color="grey" if self.channels == 1 else "rgb",
            progress=progress,
            n_jobs=None,
            where="`X`",
        )
        array = array[:, None] if array.ndim == 3 else array.transpose(0, 3, 1, 2)
        return torch.from_numpy(np.ascontiguousarray(array))

    def load(self):
        """Every image, decoded into one tensor."""
        return self._read(self.files, progress="auto")

    def max(self):
        """The largest pixel value of all the images, read a chunk at a time."""
        chunk = files_per_chunk(tuple(self.shape[1:]))
        return max(
            int(self[start : start + chunk].max())
            for start in range(0, len(self), chunk)
        )


def image_files(X):
    """The files of the 1-D ``X`` of paths as :class:`ImageFiles`, checked
    (every path a file, every header an image's) and sized as
    :func:`read_image_paths` reads them in ``fit``, without decoding any."""
    files = [os.fspath(v) for v in _values(X)]
    headers = _check_files(files)
    colour = any(mode not in _GREY_MODES for _, mode in headers)
    return ImageFiles(files, _fit_size(headers), 3 if colour else 1)


def read_image_paths(X, expected_shape=None):
    """The image files of ``X`` as one uint8 array ``(n, H, W)`` or
    ``(n, H, W, 3)`` (see the module for the size).

    Parameters
    ----------
    X : 1-D array or list of str or os.PathLike
    expected_shape : tuple or None
        The fitted ``(C, H, W)``: the files are read at that size and with
        that many channels.

    Returns
    -------
    images : ndarray of uint8

    Raises
    ------
    FileNotFoundError
        Naming the paths that are not files.
    ValueError
        Naming every file that cannot be read as an image, in one message.
    """
    files = [os.fspath(v) for v in _values(X)]
    if expected_shape is not None:
        _check_files(files, scan=False)  # the reader names every broken file
        channels, height, width = expected_shape
        size = (int(height), int(width))
        color = "grey" if channels == 1 else "rgb"
    else:
        size, color = _fit_size(_check_files(files)), "auto"
    return read_images(
        files,
        size,
        resize="stretch",
        color=color,
        progress="auto",
        n_jobs=None,
        where="`X`",
    )


def path_chunks(X, image_shape=None):
    """``X`` in pieces of at most :func:`files_per_chunk` files of
    ``image_shape``, in order, when it is more image files than that; else
    None (read it whole).

    Parameters
    ----------
    X : anything ``X`` may be
    image_shape : tuple of int or None, default=None
        The fitted ``(C, H, W)`` the files will be read at.

    Returns
    -------
    chunks : list or None
    """
    size = files_per_chunk(image_shape)
    if not is_image_paths(X) or len(X) <= size:
        return None
    files = [os.fspath(v) for v in _values(X)]
    _check_files(files)
    X = np.asarray(files, dtype=object)
    return [X[start : start + size] for start in range(0, len(X), size)]
