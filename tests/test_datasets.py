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
