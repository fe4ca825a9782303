"""Training that goes wrong, persistence, safe loading, determinism, bounds."""

import hashlib
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline as make_imb_pipeline
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from skorch.callbacks import Callback, Checkpoint

from sktransfer import (
    CNNFeatureExtractor,
    LabelRelationTransfer,
    PretrainedCNNClassifier,
)


@pytest.fixture(scope="module")
def data():
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    return X[:200], y[:200], X[200:260]


def _clf(**params):
    params = {"input_size": 16, "max_epochs": 2, "random_state": 0, **params}
    return PretrainedCNNClassifier("small_cnn", **params)


# --- training that goes wrong -----------------------------------------------


def test_diverging_loss_names_lr_and_restores_the_last_good_weights(data):
    X, y, X_new = data

    class Poison(Callback):
        """Make the weights NaN at the first batch of epoch 4."""

        def on_batch_begin(self, net, training=False, **kwargs):
            batches = net.history[-1]["batches"]
            if training and len(net.history) == 4 and len(batches) == 1:
                with torch.no_grad():
                    next(net.module_.head.parameters()).fill_(float("nan"))

    clf = _clf(warm_start=True, callbacks=[("poison", Poison())]).fit(X, y)
    after_two = clf.predict_proba(X_new)
    with pytest.raises(ValueError, match=r"`lr`=0.003 is probably too high"):
        clf.fit(X, y)  # epoch 3 completes, epoch 4 diverges
    assert len(clf.history) == 3  # the failed epoch is not recorded
    proba = clf.predict_proba(X_new)
    assert np.isfinite(proba).all()
    assert not np.allclose(proba, after_two)  # the weights after epoch 3


def test_training_guard_holds_one_host_copy_of_what_trains(data):
    # The rollback copy: in host memory, only trainable parameters and
    # buffers (frozen weights are not copied), the same buffers every epoch.
    X, y, _ = data
    clf = _clf(freeze_upto=1, max_epochs=1).fit(X, y)
    guard = dict(clf.callbacks_)["training_guard"]
    assert guard.snapshot_ is None  # freed when training ended
    guard.on_epoch_begin(clf)
    module = clf.module_
    trainable = sum(p.nbytes for p in module.parameters() if p.requires_grad)
    parameters = dict(module.named_parameters())
    state = module.state_dict()  # persistent buffers only
    buffers = sum(v.nbytes for n, v in state.items() if n not in parameters)
    held = sum(t.nbytes for t in guard.snapshot_.values())
    assert held == trainable + buffers
    assert held < sum(p.nbytes for p in module.parameters()) + buffers
    assert all(t.device.type == "cpu" for t in guard.snapshot_.values())
    pointers = {name: t.data_ptr() for name, t in guard.snapshot_.items()}
    with torch.no_grad():
        next(module.head.parameters()).add_(1.0)
    guard.on_epoch_begin(clf)
    assert {n: t.data_ptr() for n, t in guard.snapshot_.items()} == pointers
    head = next(name for name in pointers if name.startswith("head"))
    torch.testing.assert_close(guard.snapshot_[head], module.state_dict()[head])
    guard.epoch_open_ = False
    guard.on_train_end(clf)
    assert guard.snapshot_ is None


def test_too_high_learning_rate_stops_with_a_clear_error(data):
    X, y, _ = data
    with pytest.raises(ValueError, match="`lr`"):
        _clf(lr=1e12, max_epochs=5, optimizer=torch.optim.SGD).fit(X, y)


def test_non_finite_weights_never_give_nan_probabilities(data):
    X, y, X_new = data
    clf = _clf().fit(X, y)
    with torch.no_grad():
        next(clf.module_.head.parameters()).fill_(float("inf"))
    with pytest.raises(ValueError, match="non-finite outputs"):
        clf.predict_proba(X_new)


def test_keyboard_interrupt_keeps_the_last_completed_epoch(data):
    X, y, X_new = data
    # A constant rate: the schedule of an interrupted 5-epoch fit is not that
    # of a 2-epoch fit.
    reference = _clf(max_epochs=2, lr_schedule="constant").fit(X, y)

    class Interrupt(Callback):
        def on_batch_end(self, net, training=False, **kwargs):
            if (
                training
                and len(net.history) == 3
                and len(net.history[-1]["batches"]) == 2
            ):
                raise KeyboardInterrupt

    clf = _clf(
        max_epochs=5, lr_schedule="constant", callbacks=[("interrupt", Interrupt())]
    )
    with pytest.warns(RuntimeWarning, match="interrupted in epoch 3"):
        clf.fit(X, y)
    assert len(clf.history) == 2
    np.testing.assert_allclose(
        clf.predict_proba(X_new), reference.predict_proba(X_new), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("stage", ["fit", "predict"])
def test_out_of_memory_suggests_a_smaller_batch_size(data, monkeypatch, stage):
    X, y, X_new = data
    clf = _clf()
    if stage == "predict":
        clf.fit(X, y)

    def no_memory(self, x):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")

    monkeypatch.setattr(type(clf), "infer", no_memory)
    if stage == "fit":
        with pytest.raises(torch.cuda.OutOfMemoryError, match=r"`batch_size`=32.*16"):
            clf.fit(X, y)
    else:
        with pytest.raises(
            torch.cuda.OutOfMemoryError, match=r"`iterator_valid__batch_size`=256"
        ):
            clf.predict(X_new)


# --- persistence ------------------------------------------------------------


def _fitted_estimators(X, y):
    clf = _clf().fit(X, y)
    lrt = LabelRelationTransfer(FrozenEstimator(clf), max_epochs=1, random_state=0).fit(
        X[y < 5], y[y < 5]
    )
    extractor = CNNFeatureExtractor("small_cnn", input_size=16, random_state=0).fit(X)
    features = make_pipeline(
        CNNFeatureExtractor("small_cnn", input_size=16, random_state=0),
        LogisticRegression(max_iter=200),
    ).fit(X, y)
    rows = X.reshape(len(X), -1)
    smote = make_imb_pipeline(
        SMOTE(random_state=0), _clf(image_shape=(8, 8), max_epochs=1)
    ).fit(rows, y)
    return {
        "classifier": (clf, "predict_proba", X),
        "lrt": (lrt, "predict_proba", X),
        "extractor": (extractor, "transform", X),
        "feature pipeline": (features, "predict_proba", X),
        "smote pipeline": (smote, "predict_proba", rows),
    }


@pytest.mark.parametrize("how", ["pickle", "joblib", "model file"])
def test_round_trip_of_every_fitted_estimator(data, tmp_path, how):
    from sktransfer import load_model, save_model

    X, y, _ = data
    for name, (estimator, method, inputs) in _fitted_estimators(X, y).items():
        if how == "pickle":
            restored = pickle.loads(pickle.dumps(estimator))
        elif how == "model file":
            restored = load_model(save_model(estimator, tmp_path / f"{name}.skt"))
        else:
            joblib.dump(estimator, tmp_path / f"{name}.joblib")
            restored = joblib.load(tmp_path / f"{name}.joblib")
        np.testing.assert_array_equal(
            getattr(restored, method)(inputs[:20]),
            getattr(estimator, method)(inputs[:20]),
            err_msg=name,
        )


def test_model_saved_for_cuda_loads_on_a_cpu_only_machine(data, monkeypatch):
    """A net pickled with device='cuda' maps to the CPU where there is none."""
    X, y, X_new = data
    clf = _clf().fit(X, y)
    expected = clf.predict(X_new)
    clf.device = "cuda"
    payload = pickle.dumps(clf)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skorch's DeviceWarning says so
        restored = pickle.loads(payload)
    assert str(restored.device) == "cpu"
    np.testing.assert_array_equal(restored.predict(X_new), expected)
    # and the weights themselves with map_location
    state = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    torch.save(state, "/tmp/_sktransfer_state.pt")
    loaded = torch.load(
        "/tmp/_sktransfer_state.pt", map_location="cpu", weights_only=True
    )
    assert all(t.device.type == "cpu" for t in loaded.values())


def test_save_params_load_params_and_checkpoint(data, tmp_path):
    X, y, X_new = data
    checkpoint = Checkpoint(dirname=str(tmp_path / "ckpt"), monitor="train_loss_best")
    # With a BatchNorm layer: the checkpoint must hold the recalibrated statistics.
    clf = _clf(callbacks=[("checkpoint", checkpoint)], head_batchnorm=True).fit(X, y)
    assert (tmp_path / "ckpt" / "params.pt").is_file()
    clf.save_params(f_params=str(tmp_path / "params.pt"))
    fresh = _clf(max_epochs=0, head_batchnorm=True).fit(X, y)  # untrained
    assert not np.allclose(fresh.predict_proba(X_new), clf.predict_proba(X_new))
    fresh.load_params(f_params=str(tmp_path / "params.pt"))
    np.testing.assert_allclose(
        fresh.predict_proba(X_new), clf.predict_proba(X_new), rtol=1e-6
    )
    restored = _clf(max_epochs=0, head_batchnorm=True).fit(X, y)
    restored.load_params(checkpoint=checkpoint)
    np.testing.assert_allclose(
        restored.predict_proba(X_new), clf.predict_proba(X_new), rtol=1e-6
    )


def test_a_checkpoint_of_an_earlier_epoch_warns_of_its_statistics(data, tmp_path):
    X, y, _ = data
    # Saves the first epoch only: its weights cannot be recalibrated after fit.
    checkpoint = Checkpoint(
        dirname=str(tmp_path), monitor=lambda net: len(net.history) == 1
    )
    with pytest.warns(UserWarning, match="load_best=True"):
        _clf(callbacks=[("checkpoint", checkpoint)], head_batchnorm=True).fit(X, y)


def test_a_load_best_checkpoint_is_saved_with_recalibrated_statistics(data, tmp_path):
    X, y, X_new = data
    checkpoint = Checkpoint(
        dirname=str(tmp_path), monitor=lambda net: len(net.history) == 1, load_best=True
    )
    clf = _clf(callbacks=[("checkpoint", checkpoint)], head_batchnorm=True).fit(X, y)
    assert clf.n_recalibrated_ == 1
    restored = _clf(max_epochs=0, head_batchnorm=True).fit(X, y)
    restored.load_params(checkpoint=checkpoint)
    np.testing.assert_allclose(
        restored.predict_proba(X_new), clf.predict_proba(X_new), rtol=1e-6
    )


def test_warm_start_continues_training(data):
    X, y, _ = data
    clf = _clf(warm_start=True, max_epochs=1).fit(X, y)
    first_loss = clf.history[-1, "train_loss"]
    clf.fit(X, y)
    assert len(clf.history) == 2 and clf.history[-1, "train_loss"] < first_loss


# --- safe loading -----------------------------------------------------------


def test_weights_sha256_is_checked_before_loading(data, tmp_path):
    from sktransfer import get_backbone_spec

    X, y, _ = data
    path = tmp_path / "small_cnn.pt"
    model = get_backbone_spec("small_cnn").build(3, 16)
    torch.save(model.state_dict(), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for good in (digest, digest[:8], digest.upper()):
        _clf(weights=str(path), weights_sha256=good, max_epochs=1).fit(X, y)
        CNNFeatureExtractor(
            "small_cnn", weights=str(path), weights_sha256=good, input_size=16
        ).fit(X)
    with pytest.raises(ValueError, match="has SHA-256 .* not the expected"):
        _clf(weights=str(path), weights_sha256="0" * 64).fit(X, y)
    with pytest.raises(ValueError, match="`weights_sha256` must be a hex"):
        _clf(weights=str(path), weights_sha256="xyz").fit(X, y)
    with pytest.raises(ValueError, match="`weights_sha256` checks a weights file"):
        _clf(weights="DEFAULT", weights_sha256=digest).fit(X, y)


def test_a_pickle_bomb_as_weights_runs_nothing(data, tmp_path):
    X, y, _ = data
    marker = tmp_path / "executed"

    class Bomb:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "bomb.pt"
    with open(path, "wb") as f:
        pickle.dump({"w": Bomb()}, f)
    for estimator in (
        _clf(weights=str(path)),
        CNNFeatureExtractor("small_cnn", weights=str(path), input_size=16),
    ):
        with pytest.raises(ValueError, match="weights_only=True"):
            estimator.fit(X, y)
    assert not marker.exists()


# --- determinism and bounds -------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: _clf(augment="standard", head_dropout=0.3),
        lambda: _clf(freeze_upto=2),
    ],
    ids=["augmented-dropout", "cached-prefix"],
)
def test_same_random_state_same_predictions_on_cpu(data, make):
    X, y, X_new = data
    a, b = make().fit(X, y), make().fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X_new), b.predict_proba(X_new))


def test_prediction_runs_in_bounded_batches(data, monkeypatch):
    """Many images reach the network in batches of at most 256, every image
    once (the peak memory of 100,000 is benchmarks/predict_memory.py's)."""
    X, y, _ = data
    clf = _clf(max_epochs=1).fit(X, y)
    sizes = []
    original = type(clf.module_).forward

    def spy(self, x):
        sizes.append(len(x))
        return original(self, x)

    monkeypatch.setattr(type(clf.module_), "forward", spy)
    big = np.broadcast_to(X[:1], (10 * 256 + 1, 8, 8))
    predictions = clf.predict(big)
    assert len(predictions) == 10 * 256 + 1
    assert sizes == [256] * 10 + [1]


def test_warm_start_applies_a_changed_freeze_upto(data):
    # "Train the head, then unfreeze": the second fit must train the body.
    X, y, _ = data
    clf = _clf(warm_start=True, max_epochs=1, freeze_upto="all").fit(X, y)
    body = clf.module_.units["conv1"][0].weight.detach().clone()
    assert clf.n_frozen_ == len(clf.layer_names_)
    clf.set_params(freeze_upto=0).fit(X, y)
    assert clf.n_frozen_ == 0 and len(clf.history) == 2
    assert clf.module_.units["conv1"][0].weight.requires_grad
    assert not torch.equal(clf.module_.units["conv1"][0].weight, body)


def test_warm_start_refuses_a_changed_transfer_upto(data):
    X, y, _ = data
    clf = _clf(warm_start=True, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="`transfer_upto` changed from None to 2"):
        clf.set_params(transfer_upto=2).fit(X, y)


@pytest.mark.parametrize(
    "device, random_state, inside",
    [("cuda:0", None, True), ("cuda:0", 0, False), ("cpu", None, False)],
)
def test_cudnn_autotune_is_scoped_and_off_when_seeded(device, random_state, inside):
    from sktransfer._runtime._device import cudnn_autotune

    before = torch.backends.cudnn.benchmark
    with cudnn_autotune(device, random_state):
        assert torch.backends.cudnn.benchmark is (inside or before)
    assert torch.backends.cudnn.benchmark is before


def test_fit_leaves_cudnn_benchmark_as_it_was(data):
    X, y, _ = data
    before = torch.backends.cudnn.benchmark
    _clf(max_epochs=1).fit(X[:40], y[:40])
    assert torch.backends.cudnn.benchmark is before


def test_seeded_blocks_of_two_threads_do_not_interleave():
    # Each thread seeds, draws, waits for the other, draws again: with the
    # forked global generators interleaved, the second draw of one thread
    # would come from the other's stream, and the caller's state would be
    # left as one of the threads left it.
    import threading

    from sktransfer._runtime._seeding import seeded

    torch.manual_seed(123)
    caller = torch.random.get_rng_state()
    expected = {}
    for seed in (0, 1):
        torch.manual_seed(seed)
        expected[seed] = torch.rand(4).tolist()
    torch.random.set_rng_state(caller)
    seen, started = {}, threading.Barrier(2, timeout=5)

    def work(seed):
        started.wait()
        with seeded(seed):
            first = torch.rand(2).tolist()
            threading.Event().wait(0.05)
            seen[seed] = first + torch.rand(2).tolist()

    threads = [threading.Thread(target=work, args=(seed,)) for seed in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == expected
    assert torch.equal(torch.random.get_rng_state(), caller)


def test_skorch_state_is_neither_a_parameter_nor_set_in_init():
    clf = _clf()
    assert not {"history_", "initialized_", "virtual_params_"} & set(vars(clf))
    assert not [name for name in clf.get_params() if name.startswith("_")]
    assert clf.history is None and clf.initialized_ is False


def test_callbacks_are_validated_in_fit_and_rebuilt_on_a_warm_start(data):
    X, y, _ = data
    clf = _clf(max_epochs=1, warm_start=True)
    clf.set_params(callbacks="nonsense")  # no error before fit
    with pytest.raises(ValueError, match="'callbacks' parameter"):
        clf.fit(X, y)

    class Count(Callback):
        def initialize(self):
            self.epochs_ = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs_ += 1

    clf.set_params(callbacks=None).fit(X, y)
    counter = Count()
    clf.set_params(callbacks=[("count", counter)]).fit(X, y)  # a warm start
    assert counter.epochs_ == 1 and len(clf.history) == 2
    other = Count()
    clf.set_params(callbacks=[("count", other)]).partial_fit(X, y)
    assert other.epochs_ == 1 and counter.epochs_ == 1


def test_callback_parameters_set_with_a_new_list_wait_for_fit(data):
    X, y, _ = data
    clf = _clf(max_epochs=1)
    clf.set_params(callbacks="nonsense", callbacks__print_log__floatfmt=".2f")
    assert clf.callbacks__print_log__floatfmt == ".2f"
    clf.set_params(callbacks=[]).fit(X, y)
    assert dict(clf.callbacks_)["print_log"].floatfmt == ".2f"
