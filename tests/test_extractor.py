"""CNNFeatureExtractor on every unit of every registered family, and its
errors."""

import numpy as np
import pytest

from sktransfer import CNNFeatureExtractor

# One member of each family the registry knows, at the smallest input size
# whose feature maps survive every pooling; random weights.
FAMILIES = {
    "resnet18": 32,
    "vgg11": 32,
    "alexnet": 64,
    "densenet121": 32,
    "googlenet": 32,
    "inception_v3": 75,
    "mobilenet_v3_small": 32,
    "efficientnet_b0": 32,
    "convnext_tiny": 32,
    "efficientnet_lite0": 32,
    "small_cnn": 32,
    "mlp": 28,
}


# The largest networks on the CPU (VGG's 4096-wide dense units): the slow tier.
SLOW_FAMILIES = {"vgg11", "alexnet", "convnext_tiny", "inception_v3"}


@pytest.mark.parametrize(
    "backbone",
    [
        pytest.param(name, marks=pytest.mark.slow) if name in SLOW_FAMILIES else name
        for name in FAMILIES
    ],
)
def test_every_unit_gives_one_row_per_image(backbone):
    # Dense units (mlp fc1, VGG/AlexNet fc*) come after the flatten: the
    # extractor once dropped it and crashed in torch's matrix product.
    size = FAMILIES[backbone]
    X = (np.random.default_rng(0).random((2, 3, size, size)) * 255).astype(np.uint8)
    if backbone == "mlp":
        X = X[:, :1]
    names = CNNFeatureExtractor(backbone, weights=None, input_size=size).fit(X)
    for layer in names.layer_names_:
        extractor = CNNFeatureExtractor(
            backbone, weights=None, input_size=size, layer=layer
        ).fit(X)
        features = extractor.transform(X)
        assert features.shape == (2, extractor.n_features_out_), layer
        assert extractor.layer_ == layer
        assert np.isfinite(features).all(), layer


def test_an_input_size_too_small_for_the_backbone_names_input_size():
    X = np.zeros((2, 3, 32, 32), np.uint8)
    with pytest.raises(ValueError, match=r"`input_size`=32 is too small for 'alexnet'"):
        CNNFeatureExtractor("alexnet", weights=None, input_size=32).fit(X)


def test_the_classifier_names_an_input_size_too_small():
    from sktransfer import PretrainedCNNClassifier

    X = np.zeros((4, 3, 32, 32), np.uint8)
    clf = PretrainedCNNClassifier("alexnet", weights=None, input_size=32, max_epochs=1)
    with pytest.raises(ValueError, match=r"`input_size`=32 is too small"):
        clf.fit(X, [0, 1, 0, 1])


def test_features_of_several_units_side_by_side():
    X = np.random.default_rng(0).random((6, 3, 32, 32), dtype=np.float32)
    extractor = CNNFeatureExtractor(
        "resnet18",
        weights=None,
        input_size=32,
        layer=["layer3", 1, "layer1"],
        random_state=0,
    ).fit(X)
    assert extractor.layer_ == ["layer1", "layer3"]  # forward order, once each
    features = extractor.transform(X)
    assert features.shape == (6, 64 + 256) == (6, extractor.n_features_out_)
    names = extractor.get_feature_names_out()
    assert names[0] == "layer1_0" and names[64] == "layer3_0" and len(names) == 320
    alone = CNNFeatureExtractor(
        "resnet18", weights=None, input_size=32, layer="layer3", random_state=0
    )
    np.testing.assert_allclose(features[:, 64:], alone.fit(X).transform(X), rtol=1e-5)
    flat = extractor.set_params(pooling="flatten").fit(X)
    assert flat.transform(X).shape[1] == len(flat.get_feature_names_out())
    with pytest.raises(ValueError, match="empty list"):
        extractor.set_params(layer=[]).fit(X)
    with pytest.raises(ValueError, match="not a unit"):
        extractor.set_params(layer=["layer9"]).fit(X)


def test_multi_takes_the_last_unit_of_each_resolution():
    from sktransfer._estimators._extractor import multi_layers

    X = np.random.default_rng(0).random((2, 3, 64, 64), dtype=np.float32)
    resnet = CNNFeatureExtractor("resnet18", weights=None, layer="multi").fit(X)
    assert resnet.layer_ == ["layer1", "layer2", "layer3", "layer4"]
    lite0 = CNNFeatureExtractor("efficientnet_lite0", layer="multi").fit(X)
    assert lite0.layer_ == ["stage2", "stage3", "stage5", "head_conv"]
    assert multi_layers([(500,), (500,)]) == [0, 1]  # no feature maps: all
    shapes = [(8, 16, 16), (8, 16, 16), (16, 8, 8), (32, 4, 4), (64, 2, 2), (10,)]
    assert multi_layers(shapes) == [1, 2, 3, 4]
