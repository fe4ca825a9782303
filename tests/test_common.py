"""scikit-learn's estimator checks, with fast settings."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sktransfer import PretrainedCNNClassifier

FAST_CLASSIFIER = PretrainedCNNClassifier(
    "mlp", input_size=4, max_epochs=20, lr=0.05, batch_size=64, random_state=0
)

# Each waiver is a skorch design decision that a subclass cannot undo without
# breaking skorch's own parameter machinery.
SKORCH_WAIVERS = {
    "check_no_attributes_set_in_init": (
        "skorch's NeuralNet.__init__ sets history_, initialized_ and "
        "virtual_params_ itself."
    ),
    "check_do_not_raise_errors_in_init_or_set_params": (
        "skorch's set_params re-initialises the callbacks at once when "
        "`callbacks` is set, so an invalid value fails in set_params."
    ),
    "check_set_params": (
        "skorch's get_params exposes its private `_params_to_validate` set; "
        "the check overwrites it with a number, which breaks skorch's own "
        "set_params."
    ),
}


@parametrize_with_checks(
    [FAST_CLASSIFIER],
    expected_failed_checks=lambda est: SKORCH_WAIVERS,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


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


LRT_WAIVERS = {
    **SKORCH_WAIVERS,
    "check_estimators_overwrite_params": (
        "the check compares joblib.hash of the prefit skorch source with that of "
        "a deepcopy of it, and a deep-copied skorch net pickles differently; "
        "test_label_relation.py checks that the source's weights and history "
        "stay untouched"
    ),
}


@parametrize_with_checks(
    [_prefit_lrt()],
    expected_failed_checks=lambda est: LRT_WAIVERS,
)
def test_label_relation_transfer_compatible(estimator, check):
    check(estimator)


def _fast_extractor():
    from sktransfer import CNNFeatureExtractor

    return CNNFeatureExtractor("mlp", input_size=4, random_state=0)


@parametrize_with_checks([_fast_extractor()])
def test_feature_extractor_compatible(estimator, check):
    check(estimator)
