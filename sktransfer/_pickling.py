"""Pickling a skorch estimator so that equal estimators give equal bytes, and a
model pickled on a GPU loads on a machine without one.

skorch pickles modules and optimizers with ``pickle``, which names each
tensor's storage by its memory address: two equal estimators (a deep copy)
would pickle, and ``joblib.hash``, differently. ``torch.save`` numbers the
storages in order and, with strings written by value, equal estimators give
equal bytes (scikit-learn's ``check_estimators_overwrite_params`` compares
such hashes of a fitted source passed as a parameter).
"""

from __future__ import annotations

import io
import pickle
import types

import torch
from skorch.utils import get_map_location

from ._device import resolve_device

__all__ = ["TorchStatePickleMixin"]

# The key of the torch objects in a pickled estimator's state.
_TORCH_STATE = "__torch_state__"


class _ValuePickler(pickle._Pickler):
    """A pickler that writes strings by value and sets in sorted order, as
    ``joblib.hash`` does.

    pickle writes a string seen before as a reference to it, so two equal
    objects whose equal strings are shared differently (a deep copy shares
    more) give different bytes. It writes a set in the order of its hash
    table, which depends on the order the elements went in: a module's set of
    non-persistent buffer names (``{"mean", "std"}``) and its deep copy can
    come out in different orders, by chance of the string hashes of the run.
    """

    def memoize(self, obj):
        if not isinstance(obj, (str, bytes)):
            super().memoize(obj)

    def save_unordered(self, obj):
        try:
            items = sorted(obj)
        except TypeError:  # elements without an order: as the set has them
            items = list(obj)
        self.save_reduce(type(obj), (items,), obj=obj)

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[set] = save_unordered
    dispatch[frozenset] = save_unordered


# What torch.save needs of a pickle module.
_VALUE_PICKLE = types.SimpleNamespace(
    __name__="sktransfer._pickling._VALUE_PICKLE",
    Pickler=_ValuePickler,
    Unpickler=pickle.Unpickler,
    dump=pickle.dump,
    load=pickle.load,
)


class TorchStatePickleMixin:
    """skorch's state, with the torch objects saved by ``torch.save``; on
    loading, ``device="auto"`` resolves on the loading machine."""

    def __getstate__(self):
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
        if saved is None:  # written by skorch's own __getstate__
            super().__setstate__(state)
        else:
            # What skorch's __setstate__ does (its format differs between
            # versions): the torch objects go to a device this machine has.
            map_location = get_map_location(state["device"])
            state["device"] = self._check_device(state["device"], map_location)
            self.__dict__.update(state)
            # A pickle runs code anyway: loading it means trusting it, so the
            # modules inside need not pass torch's weights_only filter.
            self.__dict__.update(
                torch.load(
                    io.BytesIO(saved), map_location=map_location, weights_only=False
                )
            )
        if requested == "auto":
            self.__dict__["device"] = "auto"
