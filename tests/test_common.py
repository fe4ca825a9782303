"""scikit-learn's estimator checks on every estimator of the package, found
by walking its public modules (as imbalanced-learn's ``tests/test_common.py``
does), each with fast settings."""

import importlib
import inspect
import pkgutil
import re

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import sktransfer
from sktransfer import PretrainedCNNClassifier


def all_estimators():
    """{name: class} of every public estimator class sktransfer defines."""
    modules = [sktransfer] + [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(sktransfer.__path__, "sktransfer.")
        if not any(part.startswith("_") for part in info.name.split(".")[1:])
    ]
    found = {}
    for module in modules:
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseEstimator)
                and not name.startswith("_")
                and cls.__module__.startswith("sktransfer")
            ):
                found[name] = cls
    return found


FAST_CLASSIFIER = PretrainedCNNClassifier(
    "mlp", input_size=4, max_epochs=20, lr=0.05, batch_size=64, random_state=0
)


def _prefit_lrt():
    import numpy as np
    from sklearn.frozen import FrozenEstimator

    from sktransfer import LabelRelationTransfer

    rng = np.random.default_rng(0)
    X = rng.random((60, 16)).astype(np.float32)
    source = PretrainedCNNClassifier(
        "mlp", input_size=4, max_epochs=1, random_state=0
    ).fit(X, rng.integers(0, 10, 60))
    return LabelRelationTransfer(
        FrozenEstimator(source),
        max_epochs=30,
        lr=0.01,
        batch_size=64,
        random_state=0,
    )


def _fast_extractor():
    from sktransfer import CNNFeatureExtractor

    return CNNFeatureExtractor("mlp", input_size=4, random_state=0)


def _fast_accelerated():
    accelerate = pytest.importorskip("accelerate")
    from sktransfer.multi_gpu import AcceleratedCNNClassifier

    return AcceleratedCNNClassifier(
        "mlp",
        accelerator=accelerate.Accelerator(cpu=True),
        input_size=4,
        max_epochs=20,
        lr=0.05,
        batch_size=64,
        random_state=0,
    )


# Fast settings of each estimator; a new estimator must add its own here.
FAST = {
    "PretrainedCNNClassifier": lambda: FAST_CLASSIFIER,
    "AcceleratedCNNClassifier": _fast_accelerated,
    "LabelRelationTransfer": _prefit_lrt,
    "CNNFeatureExtractor": _fast_extractor,
    "ImageToRows": lambda: sktransfer.baselines.ImageToRows(),
    "PretrainedCNNRegressor": lambda: sktransfer.PretrainedCNNRegressor(
        "mlp", input_size=16, max_epochs=20, lr=0.01, batch_size=64, random_state=0
    ),
}


def test_every_estimator_is_checked():
    assert set(all_estimators()) == set(FAST)


def _instances():
    instances = []
    for name in sorted(all_estimators()):
        try:
            instances.append(FAST[name]())
        except pytest.skip.Exception:  # an optional dependency is missing
            continue
    return instances


def _with_checks(estimators):
    """scikit-learn's ``parametrize_with_checks``, its checks listed:
    scikit-learn 1.6 hands pytest a generator, which pytest 9 refuses."""
    mark = parametrize_with_checks(estimators)
    names, checks = mark.args
    kwargs = dict(mark.kwargs)
    name_of = kwargs.pop("ids")
    # An object's address in a parameter's repr (the Accelerator) differs
    # between pytest-xdist workers, which must collect the same test names.
    return pytest.mark.parametrize(
        names,
        list(checks),
        ids=lambda obj: re.sub(r"\s?at\s?0x[0-9a-f]+", "", name_of(obj)),
        **kwargs,
    )


@_with_checks(_instances())
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("make", [lambda: FAST_CLASSIFIER, _fast_extractor])
def test_outputs_do_not_depend_on_sample_order(make):
    """Outputs follow their rows, to the bit, when the rows are shuffled."""
    from sklearn.base import clone

    rng = np.random.default_rng(0)
    X = rng.random((300, 16)).astype(np.float32)
    y = np.arange(300) % 3
    est = clone(make()).fit(X, y)
    perm = rng.permutation(300)
    for method in ("predict", "predict_proba", "transform"):
        if hasattr(est, method):
            out = getattr(est, method)(X)
            np.testing.assert_array_equal(getattr(est, method)(X[perm]), out[perm])
