"""scikit-learn's estimator checks, with fast settings."""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktransfer import PretrainedCNNClassifier

FAST_CLASSIFIER = PretrainedCNNClassifier(
    "mlp", input_size=4, max_epochs=20, lr=0.05, batch_size=64, random_state=0
)

# Every estimator here runs float32 matrix products through BLAS.
ORDER_WAIVER = {
    "check_methods_sample_order_invariance": (
        "the check demands rtol=1e-7 of float32 outputs; BLAS blocks a "
        "batched matrix product differently when rows move, which changes "
        "the last bit (seen on CI: 1 of 10,000 values off by 6e-8). "
        "test_outputs_do_not_depend_on_sample_order checks the property "
        "with a float32 tolerance."
    )
}

# Each of these waivers is a skorch design decision that a subclass cannot undo
# without breaking skorch's own parameter machinery.
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
    **ORDER_WAIVER,
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


@parametrize_with_checks(
    [_fast_extractor()],
    expected_failed_checks=lambda est: ORDER_WAIVER,
)
def test_feature_extractor_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("make", [lambda: FAST_CLASSIFIER, _fast_extractor])
def test_outputs_do_not_depend_on_sample_order(make):
    """Outputs follow their rows when the rows are shuffled (float32 tolerance)."""
    from sklearn.base import clone

    rng = np.random.default_rng(0)
    X = rng.random((40, 16)).astype(np.float32)
    y = np.arange(40) % 3
    est = clone(make()).fit(X, y)
    perm = rng.permutation(40)
    for method in ("predict", "predict_proba", "transform"):
        if hasattr(est, method):
            out = getattr(est, method)(X)
            shuffled = getattr(est, method)(X[perm])
            np.testing.assert_allclose(shuffled, out[perm], rtol=1e-5, atol=1e-6)
