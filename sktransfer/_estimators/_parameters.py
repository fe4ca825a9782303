"""The parameters of the image estimators, each written once: its default,
the constraints ``fit`` checks it against, and whether skorch's constructor
takes it.

The estimators compose their signatures from these groups
(:class:`~sktransfer._estimators._skorch.SkorchEstimator` turns one into an
``__init__``), so that adding a recipe parameter is one entry here, and the
command line reads the defaults from the composed signature
(:func:`default_of`).
"""

from __future__ import annotations

import dataclasses
import inspect
import numbers

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from skorch.dataset import Dataset
from torch import nn

from .._networks import HEAD_ACTIVATIONS
from .._runtime import BatchLoader, ShuffledBatchLoader
from .._training import BATCHNORM_MODES, LR_SCHEDULES

__all__ = [
    "CLASSIFIER_CRITERION",
    "CLASSIFIER_SKORCH",
    "FREEZING",
    "NEW_HEAD",
    "Parameter",
    "RECIPE",
    "SKORCH",
    "SKORCH_PARAMETERS",
    "SOURCE",
    "constraints_of",
    "default_of",
    "signature_of",
]


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One parameter of an estimator.

    Attributes
    ----------
    default : object
        Its default value.
    constraints : list or None
        scikit-learn's parameter constraints, checked at ``fit``; None when
        the code that uses the value checks it.
    skorch : bool
        Whether it goes to skorch's constructor (else it is set as an
        attribute after it).
    """

    default: object
    constraints: list | None = None
    skorch: bool = False


def _count(low, closed="left"):
    return [Interval(numbers.Integral, low, None, closed=closed)]


_UNITS = [Interval(numbers.Integral, 0, None, closed="left"), str]

# Where the body comes from: the backbone's weights.
SOURCE = {
    "weights": Parameter("DEFAULT"),
    "weights_sha256": Parameter(None, [None, str]),
}

FREEZING = {"freeze_upto": Parameter("auto", _UNITS)}

# A new head in place of the source's classifier, on some of its units.
NEW_HEAD = {
    "transfer_upto": Parameter(None, [None, *_UNITS]),
    "head_hidden_sizes": Parameter((), ["array-like"]),
    "head_dropout": Parameter(0.0, [Interval(numbers.Real, 0, 1, closed="left")]),
    "head_activation": Parameter("relu", [StrOptions(set(HEAD_ACTIVATIONS)), callable]),
    "head_batchnorm": Parameter(False, ["boolean"]),
}

# The training recipe and the data path.
RECIPE = {
    "backbone_lr_scale": Parameter(
        1.0, [Interval(numbers.Real, 0, None, closed="left")]
    ),
    "augment": Parameter(None),
    "tta": Parameter(
        None, [None, "boolean", StrOptions({"flip", "rot90", "flip_rot90"})]
    ),
    "image_shape": Parameter(None, [None, "array-like"]),
    "input_size": Parameter(None, [None, *_count(1)]),
    "random_state": Parameter(None, ["random_state"]),
    "class_weight": Parameter(None, [None, StrOptions({"balanced"}), dict]),
    "early_stopping": Parameter(False, ["boolean"]),
    "validation_fraction": Parameter(
        0.1, [Interval(numbers.Real, 0, 1, closed="neither")]
    ),
    "n_iter_no_change": Parameter(5, _count(1)),
    "freeze_epochs": Parameter(0, _count(0)),
    "precision": Parameter("auto", [StrOptions({"auto", "float32", "bfloat16"})]),
    "cache_frozen": Parameter(True, ["boolean"]),
    "batchnorm": Parameter("recalibrate", [StrOptions(set(BATCHNORM_MODES))]),
    "lr_schedule": Parameter("warmup_cosine", [StrOptions(set(LR_SCHEDULES))]),
}

# skorch's, with this library's defaults.
SKORCH = {
    "optimizer": Parameter(torch.optim.AdamW, skorch=True),
    "lr": Parameter(3e-3, [Interval(numbers.Real, 0, None, closed="neither")], True),
    "max_epochs": Parameter(None, [None, *_count(0)], True),
    "batch_size": Parameter(32, _count(1), True),
    "train_split": Parameter(None, skorch=True),
    "callbacks": Parameter(None, [None, list, tuple, StrOptions({"disable"})], True),
    "warm_start": Parameter(False, skorch=True),
    "verbose": Parameter(0, skorch=True),
    "device": Parameter("auto", skorch=True),
    "iterator_train": Parameter(ShuffledBatchLoader, skorch=True),
    "iterator_valid": Parameter(BatchLoader, skorch=True),
    "dataset": Parameter(Dataset, skorch=True),
    "predict_nonlinearity": Parameter("auto", skorch=True),
    "compile": Parameter(False, skorch=True),
    "use_caching": Parameter("auto", skorch=True),
    "torch_load_kwargs": Parameter(None, skorch=True),
}

# A classifier's loss, and skorch's classes (given, or those of ``y``).
CLASSIFIER_CRITERION = {"criterion": Parameter(nn.CrossEntropyLoss, skorch=True)}
CLASSIFIER_SKORCH = {**SKORCH, "classes": Parameter(None, skorch=True)}

# skorch's parameters the estimators take as they are: an unknown name's
# error message lists the others, the estimator's own.
SKORCH_PARAMETERS = (
    "dataset",
    "predict_nonlinearity",
    "compile",
    "use_caching",
    "torch_load_kwargs",
    "classes",
)


def signature_of(parameters):
    """The ``__init__`` signature of ``parameters`` (name -> :class:`Parameter`,
    in order): ``self``, the first one positional, the others keyword-only,
    then skorch's ``**kwargs`` (``optimizer__weight_decay=...``)."""
    kinds = [inspect.Parameter.POSITIONAL_OR_KEYWORD] + [
        inspect.Parameter.KEYWORD_ONLY
    ] * (len(parameters) - 1)
    return inspect.Signature(
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            *(
                inspect.Parameter(name, kind, default=parameter.default)
                for (name, parameter), kind in zip(
                    parameters.items(), kinds, strict=True
                )
            ),
            inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
        ]
    )


def constraints_of(parameters):
    """scikit-learn's ``_parameter_constraints`` of ``parameters``."""
    return {
        name: parameter.constraints
        for name, parameter in parameters.items()
        if parameter.constraints is not None
    }


def default_of(estimator_class, name):
    """The default of parameter ``name`` in ``estimator_class``'s signature:
    where the command line reads the recipe's defaults."""
    return inspect.signature(estimator_class).parameters[name].default
