"""PretrainedCNNRegressor: continuous targets, standardised inside and
predicted in the user's units, in scikit-learn's tools."""

import numpy as np
import pytest
from sklearn.base import is_regressor
from sklearn.compose import TransformedTargetRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, cross_val_score

from sktransfer import PretrainedCNNRegressor, load_model, save_model
from sktransfer.inspection import GradCAMDisplay, grad_cam

FAST = {"input_size": 16, "max_epochs": 15, "random_state": 0}


@pytest.fixture(scope="module")
def ink():
    """Digits and a continuous target read off them: the share of ink."""
    from sktransfer.datasets import load_digits_images

    X, _ = load_digits_images()
    share = (X > 64).mean(axis=(1, 2))
    return X[:300], share[:300], X[300:500], share[300:500]


def test_it_is_a_regressor_that_learns_a_continuous_target(ink):
    X, y, X_test, y_test = ink
    reg = PretrainedCNNRegressor("small_cnn", **FAST)
    assert is_regressor(reg) and not hasattr(reg, "predict_proba")
    reg.fit(X, y)
    assert reg.predict(X_test).shape == (200,)
    assert reg.predict(X_test).dtype == np.float64
    assert reg.score(X_test, y_test) > 0.5
    assert reg.n_outputs_ == 1 and reg.target_scale_.shape == (1,)
    # score is R² of predict, and weighs the images by sample_weight.
    weights = np.linspace(0.1, 2.0, len(y_test))
    predicted = reg.predict(X_test)
    assert reg.score(X_test, y_test) == pytest.approx(r2_score(y_test, predicted))
    assert reg.score(X_test, y_test, sample_weight=weights) == pytest.approx(
        r2_score(y_test, predicted, sample_weight=weights)
    )
    assert reg.score(X_test, y_test, sample_weight=weights) != pytest.approx(
        reg.score(X_test, y_test)
    )


def test_targets_are_predicted_in_the_user_s_units(ink):
    X, y, X_test, y_test = ink
    small = PretrainedCNNRegressor("small_cnn", **FAST).fit(X, y)
    large = PretrainedCNNRegressor("small_cnn", **FAST).fit(X, 1000 * y + 5000)
    # Standardised inside: the same network whatever the units.
    np.testing.assert_allclose(
        large.predict(X_test), 1000 * small.predict(X_test) + 5000, rtol=1e-4
    )


def test_two_targets_and_the_huber_loss(ink):
    X, y, X_test, y_test = ink
    Y = np.column_stack([y, X.mean(axis=(1, 2)) / 255])
    reg = PretrainedCNNRegressor("small_cnn", loss="huber", **FAST).fit(X, Y)
    assert reg.predict(X_test).shape == (200, 2) and reg.n_outputs_ == 2
    assert type(reg.criterion_).__name__ == "HuberLoss"
    assert reg.score(X_test, np.column_stack([y_test, X_test.mean(axis=(1, 2)) / 255]))
    with pytest.raises(ValueError, match="`y` has 1 outputs; the regressor was"):
        reg.partial_fit(X, y)


@pytest.mark.parametrize(
    "y, message",
    [
        (np.full(300, np.nan), "NaN or infinite"),
        (np.zeros((300, 2, 2)), "must have shape"),
        (np.array(["a"] * 300), "must be numbers"),
        (None, "requires y to be passed"),
    ],
)
def test_bad_targets_are_named(ink, y, message):
    X = ink[0]
    with pytest.raises(ValueError, match=message) as error:
        PretrainedCNNRegressor("small_cnn", **FAST).fit(X, y)
    assert "`y`" in str(error.value)


def test_in_cross_validation_searches_and_a_target_transform(ink):
    X, y, X_test, y_test = ink
    scores = cross_val_score(PretrainedCNNRegressor("small_cnn", **FAST), X, y, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.2)
    search = GridSearchCV(
        PretrainedCNNRegressor("small_cnn", **FAST),
        {"freeze_upto": [0, "all"]},
        cv=2,
    ).fit(X, y)
    assert search.best_params_["freeze_upto"] in (0, "all")
    logged = TransformedTargetRegressor(
        PretrainedCNNRegressor("small_cnn", **FAST),
        func=np.log1p,
        inverse_func=np.expm1,
    ).fit(X, y)
    assert logged.score(X_test, y_test) > 0.5


def test_the_recipe_s_options_on_a_regressor(ink):
    X, y, X_test, y_test = ink
    cached = PretrainedCNNRegressor("small_cnn", freeze_upto="all", **FAST).fit(X, y)
    assert cached.n_cached_units_ == len(cached.layer_names_)
    tta = PretrainedCNNRegressor("small_cnn", tta="flip", **FAST).fit(X, y)
    plain = tta.predict(X_test)
    flipped = tta.set_params(tta=None).predict(X_test[:, :, ::-1].copy())
    tta.set_params(tta="flip")
    np.testing.assert_allclose(
        tta.predict(X_test),
        (tta.set_params(tta=None).predict(X_test) + flipped) / 2,
        rtol=1e-5,
        atol=1e-6,
    )
    assert plain.shape == (200,)
    weights = np.where(y > np.median(y), 2.0, 1.0)
    weighted = PretrainedCNNRegressor("small_cnn", **FAST).fit(
        X, y, sample_weight=weights
    )
    repeated = PretrainedCNNRegressor("small_cnn", **FAST).fit(
        np.repeat(X, weights.astype(int), axis=0), np.repeat(y, weights.astype(int))
    )
    np.testing.assert_allclose(
        weighted.predict(X_test), repeated.predict(X_test), rtol=1e-5, atol=1e-6
    )


def test_warm_start_keeps_the_units_the_network_learned_in(ink):
    X, y, X_test, _ = ink
    reg = PretrainedCNNRegressor("small_cnn", warm_start=True, **FAST).fit(X, y)
    mean, scale = reg.target_mean_.copy(), reg.target_scale_.copy()
    reg.fit(X[:100], 3 * y[:100])
    np.testing.assert_array_equal(reg.target_mean_, mean)
    np.testing.assert_array_equal(reg.target_scale_, scale)


def test_grad_cam_explains_the_regressor_s_output(ink):
    X, y, _, _ = ink
    reg = PretrainedCNNRegressor("small_cnn", **FAST).fit(X, y)
    heatmaps, explained = grad_cam(reg, X[:4])
    assert heatmaps.shape == (4, 8, 8) and explained.tolist() == [0, 0, 0, 0]
    assert np.isfinite(heatmaps).all() and heatmaps.max() <= 1
    display = GradCAMDisplay.from_estimator(reg, X[:2])
    assert display.titles == ["target 0", "target 0"]


def test_a_regressor_round_trips_through_a_model_file(ink, tmp_path):
    X, y, X_test, _ = ink
    reg = PretrainedCNNRegressor("small_cnn", **FAST).fit(X, y)
    loaded = load_model(save_model(reg, tmp_path / "regressor.sktransfer"))
    np.testing.assert_array_equal(loaded.predict(X_test), reg.predict(X_test))
    np.testing.assert_array_equal(loaded.target_mean_, reg.target_mean_)
