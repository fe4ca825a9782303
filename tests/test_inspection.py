"""Every Display renders on the Agg backend and returns its artists."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from sklearn.metrics import ConfusionMatrixDisplay

from sktransfer import CNNFeatureExtractor, PretrainedCNNClassifier
from sktransfer.inspection import (
    FeatureMapDisplay,
    FilterDisplay,
    GradCAMDisplay,
    StudyDisplay,
    TransferabilityDisplay,
    grad_cam,
)


@pytest.fixture(scope="module")
def fitted():
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    clf = PretrainedCNNClassifier(
        "small_cnn", input_size=16, max_epochs=3, random_state=0
    ).fit(X[:200], y[:200])
    return clf, X[200:206], y[200:206]


def teardown_function():
    plt.close("all")


def test_filter_display(fitted):
    clf, _, _ = fitted
    display = FilterDisplay.from_estimator(clf, max_filters=10)
    assert len(display.images_) == 10
    assert display.ax_.get_title().startswith("10 filters of unit conv1")
    kernel = clf.module_.units["conv1"][0].weight[0].detach().numpy().mean(0)
    shown = display.images_[0].get_array()
    expected = (kernel - kernel.min()) / (kernel.max() - kernel.min())
    np.testing.assert_allclose(shown, expected, rtol=1e-5)


def test_filter_display_rgb_kernels_and_errors():
    display = FilterDisplay(np.random.default_rng(0).random((3, 3, 5, 5))).plot()
    assert display.images_[0].get_array().shape == (5, 5, 3)
    with pytest.raises(ValueError, match="`weights` must have shape"):
        FilterDisplay(np.zeros((3, 3))).plot()
    mlp = PretrainedCNNClassifier("mlp", input_size=4, max_epochs=1).fit(
        np.random.default_rng(0).random((20, 16)), np.arange(20) % 2
    )
    with pytest.raises(ValueError, match="no nn.Conv2d"):
        FilterDisplay.from_estimator(mlp)


def test_feature_map_display(fitted):
    clf, X, _ = fitted
    display = FeatureMapDisplay.from_estimator(clf, X[0], layer="conv2", max_maps=6)
    assert len(display.images_) == 7  # the input, then 6 maps
    assert display.maps.shape[0] == 6 and "conv2" in display.ax_.get_title()
    by_index = FeatureMapDisplay.from_estimator(clf, X[0], layer=1, max_maps=6)
    np.testing.assert_allclose(by_index.maps, display.maps)
    with pytest.raises(ValueError, match="outputs vectors"):
        FeatureMapDisplay.from_estimator(clf, X[0], layer="fc1")
    with pytest.raises(ValueError, match="`layer`='conv9' is not a unit"):
        FeatureMapDisplay.from_estimator(clf, X[0], layer="conv9")
    with pytest.raises(ValueError, match="`layer`=7 is out of range"):
        FeatureMapDisplay.from_estimator(clf, X[0], layer=7)
    with pytest.raises(TypeError, match="`layer` must be a unit name"):
        FeatureMapDisplay.from_estimator(clf, X[0], layer=1.5)


def test_feature_maps_of_an_extractor(fitted):
    _, X, _ = fitted
    extractor = CNNFeatureExtractor("small_cnn", input_size=16, random_state=0).fit(X)
    display = FeatureMapDisplay.from_estimator(extractor, X[0], layer=0, max_maps=4)
    assert len(display.images_) == 5
    with pytest.raises(ValueError, match="`estimator` must be a fitted"):
        FeatureMapDisplay.from_estimator(object(), X[0])


def test_grad_cam_heatmaps(fitted):
    clf, X, y = fitted
    heatmaps, explained = grad_cam(clf, X)
    assert heatmaps.shape == (6, 8, 8) and heatmaps.dtype == np.float32
    assert heatmaps.min() >= 0 and heatmaps.max() <= 1
    np.testing.assert_array_equal(explained, clf.predict(X))
    targeted, explained = grad_cam(clf, X, target=3)
    assert (explained == 3).all()
    assert not np.allclose(targeted, heatmaps)
    early, _ = grad_cam(clf, X, layer="conv1")
    assert early.shape == heatmaps.shape
    with pytest.raises(ValueError, match="`target` has labels not in the classes"):
        grad_cam(clf, X, target=42)
    with pytest.raises(ValueError, match="outputs vectors"):
        grad_cam(clf, X, layer="fc1")
    with pytest.raises(ValueError, match="`estimator` must be a fitted"):
        grad_cam(CNNFeatureExtractor("small_cnn").fit(X), X)


def test_grad_cam_follows_the_evidence():
    """Maps that fire only on the left half give a left-half heatmap."""
    from torch import nn

    body = nn.Sequential(
        nn.Conv2d(1, 1, 1),
        nn.ReLU(),
        nn.Conv2d(1, 1, 1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(1, 2),
    )
    X = np.zeros((4, 1, 8, 8), np.float32)
    X[:, :, :, :4] = 1.0
    clf = PretrainedCNNClassifier(body, weights=None, max_epochs=1).fit(X, [0, 1] * 2)
    head = next(m for m in clf.module_.head.modules() if isinstance(m, nn.Linear))
    with torch.no_grad():
        for conv in clf.module_.modules():
            if isinstance(conv, nn.Conv2d):
                conv.weight.fill_(1.0), conv.bias.zero_()
        head.weight.copy_(torch.tensor([[1.0], [-1.0]])), head.bias.zero_()
    heatmaps, explained = grad_cam(clf, X, target=0)  # the last 8x8 unit
    np.testing.assert_array_equal(grad_cam(clf, X, target=0, layer=0)[0], heatmaps)
    assert (explained == 0).all()
    np.testing.assert_allclose(heatmaps[:, :, :3], 1.0)
    np.testing.assert_allclose(heatmaps[:, :, 5:], 0.0, atol=1e-6)


def test_grad_cam_display(fitted):
    clf, X, y = fitted
    display = GradCAMDisplay.from_estimator(clf, X[:5], y=y[:5])
    assert len(display.overlays_) == 5 and len(display.axes_) == 5
    assert display.axes_[0].get_title().endswith(f"(true {y[0]})")
    _, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="`ax` has 2 Axes for 5 images"):
        GradCAMDisplay.from_estimator(clf, X[:5], ax=axes)


def test_transferability_and_study_displays():
    rows = [
        {"experiment": e, "n": n, "mean": 0.8 + 0.01 * n, "sd": 0.02}
        for e in ("nAToB_fr", "nBToB_ft")
        for n in (1, 2, 3)
    ]
    display = TransferabilityDisplay(rows).plot()
    assert set(display.lines_) == {"nAToB_fr", "nBToB_ft"}
    np.testing.assert_allclose(
        display.lines_["nAToB_fr"].get_ydata(), [0.81, 0.82, 0.83]
    )
    assert display.ax_.get_legend() is not None
    assert TransferabilityDisplay.from_study({"summary": rows}).lines_
    base = [{"experiment": "baseB", "n": 0, "mean": 0.7, "sd": 0.0}]
    reference = TransferabilityDisplay(rows + base).plot().lines_["baseB"]
    np.testing.assert_allclose(reference.get_ydata(), [0.7, 0.7])
    with pytest.raises(ValueError, match="empty"):
        TransferabilityDisplay([]).plot()
    study = StudyDisplay(
        [
            {"method": "linear SVM on raw pixels", "mean": 0.9, "sd": 0.0},
            {"method": "fine-tune", "mean": 0.95, "sd": 0.01},
        ]
    ).plot()
    assert len(study.bars_) == 2 and study.baseline_line_ is not None
    labels = [t.get_text() for t in study.ax_.get_yticklabels()]
    assert labels == ["linear SVM on raw pixels", "fine-tune"]  # best at the top
    with pytest.raises(ValueError, match="empty"):
        StudyDisplay([]).plot()


def test_confusion_matrix_through_scikit_learn(fitted):
    clf, X, y = fitted
    display = ConfusionMatrixDisplay.from_estimator(clf, X, y)
    assert display.confusion_matrix.sum() == len(y)


def test_grad_cam_on_the_last_unit_before_pooling():
    """ResNet's last unit (layer4, 2x2 at 64 px) still has maps; pooling follows."""
    from torchvision.models import resnet18

    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (6, 3, 64, 64), dtype=np.uint8)
    clf = PretrainedCNNClassifier(
        resnet18(num_classes=2), weights=None, max_epochs=1, random_state=0
    ).fit(X, np.arange(6) % 2)
    heatmaps, explained = grad_cam(clf, X, layer="layer4")
    assert clf.layer_names_[-1] == "layer4" and heatmaps.shape == (6, 64, 64)
    np.testing.assert_array_equal(explained, clf.predict(X))
    # By default, the last unit with maps of at least 4x4: layer3 at 64 px.
    np.testing.assert_array_equal(grad_cam(clf, X)[0], grad_cam(clf, X, layer=3)[0])


@pytest.mark.parametrize(
    "inspect",
    [
        lambda clf, X: grad_cam(clf, X),
        lambda clf, X: GradCAMDisplay.from_estimator(clf, X[:2]),
        lambda clf, X: FeatureMapDisplay.from_estimator(clf, X[0], layer="conv1"),
        lambda clf, X: FilterDisplay.from_estimator(clf),
    ],
    ids=["grad_cam", "GradCAMDisplay", "FeatureMapDisplay", "FilterDisplay"],
)
def test_inspection_leaves_the_estimator_as_it_found_it(fitted, inspect, monkeypatch):
    # A model fitted on a GPU must stay there: record every device move (on
    # the CPU a move to "cpu" is a no-op, so a recorder stands in for the
    # GPU) and check the training mode and the predictions after.
    clf, X, _ = fitted
    network = clf.module_
    before = clf.predict_proba(X)
    moves = []
    for name in ("to", "cpu", "cuda"):
        monkeypatch.setattr(
            network, name, lambda *a, _n=name, **k: moves.append((_n, a, k))
        )
    network.train()
    try:
        inspect(clf, X)
        assert moves == []
        assert network.training
    finally:
        network.eval()
        monkeypatch.undo()
    np.testing.assert_array_equal(clf.predict_proba(X), before)


def test_grad_cam_targets_follow_a_user_class_order():
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    keep = y < 3
    X, y = X[keep][:90], y[keep][:90]
    clf = PretrainedCNNClassifier(
        "small_cnn", input_size=16, max_epochs=2, classes=[2, 0, 1], random_state=0
    ).fit(X, y)
    # Column 0 of the network is class 2: a targeted map of class 2 must be
    # the map of the column that scores class 2.
    targeted, explained = grad_cam(clf, X[:4], target=2)
    assert (explained == 2).all()
    predicted = clf.predict(X[:4])
    chosen, _ = grad_cam(clf, X[:4])
    same = predicted == 2
    np.testing.assert_allclose(targeted[same], chosen[same], atol=1e-6)
    assert not np.allclose(targeted[~same], chosen[~same])


def test_grad_cam_default_layer_is_informative_at_the_input_size():
    """Lite0's last unit is 2x2 at 64 px: a flat tint. The default takes the
    last unit with maps of at least 4x4 (stage5)."""
    from sktransfer import PretrainedCNNClassifier
    from sktransfer.datasets import load_digits_images
    from sktransfer.inspection import grad_cam

    X, y = load_digits_images()
    clf = PretrainedCNNClassifier(
        "efficientnet_lite0", input_size=64, max_epochs=0, random_state=0
    ).fit(X[:40], y[:40])
    default, _ = grad_cam(clf, X[:6])
    np.testing.assert_array_equal(default, grad_cam(clf, X[:6], layer="stage5")[0])
    last, _ = grad_cam(clf, X[:6], layer="head_conv")
    assert last.min() > 0.5  # the flat tint the old default gave
    assert default.min() == 0.0 and default.std() > 0.15


def test_grad_cam_overlay_is_transparent_where_there_is_no_evidence():
    from sktransfer.inspection import GradCAMDisplay

    heat = np.zeros((1, 6, 6))
    heat[0, 2:4, 2:4] = 1.0
    display = GradCAMDisplay([np.full((6, 6), 0.5)], heat).plot()
    alpha = display.overlays_[0].get_array()[..., 3]
    assert alpha[0, 0] == 0 and alpha[2, 2] == pytest.approx(0.6)
    plt.close("all")
