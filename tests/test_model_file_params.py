"""Parameters in a model file are data checked against a schema; what runs
where a model is loaded (compilation, callbacks, data-loading workers) is
the loading program's to set, never the file's."""

import pickle
import warnings

import numpy as np
import pytest
from skorch.callbacks import EpochTimer
from skorch.dataset import ValidSplit

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
from sktransfer._model_files._file_kinds import (
    Boolean,
    Choice,
    Instance,
    Integer,
    Labels,
    Mapping,
    Named,
    Numbers,
    Plain,
    Real,
    Runtime,
    Sequence,
    Source,
    Text,
)
from sktransfer._model_files._file_schema import (
    FITTED,
    RUNTIME,
    check_fitted,
    check_parameter,
    is_runtime,
    schema_of,
)
from sktransfer._model_files._file_values import Array, Opaque, Record, Ref, file_value
from sktransfer._model_files._stored import estimator_classes, store
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
    with pytest.raises(ValueError, match=r"lr cannot be kept.*\(0, 1000\]"):
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


# -- the schema covers every parameter and fitted attribute --------------------
def _classes():
    return list(estimator_classes().items())


@pytest.mark.parametrize("name, cls", _classes(), ids=[n for n, _ in _classes()])
def test_every_parameter_has_a_kind_and_its_default_passes(name, cls):
    import inspect

    schema = schema_of(name)
    for parameter in inspect.signature(cls).parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            continue
        assert parameter.name in schema, (name, parameter.name)
        if parameter.default is parameter.empty:
            continue
        value = file_value(parameter.default)
        assert check_parameter(name, parameter.name, value) is None, parameter.name
    assert set(RUNTIME) <= set(schema) or name == "CNNFeatureExtractor"
    for runtime in ("compile__options", "callbacks__x", "iterator_train__num_workers"):
        assert is_runtime(name, runtime)
    assert not is_runtime(name, "optimizer__weight_decay")


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
        record, _ = store(model)
        for key, value in record.fitted.items():
            assert check_fitted(key, file_value(value)) is None, (key, value)
            seen.add(key)
        for key, value in record.params.items():
            reason = check_parameter(record.estimator, key, file_value(value), True)
            assert reason is None, (key, value)
    assert seen <= set(FITTED)


SGD = Ref("torch.optim.sgd.SGD")
SPLIT = {"cv": Integer(2, 9), "stratified": Boolean(), "random_state": Plain()}
KINDS = [
    (Boolean(), [True, False], [0, 1, "True", None]),
    (Integer(1, 5), [1, 5], [0, 6, True, 2.0, "3"]),
    (Real(0, 1, open_low=True), [0.5, 1, 1.0], [0, float("nan"), float("inf"), True]),
    (Choice({"a", "b"}), ["a"], ["c", 1, None]),
    (Text(5), ["abc", "é"], ["toolong", "a\nb", "\x1b[", 3]),
    (Text(10, r"[0-9a-f]+"), ["00ff"], ["xyz"]),
    (Sequence(Integer(0, 9), limit=2), [(), (1, 2), [3]], [(1, 2, 3), (10,), "12"]),
    (Sequence(Integer(0, 9), length=2), [(1, 2)], [(1,)]),
    (Mapping(Integer(0, 9), Real(0, 1)), [{1: 0.5}], [{1: 2.0}, {"a": 1}, [1]]),
    (
        Labels(),
        [[1, "a"], Array("<U3", (4,)), Array("<i8", (2,))],
        [Array("|O", (2,)), Array("<i8", (2, 2)), [Ref("os.system")]],
    ),
    (Numbers(2), [Array("<f8", (2, 3))], [Array("<f8", (3,)), Array("<U1", (2, 2))]),
    (Named(lambda: {SGD.name}, "x"), [SGD], [Ref("os.system"), SGD.name]),
    (
        Source(),
        ["small_cnn", Record("PretrainedCNNClassifier")],
        ["evil_net", Ref("os.system"), 3],
    ),
    (
        Plain(depth=1),
        [1, "a", None, (1, 2), {"a": 1}],
        [((1,),), Ref("print"), float("nan")],
    ),
    (Runtime(False), [False], [True, 0]),
    (
        Instance("skorch.dataset.ValidSplit", SPLIT),
        [file_value(ValidSplit(5)), file_value(ValidSplit(3, stratified=False))],
        [file_value(ValidSplit(50)), Opaque("os.system"), 5],
    ),
]


@pytest.mark.parametrize("kind, good, bad", KINDS)
def test_kinds_accept_their_values_and_nothing_else(kind, good, bad):
    for value in good:
        assert kind.check(value, ()) is None, (kind, value)
    for value in bad:
        assert kind.check(value, ()) is not None, (kind, value)
    assert kind.describe()


def test_a_function_parameter_takes_what_the_loader_trusts():
    value = Ref("mymodule.swish")
    reason = check_parameter("PretrainedCNNClassifier", "head_activation", value)
    assert "mymodule.swish" in reason
    trusted = ("mymodule.swish",)
    assert (
        check_parameter("PretrainedCNNClassifier", "head_activation", value, trusted)
        is None
    )
    assert (
        check_parameter("PretrainedCNNClassifier", "head_activation", value, True)
        is None
    )
    assert "not a parameter" in check_parameter("CNNFeatureExtractor", "lr", 0.1)


def test_a_saved_function_loads_when_trusted(images, tmp_path):
    from sktransfer._networks._network import HEAD_ACTIVATIONS  # noqa: F401

    X, y, X_new = images
    model = PretrainedCNNClassifier(
        "small_cnn", head_hidden_sizes=(8,), head_activation=_swish, **FAST
    ).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the file names a function to trust
        path = save_model(model, tmp_path / "swish.sktransfer")
    name = f"{__name__}._swish"
    with pytest.raises(ModelFileError, match=name):
        load_model(path)
    loaded = load_model(path, trusted=[name])
    np.testing.assert_array_equal(
        loaded.predict_proba(X_new), model.predict_proba(X_new)
    )


def _swish():
    import torch

    return torch.nn.SiLU()


def test_files_of_the_previous_version_list_runtime_parameters_at_defaults(
    fitted, images, tmp_path
):
    """Earlier versions wrote every parameter; those the loading program
    now decides load at their defaults, and only there."""
    import _crafting as craft

    _, _, X_new = images
    path = save_model(fitted, tmp_path / "model.sktransfer")
    defaults = {
        "compile": False,
        "callbacks": None,
        "use_caching": "auto",
        "torch_load_kwargs": None,
    }

    def as_before(found, arrays):
        for name, value in defaults.items():
            craft.set_item(craft.record(found)["params"], name, craft.node(value))

    old = craft.with_tree(path, tmp_path / "old.sktransfer", as_before)
    np.testing.assert_array_equal(
        load_model(old).predict_proba(X_new), fitted.predict_proba(X_new)
    )
    changed = craft.with_param(
        old, tmp_path / "x.sktransfer", "use_caching", craft.node(False)
    )
    with pytest.raises(ModelFileError, match="'use_caching': a model file may not set"):
        load_model(changed)
