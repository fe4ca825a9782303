"""The core under the estimators: one fitted-image check, one builder, one
batched-inference function, used by every estimator and Display."""

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from sktransfer import (
    CNNFeatureExtractor,
    LabelRelationTransfer,
    PretrainedCNNClassifier,
)
from sktransfer._networks._units import half_units, resolve_unit_count, unit_position
from sktransfer._runtime._inference import (
    batched_inference,
    iter_batches,
    require_finite,
)
from sktransfer.baselines import ImageToRows
from sktransfer.inspection import FeatureMapDisplay, GradCAMDisplay, grad_cam

PACKAGE = Path(__file__).parent.parent / "sktransfer"


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (40, 12, 12), dtype=np.uint8)
    y = np.arange(40) % 2
    clf = PretrainedCNNClassifier(
        "small_cnn", input_size=16, max_epochs=1, random_state=0
    ).fit(X, y)
    lrt = LabelRelationTransfer(clf, max_epochs=1, random_state=0).fit(X, y)
    extractor = CNNFeatureExtractor("small_cnn", input_size=16, random_state=0).fit(X)
    return {"classifier": clf, "lrt": lrt, "extractor": extractor}, X, y


def _uses(estimator, X):
    """Every way the package takes new images for a fitted estimator."""
    if isinstance(estimator, CNNFeatureExtractor):
        return [estimator.transform(X)]
    return [estimator.predict(X), grad_cam(estimator, X)[0]]


@pytest.mark.parametrize("name", ["classifier", "lrt", "extractor"])
def test_every_use_accepts_what_predict_accepts(fitted, name):
    """Images of another size pass wherever the network resizes (Grad-CAM
    included, which used to refuse them); another channel count is refused
    everywhere with the same message."""
    estimators, X, _ = fitted
    estimator = estimators[name]
    larger = np.repeat(np.repeat(X[:3], 2, axis=1), 2, axis=2)  # 24x24
    for output in _uses(estimator, larger):
        assert len(output) == 3
    heatmaps = _uses(estimator, larger)[-1]
    if name != "extractor":
        assert heatmaps.shape == (3, 24, 24)
    rgb = np.stack([X[:3]] * 2, axis=-1)  # 2 channels
    messages = set()
    for use in (
        lambda: _uses(estimator, rgb),
        lambda: FeatureMapDisplay.from_estimator(estimator, rgb[0]),
    ):
        with pytest.raises(ValueError, match=r"`X` holds images of shape \(2,") as e:
            use()
        messages.add(str(e.value))
    assert len(messages) == 1


def test_grad_cam_display_on_images_of_another_size(fitted):
    estimators, X, y = fitted
    larger = np.repeat(np.repeat(X[:2], 2, axis=1), 2, axis=2)
    display = GradCAMDisplay.from_estimator(estimators["classifier"], larger, y=y[:2])
    assert len(display.overlays_) == 2


def test_partial_fit_takes_the_images_predict_takes(fitted):
    estimators, X, y = fitted
    clf = estimators["classifier"]
    larger = np.repeat(np.repeat(X, 2, axis=1), 2, axis=2)
    from sklearn.base import clone

    refit = clone(clf).fit(X, y)
    refit.partial_fit(larger, y)
    assert len(refit.history) == 2


def test_rows_and_baselines_take_the_fitted_shape():
    X = np.zeros((4, 5, 5, 2), dtype=np.uint8)  # channels last
    rows = ImageToRows().fit(X)
    assert rows.transform(X).shape == (4, 50)
    with pytest.raises(ValueError, match=r"`X` holds images of shape \(2, 6, 6\)"):
        rows.transform(np.zeros((4, 6, 6, 2), dtype=np.uint8))


def test_batched_inference_keeps_the_order_and_the_bits():
    generator = torch.Generator().manual_seed(0)
    X = torch.rand(37, 3, 4, 4, generator=generator)
    linear = torch.nn.Linear(48, 5)

    def forward(batch):
        return linear(batch.flatten(1))

    plain = batched_inference(forward, X, batch_size=8)
    torch.testing.assert_close(plain, forward(X), rtol=1e-6, atol=1e-6)
    ordered = batched_inference(forward, X, batch_size=8, ordered=True)
    permutation = torch.randperm(37, generator=generator)
    shuffled = batched_inference(forward, X[permutation], batch_size=8, ordered=True)
    assert torch.equal(shuffled, ordered[permutation])  # the same bits
    assert not ordered.requires_grad and torch.is_grad_enabled() is not False


def test_batched_inference_of_several_outputs_and_with_gradients():
    X = torch.rand(10, 4)
    linear = torch.nn.Linear(4, 3)
    first, second = batched_inference(
        lambda batch: (linear(batch), batch.sum(1)), X, batch_size=3
    )
    assert first.shape == (10, 3) and second.shape == (10,)
    assert not first.requires_grad
    # Gradients only where a caller asks batch by batch (Grad-CAM).
    kept = [out for _, _, out in iter_batches(linear, X, batch_size=3, grad=True)]
    assert all(out.requires_grad for out in kept)


def test_iter_batches_leaves_the_callers_mode_alone():
    X = torch.rand(6, 2)
    seen = []
    for start, stop, output in iter_batches(lambda b: b * 2, X, batch_size=4):
        seen.append((start, stop, torch.is_grad_enabled(), output.shape[0]))
    assert seen == [(0, 4, True, 4), (4, 6, True, 2)]
    rows = torch.arange(6)
    pairs = list(iter_batches(lambda b, r: (b, r), X, batch_size=4, extras=(rows,)))
    assert pairs[1][2][1].tolist() == [4, 5]
    bounds = [(0, 3), (3, 6)]
    assert [b[:2] for b in iter_batches(len, X, bounds=bounds)] == bounds


def test_non_finite_outputs_are_refused_naming_x():
    with pytest.raises(ValueError, match="non-finite features for `X`"):
        require_finite(torch.tensor([1.0, float("nan")]), "features")
    extractor = CNNFeatureExtractor("mlp", input_size=4).fit(np.zeros((3, 4, 4)))
    with torch.no_grad():
        extractor.network_.units["fc1"][0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite features for `X`"):
        extractor.transform(np.ones((2, 4, 4)))


def test_half_of_the_units_is_one_thing():
    names = ["a", "b", "c", "d", "e"]
    assert half_units(5) == 2 and half_units(1) == 1
    assert resolve_unit_count("half", names, "freeze_upto") == 2
    assert unit_position("half", names, "layer") == 1  # the last unit frozen
    extractor = CNNFeatureExtractor("small_cnn", layer="half", input_size=16)
    extractor.fit(np.zeros((2, 8, 8), dtype=np.uint8))
    assert extractor.layer_ == "conv2"  # small_cnn: conv1..conv3, fc1 (+ fc2)


def test_the_advice_names_a_layer_the_extractor_takes():
    from sktransfer import suggest_strategy

    advice = suggest_strategy(200, 0.5)
    params = {k: v for k, v in advice.params.items() if k != "freeze_upto"}
    extractor = CNNFeatureExtractor("small_cnn", input_size=16, **params)
    assert extractor.fit(np.zeros((2, 8, 8), dtype=np.uint8)).layer_ == "conv2"


def test_extractor_takes_a_torch_device():
    extractor = CNNFeatureExtractor(
        "mlp", input_size=4, device=torch.device("cpu")
    ).fit(np.zeros((3, 4, 4)))
    assert extractor.transform(np.zeros((2, 4, 4))).shape == (2, 500)


def _modules_using(names):
    found = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in names:
                found.add(path.relative_to(PACKAGE).as_posix())
    return found


def test_gradients_are_turned_off_in_one_place():
    """Forward passes outside training go through the core: no module but
    the batched inference turns gradients off itself."""
    assert _modules_using({"no_grad", "inference_mode"}) == {"_runtime/_inference.py"}


def _imports(module):
    """(absolute imports, package modules imported) of ``sktransfer/<module>``."""
    tree = ast.parse((PACKAGE / module).read_text())
    absolute, relative = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            absolute |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            absolute.add(node.module)
        elif isinstance(node, ast.ImportFrom):
            folder = Path(module).parent
            for _ in range(node.level - 1):
                folder = folder.parent
            parts = (node.module or "").split(".") if node.module else []
            target = folder.joinpath(*parts)
            for candidate in (target.with_suffix(".py"), target / "__init__.py"):
                if (PACKAGE / candidate).is_file():
                    relative.add(candidate.as_posix())
    return absolute, relative


def test_the_core_does_not_import_skorch():
    """The fitted-image check, the builder and batched inference, and all
    they import, work without skorch."""
    todo = [
        "_runtime/_inference.py",
        "_inputs/_fitted.py",
        "_networks/_build.py",
        "_runtime/_device.py",
    ]
    seen = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        absolute, relative = _imports(module)
        assert not any(name.startswith("skorch") for name in absolute), module
        todo += [m for m in relative if m != "__init__.py"]
    assert {
        "_networks/_source.py",
        "backbones/_registry.py",
        "_inputs/_images.py",
        "_networks/_network.py",
    } <= seen


def test_one_answer_to_is_it_cuda(monkeypatch):
    from sktransfer._runtime._device import is_cuda, to_device

    assert is_cuda("cuda") and is_cuda("cuda:1") and is_cuda(torch.device("cuda"))
    assert not is_cuda("cpu") and not is_cuda(None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert not is_cuda("auto")
    x = torch.zeros(2, 3, 4, 4)
    assert to_device(x, None) is x  # the accelerator placed it
    assert to_device(x, "cpu").is_contiguous()


def test_networks_and_their_batches_are_channels_last():
    """One layout on every device (oneDNN and cuDNN are fastest so): the
    weights as built, and any batch the network prepares or continues."""
    X = np.random.default_rng(0).integers(0, 256, (6, 12, 12, 3), dtype=np.uint8)
    clf = PretrainedCNNClassifier("small_cnn", input_size=16, max_epochs=1)
    network = clf.fit(X, [0, 1] * 3).module_
    convs = [m.weight for m in network.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(
        w.is_contiguous(memory_format=torch.channels_last) for w in convs
    )
    x = network.prepare(torch.as_tensor(X).permute(0, 3, 1, 2).contiguous())
    assert x.is_contiguous(memory_format=torch.channels_last)
    h = network.forward_features(x, upto=1).contiguous()  # e.g. from the cache
    assert not h.is_contiguous(memory_format=torch.channels_last)
    seen = []
    unit = list(network.units.values())[1]
    hook = unit.register_forward_pre_hook(
        lambda module, args: seen.append(
            args[0].is_contiguous(memory_format=torch.channels_last)
        )
    )
    try:
        network.forward_suffix(h, 1)
    finally:
        hook.remove()
    assert seen == [True]


class _Net:
    """What the batch-size rules read of an estimator."""

    def __init__(self, device, input_size, iterator_valid, batch_size=32):
        self.device, self.batch_size = device, batch_size
        self.module_ = type("Module", (), {"input_size": input_size})()
        self._iterator_valid = iterator_valid

    def get_params_for(self, prefix):
        return dict(self._iterator_valid) if prefix == "iterator_valid" else {}


@pytest.mark.parametrize(
    ("device", "input_size", "iterator_valid", "expected"),
    [
        ("cpu", 224, {}, 32),  # 1.4 against 4.1 GB and faster on 2 cores
        ("cpu", 160, {}, 62),
        ("cpu", 64, {}, 256),  # small inputs keep the batch of 256
        ("cpu", None, {}, 256),  # no input size known
        ("cuda", 224, {}, 256),  # a GPU keeps its large batches
        (None, 224, {}, 256),  # Accelerate places the work
        ("cpu", 224, {"batch_size": 100}, 100),  # the user's word wins
    ],
)
def test_prediction_batches_stay_small_on_a_cpu(
    device, input_size, iterator_valid, expected
):
    from sktransfer._runtime import prediction_batch_size, statistics_batch_size

    net = _Net(device, input_size, iterator_valid)
    assert prediction_batch_size(net) == expected
    # Batch statistics (BatchNorm recalibration) keep the large batches.
    assert statistics_batch_size(net) == iterator_valid.get("batch_size", 256)
