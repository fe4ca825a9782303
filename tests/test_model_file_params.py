"""Parameters in a model file are data, checked by the estimators' own
constraints; what runs where a model is loaded (compilation, callbacks,
data-loading workers) is the loading program's to set, never the file's;
what save_model writes, load_model reads back as it was."""

import pickle
import warnings

import numpy as np
import pytest
from skorch.callbacks import EpochTimer

from sktransfer import (
    CNNFeatureExtractor,
    LabelRelationTransfer,
    ModelFileError,
    PretrainedCNNClassifier,
    PretrainedCNNRegressor,
    inspect_model,
    load_model,
    save_model,
)
from sktransfer._model_files._records import (
    FITTED,
    estimator_classes,
    fitted_problem,
    is_runtime,
    names_problem,
    params_problem,
)
from sktransfer._model_files._stored import Storing
from sktransfer.multi_gpu import AcceleratedCNNClassifier

FAST = {"input_size": 16, "max_epochs": 1, "random_state": 0}


@pytest.fixture(scope="module")
def images():
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    return X[:60], y[:60], X[60:70]


@pytest.fixture(scope="module")
def fitted(images):
    X, y, _ = images
    return PretrainedCNNClassifier("small_cnn", **FAST).fit(X, y)


def test_runtime_parameters_are_left_out_and_set_by_the_loader(
    fitted, images, tmp_path
):
    _, _, X_new = images
    model = pickle.loads(pickle.dumps(fitted))
    model.callbacks = [("timer", EpochTimer())]
    model.iterator_valid__num_workers = 0
    with pytest.warns(UserWarning, match="leaves out callbacks=.*num_workers=0") as w:
        path = save_model(model, tmp_path / "model.sktransfer")
    assert "load_model(path, params={...})" in str(w[0].message)
    loaded = load_model(path)
    assert loaded.callbacks is None
    assert "iterator_valid__num_workers" not in loaded.get_params()
    set_here = load_model(
        path,
        params={
            "callbacks": [("timer", EpochTimer())],
            "iterator_valid__num_workers": 0,
        },
    )
    assert set_here.callbacks[0][0] == "timer"
    assert set_here.iterator_valid__num_workers == 0
    np.testing.assert_array_equal(
        set_here.predict_proba(X_new), fitted.predict_proba(X_new)
    )
    assert "callbacks" not in str(inspect_model(path))


def test_load_model_params_are_checked(fitted, tmp_path):
    path = save_model(fitted, tmp_path / "model.sktransfer")
    assert load_model(path, params={"device": "cpu"}).device == "cpu"
    with pytest.raises(
        ValueError, match=r"`params`: \['nope'\] are parameters of none"
    ):
        load_model(path, params={"nope": 1})
    with pytest.raises(TypeError, match="`params` must be a dict"):
        load_model(path, params=[("device", "cpu")])


def test_save_refuses_a_value_the_schema_would_refuse(fitted, tmp_path):
    model = pickle.loads(pickle.dumps(fitted))
    model.lr = float("nan")
    with pytest.raises(ValueError, match=r"cannot be kept.*'lr' parameter"):
        save_model(model, tmp_path / "nan.sktransfer")
    assert not (tmp_path / "nan.sktransfer").exists()


def test_model_file_error_is_one_value_error_that_names_the_file(tmp_path):
    junk = tmp_path / "junk.sktransfer"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelFileError) as error:
        load_model(junk)
    assert isinstance(error.value, ValueError) and error.value.path == str(junk)
    again = pickle.loads(pickle.dumps(error.value))
    assert str(again) == str(error.value) and again.path == str(junk)


# -- every parameter and fitted attribute is checked ---------------------------
def _classes():
    return list(estimator_classes().items())


@pytest.mark.parametrize("name, cls", _classes(), ids=[n for n, _ in _classes()])
def test_every_default_passes_the_check_of_a_file(name, cls):
    import inspect

    defaults = {
        n: p.default
        for n, p in inspect.signature(cls).parameters.items()
        if p.kind is not p.VAR_KEYWORD and not is_runtime(cls, n)
    }
    if name == "AcceleratedCNNClassifier":
        defaults["accelerator"] = None
    assert names_problem(cls, defaults) is None
    if name != "AcceleratedCNNClassifier":  # its accelerator has no default
        assert params_problem(cls, defaults) is None
    for runtime in ("compile__options", "callbacks__x", "iterator_train__num_workers"):
        assert is_runtime(cls, runtime)
    assert not is_runtime(cls, "optimizer__weight_decay")
    assert "'compile'" in names_problem(cls, {**defaults, "compile": False})


def test_every_fitted_attribute_a_fit_writes_has_a_kind(images, fitted):
    from accelerate import Accelerator

    X, y, _ = images
    models = [
        fitted,
        PretrainedCNNClassifier(
            "small_cnn", class_weight="balanced", early_stopping=True, **FAST
        ).fit(X, np.array(["a", "b"] * 30)),
        PretrainedCNNRegressor("small_cnn", **FAST).fit(X, np.c_[y, y].astype(float)),
        LabelRelationTransfer(fitted, random_state=0, max_epochs=1).fit(X, y % 3),
        CNNFeatureExtractor("small_cnn", layer="multi", input_size=16).fit(X),
        AcceleratedCNNClassifier(
            "small_cnn", accelerator=Accelerator(cpu=True), **FAST
        ).fit(X, y),
    ]
    seen = set()
    for model in models:
        storing = Storing()
        storing.record_of(model, [])
        for key, value in vars(model).items():
            if key in storing.records[0]["fitted"]:
                assert fitted_problem(key, value) is None, (key, value)
                seen.add(key)
    assert seen == set(FITTED)


def test_a_function_parameter_loads_when_trusted(images, tmp_path):
    X, y, X_new = images
    model = PretrainedCNNClassifier(
        "small_cnn", head_hidden_sizes=(8,), head_activation=_swish, **FAST
    ).fit(X, y)
    name = f"{__name__}._swish"
    with pytest.warns(
        UserWarning, match=f"load_model\\(path, trusted=\\['{name}'\\]\\)"
    ):
        path = save_model(model, tmp_path / "swish.sktransfer")
    with pytest.raises(ModelFileError, match=name):
        load_model(path)
    assert name in inspect_model(path).untrusted
    loaded = load_model(path, trusted=[name])
    assert loaded.head_activation is _swish
    np.testing.assert_array_equal(
        loaded.predict_proba(X_new), model.predict_proba(X_new)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert load_model(path, trusted=True).head_activation is _swish


def _swish():
    import torch

    return torch.nn.SiLU()
