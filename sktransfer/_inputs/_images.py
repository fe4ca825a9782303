"""Image validation and conversion: the only place that knows array layouts.

Accepted, and told apart without guessing:

* 4-D ``(n, C, H, W)`` or ``(n, H, W, C)``: channels-last when the last axis
  has at most 4 entries;
* 3-D ``(n, H, W)``: grayscale;
* 2-D ``(n, C*H*W)`` rows, reshaped with ``image_shape`` ``(C, H, W)`` or
  ``(H, W)``; rows are read in C order (channels first). Without
  ``image_shape`` the shape is a guess, and :class:`ImageShapeWarning` says
  which: a row of ``d`` values is a square grayscale image when ``d`` is a
  perfect square, else a one-row grayscale image ``(1, 1, d)``. One value a
  row cannot be an image and is refused. After ``fit``, rows take the fitted
  shape.

``uint8`` stays ``uint8`` (scaled to [0, 1] on the device); other real
dtypes become ``float32``. NumPy arrays, torch tensors, pandas DataFrames and
lists of arrays are accepted; so is a 1-D array of image files
(``_paths.py`` reads them).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from ._paths import image_files, is_image_paths, read_image_paths

__all__ = [
    "ImageShapeWarning",
    "PixelScaleWarning",
    "check_images",
    "infer_image_shape",
    "pixel_max",
]

# Float images a hair outside [0, 1] (resampling overshoot) are not a mistake.
_SCALE_TOLERANCE = 1e-3
# How far apart (a factor) the scales of fit and predict may be before a warning.
_SCALE_FACTOR = 8.0


class PixelScaleWarning(UserWarning):
    """Images whose values are not on the scale the networks read.

    The networks read uint8 images in [0, 255] and float images in [0, 1];
    other values are used as they are, and give silently wrong predictions.
    """


class ImageShapeWarning(UserWarning):
    """2-D rows read as images of a guessed shape (no ``image_shape`` given).

    A row of ``d`` values becomes a square grayscale image when ``d`` is a
    perfect square, else one row of ``d`` pixels; pass ``image_shape`` to say
    what the rows are.
    """


def pixel_max(images):
    """The largest value of ``images`` on the [0, 1] scale (uint8 / 255)."""
    if len(images) == 0 or (isinstance(images, torch.Tensor) and not images.numel()):
        return 0.0
    high = float(images.max())
    return high / 255.0 if images.dtype == torch.uint8 else high


def _check_scale(array, fitted_max, estimator_name):
    """Warn about images off the [0, 1] scale, or off the fit's scale."""
    if array.dtype == np.uint8:
        now = float(array.max()) / 255.0
    elif array.dtype.kind == "b":
        now = float(array.max())
    else:
        low, now = float(array.min()), float(array.max())
        if low < -_SCALE_TOLERANCE or now > 1 + _SCALE_TOLERANCE:
            integers = (
                " (integers other than uint8 are read as floats)"
                if array.dtype.kind in "iu"
                else ""
            )
            warnings.warn(
                f"`X` holds values in [{low:.4g}, {now:.4g}] but {estimator_name} "
                "expects images as floats in [0, 1] or uint8 in [0, 255]"
                f"{integers}; on another scale the predictions are silently "
                "wrong. Divide X by its maximum (X / 255 for 8-bit images, X / 16 "
                "for load_digits) or pass uint8 images.",
                PixelScaleWarning,
                stacklevel=4,
            )
    if fitted_max is None or fitted_max <= 0:
        return
    if now > _SCALE_FACTOR * fitted_max or 0 < now < fitted_max / _SCALE_FACTOR:
        warnings.warn(
            f"`X` reaches {now:.4g} on the [0, 1] scale but {estimator_name} was "
            f"fitted on images reaching {fitted_max:.4g}: the two are on different "
            "scales, and predictions are silently wrong. Scale X as in fit (e.g. "
            "both divided by 255, or both uint8).",
            PixelScaleWarning,
            stacklevel=4,
        )


def infer_image_shape(n_features, image_shape=None):
    """The ``(C, H, W)`` a row of ``n_features`` values is read as."""
    if image_shape is not None:
        shape = tuple(int(v) for v in image_shape)
        if len(shape) == 2:
            shape = (1, *shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(
                "`image_shape` must be (C, H, W) or (H, W) with positive entries, "
                f"got {image_shape!r}."
            )
        if math.prod(shape) != n_features:
            raise ValueError(
                f"`image_shape`={shape} holds {math.prod(shape)} values but the rows "
                f"of X have {n_features} features."
            )
        return shape
    side = math.isqrt(n_features)
    if side * side == n_features:
        return (1, side, side)
    return (1, 1, n_features)


def _guess_shape(n_features, source):
    """The shape :func:`infer_image_shape` guesses, with a warning saying so."""
    if n_features == 1:
        raise ValueError(
            f"`X` has 1 feature(s) per row (shape {source}): one value cannot be "
            "an image. Pass images (n, H, W), (n, H, W, C) or (n, C, H, W), or "
            "rows of pixels with `image_shape=(C, H, W)`."
        )
    shape = infer_image_shape(n_features)
    what = (
        f"a square grayscale image {shape[1]}x{shape[2]}"
        if shape[1] > 1
        else f"one row of {n_features} pixels (1x{n_features}), since "
        f"{n_features} is not a perfect square"
    )
    warnings.warn(
        f"`X` is 2-D (shape {source}) and `image_shape` is None, so each row is "
        f"read as {what}, i.e. image_shape={shape}. If the rows are images of "
        "another shape (e.g. RGB, or not square), pass `image_shape=(C, H, W)`; "
        "if they are not images, this estimator is the wrong tool.",
        ImageShapeWarning,
        stacklevel=4,
    )
    return shape


def _single_image_hint(shape, expected_shape):
    """A hint when ``shape`` is one image of ``expected_shape`` without the
    batch axis, else an empty string."""
    channels, height, width = expected_shape
    singles = {(height, width), (channels, height, width), (height, width, channels)}
    if channels == 1:
        singles.add((height, width, 1))
    if tuple(shape) in singles:
        return (
            f" `X` has shape {tuple(shape)}, which looks like one image without "
            "the batch axis: pass X[None] (or [image]) to predict one image."
        )
    return ""


def _check_fitted_shape(shape, given_shape, expected_shape, estimator_name, resizable):
    """Refuse images of ``shape`` (n, C, H, W) that differ from the fitted
    ``expected_shape``, unless only their size differs and ``resizable``."""
    hint = _single_image_hint(given_shape, expected_shape)
    same_channels = shape[1] == expected_shape[0]
    if resizable and same_channels and not hint:
        return  # the network resizes every image to its input size
    if hint:
        advice = "." + hint
    elif same_channels:
        advice = (
            ": resize the images to the fitted height and width (e.g. "
            "`image_size` in load_images)."
        )
    else:
        advice = (
            f": {shape[1]} channel(s) where it expects {expected_shape[0]}. Read "
            "the images as in fit (e.g. the same `color` in load_images)."
        )
    raise ValueError(
        f"`X` holds images of shape {tuple(shape[1:])} (C, H, W) but "
        f"{estimator_name} was fitted on images of shape {tuple(expected_shape)}"
        f"{advice} (X has {math.prod(shape[1:])} features, but {estimator_name} "
        f"is expecting {math.prod(expected_shape)} features as input.)"
    )


def to_numpy(X):
    """``X`` (array, tensor, DataFrame, list of arrays) as a NumPy array."""
    if isinstance(X, torch.Tensor):
        return X.detach().cpu().numpy()
    if hasattr(X, "to_numpy") and hasattr(X, "columns"):  # pandas DataFrame
        return X.to_numpy()
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(
            "`X` is a sparse matrix; images must be dense arrays. Convert with "
            "X.toarray() if the images are small."
        )
    try:
        return np.asarray(X)
    except ValueError as exc:
        raise ValueError(
            "`X` could not be read as an array of images (a list of arrays of "
            f"different shapes?): {exc}"
        ) from exc


def check_images(
    X,
    image_shape=None,
    *,
    expected_shape=None,
    estimator_name="estimator",
    check_scale=True,
    fitted_max=None,
    resizable=False,
    files=False,
):
    """Validate images and return them as an ``(n, C, H, W)`` tensor.

    Parameters
    ----------
    X : array-like, tensor or 1-D array of paths
        Images in any layout of the module docstring, or image files
        (:func:`~sktransfer._inputs._paths.read_image_paths` reads them).
    image_shape : tuple or None
        ``(C, H, W)`` or ``(H, W)`` for 2-D rows.
    expected_shape : tuple or None
        The ``(C, H, W)`` seen in ``fit``; a different one is refused.
    estimator_name : str
        For error messages.
    check_scale : bool, default=True
        Warn (:class:`PixelScaleWarning`) when non-uint8 values leave [0, 1].
    fitted_max : float or None, default=None
        :func:`pixel_max` of the images seen in ``fit``; warn when ``X`` is
        on another scale (a factor of 8 apart, e.g. fitted on ``X / 255``,
        predicting on ``X``).
    resizable : bool, default=False
        Accept images of another height and width than ``expected_shape``
        (same channels), for a network that resizes every image to its input
        size anyway. Rows (2-D ``X``) always take the expected shape.
    files : bool, default=False
        Return image files (a 1-D ``X`` of paths, before any fit) as
        :class:`~sktransfer._inputs._paths.ImageFiles`, read a slice at a
        time by whoever uses them, instead of decoding them all.

    Returns
    -------
    images : torch.Tensor of uint8 or float32, shape (n, C, H, W)
        Shares memory with ``X`` where the layout allows; or ImageFiles.
    """
    if is_image_paths(X):
        if files and expected_shape is None:
            return image_files(X)
        X = read_image_paths(X, expected_shape)
    array = to_numpy(X)
    given_shape = array.shape  # as passed, before any reshaping
    if array.dtype == object or array.dtype.kind in "USO":
        try:
            array = array.astype(np.float32)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"`X` must hold real numbers; got dtype {array.dtype} with values "
                f"that are not numbers ({exc})."
            ) from exc
    if array.dtype.kind == "c":
        raise ValueError(
            f"`X` must hold real numbers: Complex data not supported (dtype "
            f"{array.dtype})."
        )
    if array.dtype.kind not in "biuf":
        raise TypeError(f"`X` must hold real numbers; got dtype {array.dtype}.")
    if array.ndim < 2:
        raise ValueError(
            f"`X` must be a batch of images; got an array of shape {array.shape}. "
            "Reshape your data either using array.reshape(-1, 1) if your data has "
            "a single feature or array.reshape(1, -1) if it contains a single "
            "sample (image row)."
        )
    if array.ndim not in (2, 3, 4):
        raise ValueError(
            "`X` must be images of shape (n, C, H, W), (n, H, W, C), (n, H, W) or "
            f"rows (n, C*H*W) with `image_shape`; got an array of shape {array.shape}."
        )
    if array.shape[0] == 0:
        raise ValueError(
            f"`X` is empty: found array with 0 sample(s) (shape={array.shape}) "
            f"while a minimum of 1 is required by {estimator_name}."
        )
    if array.ndim == 2:
        if array.shape[1] == 0:
            raise ValueError(
                f"`X` has 0 feature(s) (shape={array.shape}) while a minimum of 1 "
                f"is required by {estimator_name}."
            )
        if expected_shape is not None and image_shape is None:
            if math.prod(expected_shape) != array.shape[1]:
                raise ValueError(
                    f"`X`: X has {array.shape[1]} features, but {estimator_name} is "
                    f"expecting {math.prod(expected_shape)} features as input "
                    f"(images of shape {tuple(expected_shape)})."
                    + _single_image_hint(array.shape, expected_shape)
                )
            shape = tuple(expected_shape)
        elif image_shape is None:
            shape = _guess_shape(array.shape[1], array.shape)
        else:
            shape = infer_image_shape(array.shape[1], image_shape)
        array = array.reshape(len(array), *shape)
    elif array.ndim == 3:
        array = array[:, None, :, :]
    elif array.shape[-1] <= 4:
        array = array.transpose(0, 3, 1, 2)
    elif array.shape[1] > 4:
        raise ValueError(
            "`X` has 4 dimensions but neither axis 1 nor the last axis has at most "
            f"4 entries, so channels cannot be told apart: shape {array.shape}. "
            "Pass (n, C, H, W) or (n, H, W, C)."
        )
    if min(array.shape[1:]) == 0:
        raise ValueError(f"`X` holds empty images: shape {array.shape}.")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(
            "`X` contains NaN or infinity; images must hold finite values "
            "(Input contains NaN, infinity or a value too large)."
        )
    if expected_shape is not None and tuple(array.shape[1:]) != tuple(expected_shape):
        _check_fitted_shape(
            array.shape, given_shape, expected_shape, estimator_name, resizable
        )
    if check_scale:
        _check_scale(array, fitted_max, estimator_name)
    if array.dtype != np.uint8:
        array = array.astype(np.float32, copy=False)
    if not array.flags.writeable or not array.flags.c_contiguous:
        array = np.ascontiguousarray(array).copy()
    return torch.from_numpy(array)
