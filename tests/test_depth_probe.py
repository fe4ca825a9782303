"""The regressor's freeze_upto="auto": ridge probes of the pretrained body at
its top and at several depths (sktransfer._training._depth_probe)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import rotate

from sktransfer import (
    CNNFeatureExtractor,
    PretrainedCNNClassifier,
    PretrainedCNNRegressor,
    load_model,
    save_model,
)
from sktransfer._training import _recipe
from sktransfer._training._depth_probe import (
    MIN_PROBE_IMAGES,
    DepthProbe,
    depth_probe,
    probe_r2,
)
from sktransfer._training._recipe import PROBE_MARGIN, auto_freezing_and_why
from sktransfer.datasets import load_digits_images


def test_probe_r2_is_leave_one_out_and_knows_noise_from_signal():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6))
    signal = X @ rng.normal(size=(6, 2)) + 0.05 * rng.normal(size=(80, 2))
    r2, errors = probe_r2(X, signal)
    assert r2 > 0.98 and errors.shape == (80,)
    assert r2 == pytest.approx(1 - errors.mean())
    noise, _ = probe_r2(X, rng.normal(size=(80, 1)))
    assert noise < 0.05  # out of sample, noise is not explained


def test_the_rule_fine_tunes_only_for_a_gain_over_the_margin_and_the_noise():
    near = {"image_shape": (3, 64, 64), "n_images": 300, "shift": 0.1}
    gain = PROBE_MARGIN + 0.1
    assert (
        auto_freezing_and_why(**near, probe=DepthProbe(0.3, 0.3 + gain, 0.01))[0] == 0
    )
    # A gain within twice its standard error, or under the margin: the top
    # keeps what the target needs as far as anyone can tell.
    assert (
        auto_freezing_and_why(**near, probe=DepthProbe(0.3, 0.3 + gain, 0.1))[0]
        == "all"
    )
    small = PROBE_MARGIN / 2
    assert (
        auto_freezing_and_why(**near, probe=DepthProbe(0.3, 0.3 + small, 0.0))[0]
        == "all"
    )
    choice, why = auto_freezing_and_why(**near, probe=DepthProbe(0.25, 0.63, 0.04))
    assert choice == 0 and "the top units discard what the target needs" in why
    assert "0.63 of its variance from several depths, 0.25 from the top" in why
    # A top that holds nothing of the target (a ridge on it explains no more
    # than the margin): the frozen body has nothing to offer, however noisy
    # the comparison (fashion-angle-40, seed 2: -0.04, 0.06, 0.08).
    choice, why = auto_freezing_and_why(**near, probe=DepthProbe(-0.04, 0.06, 0.08))
    assert choice == 0 and "the top units hold nothing of the target" in why
    assert "explains -0.04 of its variance from the top" in why
    assert (
        auto_freezing_and_why(**near, probe=DepthProbe(PROBE_MARGIN, 0.06, 0.0))[0] == 0
    )
    assert (
        auto_freezing_and_why(**near, probe=DepthProbe(PROBE_MARGIN + 0.01, 0.06, 0.0))[
            0
        ]
        == "all"
    )
    # Far images and large sets are fine-tuned whatever the probe says; a
    # body without BatchNorm layers still reads the shape first.
    assert (
        auto_freezing_and_why(
            **{**near, "shift": 0.5}, probe=DepthProbe(0.9, 0.9, 0.0)
        )[0]
        == 0
    )
    assert (
        auto_freezing_and_why(
            **{**near, "shift": None}, probe=DepthProbe(0.2, 0.6, 0.01)
        )[0]
        == 0
    )


def _photo_crops(n, side, rng):
    """``n`` crops of 160 px of two of scikit-learn's sample photographs,
    resized to ``side`` px."""
    from sklearn.datasets import load_sample_image

    photos = [load_sample_image(name) for name in ("china.jpg", "flower.jpg")]
    out = []
    for i in range(n):
        photo = photos[i % 2]
        top, left = rng.integers(0, 240, 2)
        crop = Image.fromarray(photo[top : top + 160, left : left + 160])
        out.append(np.asarray(crop.resize((side, side), Image.Resampling.BOX)))
    return np.stack(out)


@pytest.fixture(scope="module")
def turned_photos():
    """60 photo crops of 96 px, each turned by its own angle in [-45, 45]
    degrees, and the angles: a measurement ImageNet's top features ignore."""
    rng = np.random.default_rng(0)
    crops = _photo_crops(60, 96, rng)
    angles = rng.uniform(-45, 45, len(crops))
    turned = np.stack(
        [
            np.clip(rotate(c.astype(float), a, reshape=False, order=1), 0, 255)
            for c, a in zip(crops, angles, strict=True)
        ]
    ).astype(np.uint8)
    return turned, angles


def _auto(X, y, estimator_class=PretrainedCNNRegressor, **params):
    """The defaults fitted for no epoch: what "auto" chose."""
    return estimator_class(max_epochs=0, random_state=0, **params).fit(X, y)


@pytest.mark.parametrize("side", [64, 96])
def test_the_regressor_fine_tunes_photographs_for_an_angle_at_any_size(
    turned_photos, side
):
    X, angles = turned_photos
    if side != X.shape[1]:
        X = np.stack([np.asarray(Image.fromarray(x).resize((side, side))) for x in X])
    regressor = _auto(X, angles, input_size=64)
    top, depths, noise = regressor.auto_probe_
    assert depths - top > max(PROBE_MARGIN, 2 * noise)
    assert regressor.n_frozen_ == 0
    # The images are near the source: the classifier keeps the frozen body
    # for labels, and measures no probe.
    labels = (angles > 0).astype(int)
    classifier = _auto(X, labels, PretrainedCNNClassifier, input_size=64)
    assert classifier.auto_shift_ == pytest.approx(regressor.auto_shift_)
    assert classifier.auto_probe_ is None
    assert classifier.n_frozen_ == len(classifier.layer_names_)


def test_the_regressor_keeps_the_frozen_body_for_what_its_top_knows(turned_photos):
    X, _ = turned_photos
    top = CNNFeatureExtractor(input_size=64).fit_transform(X)
    # A target the top's features hold: their first principal direction.
    centred = top - top.mean(axis=0)
    target = centred @ np.linalg.svd(centred, full_matrices=False)[2][0]
    regressor = _auto(X, target, input_size=64)
    top_r2, depths_r2, _ = regressor.auto_probe_
    assert top_r2 > 0.9 and depths_r2 - top_r2 < PROBE_MARGIN
    assert regressor.n_frozen_ == len(regressor.layer_names_)


def test_a_model_file_keeps_the_probe_and_verbose_says_it(
    turned_photos, tmp_path, capsys
):
    X, angles = turned_photos
    regressor = _auto(X, angles, input_size=64, verbose=1)
    assert "the top units discard what the target needs" in capsys.readouterr().out
    save_model(regressor, tmp_path / "angle.sktransfer")
    loaded = load_model(tmp_path / "angle.sktransfer")
    np.testing.assert_array_equal(loaded.auto_probe_, regressor.auto_probe_)
    assert loaded.n_frozen_ == regressor.n_frozen_ == 0


def test_the_probe_reads_image_files_as_it_reads_arrays(turned_photos, tmp_path):
    X, angles = turned_photos
    X, angles = X[:20], angles[:20]
    paths = []
    for i, image in enumerate(X):
        paths.append(tmp_path / f"{i:02d}.png")
        Image.fromarray(image).save(paths[-1])
    from_files = _auto(np.array(paths, dtype=object), angles, input_size=64)
    from_arrays = _auto(X, angles, input_size=64)
    np.testing.assert_allclose(
        from_files.auto_probe_, from_arrays.auto_probe_, rtol=1e-4, atol=1e-6
    )


def test_no_probe_for_large_sets_few_images_or_explicit_freezing(
    turned_photos, monkeypatch
):
    X, angles = turned_photos
    assert _auto(X, angles, input_size=64, freeze_upto=0).auto_probe_ is None
    network = _auto(X, angles, input_size=64).module_
    assert depth_probe(network, X[: MIN_PROBE_IMAGES - 1], angles[:9]) is None
    monkeypatch.setattr(_recipe, "AUTO_FINE_TUNE_FROM", 30)
    monkeypatch.setattr("sktransfer._estimators._freezing.AUTO_FINE_TUNE_FROM", 30)
    large = _auto(X, angles, input_size=64)
    assert large.auto_probe_ is None and large.n_frozen_ == 0


def test_the_regressor_reads_the_shift_of_digits_too():
    digits, _ = load_digits_images()
    ink = digits[:40].mean(axis=(1, 2))
    regressor = _auto(digits[:40], ink)
    assert regressor.auto_shift_ > _recipe.FAR_SHIFT and regressor.n_frozen_ == 0


def test_what_the_regressor_probes_leaves_the_fit_as_the_route_it_chose(
    turned_photos,
):
    """The probes draw no random number the fit uses: the defaults are the
    same fit as the route they chose, prediction for prediction (so
    small_regression.py's row of that route says what the defaults score)."""
    X, angles = turned_photos
    params = dict(input_size=64, max_epochs=1, random_state=0)
    auto = PretrainedCNNRegressor(**params).fit(X, angles)
    assert auto.n_frozen_ == 0
    explicit = PretrainedCNNRegressor(freeze_upto=0, **params).fit(X, angles)
    np.testing.assert_array_equal(auto.predict(X), explicit.predict(X))
