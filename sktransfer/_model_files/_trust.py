"""The names a model file may use: what :func:`~sktransfer.load_model`
builds without being told to trust anything.

A file names objects in two places. The records of this library's estimators
name a class by its public name, and only for a parameter that takes one
(:func:`classes_by_parameter`): a torch optimizer for ``optimizer``, a torch
loss for ``criterion``, a batch loader for ``iterator_train`` and
``iterator_valid``, skorch's ``Dataset`` for ``dataset``. The skops.io tree
of a model's other steps names types as skops.io does: it trusts
scikit-learn's estimators, NumPy, SciPy and Python's containers; a model
here also names imbalanced-learn's estimators, scikit-learn's
cross-validation splitters, the scorer a search keeps and its
metadata-routing requests, and the baselines' ``ImageToRows``
(:func:`allowed_type_names`). Anything else, ``os.system`` or
``builtins.eval``, ``print`` or a user's own function, is refused unless the
caller names it in ``trusted``.

Names are built here from the objects this process has imported; nothing a
file names is imported to check it, and a trusted name is imported only
when the model is built.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pickle

import imblearn
import imblearn.combine
import imblearn.ensemble
import imblearn.over_sampling
import imblearn.pipeline
import imblearn.under_sampling
import sklearn.model_selection
import skorch.dataset
import torch
from sklearn.base import BaseEstimator
from sklearn.frozen import FrozenEstimator
from sklearn.metrics._scorer import _PassthroughScorer
from sklearn.model_selection._split import BaseCrossValidator, BaseShuffleSplit
from sklearn.utils import _metadata_requests as routing
from torch.utils.data import DataLoader

from .._runtime import BatchLoader, ShuffledBatchLoader
from ..baselines import ImageToRows

__all__ = [
    "allowed_type_names",
    "classes_by_parameter",
    "import_name",
    "name_of",
]


def _classes_in(module, base):
    return {
        name: obj
        for name, obj in vars(module).items()
        if inspect.isclass(obj) and issubclass(obj, base) and obj is not base
    }


@functools.cache
def classes_by_parameter():
    """``{parameter: {public name: class}}``: the classes a record may give
    each parameter that takes a class.

    Returns
    -------
    classes : dict
    """
    optimizers = _classes_in(torch.optim, torch.optim.Optimizer)
    losses = _classes_in(torch.nn, torch.nn.modules.loss._Loss)
    loaders = {
        "sktransfer.BatchLoader": BatchLoader,
        "sktransfer.ShuffledBatchLoader": ShuffledBatchLoader,
        "torch.utils.data.DataLoader": DataLoader,
    }
    return {
        "optimizer": {f"torch.optim.{n}": c for n, c in optimizers.items()},
        "criterion": {f"torch.nn.{n}": c for n, c in losses.items()},
        "iterator_train": loaders,
        "iterator_valid": loaders,
        "dataset": {"skorch.dataset.Dataset": skorch.dataset.Dataset},
    }


@functools.cache
def _public_names():
    return {
        cls: name
        for classes in classes_by_parameter().values()
        for name, cls in classes.items()
    }


def name_of(obj):
    """The name a file gives a class or function: its public name when it is
    one a record may hold, else ``module.qualname``."""
    try:
        return _public_names()[obj]
    except (KeyError, TypeError):
        return f"{obj.__module__}.{obj.__qualname__}"


def import_name(name):
    """The object a trusted ``name`` (``module.qualname``) stands for,
    imported; None when there is none."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            return functools.reduce(getattr, parts[cut:], obj)
        except AttributeError:
            return None
    return None


def _type_name(obj):
    """The name skops.io gives a type: ``module.name``."""
    return f"{pickle.whichmodule(obj, obj.__name__)}.{obj.__name__}"


@functools.cache
def allowed_type_names():
    """The types a skops.io tree may name besides skops.io's defaults.

    Returns
    -------
    names : frozenset of str
    """
    imblearn_modules = (
        imblearn,
        imblearn.combine,
        imblearn.ensemble,
        imblearn.over_sampling,
        imblearn.pipeline,
        imblearn.under_sampling,
    )
    allowed = [
        *(
            obj
            for module in imblearn_modules
            for obj in (getattr(module, name) for name in module.__all__)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator)
        ),
        *_classes_in(
            sklearn.model_selection, BaseCrossValidator | BaseShuffleSplit
        ).values(),
        _PassthroughScorer,
        routing.MetadataRequest,
        routing.MethodMetadataRequest,
        routing.MetadataRouter,
        routing.MethodMapping,
        FrozenEstimator,
        ImageToRows,
    ]
    return frozenset(map(_type_name, allowed))
