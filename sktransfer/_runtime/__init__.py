"""Where and how the work runs: devices, precision and memory budgets
(``_device.py``), the one batched inference loop (``_inference.py``), batches
and their content order (``_batches.py``), seeding (``_seeding.py``) and
files written whole (``_files.py``)."""

from ._batches import BatchLoader, ImageDataset, ShuffledBatchLoader, content_order
from ._device import (
    autocast_for,
    cudnn_autotune,
    free_cuda_bytes,
    is_cuda,
    place_images,
    resolve_device,
    to_device,
)
from ._files import written_whole
from ._inference import (
    PREDICT_BATCH_SIZE,
    batched_inference,
    iter_batches,
    prediction_batch_size,
    require_finite,
    statistics_batch_size,
)
from ._seeding import seeded

__all__ = [
    "BatchLoader",
    "ImageDataset",
    "PREDICT_BATCH_SIZE",
    "ShuffledBatchLoader",
    "autocast_for",
    "batched_inference",
    "content_order",
    "cudnn_autotune",
    "free_cuda_bytes",
    "is_cuda",
    "iter_batches",
    "place_images",
    "prediction_batch_size",
    "require_finite",
    "resolve_device",
    "seeded",
    "statistics_batch_size",
    "to_device",
    "written_whole",
]
