"""Devices: where the work runs, in which precision, and where the data lives.

The one place that knows devices: ``device="auto"``, "is it CUDA", bf16
autocast, the scoped cuDNN autotuner, and the memory budget that decides
whether the images of a fit live on the device. The estimators keep the
user's ``"auto"`` as their parameter (so that ``clone`` and pickles move
between machines) while skorch sees the resolved device during ``fit``,
``predict`` and ``load_params``
(:class:`~sktransfer._estimators._skorch.SkorchEstimator`).

Budgets, documented in the GPU guide: the images go to the device as uint8
when they take at most ``DEVICE_DATA_FRACTION`` of its free memory;
otherwise they stay in (pinned) host memory and each batch is copied over as
it is needed.
"""

from __future__ import annotations

import contextlib

import torch

__all__ = [
    "autocast_for",
    "cudnn_autotune",
    "fits_on_device",
    "free_cuda_bytes",
    "is_cuda",
    "place_images",
    "resolve_device",
    "to_device",
]

DEVICE_DATA_FRACTION = 0.25


def resolve_device(device):
    """``"auto"`` -> ``"cuda"`` when a GPU is present, else ``"cpu"``.

    ``None`` (device placement left to Hugging Face Accelerate) keeps data on
    the CPU: ``"cpu"``. Anything else (``"cuda:1"``, a ``torch.device``) is
    returned as it is.
    """
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device is None:
        return "cpu"
    return device


def is_cuda(device):
    """Whether ``device`` (``"auto"``, a name or a ``torch.device``) is a GPU."""
    return torch.device(resolve_device(device)).type == "cuda"


def free_cuda_bytes(device):
    """Free memory of the CUDA ``device``, in bytes."""
    free, _ = torch.cuda.mem_get_info(torch.device(device))
    return free


def fits_on_device(nbytes, device, fraction=DEVICE_DATA_FRACTION):
    """Whether ``nbytes`` may live on ``device`` (always true for the CPU)."""
    if not is_cuda(device):
        return True
    return nbytes <= fraction * free_cuda_bytes(device)


def place_images(X, device):
    """Images on the device when they fit there, else in pinned host memory
    (image files stay files: each batch is read, then moved)."""
    if not isinstance(X, torch.Tensor):
        return X
    nbytes = X.element_size() * X.nelement()
    if fits_on_device(nbytes, device):
        return X.to(device)
    if is_cuda(device) and torch.cuda.is_available():
        return X if X.is_pinned() else X.pin_memory()
    return X


@contextlib.contextmanager
def cudnn_autotune(device, random_state):
    """cuDNN's autotuner on CUDA while the estimator works, then as it was.

    Off when ``random_state`` is set: the autotuner may pick another
    algorithm on another run, and the estimators promise repeatable results
    then. Never left changed for the rest of the process.
    """
    previous = torch.backends.cudnn.benchmark
    if is_cuda(device) and random_state is None:
        torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = previous


def autocast_for(device, precision):
    """The autocast context of ``precision`` on ``device``: bf16 for
    ``"bfloat16"``, and for ``"auto"`` on CUDA; float32 (no autocast)
    otherwise."""
    device_type = "cuda" if is_cuda(device) else "cpu"
    if precision == "bfloat16" or (precision == "auto" and device_type == "cuda"):
        return torch.autocast(device_type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_device(x, device):
    """A batch on ``device`` (None: where it is; the network lays it out)."""
    x = torch.as_tensor(x)
    if device is None:
        return x
    return x.to(resolve_device(device), non_blocking=True)
