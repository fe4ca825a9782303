"""What comes in, checked before anything runs: images in any layout and
their scale (``_images.py``), image files read into arrays (``_reading.py``)
and taken as ``X`` (``_paths.py``), labels (``_labels.py``), sample weights
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
from ._paths import ImageFiles, files_per_chunk, path_chunks
from ._reading import (
    IMAGE_EXTENSIONS,
    check_reading_params,
    is_hidden,
    read_images,
    scan_image_files,
)
from ._sample_weight import check_sample_weight

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageFiles",
    "ImageShapeWarning",
    "PixelScaleWarning",
    "check_fitted_images",
    "check_images",
    "check_labels",
    "check_reading_params",
    "check_sample_weight",
    "encode_labels",
    "encode_targets",
    "files_per_chunk",
    "fitted_image_shape",
    "fitted_network",
    "is_hidden",
    "path_chunks",
    "read_images",
    "remember_images",
    "scan_image_files",
]
