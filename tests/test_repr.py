"""scikit-learn's repr: the parameters that differ from the defaults, none of
skorch's internals, the same before and after fit."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from sktransfer import LabelRelationTransfer, PretrainedCNNClassifier

SKORCH_INTERNALS = ("classes=", "compile=", "dataset=", "module=", "use_caching=")


def test_the_repr_shows_what_differs_from_the_defaults():
    assert repr(PretrainedCNNClassifier()) == "PretrainedCNNClassifier()"
    clf = PretrainedCNNClassifier("resnet18", freeze_upto=2)
    assert repr(clf) == "PretrainedCNNClassifier(backbone='resnet18', freeze_upto=2)"
    assert repr(PretrainedCNNClassifier("efficientnet_lite0")) == (
        "PretrainedCNNClassifier()"
    )
    routed = PretrainedCNNClassifier(optimizer__weight_decay=0.05)
    assert repr(routed) == "PretrainedCNNClassifier(optimizer__weight_decay=0.05)"
    assert repr(LabelRelationTransfer("efficientnet_lite0")) == (
        "LabelRelationTransfer(backbone='efficientnet_lite0')"
    )


def test_the_repr_is_the_same_after_fit_and_the_network_is_module_():
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 255, (20, 8, 8), dtype=np.uint8), np.arange(20) % 2
    clf = PretrainedCNNClassifier("small_cnn", input_size=16, max_epochs=1)
    before = repr(clf)
    clf.fit(X, y)
    assert repr(clf) == before
    assert "TransferNetwork" in repr(clf.module_)


def test_a_search_and_the_notebook_display_show_no_skorch_internals():
    search = GridSearchCV(PretrainedCNNClassifier("small_cnn"), {"lr": [1e-3, 3e-3]})
    text = repr(search)
    assert "PretrainedCNNClassifier(backbone='small_cnn')" in text
    assert not any(internal in text for internal in SKORCH_INTERNALS)
    html = PretrainedCNNClassifier("small_cnn", freeze_upto=2)._repr_html_()
    assert "freeze_upto" in html and "PretrainedCNNClassifier" in html
    assert "callbacks__epoch_timer" not in html


def test_the_accelerated_classifier_shows_its_own_defaults():
    accelerate = pytest.importorskip("accelerate")
    from sktransfer.multi_gpu import AcceleratedCNNClassifier

    clf = AcceleratedCNNClassifier(
        "small_cnn", accelerator=accelerate.Accelerator(cpu=True), freeze_upto=1
    )
    text = repr(clf)
    assert text.startswith("AcceleratedCNNClassifier(accelerator=<accelerate")
    assert text.endswith("backbone='small_cnn', freeze_upto=1)")
    assert "device=" not in text and "iterator_train" not in text
