"""sample_weight: an image counts as often as its weight says, through
pipelines and searches by metadata routing, in every classifier."""

import numpy as np
import pytest
import sklearn
import torch
from sklearn.ensemble import AdaBoostClassifier
from sklearn.metrics import accuracy_score, make_scorer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sktransfer import LabelRelationTransfer, PretrainedCNNClassifier
from sktransfer._inputs._sample_weight import check_sample_weight
from sktransfer._training._training_set import _copies, training_set, weighted_loss
from sktransfer.baselines import ImageToRows

FAST = {"input_size": 16, "max_epochs": 3, "random_state": 0}


@pytest.fixture(scope="module")
def digits3():
    """Digits 0-2, uint8 8x8, a train and a test part."""
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    keep = y < 3
    X, y = X[keep], y[keep]
    return X[:150], y[:150], X[150:300], y[150:300]


def test_weights_are_copies_and_a_fraction():
    source, weight = _copies(np.array([2.5, 0.0, 1.0, 0.3, 2.0]))
    assert source.tolist() == [0, 0, 0, 2, 3, 4, 4]
    assert weight.tolist() == [1, 1, 0.5, 1, 0.3, 1, 1]
    source, weight = _copies(np.array([1.0, 3.0, 0.0]))
    assert source.tolist() == [0, 1, 1, 1] and weight is None


def test_the_training_set_does_not_depend_on_the_row_order():
    rng = np.random.default_rng(0)
    X = torch.as_tensor(rng.integers(0, 255, (12, 1, 4, 4), dtype=np.uint8))
    y = np.arange(12) % 3
    w = rng.integers(0, 4, 12).astype(float)
    w[0] = 1.5
    perm = rng.permutation(12)
    a = training_set(X, y, w)
    b = training_set(X[perm], y[perm], w[perm])
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert torch.equal(a[2], b[2])
    repeated = training_set(
        X.repeat_interleave(torch.as_tensor([2, 1]).repeat(6), dim=0),
        np.repeat(y, np.tile([2, 1], 6)),
    )
    twice = training_set(X, y, np.tile([2.0, 1.0], 6))
    assert torch.equal(repeated[0], twice[0]) and twice[2] is None


@pytest.mark.parametrize(
    "weights, message",
    [
        (np.ones(3), r"shape \(4,\)"),
        (np.array([1, -1, 1, 1]), "non-negative"),
        (np.array([1, np.nan, 1, 1]), "finite"),
        (np.zeros(4), "zero for every image"),
        (np.full(4, 1e6), "divide them"),
        ("heavy", "must be numbers"),
    ],
)
def test_bad_sample_weights_are_named(weights, message):
    with pytest.raises(ValueError, match=message) as error:
        source, _ = _copies(check_sample_weight(weights, 4))
    assert "`sample_weight`" in str(error.value)


def test_a_number_weighs_every_image():
    assert check_sample_weight(2, 3).tolist() == [2.0, 2.0, 2.0]
    assert check_sample_weight(None, 3) is None


def test_weighted_loss_of_weights_one_is_the_criterion_s_loss():
    torch.manual_seed(0)
    logits, y = torch.randn(6, 3), torch.tensor([0, 1, 2, 2, 1, 0])
    for criterion in (
        torch.nn.CrossEntropyLoss(),
        torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 5.0])),
        torch.nn.CrossEntropyLoss(reduction="sum"),
    ):
        ones = weighted_loss(criterion, logits, y, torch.ones(6))
        torch.testing.assert_close(ones, criterion(logits, y))
        assert criterion.reduction in ("mean", "sum")  # put back
    halves = weighted_loss(
        torch.nn.CrossEntropyLoss(), logits, y, torch.full((6,), 0.5)
    )
    torch.testing.assert_close(halves, torch.nn.CrossEntropyLoss()(logits, y) / 2)


def test_a_class_whose_images_weigh_nothing_is_not_learned(digits3):
    X, y, X_test, _ = digits3
    weights = np.where(y == 2, 0.0, 1.0)
    clf = PretrainedCNNClassifier("small_cnn", **FAST).fit(X, y, sample_weight=weights)
    assert clf.classes_.tolist() == [0, 1, 2]
    assert 2 not in clf.predict(X_test)
    with pytest.raises(ValueError, match="`sample_weight` is zero for every image but"):
        clf.fit(X, y, sample_weight=(y == 1).astype(float))


def test_integer_weights_behave_like_repeated_images(digits3):
    X, y, X_test, _ = digits3
    weights = np.where(np.arange(len(y)) % 3 == 0, 3, 1)
    weighted = PretrainedCNNClassifier("small_cnn", **FAST).fit(
        X, y, sample_weight=weights
    )
    repeated = PretrainedCNNClassifier("small_cnn", **FAST).fit(
        np.repeat(X, weights, axis=0), np.repeat(y, weights)
    )
    # The same training set (content order): the same network, here to the bit.
    np.testing.assert_allclose(
        weighted.predict_proba(X_test), repeated.predict_proba(X_test), atol=1e-6
    )


def test_fractional_weights_weigh_the_loss_in_the_cache_and_early_stopping(digits3):
    X, y, X_test, _ = digits3
    weights = np.linspace(0.2, 1.0, len(y))
    clf = PretrainedCNNClassifier(
        "small_cnn",
        freeze_upto="all",
        early_stopping=True,
        validation_fraction=0.2,
        **FAST,
    ).fit(X, y, sample_weight=weights)
    assert clf.n_cached_units_ == len(clf.layer_names_)
    assert np.isfinite(clf.history[:, "valid_loss"]).all()
    plain = PretrainedCNNClassifier(
        "small_cnn",
        freeze_upto="all",
        early_stopping=True,
        validation_fraction=0.2,
        **FAST,
    ).fit(X, y)
    assert clf.history[:, "valid_loss"] != plain.history[:, "valid_loss"]
    assert clf.n_recalibrated_ == plain.n_recalibrated_
    clf.partial_fit(X, y, sample_weight=weights)
    assert len(clf.history) > len(plain.history)


def test_sample_weight_combines_with_class_weight(digits3):
    X, y, X_test, _ = digits3
    weights = np.where(y == 0, 2.0, 1.0)
    clf = PretrainedCNNClassifier("small_cnn", class_weight="balanced", **FAST)
    clf.fit(X, y, sample_weight=weights)
    # "balanced" from the training set: class 0 counts twice as often there.
    counts = np.bincount(np.repeat(y, weights.astype(int)))
    np.testing.assert_allclose(clf.class_weight_, counts.sum() / (3 * counts))


def test_label_relation_transfer_takes_sample_weights(digits3):
    from sktransfer.datasets import load_digits_images

    X_all, y_all = load_digits_images()
    source = PretrainedCNNClassifier("small_cnn", **FAST).fit(
        X_all[y_all >= 3][:200], y_all[y_all >= 3][:200]
    )
    X, y, _, _ = digits3
    weights = np.where(y == 0, 2.0, 1.0)
    lrt = LabelRelationTransfer(source, max_epochs=1, random_state=0)
    lrt.fit(X, y, sample_weight=weights)
    twice = LabelRelationTransfer(source, max_epochs=1, random_state=0).fit(
        np.repeat(X, weights.astype(int), axis=0), np.repeat(y, weights.astype(int))
    )
    np.testing.assert_array_equal(lrt.relation_, twice.relation_)


def test_sample_weight_reaches_the_estimator_through_routing(digits3):
    X, y, _, _ = digits3
    weights = np.where(y == 2, 0.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        clf = PretrainedCNNClassifier("small_cnn", **FAST).set_fit_request(
            sample_weight=True
        )
        pipeline = make_pipeline(
            ImageToRows(),
            PretrainedCNNClassifier(
                "small_cnn", image_shape=(1, 8, 8), **FAST
            ).set_fit_request(sample_weight=True),
        )
        pipeline.fit(X, y, sample_weight=weights)
        assert 2 not in pipeline.predict(X)
        scorer = make_scorer(accuracy_score).set_score_request(sample_weight=True)
        search = GridSearchCV(clf, {"lr": [3e-3]}, cv=2, scoring=scorer)
        search.fit(X, y, sample_weight=weights)
        assert 2 not in search.predict(X)


def test_adaboost_of_classifiers_beats_one_of_them():
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:900], y[300:900]
    weak = {"input_size": 16, "max_epochs": 1}  # one epoch: about 40% right
    singles = [
        np.mean(
            PretrainedCNNClassifier("small_cnn", random_state=seed, **weak)
            .fit(X_train, y_train)
            .predict(X_test)
            == y_test
        )
        for seed in range(3)
    ]
    boosted = AdaBoostClassifier(
        PretrainedCNNClassifier("small_cnn", **weak), n_estimators=10, random_state=0
    ).fit(X_train, y_train)
    assert len(boosted.estimators_) == 10
    accuracy = np.mean(boosted.predict(X_test) == y_test)
    assert accuracy > max(singles) + 0.05, (accuracy, singles)
