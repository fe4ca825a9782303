"""Every fitted attribute is documented, and the shared documentation says
the same thing in every estimator."""

import importlib
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from numpydoc.docscrape import ClassDoc
from skorch import NeuralNetClassifier

from sktransfer import (
    CNNFeatureExtractor,
    LabelRelationTransfer,
    PretrainedCNNClassifier,
    PretrainedCNNRegressor,
)
from sktransfer._estimators._docs import FITTED_ATTRIBUTES, TRAINING_PARAMETERS
from sktransfer.baselines import ImageToRows

X = np.random.default_rng(0).random((20, 16)).astype(np.float32)
Y = np.arange(20) % 2


def _public_fitted(estimator):
    return {k for k in vars(estimator) if k.endswith("_") and not k.startswith("_")}


def _documented(estimator_class):
    doc = ClassDoc(estimator_class)
    names = set()
    for entry in doc["Attributes"]:
        names |= {name.strip() for name in entry.name.split(",")}
    return names


@pytest.fixture(scope="module")
def skorch_own():
    """The fitted attributes skorch sets itself (documented by skorch)."""
    net = NeuralNetClassifier(
        torch.nn.Linear(16, 2), max_epochs=1, train_split=None, verbose=0
    ).fit(X, Y)
    return _public_fitted(net)


@pytest.fixture(scope="module")
def fitted():
    params = {"image_shape": (4, 4), "input_size": 4, "max_epochs": 1}
    clf = PretrainedCNNClassifier("mlp", class_weight="balanced", **params).fit(X, Y)
    lrt = LabelRelationTransfer(clf, class_weight="balanced", **params).fit(X, Y)
    extractor = CNNFeatureExtractor("mlp", image_shape=(4, 4), input_size=4).fit(X)
    rows = ImageToRows(image_shape=(4, 4)).fit(X)
    reg = PretrainedCNNRegressor("mlp", **params).fit(X, Y.astype(float))
    return {type(e).__name__: e for e in (clf, lrt, extractor, rows, reg)}


@pytest.mark.parametrize(
    "name",
    [
        "PretrainedCNNClassifier",
        "LabelRelationTransfer",
        "CNNFeatureExtractor",
        "ImageToRows",
        "PretrainedCNNRegressor",
    ],
)
def test_every_fitted_attribute_is_documented(fitted, name, skorch_own):
    estimator = fitted[name]
    undocumented = _public_fitted(estimator) - skorch_own - _documented(type(estimator))
    assert not undocumented


def test_the_shared_documentation_is_the_same_in_both_classifiers():
    from sktransfer._estimators._docs import _entries

    for text in (TRAINING_PARAMETERS, FITTED_ATTRIBUTES):
        for estimator_class in (PretrainedCNNClassifier, LabelRelationTransfer):
            doc = estimator_class.__doc__
            assert all(entry in doc for entry in _entries(text).values())
            assert "%(" not in doc


def test_the_documented_parameters_are_the_signatures():
    """numpydoc's order check, here too: the docs build is in the slow tier."""
    import inspect

    from sktransfer.multi_gpu import AcceleratedCNNClassifier

    for estimator_class in (
        PretrainedCNNClassifier,
        LabelRelationTransfer,
        PretrainedCNNRegressor,
        AcceleratedCNNClassifier,
    ):
        documented = [
            name.strip()
            for entry in ClassDoc(estimator_class)["Parameters"]
            for name in re.split(r",\s*", entry.name)
        ]
        signature = [
            ("**" + name if p.kind is p.VAR_KEYWORD else name)
            for name, p in inspect.signature(estimator_class).parameters.items()
        ]
        assert documented == signature


def _public_docstrings():
    """``(where, docstring)`` of every public name of the public modules, and
    of the public methods our classes define."""
    import importlib
    import inspect

    modules = [
        "sktransfer",
        "sktransfer.baselines",
        "sktransfer.backbones",
        "sktransfer.datasets",
        "sktransfer.inspection",
        "sktransfer.metrics",
        "sktransfer.model_selection",
        "sktransfer.multi_gpu",
    ]
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            yield f"{module_name}.{name}", obj.__doc__
            if not inspect.isclass(obj):
                continue
            for attribute in dir(obj):
                if attribute.startswith("_") and attribute != "__init__":
                    continue
                owner = next((c for c in obj.__mro__ if attribute in vars(c)), None)
                if owner is None or not owner.__module__.startswith("sktransfer"):
                    continue
                value = vars(owner)[attribute]
                value = getattr(value, "fget", value)
                yield f"{module_name}.{name}.{attribute}", value.__doc__


def test_public_docstrings_name_no_private_module():
    private = re.compile(r"sktransfer\.(?:\w+\.)*_[a-z]\w*")
    found = {
        where: private.findall(doc)
        for where, doc in _public_docstrings()
        if isinstance(doc, str) and private.search(doc)
    }
    assert not found


@pytest.mark.parametrize(
    "module",
    [
        "sktransfer",
        "sktransfer.backbones",
        "sktransfer.baselines",
        "sktransfer.datasets",
        "sktransfer.inspection",
        "sktransfer.metrics",
        "sktransfer.model_selection",
        "sktransfer.multi_gpu",
    ],
)
def test_the_api_reference_lists_every_public_name(module):
    """docs/api.rst has an entry for each name of a public module's
    ``__all__`` (the metrics' re-exports of imbalanced-learn are named in
    its text)."""
    api = (Path(__file__).parent.parent / "docs" / "api.rst").read_text()
    listed = set(re.findall(r"^(?:   |\.\. data:: )(\w+)\s*$", api, re.M))
    missing = [
        name
        for name in importlib.import_module(module).__all__
        if name not in listed and f":func:`~imblearn.metrics.{name}`" not in api
    ]
    assert not missing, f"{module}: {missing} are not in docs/api.rst"
