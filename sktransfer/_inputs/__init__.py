"""What comes in, checked before anything runs: images in any layout and
their scale (``_images.py``), labels (``_labels.py``), sample weights
(``_sample_weight.py``), and new images against a fitted model's, with the
readers of fitted state (``_fitted.py``)."""

from ._fitted import (
    check_fitted_images,
    fitted_image_shape,
    fitted_network,
    remember_images,
)
from ._images import ImageShapeWarning, PixelScaleWarning, check_images
from ._labels import check_labels, encode_labels, encode_targets
from ._sample_weight import check_sample_weight

__all__ = [
    "ImageShapeWarning",
    "PixelScaleWarning",
    "check_fitted_images",
    "check_images",
    "check_labels",
    "check_sample_weight",
    "encode_labels",
    "encode_targets",
    "fitted_image_shape",
    "fitted_network",
    "remember_images",
]
