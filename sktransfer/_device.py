"""Device and precision: ``device="auto"``, bf16 autocast, channels-last.

skorch takes ``device`` literally; this mixin lets the estimators keep the
user's ``"auto"`` as their parameter (so ``clone`` and pickles move between
machines) while skorch sees the resolved device during ``fit``, ``predict``,
``load_params`` and unpickling.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import types

import torch
from skorch.utils import get_map_location, to_tensor

from ._training import resolve_device

__all__ = ["AutoDeviceMixin", "autocast_for", "cudnn_autotune"]

# The key of the torch objects in a pickled estimator's state.
_TORCH_STATE = "__torch_state__"


class _ValuePickler(pickle._Pickler):
    """A pickler that writes strings by value, as ``joblib.hash`` does.

    pickle writes a string seen before as a reference to it, so two equal
    objects whose equal strings are shared differently (a deep copy shares
    more) give different bytes.
    """

    def memoize(self, obj):
        if not isinstance(obj, (str, bytes)):
            super().memoize(obj)


# What torch.save needs of a pickle module.
_VALUE_PICKLE = types.SimpleNamespace(
    __name__="sktransfer._device._VALUE_PICKLE",
    Pickler=_ValuePickler,
    Unpickler=pickle.Unpickler,
    dump=pickle.dump,
    load=pickle.load,
)


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
        params = super().get_params(deep=deep)
        if "device" in params:
            params["device"] = self.__dict__.get("device")
        return params

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
        """skorch's ``load_params``, with ``device="auto"`` resolved first."""
        with self._on_device():
            return super().load_params(*args, **kwargs)

    def __getstate__(self):
        """skorch's state, with the torch objects saved by ``torch.save``.

        skorch pickles modules and optimizers with ``pickle``, which names
        each tensor's storage by its memory address: two equal estimators
        (a deep copy) would pickle, and ``joblib.hash``, differently.
        ``torch.save`` numbers the storages in order and, with strings
        written by value, equal estimators give equal bytes (scikit-learn's
        ``check_estimators_overwrite_params`` compares such hashes of a
        fitted source passed as a parameter).
        """
        state = self.__dict__.copy()
        state.pop("_device_in_use", None)
        prefixes = tuple(self.cuda_dependent_attributes_)
        torch_objects = {
            key: state.pop(key)
            for key in list(state)
            if isinstance(key, str) and key.startswith(prefixes)
        }
        buffer = io.BytesIO()
        torch.save(torch_objects, buffer, pickle_module=_VALUE_PICKLE)
        state[_TORCH_STATE] = buffer.getvalue()
        return state

    def __setstate__(self, state):
        requested = state.get("device")
        if requested == "auto":
            state["device"] = resolve_device("auto")
        saved = state.pop(_TORCH_STATE, None)
        if saved is not None:
            # skorch's own unpickling maps devices; give it nothing to load.
            state["__cuda_dependent_attributes__"] = pickle.dumps({})
        super().__setstate__(state)
        if saved is not None:
            # A pickle runs code anyway: loading it means trusting it, so the
            # modules inside need not pass torch's weights_only filter.
            self.__dict__.update(
                torch.load(
                    io.BytesIO(saved),
                    map_location=get_map_location(self.__dict__["device"]),
                    weights_only=False,
                )
            )
        if requested == "auto":
            self.__dict__["device"] = "auto"
