import gzip
import struct

import numpy as np
import pytest

from sktransfer.datasets import load_digits_images, load_fashion_mnist


def test_load_digits_images():
    X, y = load_digits_images()
    assert X.shape == (1797, 8, 8) and X.dtype == np.uint8
    assert X.max() == 255 and set(np.unique(y)) == set(range(10))


def _write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim)
    header += struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_load_fashion_mnist_from_a_folder(tmp_path):
    images = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 3]))
    X, y = load_fashion_mnist(tmp_path, subset="test")
    np.testing.assert_array_equal(X, images)
    np.testing.assert_array_equal(y, [1, 2, 3])


def test_load_fashion_mnist_env_var(tmp_path, monkeypatch):
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((2, 28, 28)))
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([0, 1]))
    monkeypatch.setenv("SKTRANSFER_FASHION_MNIST", str(tmp_path))
    assert load_fashion_mnist()[0].shape == (2, 28, 28)


def test_load_fashion_mnist_missing_files_say_where_and_how(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="apt-get install dataset-fashion-mnist"
    ):
        load_fashion_mnist(tmp_path)
    with pytest.raises(ValueError, match="`subset`"):
        load_fashion_mnist(tmp_path, subset="validation")


def test_load_fashion_mnist_bad_files(tmp_path):
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((2, 28, 28)))
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="disagree"):
        load_fashion_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x0d\x01junk")
    with pytest.raises(ValueError, match="not an IDX file"):
        load_fashion_mnist(tmp_path)


# --- load_image_folder ------------------------------------------------------


def _save(path, array, mode=None):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path)


def test_load_image_folder_grayscale_and_labels(tmp_path):
    from sktransfer.datasets import load_image_folder

    _save(tmp_path / "b" / "1.png", np.full((6, 4), 10, np.uint8))
    _save(tmp_path / "a" / "1.png", np.full((6, 4), 20, np.uint8))
    _save(tmp_path / "a" / "2.jpg", np.full((6, 4), 30, np.uint8))
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    X, y = load_image_folder(tmp_path)
    assert X.shape == (3, 6, 4) and X.dtype == np.uint8
    assert y.tolist() == ["a", "a", "b"]
    assert X[0, 0, 0] == 20 and X[2, 0, 0] == 10


def test_load_image_folder_mixed_modes_become_rgb_and_resize(tmp_path):
    from sktransfer.datasets import load_image_folder

    _save(tmp_path / "x" / "grey.png", np.full((8, 8), 50, np.uint8))
    _save(tmp_path / "y" / "rgb.png", np.zeros((4, 6, 3), np.uint8))
    _save(tmp_path / "y" / "deep.png", np.full((5, 5), 65535, np.uint16))
    X, y = load_image_folder(tmp_path, image_size=(3, 5))
    assert X.shape == (3, 3, 5, 3)
    np.testing.assert_array_equal(X[0, ..., 0], X[0, ..., 2])  # grey copied to RGB
    assert X[1].max() == 255  # 16-bit scaled to 8 bits
    X, _ = load_image_folder(tmp_path, image_size=4, progress=True)
    assert X.shape == (3, 4, 4, 3)


def test_load_image_folder_mixed_sizes_need_image_size(tmp_path):
    from sktransfer.datasets import load_image_folder

    _save(tmp_path / "a" / "1.png", np.zeros((4, 4), np.uint8))
    _save(tmp_path / "b" / "1.png", np.zeros((5, 5), np.uint8))
    with pytest.raises(ValueError, match="different sizes.*`image_size`"):
        load_image_folder(tmp_path)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda root: root / "missing", NotADirectoryError, "does not exist"),
        (lambda root: root, ValueError, "no class sub-folders"),
        (lambda root: (root / "a").mkdir() or root, ValueError, "holds no images"),
        (
            lambda root: (
                _save(root / "a" / "ok.png", np.zeros((2, 2), np.uint8))
                or (root / "a" / "x.png").write_bytes(b"garbage")
                and root
            ),
            ValueError,
            "Cannot read image .*x.png",
        ),
    ],
    ids=["missing", "no-classes", "empty-class", "unreadable"],
)
def test_load_image_folder_bad_folders(tmp_path, make, error, match):
    from sktransfer.datasets import load_image_folder

    with pytest.raises(error, match=match):
        load_image_folder(make(tmp_path))


@pytest.mark.parametrize("bad", [0, -3, (4,), "big", 2.5])
def test_load_image_folder_rejects_bad_image_size(tmp_path, bad):
    from sktransfer.datasets import load_image_folder

    with pytest.raises(ValueError, match="`image_size`"):
        load_image_folder(tmp_path, image_size=bad)
    with pytest.raises(ValueError, match="`progress`"):
        load_image_folder(tmp_path, progress="yes")


# --- class_split and dendrogram_split ---------------------------------------


def test_class_split():
    from sktransfer.datasets import class_split

    X = np.arange(12).reshape(6, 2)
    y = np.array(["a", "b", "c", "a", "b", "c"])
    X_a, y_a, X_b, y_b = class_split(X, y, ["a"])
    assert y_a.tolist() == ["a", "a"] and y_b.tolist() == ["b", "c", "b", "c"]
    np.testing.assert_array_equal(X_a, X[[0, 3]])
    _, _, _, y_b = class_split(X, y, ["a"], target_classes=["c"])
    assert y_b.tolist() == ["c", "c"]
    for bad in ([], ["z"]):
        with pytest.raises(ValueError, match="`source_classes`"):
            class_split(X, y, bad)
    with pytest.raises(ValueError, match="leave at least one"):
        class_split(X, y, ["a", "b", "c"])
    with pytest.raises(ValueError, match="`target_classes`"):
        class_split(X, y, ["a"], target_classes=["a"])
    with pytest.raises(ValueError, match="`X` has 6 samples"):
        class_split(X, y[:3], ["a"])


def _clustered(rng, sizes, label_count=2):
    """Per label, well separated groups of the given sizes."""
    X, y = [], []
    for label in range(label_count):
        for group, size in enumerate(sizes):
            X.append(rng.normal(20 * group, 0.5, (size, 3, 3)))
            y.extend([label] * size)
    return np.concatenate(X), np.array(y)


def test_dendrogram_split_level_1_keeps_labels_and_puts_larger_node_in_source():
    from sktransfer.datasets import dendrogram_split

    rng = np.random.default_rng(0)
    X, y = _clustered(rng, (12, 5))
    X = X - X.min()
    X_s, y_s, X_t, y_t, nodes = dendrogram_split(X, y, return_nodes=True)
    assert len(y_s) + len(y_t) == len(y)
    assert np.bincount(y_s).tolist() == [12, 12] and np.bincount(y_t).tolist() == [5, 5]
    for node in nodes:  # every node holds a single label
        assert set(y[node["index"]]) == {node["label"]}
    for label in (0, 1):
        mine = [n for n in nodes if n["label"] == label]
        source = next(n for n in mine if n["role"] == "source")
        target = next(n for n in mine if n["role"] == "target")
        assert source["size"] > target["size"]
        assert not set(source["index"]) & set(target["index"])


def test_dendrogram_split_level_2_and_target_nodes():
    from sktransfer.datasets import dendrogram_split

    rng = np.random.default_rng(1)
    X, y = _clustered(rng, (9, 7, 5, 3))
    features = X.reshape(len(X), -1)
    _, y_s, _, y_t, nodes = dendrogram_split(
        X, y, embedding=features, level=2, return_nodes=True
    )
    assert sorted(n["size"] for n in nodes if n["label"] == 0) == [3, 5, 7, 9]
    assert np.bincount(y_t).tolist() == [3, 3]
    chosen = next(n for n in nodes if n["label"] == 0 and n["size"] == 9)["node"]
    _, _, _, y_t, nodes = dendrogram_split(
        X,
        y,
        embedding=features,
        level=2,
        target_nodes={0: chosen},
        return_nodes=True,
    )
    assert np.bincount(y_t).tolist() == [9, 3]


def test_dendrogram_split_with_a_transformer_and_cosine_linkage():
    from sklearn.preprocessing import FunctionTransformer

    from sktransfer.datasets import dendrogram_split

    rng = np.random.default_rng(2)
    X, y = _clustered(rng, (6, 4))
    flatten = FunctionTransformer(
        lambda X: (
            X.reshape(len(X), -1)
            + 100 * np.sign(X.reshape(len(X), -1).mean(axis=1, keepdims=True) - 10)
        )
    )
    X_s, y_s, X_t, y_t = dendrogram_split(X, y, embedding=flatten, method="average")
    assert len(y_s) > len(y_t) and set(y_s) == set(y_t) == {0, 1}


def test_dendrogram_split_errors():
    from sktransfer.datasets import dendrogram_split

    X, y = np.zeros((6, 2, 2)), np.array([0, 0, 0, 1, 1, 1])
    with pytest.raises(ValueError, match="`level`"):
        dendrogram_split(X, y, level=3)
    with pytest.raises(ValueError, match="`target_nodes` applies"):
        dendrogram_split(X, y, target_nodes={0: 1})
    with pytest.raises(ValueError, match="at least 4"):
        dendrogram_split(X, y, level=2)
    with pytest.raises(ValueError, match="all-zero embeddings"):
        dendrogram_split(X, y, method="average")
    with pytest.raises(ValueError, match=r"`embedding` must have shape \(6, d\)"):
        dendrogram_split(X, y, embedding=np.zeros((5, 2)))
    X, y = np.random.default_rng(0).random((8, 2, 2)), np.repeat([0, 1], 4)
    with pytest.raises(ValueError, match="`target_nodes` names labels"):
        dendrogram_split(X, y, level=2, target_nodes={7: 0})
    with pytest.raises(ValueError, match=r"`target_nodes\[0\]` must be"):
        dendrogram_split(X, y, level=2, target_nodes={0: 9})


# --- signal_windows ---------------------------------------------------------


def test_signal_windows_images_and_labels():
    from sktransfer.datasets import signal_windows

    t = np.arange(60, dtype=float)
    signals = np.stack([t, -t, np.ones_like(t)], axis=1)
    labels = np.zeros(60, int)
    labels[25] = 2
    images, y = signal_windows(signals, 10, step=5, labels=labels)
    assert images.shape == (11, 3, 10) and images.dtype == np.float32
    assert y.tolist() == [0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0]
    assert 0 <= images.min() and images.max() <= 1
    np.testing.assert_allclose(images[:, 0], images[0, 0][None].repeat(11, 0))
    np.testing.assert_allclose(images[0, 1], images[0, 0][::-1], atol=1e-6)
    np.testing.assert_allclose(images[:, 2], 0.5)  # a flat channel is mid-grey
    assert signal_windows(t, 20).shape == (3, 1, 20)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"signals": np.zeros((2, 2, 2))}, "`signals` must have shape"),
        ({"signals": np.full((20, 2), np.nan)}, "NaN"),
        ({"window": 0}, "`window`"),
        ({"window": 50}, "longer than the 20"),
        ({"step": 1.5}, "`step`"),
        ({"clip": 0}, "`clip`"),
        ({"labels": np.zeros(5)}, r"`labels` must have shape \(20,\)"),
    ],
)
def test_signal_windows_errors(kwargs, match):
    from sktransfer.datasets import signal_windows

    arguments = {"signals": np.zeros((20, 2)), "window": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        signal_windows(**arguments)
