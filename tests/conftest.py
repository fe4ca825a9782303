import os

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
# Under pytest-xdist (-n N) each worker gets its share of the cores.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, (os.cpu_count() or 1) // _WORKERS)))


@pytest.fixture
def digits():
    """Bundled digits as uint8 8x8 images, a small stratified subset."""
    import numpy as np
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    images = (X.reshape(-1, 8, 8) * (255 / 16)).round().astype(np.uint8)
    return images[:300], y[:300]


@pytest.fixture(scope="module")
def small_model():
    """A small_cnn classifier fitted on 60 digits for one epoch, and ten
    other digits: the model the model-file tests save and craft."""
    from sktransfer import PretrainedCNNClassifier
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    clf = PretrainedCNNClassifier(
        "small_cnn", input_size=16, max_epochs=1, random_state=0
    ).fit(X[:60], y[:60])
    return clf, X[60:70]


@pytest.fixture(scope="module")
def small_pipeline(small_model):
    """Rows, a scaler and a small_cnn classifier: a model file with a
    skops.io tree (the steps that are not this library's) beside the
    classifier's record."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    from sktransfer import PretrainedCNNClassifier
    from sktransfer.baselines import ImageToRows
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    cnn = PretrainedCNNClassifier(
        "small_cnn", image_shape=(1, 8, 8), input_size=16, max_epochs=1, random_state=0
    )
    return make_pipeline(ImageToRows(), MinMaxScaler(), cnn).fit(X[:60], y[:60])
