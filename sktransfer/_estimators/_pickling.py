"""The torch objects of a pickled estimator (its modules, optimizers and
criteria), saved so that equal estimators give equal bytes.

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

__all__ = ["load_torch_state", "save_torch_state"]


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
    __name__="sktransfer._estimators._pickling._VALUE_PICKLE",
    Pickler=_ValuePickler,
    Unpickler=pickle.Unpickler,
    dump=pickle.dump,
    load=pickle.load,
)


def save_torch_state(torch_objects):
    """The bytes of ``torch_objects`` (a dict of modules, optimizers...), by
    ``torch.save`` with strings written by value: equal objects, equal
    bytes."""
    buffer = io.BytesIO()
    torch.save(torch_objects, buffer, pickle_module=_VALUE_PICKLE)
    return buffer.getvalue()


def load_torch_state(saved, map_location):
    """The dict :func:`save_torch_state` saved, its tensors on
    ``map_location``."""
    # A pickle runs code anyway: loading it means trusting it, so the
    # modules inside need not pass torch's weights_only filter.
    return torch.load(io.BytesIO(saved), map_location=map_location, weights_only=False)
