"""The records of a model file read back: checked, then built.

:class:`Records` decodes each record (:mod:`._values`) and checks it
(:mod:`._records`) twice. The check builds nothing: it stands in for another
record's estimator, an ``Accelerator`` and a name the loader has not been
told to trust, and finds every name outside the allowed set and the records
that hold themselves or belong to no estimator of the model; ``inspect_model``
stops there. ``load_model`` then makes each estimator by its class (one of
this library's, by name in a fixed table) from its parameters, the loading
program's (``load_model(path, params=...)``) over the file's, and sets its
fitted attributes; its network is laid out on PyTorch's ``meta`` device
(shapes, no memory) and compared key by key with the header of its saved
weights, so that no file makes the loader build a network its weights do not
fill; then it is built as ``fit`` builds it, without reading any weights file
(``structure_only``: this machine may not have the file it was first built
from), and the saved weights are loaded into it. Optimizer state is not kept.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from skorch.exceptions import DeviceWarning

from .._estimators import build_network_of, initialize_fitted
from .._networks import structure_only
from .._runtime import seeded
from ._archive import ModelFileError, quoted
from ._records import (
    PLAIN_PREFIXES,
    estimator_classes,
    fitted_problem,
    names_problem,
    params_problem,
    takes,
)
from ._stored import PLACEHOLDER
from ._trust import classes_by_parameter, import_name
from ._values import Decoder, Unbuilt

__all__ = ["RecordInfo", "Records", "replace_placeholders"]


@dataclass(frozen=True)
class RecordInfo:
    """A record as ``load_model`` would use it: its class's name, its
    parameters and fitted attributes (what a check does not build stands in
    as such), and the index of its network's weights."""

    estimator: str
    params: dict
    fitted: dict | None
    weights: int | None


class _Reference:
    """Another record's estimator, as a check stands it in."""

    def __init__(self, estimator, index):
        self.estimator, self.index = estimator, index

    def get_params(self, deep=True):
        return {}

    def __repr__(self):
        return f"the fitted {self.estimator} of record {self.index}"


class Records:
    """The records of a model file (``estimators.json``, its structure
    checked), read with ``array(i)`` (the array of ``arrays/i.npy``) and
    ``weights`` (the networks'); ``trusted``: the names the loader may import
    besides the allowed set (True: any). Once checked, :attr:`named` holds
    every name the records give and :attr:`names` those outside the allowed
    set; :attr:`overrides` are the loading program's parameters."""

    def __init__(self, path, records, array, weights, trusted):
        self.path, self.records, self.array = path, records, array
        self.weights, self.trusted = weights, trusted
        self.names, self.named = set(), set()
        self._built, self._edges, self.overrides = {}, {}, {}

    def fail(self, what):
        raise ModelFileError(self.path, what)

    def _resolve(self, build):
        def resolve(name, parameter):
            self.named.add(name)
            allowed = classes_by_parameter().get(parameter, {})
            if name in allowed:
                return allowed[name]
            self.names.add(name)
            if not build:
                return Unbuilt(name)
            obj = (
                import_name(name)
                if self.trusted is True or name in self.trusted
                else None
            )
            if obj is None:
                self.fail(f"it names {quoted(name)}, which cannot be imported here")
            return obj

        return resolve

    def _decoded(self, index, build):
        """``(cls, params, fitted, history)`` of record ``index``, decoded
        and checked."""
        record = self.records[index]
        cls = estimator_classes()[record["class"]]
        where = [f"{cls.__name__} (record {index})"]

        def estimator(j):
            if not 0 <= j < len(self.records):
                self.fail(f"{where[0]} refers to record {j}, which the file has not")
            self._edges.setdefault(index, set()).add(j)
            if build:
                return self.estimator(j)
            return _Reference(self.records[j]["class"], j)

        problem = names_problem(cls, record["params"])
        if problem:
            self.fail(f"{where[0]}: {problem}")
        decoder = Decoder(self.path, self.array, estimator, self._resolve(build), build)
        params = {
            key: decoder.decode(
                value, [*where, key], key, key.startswith(PLAIN_PREFIXES)
            )
            for key, value in record["params"].items()
        }
        problem = params_problem(cls, params)
        if problem:
            self.fail(f"{where[0]}: {problem}")
        fitted = record["fitted"]
        if fitted is not None:
            fitted = {
                k: decoder.decode(v, [*where, k], plain=True) for k, v in fitted.items()
            }
            for key, value in fitted.items():
                problem = fitted_problem(key, value)
                if problem:
                    self.fail(
                        f"{where[0]} has the fitted attribute {quoted(key)}: {problem}"
                    )
        history = decoder.decode(record["history"], [*where, "history"], plain=True)
        if history is not None and not all(
            isinstance(row, dict) and all(isinstance(k, str) for k in row)
            for row in history
        ):
            self.fail(f"{where[0]}: its history is not a list of epochs")
        return cls, params, fitted, history

    def check(self, roots):
        """Every record decoded and checked, nothing built; each held by the
        model (``roots``: the records it holds directly) or by another
        record, and none by itself.

        Returns
        -------
        infos : list of RecordInfo
        """
        infos = []
        for index, record in enumerate(self.records):
            cls, params, fitted, _ = self._decoded(index, build=False)
            infos.append(RecordInfo(cls.__name__, params, fitted, record["weights"]))
        state = {}

        def visit(index):
            if not 0 <= index < len(self.records):
                self.fail(f"the model holds record {index}, which the file has not")
            state[index] = "open"
            for target in self._edges.get(index, ()):
                if state.get(target) == "open":
                    self.fail(f"record {index} holds itself (through record {target})")
                if target not in state:
                    visit(target)
            state[index] = "done"

        for root in roots:
            if root not in state:
                visit(root)
        unused = sorted(set(range(len(self.records))) - set(state))
        if unused:
            self.fail(f"its records {unused[:5]} are of no estimator in the model")
        return infos

    def estimator(self, index):
        """The estimator of record ``index``, built once."""
        if index in self._built:
            return self._built[index]
        cls, params, fitted, history = self._decoded(index, build=True)
        own = {k: v for k, v in self.overrides.items() if takes(cls, k)}
        params.update(own)
        if "device" not in own:
            _map_device(params, self.path)
        estimator = cls(**params)
        if fitted is not None:
            record = self.records[index]
            vars(estimator).update(fitted)
            self._check_shapes(cls, params, fitted, record["weights"])
            with seeded(0), structure_only():  # the initial weights are replaced
                built = initialize_fitted(estimator, fitted, history)
            built.load_state_dict(self.weights.load(record["weights"]))
            built.set_frozen(record["n_frozen"])
        self._built[index] = estimator
        return estimator

    def _check_shapes(self, cls, params, fitted, index):
        """The network the parameters build, laid out on the ``meta`` device
        (no memory), against the header of its saved weights: a network
        that its weights do not fill is never built."""
        saved = self.weights.shapes[index]
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
            self.fail(
                f"the weights of a {cls.__name__} do not fit the network its "
                f"parameters build ({len(differ)} differ: {differ[:3]})"
            )


def replace_placeholders(obj, records, memo=None):
    """``obj`` (what skops.io built) with each placeholder
    ``{"sktransfer.estimator": i}`` in it replaced by the estimator of
    record ``i``."""
    memo = {} if memo is None else memo
    key = id(obj)
    if key in memo:
        return memo[key]
    memo[key] = obj  # a cycle meets the object itself
    if type(obj) is dict and list(obj) == [PLACEHOLDER]:
        index = obj[PLACEHOLDER]
        memo[key] = result = records.estimator(index)
        return result
    if isinstance(obj, list):
        obj[:] = [replace_placeholders(item, records, memo) for item in obj]
    elif isinstance(obj, tuple):
        items = [replace_placeholders(item, records, memo) for item in obj]
        if any(a is not b for a, b in zip(items, obj, strict=True)):
            memo[key] = (
                type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
            )
    elif isinstance(obj, dict):
        for k, v in obj.items():
            obj[k] = replace_placeholders(v, records, memo)
    elif (
        hasattr(obj, "__dict__")
        and not isinstance(obj, type)
        and (type(obj).__module__.split(".")[0] not in ("numpy", "builtins", "types"))
    ):
        attributes = vars(obj)
        for k, v in attributes.items():
            attributes[k] = replace_placeholders(v, records, memo)
    return memo[key]


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
            stacklevel=6,
        )
        params["device"] = "cpu"
