"""The types a model file may name: what :func:`~sktransfer.load_model`
builds without being told to trust anything.

skops.io trusts scikit-learn's estimators, NumPy, SciPy and Python's
containers by default. A model of this library also names, as data that is
not code: imbalanced-learn's estimators (``SMOTE``, its ``Pipeline``),
scikit-learn's cross-validation splitters, the scorer a search keeps
(``GridSearchCV``'s default) and its metadata-routing requests, this
library's records of its own estimators (rebuilt from their parameters, never
unpickled), the baselines' ``ImageToRows``, and the classes its estimators
take as parameters (a torch loss and optimizer, skorch's ``Dataset`` and
``ValidSplit``, the batch loaders). Anything else in a file, ``os.system``
or ``builtins.eval``, ``print`` or a user's own function, is refused unless
the caller names it in ``trusted``. Which of them a parameter may hold is
:mod:`sktransfer._model_files._file_schema`'s to say.

Names are built here from the objects this process has imported; nothing a
file names is imported to check it.
"""

from __future__ import annotations

import functools
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
from sklearn.metrics._scorer import _PassthroughScorer
from sklearn.model_selection._split import BaseCrossValidator, BaseShuffleSplit
from sklearn.utils import _metadata_requests as routing

from .._runtime import BatchLoader, ShuffledBatchLoader
from ..baselines import ImageToRows
from ._records import StoredEstimator, StoredObject

__all__ = ["allowed_classes", "allowed_type_names", "type_name"]


def type_name(obj):
    """The name skops.io gives a type or function: ``module.name``."""
    return f"{pickle.whichmodule(obj, obj.__name__)}.{obj.__name__}"


def _classes_in(module, base):
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, base) and obj is not base
    ]


@functools.cache
def allowed_type_names():
    """The type names a model file may name besides skops.io's defaults.

    Returns
    -------
    names : frozenset of str
    """
    return frozenset(type_name(t) for t in allowed_classes())


@functools.cache
def allowed_classes():
    """The classes a model file may name besides skops.io's defaults.

    Returns
    -------
    classes : tuple of type
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
        *(
            obj
            for obj in vars(sklearn.model_selection).values()
            if inspect.isclass(obj)
            and issubclass(obj, BaseCrossValidator | BaseShuffleSplit)
        ),
        _PassthroughScorer,
        routing.MetadataRequest,
        routing.MethodMetadataRequest,
        routing.MetadataRouter,
        routing.MethodMapping,
        StoredEstimator,
        StoredObject,
        ImageToRows,
        BatchLoader,
        ShuffledBatchLoader,
        skorch.dataset.Dataset,
        skorch.dataset.ValidSplit,
        torch.utils.data.DataLoader,
        torch.device,
        *_classes_in(torch.optim, torch.optim.Optimizer),
        *_classes_in(torch.nn, torch.nn.modules.loss._Loss),
    ]
    return tuple(allowed)
