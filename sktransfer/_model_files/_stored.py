"""What a model file keeps of a model: its estimators of this library as
records, the rest for skops.io.

Each estimator of this library becomes a record (:mod:`._records`): its
class's public name, its parameters and fitted attributes encoded as data
(:mod:`._values`), skorch's history without its per-batch rows, and the index
of its network's weights (a state dict, written as safetensors). A bare
estimator is its record alone. Anything else (pipelines, scalers, ``SMOTE``,
linear models) is kept by skops.io, with each estimator of this library in
it replaced by a placeholder ``{"sktransfer.estimator": i}`` that names its
record; the model itself is not changed (what holds an estimator is copied,
shallowly).

What cannot be kept as data is refused by name: a lambda or a local
function, a user's ``nn.Module``, a tensor outside the weights. What runs on
the loading machine is not kept: the parameters that decide it are left
out, and :attr:`Storing.left_out` lists those the model had changed, for a
warning.
"""

from __future__ import annotations

import copy
import functools
import inspect
import types

import numpy as np

from .._estimators import CNNFeatureExtractor, ImageEstimatorBase
from .._inputs import fitted_network
from ._records import PLAIN_PREFIXES, estimator_classes, is_runtime
from ._values import Encoder, place, refuse, refuse_code

__all__ = ["PLACEHOLDER", "REBUILT", "Storing", "is_fitted_attribute", "store"]

PLACEHOLDER = "sktransfer.estimator"
# Fitted attributes that are rebuilt (the network, skorch's components)
# rather than kept; and the private one that is kept.
REBUILT = frozenset(
    {
        "module_",
        "network_",
        "criterion_",
        "optimizer_",
        "callbacks_",
        "history_",
        "prefixes_",
        "cuda_dependent_attributes_",
        "init_context_",
    }
)
PRIVATE_FITTED = ("_fitted_transfer_upto",)


def is_fitted_attribute(name):
    """Whether an attribute of this name is fitted state a file keeps."""
    public = name.endswith("_") and name[0] != "_" and name not in REBUILT
    return public or name in PRIVATE_FITTED


def _is_ours(obj):
    return isinstance(obj, ImageEstimatorBase | CNNFeatureExtractor)


def _is_named_step(item):
    return isinstance(item, tuple) and 2 <= len(item) <= 3 and isinstance(item[0], str)


class Storing:
    """A model with this library's estimators swapped for placeholders of
    their records.

    Attributes
    ----------
    records : list of dict
        One record per estimator of this library, by index.
    encoder : Encoder
        Its ``arrays`` are the records' arrays, its ``names`` the classes and
        functions they name.
    state_dicts : list of dict
        The networks' weights on the CPU, in the order of their indices.
    networks : list of (str, estimator)
        Where each network is in the model, and its estimator.
    left_out : list of (str, str, object)
        Where, which parameter and its value, for each parameter the loading
        program decides that the model had set to other than its default.
    """

    def __init__(self):
        self.records = []
        self.encoder = Encoder(self.record_of)
        self.state_dicts = []
        self.networks = []
        self.left_out = []
        self._memo = {}
        self._indices = {}

    def store(self, obj, where=()):
        """``obj`` for skops.io, every estimator of this library in it a
        placeholder."""
        key = id(obj)
        if key not in self._memo:
            self._memo[key] = (obj, obj)  # a cycle meets the object itself
            self._memo[key] = (obj, self._store(obj, list(where)))
        return self._memo[key][1]

    def _store(self, obj, where):
        if obj is None or isinstance(
            obj, bool | int | float | complex | str | bytes | np.generic | np.ndarray
        ):
            return obj
        if _is_ours(obj):
            return {PLACEHOLDER: self.record_of(obj, where)}
        refuse_code(obj, where)
        if isinstance(obj, type | types.FunctionType | types.BuiltinFunctionType):
            return obj
        if isinstance(obj, types.MethodType):
            if self.store(obj.__self__, [*where, "__self__"]) is not obj.__self__:
                refuse(where, "a method of an estimator", "pass a function.")
            return obj
        if isinstance(obj, functools.partial):
            for part in ("func", "args", "keywords"):
                self.store(getattr(obj, part), [*where, part])
            return obj
        if isinstance(obj, list | tuple | set | frozenset):
            return self._sequence(obj, where)
        if isinstance(obj, dict):
            items = {k: self.store(v, [*where, repr(k)]) for k, v in obj.items()}
            if all(items[k] is v for k, v in obj.items()):
                return obj
            new = copy.copy(obj)
            new.update(items)
            return new
        if hasattr(obj, "__dict__") and not isinstance(obj, types.ModuleType):
            return self._object(obj, where)
        return obj

    def _sequence(self, obj, where):
        items = []
        for i, item in enumerate(obj):
            if _is_named_step(item):
                part = f"step {item[0]!r}"
                items.append((item[0], self.store(item[1], [*where, part]), *item[2:]))
                if all(a is b for a, b in zip(items[-1], item, strict=True)):
                    items[-1] = item
            else:
                items.append(self.store(item, [*where, f"[{i}]"]))
        if all(a is b for a, b in zip(items, obj, strict=True)):
            return obj
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):
            return type(obj)(*items)
        return type(obj)(items)

    def _object(self, obj, where):
        attributes = vars(obj)
        stored = {}
        for key, value in attributes.items():
            named_steps = isinstance(value, list) and any(map(_is_named_step, value))
            stored[key] = self.store(value, where if named_steps else [*where, key])
        if all(stored[k] is v for k, v in attributes.items()):
            return obj
        new = copy.copy(obj)
        vars(new).update(stored)
        return new

    # -- the records ----------------------------------------------------------
    def record_of(self, estimator, where):
        """The index of ``estimator``'s record (made on first sight), or None
        for an object that is not an estimator of this library."""
        if not _is_ours(estimator):
            refuse_code(estimator, where)
            return None
        key = id(estimator)
        if key in self._indices:
            index = self._indices[key]
            if self.records[index] is None:
                refuse(where, "an estimator that holds itself", "it cannot be rebuilt.")
            return index
        name = type(estimator).__name__
        if estimator_classes().get(name) is not type(estimator):
            refuse(
                where,
                f"an instance of {type(estimator).__qualname__}, a subclass of "
                "this library's estimators",
                "a model file rebuilds this library's own classes only.",
            )
        index = self._indices[key] = len(self.records)
        self.records.append(None)
        self._memo[key] = (estimator, estimator)  # keep it alive: ids stay unique
        self.records[index] = self._record(estimator, list(where))
        return index

    def _record(self, estimator, where):
        cls = type(estimator)
        defaults = inspect.signature(cls).parameters
        params = {}
        for key, value in estimator.get_params(deep=False).items():
            if is_runtime(cls, key):
                default = getattr(defaults.get(key), "default", inspect.Parameter.empty)
                if value is not default and repr(value) != repr(default):
                    self.left_out.append((place(where), key, value))
                continue
            plain = key.startswith(PLAIN_PREFIXES)
            params[key] = self.encoder.encode(value, [*where, key], plain)
        record = dict.fromkeys(("fitted", "history", "weights", "n_frozen"))
        record = {"class": cls.__name__, "params": params, **record}
        network = fitted_network(estimator)
        if network is None or not hasattr(estimator, "image_shape_"):
            return record
        record["fitted"] = {
            key: self.encoder.encode(value, [*where, key], plain=True)
            for key, value in vars(estimator).items()
            if is_fitted_attribute(key)
        }
        history = getattr(estimator, "history_", None)
        if history is not None:
            # Per-batch rows are for watching a fit, and they grow with it.
            rows = [{k: v for k, v in row.items() if k != "batches"} for row in history]
            record["history"] = self.encoder.encode(rows, [*where, "history"], True)
        record["weights"] = len(self.state_dicts)
        record["n_frozen"] = int(network.n_frozen)
        self.state_dicts.append(_cpu_state_dict(network))
        self.networks.append((place(where), estimator))
        return record


def _cpu_state_dict(network):
    """The network's weights on the CPU, contiguous, no two sharing memory
    (as safetensors requires)."""
    state, seen = {}, set()
    for key, value in network.state_dict().items():
        tensor = value.detach().to("cpu").contiguous()
        pointer = tensor.untyped_storage().data_ptr()
        if pointer in seen:
            tensor = tensor.clone()
        seen.add(pointer)
        state[key] = tensor
    return state


def store(model):
    """``(tree, storing)``: ``model`` for skops.io (None for a bare
    estimator of this library, which is record 0), and the
    :class:`Storing` that holds the records and weights."""
    storing = Storing()
    if _is_ours(model):
        storing.record_of(model, [])
        return None, storing
    return storing.store(model), storing
