"""What a model file may say of this library's estimators: every parameter a
file may set, with its kind.

A model file keeps an estimator of this library as its class's name, its
parameters and its fitted state (:mod:`sktransfer._stored`). Before anything
is built, each parameter the file sets is read off the file as data
(:mod:`sktransfer._model_tree`) and checked here: a number in a range, a
string from a set, a tuple of integers, a class from a fixed set. A parameter
outside the schema is refused, naming it; so is a value of another kind.

What runs on the loading machine is not a file's to decide: compilation and
its options, callbacks, the data loaders' workers and their functions.
Those parameters (:data:`RUNTIME`) are left out when a model is saved,
accepted from a file only at their defaults (files of earlier versions list
them), and set by the loading program: ``load_model(path, params=...)``.

Values are compared in the form the file gives them (:func:`file_value`
turns a Python value into it): plain data as it is, a class or function as
the :class:`Ref` of its name, an array as its :class:`Array` dtype and
shape, an estimator of this library as a :class:`Record` (checked in its
own right), any other object as an :class:`Opaque` of its type's name.
"""

from __future__ import annotations

import math
import re
import types
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "FITTED",
    "RUNTIME",
    "Array",
    "Opaque",
    "Record",
    "Ref",
    "check_fitted",
    "check_parameter",
    "file_value",
    "schema_of",
    "shown",
]


# -- values as a file gives them -------------------------------------------
@dataclass(frozen=True)
class Ref:
    """A class or function the file names (a reference, not called)."""

    name: str


@dataclass(frozen=True)
class Array:
    """A NumPy array: its dtype (``dtype.str``) and shape."""

    dtype: str
    shape: tuple


@dataclass(frozen=True)
class Record:
    """An estimator of this library, kept as a record and checked apart."""

    estimator: str


@dataclass(frozen=True)
class Opaque:
    """An object of another type; ``attrs`` holds the plain data it was
    given, for the few kinds that read them."""

    name: str
    attrs: dict = field(default_factory=dict, compare=False)


def _type_name(obj):
    from ._trust import type_name

    return type_name(obj)


def file_value(value):
    """``value`` in the form a model file gives it (see the module)."""
    from ._stored import StoredEstimator, StoredObject

    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biufU":
        return value.item()
    if isinstance(value, tuple | list):
        return type(value)(file_value(v) for v in value)
    if isinstance(value, dict):
        return {file_value(k): file_value(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return Array(value.dtype.str, tuple(value.shape))
    if isinstance(
        value, type | types.FunctionType | types.BuiltinFunctionType
    ) and hasattr(value, "__name__"):
        return Ref(_type_name(value))
    if isinstance(value, StoredEstimator):
        return Record(value.estimator)
    if isinstance(value, StoredObject):
        return Opaque(f"{value.kind} record", dict(value.params))
    if type(value).__name__ == "device" and type(value).__module__ == "torch":
        return str(value)
    if hasattr(value, "__sklearn_is_fitted__") or hasattr(value, "get_params"):
        from ._stored import _is_ours

        if _is_ours(value):
            return Record(type(value).__name__)
        inner = getattr(value, "estimator", None)
        if type(value).__name__ == "FrozenEstimator" and inner is not None:
            return Opaque(_type_name(type(value)), {"estimator": file_value(inner)})
    attrs = getattr(value, "__dict__", {})
    plain = {k: file_value(v) for k, v in attrs.items() if _is_plain(v)}
    return Opaque(_type_name(type(value)), plain)


def _is_plain(value):
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, tuple | list):
        return all(_is_plain(v) for v in value)
    return False


# -- kinds -----------------------------------------------------------------
class Kind:
    """What a parameter may hold; ``check`` returns None or why not."""

    def check(self, value, trusted):
        raise NotImplementedError

    def __str__(self):
        return self.describe()


def shown(value, limit=80):
    """A value in the form a file gives it, for people: a class or function
    by its name, an array by its dtype and shape."""
    if isinstance(value, Ref):
        return value.name
    if isinstance(value, Array):
        return f"an array of {value.dtype} {value.shape}"
    if isinstance(value, Record):
        return f"a fitted {value.estimator}"
    if isinstance(value, Opaque):
        return f"a {value.name}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Const(Kind):
    """Exactly ``value`` (``True`` is not ``1``)."""

    def __init__(self, value):
        self.value = value

    def check(self, value, trusted):
        if type(value) is not type(self.value) or value != self.value:
            return f"expected {self.describe()}"
        return None

    def describe(self):
        return repr(self.value)


class Runtime(Const):
    """A parameter the loading program decides: accepted from a file only at
    its default, never written by ``save_model``."""

    def check(self, value, trusted):
        if super().check(value, trusted) is None:
            return None
        return (
            f"a model file may not set it (only its default {self.value!r}); "
            "the loading program does: load_model(path, params={...})"
        )


class Boolean(Kind):
    def check(self, value, trusted):
        return None if isinstance(value, bool) else f"expected {self.describe()}"

    def describe(self):
        return "True or False"


class Integer(Kind):
    def __init__(self, low, high):
        self.low, self.high = low, high

    def check(self, value, trusted):
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected {self.describe()}"
        if not self.low <= value <= self.high:
            return f"expected {self.describe()}"
        return None

    def describe(self):
        return f"an integer from {self.low} to {self.high}"


class Real(Kind):
    """A finite number in ``[low, high]`` (``low`` excluded with ``open_low``)."""

    def __init__(self, low, high, *, open_low=False, open_high=False):
        self.low, self.high = low, high
        self.open_low, self.open_high = open_low, open_high

    def check(self, value, trusted):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"expected {self.describe()}"
        if not math.isfinite(value):
            return f"expected {self.describe()}"
        low_ok = value > self.low if self.open_low else value >= self.low
        high_ok = value < self.high if self.open_high else value <= self.high
        return None if low_ok and high_ok else f"expected {self.describe()}"

    def describe(self):
        left = "(" if self.open_low else "["
        right = ")" if self.open_high else "]"
        return f"a number in {left}{self.low}, {self.high}{right}"


class Choice(Kind):
    def __init__(self, options):
        self.options = tuple(options)

    def check(self, value, trusted):
        if isinstance(value, str) and value in self.options:
            return None
        return f"expected {self.describe()}"

    def describe(self):
        return "one of " + ", ".join(repr(o) for o in sorted(self.options))


class Text(Kind):
    """Printable text (no control characters) of at most ``limit``
    characters (a unit's or a backbone's name, a path), optionally matching
    ``pattern``."""

    def __init__(self, limit=200, pattern=None, what="printable text"):
        self.limit = limit
        self.pattern = re.compile(pattern) if pattern else None
        self.what = what

    def check(self, value, trusted):
        if (
            isinstance(value, str)
            and len(value) <= self.limit
            and value.isprintable()
            and (self.pattern is None or self.pattern.fullmatch(value))
        ):
            return None
        return f"expected {self.describe()}"

    def describe(self):
        return f"{self.what} of at most {self.limit} characters"


class Sequence(Kind):
    """A tuple or list of at most ``limit`` items of ``item``."""

    def __init__(self, item, limit=64, length=None):
        self.item, self.limit, self.length = item, limit, length

    def check(self, value, trusted):
        if not isinstance(value, tuple | list):
            return f"expected {self.describe()}"
        if len(value) > self.limit or (
            self.length is not None and len(value) != self.length
        ):
            return f"expected {self.describe()}"
        for item in value:
            if self.item.check(item, trusted) is not None:
                return f"expected {self.describe()}"
        return None

    def describe(self):
        size = f"{self.length}" if self.length is not None else f"at most {self.limit}"
        return f"a tuple of {size} items, each {self.item.describe()}"


class OneOf(Kind):
    def __init__(self, *kinds):
        self.kinds = kinds

    def check(self, value, trusted):
        for kind in self.kinds:
            if kind.check(value, trusted) is None:
                return None
        return f"expected {self.describe()}"

    def describe(self):
        return " or ".join(kind.describe() for kind in self.kinds)


class Named(Kind):
    """A class or function from a fixed set (``names()``), or one the loader
    named in ``trusted``."""

    def __init__(self, names, what):
        self.names, self.what = names, what

    def check(self, value, trusted):
        if isinstance(value, Ref) and (
            value.name in self.names() or trusted is True or value.name in trusted
        ):
            return None
        return f"expected {self.describe()}"

    def describe(self):
        return f"{self.what} (or a function the loader trusts)"


class Mapping(Kind):
    def __init__(self, key, value, limit=1000):
        self.key, self.value, self.limit = key, value, limit

    def check(self, value, trusted):
        if not isinstance(value, dict) or len(value) > self.limit:
            return f"expected {self.describe()}"
        for k, v in value.items():
            if self.key.check(k, trusted) or self.value.check(v, trusted):
                return f"expected {self.describe()}"
        return None

    def describe(self):
        return f"a dict of {self.key.describe()} to {self.value.describe()}"


def _label(value):
    """A NumPy scalar label (a 0-D array of a number or text)."""
    return isinstance(value, Array) and not value.shape and value.dtype[1:2] in "biufU"


class Labels(Kind):
    """Class labels: a 1-D array of numbers or strings, or a tuple or list
    of such scalars."""

    def check(self, value, trusted):
        if isinstance(value, Array):
            if len(value.shape) == 1 and value.dtype[1:2] in tuple("biufU"):
                return None
            return f"expected {self.describe()}"
        if isinstance(value, tuple | list) and len(value) <= 100_000:
            if all(_SCALAR.check(v, trusted) is None or _label(v) for v in value):
                return None
        return f"expected {self.describe()}"

    def describe(self):
        return "class labels (numbers or strings)"


class Numbers(Kind):
    """A NumPy array of numbers with ``ndim`` dimensions."""

    def __init__(self, ndim):
        self.ndim = ndim

    def check(self, value, trusted):
        if (
            isinstance(value, Array)
            and len(value.shape) == self.ndim
            and value.dtype[1:2] in tuple("biuf")
        ):
            return None
        return f"expected {self.describe()}"

    def describe(self):
        return f"a {self.ndim}-D array of numbers"


class Instance(Kind):
    """An object of one type, with plain data in ``attrs`` of the kinds
    given (a skorch ``ValidSplit``)."""

    def __init__(self, name, attrs):
        self.name, self.attrs = name, attrs

    def check(self, value, trusted):
        if not isinstance(value, Opaque) or value.name != self.name:
            return f"expected {self.describe()}"
        if set(value.attrs) - set(self.attrs):
            return f"expected {self.describe()}"
        for key, kind in self.attrs.items():
            if key in value.attrs and kind.check(value.attrs[key], trusted):
                return f"expected {self.describe()}"
        return None

    def describe(self):
        return f"a {self.name.rsplit('.', 1)[-1]}"


class Source(Kind):
    """A backbone: a registered name, or an estimator of this library (as
    it is, or in scikit-learn's ``FrozenEstimator``)."""

    def check(self, value, trusted):
        if isinstance(value, Record):
            return None
        if (
            isinstance(value, Opaque)
            and value.name == "sklearn.frozen._frozen.FrozenEstimator"
            and isinstance(value.attrs.get("estimator"), Record)
        ):
            return None
        if _NAME.check(value, trusted) is None:
            from ._registry import list_backbones

            if value in list_backbones() or value.startswith("timm/"):
                return None
            return (
                f"the backbone {value!r} is not registered here; register it "
                "with sktransfer.register_backbone before loading"
            )
        return f"expected {self.describe()}"

    def describe(self):
        return "a registered backbone's name or a fitted estimator of this library"


class Plain(Kind):
    """Plain data: None, True/False, a finite number, short text, or a
    tuple, list or dict of them (an optimizer's or a loss's settings)."""

    def __init__(self, depth=3):
        self.depth = depth

    def check(self, value, trusted):
        return None if self._plain(value, self.depth) else f"expected {self.describe()}"

    def _plain(self, value, depth):
        if _SCALAR.check(value, ()) is None or value is None:
            return True
        if depth == 0:
            return False
        if isinstance(value, tuple | list) and len(value) <= 64:
            return all(self._plain(v, depth - 1) for v in value)
        if isinstance(value, dict) and len(value) <= 64:
            return all(
                isinstance(k, str) and self._plain(v, depth - 1)
                for k, v in value.items()
            )
        return False

    def describe(self):
        return "plain data (numbers, True/False, text, tuples of them)"


class _Scalar(Kind):
    def check(self, value, trusted):
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float) and math.isfinite(value):
            return None
        if isinstance(value, str) and len(value) <= 1000:
            return None
        return "expected a number, True/False or text"

    def describe(self):
        return "a number, True/False or text"


_SCALAR = _Scalar()
_NAME = Text(200, what="a name")
NONE = Const(None)


# -- the schema ------------------------------------------------------------
def _allowed(predicate):
    """The allowed type names (:mod:`sktransfer._trust`) that ``predicate``
    accepts, read when first needed."""

    def names():
        from ._trust import allowed_classes

        return frozenset(_type_name(cls) for cls in allowed_classes() if predicate(cls))

    return names


def _subclass_of(dotted):
    module, _, name = dotted.rpartition(".")

    def predicate(cls):
        import importlib

        base = getattr(importlib.import_module(module), name)
        return isinstance(cls, type) and issubclass(cls, base)

    return predicate


def _loaders(cls):
    return _type_name(cls) in {
        "sktransfer._data.BatchLoader",
        "sktransfer._data.ShuffledBatchLoader",
        "torch.utils.data.dataloader.DataLoader",
    }


TRUSTED_FUNCTION = Named(frozenset, "a function")
LOSS = Named(_allowed(_subclass_of("torch.nn.modules.loss._Loss")), "a torch loss")
OPTIMIZER = Named(
    _allowed(_subclass_of("torch.optim.optimizer.Optimizer")), "a torch optimizer"
)
LOADER = Named(_allowed(_loaders), "a batch loader of this library or torch")
DATASET = Named(_allowed(_subclass_of("skorch.dataset.Dataset")), "skorch's Dataset")
DEVICE = OneOf(
    NONE,
    Text(20, r"auto|cpu|mps|cuda(:[0-9]{1,2})?", what="a device"),
)
SIDE = Integer(1, 1 << 14)
UNITS = OneOf(Integer(0, 10_000), _NAME)
RANDOM_STATE = OneOf(
    NONE,
    Integer(0, (1 << 32) - 1),
    Instance("numpy.random.mtrand.RandomState", {}),
)
VALID_SPLIT = Instance(
    "skorch.dataset.ValidSplit",
    {
        "cv": OneOf(Integer(2, 1000), Real(0, 1, open_low=True, open_high=True)),
        "stratified": Boolean(),
        "random_state": OneOf(NONE, Integer(0, (1 << 32) - 1)),
    },
)
RUNTIME = {
    "compile": Runtime(False),
    "callbacks": Runtime(None),
    "use_caching": Runtime("auto"),
    "torch_load_kwargs": Runtime(None),
}


def _training():
    """The parameters of the fine-tuning estimators (skorch's included)."""
    from ._augment import AUGMENT_POLICIES, TTA_MODES
    from ._batchnorm import BATCHNORM_MODES
    from ._recipe import LR_SCHEDULES

    return {
        **RUNTIME,
        "weights": OneOf(NONE, Text(4096, what="a weights name or path")),
        "weights_sha256": OneOf(NONE, Text(64, r"[0-9a-fA-F]{8,64}", what="hex")),
        "freeze_upto": UNITS,
        "backbone_lr_scale": Real(0, 1000),
        "augment": OneOf(NONE, Choice(AUGMENT_POLICIES), TRUSTED_FUNCTION),
        "tta": OneOf(NONE, Boolean(), Choice(TTA_MODES)),
        "image_shape": OneOf(NONE, Sequence(SIDE, length=3), Sequence(SIDE, length=2)),
        "input_size": OneOf(NONE, Integer(1, 4096)),
        "random_state": RANDOM_STATE,
        "class_weight": OneOf(
            NONE, Choice({"balanced"}), Mapping(_SCALAR, Real(0, 1e12))
        ),
        "early_stopping": Boolean(),
        "validation_fraction": Real(0, 1, open_low=True, open_high=True),
        "n_iter_no_change": Integer(1, 100_000),
        "freeze_epochs": Integer(0, 1_000_000),
        "precision": Choice({"auto", "float32", "bfloat16"}),
        "cache_frozen": Boolean(),
        "batchnorm": Choice(BATCHNORM_MODES),
        "lr_schedule": Choice(LR_SCHEDULES),
        "criterion": LOSS,
        "optimizer": OPTIMIZER,
        "lr": Real(0, 1000, open_low=True),
        "max_epochs": OneOf(NONE, Integer(0, 1_000_000)),
        "batch_size": Integer(1, 1 << 16),
        "iterator_train": LOADER,
        "iterator_valid": LOADER,
        "dataset": DATASET,
        "train_split": OneOf(NONE, VALID_SPLIT),
        "predict_nonlinearity": OneOf(NONE, Choice({"auto"}), TRUSTED_FUNCTION),
        "warm_start": Boolean(),
        "verbose": Integer(0, 100),
        "device": DEVICE,
        "classes": OneOf(NONE, Labels()),
    }


def _head():
    """The parameters of the estimators with a new head."""
    from ._network import HEAD_ACTIVATIONS

    return {
        "head_activation": OneOf(Choice(HEAD_ACTIVATIONS), TRUSTED_FUNCTION),
        "transfer_upto": OneOf(NONE, UNITS),
        "head_hidden_sizes": Sequence(Integer(1, 1 << 16), limit=16),
        "head_dropout": Real(0, 1, open_high=True),
        "head_batchnorm": Boolean(),
    }


# Prefixes under which a file may set plain settings (skorch routes them to
# the optimizer and the loss when a fit builds them).
DATA_PREFIXES = ("optimizer__", "criterion__")
_SETTING = re.compile(r"[a-z][a-z0-9_]{0,63}")


def schema_of(estimator):
    """``{parameter: kind}`` of the estimator class named ``estimator``, or
    None for a name that is not one of this library's."""
    return _schemas().get(estimator)


_CACHE = {}


def _schemas():
    if _CACHE:
        return _CACHE
    from ._regressing import LOSSES

    training = _training()
    classifier = {**training, **_head(), "backbone": Source()}
    regressor = {
        **{k: v for k, v in classifier.items() if k not in ("class_weight", "classes")},
        "criterion": OneOf(NONE, LOSS),
        "loss": Choice(LOSSES),
    }
    relation = {
        **training,
        "estimator": OneOf(NONE, Source()),
        "relation": Choice({"hard", "soft"}),
        "assignment": OneOf(
            Choice({"hungarian", "peak"}),
            Sequence(Integer(0, 1 << 20), limit=100_000),
            Labels(),
        ),
    }
    accelerated = {
        **classifier,
        "accelerator": _AcceleratorRecord(),
        "device": NONE,
        "unwrap_after_train": Boolean(),
        "iterator_train__shuffle": Boolean(),
        "callbacks__print_log__sink": Runtime("auto"),
    }
    extractor = {
        "backbone": Source(),
        "weights": training["weights"],
        "weights_sha256": training["weights_sha256"],
        "layer": OneOf(NONE, _NAME, Integer(-10_000, 10_000), Sequence(UNITS)),
        "pooling": Choice({"avg", "max", "flatten"}),
        "input_size": training["input_size"],
        "image_shape": training["image_shape"],
        "batch_size": training["batch_size"],
        "device": DEVICE,
        "precision": training["precision"],
        "random_state": RANDOM_STATE,
    }
    _CACHE.update(
        {
            "PretrainedCNNClassifier": classifier,
            "PretrainedCNNRegressor": regressor,
            "LabelRelationTransfer": relation,
            "CNNFeatureExtractor": extractor,
            "AcceleratedCNNClassifier": accelerated,
        }
    )
    return _CACHE


class _AcceleratorRecord(Kind):
    """The record of an ``accelerate.Accelerator``: its mixed precision, CPU
    flag and gradient accumulation."""

    _KINDS = {
        "mixed_precision": Choice({"no", "fp16", "bf16", "fp8"}),
        "cpu": Boolean(),
        "gradient_accumulation_steps": Integer(1, 100_000),
    }

    def check(self, value, trusted):
        if not isinstance(value, Opaque) or value.name != "accelerator record":
            return f"expected {self.describe()}"
        if set(value.attrs) != set(self._KINDS):
            return f"expected {self.describe()}"
        for key, kind in self._KINDS.items():
            if kind.check(value.attrs[key], trusted):
                return f"expected {self.describe()}"
        return None

    def describe(self):
        return "the record of an accelerate.Accelerator"


# The fitted attributes a model file may set (any estimator of this library
# writes some of them); their values are read, never called.
FITTED = {
    "_fitted_transfer_upto": OneOf(NONE, UNITS),
    "class_weight_": OneOf(NONE, Numbers(1)),
    "classes_inferred_": Labels(),
    "converged_epoch_": OneOf(NONE, Integer(0, 1_000_000)),
    "image_shape_": Sequence(SIDE, length=3),
    "layer_": OneOf(_NAME, Sequence(_NAME, limit=10_000)),
    "layer_names_": Sequence(_NAME, limit=10_000),
    "max_epochs_": OneOf(NONE, Integer(0, 1_000_000)),
    "n_cached_units_": Integer(0, 10_000),
    "n_features_in_": Integer(1, 1 << 40),
    "n_features_out_": Integer(0, 1 << 40),
    "n_frozen_": Integer(0, 10_000),
    "n_outputs_": Integer(1, 1 << 20),
    "n_recalibrated_": Integer(0, 1_000_000),
    "n_samples_fit_": Integer(0, 1 << 40),
    "pixel_max_": OneOf(NONE, Real(0, 1e300)),
    "relation_": Numbers(2),
    "source_categories_": OneOf(NONE, Labels()),
    "source_classes_": Labels(),
    "source_outputs_": OneOf(Numbers(1), Labels()),
    "target_mean_": Numbers(1),
    "target_scale_": Numbers(1),
}


def check_fitted(name, value):
    """Why the file's fitted attribute ``name=value`` is refused, or None."""
    kind = FITTED.get(name)
    if kind is None:
        return "it is not a fitted attribute this library writes"
    reason = kind.check(value, ())
    return None if reason is None else f"{reason}; the file has {shown(value)}"


def check_parameter(estimator, name, value, trusted=()):
    """Why the file's ``name=value`` for an ``estimator`` (a class name) is
    refused, or None when the schema accepts it.

    Parameters
    ----------
    estimator : str
    name : str
    value : object
        In the form :func:`file_value` gives.
    trusted : tuple of str or True, default=()
        Type names the loader trusts; ``True`` trusts any.

    Returns
    -------
    reason : str or None
    """
    schema = schema_of(estimator)
    kind = schema.get(name)
    if kind is None and name.startswith(DATA_PREFIXES):
        setting = name.split("__", 1)[1]
        kind = Plain() if _SETTING.fullmatch(setting) else None
    if kind is None:
        return (
            "it is not a parameter a model file may set (what compiles, which "
            "callbacks run and how data loads are the loading program's to "
            "decide: load_model(path, params={...}))"
        )
    reason = kind.check(value, trusted)
    if reason is None:
        return None
    return f"{reason}; the file has {shown(value)}"


def is_runtime(estimator, name):
    """Whether ``name`` of ``estimator`` is the loading program's to set
    (``save_model`` leaves it out): a parameter outside the schema, or one a
    file may give only at its default."""
    kind = schema_of(estimator).get(name)
    if kind is None:
        setting = name.split("__", 1)[1] if "__" in name else ""
        return not (name.startswith(DATA_PREFIXES) and _SETTING.fullmatch(setting))
    return isinstance(kind, Runtime)
