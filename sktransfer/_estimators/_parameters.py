"""The constraints of the image estimators' parameters, each written once.

scikit-learn composes an estimator's ``_parameter_constraints`` from its
bases' dicts; here the estimators compose theirs from the groups below
(``{**SOURCE, **FREEZING, **RECIPE, ...}``), and each writes its
``__init__`` out, as scikit-learn's do. ``fit`` checks every parameter
against its constraints, and so does :func:`~sktransfer.load_model` for a
model file's: one check of values, the estimator's own. A test holds the
signatures, the constraints and the documentation to each other.
"""

from __future__ import annotations

import enum
import inspect
import numbers
import os

import torch
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from torch import nn
from torch.utils.data import Dataset

from .._networks import AUGMENT_POLICIES, HEAD_ACTIVATIONS, TTA_MODES
from .._training import BATCHNORM_MODES, LR_SCHEDULES

__all__ = [
    "BACKBONE",
    "CLASSIFIER",
    "FREEZING",
    "NEW_HEAD",
    "RECIPE",
    "SKORCH",
    "SOURCE",
    "default_of",
]

_UNITS = [Interval(numbers.Integral, 0, None, closed="left"), str]
_ESTIMATOR = HasMethods(["get_params"])

# Where the body comes from: a registered name, a module or a fitted
# estimator of this library (whose trained network becomes the body).
BACKBONE = [str, nn.Module, _ESTIMATOR]

SOURCE = {
    "weights": [None, str, os.PathLike, enum.Enum],
    "weights_sha256": [None, str],
}

FREEZING = {"freeze_upto": _UNITS}

# A new head in place of the source's classifier, on some of its units.
NEW_HEAD = {
    "transfer_upto": [None, *_UNITS],
    "head_hidden_sizes": ["array-like"],
    "head_dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    "head_activation": [StrOptions(set(HEAD_ACTIVATIONS)), callable],
    "head_batchnorm": ["boolean"],
}

# The training recipe and the data path.
RECIPE = {
    "backbone_lr_scale": [Interval(numbers.Real, 0, None, closed="left")],
    "augment": [None, StrOptions(set(AUGMENT_POLICIES)), callable],
    "tta": [None, "boolean", StrOptions(set(TTA_MODES))],
    "image_shape": [None, "array-like"],
    "input_size": [None, Interval(numbers.Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
    "class_weight": [None, StrOptions({"balanced"}), dict],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
    "freeze_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
    "precision": [StrOptions({"auto", "float32", "bfloat16"})],
    "cache_frozen": ["boolean"],
    "batchnorm": [StrOptions(set(BATCHNORM_MODES))],
    "lr_schedule": [StrOptions(set(LR_SCHEDULES))],
}

# skorch's, as the estimators take them.
SKORCH = {
    "optimizer": [callable],
    "lr": [Interval(numbers.Real, 0, None, closed="neither")],
    "max_epochs": [None, Interval(numbers.Integral, 0, None, closed="left")],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "train_split": [None, callable],
    "callbacks": [None, list, tuple, StrOptions({"disable"})],
    "warm_start": ["boolean"],
    "verbose": ["verbose"],
    "device": [None, str, torch.device],
    "iterator_train": [callable],
    "iterator_valid": [callable],
    "dataset": [callable, Dataset],
    "predict_nonlinearity": [None, StrOptions({"auto"}), callable],
    "compile": ["boolean"],
    "use_caching": ["boolean", StrOptions({"auto"})],
    "torch_load_kwargs": [None, dict],
}

# A classifier's loss, and skorch's classes (given, or those of ``y``).
CLASSIFIER = {"criterion": [callable], "classes": [None, "array-like"]}


def default_of(estimator_class, name):
    """The default of parameter ``name`` in ``estimator_class``'s signature:
    where the command line reads the recipe's defaults."""
    return inspect.signature(estimator_class).parameters[name].default
