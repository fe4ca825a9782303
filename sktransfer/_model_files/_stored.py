"""What a model file keeps of a model, and the model rebuilt from it.

An estimator of this library is kept as a :class:`StoredEstimator`: its
class's name, its parameters and fitted attributes as data, and the weights
of its network apart (a state dict, which :mod:`sktransfer._model_files._archive`
writes as safetensors). Everything around it (pipelines, scalers, ``SMOTE``,
linear models) stays as it is, for skops.io to keep. Loading rebuilds each
estimator from its class (looked up among this library's own, never
imported by name), its parameters and the weights: the network is built
from the registry without reading any weights file
(:func:`~sktransfer._networks._build.structure_only`), then the saved weights are
loaded into it. Optimizer state is not kept.

What cannot be kept as data is refused by name when the model is saved: a lambda or a
local function, a user's ``nn.Module``, a tensor outside the weights, a parameter value
that the file schema (:mod:`sktransfer._model_files._file_schema`) would refuse. What
runs on the loading machine is not kept: the parameters that decide it (compilation,
callbacks, data-loading workers) are left out, and :attr:`Storing.left_out` lists those
the model had changed, for a warning.
"""

from __future__ import annotations

import copy
import functools
import inspect
import types

import numpy as np
import skorch.callbacks
import torch

from .._estimators import (
    CNNFeatureExtractor,
    ImageEstimatorBase,
    LabelRelationTransfer,
    PretrainedCNNClassifier,
    PretrainedCNNRegressor,
)
from .._inputs import fitted_network
from ..multi_gpu import AcceleratedCNNClassifier
from ._file_schema import check_parameter, is_runtime
from ._file_values import file_value
from ._records import StoredEstimator, StoredObject

__all__ = ["Storing", "estimator_classes", "store"]

# Fitted attributes that are rebuilt (the network, skorch's components)
# rather than kept; and the private ones that are kept.
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


@functools.cache
def estimator_classes():
    """This library's estimators a model file can hold, by class name."""
    classes = (
        PretrainedCNNClassifier,
        PretrainedCNNRegressor,
        LabelRelationTransfer,
        CNNFeatureExtractor,
        AcceleratedCNNClassifier,
    )
    return {cls.__name__: cls for cls in classes}


def _is_ours(obj):
    return isinstance(obj, ImageEstimatorBase | CNNFeatureExtractor)


def _is_named_step(item):
    return isinstance(item, tuple) and 2 <= len(item) <= 3 and isinstance(item[0], str)


def place(where):
    """``where`` (a list of parts) as the messages name it."""
    return " -> ".join(where) if where else "the model"


def _refuse(where, what, advice):
    raise ValueError(
        f"`model`: {place(where)} is {what}, which a model file cannot store "
        f"without pickling code; {advice}"
    )


def _check_function(obj, where):
    qualname = getattr(obj, "__qualname__", "")
    module = getattr(obj, "__module__", None)
    if obj.__name__ == "<lambda>":
        _refuse(where, f"a lambda (in {module})", "use a function defined in a module.")
    if "<locals>" in qualname:
        _refuse(
            where,
            f"a local function {qualname}",
            "define it at the top level of a module.",
        )
    if module == "__main__":
        _refuse(
            where,
            f"the function {qualname} of a script (__main__)",
            "move it into a module the loading machine can import.",
        )


class Storing:
    """A model with this library's estimators swapped for their records.

    The model itself is not changed: an object that holds an estimator of
    this library is copied (shallowly) with the record in its place.

    Attributes
    ----------
    state_dicts : list of dict
        The networks' weights on the CPU, in the order of their indices.
    networks : list of (str, estimator)
        Where each network is in the model, and its estimator.
    left_out : list of (str, str, object)
        Where, which parameter and its value, for each parameter the loading
        program decides that the model had set to other than its default.
    """

    def __init__(self):
        self.state_dicts = []
        self.networks = []
        self.left_out = []
        self._memo = {}

    def store(self, obj, where=()):
        """``obj`` with every estimator of this library in it stored."""
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
            return self._estimator(obj, where)
        if isinstance(obj, torch.Tensor):
            _refuse(
                where,
                "a torch tensor",
                "a model file keeps tensors only as the weights of this "
                "library's estimators.",
            )
        if isinstance(obj, torch.nn.Module):
            _refuse(
                where,
                f"an nn.Module ({type(obj).__name__})",
                "register its architecture with sktransfer.register_backbone "
                "and pass the name as `backbone`.",
            )
        if isinstance(obj, torch.optim.Optimizer):
            _refuse(
                where, f"a torch optimizer ({type(obj).__name__})", "pass its class."
            )
        if isinstance(obj, skorch.callbacks.Callback):
            _refuse(
                where,
                f"a skorch callback ({type(obj).__name__})",
                "a model file keeps no callbacks: the program that loads it "
                "sets them (load_model(path, params={'callbacks': [...]})).",
            )
        if type(obj).__module__.split(".")[0] == "accelerate":
            return self._accelerator(obj, where)
        if isinstance(obj, type):
            return obj
        if isinstance(obj, types.FunctionType):
            _check_function(obj, where)
            return obj
        if isinstance(obj, types.MethodType):
            if self.store(obj.__self__, [*where, "__self__"]) is not obj.__self__:
                _refuse(where, "a method of an estimator", "pass a function.")
            return obj
        if isinstance(obj, types.BuiltinFunctionType):
            return obj
        if isinstance(obj, functools.partial):
            self.store(obj.func, [*where, "func"])
            self.store(obj.args, [*where, "args"])
            self.store(obj.keywords, [*where, "keywords"])
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

    def _estimator(self, estimator, where):
        name = type(estimator).__name__
        if estimator_classes().get(name) is not type(estimator):
            _refuse(
                where,
                f"an instance of {type(estimator).__qualname__}, a subclass of "
                "this library's estimators",
                "a model file rebuilds this library's own classes only.",
            )
        params = self._params(estimator, where)
        network = fitted_network(estimator)
        if network is None or not hasattr(estimator, "image_shape_"):
            return StoredEstimator(name, params)
        fitted = {
            key: self.store(value, [*where, key])
            for key, value in vars(estimator).items()
            if key in PRIVATE_FITTED
            or (key.endswith("_") and key[0] != "_" and key not in REBUILT)
        }
        history = getattr(estimator, "history_", None)
        if history is not None:
            history = self.store(list(history), [*where, "history"])
        index = len(self.state_dicts)
        self.state_dicts.append(_cpu_state_dict(network))
        self.networks.append((place(where), estimator))
        return StoredEstimator(
            name,
            params,
            fitted,
            history,
            {"weights": index, "n_frozen": int(network.n_frozen)},
        )

    def _params(self, estimator, where):
        """The parameters a model file keeps, each checked against the file
        schema as a loader that trusts the types would check it."""
        name = type(estimator).__name__
        defaults = inspect.signature(type(estimator)).parameters
        params = {}
        for key, value in estimator.get_params(deep=False).items():
            if is_runtime(name, key):
                default = getattr(defaults.get(key), "default", inspect.Parameter.empty)
                if value is not default and repr(value) != repr(default):
                    self.left_out.append((place(where), key, value))
                continue
            params[key] = self.store(value, [*where, key])
            reason = check_parameter(name, key, file_value(params[key]), trusted=True)
            if reason is not None:
                raise ValueError(
                    f"`model`: {place([*where, key])} cannot be kept in a model "
                    f"file: {reason}."
                )
        return params

    def _accelerator(self, accelerator, where):
        if type(accelerator).__name__ != "Accelerator":
            _refuse(
                where, f"a {type(accelerator).__qualname__}", "pass an Accelerator."
            )
        params = {
            "mixed_precision": str(accelerator.mixed_precision),
            "cpu": accelerator.device.type == "cpu",
            "gradient_accumulation_steps": int(accelerator.gradient_accumulation_steps),
        }
        return StoredObject("accelerator", "Accelerator", params)


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
    """``(tree, storing)``: the model with its estimators stored, and the
    :class:`Storing` that holds their weights."""
    storing = Storing()
    return storing.store(model), storing
