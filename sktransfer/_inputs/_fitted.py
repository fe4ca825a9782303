"""What a fitted estimator knows of its images, and the one check of new
images against it.

``fit`` records the shape and the pixel scale of the training images
(:func:`remember_images`); ``predict``, ``transform``, ``partial_fit`` and
every Display read new images through :func:`check_fitted_images`, so that
they all accept and refuse the same images: another number of channels is
refused, another height and width is accepted where the network resizes
every image to its input size, rows take the fitted shape, and images on
another pixel scale than in fit are named in a warning.
"""

from __future__ import annotations

import math

from sklearn.utils.validation import check_is_fitted

from ._images import check_images, pixel_max

__all__ = [
    "check_fitted_images",
    "fitted_image_shape",
    "fitted_network",
    "remember_images",
]


def fitted_network(estimator):
    """The TransferNetwork of a fitted estimator of this library, or None.

    ``module_`` of the classifiers, ``network_`` of the feature extractor.
    """
    network = getattr(estimator, "module_", None)
    if network is None:
        network = getattr(estimator, "network_", None)
    return network


def remember_images(estimator, images, *, scale=True):
    """Record what later images are checked against: ``image_shape_``
    ``(C, H, W)``, ``n_features_in_`` and, with ``scale``, ``pixel_max_``
    (:func:`~sktransfer._inputs._images.pixel_max`); and ``n_samples_fit_``, the
    number of images, which a model file reports."""
    estimator.n_samples_fit_ = int(len(images))
    estimator.image_shape_ = tuple(int(v) for v in images.shape[1:])
    estimator.n_features_in_ = math.prod(estimator.image_shape_)
    if scale:
        estimator.pixel_max_ = pixel_max(images)


def check_fitted_images(estimator, X, *, check_scale=True):
    """Images ``X`` for a fitted ``estimator``, as an ``(n, C, H, W)`` tensor.

    Parameters
    ----------
    estimator : fitted estimator of this library
        Its ``image_shape`` parameter reads 2-D rows, its ``image_shape_``
        is the shape new images must have (another height and width pass
        when its network resizes to an ``input_size``), its ``pixel_max_``
        the scale they are compared with.
    X : images in any layout :func:`~sktransfer._inputs._images.check_images` takes
    check_scale : bool, default=True
        Warn about images off the [0, 1] scale or off the fit's scale.

    Returns
    -------
    images : torch.Tensor
    """
    check_is_fitted(estimator, "image_shape_")
    network = fitted_network(estimator)
    return check_images(
        X,
        getattr(estimator, "image_shape", None),
        expected_shape=estimator.image_shape_,
        estimator_name=type(estimator).__name__,
        check_scale=check_scale,
        fitted_max=getattr(estimator, "pixel_max_", None) if check_scale else None,
        resizable=getattr(network, "input_size", None) is not None,
    )


def fitted_image_shape(model):
    """The ``(C, H, W)`` images ``model`` was fitted on, or None.

    Looks at the model, then at the steps of a pipeline (first one that
    knows) or the estimator a search or a wrapper holds, so that images for
    it can be read the same way.
    """
    shape = getattr(model, "image_shape_", None)
    if shape is not None:
        return tuple(int(v) for v in shape)
    inner = [step for _, step in getattr(model, "steps", [])]
    inner += [getattr(model, name, None) for name in ("best_estimator_", "estimator")]
    for step in inner:
        shape = fitted_image_shape(step) if step is not None else None
        if shape is not None:
            return shape
    return None
