"""What a model file's record of an estimator of this library may say, checked
before the estimator is built.

A record (one per estimator, in ``estimators.json``) names its class (one
of :func:`estimator_classes`, by its public name), every parameter of that
class, its fitted attributes, skorch's history and which weights its network
takes. Its parameters are checked by the estimator's own
``_parameter_constraints``, the check ``fit`` runs, and by this module's
short tables of what a file may never set: the parameters that decide what
runs on the loading machine (:data:`RUNTIME`: compilation, callbacks, the
data loaders' workers), which ``save_model`` leaves out and
``load_model(path, params=...)`` sets, and the bounds that keep memory in
proportion (:data:`BOUNDS`). Fitted attributes are data of the kinds
:data:`FITTED` gives.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import re

import numpy as np
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    validate_parameter_constraints,
)

from .._estimators import (
    CNNFeatureExtractor,
    LabelRelationTransfer,
    PretrainedCNNClassifier,
    PretrainedCNNRegressor,
)
from ..multi_gpu import AcceleratedCNNClassifier
from ._archive import ModelFileError, quoted
from ._values import Unbuilt

__all__ = [
    "FIELDS",
    "check_overrides",
    "check_structure",
    "PLAIN_PREFIXES",
    "estimator_classes",
    "fitted_problem",
    "is_runtime",
    "names_problem",
    "parameter_names",
    "params_problem",
    "takes",
]

# The fields of a record, in the order save_model writes them.
FIELDS = ("class", "params", "fitted", "history", "weights", "n_frozen")

# What runs where a model is loaded is the loading program's to decide.
RUNTIME = {"compile", "callbacks", "use_caching", "torch_load_kwargs"}
RUNTIME |= {"callbacks__print_log__sink"}
# Routed settings a file may give (skorch passes them to the optimizer and
# the loss it builds); their values are plain data.
PLAIN_PREFIXES = ("optimizer__", "criterion__")
_SETTING = re.compile(r"[a-z][a-z0-9_]{0,63}")

MAX_SIDE = 1 << 14
BOUNDS = {
    "input_size": [None, Interval(numbers.Integral, 1, 4096, closed="both")],
    "batch_size": [Interval(numbers.Integral, 1, 1 << 16, closed="both")],
}


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


@functools.cache
def parameter_names(cls):
    """The parameters of ``cls``'s signature."""
    return frozenset(
        name
        for name, p in inspect.signature(cls).parameters.items()
        if p.kind is not p.VAR_KEYWORD
    )


def is_runtime(cls, name):
    """Whether ``name`` of ``cls`` is the loading program's to set: a
    runtime parameter, or a routed one that is not a plain setting of the
    optimizer or the loss (``iterator_valid__num_workers``)."""
    if name in RUNTIME:
        return True
    if "__" in name and name not in parameter_names(cls):
        prefix, _, setting = name.partition("__")
        return not (f"{prefix}__" in PLAIN_PREFIXES and _SETTING.fullmatch(setting))
    return False


def takes(cls, name):
    """Whether ``cls``'s constructor takes ``name``: one of its parameters,
    or one of skorch's routed settings (``iterator_valid__num_workers``,
    ``optimizer__weight_decay``)."""
    if "__" in name and hasattr(cls, "prefixes_"):
        prefixes = (*cls.prefixes_, "optimizer", "criterion")
        return name.split("__", 1)[0] in prefixes
    return name in parameter_names(cls)


def _sides_problem(image_shape):
    if image_shape is None:
        return None
    sides = np.asarray(image_shape).ravel().tolist() if len(image_shape) else []
    if len(sides) not in (2, 3) or not all(
        isinstance(v, numbers.Integral) and 1 <= v <= MAX_SIDE for v in sides
    ):
        return f"expected (C, H, W) or (H, W) of sides up to {MAX_SIDE}"
    return None


def names_problem(cls, names):
    """Why a record's parameter ``names`` for ``cls`` are refused, or None:
    every parameter of the signature but the runtime ones must be there,
    and nothing else but plain settings of the optimizer and the loss."""
    runtime = sorted(name for name in names if is_runtime(cls, name))
    if runtime:
        return (
            f"it sets {runtime}, which a model file may not (what compiles, which "
            "callbacks run and how data loads are the loading program's to "
            "decide: load_model(path, params={...}))"
        )
    own = parameter_names(cls)
    unknown = sorted(k for k in names if k not in own and "__" not in k)
    missing = sorted(k for k in own if k not in names and not is_runtime(cls, k))
    if unknown or missing:
        return f"its parameters lack {missing[:5]} and add {unknown[:5]}"
    return None


def params_problem(cls, params):
    """Why a record's decoded ``params`` for ``cls`` are refused, or None:
    each value must pass the estimator's constraints (those that stand in
    for what a check does not build are checked when it is built) and the
    bounds."""
    checked = {k: v for k, v in params.items() if not isinstance(v, Unbuilt)}
    try:
        for constraints in (cls._parameter_constraints, BOUNDS):
            validate_parameter_constraints(
                {k: c for k, c in constraints.items() if k in checked},
                checked,
                caller_name=cls.__name__,
            )
    except InvalidParameterError as error:
        return str(error)
    if "image_shape" in checked:
        problem = _sides_problem(checked["image_shape"])
        if problem:
            return f"image_shape: {problem}"
    return None


def _count(value):
    return type(value) is int and 0 <= value <= 1 << 40


def _array(ndim, kinds="biufUO"):
    return lambda v: (
        isinstance(v, np.ndarray) and v.ndim == ndim and v.dtype.kind in kinds
    )


def _names(value):
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _labels(value):
    value = np.asarray(value, dtype=object) if isinstance(value, list) else value
    return _array(1)(value) and all(
        isinstance(v, str | numbers.Number) for v in value.tolist()
    )


# What a fitted attribute may hold ("?": or None), and the attributes.
_KINDS = {
    "a count": _count,
    "a side": lambda v: type(v) is int and 1 <= v <= 4096,
    "a count or a unit's name": lambda v: _count(v) or isinstance(v, str),
    "a number": lambda v: type(v) is float and np.isfinite(v),
    "labels": _labels,
    "numbers": _array(1, "f"),
    "a table of numbers": _array(2, "f"),
    "outputs": _array(1, "iu"),
    "names": _names,
    "a name or names": lambda v: isinstance(v, str) or _names(v),
    "three numbers": lambda v: (
        _array(1, "f")(v) and v.shape == (3,) and bool(np.isfinite(v).all())
    ),
    "(C, H, W)": lambda v: (
        isinstance(v, tuple)
        and len(v) == 3
        and all(_count(s) and 1 <= s <= MAX_SIDE for s in v)
    ),
}
FITTED = {
    "_fitted_transfer_upto": "a count or a unit's name?",
    "auto_probe_": "three numbers?",
    "auto_shift_": "a number?",
    "class_weight_": "numbers",
    "classes_inferred_": "labels",
    "converged_epoch_": "a count?",
    "head_alpha_": "a number?",
    "image_shape_": "(C, H, W)",
    "input_size_": "a side?",
    "layer_": "a name or names",
    "layer_names_": "names",
    "max_epochs_": "a count?",
    "n_cached_units_": "a count",
    "n_features_in_": "a count",
    "n_features_out_": "a count",
    "n_frozen_": "a count",
    "n_outputs_": "a count",
    "n_recalibrated_": "a count",
    "n_samples_fit_": "a count",
    "pixel_max_": "a number?",
    "relation_": "a table of numbers",
    "source_categories_": "labels?",
    "source_classes_": "labels",
    "source_outputs_": "outputs",
    "target_mean_": "numbers",
    "target_scale_": "numbers",
}


def fitted_problem(name, value):
    """Why the fitted attribute ``name=value`` of a record is refused, or
    None."""
    if name not in FITTED:
        return "it is not a fitted attribute this library writes"
    kind = FITTED[name]
    if (kind.endswith("?") and value is None) or _KINDS[kind.rstrip("?")](value):
        return None
    return f"expected {kind.replace('?', ' or None')}"


def check_structure(path, records, n_weights):
    """``estimators.json`` (parsed): a list of records of :data:`FIELDS`,
    each naming one of this library's classes, its network taking weights
    of its own (each of the file's once) and fitted state with it."""
    if not isinstance(records, list):
        raise ModelFileError(path, "estimators.json is not a list of records")
    used = []
    for index, record in enumerate(records):
        what = f"record {index}"
        if not isinstance(record, dict) or list(record) != list(FIELDS):
            raise ModelFileError(path, f"{what} is not a record of {list(FIELDS)}")
        if record["class"] not in estimator_classes():
            raise ModelFileError(
                path,
                f"{what} names the estimator {quoted(record['class'])}, not one of "
                f"{sorted(estimator_classes())}",
            )
        if not isinstance(record["params"], dict):
            raise ModelFileError(path, f"{what}: its parameters are not a mapping")
        fitted = record["fitted"]
        network = (record["weights"], record["n_frozen"])
        bare = fitted is None and network == (None, None) and record["history"] is None
        fitted_ok = (
            isinstance(fitted, dict)
            and all(type(v) is int and 0 <= v <= 100_000 for v in network)
            and (record["history"] is None or isinstance(record["history"], list))
        )
        if not (bare or fitted_ok):
            raise ModelFileError(
                path,
                f"{what}: its fitted state, history and network do not go together",
            )
        if not bare:
            used.append(record["weights"])
    if sorted(used) != list(range(n_weights)):
        raise ModelFileError(
            path,
            f"its estimators use the weights {sorted(used)[:8]} of the {n_weights} "
            "it holds (each network has its own)",
        )


def check_overrides(params, records, path):
    """``params`` of ``load_model``: a dict of parameter names that some
    estimator of the model takes."""
    if params is None:
        return {}
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise TypeError(f"`params` must be a dict of parameter names; got {params!r}.")
    classes = {estimator_classes()[r["class"]] for r in records}
    unknown = sorted(k for k in params if not any(takes(c, k) for c in classes))
    if unknown:
        raise ValueError(
            f"`params`: {unknown} are parameters of none of the estimators of this "
            f"library in {path} ({sorted(c.__name__ for c in classes)})."
        )
    return params
