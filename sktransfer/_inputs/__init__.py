"""TODO"""

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
