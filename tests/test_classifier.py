import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback
from torch import nn

from sktransfer import PretrainedCNNClassifier

RNG = np.random.default_rng(0)


def fast(**params):
    defaults = dict(
        backbone="small_cnn", input_size=16, max_epochs=2, random_state=0, batch_size=16
    )
    defaults.update(params)
    return PretrainedCNNClassifier(**defaults)


def test_digits_8x8_into_small_cnn_and_resnet(digits):
    X, y = digits
    clf = fast(max_epochs=8, lr=3e-3).fit(X[:200], y[:200])
    assert clf.score(X[200:], y[200:]) > 0.6
    resnet = PretrainedCNNClassifier(
        "resnet18", weights=None, input_size=32, max_epochs=1
    ).fit(X[:40], y[:40])
    assert resnet.predict(X[:5]).shape == (5,)


def test_string_labels_and_proba_columns_follow_classes(digits):
    X, y = digits
    names = np.array(["zero", "one", "two"])[y[:90] % 3]
    clf = fast(max_epochs=3).fit(X[:90], names)
    assert list(clf.classes_) == ["one", "two", "zero"]
    proba = clf.predict_proba(X[:10])
    assert proba.shape == (10, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(
        clf.predict(X[:10]), clf.classes_[proba.argmax(axis=1)]
    )


def test_classes_in_the_users_order_label_correctly(digits):
    X, y = digits
    names = np.where(y[:120] < 5, "a", "b")
    sorted_ = fast(max_epochs=4).fit(X[:120], names)
    user = fast(max_epochs=4, classes=["b", "a"]).fit(X[:120], names)
    assert list(user.classes_) == ["b", "a"]
    # Before the fix, targets were encoded in sorted order: inverted labels.
    assert user.score(X[:120], names) > 0.7
    assert abs(user.score(X[:120], names) - sorted_.score(X[:120], names)) < 0.1
    proba = user.predict_proba(X[:20])
    np.testing.assert_array_equal(
        user.predict(X[:20]), user.classes_[proba.argmax(axis=1)]
    )
    user.partial_fit(X[:20], names[:20])  # encoded in the user's order too
    assert user.score(X[:120], names) > 0.7


def test_classes_may_list_absent_labels_but_must_hold_every_label(digits):
    X, y = digits
    names = np.where(y[:60] < 5, "a", "b")
    clf = fast(max_epochs=1, classes=["a", "b", "c"]).fit(X[:60], names)
    assert clf.predict_proba(X[:3]).shape == (3, 3)
    with pytest.raises(ValueError, match=r"`y` has labels not in the classes"):
        fast(classes=["a"]).fit(X[:60], names)
    with pytest.raises(ValueError, match="`classes` must list each class once"):
        fast(classes=["a", "b", "a"]).fit(X[:60], names)


def test_mixed_label_types_are_refused_by_name(digits):
    X, _ = digits
    y = np.array(["a", 1] * 10, dtype=object)
    with pytest.raises(ValueError, match="`y` mixes label types"):
        fast().fit(X[:20], y)


def test_layer_names_and_fitted_attributes(digits):
    X, y = digits
    clf = fast(max_epochs=1).fit(X[:40], y[:40])
    assert clf.layer_names_ == ["conv1", "conv2", "conv3", "fc1"]
    assert clf.image_shape_ == (1, 8, 8)
    assert clf.n_features_in_ == 64
    assert len(clf.history) == 1


def test_float64_input_is_cast_to_float32(digits):
    X, y = digits
    clf = fast(max_epochs=1).fit(X[:40].astype(np.float64) / 255, y[:40])
    assert clf.predict_proba(X[:4].astype(np.float64) / 255).dtype == np.float32


def test_rows_with_image_shape(digits):
    X, y = digits
    rows = X[:60].reshape(60, -1)
    clf = fast(image_shape=(8, 8), max_epochs=1).fit(rows, y[:60])
    assert clf.image_shape_ == (1, 8, 8)
    assert clf.predict(rows[:3]).shape == (3,)


def test_tensor_input(digits):
    X, y = digits
    clf = fast(max_epochs=1).fit(torch.from_numpy(X[:40]), torch.from_numpy(y[:40]))
    assert clf.predict(torch.from_numpy(X[:3])).shape == (3,)


def test_grayscale_into_rgb_backbone_and_rgb_into_grayscale_mlp():
    gray = RNG.random((8, 12, 12)).astype(np.float32)
    clf = PretrainedCNNClassifier(
        "resnet18", weights=None, input_size=32, max_epochs=1
    ).fit(gray, [0, 1] * 4)
    assert clf.module_.in_channels == 3
    rgb = RNG.random((8, 12, 12, 3)).astype(np.float32)
    mlp = PretrainedCNNClassifier("mlp", max_epochs=1).fit(rgb, [0, 1] * 4)
    assert mlp.module_.units["fc1"][0].in_features == 3 * 28 * 28


def test_channel_count_the_backbone_cannot_take():
    X = RNG.random((4, 4, 16, 16)).astype(np.float32)
    clf = PretrainedCNNClassifier("resnet18", weights=None, max_epochs=1)
    with pytest.raises(ValueError, match="`X` has 4 channels but backbone 'resnet18'"):
        clf.fit(X, [0, 1] * 2)


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.full((4, 8, 8), np.nan), [0, 1, 0, 1], "NaN or infinity"),
        (np.zeros((4, 2, 2, 2, 2)), [0, 1, 0, 1], "must be images of shape"),
        (np.zeros((4, 8, 8)), [0, 0, 0, 0], "only one class"),
        (np.zeros((0, 8, 8)), [], "`X` is empty"),
        (np.zeros((4, 8, 8)), [0, 1, 0], "inconsistent numbers of samples"),
        (np.zeros((4, 8, 8)), [0.5, 1.5, 0.5, 1.2], "Unknown label type"),
    ],
)
def test_bad_input_is_refused_before_training(X, y, match):
    with pytest.raises(ValueError, match=match):
        fast().fit(X, y)


def test_image_shape_not_matching_row_length():
    with pytest.raises(ValueError, match=r"`image_shape`=\(1, 5, 5\) holds 25"):
        fast(image_shape=(5, 5)).fit(np.zeros((4, 64)), [0, 1] * 2)


def test_predict_before_fit_and_with_other_shape(digits):
    X, y = digits
    with pytest.raises(NotFittedError):
        fast().predict(X[:2])
    clf = fast(max_epochs=1).fit(X[:40], y[:40])
    with pytest.raises(ValueError, match=r"fitted on images of shape \(1, 8, 8\)"):
        clf.predict(np.zeros((2, 3, 10, 10)))
    assert clf.predict(np.zeros((2, 10, 10))).shape == (2,)  # resized to 16 px


@pytest.mark.parametrize(
    "params, match",
    [
        ({"head_dropout": 1.5}, "head_dropout"),
        ({"head_activation": "swishy"}, "head_activation"),
        ({"augment": "jitterbug"}, "The 'augment' parameter"),
        ({"precision": "fp8"}, "precision"),
        ({"lr": -1.0}, "lr"),
        ({"class_weight": {"nine": 2.0}}, "`class_weight` names classes not in y"),
    ],
)
def test_bad_parameters(digits, params, match):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        fast(**params).fit(X[:20], y[:20] % 2)


def test_clone_get_set_params_and_pickle_round_trip(digits):
    X, y = digits
    clf = fast(head_dropout=0.2, optimizer__weight_decay=0.01)
    params = clf.get_params()
    assert params["head_dropout"] == 0.2 and params["optimizer__weight_decay"] == 0.01
    assert clone(clf).get_params()["freeze_upto"] == "auto"
    clf.set_params(freeze_upto=2).fit(X[:60], y[:60])
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(
        restored.predict_proba(X[60:80]), clf.predict_proba(X[60:80])
    )
    assert restored.device == "auto"


def test_equal_estimators_pickle_and_hash_equally(digits):
    """A deep copy of a fitted estimator pickles to the same bytes (skorch's
    own pickling names tensors by memory address), so joblib.hash, and
    scikit-learn's check of a fitted source passed as a parameter, agree."""
    import copy

    import joblib

    X, y = digits
    clf = fast(max_epochs=1).fit(X[:40], y[:40])
    assert joblib.hash(copy.deepcopy(clf)) == joblib.hash(clf)
    assert pickle.dumps(copy.deepcopy(clf)) == pickle.dumps(clf)


def test_equal_sets_in_the_network_pickle_equally_whatever_their_order(digits):
    """A set's iteration order depends on the order its elements went in (a
    module's non-persistent buffer names, by chance of the run's string
    hashes): equal sets in two equal estimators give equal bytes."""
    import copy

    import joblib

    X, y = digits
    clf = fast(max_epochs=1).fit(X[:40], y[:40])
    other = copy.deepcopy(clf)
    clf.module_.tags, other.module_.tags = {1, 9}, {9, 1}
    clf.module_.frozen_tags = frozenset([2, 10])
    other.module_.frozen_tags = frozenset([10, 2])
    assert list(clf.module_.tags) != list(other.module_.tags)  # the premise
    assert list(clf.module_.frozen_tags) != list(other.module_.frozen_tags)
    assert pickle.dumps(clf) == pickle.dumps(other)
    assert joblib.hash(clf) == joblib.hash(other)
    restored = pickle.loads(pickle.dumps(clf))
    assert restored.module_.tags == {1, 9}
    assert restored.module_.frozen_tags == frozenset([2, 10])


def test_device_parameter_is_never_written_during_fit(digits):
    """skorch sees the resolved device while it works; the parameter, as
    stored and as get_params reports it, stays "auto" throughout."""
    from skorch.callbacks import Callback

    seen = []

    class Spy(Callback):
        def on_epoch_end(self, net, **kwargs):
            seen.append((vars(net)["device"], net.get_params()["device"], net.device))

    X, y = digits
    clf = fast(device="auto", max_epochs=2, callbacks=[Spy()]).fit(X[:40], y[:40])
    resolved = "cuda" if torch.cuda.is_available() else "cpu"
    assert seen == [("auto", "auto", resolved)] * 2
    assert clf.device == "auto" and "_device_in_use" not in vars(clf)


def test_outputs_are_the_same_bits_in_any_row_order(digits):
    X, y = digits
    clf = fast(max_epochs=1).fit(X[:60], y[:60])
    perm = np.random.default_rng(0).permutation(300)
    proba = clf.predict_proba(X[:300])
    np.testing.assert_array_equal(clf.predict_proba(X[:300][perm]), proba[perm])


def test_refit_starts_from_source_weights_and_warm_start_continues(digits):
    X, y = digits
    clf = fast(max_epochs=2).fit(X[:60], y[:60])
    first = clf.predict_proba(X[60:70])
    clf.fit(X[:60], y[:60])
    np.testing.assert_allclose(clf.predict_proba(X[60:70]), first, rtol=1e-5)
    assert len(clf.history) == 2
    clf.set_params(warm_start=True).fit(X[:60], y[:60])
    assert len(clf.history) == 4
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X[:60], y[:60] % 2)


def test_partial_fit_continues_training(digits):
    X, y = digits
    clf = fast(max_epochs=1).fit(X[:60], y[:60])
    clf.partial_fit(X[:60], y[:60])
    assert len(clf.history) == 2
    with pytest.raises(ValueError, match=r"`y` has labels not in the classes"):
        clf.partial_fit(X[:4], np.array([11, 12, 11, 12]))


def test_grid_search_over_transfer_parameters(digits):
    X, y = digits
    grid = GridSearchCV(
        fast(max_epochs=1),
        {
            "freeze_upto": [0, 2],
            "lr": [1e-3, 3e-3],
            "head_dropout": [0.0, 0.3],
            "optimizer__weight_decay": [0.0, 0.01],
        },
        cv=2,
    ).fit(X[:80], y[:80])
    assert len(grid.cv_results_["params"]) == 16
    assert grid.best_estimator_.predict(X[:3]).shape == (3,)


def test_head_hidden_sizes_dropout_and_activation(digits):
    X, y = digits
    clf = fast(
        head_hidden_sizes=(32, 16),
        head_dropout=0.25,
        head_activation="gelu",
        max_epochs=1,
    ).fit(X[:40], y[:40])
    layers = list(clf.module_.head)
    linear = [m for m in layers if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [
        (128, 32),
        (32, 16),
        (16, 10),
    ]
    assert sum(isinstance(m, nn.GELU) for m in layers) == 2
    assert all(m.p == 0.25 for m in layers if isinstance(m, nn.Dropout))
    custom = fast(head_hidden_sizes=(8,), head_activation=nn.Tanh, max_epochs=1).fit(
        X[:40], y[:40]
    )
    assert any(isinstance(m, nn.Tanh) for m in custom.module_.head)


def test_backbone_lr_scale_makes_parameter_groups(digits):
    X, y = digits
    clf = fast(backbone_lr_scale=0.1, lr=0.01, max_epochs=1).fit(X[:40], y[:40])
    lrs = sorted(group["lr"] for group in clf.optimizer_.param_groups)
    assert lrs == pytest.approx([0.001, 0.01])


def test_class_weight_reaches_the_loss(digits):
    X, y = digits
    y2 = (y[:60] == 0).astype(int)
    clf = fast(class_weight="balanced", max_epochs=1).fit(X[:60], y2)
    weight = clf.criterion_.weight
    assert weight[1] > weight[0]
    clf = fast(class_weight={0: 1.0, 1: 5.0}, max_epochs=1).fit(X[:60], y2)
    torch.testing.assert_close(clf.criterion_.weight, torch.tensor([1.0, 5.0]))


def test_a_warm_start_weighs_the_classes_of_its_own_labels(digits):
    """class_weight="balanced" on a second fit with other labels: the loss it
    trains with weighs the new labels, not the first fit's."""
    X, _ = digits
    y = np.array([0] * 45 + [1] * 15)
    clf = fast(class_weight="balanced", max_epochs=1, warm_start=True)
    clf.fit(X[:60], y)
    torch.testing.assert_close(clf.criterion_.weight, torch.tensor([2 / 3, 2.0]))
    seen = []
    clf.set_params(callbacks=[("seen", _LossWeights(seen))]).fit(X[:60], 1 - y)
    np.testing.assert_allclose(clf.class_weight_, [2.0, 2 / 3])
    torch.testing.assert_close(seen[0], torch.tensor([2.0, 2 / 3]))


class _LossWeights(Callback):
    """Records the weights of the loss each training batch uses."""

    def __init__(self, seen):
        self.seen = seen

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.seen.append(net.criterion_.weight.detach().cpu().clone())


def test_early_stopping_uses_a_validation_split(digits):
    X, y = digits
    clf = fast(early_stopping=True, n_iter_no_change=1, max_epochs=30, lr=0.05).fit(
        X, y
    )
    assert "valid_loss" in clf.history[-1]
    assert len(clf.history) < 30
    no_split = fast(max_epochs=1).fit(X[:40], y[:40])
    assert "valid_loss" not in no_split.history[-1]


def test_freeze_epochs_train_the_head_alone_first(digits):
    X, y = digits
    clf = fast(freeze_epochs=1, max_epochs=0).fit(X[:40], y[:40])
    body = {
        n: p.clone()
        for n, p in clf.module_.named_parameters()
        if n.startswith("units.")
    }
    clf.set_params(warm_start=True, max_epochs=1).fit(X[:40], y[:40])
    assert all(
        torch.equal(p, dict(clf.module_.named_parameters())[n]) for n, p in body.items()
    )
    clf.fit(X[:40], y[:40])  # second epoch: unfrozen
    assert not all(
        torch.equal(p, dict(clf.module_.named_parameters())[n]) for n, p in body.items()
    )


@pytest.mark.parametrize("augment", ["flip", "rot90", "standard", lambda x: x * 0.5])
def test_augment_runs_in_training_only(digits, augment):
    X, y = digits
    calls = []

    def spy(images):
        calls.append(images.shape)
        return images

    clf = fast(augment=augment, max_epochs=1).fit(X[:40], y[:40])
    assert clf.predict(X[:4]).shape == (4,)
    clf.module_.augment = spy
    clf.predict(X[:4])
    assert calls == []
    clf.set_params(warm_start=True).fit(X[:40], y[:40])
    assert calls


@pytest.mark.parametrize("policy", ["flip", "rot90", "standard"])
def test_augment_policies_keep_shape_and_range(policy):
    from sktransfer._networks._augment import AUGMENT_POLICIES

    images = torch.rand(6, 3, 10, 10)
    out = AUGMENT_POLICIES[policy](images)
    assert out.shape == images.shape
    assert out.min() >= 0 and out.max() <= 1
    assert AUGMENT_POLICIES[policy](torch.rand(4, 1, 6, 9)).shape == (4, 1, 6, 9)


def test_verbose_prints_one_line_per_fit_then_table_then_progress_bar(digits, capsys):
    X, y = digits
    fast(verbose=0, max_epochs=1).fit(X[:40], y[:40])
    assert capsys.readouterr().out == ""
    fast(verbose=1, max_epochs=2, lr=0.01).fit(X[:40], y[:40])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("[PretrainedCNNClassifier] backbone='small_cnn', ")
    assert "lr=0.01" in lines[0] and "40 images, " in lines[0]
    assert "2 epochs in " in lines[0] and "train loss " in lines[0]
    fast(verbose=2, max_epochs=1).fit(X[:40], y[:40])
    out = capsys.readouterr().out
    assert "train_loss" in out and out.count("[PretrainedCNNClassifier]") == 1
    fast(verbose=3, max_epochs=1).fit(X[:40], y[:40])


def test_verbose_gives_one_line_per_fit_inside_grid_search(digits, capsys):
    from sklearn.model_selection import GridSearchCV

    X, y = digits
    search = GridSearchCV(
        fast(verbose=1, max_epochs=1), {"freeze_upto": [0, 1]}, cv=2
    ).fit(X[:60], y[:60])
    lines = capsys.readouterr().out.splitlines()
    # 2 candidates x 2 folds, then the refit on all 60 images.
    assert len(lines) == 5
    assert sum("freeze_upto=1" in line for line in lines) == 2 + (
        search.best_params_["freeze_upto"] == 1
    )
    assert "60 images" in lines[-1]


def test_device_auto_and_bfloat16_precision_on_cpu(digits):
    X, y = digits
    clf = fast(device="auto", precision="bfloat16", max_epochs=1).fit(X[:40], y[:40])
    assert clf.device == "auto"
    assert next(clf.module_.parameters()).device.type == (
        "cuda" if torch.cuda.is_available() else "cpu"
    )
    assert np.isfinite(clf.predict_proba(X[:4])).all()


def test_random_state_makes_fits_identical(digits):
    X, y = digits
    a = fast(max_epochs=2, head_dropout=0.3, augment="flip").fit(X[:60], y[:60])
    b = fast(max_epochs=2, head_dropout=0.3, augment="flip").fit(X[:60], y[:60])
    np.testing.assert_array_equal(a.predict_proba(X[60:80]), b.predict_proba(X[60:80]))


def test_fitted_estimator_as_backbone_transfers_its_network(digits):
    from sklearn.frozen import FrozenEstimator

    X, y = digits
    source = fast(max_epochs=2).fit(X[y < 5], y[y < 5])
    target = PretrainedCNNClassifier(FrozenEstimator(source), max_epochs=0)
    target.fit(X[y >= 5][:50], y[y >= 5][:50])
    assert target.layer_names_ == source.layer_names_
    torch.testing.assert_close(
        target.module_.units["conv1"][0].weight, source.module_.units["conv1"][0].weight
    )
    assert list(target.source_categories_) == [0, 1, 2, 3, 4]
    # the source itself is left untouched by training the target
    before = source.module_.units["conv1"][0].weight.clone()
    target.set_params(max_epochs=1).fit(X[y >= 5][:50], y[y >= 5][:50])
    assert torch.equal(source.module_.units["conv1"][0].weight, before)
    # clone keeps a frozen source fitted
    clone(target).fit(X[y >= 5][:50], y[y >= 5][:50])


def test_unfitted_estimator_as_backbone_is_refused(digits):
    X, y = digits
    with pytest.raises(NotFittedError):
        PretrainedCNNClassifier(fast()).fit(X[:10], y[:10] % 2)


def test_sequential_module_backbone(digits):
    X, y = digits
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 10)
    )
    clf = PretrainedCNNClassifier(net, max_epochs=1, freeze_upto=1).fit(X[:40], y[:40])
    assert clf.layer_names_ == ["conv1"]
    assert torch.equal(clf.module_.units["conv1"][0].weight, net[0].weight)


def test_set_params_typo_suggests_the_closest_public_name():
    clf = fast()
    with pytest.raises(ValueError, match="Did you mean 'freeze_upto'") as info:
        clf.set_params(freeze_uptoo=2)
    message = str(info.value)
    assert "'freeze_uptoo' is not a parameter of PretrainedCNNClassifier" in message
    assert "_params_to_validate" not in message and "use_caching" not in message
    # skorch's prefixed parameters still pass.
    clf.set_params(optimizer__weight_decay=0.1, iterator_train__shuffle=True)
    assert clf.get_params()["optimizer__weight_decay"] == 0.1


@pytest.mark.parametrize(
    "verbose, level",
    [
        (0, 0),
        (1, 1),
        (2.5, 2),
        (7, 3),
        (float("inf"), 3),
        (-1, 0),
        (float("nan"), 0),
        (True, 1),
        ("loud", 0),
    ],
)
def test_verbosity_reads_any_verbose_value(verbose, level):
    from sktransfer._training._progress import verbosity

    assert verbosity(fast(verbose=verbose)) == level


@pytest.mark.parametrize("estimator", ["classifier", "label_relation"])
def test_early_stopping_names_a_class_too_small_to_split(digits, estimator):
    """The stratified early-stopping split needs two images of each class
    and one of each class on both sides: the error names early_stopping,
    validation_fraction, the class (in the user's labels) and the fix."""
    from sktransfer import LabelRelationTransfer

    X, y = digits
    names = np.array(["zero", "one", "two"])
    index = np.r_[np.flatnonzero(y == 0)[:20], np.flatnonzero(y == 1)[:20]]
    index = np.r_[index, np.flatnonzero(y == 2)[:1]]
    source = fast(max_epochs=1).fit(X[:60], y[:60])  # 10 outputs

    def make(**params):
        if estimator == "classifier":
            return fast(max_epochs=1, early_stopping=True, **params)
        return LabelRelationTransfer(
            source, max_epochs=1, early_stopping=True, **params
        )

    with pytest.raises(ValueError) as error:
        make().fit(X[index], names[y[index]])
    message = str(error.value)
    assert "early_stopping=True" in message and "validation_fraction=0.1" in message
    assert "class two has a single image" in message
    assert "early_stopping=False" in message
    eight = np.flatnonzero(y < 8)[:40]  # 4 held out for 8 classes
    with pytest.raises(ValueError, match="validation_fraction between 0.2 and 0.8"):
        make().fit(X[eight], y[eight])
    make(validation_fraction=0.2).fit(X[eight], y[eight])  # the advice works
