"""Device and precision: ``device="auto"``, bf16 autocast, channels-last.

skorch takes ``device`` literally; this mixin lets the estimators keep the
user's ``"auto"`` as their parameter (so ``clone`` and pickles move between
machines) while skorch sees the resolved device during ``fit``, ``predict``,
``load_params`` and unpickling.
"""

from __future__ import annotations

import contextlib

import torch
from skorch.utils import to_tensor

from ._training import resolve_device

__all__ = ["AutoDeviceMixin", "autocast_for", "cudnn_autotune"]


@contextlib.contextmanager
def cudnn_autotune(device, random_state):
    """cuDNN's autotuner on CUDA while the estimator works, then as it was.

    Off when ``random_state`` is set: the autotuner may pick another
    algorithm on another run, and the estimators promise repeatable results
    then. Never left changed for the rest of the process.
    """
    previous = torch.backends.cudnn.benchmark
    if str(device).startswith("cuda") and random_state is None:
        torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = previous


def autocast_for(device, precision):
    """The autocast context of ``precision`` on ``device``: bf16 for
    ``"bfloat16"``, and for ``"auto"`` on CUDA; float32 (no autocast)
    otherwise."""
    device = resolve_device(device)
    device_type = "cuda" if str(device).startswith("cuda") else "cpu"
    if precision == "bfloat16" or (precision == "auto" and device_type == "cuda"):
        return torch.autocast(device_type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class AutoDeviceMixin:
    """``device="auto"`` and mixed precision for a skorch net."""

    def _autocast(self):
        return autocast_for(self.device, self.precision)

    def infer(self, x, **fit_params):
        x = to_tensor(x, device=self.device)
        if str(self.device).startswith("cuda") and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            out = self.module_(x, **fit_params)
        return out.float()

    @contextlib.contextmanager
    def _on_device(self):
        """Let skorch see the resolved device while it works."""
        requested = self.device
        resolved = resolve_device(requested)
        with cudnn_autotune(resolved, getattr(self, "random_state", None)):
            if requested != "auto":
                yield
                return
            self.device = resolved
            try:
                yield
            finally:
                self.device = requested

    def load_params(self, *args, **kwargs):
        """skorch's ``load_params``, with ``device="auto"`` resolved first."""
        with self._on_device():
            return super().load_params(*args, **kwargs)

    def __setstate__(self, state):
        requested = state.get("device")
        if requested == "auto":
            state["device"] = resolve_device("auto")
        super().__setstate__(state)
        if requested == "auto":
            self.device = "auto"
