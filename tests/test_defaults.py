"""Defaults defined once: the parameters the estimators share have the same
default everywhere, and the command line takes the recipe's."""

import inspect

import pytest

from sktransfer import (
    CNNFeatureExtractor,
    LabelRelationTransfer,
    PretrainedCNNClassifier,
    PretrainedCNNRegressor,
)
from sktransfer._cli import build_parser
from sktransfer._estimators._parameters import RECIPE, SKORCH, SOURCE


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


@pytest.mark.parametrize(
    "estimator_class",
    [PretrainedCNNClassifier, PretrainedCNNRegressor, LabelRelationTransfer],
)
def test_shared_parameters_are_written_once(estimator_class):
    """Each estimator's signature and constraints come from the one table of
    shared parameters: a recipe parameter added there is in all three."""
    signature = inspect.signature(estimator_class).parameters
    shared = {**SOURCE, **RECIPE, **SKORCH}
    if estimator_class is PretrainedCNNRegressor:
        shared.pop("class_weight")  # a regressor has no classes
    for name, parameter in shared.items():
        assert signature[name].default is parameter.default, name
        if parameter.constraints is not None:
            assert estimator_class._parameter_constraints[name] is (
                parameter.constraints
            ), name
    assert signature["kwargs"].kind is inspect.Parameter.VAR_KEYWORD
    assert next(iter(signature)) == "backbone"
    assert all(p.kind is p.KEYWORD_ONLY for p in list(signature.values())[1:-1])


def test_a_composed_init_takes_parameters_as_python_does():
    clf = PretrainedCNNClassifier("mlp", lr=0.1, optimizer__weight_decay=0.5)
    assert (clf.backbone, clf.lr, clf.max_epochs) == ("mlp", 0.1, None)
    assert clf.get_params()["optimizer__weight_decay"] == 0.5
    with pytest.raises(TypeError, match="positional"):
        PretrainedCNNClassifier("mlp", "DEFAULT")
    with pytest.raises(TypeError, match="multiple values"):
        PretrainedCNNClassifier("mlp", backbone="mlp")
    assert PretrainedCNNClassifier.__init__.__qualname__ == (
        "PretrainedCNNClassifier.__init__"
    )
