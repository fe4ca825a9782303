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
