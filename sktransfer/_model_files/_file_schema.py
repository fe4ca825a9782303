"""What a model file may say of this library's estimators: every parameter a
file may set, with its kind.

A model file keeps an estimator of this library as its class's name, its parameters and
its fitted state (:mod:`sktransfer._model_files._stored`). Before anything is built,
each parameter the file sets is read off the file as data
(:mod:`sktransfer._model_files._tree`) and checked here: a number in a range, a
string from a set, a tuple of integers, a class from a fixed set. A parameter outside
the schema is refused, naming it; so is a value of another kind.

What runs on the loading machine is not a file's to decide: compilation and
its options, callbacks, the data loaders' workers and their functions.
Those parameters (:data:`RUNTIME`) are left out when a model is saved,
accepted from a file only at their defaults (files of earlier versions list
them), and set by the loading program: ``load_model(path, params=...)``.

Values are compared in the form the file gives them
(:mod:`sktransfer._model_files._file_values`), by the kinds of
:mod:`sktransfer._model_files._file_kinds`.
"""

from __future__ import annotations

import importlib
import re

from torch.utils.data import DataLoader

from .._estimators import LOSSES
from .._networks import AUGMENT_POLICIES, HEAD_ACTIVATIONS, TTA_MODES
from .._runtime import BatchLoader, ShuffledBatchLoader
from .._training import BATCHNORM_MODES, LR_SCHEDULES
from ._file_kinds import (
    NAME,
    NONE,
    SCALAR,
    AcceleratorRecord,
    Boolean,
    Choice,
    Instance,
    Integer,
    Labels,
    Mapping,
    Named,
    Numbers,
    OneOf,
    Plain,
    Real,
    Runtime,
    Sequence,
    Source,
    Text,
)
from ._file_values import shown
from ._trust import allowed_classes, type_name

__all__ = [
    "DATA_PREFIXES",
    "FITTED",
    "RUNTIME",
    "check_fitted",
    "check_parameter",
    "is_runtime",
    "schema_of",
]


def _allowed(predicate):
    """The allowed type names (:mod:`sktransfer._model_files._trust`) that ``predicate``
    accepts, read when first needed."""

    def names():
        return frozenset(type_name(cls) for cls in allowed_classes() if predicate(cls))

    return names


def _subclass_of(dotted):
    module, _, name = dotted.rpartition(".")

    def predicate(cls):
        base = getattr(importlib.import_module(module), name)
        return isinstance(cls, type) and issubclass(cls, base)

    return predicate


def _loaders(cls):
    return cls in (BatchLoader, ShuffledBatchLoader, DataLoader)


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
UNITS = OneOf(Integer(0, 10_000), NAME)
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
            NONE, Choice({"balanced"}), Mapping(SCALAR, Real(0, 1e12))
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

    training = _training()
    classifier = {**training, **_head(), "backbone": Source()}
    regressor = {
        **{k: v for k, v in classifier.items() if k not in ("class_weight", "classes")},
        "criterion": OneOf(NONE, LOSS),
        "loss": Choice(LOSSES),
    }
    relation = {
        **training,
        "backbone": OneOf(NONE, Source()),
        "relation": Choice({"hard", "soft"}),
        "assignment": OneOf(
            Choice({"hungarian", "peak"}),
            Sequence(Integer(0, 1 << 20), limit=100_000),
            Labels(),
        ),
    }
    accelerated = {
        **classifier,
        "accelerator": AcceleratorRecord(),
        "device": NONE,
        "unwrap_after_train": Boolean(),
        "iterator_train__shuffle": Boolean(),
        "callbacks__print_log__sink": Runtime("auto"),
    }
    extractor = {
        "backbone": Source(),
        "weights": training["weights"],
        "weights_sha256": training["weights_sha256"],
        "layer": OneOf(NONE, NAME, Integer(-10_000, 10_000), Sequence(UNITS)),
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


# The fitted attributes a model file may set (any estimator of this library
# writes some of them); their values are read, never called.
FITTED = {
    "_fitted_transfer_upto": OneOf(NONE, UNITS),
    "class_weight_": OneOf(NONE, Numbers(1)),
    "classes_inferred_": Labels(),
    "converged_epoch_": OneOf(NONE, Integer(0, 1_000_000)),
    "image_shape_": Sequence(SIDE, length=3),
    "layer_": OneOf(NAME, Sequence(NAME, limit=10_000)),
    "layer_names_": Sequence(NAME, limit=10_000),
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
