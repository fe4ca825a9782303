"""The regressor's head on a wholly frozen body, solved as ridge regression
with its penalty chosen by leave-one-out (sktransfer._training._ridge_head)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline

from sktransfer import (
    CNNFeatureExtractor,
    PretrainedCNNClassifier,
    PretrainedCNNRegressor,
    load_model,
    save_model,
)
from sktransfer._training import _ridge_head
from sktransfer._training._depth_probe import PROBE_ALPHAS
from sktransfer._training._ridge_head import ridge_head, solve_linear_head
from sktransfer.datasets import load_digits_images

SMALL = {"backbone": "small_cnn", "input_size": 16, "random_state": 0}


@pytest.fixture(scope="module")
def ink():
    """Digits and a measurement read off each: the ink, and its spread."""
    X, _ = load_digits_images()
    X = X[:160]
    y = np.column_stack([X.mean(axis=(1, 2)), X.std(axis=(1, 2))])
    return X, y


class _StandardisedRidge:
    """RidgeCV on the pooled features and the targets standardised (each to
    mean 0 and SD 1, so that each counts alike in the penalty's choice), its
    predictions in the targets' units: what the regressor's head solves."""

    def __init__(self, X, y, sample_weight=None):
        self.mean, self.scale = y.mean(axis=0), y.std(axis=0)
        self.pipeline = make_pipeline(
            CNNFeatureExtractor(**SMALL), RidgeCV(alphas=PROBE_ALPHAS)
        ).fit(X, (y - self.mean) / self.scale, ridgecv__sample_weight=sample_weight)
        self.alpha_ = self.pipeline[-1].alpha_

    def predict(self, X):
        return self.pipeline.predict(X) * self.scale + self.mean


def test_ridge_head_is_ridge_with_its_penalty_by_leave_one_out():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 120))  # more features than images
    y = X[:, :2] @ np.array([[1.0], [-2.0]]) + 3.0 + 0.1 * rng.normal(size=(40, 1))
    coef, intercept, alpha = ridge_head(X, y)
    reference = RidgeCV(alphas=PROBE_ALPHAS).fit(X, y)
    assert alpha == reference.alpha_ and alpha in PROBE_ALPHAS
    np.testing.assert_allclose(coef, np.atleast_2d(reference.coef_))
    np.testing.assert_allclose(intercept, reference.intercept_)


def test_the_frozen_regressor_fits_what_ridge_on_its_features_fits(ink):
    X, y = ink
    regressor = PretrainedCNNRegressor(freeze_upto="all", **SMALL).fit(X, y)
    reference = _StandardisedRidge(X, y)
    assert regressor.head_alpha_ == reference.alpha_
    assert regressor.max_epochs_ == 0  # solved: no gradient step follows
    np.testing.assert_allclose(
        regressor.predict(X[:40]), reference.predict(X[:40]), rtol=1e-3, atol=1e-3
    )
    # Not learned by heart: below a perfect fit on its own images.
    assert regressor.score(X, y) < 0.999


def test_fractional_sample_weights_weigh_the_ridge(ink):
    X, y = ink
    weights = np.random.default_rng(1).uniform(0.2, 1.0, len(X))
    regressor = PretrainedCNNRegressor(freeze_upto="all", **SMALL)
    regressor.fit(X, y, sample_weight=weights)
    reference = _StandardisedRidge(X, y, sample_weight=weights)
    assert regressor.head_alpha_ == reference.alpha_
    np.testing.assert_allclose(
        regressor.predict(X[:40]), reference.predict(X[:40]), rtol=1e-3, atol=1e-3
    )


def test_a_given_max_epochs_trains_on_from_the_ridge(ink):
    X, y = ink
    solved = PretrainedCNNRegressor(freeze_upto="all", **SMALL).fit(X, y)
    trained = PretrainedCNNRegressor(freeze_upto="all", max_epochs=3, **SMALL)
    trained.fit(X, y)
    assert trained.head_alpha_ == solved.head_alpha_ and trained.max_epochs_ == 3
    assert len(trained.history_) == 3
    assert not np.allclose(trained.predict(X[:20]), solved.predict(X[:20]))


@pytest.mark.parametrize(
    "params",
    [
        {"freeze_upto": 0},  # the body trains
        {"freeze_upto": "all", "head_hidden_sizes": (8,)},
        {"freeze_upto": "all", "head_batchnorm": True},
        {"freeze_upto": "all", "loss": "huber"},
        {"freeze_upto": "all", "criterion": torch.nn.L1Loss},
        {"freeze_upto": "all", "cache_frozen": False},
        {"freeze_upto": "all", "augment": "flip"},
    ],
    ids=["fine-tune", "hidden", "batchnorm", "huber", "criterion", "no-cache", "aug"],
)
def test_other_heads_and_losses_train_by_gradient_steps(ink, params):
    X, y = ink
    regressor = PretrainedCNNRegressor(**SMALL, **params).fit(X[:60], y[:60])
    assert regressor.head_alpha_ is None
    assert regressor.max_epochs_ > 0


def test_features_over_the_budget_train_by_gradient_steps(ink, monkeypatch):
    X, y = ink
    monkeypatch.setattr(_ridge_head, "RIDGE_HEAD_MAX_VALUES", 100)
    regressor = PretrainedCNNRegressor(freeze_upto="all", **SMALL).fit(X[:60], y[:60])
    assert regressor.head_alpha_ is None and regressor.max_epochs_ > 0


def test_a_warm_start_trains_the_solved_head_on(ink):
    X, y = ink
    regressor = PretrainedCNNRegressor(
        freeze_upto="all", warm_start=True, max_epochs=2, **SMALL
    ).fit(X[:80], y[:80])
    before = regressor.predict(X[:20])
    alpha = regressor.head_alpha_
    regressor.fit(X[80:], y[80:])  # continues: gradient steps, no new solve
    assert regressor.head_alpha_ == alpha and regressor.max_epochs_ == 2
    assert not np.allclose(regressor.predict(X[:20]), before)


def test_solve_linear_head_leaves_what_it_cannot_solve():
    features = torch.randn(30, 6)
    targets = features[:, :1].numpy() * 2
    hidden = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Linear(4, 1))
    state = {k: v.clone() for k, v in hidden.state_dict().items()}
    assert solve_linear_head(hidden, features, targets) is None
    for key, value in hidden.state_dict().items():
        assert torch.equal(value, state[key])
    no_bias = torch.nn.Linear(6, 1, bias=False)
    assert solve_linear_head(no_bias, features, targets) is None
    dropout = torch.nn.Sequential(torch.nn.Dropout(0.3), torch.nn.Linear(6, 1))
    assert solve_linear_head(dropout, features, targets) is not None
    np.testing.assert_allclose(
        dropout.eval()(features).detach().numpy(), targets, atol=0.05
    )


def test_a_model_file_keeps_the_penalty(ink, tmp_path):
    X, y = ink
    regressor = PretrainedCNNRegressor(freeze_upto="all", **SMALL).fit(X, y)
    save_model(regressor, tmp_path / "ink.sktransfer")
    loaded = load_model(tmp_path / "ink.sktransfer")
    assert loaded.head_alpha_ == regressor.head_alpha_
    np.testing.assert_array_equal(loaded.predict(X[:10]), regressor.predict(X[:10]))


def test_the_classifier_head_is_not_solved():
    X, y = load_digits_images()
    classifier = PretrainedCNNClassifier(freeze_upto="all", max_epochs=None, **SMALL)
    classifier.fit(X[:60], y[:60])
    assert not hasattr(classifier, "head_alpha_") and classifier.max_epochs_ > 0
