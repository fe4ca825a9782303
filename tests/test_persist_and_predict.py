"""Saving a fitted model, loading it, and labelling a folder of new images
(`sktransfer predict`)."""

import csv
import os
import pickle
import sys

import numpy as np
import pytest
from PIL import Image

from sktransfer import PretrainedCNNClassifier, load_model, save_model
from sktransfer._cli import main
from sktransfer.baselines import linear_svm_on_pixels


@pytest.fixture(scope="module")
def fitted():
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    model = PretrainedCNNClassifier(
        "small_cnn", input_size=16, max_epochs=3, random_state=0
    ).fit(X[:120], y[:120])
    return model, X[120:130], y[120:130]


def test_save_and_load_predict_identically(fitted, tmp_path):
    model, X, _ = fitted
    path = save_model(model, tmp_path / "model.sktransfer")
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.classes_, model.classes_)


def test_pickles_are_refused_and_convert_turns_a_trusted_one_into_a_model_file(
    fitted, tmp_path, capsys
):
    import joblib

    model, X, _ = fitted
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps(model))
    for trusted in (False, True):
        with pytest.raises(ValueError, match="is a pickle.*sktransfer convert"):
            load_model(plain, trusted=trusted)
    assert main(["convert", str(plain), str(tmp_path / "plain.sktransfer")]) == 0
    out = capsys.readouterr().out
    assert "runs whatever code it holds" in out and "untrusted types:" in out
    restored = load_model(tmp_path / "plain.sktransfer")
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    old = tmp_path / "old.joblib"
    wrapped = {"format": "sktransfer-model", "version": "0.0.1", "model": model}
    joblib.dump(wrapped, old)
    assert main(["convert", str(old), str(tmp_path / "old.sktransfer")]) == 0
    restored = load_model(tmp_path / "old.sktransfer")
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    joblib.dump([1, 2], tmp_path / "list.joblib")
    assert main(["convert", str(tmp_path / "list.joblib"), str(tmp_path / "x")]) == 2
    assert "holds a list, not a model" in capsys.readouterr().err
    assert main(["convert", str(tmp_path / "plain.sktransfer"), "x"]) == 2
    assert "`OLD`" in capsys.readouterr().err


def test_persistence_errors_name_the_argument(fitted, tmp_path):
    model, _, _ = fitted
    with pytest.raises(FileNotFoundError, match="`path`.*does not exist"):
        save_model(model, tmp_path / "missing" / "model.sktransfer")
    with pytest.raises(TypeError, match="`model` must be a fitted estimator"):
        save_model(np.zeros(3), tmp_path / "x.sktransfer")
    with pytest.raises(FileNotFoundError, match="`path`"):
        load_model(tmp_path / "nothing.sktransfer")
    junk = tmp_path / "junk.sktransfer"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="is not a model file"):
        load_model(junk)


def _new_images(folder, X):
    folder.mkdir()
    for i, image in enumerate(X):
        # New photos come at another size: the model resizes them.
        Image.fromarray(image).resize((12, 12)).save(folder / f"new_{i:02d}.png")
    (folder / "notes.txt").write_text("not an image")
    return sorted(str(p) for p in folder.glob("*.png"))


def test_predict_command_writes_path_label_probabilities(fitted, tmp_path, capsys):
    model, X, _ = fitted
    path = save_model(model, tmp_path / "model.sktransfer")
    files = _new_images(tmp_path / "new", X)
    out = tmp_path / "labels.csv"
    assert main(["predict", str(path), str(tmp_path / "new"), "--out", str(out)]) == 0
    assert "Labelled 10 images" in capsys.readouterr().out
    rows = list(csv.DictReader(out.open()))
    assert [row["path"] for row in rows] == files
    assert list(rows[0]) == ["path", "label", *(f"proba_{c}" for c in model.classes_)]
    # The same labels as predicting on the images read back in Python.
    from sktransfer.datasets import load_images

    images, _ = load_images(tmp_path / "new", image_size=(8, 8), color="grey")
    assert [row["label"] for row in rows] == [str(v) for v in model.predict(images)]
    proba = np.array(
        [[float(row[f"proba_{c}"]) for c in model.classes_] for row in rows]
    )
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-4)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_model_files_and_csvs_get_the_mode_the_umask_gives(
    fitted, tmp_path, capsys, umask, mode
):
    model, X, _ = fitted
    _new_images(tmp_path / "new", X)
    old = os.umask(umask)
    try:
        path = save_model(model, tmp_path / "model.sktransfer")
        out = tmp_path / "labels.csv"
        assert (
            main(["predict", str(path), str(tmp_path / "new"), "--out", str(out)]) == 0
        )
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == mode
    assert os.stat(out).st_mode & 0o777 == mode
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "labels.csv",
        "model.sktransfer",
        "new",
    ]


def test_predict_command_on_files_to_stdout_and_a_pipeline(digits, tmp_path, capsys):
    X, y = digits
    svm = linear_svm_on_pixels(random_state=0).fit(X[:100], y[:100])
    path = save_model(svm, tmp_path / "svm.sktransfer")
    files = _new_images(tmp_path / "new", X[100:103])
    assert main(["predict", str(path), *files[:2], "--out", "-"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "path,label" and len(lines) == 3  # no predict_proba


def test_predict_command_errors_are_one_line(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "none.sktransfer"), str(tmp_path)]) == 2
    assert "sktransfer predict: error: `path`" in capsys.readouterr().err


@pytest.mark.parametrize("n_targets", [1, 2])
def test_predict_command_and_inspect_on_a_regressor(tmp_path, capsys, n_targets):
    """A regressor's file: the CSV holds its predicted values in the user's
    units (one column per target), and inspect names the targets instead of
    classes."""
    from sktransfer import PretrainedCNNRegressor, inspect_model
    from sktransfer.datasets import load_digits_images, load_images

    X, _ = load_digits_images()
    ink = X[:100].mean(axis=(1, 2)).astype(float)
    y = ink if n_targets == 1 else np.column_stack([ink, 10 * ink])
    model = PretrainedCNNRegressor(
        "small_cnn", input_size=16, max_epochs=2, random_state=0
    ).fit(X[:100], y)
    path = save_model(model, tmp_path / "reg.sktransfer")
    files = _new_images(tmp_path / "new", X[100:104])
    out = tmp_path / "values.csv"
    assert main(["predict", str(path), str(tmp_path / "new"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Predicted 4 images (prediction")
    rows = list(csv.DictReader(out.open()))
    assert [row["path"] for row in rows] == files
    names = ["prediction"] if n_targets == 1 else ["prediction_0", "prediction_1"]
    assert list(rows[0]) == ["path", *names]
    images, _ = load_images(tmp_path / "new", image_size=(8, 8), color="grey")
    expected = model.predict(images).reshape(len(images), -1)
    got = np.array([[float(row[name]) for name in names] for row in rows])
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert 40 < got[:, 0].mean() < 120  # the ink's units, not standardised

    info = inspect_model(path)
    assert info.summary["targets"]["n"] == n_targets
    np.testing.assert_allclose(info.summary["targets"]["mean"], y.mean(axis=0).ravel())
    assert main(["inspect", str(path)]) == 0
    printed = capsys.readouterr().out
    assert f"targets:              {n_targets} continuous (training mean" in printed
    assert "classes:" not in printed


@pytest.mark.skipif(sys.platform != "linux", reason="file names of any bytes")
def test_predict_command_keeps_the_old_csv_when_a_name_is_not_utf8(
    fitted, tmp_path, capsys
):
    model, X, _ = fitted
    path = save_model(model, tmp_path / "model.sktransfer")
    folder = tmp_path / "new"
    _new_images(folder, X[:3])
    odd = os.fsencode(folder) + b"/caf\xe9.png"  # Latin-1, not UTF-8
    Image.fromarray(X[3]).save(odd.decode(errors="surrogateescape"), format="PNG")
    out = tmp_path / "labels.csv"
    out.write_text("the old labels\n")
    assert main(["predict", str(path), str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "caf\\xe9.png" in err and "not UTF-8" in err
    assert out.read_text() == "the old labels\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "labels.csv",
        "model.sktransfer",
        "new",
    ]
    os.remove(odd)
    assert main(["predict", str(path), str(folder), "--out", str(out)]) == 0
    assert out.read_text().startswith("path,label")
    assert not list(tmp_path.glob(".labels.csv.*"))


def test_predict_command_device_is_the_programs(fitted, tmp_path, capsys):
    model, X, _ = fitted
    path = save_model(model, tmp_path / "model.sktransfer")
    _new_images(tmp_path / "new", X[:2])
    out = tmp_path / "labels.csv"
    args = ["predict", str(path), str(tmp_path / "new"), "--out", str(out)]
    assert main([*args, "--device", "cpu"]) == 0
    assert main([*args, "--device", "tpu"]) == 2  # refused by the estimator, one line
    assert capsys.readouterr().err.count("\n") == 1
    bad_out = ["predict", str(path), str(tmp_path / "new"), "--out", "/no/such/x.csv"]
    assert main(bad_out) == 2
    assert "`--out` /no/such/x.csv" in capsys.readouterr().err


def test_animated_and_multipage_images_say_only_the_first_frame_is_read(tmp_path):
    from sktransfer.datasets import load_images

    folder = tmp_path / "frames"
    folder.mkdir()
    frames = [Image.new("L", (8, 8), color) for color in (0, 128, 255)]
    frames[0].save(folder / "a.gif", save_all=True, append_images=frames[1:])
    frames[0].save(folder / "b.tiff", save_all=True, append_images=frames[1:])
    frames[0].save(folder / "c.png")
    with pytest.warns(UserWarning) as caught:
        X, paths = load_images(folder)
    messages = sorted(str(w.message) for w in caught if "frames" in str(w.message))
    assert len(messages) == 2
    assert "a.gif holds 3 frames" in messages[0] and "GIF" in messages[0]
    assert "b.tiff holds 3 frames" in messages[1] and "TIFF" in messages[1]
    assert "only the first frame is read" in messages[0]
    assert (X[:, 0, 0] == 0).all()  # the first frame of each
