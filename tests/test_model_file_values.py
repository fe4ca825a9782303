"""What save_model writes, load_model reads back as it was: one encoder and
one decoder of values, the searches' NumPy values included; files name
public names only, a bare estimator's file holds no skops.io tree, and a
long fit's history does not make a file that cannot be loaded."""

import json
import pathlib
import re
import warnings
import zipfile

import _crafting as craft
import numpy as np
import pytest
import torch
from scipy.stats import loguniform, randint
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from skorch.dataset import ValidSplit

from sktransfer import (
    CNNFeatureExtractor,
    LabelRelationTransfer,
    PretrainedCNNClassifier,
    inspect_model,
    load_model,
    save_model,
)
from sktransfer._model_files._values import Decoder, Encoder

FAST = {"input_size": 16, "max_epochs": 1, "random_state": 0}


@pytest.fixture(scope="module")
def images():
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    return X[:60], y[:60], X[100:120]


def _round_trip(value, parameter):
    encoder = Encoder(lambda estimator, where: None)
    data = json.loads(json.dumps(encoder.encode(value, ["value"]), allow_nan=False))
    arrays = [np.load(__import__("io").BytesIO(b)) for b in encoder.arrays]

    def resolve(name, parameter):
        return {"torch.optim.SGD": torch.optim.SGD}[name]

    decoder = Decoder("file", arrays.__getitem__, None, resolve, build=True)
    return decoder.decode(data, ["value"], parameter=parameter)


def _same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            _same(key, next(k for k in b if k == key))
            _same(a[key], b[key])
    elif isinstance(a, float | np.floating) and np.isnan(a):
        assert np.isnan(b)
    elif isinstance(a, np.random.RandomState):
        _same(a.get_state(legacy=True)[1], b.get_state(legacy=True)[1])
    else:
        assert a == b


VALUES = [
    None,
    True,
    0,
    -(2**70),
    3e-3,
    float("nan"),
    float("-inf"),
    "é\x1b",
    [1, (2, 3), {"a": None}],
    (),
    {0: 2.0, 1: 0.5},
    {"__x": 1, "y": (1,)},
    {None: 1, True: 2, np.int64(3): 3},
    np.float64(3e-3),
    np.float32(0.1),
    np.float16(np.inf),
    np.int64(64),
    np.int8(-128),
    np.uint64(2**64 - 1),
    np.bool_(True),
    np.str_("label"),
    np.logspace(-4, -2, 3),
    np.arange(3, dtype=np.uint8).reshape(1, 3),
    np.array(["a", "bc"]),
    np.array([1, "a", None], dtype=object),
    np.array([], dtype=np.float32),
    torch.optim.SGD,
    pathlib.Path("weights/model.pt"),
    np.random.RandomState(7),
]


# The parameter where each object may stand.
PARAMETER = {
    pathlib.PosixPath: "weights",
    np.random.RandomState: "random_state",
    type: "optimizer",
}


@pytest.mark.parametrize("value", VALUES, ids=[type(v).__name__ for v in VALUES])
def test_values_read_back_as_they_were_written(value):
    _same(value, _round_trip(value, PARAMETER.get(type(value))))


def _searched(search, images):
    X, y, _ = images
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant fold in a tiny search
        return search.fit(X, y).best_estimator_


SEARCHES = {
    "grid over np.logspace and np.arange": lambda: GridSearchCV(
        PretrainedCNNClassifier("small_cnn", **FAST),
        {"lr": np.logspace(-3, -2, 2), "batch_size": np.arange(16, 33, 16)},
        cv=2,
    ),
    "randomized over scipy distributions": lambda: RandomizedSearchCV(
        PretrainedCNNClassifier("small_cnn", **FAST),
        {"lr": loguniform(1e-4, 1e-2), "n_iter_no_change": randint(2, 9)},
        n_iter=2,
        cv=2,
        random_state=0,
    ),
    "extractor, scaler, logistic regression": lambda: GridSearchCV(
        make_pipeline(
            CNNFeatureExtractor("small_cnn", input_size=16, random_state=0),
            StandardScaler(),
            LogisticRegression(max_iter=200),
        ),
        {"logisticregression__C": np.logspace(-1, 0, 2)},
        cv=2,
    ),
}


@pytest.mark.parametrize("name", list(SEARCHES))
def test_a_searchs_best_estimator_saves_loads_and_predicts_the_same(
    images, tmp_path, name
):
    _, _, X_new = images
    best = _searched(SEARCHES[name](), images)
    path = save_model(best, tmp_path / "best.sktransfer")
    loaded = load_model(path)
    params, again = best.get_params(deep=False), loaded.get_params(deep=False)
    for key in ("lr", "batch_size", "n_iter_no_change", "steps"):
        if key in params and key != "steps":
            _same(params[key], again[key])
    assert {type(v) for v in params.values()} >= {
        type(v) for v in again.values() if isinstance(v, np.generic)
    }
    np.testing.assert_array_equal(
        loaded.predict_proba(X_new), best.predict_proba(X_new)
    )


def test_numpy_search_values_keep_their_type(images, tmp_path):
    X, y, X_new = images
    clf = PretrainedCNNClassifier(
        "small_cnn", lr=np.float64(3e-3), batch_size=np.int64(16), **FAST
    ).fit(X, y)
    loaded = load_model(save_model(clf, tmp_path / "numpy.sktransfer"))
    assert type(loaded.lr) is np.float64 and loaded.lr == clf.lr
    assert type(loaded.batch_size) is np.int64 and loaded.batch_size == 16
    np.testing.assert_array_equal(loaded.predict_proba(X_new), clf.predict_proba(X_new))


def test_objects_of_the_parameters_read_back(tmp_path):
    from torchvision.models import ResNet18_Weights

    clf = PretrainedCNNClassifier(
        "resnet18",
        weights=ResNet18_Weights.IMAGENET1K_V1,
        train_split=ValidSplit(0.2, stratified=False, random_state=1),
        random_state=np.random.RandomState(4),
        device=torch.device("cpu"),
        class_weight={0: 2.0, 1: 1.0},
        head_hidden_sizes=(8, 4),
        optimizer__betas=(0.8, 0.99),
    )
    loaded = load_model(save_model(clf, tmp_path / "unfitted.sktransfer"))
    assert loaded.weights is ResNet18_Weights.IMAGENET1K_V1
    split = loaded.train_split
    assert (split.cv, split.stratified, split.random_state) == (0.2, False, 1)
    assert loaded.device == torch.device("cpu")
    assert loaded.class_weight == {0: 2.0, 1: 1.0}
    assert loaded.head_hidden_sizes == (8, 4)
    assert loaded.optimizer__betas == (0.8, 0.99)
    _same(clf.random_state, loaded.random_state)
    path = save_model(
        PretrainedCNNClassifier("small_cnn", weights=pathlib.Path("w.pt")),
        tmp_path / "path.sktransfer",
    )
    assert load_model(path).weights == pathlib.Path("w.pt")


def test_files_name_public_names_only(images, tmp_path):
    X, y, _ = images
    source = PretrainedCNNClassifier("small_cnn", **FAST).fit(X, y)
    models = [
        source,
        LabelRelationTransfer(source, max_epochs=1, random_state=0).fit(X, y % 3),
        make_pipeline(MinMaxScaler(), PretrainedCNNClassifier("small_cnn", **FAST))
        .set_params(pretrainedcnnclassifier__image_shape=(1, 8, 8))
        .fit(X.reshape(60, -1), y),
    ]
    for i, model in enumerate(models):
        path = save_model(model, tmp_path / f"{i}.sktransfer")
        parts = craft.members(path)
        texts = [parts["sktransfer.json"], parts["estimators.json"]]
        if "model.skops" in parts:
            texts.append(craft.schema(parts["model.skops"])[1]["schema.json"])
        for text in texts:
            assert not re.findall(rb"sktransfer\._\w+", text), i
        assert ("model.skops" in parts) == (i == 2)


def test_a_long_history_keeps_its_epochs_not_its_batches(images, tmp_path):
    X, y, X_new = images
    clf = PretrainedCNNClassifier("small_cnn", **FAST).fit(X, y)
    row = dict(clf.history[-1])
    batch = {"train_loss": 0.5, "train_batch_size": 32, "event": "x" * 1000}
    for epoch in range(2, 2002):  # 2,000 epochs of 100 batches each
        clf.history.append({**row, "epoch": epoch, "batches": [batch] * 100})
    path = save_model(clf, tmp_path / "long.sktransfer")
    assert path.stat().st_size < 3 << 20
    loaded = load_model(path)
    assert len(loaded.history) == 2001
    assert "batches" not in loaded.history[-1]
    assert loaded.history[:, "train_loss"] == clf.history[:, "train_loss"]
    np.testing.assert_array_equal(loaded.predict_proba(X_new), clf.predict_proba(X_new))


def test_save_refuses_what_load_would_refuse(images, tmp_path, monkeypatch):
    from sktransfer._model_files import _persist

    X, y, _ = images
    clf = PretrainedCNNClassifier("small_cnn", **FAST).fit(X, y)
    monkeypatch.setattr(_persist, "JSON_LIMIT", 100)
    with pytest.raises(ValueError, match=r"estimators.json would hold .* MiB"):
        save_model(clf, tmp_path / "big.sktransfer")
    monkeypatch.undo()
    clf.history.record("notes", object())
    with pytest.raises(ValueError, match=r"history -> \[0\] -> 'notes' is of type obj"):
        save_model(clf, tmp_path / "object.sktransfer")
    clf.history[-1].pop("notes")
    clf.pixel_max_ = "high"
    with pytest.raises(ValueError, match="cannot be kept.*pixel_max_"):
        save_model(clf, tmp_path / "odd.sktransfer")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_bare_estimators_file_holds_its_record_arrays_and_weights(images, tmp_path):
    X, y, _ = images
    clf = PretrainedCNNClassifier("small_cnn", **FAST).fit(X, y)
    path = save_model(clf, tmp_path / "bare.sktransfer")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert names[:2] == ["sktransfer.json", "estimators.json"]
    assert set(names[2:]) == {"arrays/0.npy", "weights/0.safetensors"}
    (record,) = json.loads(craft.members(path)["estimators.json"])
    assert record["class"] == "PretrainedCNNClassifier"
    assert record["fitted"]["classes_inferred_"] == {"__array__": 0}
    assert "types named:" in str(inspect_model(path))


def test_the_names_a_record_may_give_are_public_and_true():
    """Each allowed class is named by a public path that imports to it."""
    from sktransfer._model_files._trust import classes_by_parameter, import_name

    for parameter, classes in classes_by_parameter().items():
        assert classes, parameter
        for name, cls in classes.items():
            assert "._" not in name and import_name(name) is cls, name
