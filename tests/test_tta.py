"""Test-time augmentation: predictions averaged over deterministic variants."""

import numpy as np
import pytest

from sktransfer import LabelRelationTransfer, PretrainedCNNClassifier


@pytest.fixture(scope="module")
def fitted():
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    clf = PretrainedCNNClassifier(
        "small_cnn", input_size=16, max_epochs=3, random_state=0
    ).fit(X[:150], y[:150])
    return clf, X[150:180]


def _variants(X, mode):
    turns = [np.rot90(X, k, axes=(1, 2)) for k in range(4)]
    if mode == "flip":
        return [X, X[:, :, ::-1]]
    if mode == "rot90":
        return turns
    return turns + [np.rot90(X[:, :, ::-1], k, axes=(1, 2)) for k in range(4)]


@pytest.mark.parametrize("mode", ["flip", "rot90", "flip_rot90"])
def test_tta_averages_the_probabilities_of_the_variants(fitted, mode):
    clf, X = fitted
    clf.set_params(tta=None)
    expected = np.mean([clf.predict_proba(v.copy()) for v in _variants(X, mode)], 0)
    clf.set_params(tta=mode)  # prediction only: no refit needed
    try:
        proba = clf.predict_proba(X)
        np.testing.assert_allclose(proba, expected, atol=1e-5)
        np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
        assert not np.allclose(proba, clf.set_params(tta=None).predict_proba(X))
    finally:
        clf.set_params(tta=None)


def test_tta_true_takes_the_variants_of_augment(digits):
    X, y = digits
    params = dict(input_size=16, max_epochs=1, random_state=0, augment="rot90")
    clf = PretrainedCNNClassifier("small_cnn", tta=True, **params).fit(X[:60], y[:60])
    by_name = clf.predict_proba(X[60:80])
    clf.set_params(tta="rot90")
    np.testing.assert_array_equal(clf.predict_proba(X[60:80]), by_name)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"tta": True}, "`tta`=True averages over the variants of `augment`"),
        ({"tta": "mirror"}, "'tta' parameter"),
    ],
)
def test_bad_tta_is_refused_at_fit(digits, params, match):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        PretrainedCNNClassifier("small_cnn", max_epochs=1, **params).fit(X[:20], y[:20])


def test_label_relation_transfer_has_tta_too(digits):
    X, y = digits
    source = PretrainedCNNClassifier("small_cnn", input_size=16, max_epochs=1).fit(
        X[:60], y[:60]
    )
    lrt = LabelRelationTransfer(source, max_epochs=1, tta="flip").fit(
        X[60:120], y[60:120] % 3
    )
    proba = lrt.predict_proba(X[:10])
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)
