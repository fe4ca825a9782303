"""Model files written before the modules moved into folders load, are
checked and predict as they did: their trees name this library's types by
the old modules (``sktransfer._stored``, ``sktransfer._data``) and a
LabelRelationTransfer's source under its old parameter name ``estimator``."""

import warnings

import _crafting as craft
import numpy as np
import pytest
from sklearn.datasets import load_digits

from sktransfer import (
    LabelRelationTransfer,
    ModelFileError,
    PretrainedCNNClassifier,
    inspect_model,
    load_model,
    save_model,
)
from sktransfer._model_files import _legacy
from sktransfer._model_files._records import StoredEstimator
from sktransfer._runtime._batches import BatchLoader

# Today's module of each type an old file names, and the old one.
OLD_MODULES = {
    StoredEstimator.__module__: "sktransfer._stored",
    BatchLoader.__module__: "sktransfer._data",
}


def _as_written_before(node):
    """The schema ``node`` as the code before the move wrote it."""
    if isinstance(node, list):
        return [_as_written_before(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _as_written_before(value) for key, value in node.items()}
    if node.get("__module__") in OLD_MODULES:
        node["__module__"] = OLD_MODULES[node["__module__"]]
    if node.get("__class__") != "StoredEstimator":
        return node
    fields = node["content"]["content"]
    if "LabelRelationTransfer" in fields["estimator"]["content"]:
        params = fields["params"]["content"]
        fields["params"]["content"] = {
            ("estimator" if key == "backbone" else key): value
            for key, value in params.items()
        }
    return node


@pytest.fixture(scope="module")
def relation_model():
    X, y = load_digits(return_X_y=True)
    X = (X.reshape(-1, 8, 8) * (255 / 16)).round().astype(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = PretrainedCNNClassifier(
            "mlp", input_size=8, max_epochs=1, random_state=0
        ).fit(X[y < 8][:100], y[y < 8][:100])
        model = LabelRelationTransfer(source, max_epochs=1, random_state=0)
        return model.fit(X[y >= 8][:40], y[y >= 8][:40]), X[:8]


@pytest.fixture
def old_file(relation_model, tmp_path):
    saved = save_model(relation_model[0], tmp_path / "new.sktransfer")
    parts = craft.members(saved)
    schema, arrays = craft.schema(parts["model.skops"])
    old = _as_written_before(schema)
    text = str(old)
    assert "sktransfer._stored" in text and "sktransfer._data" in text
    assert "'estimator': {'__class__': 'StoredEstimator'" in text
    parts["model.skops"] = craft.tree(old, arrays)
    return craft.write(tmp_path / "old.sktransfer", parts)


def test_an_old_file_loads_and_predicts_as_before(relation_model, old_file):
    model, X = relation_model
    loaded = load_model(old_file)
    assert isinstance(loaded, LabelRelationTransfer)
    assert isinstance(loaded.backbone, PretrainedCNNClassifier)
    assert loaded.get_params()["iterator_valid"] is BatchLoader
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert "LabelRelationTransfer" in str(inspect_model(old_file))


def test_an_old_file_is_refused_without_the_upgrade(old_file, monkeypatch):
    """The test above reads the old names through the upgrade, not past it."""
    monkeypatch.setattr(_legacy, "RENAMED_MODULES", {})
    with pytest.raises(ModelFileError):
        load_model(old_file)


def test_a_file_written_today_is_left_as_it_is(relation_model, tmp_path):
    saved = save_model(relation_model[0], tmp_path / "new.sktransfer")
    tree = craft.members(saved)["model.skops"]
    assert _legacy.upgrade_tree(saved, tree) is tree
