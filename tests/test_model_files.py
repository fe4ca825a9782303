"""Model files that cannot run code: crafted files are refused before any of
them runs (a marker file is never created), damaged files are named, and
`inspect` reads a file without building it."""

import json
import os
import pickle
import re
import time
import zipfile

import _crafting as craft
import joblib
import numpy as np
import pytest
import skops.io
import torch

from sktransfer import (
    ModelFileError,
    inspect_model,
    load_model,
    save_model,
)
from sktransfer._cli import main


class _Bomb:
    """Unpickling it runs a shell command that creates ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def saved(small_model, tmp_path):
    return save_model(small_model[0], tmp_path / "model.sktransfer")


@pytest.fixture
def piped(small_pipeline, tmp_path):
    return save_model(small_pipeline, tmp_path / "pipeline.sktransfer")


def _every_door(path, tmp_path, capsys):
    """Try the file through load_model, inspect_model and the commands;
    return the messages."""
    messages = []
    for attempt in (load_model, inspect_model):
        with pytest.raises(ValueError) as error:
            attempt(path)
        messages.append(str(error.value))
    images = tmp_path / "images"
    images.mkdir(exist_ok=True)
    for command in (["predict", str(path), str(images)], ["inspect", str(path)]):
        assert main(command) == 2
        messages.append(capsys.readouterr().err)
    return messages


def _pickled_bombs(folder, marker, model):
    clf = pickle.loads(pickle.dumps(model[0]))
    clf.notes_ = _Bomb(marker)  # a real model, one attribute crafted
    files = {
        "joblib": (_Bomb(marker), lambda o, p: joblib.dump(o, p)),
        "joblib compressed": (_Bomb(marker), lambda o, p: joblib.dump(o, p, 3)),
        "pickle": (_Bomb(marker), lambda o, p: p.write_bytes(pickle.dumps(o))),
        "model with a crafted attribute": (clf, lambda o, p: joblib.dump(o, p)),
    }
    for name, (obj, write) in files.items():
        path = folder / f"{name.replace(' ', '_')}.joblib"
        write(obj, path)
        yield name, path


def test_pickles_are_refused_unread_through_every_door(small_model, tmp_path, capsys):
    marker = tmp_path / "marker"
    for name, path in _pickled_bombs(tmp_path, marker, small_model):
        for message in _every_door(path, tmp_path, capsys):
            assert str(path) in message, name
            assert "not loaded" in message and "sktransfer convert" in message
        assert not marker.exists(), name
    # The files are live: unpickling one runs it.
    joblib.load(tmp_path / "joblib.joblib")
    assert marker.exists()


def _with_scaler_attribute(saved, out, node):
    """The saved pipeline, its scaler given an attribute ``node``."""

    def edit(found, arrays):
        craft.set_item(craft.step_attributes(found, 1), "notes_", node)

    return craft.with_tree(saved, out, edit)


def _gadgets(marker):
    """Nodes that run ``touch marker`` when skops builds them."""
    command = craft.node((["touch", str(marker)],))
    code = craft.node((f"__import__('os').system('touch {marker}')",))
    return {
        "subprocess.Popen": {
            "__class__": "Popen",
            "__module__": "subprocess",
            "__loader__": "ConstructorFromReduceNode",
            "content": command,
        },
        "builtins.eval": {
            "__class__": "eval",
            "__module__": "builtins",
            "__loader__": "ConstructorFromReduceNode",
            "content": code,
        },
        "os.system": {
            "__class__": "system",
            "__module__": "os",
            "__loader__": "FunctionNode",
        },
    }


@pytest.mark.parametrize("name", ["subprocess.Popen", "builtins.eval", "os.system"])
def test_a_tree_naming_an_untrusted_type_is_refused_before_it_runs(
    piped, tmp_path, capsys, name
):
    marker = tmp_path / "marker"
    crafted = tmp_path / "crafted.sktransfer"
    _with_scaler_attribute(piped, crafted, _gadgets(marker)[name])
    with pytest.raises(ValueError) as error:
        load_model(crafted)
    message = str(error.value)
    assert str(crafted) in message and name in message and "not loaded" in message
    assert main(["predict", str(crafted), str(tmp_path)]) == 2
    assert name in capsys.readouterr().err
    if name == "os.system":  # a reference: inspect lists it, untrusted
        info = inspect_model(crafted)
        assert name in info.untrusted and name in str(info)
    else:  # a call with the file's arguments: refused by inspect as well
        with pytest.raises(ModelFileError, match=re.escape(name)):
            inspect_model(crafted)
    time.sleep(0.2)
    assert not marker.exists()
    if name != "os.system":  # the gadget is live: what skops builds if told to
        tree = craft.members(crafted)["model.skops"]
        skops.io.loads(tree, trusted=skops.io.get_untrusted_types(data=tree))
        for _ in range(50):
            if marker.exists():
                break
            time.sleep(0.1)
        assert marker.exists()


def test_records_naming_other_estimators_are_refused(saved, tmp_path):
    def edit(records, parts):
        records[0]["class"] = "os.system"

    crafted = craft.with_records(saved, tmp_path / "crafted.sktransfer", edit)
    with pytest.raises(ValueError, match="names the estimator 'os.system'"):
        load_model(crafted)


def test_a_record_naming_a_function_is_refused_before_it_is_imported(saved, tmp_path):
    marker = tmp_path / "marker"
    crafted = craft.with_param(
        saved, tmp_path / "crafted.sktransfer", "augment", {"__ref__": "os.system"}
    )
    with pytest.raises(ModelFileError, match=r"\['os.system'\]") as error:
        load_model(crafted)
    assert "load_model(path, trusted=['os.system'])" in str(error.value)
    assert "os.system" in inspect_model(crafted).untrusted
    assert not marker.exists()


def _torch_save(path):
    torch.save({"weight": torch.zeros(2)}, path)
    return path


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda m: {**m, "evil.pkl": pickle.dumps(1)}, "unexpected members"),
        (lambda m: {**m, "../evil.txt": b"x"}, "unsafe names"),
        (lambda m: {**m, "/etc/evil": b"x"}, "unsafe names"),
        (lambda m: {k: v for k, v in m.items() if k != "sktransfer.json"}, "without"),
    ],
    ids=["extra member", "path traversal", "absolute path", "no manifest"],
)
def test_archives_with_other_members_are_refused(saved, tmp_path, make, expected):
    path = tmp_path / "crafted.sktransfer"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in make(craft.members(saved)).items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match=expected) as error:
        load_model(path)
    assert str(path) in str(error.value)


def test_other_zip_formats_are_named(tmp_path):
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(ValueError, match="a torch.save archive, which holds a pickle"):
        load_model(_torch_save(tmp_path / "state.pt"))
    skops_file = tmp_path / "model.skops"
    skops.io.dump(LogisticRegression(), skops_file)
    with pytest.raises(ValueError, match="a skops.io file"):
        load_model(skops_file)


def test_damaged_and_truncated_files_are_named(saved, tmp_path):
    members = craft.members(saved)
    weights = bytearray(members["weights/0.safetensors"])
    weights[-1] ^= 0xFF
    altered = craft.write(
        tmp_path / "altered.sktransfer",
        {**members, "weights/0.safetensors": bytes(weights)},
        rehash=False,
    )
    with pytest.raises(ValueError, match="SHA-256 of weights/0.safetensors") as error:
        load_model(altered)
    assert str(altered) in str(error.value) and "damaged" in str(error.value)
    data = saved.read_bytes()
    for size in (len(data) // 2, len(data) - 10, 30):
        truncated = tmp_path / f"truncated_{size}.sktransfer"
        truncated.write_bytes(data[:size])
        with pytest.raises(ValueError, match="damaged or truncated") as error:
            load_model(truncated)
        assert str(truncated) in str(error.value)
    junk = tmp_path / "junk.sktransfer"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="not a model file"):
        load_model(junk)


def test_a_newer_format_asks_for_an_upgrade(saved, tmp_path):
    members = craft.members(saved)
    manifest = json.loads(members["sktransfer.json"])
    manifest["format_version"] = 99
    members["sktransfer.json"] = json.dumps(manifest).encode()
    with pytest.raises(ValueError, match="format 99.*reads format 2.*Upgrade"):
        load_model(craft.write(tmp_path / "newer.sktransfer", members, rehash=False))


def test_an_older_format_is_named_before_any_record_is_read(saved, tmp_path):
    """Files of format 1 (records inside a skops.io tree) are refused with
    both versions named, whatever their records hold."""
    members = craft.members(saved)
    manifest = json.loads(members["sktransfer.json"])
    manifest.update(format_version=1, sktransfer_version="0.0.9")
    members["sktransfer.json"] = json.dumps(manifest).encode()
    members["estimators.json"] = b'[["a list"], "where records belong"]'
    old = craft.write(tmp_path / "old.sktransfer", members)
    for door in (load_model, inspect_model):
        with pytest.raises(ModelFileError) as error:
            door(old)
        message = str(error.value)
        assert "format 1, written by sktransfer '0.0.9'" in message
        assert "reads format 2 only" in message and "sktransfer convert" in message


def test_trusted_names_types_to_build_besides_the_allowed_set(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X = np.random.default_rng(0).random((30, 4))
    y = np.arange(30) % 2
    model = make_pipeline(FunctionTransformer(np.nan_to_num), LogisticRegression()).fit(
        X, y
    )
    with pytest.warns(UserWarning, match="refuses unless they are trusted"):
        path = save_model(model, tmp_path / "sqrt.sktransfer")
    with pytest.raises(ValueError, match="numpy.nan_to_num"):
        load_model(path)
    loaded = load_model(path, trusted=["numpy.nan_to_num"])
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    with pytest.raises(TypeError, match="`trusted` must be"):
        load_model(path, trusted="numpy.nan_to_num")


def test_an_interrupted_save_leaves_the_earlier_file_as_it_was(
    saved, small_model, tmp_path, monkeypatch
):
    from sktransfer._model_files import _archive

    before = saved.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_archive.zipfile.ZipFile, "writestr", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_model(small_model[0], saved)
    assert saved.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [saved.name]
