"""The model of a model file, each of its records
(:mod:`sktransfer._model_files._records`) rebuilt.

An estimator is made by its class (one of this library's, looked up by
name in a fixed table) from its parameters, those the loading program sets
(``load_model(path, params=...)``) over the file's; its fitted attributes are
set; its network is first built on PyTorch's ``meta`` device (shapes, no
memory) and compared, key by key and shape by shape, with the header of its
saved weights, so that no file makes the loader build a network its weights
do not fill; then it is built as ``fit`` builds it, but without reading any
weights file (:func:`~sktransfer._networks._build.structure_only`: the machine that
loads the model may not have the file it was first built from), and the
saved weights are loaded into it. An ``Accelerator`` is made from its
parameters. Records that are not what :mod:`sktransfer._model_files._stored` writes are
refused, naming the file.
"""

from __future__ import annotations

import inspect
import types
import warnings

import torch
from skorch.exceptions import DeviceWarning

from .._estimators import build_network_of, initialize_fitted
from .._networks import structure_only
from .._runtime import seeded
from ._archive import ModelFileError
from ._file_kinds import AcceleratorRecord
from ._file_values import Opaque
from ._stored import (
    PRIVATE_FITTED,
    REBUILT,
    StoredEstimator,
    StoredObject,
    estimator_classes,
)

__all__ = ["parameter_names", "restore", "takes"]


def restore(tree, weights, file, overrides=None):
    """The model of a loaded ``tree``, each record rebuilt.

    Parameters
    ----------
    tree : object
        What skops.io loaded.
    weights : object
        ``weights.shapes(i)``: ``{key: shape}`` of network ``i``'s saved
        weights, read off their header; ``weights.load(i)``: their state dict.
    file : str
        The model file, for messages.
    overrides : dict or None, default=None
        Parameters the loading program sets on every estimator of this
        library that has them, over the file's.

    Returns
    -------
    model : object
    """
    return _Restoring(weights, file, dict(overrides or {})).restore(tree)


def takes(cls, name):
    """Whether ``cls``'s constructor takes ``name``: one of its parameters,
    or one of skorch's routed settings (``iterator_valid__num_workers``,
    ``optimizer__weight_decay``)."""
    prefixes = (*getattr(cls, "prefixes_", ()), "optimizer", "criterion")
    if "__" in name and hasattr(cls, "prefixes_"):
        return name.split("__", 1)[0] in prefixes
    return name in parameter_names(cls)


def parameter_names(cls):
    """The parameters of ``cls``'s constructors (each class of its MRO)."""
    names = set()
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None:
            continue
        for name, parameter in inspect.signature(init).parameters.items():
            if parameter.kind in (
                parameter.POSITIONAL_OR_KEYWORD,
                parameter.KEYWORD_ONLY,
            ):
                names.add(name)
    names.discard("self")
    return names


class _Restoring:
    def __init__(self, weights, file, overrides):
        self.weights = weights
        self.file = file
        self.overrides = overrides
        self._memo = {}

    def malformed(self, what):
        return ModelFileError(
            self.file,
            what,
            message=f"`path` {self.file}: {what}; the file was not written by "
            "sktransfer.save_model, or it was altered. Nothing was loaded.",
        )

    def restore(self, obj):
        key = id(obj)
        if key not in self._memo:
            self._memo[key] = (obj, obj)  # a cycle meets the object itself
            self._memo[key] = (obj, self._restore(obj))
        return self._memo[key][1]

    def _restore(self, obj):
        if isinstance(obj, StoredEstimator):
            return self._estimator(obj)
        if isinstance(obj, StoredObject):
            return self._object(obj)
        if isinstance(obj, list):
            obj[:] = [self.restore(item) for item in obj]
            return obj
        if isinstance(obj, tuple):
            items = [self.restore(item) for item in obj]
            if all(a is b for a, b in zip(items, obj, strict=True)):
                return obj
            return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
        if isinstance(obj, dict):
            for k, v in obj.items():
                obj[k] = self.restore(v)
            return obj
        if (
            hasattr(obj, "__dict__")
            and not isinstance(obj, type | types.ModuleType | types.FunctionType)
            and type(obj).__module__.split(".")[0] != "numpy"
        ):
            attributes = vars(obj)
            for k, v in attributes.items():
                attributes[k] = self.restore(v)
        return obj

    # -- this library's estimators ----------------------------------------
    def _record(self, stored):
        cls = estimator_classes().get(stored.estimator)
        if not isinstance(stored.estimator, str) or cls is None:
            raise self.malformed(
                f"it names the estimator {stored.estimator!r}, not one of "
                f"{sorted(estimator_classes())}"
            )
        params = stored.params
        if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
            raise self.malformed(f"the parameters of a {cls.__name__} are not a dict")
        known = parameter_names(cls)
        prefixes = tuple(f"{p}__" for p in getattr(cls, "prefixes_", ()))
        unknown = [k for k in params if k not in known and not k.startswith(prefixes)]
        if unknown:
            raise self.malformed(f"{cls.__name__} has no parameters {unknown}")
        fitted = stored.fitted
        if fitted is not None and (
            not isinstance(fitted, dict)
            or not all(
                isinstance(k, str)
                and (k in PRIVATE_FITTED or (k.endswith("_") and k[0] != "_"))
                and k not in REBUILT
                for k in fitted
            )
        ):
            raise self.malformed(f"the fitted attributes of a {cls.__name__} are odd")
        return cls, params, fitted

    def _estimator(self, stored):
        cls, params, fitted = self._record(stored)
        params = {k: self.restore(v) for k, v in params.items()}
        own = {k: v for k, v in self.overrides.items() if takes(cls, k)}
        params.update(own)
        if "device" not in own:
            _map_device(params, self.file)
        estimator = cls(**params)
        if fitted is None:
            return estimator
        network = stored.network
        if not (
            isinstance(network, dict)
            and isinstance(network.get("weights"), int)
            and isinstance(network.get("n_frozen"), int)
        ):
            raise self.malformed(f"the network record of a {cls.__name__} is odd")
        fitted = {k: self.restore(v) for k, v in fitted.items()}
        vars(estimator).update(fitted)
        self._check_shapes(cls, params, fitted, network["weights"])
        history = stored.history
        if history is not None and not isinstance(history, list):
            raise self.malformed("the history is not a list")
        with seeded(0), structure_only():  # the initial weights are replaced
            built = initialize_fitted(estimator, fitted, history)
        state_dict = self.weights.load(network["weights"])
        built.load_state_dict(state_dict)  # its keys and shapes: _check_shapes
        built.set_frozen(network["n_frozen"])
        return estimator

    def _check_shapes(self, cls, params, fitted, index):
        """The network the parameters build, laid out on the ``meta`` device
        (no memory), against the header of its saved weights: a network
        that its weights do not fill is never built."""
        saved = self.weights.shapes(index)
        probe = cls(**params)
        vars(probe).update(fitted)
        with torch.device("meta"), seeded(0), structure_only():
            network = build_network_of(probe)
        own = {k: tuple(v.shape) for k, v in network.state_dict().items()}
        if own != saved:
            differ = sorted(
                f"{k}: file {saved.get(k)}, network {own.get(k)}"
                for k in set(own) | set(saved)
                if own.get(k) != saved.get(k)
            )
            raise ModelFileError(
                self.file,
                f"the weights of a {cls.__name__} do not fit the network its "
                f"parameters build ({len(differ)} differ: {differ[:3]})",
            )

    # -- objects rebuilt from their parameters ----------------------------
    def _object(self, stored):
        params = stored.params
        if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
            raise self.malformed(f"the parameters of a {stored.kind} are not a dict")
        if stored.kind == "accelerator":
            return self._accelerator(params)
        raise self.malformed(f"it holds a record of kind {stored.kind!r}")

    def _accelerator(self, params):
        from accelerate import Accelerator

        # The file schema's kind, checked here too for trusted=True, which
        # skips the schema.
        if AcceleratorRecord().check(Opaque("accelerator record", params), ()):
            raise self.malformed(f"its Accelerator record is odd: {params!r}")
        mixed_precision = params["mixed_precision"]
        if mixed_precision == "fp16" and not torch.cuda.is_available():
            warnings.warn(
                f"{self.file}: the model was trained with fp16 mixed precision, "
                "which needs a GPU; its Accelerator runs in float32 here.",
                UserWarning,
                stacklevel=5,
            )
            mixed_precision = "no"
        return Accelerator(
            mixed_precision=mixed_precision,
            cpu=params["cpu"],
            gradient_accumulation_steps=params["gradient_accumulation_steps"],
        )


def _map_device(params, file):
    """A CUDA (or Apple MPS) ``device`` on a machine without one, or a CUDA
    device index past the machine's: the CPU, with skorch's
    ``DeviceWarning`` (as skorch does when it unpickles a net)."""
    device = params.get("device")
    if device is None or (isinstance(device, str) and device == "auto"):
        return
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        return  # refused by the estimator's own checks when it is used
    if device.type == "cuda":
        here = torch.cuda.is_available() and (device.index or 0) < (
            torch.cuda.device_count()
        )
    elif device.type == "mps":
        here = torch.backends.mps.is_available()
    else:
        return
    if not here:
        warnings.warn(
            f"{file}: the model was saved with device={str(device)!r}, which "
            'this machine does not have; it is loaded with device="cpu".',
            DeviceWarning,
            stacklevel=5,
        )
        params["device"] = "cpu"
