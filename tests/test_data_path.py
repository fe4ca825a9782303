"""The training data path: device placement, streaming, frozen-prefix caching."""

import os

import numpy as np
import pytest
import torch
from sklearn.frozen import FrozenEstimator

from sktransfer import LabelRelationTransfer, PretrainedCNNClassifier
from sktransfer._runtime import _device
from sktransfer._runtime._batches import BatchLoader, ImageDataset
from sktransfer._training import _cache


@pytest.fixture(scope="module")
def data():
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    return X[:240], y[:240], X[240:300]


def _fit(X, y, **params):
    params = {"input_size": 16, "max_epochs": 3, "random_state": 0, **params}
    return PretrainedCNNClassifier("small_cnn", **params).fit(X, y)


@pytest.mark.parametrize("freeze_upto", [1, 3, "all"])
def test_cached_prefix_gives_the_same_model(data, freeze_upto):
    X, y, X_new = data
    cached = _fit(X, y, freeze_upto=freeze_upto)
    plain = _fit(X, y, freeze_upto=freeze_upto, cache_frozen=False)
    assert cached.n_cached_units_ == cached.n_frozen_ > 0
    assert plain.n_cached_units_ == 0
    np.testing.assert_allclose(
        cached.predict_proba(X_new), plain.predict_proba(X_new), rtol=1e-3, atol=1e-5
    )
    assert cached.module_.cached_units == 0  # predict starts from images again


def test_cached_prefix_with_batchnorm_and_early_stopping():
    """A frozen BatchNorm body (ResNet) and a validation split, cached or not."""
    from torchvision.models import resnet18

    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (64, 3, 16, 16), dtype=np.uint8)
    y = np.arange(64) % 2
    probas = []
    for cache in (True, False):
        torch.manual_seed(0)
        clf = PretrainedCNNClassifier(
            resnet18(num_classes=2),
            weights=None,
            freeze_upto=3,
            max_epochs=2,
            early_stopping=True,
            validation_fraction=0.25,
            random_state=0,
            cache_frozen=cache,
        ).fit(X, y)
        assert clf.n_cached_units_ == (3 if cache else 0)
        probas.append(clf.predict_proba(X[:8]))
    np.testing.assert_allclose(probas[0], probas[1], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "params",
    [
        {"freeze_upto": 0},
        {"freeze_upto": 2, "augment": "flip"},
        {"freeze_upto": 2, "freeze_epochs": 1},
        {"freeze_upto": 2, "cache_frozen": False},
    ],
    ids=["nothing-frozen", "augmented", "freeze-schedule", "turned-off"],
)
def test_no_cache_where_it_would_not_be_exact(data, params):
    X, y, _ = data
    assert _fit(X, y, max_epochs=1, **params).n_cached_units_ == 0


def test_cache_over_budget_and_the_disks_room_falls_back(data, monkeypatch):
    X, y, _ = data
    monkeypatch.setattr(_cache, "CACHE_HOST_BYTES", 100)
    monkeypatch.setattr(_cache, "DISK_MARGIN", 1 << 62)  # no disk has that
    clf = _fit(X, y, freeze_upto="all", max_epochs=1)
    assert clf.n_cached_units_ == 0 and clf.predict(X[:3]).shape == (3,)


def test_cache_over_budget_goes_to_a_file_removed_after_the_fit(data, monkeypatch):
    """On the CPU, a cache over the memory budget is a memory-mapped file in
    a temporary folder, with the fit of the in-memory cache; the folder is
    gone after the fit, and after a fit that fails."""
    X, y, _ = data
    in_memory = _fit(X, y, freeze_upto=2, max_epochs=2)
    folders = []
    spilled = _cache._spilled

    def recording(folder, shape, dtype):
        folders.append(folder)
        return spilled(folder, shape, dtype)

    monkeypatch.setattr(_cache, "_spilled", recording)
    monkeypatch.setattr(_cache, "CACHE_HOST_BYTES", 100)
    on_disk = _fit(X, y, freeze_upto=2, max_epochs=2)
    assert on_disk.n_cached_units_ == 2 and len(folders) == 1
    assert not os.path.exists(folders[0])
    np.testing.assert_allclose(
        on_disk.predict_proba(X), in_memory.predict_proba(X), atol=1e-6
    )

    def boom(*args, **kwargs):
        raise RuntimeError("stop")

    monkeypatch.setattr(type(on_disk), "fit_loop", boom)
    with pytest.raises(RuntimeError, match="stop"):
        on_disk.partial_fit(X, y)
    assert len(folders) == 2 and not os.path.exists(folders[1])


def test_partial_fit_and_label_relation_transfer_use_the_cache(data):
    X, y, X_new = data
    clf = _fit(X, y, freeze_upto=2, max_epochs=1)
    clf.partial_fit(X, y)
    assert clf.n_cached_units_ == 2 and len(clf.history) == 2
    lrt = LabelRelationTransfer(
        FrozenEstimator(clf), freeze_upto=3, max_epochs=1, random_state=0
    ).fit(X[y < 5], y[y < 5])
    assert lrt.n_cached_units_ == 3
    assert lrt.predict(X_new).shape == (60,)


def test_cache_is_released_when_fit_fails(data, monkeypatch):
    X, y, _ = data
    clf = _fit(X, y, freeze_upto=2, max_epochs=1)

    def boom(*args, **kwargs):
        raise RuntimeError("stop")

    monkeypatch.setattr(type(clf), "fit_loop", boom)
    with pytest.raises(RuntimeError, match="stop"):
        clf.partial_fit(X, y)
    assert clf.module_.cached_units == 0


def test_compute_prefix_matches_the_network(data):
    X, y, _ = data
    clf = _fit(X, y, freeze_upto=2, max_epochs=1)
    network = clf.module_
    images = torch.as_tensor(X[:10, None])
    prefix = _cache.compute_prefix(network, images, 2, "cpu", 4, "float32")
    with torch.no_grad():
        network.eval()
        whole = network(images)
        assert torch.allclose(network.forward_suffix(prefix, 2), whole, atol=1e-5)


def test_images_stream_from_host_when_they_do_not_fit(data, monkeypatch):
    X, y, X_new = data
    monkeypatch.setattr(_device, "fits_on_device", lambda nbytes, device: False)
    streamed = _fit(X, y, max_epochs=1, cache_frozen=False)
    monkeypatch.undo()
    resident = _fit(X, y, max_epochs=1, cache_frozen=False)
    np.testing.assert_allclose(
        streamed.predict_proba(X_new), resident.predict_proba(X_new), rtol=1e-5
    )


def test_batch_loader_copies_batches_to_the_dataset_device():
    X = torch.arange(20, dtype=torch.uint8).reshape(5, 1, 2, 2)
    dataset = ImageDataset(X, torch.arange(5), device="meta")
    batches = list(BatchLoader(dataset, batch_size=2))
    assert [b.device.type for b, _ in batches] == ["meta"] * 3
    assert all(t.device.type == "meta" for _, t in batches)


def test_memory_budgets(monkeypatch):
    assert _device.fits_on_device(10**15, "cpu")
    monkeypatch.setattr(_device, "free_cuda_bytes", lambda device: 1000)
    assert _device.fits_on_device(250, "cuda")
    assert not _device.fits_on_device(251, "cuda")
    X = torch.zeros(3)
    assert _device.place_images(X, "cpu") is X


@pytest.mark.slow  # torch.compile
def test_torch_compile_gives_the_same_model():
    """skorch's ``compile=True`` (off by default: it does not pay on the CPU)."""
    rng = np.random.default_rng(0)
    X, y = rng.random((64, 16)).astype(np.float32), np.arange(64) % 2
    params = {"input_size": 4, "max_epochs": 2, "random_state": 0, "freeze_upto": 1}
    compiled = PretrainedCNNClassifier("mlp", compile=True, **params).fit(X, y)
    plain = PretrainedCNNClassifier("mlp", **params).fit(X, y)
    assert compiled.n_cached_units_ == 1
    np.testing.assert_allclose(
        compiled.predict_proba(X), plain.predict_proba(X), rtol=1e-3, atol=1e-4
    )
