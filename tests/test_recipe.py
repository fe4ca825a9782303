"""The fine-tuning recipe: BatchNorm statistics, schedule length, learning-rate
schedule, overrides by the user, and the learning-rate finder."""

import math

import numpy as np
import pytest
import torch
import torchvision
from skorch.callbacks import LRScheduler

from sktransfer import (
    LabelRelationTransfer,
    PretrainedCNNClassifier,
    PretrainedCNNRegressor,
    load_model,
    lr_find,
    save_model,
)
from sktransfer._networks._input_size import SMALL_IMAGE
from sktransfer._training import _recipe
from sktransfer._training._batchnorm import trainable_batchnorms
from sktransfer._training._callbacks import WarmupCosine
from sktransfer._training._progress import fit_line
from sktransfer._training._recipe import (
    AUTO_FINE_TUNE_FROM,
    FAR_SHIFT,
    HEAD_MAX_EPOCHS,
    MAX_EPOCHS,
    MIN_EPOCHS,
    auto_freezing,
    default_epochs,
)
from sktransfer._training._shift import _gaussian_kl, middle_shift
from sktransfer.datasets import load_digits_images
from sktransfer.inspection import LRFinderDisplay


def stripes(n=40, size=16, seed=0):
    """Two learnable classes: horizontal and vertical stripes, with noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    line = (np.arange(size) % 4 < 2).astype(np.float32)
    X = np.where(y[:, None, None] == 0, line[:, None], line[None, :])
    X = 0.6 * X + 0.4 * rng.random((n, size, size))
    return (X * 255).astype(np.uint8), y


def stale_resnet(offset=5.0):
    """A random ResNet-18 whose BatchNorm statistics describe other data, and
    move slowly (momentum 0.01, as EfficientNet's)."""
    torch.manual_seed(0)
    network = torchvision.models.resnet18(num_classes=2)
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean += offset
            module.momentum = 0.01
    return network


def resnet(**params):
    defaults = dict(input_size=16, max_epochs=4, random_state=0, lr=1e-3, batch_size=10)
    return PretrainedCNNClassifier(stale_resnet(), **{**defaults, **params})


def running_means(network, prefix):
    return {
        name: buffer.clone()
        for name, buffer in network.named_buffers()
        if name.startswith(prefix) and name.endswith("running_mean")
    }


# -- BatchNorm -----------------------------------------------------------------
def test_recalibration_makes_eval_mode_agree_with_training():
    X, y = stripes()
    recalibrated = resnet(batchnorm="recalibrate").fit(X, y)
    stale = resnet(batchnorm="train").fit(X, y)
    assert recalibrated.n_recalibrated_ == len(
        trainable_batchnorms(recalibrated.module_)
    )
    assert stale.n_recalibrated_ == 0
    assert recalibrated.score(X, y) >= 0.95
    assert stale.score(X, y) <= 0.75  # the statistics still describe other data


def test_recalibrated_statistics_are_those_of_the_training_data():
    X, y = stripes(n=24)
    clf = resnet(batchnorm="recalibrate", max_epochs=1).fit(X, y)
    network = clf.module_
    seen = []
    bn = network.units["stem"][1]  # conv1 -> bn1: its input depends on no BN
    assert isinstance(bn, torch.nn.BatchNorm2d)
    hook = bn.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0]))
    network.eval()
    with torch.no_grad():
        network(torch.as_tensor(X)[:, None])
    hook.remove()
    expected = seen[0].mean(dim=(0, 2, 3))
    torch.testing.assert_close(bn.running_mean, expected, rtol=1e-4, atol=1e-5)


def test_recalibrated_variance_is_that_of_the_training_data_in_batches():
    """The training set comes in an order set by content; recalibration draws
    its batches in a pseudo-random order, or their variances (within a batch
    of similar images) would understate the data's."""
    X, y = stripes(n=600, size=8)
    brightness = np.random.default_rng(1).integers(0, 100, (600, 1, 1))
    X = (X * 0.6 + brightness).astype(np.uint8)  # content order: by brightness
    clf = resnet(batchnorm="recalibrate", max_epochs=1, batch_size=64).fit(X, y)
    network, seen = clf.module_, []
    bn = network.units["stem"][1]
    hook = bn.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0]))
    network.eval()
    with torch.no_grad():
        network(torch.as_tensor(X)[:, None])
    hook.remove()
    expected = seen[0].transpose(0, 1).flatten(1).var(dim=1)
    torch.testing.assert_close(bn.running_var, expected, rtol=0.05, atol=1e-4)


def test_recalibration_leaves_frozen_units_alone():
    X, y = stripes()
    before = running_means(resnet(max_epochs=0).fit(X, y).module_, "units.")
    clf = resnet(freeze_upto=2).fit(X, y)
    frozen = running_means(clf.module_, "units.layer1.")
    trained = running_means(clf.module_, "units.layer3.")
    for name, value in frozen.items():
        torch.testing.assert_close(value, before[name])
    assert any(
        not torch.allclose(value, before[name]) for name, value in trained.items()
    )


def test_recalibration_is_skipped_when_no_batchnorm_trains():
    X, y = stripes()
    clf = resnet(freeze_upto="all").fit(X, y)
    assert clf.n_recalibrated_ == 0


def test_head_batchnorm_is_recalibrated_on_the_cached_features():
    X, y = stripes()
    clf = resnet(freeze_upto="all", head_batchnorm=True).fit(X, y)
    assert clf.n_cached_units_ == len(clf.layer_names_)
    assert clf.n_recalibrated_ == 1  # the head's BatchNorm1d only
    network = clf.module_
    head_bn = network.head[0]
    assert isinstance(head_bn, torch.nn.BatchNorm1d)
    network.eval()
    with torch.no_grad():
        features = network.forward_features(
            network.prepare(torch.as_tensor(X)[:, None])
        )
    torch.testing.assert_close(
        head_bn.running_mean, features.mean(dim=0), rtol=1e-4, atol=1e-5
    )


def test_head_batchnorm_parameter_builds_the_head():
    X, y = stripes(n=20, size=8)
    with_bn = PretrainedCNNClassifier(
        "mlp", input_size=8, max_epochs=1, head_batchnorm=True
    ).fit(X, y)
    without = PretrainedCNNClassifier("mlp", input_size=8, max_epochs=1).fit(X, y)
    assert isinstance(with_bn.module_.head[0], torch.nn.BatchNorm1d)
    assert not any(
        isinstance(m, torch.nn.BatchNorm1d) for m in without.module_.head.modules()
    )


def test_a_final_batch_of_one_image_is_left_out():
    # 33 images in batches of 32: BatchNorm cannot train on the 33rd alone.
    X, y = stripes(n=33, size=8)
    params = dict(input_size=8, max_epochs=2, batch_size=32, random_state=0)
    clf = PretrainedCNNClassifier("mlp", head_batchnorm=True, **params).fit(X, y)
    assert [len(epoch["batches"]) for epoch in clf.history] == [1, 1]
    # Without BatchNorm to train every image counts.
    kept = PretrainedCNNClassifier("mlp", **params).fit(X, y)
    assert [len(epoch["batches"]) for epoch in kept.history] == [2, 2]


def test_frozen_batchnorm_keeps_the_body_but_trains_the_head():
    X, y = stripes()
    params = dict(input_size=16, batchnorm="frozen", random_state=0)
    untrained = PretrainedCNNClassifier(
        stale_resnet(0.0), max_epochs=0, head_batchnorm=True, **params
    )
    before = running_means(untrained.fit(X, y).module_, "units.")
    clf = PretrainedCNNClassifier(
        stale_resnet(0.0), max_epochs=2, head_batchnorm=True, **params
    ).fit(X, y)
    for name, value in running_means(clf.module_, "units.").items():
        torch.testing.assert_close(value, before[name])
    head_bn = clf.module_.head[0]
    assert clf.n_recalibrated_ == 0
    assert head_bn.running_mean.abs().sum() > 0  # trained in training mode


def test_recalibration_is_exact_with_the_frozen_prefix_cache():
    X, y = stripes()
    cached = resnet(freeze_upto=3, cache_frozen=True).fit(X, y)
    uncached = resnet(freeze_upto=3, cache_frozen=False).fit(X, y)
    assert cached.n_cached_units_ == 3 and uncached.n_cached_units_ == 0
    for name, value in running_means(cached.module_, "units.").items():
        torch.testing.assert_close(
            value, running_means(uncached.module_, "units.")[name], rtol=1e-4, atol=1e-5
        )
    np.testing.assert_allclose(
        cached.predict_proba(X), uncached.predict_proba(X), rtol=1e-4, atol=1e-5
    )


def test_frozen_batchnorm_keeps_its_statistics_while_training():
    X, y = stripes()
    before = running_means(resnet(max_epochs=0).fit(X, y).module_, "units.")
    clf = resnet(batchnorm="frozen").fit(X, y)
    after = running_means(clf.module_, "units.")
    assert after.keys() == before.keys() and len(after) > 10
    for name, value in after.items():
        torch.testing.assert_close(value, before[name])
    assert clf.n_recalibrated_ == 0


def test_partial_fit_and_warm_start_recalibrate_too():
    X, y = stripes()
    clf = resnet(max_epochs=1).fit(X, y)
    with torch.no_grad():
        for layer in trainable_batchnorms(clf.module_):
            layer.running_mean += 3.0
    clf.partial_fit(X, y)
    assert clf.n_recalibrated_ > 0 and clf.score(X, y) >= 0.9
    with torch.no_grad():
        for layer in trainable_batchnorms(clf.module_):
            layer.running_mean += 3.0
    clf.set_params(warm_start=True).fit(X, y)
    assert clf.n_recalibrated_ > 0 and clf.score(X, y) >= 0.9


def test_batchnorm_is_validated():
    X, y = stripes()
    with pytest.raises(ValueError, match="batchnorm"):
        resnet(batchnorm="precise").fit(X, y)


# -- schedule length and learning rate -----------------------------------------
def test_default_epochs_follow_the_dataset_size():
    assert default_epochs(20, 32) == MAX_EPOCHS
    assert default_epochs(100_000, 32) == MIN_EPOCHS
    sizes = [50, 200, 400, 800, 1600]
    epochs = [default_epochs(n, 32) for n in sizes]
    assert epochs == sorted(epochs, reverse=True) and len(set(epochs)) > 2
    head = [default_epochs(n, 32, head_only=True) for n in sizes]
    assert all(h > e for h, e in zip(head, epochs, strict=True))
    assert default_epochs(20, 32, head_only=True) == HEAD_MAX_EPOCHS


def test_a_head_trained_on_cached_features_gets_the_longer_schedule():
    X, y = stripes(n=64, size=8)
    params = dict(input_size=8, random_state=0, freeze_upto="all")
    cached = PretrainedCNNClassifier("mlp", **params).fit(X, y)
    assert cached.max_epochs_ == default_epochs(64, 32, head_only=True)
    # Augmentation disables the cache: every epoch runs the whole body.
    augmented = PretrainedCNNClassifier("mlp", augment="flip", **params).fit(X, y)
    assert augmented.max_epochs_ == default_epochs(64, 32)


@pytest.mark.parametrize("n", [20, 160])
def test_fit_uses_the_default_length_for_its_data(n):
    X, y = stripes(n=n, size=8)
    clf = PretrainedCNNClassifier(
        "mlp", input_size=8, random_state=0, batch_size=32
    ).fit(X, y)
    assert clf.max_epochs is None
    assert clf._planned_epochs == default_epochs(n, 32)
    # The whole plan, or less once the training loss converged.
    assert clf.max_epochs_ == len(clf.history)
    if clf.converged_epoch_ is None:
        assert clf.max_epochs_ == default_epochs(n, 32)
    else:
        assert clf.converged_epoch_ < clf.max_epochs_ < default_epochs(n, 32)


def test_early_stopping_counts_only_the_training_part():
    X, y = stripes(n=100, size=8)
    clf = PretrainedCNNClassifier(
        "mlp", input_size=8, random_state=0, early_stopping=True, n_iter_no_change=50
    ).fit(X, y)
    assert clf._planned_epochs == default_epochs(90, 32)


def test_warmup_then_cosine_is_recorded_per_epoch():
    X, y = stripes(n=64, size=8)
    clf = PretrainedCNNClassifier(
        "mlp", input_size=8, random_state=0, max_epochs=10, lr=0.01
    ).fit(X, y)
    lrs = clf.history[:, "lr"]
    assert len(lrs) == 10
    assert lrs[0] < lrs[1]  # warming up
    assert max(lrs) <= 0.01 and lrs[-1] < 1e-4  # decayed to about zero
    assert all(a >= b for a, b in zip(lrs[2:], lrs[3:], strict=False))


def test_body_has_its_own_smaller_rate():
    X, y = stripes(n=64, size=8)
    clf = PretrainedCNNClassifier(
        "mlp", input_size=8, random_state=0, max_epochs=2, backbone_lr_scale=0.1
    ).fit(X, y)
    np.testing.assert_allclose(
        clf.history[:, "lr_body"], np.array(clf.history[:, "lr"]) * 0.1
    )


def test_warmup_cosine_factor():
    schedule = WarmupCosine(warmup=0.1).initialize()
    schedule.total_steps_ = 100
    factors = [schedule.factor(step) for step in range(100)]
    assert factors[0] < factors[5] < factors[9] <= 1.0
    assert factors[10] == pytest.approx(1.0)
    assert factors[-1] < 0.01
    assert all(0 < f <= 1 for f in factors[:-1])


def test_user_settings_override_the_recipe():
    X, y = stripes(n=64, size=8)
    explicit = PretrainedCNNClassifier(
        "mlp",
        input_size=8,
        random_state=0,
        max_epochs=3,
        lr=0.05,
        lr_schedule="constant",
    ).fit(X, y)
    assert len(explicit.history) == 3 and explicit.max_epochs_ == 3
    assert explicit.history[:, "lr"] == [0.05] * 3
    scheduler = LRScheduler(policy="StepLR", step_size=1, gamma=0.5)
    own = PretrainedCNNClassifier(
        "mlp",
        input_size=8,
        random_state=0,
        max_epochs=3,
        lr=0.04,
        callbacks=[("my_schedule", scheduler)],
    ).fit(X, y)
    names = dict(own.callbacks_)
    assert not isinstance(names["lr_schedule"], WarmupCosine)
    assert own.history[:, "lr"] == pytest.approx([0.04, 0.02, 0.01])


def test_label_relation_transfer_uses_the_recipe():
    X, y = stripes(n=60, size=8)
    source = PretrainedCNNClassifier(
        "mlp", input_size=8, random_state=0, max_epochs=2
    ).fit(X, y)
    lrt = LabelRelationTransfer(source, random_state=0).fit(X, y)
    assert lrt._planned_epochs == default_epochs(60, 32)
    assert lrt.max_epochs_ == len(lrt.history) <= default_epochs(60, 32)
    assert "lr" in lrt.history[-1]


# -- what the default freezes -------------------------------------------------
def test_auto_freezing_reads_the_shift_and_counts_the_images():
    assert auto_freezing((1, 8, 8), 10, shift=FAR_SHIFT + 0.01) == 0
    assert auto_freezing((1, 8, 8), 10, shift=FAR_SHIFT) == "all"
    assert auto_freezing((3, 224, 224), 10, shift=FAR_SHIFT + 0.01) == 0
    assert auto_freezing((3, 224, 224), AUTO_FINE_TUNE_FROM, shift=0.0) == 0
    assert auto_freezing((3, 224, 224), 10, pretrained=False, shift=0.0) == 0


def resized(images, side, grey=False):
    """uint8 images resized to ``side`` px (area when shrinking), in grey."""
    from PIL import Image

    out = []
    for image in images:
        picture = Image.fromarray(image)
        picture = picture.convert("L") if grey else picture
        smaller = side < picture.width
        resample = Image.Resampling.BOX if smaller else Image.Resampling.BILINEAR
        out.append(np.asarray(picture.resize((side, side), resample)))
    return np.stack(out)


@pytest.fixture(scope="module")
def photo_crops():
    """24 crops of 200 px of two of scikit-learn's sample photographs, one
    class per photograph."""
    from sklearn.datasets import load_sample_image

    rng = np.random.default_rng(0)
    X, y = [], []
    for label, name in enumerate(["china.jpg", "flower.jpg"]):
        photo = load_sample_image(name)
        for _ in range(12):
            top, left = rng.integers(0, 200, 2)
            X.append(photo[top : top + 200, left : left + 200])
            y.append(label)
    return np.stack(X), np.array(y)


def lite0_auto(X, y, estimator_class=PretrainedCNNClassifier):
    """The defaults, fitted for no epoch: what "auto" chose, and nothing
    trained."""
    return estimator_class(max_epochs=0, random_state=0).fit(X, y)


@pytest.mark.parametrize(
    "side, grey", [(128, False), (128, True), (64, False), (64, True)]
)
def test_auto_keeps_the_frozen_body_on_photographs_of_any_size_or_colour(
    photo_crops, side, grey
):
    X, y = photo_crops
    clf = lite0_auto(resized(X, side, grey), y)
    assert 0 < clf.auto_shift_ < FAR_SHIFT
    assert clf.n_frozen_ == len(clf.layer_names_)
    # At any size, the frozen body sees them at the side it was trained at.
    assert clf.input_size_ == 224


@pytest.mark.parametrize("side", [8, 64, 128])
def test_auto_fine_tunes_digits_of_any_size(side, tmp_path):
    X, y = load_digits_images()
    X, y = X[:40], y[:40]
    clf = lite0_auto(X if side == 8 else resized(X, side), y)
    assert clf.auto_shift_ > FAR_SHIFT and clf.n_frozen_ == 0
    assert clf.input_size_ == (224 if side == 128 else 64)  # fine-tuned small
    if side == 8:  # a model file keeps the measured shift
        save_model(clf, tmp_path / "digits.sktransfer")
        loaded = load_model(tmp_path / "digits.sktransfer")
        assert loaded.auto_shift_ == clf.auto_shift_
        assert loaded.n_frozen_ == 0


def test_the_shift_is_the_images_own_and_nil_at_the_running_statistics():
    layer = torch.nn.BatchNorm2d(3, eps=1e-3)
    x = torch.randn(16, 3, 5, 5) * 2 + 1
    layer.running_mean = x.transpose(0, 1).flatten(1).mean(dim=1)
    layer.running_var = x.transpose(0, 1).flatten(1).var(dim=1)
    assert _gaussian_kl(layer, (x,)) == pytest.approx(0, abs=1e-6)
    assert _gaussian_kl(layer, (x * 3,)) > 0.5
    # The same images in another order or batch give the same shift; a
    # body without BatchNorm layers gives none.
    X, y = load_digits_images()
    network = lite0_auto(X[:20], y[:20]).module_
    images = torch.as_tensor(X[:20])[:, None]
    shift = middle_shift(network, images)
    assert middle_shift(network, images.flip(0)) == pytest.approx(shift, rel=1e-4)
    mlp = PretrainedCNNClassifier("mlp", input_size=8, max_epochs=0).fit(X[:20], y[:20])
    assert middle_shift(mlp.module_, images) is None


def test_auto_freezing_fine_tunes_small_grey_images_and_large_sets_only():
    """Without a shift (a body without BatchNorm layers), the shape decides."""
    small = SMALL_IMAGE - 1
    assert auto_freezing((1, small, small), 10) == 0
    assert auto_freezing((1, SMALL_IMAGE, SMALL_IMAGE), 10) == "all"
    assert auto_freezing((3, small, small), 10) == "all"
    assert auto_freezing((1, small, 500), 10) == 0  # the smaller side counts
    assert auto_freezing((3, 224, 224), AUTO_FINE_TUNE_FROM - 1) == "all"
    assert auto_freezing((3, 224, 224), AUTO_FINE_TUNE_FROM) == 0
    assert auto_freezing((3, 224, 224), 10, pretrained=False) == 0


# small_cnn has no BatchNorm layer: the tests below hold the shape rule.
def small_cnn(**params):
    defaults = dict(input_size=16, max_epochs=1, random_state=0)
    return PretrainedCNNClassifier("small_cnn", **{**defaults, **params})


@pytest.fixture(scope="module")
def source():
    """A small network trained on stripes: pretrained weights for the
    tests of what ``"auto"`` freezes."""
    return small_cnn(freeze_upto=0).fit(*stripes(n=40, size=16))


def from_source(source, **params):
    defaults = dict(max_epochs=2, random_state=0)
    return PretrainedCNNClassifier(source, **{**defaults, **params})


@pytest.mark.parametrize(
    "side, colour, frozen",
    [(8, False, False), (SMALL_IMAGE, False, True), (8, True, True)],
    ids=["small grey", "photo-size grey", "small colour"],
)
def test_the_default_fine_tunes_small_grey_images_only(source, side, colour, frozen):
    X, y = stripes(n=40, size=side)
    if colour:
        X = np.stack([X, X[:, ::-1], X[:, :, ::-1]], axis=1)  # (n, 3, side, side)
    clf = from_source(source).fit(X, y)
    assert clf.freeze_upto == "auto"
    n_units = len(clf.layer_names_)
    assert clf.n_frozen_ == clf.n_cached_units_ == (n_units if frozen else 0)
    # The same fit as the setting "auto" stands for.
    explicit = from_source(source, freeze_upto="all" if frozen else 0).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), explicit.predict_proba(X))


def test_units_without_pretrained_weights_are_always_trained(source):
    X, y = stripes(n=40, size=SMALL_IMAGE)
    assert small_cnn().fit(X, y).n_frozen_ == 0  # random initialisation
    assert from_source(source, weights=None).fit(X, y).n_frozen_ == 0
    assert from_source(source, transfer_upto=1).fit(X, y).n_frozen_ == 0


def test_many_photo_size_images_are_fine_tuned(source, monkeypatch):
    monkeypatch.setattr(_recipe, "AUTO_FINE_TUNE_FROM", 30)
    X, y = stripes(n=40, size=SMALL_IMAGE)
    assert from_source(source).fit(X, y).n_frozen_ == 0
    clf = from_source(source).fit(X[:20], y[:20])
    assert clf.n_frozen_ == len(clf.layer_names_)


def test_a_warm_start_keeps_what_the_first_fit_chose(source):
    X, y = stripes(n=40, size=SMALL_IMAGE)
    clf = from_source(source, warm_start=True).fit(X, y)
    n_units = len(clf.layer_names_)
    assert clf.fit(X, y).n_frozen_ == n_units
    # An explicit value takes effect: fine-tuning from the trained head.
    assert clf.set_params(freeze_upto=0).fit(X, y).n_frozen_ == 0


def test_the_regressor_and_label_relation_transfer_share_the_rule(source):
    X, y = stripes(n=40, size=SMALL_IMAGE)
    regressor = PretrainedCNNRegressor(source, max_epochs=1, random_state=0)
    regressor.fit(X, y.astype(float))
    # The regressor reads its probes of several depths as well.
    top, depths, noise = regressor.auto_probe_
    discards = depths - top > max(_recipe.PROBE_MARGIN, 2 * noise)
    assert regressor.n_frozen_ == (0 if discards else len(regressor.layer_names_))
    lrt = LabelRelationTransfer(source, max_epochs=1, random_state=0).fit(X, y)
    assert lrt.n_frozen_ == len(lrt.layer_names_)
    small = LabelRelationTransfer(source, max_epochs=1, random_state=0)
    assert small.fit(*stripes(n=40, size=16)).n_frozen_ == 0


def test_a_model_file_keeps_what_auto_chose(source, tmp_path):
    X, y = stripes(n=40, size=SMALL_IMAGE)
    clf = from_source(source, max_epochs=1).fit(X, y)
    save_model(clf, tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops")
    assert loaded.freeze_upto == "auto"
    assert loaded.n_frozen_ == clf.n_frozen_ == len(clf.layer_names_)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


# -- learning-rate finder ------------------------------------------------------
def test_lr_find_returns_a_curve_and_a_suggestion():
    X, y = stripes(n=64, size=8)
    estimator = PretrainedCNNClassifier("mlp", input_size=8, random_state=0)
    result = lr_find(estimator, X, y, start_lr=1e-5, end_lr=10.0, num_steps=40)
    assert not hasattr(estimator, "module_")  # the estimator passed is untouched
    assert len(result.lrs) == len(result.losses) <= 40
    assert np.all(np.diff(result.lrs) > 0) and math.isclose(result.lrs[0], 1e-5)
    assert 1e-5 <= result.suggestion <= 1.0
    assert result.suggestion == pytest.approx(result.lrs[np.argmin(result.losses)] / 10)
    display = LRFinderDisplay.from_result(result)
    assert display.ax_.get_xscale() == "log" and len(display.line_.get_xdata())


def test_lr_find_stops_when_the_loss_diverges():
    X, y = stripes(n=64, size=8)
    estimator = PretrainedCNNClassifier("small_cnn", input_size=16, random_state=0)
    result = lr_find(estimator, X, y, start_lr=1e-4, end_lr=1e4, num_steps=60)
    assert len(result.lrs) < 60


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"start_lr": 0}, "start_lr"),
        ({"start_lr": 1e-3, "end_lr": 1e-4}, "end_lr"),
        ({"num_steps": 2}, "num_steps"),
    ],
)
def test_lr_find_names_a_bad_argument(kwargs, name):
    X, y = stripes(n=20, size=8)
    with pytest.raises(ValueError, match=f"`{name}`"):
        lr_find(PretrainedCNNClassifier("mlp"), X, y, **kwargs)


def test_default_input_size_rule():
    from sktransfer._networks._input_size import (
        SMALL_INPUT_SIZE,
        default_input_size,
    )

    assert default_input_size(8, 224) == SMALL_INPUT_SIZE == 64
    assert default_input_size(SMALL_IMAGE - 1, 224) == 64
    assert default_input_size(SMALL_IMAGE, 224) == 224
    assert default_input_size(None, 224) == 224
    assert default_input_size(28, 299, min_size=75) == 75
    assert default_input_size(8, 50) == 50  # a small built-in keeps its own


@pytest.mark.parametrize(
    "backbone, shape, params, expected",
    [
        ("resnet18", (8, 8), {}, 64),
        ("resnet18", (3, 100, 100), {}, 224),
        ("efficientnet_lite0", (3, 100, 100), {"weights": "DEFAULT"}, 224),
        ("efficientnet_lite0", (3, 60, 60), {"weights": "DEFAULT"}, 64),
        ("resnet18", (8, 8), {"input_size": 32}, 32),
        ("resnet18", (3, 100, 100), {"input_size": 96}, 96),
        ("inception_v3", (28, 28), {}, 75),
        ("small_cnn", (8, 8), {}, 50),
        ("small_cnn", (3, 100, 100), {}, 50),
    ],
)
def test_small_images_default_to_64_px(backbone, shape, params, expected):
    from sktransfer import CNNFeatureExtractor

    params = {"weights": None, **params}
    X = np.random.default_rng(0).random((4, *shape)).astype(np.float32)
    y = np.array([0, 1, 0, 1])
    clf = PretrainedCNNClassifier(backbone, max_epochs=0, random_state=0, **params).fit(
        X, y
    )
    assert clf.module_.input_size == clf.input_size_ == expected
    extractor = CNNFeatureExtractor(backbone, **params).fit(X)
    # A pretrained extractor is a frozen body: its weights' own side.
    frozen = 224 if params.get("weights") and "input_size" not in params else None
    assert extractor.network_.input_size == (frozen or expected)


@pytest.mark.parametrize("shape", [(8, 8), (3, 60, 60)])
def test_a_frozen_pretrained_body_takes_small_images_at_its_own_side(shape):
    """A body that cannot adapt sees the images at the side its weights were
    trained at; a fit that trains units, pinned sizes and bodies without
    weights keep the small-image rule."""
    from sktransfer import CNNFeatureExtractor

    X = np.random.default_rng(0).integers(0, 256, (12, *shape), dtype=np.uint8)
    y = np.arange(12) % 2

    def side(estimator):
        network = getattr(estimator, "module_", None) or estimator.network_
        assert estimator.input_size_ == network.input_size
        return estimator.input_size_

    def fitted(freeze_upto, **params):
        params = {"max_epochs": 1, "random_state": 0, **params}
        return PretrainedCNNClassifier(freeze_upto=freeze_upto, **params).fit(X, y)

    assert side(fitted("all")) == 224
    assert side(fitted(0)) == side(fitted("stage6")) == 64
    assert side(fitted("all", input_size=32)) == 32
    assert side(fitted("all", weights=None)) == 64
    regressor = PretrainedCNNRegressor(freeze_upto="all", random_state=0)
    assert side(regressor.fit(X, y.astype(float))) == 224
    assert side(CNNFeatureExtractor().fit(X)) == 224
    assert side(CNNFeatureExtractor(weights=None).fit(X)) == 64
    # Label-relation transfer measured its relation at the source's side.
    relation = LabelRelationTransfer(
        "efficientnet_lite0", freeze_upto="all", max_epochs=1, random_state=0
    )
    assert side(relation.fit(X, y)) == 64
    line = fit_line(fitted("all"), 12, 1.0)
    assert "224 px input (the weights' own, for a frozen body" in line


def test_the_side_a_fit_took_is_kept_by_warm_starts_and_model_files(tmp_path):
    """A warm start that freezes the body keeps the side its network was
    built at, and a model file restores that side, not the one its
    parameters would choose now."""
    X = np.random.default_rng(0).integers(0, 256, (12, 8, 8), dtype=np.uint8)
    y = np.arange(12) % 2
    clf = PretrainedCNNClassifier(
        freeze_upto=0, max_epochs=1, warm_start=True, random_state=0
    ).fit(X, y)
    clf.set_params(freeze_upto="all").fit(X, y)
    assert clf.n_frozen_ == len(clf.layer_names_)
    assert clf.input_size_ == clf.module_.input_size == 64
    loaded = load_model(save_model(clf, tmp_path / "model.sktransfer"))
    assert loaded.input_size_ == loaded.module_.input_size == 64
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    frozen = PretrainedCNNClassifier(freeze_upto="all", random_state=0).fit(X, y)
    loaded = load_model(save_model(frozen, tmp_path / "frozen.sktransfer"))
    assert loaded.input_size_ == loaded.module_.input_size == 224
    np.testing.assert_allclose(
        loaded.predict_proba(X), frozen.predict_proba(X), atol=1e-6
    )


def test_a_side_given_as_a_numpy_integer_is_kept_by_a_model_file(tmp_path):
    """GridSearchCV hands ``input_size`` on as a NumPy integer: the side
    kept is a plain int, which save_model writes and load_model reads."""
    from sktransfer import CNNFeatureExtractor

    X = np.random.default_rng(0).integers(0, 256, (12, 8, 8), dtype=np.uint8)
    y = np.arange(12) % 2
    clf = PretrainedCNNClassifier("small_cnn", input_size=np.int64(16), max_epochs=1)
    extractor = CNNFeatureExtractor(input_size=np.int64(32))
    for fitted in (clf.fit(X, y), extractor.fit(X)):
        assert type(fitted.input_size_) is int
        loaded = load_model(save_model(fitted, tmp_path / "model.sktransfer"))
        assert loaded.input_size_ == fitted.input_size_


def test_a_network_built_again_without_a_kept_side_takes_the_sources():
    """A model file written before ``input_size_`` was kept restores at the
    side fits then took (the source's), not the frozen body's own."""
    from types import SimpleNamespace

    from sktransfer._estimators._freezing import input_side

    source = SimpleNamespace(input_size=64, own_input_size=224)
    old = SimpleNamespace(input_size=None)
    assert input_side(old, source, frozen_body=True, fitting=False) == 64
    assert input_side(old, source, frozen_body=True, fitting=True) == 224
    assert input_side(old, source, frozen_body=False, fitting=True) == 64
    kept = SimpleNamespace(input_size=None, input_size_=224)
    assert input_side(kept, source, frozen_body=False, fitting=False) == 224


@pytest.mark.parametrize(
    "backbone, shape, params, why",
    [
        (
            "resnet18",
            (8, 8),
            {"weights": None},
            "images of 8 px, under 96 px, go in small), the whole network "
            "fine-tuned (freeze_upto='auto': no pretrained weights to keep), ",
        ),
        (
            "efficientnet_lite0",
            (3, 100, 100),
            {},
            "224 px input (the backbone's own, for images of 100 px), the whole "
            "network fine-tuned (freeze_upto='auto': far from the source: a shift "
            "of ",
        ),
        ("resnet18", (8, 8), {"weights": None, "input_size": 32}, "32 px input, "),
        (
            "resnet18",
            (8, 8),
            {"weights": None, "freeze_upto": 0},
            "go in small), 1 epochs",
        ),
    ],
)
def test_verbose_says_the_input_size_and_why(backbone, shape, params, why, capsys):
    X = np.random.default_rng(0).random((4, *shape)).astype(np.float32)
    PretrainedCNNClassifier(backbone, max_epochs=1, verbose=1, **params).fit(
        X, [0, 1, 0, 1]
    )
    assert why in capsys.readouterr().out


def test_what_auto_reads_leaves_the_fit_as_the_route_it_chose(photo_crops):
    """Measuring the shift draws no random number the fit uses: the
    defaults are the same fit as the route they chose, prediction for
    prediction (so a table of the routes says what the defaults score)."""
    X, y = load_digits_images()
    X, y = X[:20], y[:20] % 2
    photos, labels = photo_crops
    photos = resized(photos, 64)
    for images, targets, route in ((X, y, 0), (photos, labels, "all")):
        params = dict(max_epochs=1, random_state=0)
        auto = PretrainedCNNClassifier(**params).fit(images, targets)
        explicit = PretrainedCNNClassifier(freeze_upto=route, **params)
        explicit.fit(images, targets)
        np.testing.assert_array_equal(
            auto.predict_proba(images), explicit.predict_proba(images)
        )
