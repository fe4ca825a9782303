"""The Accelerate variant, on the single-device (CPU) path."""

import pickle

import numpy as np
import pytest

accelerate = pytest.importorskip("accelerate")

from sktransfer.multi_gpu import AcceleratedCNNClassifier  # noqa: E402


@pytest.fixture(scope="module")
def data():
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    return X[:300], y[:300], X[300:400], y[300:400]


@pytest.mark.parametrize("freeze_upto", [0, 2])
def test_accelerated_classifier_trains_and_predicts(data, freeze_upto, capsys):
    X, y, X_test, y_test = data
    clf = AcceleratedCNNClassifier(
        "small_cnn",
        accelerator=accelerate.Accelerator(cpu=True),
        input_size=16,
        max_epochs=4,
        freeze_upto=freeze_upto,
        random_state=0,
    )
    params = clf.get_params(deep=False)
    clf.fit(X, y)
    assert capsys.readouterr().out == ""  # verbose=0 stays silent
    after = clf.get_params(deep=False)  # fit changes no parameter
    assert after.keys() == params.keys()
    assert all(after[name] is value for name, value in params.items())
    assert np.mean(clf.predict(X_test) == y_test) > 0.3
    assert clf.predict_proba(X_test).shape == (100, 10)
    assert clf.n_cached_units_ == freeze_upto
    restored = pickle.loads(pickle.dumps(clf))  # unwrapped after fit
    np.testing.assert_array_equal(restored.predict(X_test), clf.predict(X_test))


def test_accelerated_classifier_refuses_a_device(data):
    X, y, _, _ = data
    clf = AcceleratedCNNClassifier(
        "small_cnn",
        accelerator=accelerate.Accelerator(cpu=True),
        device="cpu",
        input_size=16,
        max_epochs=1,
    )
    with pytest.raises(ValueError, match="set device=None"):
        clf.fit(X, y)


def test_a_pickled_classifier_uses_the_live_gradient_state(data):
    """accelerate keeps one gradient state per process (the active data
    loader and its remainder); an unpickled copy of it went stale, and
    gather_for_metrics then cut predictions to another loader's remainder."""
    from accelerate.state import GradientState

    X, y, X_test, _ = data
    clf = AcceleratedCNNClassifier(
        "small_cnn",
        accelerator=accelerate.Accelerator(cpu=True),
        input_size=16,
        max_epochs=1,
    ).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert vars(restored.accelerator.gradient_state) is GradientState._shared_state
    assert "gradient_state" in vars(clf.accelerator)  # the original untouched
    assert restored.predict(X_test).shape == (100,)
