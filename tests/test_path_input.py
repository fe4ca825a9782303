"""Image files as X: a 1-D array of paths wherever images are accepted."""

import functools
import pathlib

import numpy as np
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline

from sktransfer import CNNFeatureExtractor, PretrainedCNNClassifier
from sktransfer._inputs._paths import PATH_SIDE, is_image_paths
from sktransfer.baselines import linear_svm_on_pixels
from sktransfer.datasets import (
    list_image_folder,
    list_images,
    load_digits_images,
    load_image_folder,
    load_images,
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Three classes of real images (digits), 12 each, as PNG class folders."""
    root = tmp_path_factory.mktemp("digits")
    X, y = load_digits_images()
    for label in (0, 1, 2):
        (root / str(label)).mkdir()
        for i, image in enumerate(X[y == label][:12]):
            Image.fromarray(image).save(root / str(label) / f"{i:02d}.png")
    return root


def _count_reads(monkeypatch):
    """The number of files of each read of image files, as they happen."""
    from sktransfer._inputs import _paths

    read, real_read = [], _paths.read_images

    def counting_read(files, *args, **kwargs):
        read.append(len(files))
        return real_read(files, *args, **kwargs)

    monkeypatch.setattr(_paths, "read_images", counting_read)
    return read


def _read_in_eights(monkeypatch):
    """Count the reads of image files (:func:`_count_reads`) with every pass
    over files (their scale, content order, the cache, the batches) reading
    at most 8 at a time, and decoding them all at once a failure."""
    from sktransfer._inputs import _paths
    from sktransfer._runtime import content_order
    from sktransfer._training import _training_set

    read = _count_reads(monkeypatch)
    monkeypatch.setattr(
        _paths.ImageFiles, "load", lambda self: pytest.fail("all files decoded")
    )
    monkeypatch.setattr(_paths, "PATH_CHUNK", 8)
    monkeypatch.setattr(
        _training_set, "content_order", functools.partial(content_order, chunk=8)
    )
    return read


def _classifier(**params):
    return PretrainedCNNClassifier("small_cnn", max_epochs=2, random_state=0, **params)


def test_listing_reads_no_image_and_matches_loading(folder):
    paths, y = list_image_folder(folder)
    X, y_loaded, loaded_paths = load_image_folder(folder, return_paths=True)
    assert paths.tolist() == loaded_paths.tolist()
    assert y.tolist() == y_loaded.tolist()
    new = list_images(folder / "1")
    assert new.tolist() == load_images(folder / "1")[1].tolist()


@pytest.mark.parametrize(
    "kind", [np.array, list, lambda p: [pathlib.Path(v) for v in p]]
)
def test_paths_fit_and_predict_as_the_same_images_do(folder, kind):
    paths, y = list_image_folder(folder)
    X, _ = load_image_folder(folder)
    from_paths = _classifier().fit(kind(paths), y)
    from_arrays = _classifier().fit(X, y)
    assert from_paths.image_shape_ == from_arrays.image_shape_ == (1, 8, 8)
    np.testing.assert_array_equal(
        from_paths.predict_proba(kind(paths)), from_arrays.predict_proba(X)
    )
    assert from_paths.score(kind(paths), y) == from_arrays.score(X, y)
    assert from_paths.predict(paths[:1]).shape == (1,)


def test_partial_fit_and_transform_take_paths(folder):
    paths, y = list_image_folder(folder)
    clf = _classifier().partial_fit(paths, y, classes=np.unique(y))
    assert clf.predict(paths).shape == (len(paths),)
    features = CNNFeatureExtractor("small_cnn").fit(paths)
    X, _ = load_image_folder(folder)
    np.testing.assert_array_equal(features.transform(paths), features.transform(X))


def test_paths_of_several_sizes_are_read_at_one_side(tmp_path):
    rng = np.random.default_rng(0)
    files = []
    for i, (h, w) in enumerate([(30, 40), (64, 64), (300, 200)]):
        files.append(tmp_path / f"{i}.jpg")
        Image.fromarray(rng.integers(0, 255, (h, w, 3), np.uint8)).save(files[-1])
    extractor = CNNFeatureExtractor("small_cnn").fit(files)
    assert extractor.image_shape_ == (3, PATH_SIDE, PATH_SIDE)
    # One size over PATH_SIDE: stretched too; grey files of one small size
    # stay as they are.
    big = tmp_path / "big.png"
    Image.fromarray(rng.integers(0, 255, (400, 300), np.uint8)).save(big)
    assert CNNFeatureExtractor("small_cnn").fit([big]).image_shape_ == (1, 224, 224)
    assert CNNFeatureExtractor("small_cnn").fit([big, big]).image_shape_[1:] == (
        224,
        224,
    )


def test_paths_through_pipeline_search_and_cross_validation(folder):
    paths, y = list_image_folder(folder)
    cv = cross_validate(linear_svm_on_pixels(), paths, y, cv=3)
    assert cv["test_score"].mean() > 0.8
    pipe = make_pipeline(
        CNNFeatureExtractor("small_cnn"), LogisticRegression(max_iter=200)
    )
    assert pipe.fit(paths, y).predict(paths).shape == (len(paths),)
    search = GridSearchCV(_classifier(), {"lr": [1e-3, 3e-3]}, cv=2).fit(paths, y)
    assert search.predict(paths).shape == (len(paths),)


def test_what_is_not_a_list_of_image_files_is_refused_by_name(folder, tmp_path):
    paths, y = list_image_folder(folder)
    clf = _classifier().fit(paths, y)
    with pytest.raises(TypeError, match="mixes file paths with other values"):
        clf.predict([paths[0], 3])
    with pytest.raises(FileNotFoundError, match="not files: \\['nowhere.png'\\]"):
        clf.predict(np.array([paths[0], "nowhere.png"]))
    broken = []
    for name in ("a.png", "b.jpg"):
        broken.append(tmp_path / name)
        broken[-1].write_bytes(b"not an image")
    with pytest.raises(ValueError, match="2 of the 3 files") as error:
        clf.predict([paths[0], *broken])
    assert "a.png" in str(error.value) and "b.jpg" in str(error.value)
    with pytest.raises(ValueError, match="must hold real numbers"):
        clf.predict(np.array([["a", "b"]]))
    assert not is_image_paths(np.array([], dtype=object))
    assert not is_image_paths(np.arange(3))


def _predict_partition(paths, model):
    return model.predict(np.asarray(list(paths), dtype=object)).tolist()


@pytest.mark.slow  # a Dask cluster of worker processes
def test_paths_on_a_dask_cluster(folder):
    """A search over paths with joblib's Dask backend, and predictions of a
    path collection by partitions: the worker processes read the files."""
    distributed = pytest.importorskip("dask.distributed")
    bag = pytest.importorskip("dask.bag")
    import joblib

    paths, y = list_image_folder(folder)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster):
            with joblib.parallel_backend("dask"):
                search = GridSearchCV(
                    _classifier(), {"lr": [1e-3, 3e-3]}, cv=2, n_jobs=-1
                ).fit(paths, y)
            parts = bag.from_sequence(paths.tolist(), npartitions=3)
            labels = parts.map_partitions(
                _predict_partition, search.best_estimator_
            ).compute()
    np.testing.assert_array_equal(labels, search.predict(paths))


def test_many_files_are_read_a_bounded_number_at_a_time(folder, monkeypatch):
    """Predictions and features of more files than a chunk are computed a
    chunk at a time, and are those of the whole set read at once."""
    from sktransfer._inputs import _paths

    paths, y = list_image_folder(folder)
    clf = _classifier().fit(paths, y)
    extractor = CNNFeatureExtractor("small_cnn").fit(paths)
    whole_proba, whole_features = clf.predict_proba(paths), extractor.transform(paths)
    read = _count_reads(monkeypatch)
    monkeypatch.setattr(_paths, "PATH_CHUNK", 10)
    np.testing.assert_allclose(clf.predict_proba(paths), whole_proba, atol=1e-6)
    assert read == [10, 10, 10, 6]
    np.testing.assert_allclose(extractor.transform(paths), whole_features, atol=1e-5)
    assert clf.score(paths, y) == pytest.approx(clf.score(paths[:36], y[:36]))


def test_a_chunk_is_bounded_by_the_pixels_of_the_fitted_size(folder, monkeypatch):
    """Large images make smaller chunks: the decoded pixels of a chunk, at
    the fitted size, stay under PATH_CHUNK_BYTES whatever the file count."""
    from sktransfer._cli import _predict
    from sktransfer._inputs import _paths

    paths, y = list_image_folder(folder)
    clf = _classifier().fit(paths, y)
    extractor = CNNFeatureExtractor("small_cnn").fit(paths)
    whole_proba, whole_features = clf.predict_proba(paths), extractor.transform(paths)
    per_image = int(np.prod(clf.image_shape_))
    monkeypatch.setattr(_paths, "PATH_CHUNK_BYTES", 12 * per_image + per_image // 2)
    read = _count_reads(monkeypatch)
    np.testing.assert_allclose(clf.predict_proba(paths), whole_proba, atol=1e-6)
    assert read == [12, 12, 12]
    read.clear()
    np.testing.assert_allclose(extractor.transform(paths), whole_features, atol=1e-5)
    assert read == [12, 12, 12]
    # The predict command too; in colour, a third as many files a chunk.
    loaded, real_load = [], _predict.load_images

    def counting_load(files, *args, **kwargs):
        loaded.append(len(files))
        return real_load(files, *args, **kwargs)

    monkeypatch.setattr(_predict, "load_images", counting_load)
    rows = _predict.predict_images(clf, list(paths))
    assert len(rows) == 36 and loaded == [12, 12, 12]
    assert _paths.files_per_chunk((3, *clf.image_shape_[1:])) == 4
    assert _paths.files_per_chunk((3, 10**5, 10**5)) == 1


def _folder_with_broken_files(folder, tmp_path):
    """The digits' files and two broken ones, in one flat folder."""
    flat = tmp_path / "flat"
    flat.mkdir()
    paths, _ = list_image_folder(folder)
    for i, path in enumerate(paths):
        (flat / f"{i:03d}.png").write_bytes(pathlib.Path(path).read_bytes())
    (flat / "050.png").write_bytes(b"")
    (flat / "051.jpg").write_bytes(b"GIF89a not really")
    return flat


def test_broken_files_among_many_are_named_before_any_work(
    folder, tmp_path, monkeypatch
):
    from sktransfer._inputs import _paths

    paths, y = list_image_folder(folder)
    clf = _classifier().fit(paths, y)
    files = list_images(_folder_with_broken_files(folder, tmp_path))
    read = []
    monkeypatch.setattr(_paths, "read_images", lambda *a, **k: read.append(1))
    monkeypatch.setattr(_paths, "PATH_CHUNK", 10)
    with pytest.raises(ValueError, match="2 of the 38 files in `X`") as error:
        clf.predict(files)
    assert "050.png" in str(error.value) and "051.jpg" in str(error.value)
    assert not read  # found by the header scan, before any image was read


def test_the_predict_command_streams_and_writes_whole(folder, tmp_path, monkeypatch):
    from sktransfer import load_model, save_model
    from sktransfer._cli import _predict, main
    from sktransfer._inputs import _paths

    paths, y = list_image_folder(folder)
    model = save_model(_classifier().fit(paths, y), tmp_path / "m.sktransfer")
    new = tmp_path / "new"
    new.mkdir()
    for i, path in enumerate(paths):
        (new / f"{i:03d}.png").write_bytes(pathlib.Path(path).read_bytes())
    loaded = load_model(model)
    whole = _predict.predict_images(loaded, [str(new)])
    streamed = list(_predict.iter_prediction_rows(loaded, [str(new)], chunk=5))
    assert len(whole) == 36
    # Other batches: the same labels, probabilities to float32's precision.
    assert [r["label"] for r in streamed] == [r["label"] for r in whole]
    for a, b in zip(streamed, whole, strict=True):
        assert a["path"] == b["path"]
        for key in ("proba_0", "proba_1", "proba_2"):
            assert float(a[key]) == pytest.approx(float(b[key]), abs=2e-6)
    # A broken file in the last chunk: named before any row, no CSV left.
    (new / "zzz.png").write_bytes(b"broken")
    monkeypatch.setattr(_paths, "PATH_CHUNK", 10)
    out = tmp_path / "labels.csv"
    assert main(["predict", str(model), str(new), "--out", str(out)]) != 0
    assert not out.exists()
    (new / "zzz.png").unlink()
    assert main(["predict", str(model), str(new), "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 37


def test_paths_in_a_pandas_series_and_one_path_alone(folder):
    pd = pytest.importorskip("pandas")
    paths, y = list_image_folder(folder)
    clf = _classifier().fit(pd.Series(paths), pd.Series(y))
    np.testing.assert_array_equal(clf.predict(pd.Series(paths)), clf.predict(paths))
    with pytest.raises(TypeError, match="`X` is one path"):
        clf.predict(paths[0])
    with pytest.raises(TypeError, match="`X` is one path"):
        clf.predict(pathlib.Path(paths[0]))


@pytest.mark.parametrize("sample_weight", [None, "weights"])
def test_a_frozen_body_fits_on_files_a_batch_at_a_time(
    folder, monkeypatch, sample_weight
):
    """With the body frozen and cached, fit reads the files a slice at a time
    (never all at once) and fits what the same images as an array fit."""
    paths, y = list_image_folder(folder)
    X, _ = load_image_folder(folder)
    weights = None if sample_weight is None else np.arange(len(y)) % 3
    from_arrays = _classifier(freeze_upto="all", batch_size=8).fit(
        X, y, sample_weight=weights
    )
    # Every pass over the files (their scale, content order and the cache)
    # reads at most 8 of them at a time here.
    read = _read_in_eights(monkeypatch)
    clf = _classifier(freeze_upto="all", batch_size=8, iterator_valid__batch_size=8)
    clf.fit(
        paths[::-1], y[::-1], sample_weight=None if weights is None else weights[::-1]
    )
    assert clf.n_cached_units_ == len(clf.module_.unit_names)
    assert max(read) <= 8 < len(paths)
    monkeypatch.undo()
    assert clf.image_shape_ == from_arrays.image_shape_
    assert clf.pixel_max_ == from_arrays.pixel_max_
    np.testing.assert_allclose(
        clf.predict_proba(paths), from_arrays.predict_proba(X), atol=1e-6
    )


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"augment": "flip", "batchnorm": "recalibrate"},
        {"early_stopping": True, "validation_fraction": 0.25},
    ],
    ids=["fine-tune", "augmented", "validation-split"],
)
def test_fine_tuning_reads_the_files_a_batch_at_a_time_every_epoch(
    folder, monkeypatch, params
):
    """With nothing cached (fine-tuning, augmentation), each epoch reads the
    files again a training batch at a time: never all at once, and the same
    fit as the images as an array."""
    paths, y = list_image_folder(folder)
    X, _ = load_image_folder(folder)
    params = {"freeze_upto": 0, "batch_size": 8, **params}
    from_arrays = _classifier(**params).fit(X, y)
    read = _read_in_eights(monkeypatch)
    clf = _classifier(iterator_valid__batch_size=8, **params).fit(paths, y)
    assert clf.n_cached_units_ == 0
    assert max(read) <= 8 < len(paths)
    # Every epoch read every training image once (and more for the scale,
    # the validation images and the recalibration).
    assert sum(read) >= clf.max_epochs_ * len(paths) * 0.75
    monkeypatch.undo()
    np.testing.assert_allclose(
        clf.predict_proba(paths), from_arrays.predict_proba(X), atol=1e-6
    )


def test_label_relation_transfer_reads_the_files_a_batch_at_a_time(folder, monkeypatch):
    """Label-relation transfer takes files as the classifier does: its
    source's pass over them (the relation) and its training read a batch at
    a time, never all at once, with the same result as the array."""
    from sktransfer import LabelRelationTransfer

    paths, y = list_image_folder(folder)
    X, _ = load_image_folder(folder)
    source = _classifier(freeze_upto=0).fit(X, y)
    params = {"max_epochs": 2, "random_state": 0, "batch_size": 8}
    from_arrays = LabelRelationTransfer(source, **params).fit(X, y)
    read = _read_in_eights(monkeypatch)
    lrt = LabelRelationTransfer(source, iterator_valid__batch_size=8, **params)
    lrt.fit(paths, y)
    assert max(read) <= 8 < len(paths)
    monkeypatch.undo()
    np.testing.assert_array_equal(lrt.relation_, from_arrays.relation_)
    np.testing.assert_allclose(
        lrt.predict_proba(paths), from_arrays.predict_proba(X), atol=1e-6
    )


def test_training_batches_of_files_are_read_one_ahead_in_a_thread():
    """Files are read a batch ahead of the step that uses it (in another
    thread, in order); tensors are sliced as they are asked for."""
    import threading

    import torch

    from sktransfer._runtime._batches import _read_ahead

    class Files:  # reads are logged: which batch, in which thread
        def __init__(self):
            self.log = []

        def __getitem__(self, batch):
            self.log.append((batch.start, threading.current_thread().name))
            return torch.full((2, 1), batch.start)

    files = Files()
    batches = [slice(0, 2), slice(2, 4), slice(4, 6)]
    reading = _read_ahead(files, batches)
    assert next(reading).tolist() == [[0], [0]]
    # The second batch is on its way before the first one's step ends.
    for _ in range(100):
        if len(files.log) == 2:
            break
        threading.Event().wait(0.01)
    assert [start for start, _ in files.log] == [0, 2]
    assert [int(b[0]) for b in reading] == [2, 4]
    assert {name for _, name in files.log} != {threading.current_thread().name}
    images = torch.arange(6)
    assert [b.tolist() for b in _read_ahead(images, batches)] == [
        [0, 1],
        [2, 3],
        [4, 5],
    ]
    assert list(_read_ahead(files, [])) == []
