"""Devices: where the work runs, in which precision, and where the data lives.

The one place that knows devices: ``device="auto"``, "is it CUDA", bf16
autocast, the scoped cuDNN autotuner, and the memory budget that decides
whether the images of a fit live on the device. The estimators keep the
user's ``"auto"`` as their parameter (so that ``clone`` and pickles move
between machines) while skorch sees the resolved device during ``fit``,
``predict`` and ``load_params`` (:class:`AutoDeviceMixin`).

Budgets, documented in the GPU guide: the images go to the device as uint8
when they take at most ``DEVICE_DATA_FRACTION`` of its free memory;
otherwise they stay in (pinned) host memory and each batch is copied over as
it is needed.
"""

from __future__ import annotations

import contextlib

import torch

__all__ = [
    "AutoDeviceMixin",
    "autocast_for",
    "cudnn_autotune",
    "fits_on_device",
    "free_cuda_bytes",
    "is_cuda",
    "place_images",
    "resolve_device",
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
    """Images on the device when they fit there, else in pinned host memory."""
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


class AutoDeviceMixin:
    """``device="auto"`` and mixed precision for a skorch net.

    The ``device`` parameter is stored as given and never written while the
    estimator works (scikit-learn's rule): during ``fit``, ``predict`` and
    ``load_params`` the attribute reads as the resolved device, which is
    what skorch needs, while ``get_params`` always returns the user's value.
    """

    @property
    def device(self):
        in_use = self.__dict__.get("_device_in_use")
        return self.__dict__.get("device") if in_use is None else in_use

    @device.setter
    def device(self, value):
        if self.__dict__.get("_device_in_use") is not None:
            # skorch's load_params maps an unavailable device to the one the
            # weights load on; that is for this piece of work only.
            self.__dict__["_device_in_use"] = value
        else:
            self.__dict__["device"] = value

    def get_params(self, deep=True):
        """The parameters, ``device`` as the user gave it (``"auto"`` too).

        Parameters
        ----------
        deep : bool, default=True
            Also the parameters of the callbacks and routing prefixes, as
            skorch lists them.

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=deep)
        if "device" in params:
            params["device"] = self.__dict__.get("device")
        return params

    def _autocast(self):
        return autocast_for(self.device, self.precision)

    def infer(self, x, **fit_params):
        x = to_device(x, self.device)  # None: the accelerator placed it
        with self._autocast():
            out = self.module_(x, **fit_params)
        return out.float()

    @contextlib.contextmanager
    def _on_device(self):
        """Let skorch see the resolved device while it works; the parameter
        itself stays as the user gave it."""
        outer = self.__dict__.get("_device_in_use")
        resolved = outer if outer is not None else resolve_device(self.device)
        with cudnn_autotune(resolved, getattr(self, "random_state", None)):
            if self.__dict__.get("device") != "auto":
                # skorch takes any other value as it is (None included: the
                # accelerator places the tensors).
                yield
                return
            self.__dict__["_device_in_use"] = resolved
            try:
                yield
            finally:
                if outer is None:
                    self.__dict__.pop("_device_in_use", None)
                else:
                    self.__dict__["_device_in_use"] = outer

    def load_params(self, *args, **kwargs):
        """skorch's ``load_params``, with ``device="auto"`` resolved first.

        Parameters
        ----------
        *args, **kwargs
            As skorch's ``load_params`` (``f_params=``, ``f_history=``,
            ``checkpoint=``, ...).

        Returns
        -------
        result : object
            What skorch's ``load_params`` returns.
        """
        with self._on_device():
            return super().load_params(*args, **kwargs)
