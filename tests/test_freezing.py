"""freeze_upto and transfer_upto on every family the issue names."""

import numpy as np
import pytest
import torch

from sktransfer import PretrainedCNNClassifier

RNG = np.random.default_rng(0)


def _snapshot(network):
    return {name: p.detach().clone() for name, p in network.named_parameters()}


def _buffers(network):
    return {
        name: b.detach().clone()
        for name, b in network.named_buffers()
        if "running_mean" in name
    }


def _unit_changed(before, after, prefix):
    names = [n for n in before if n.startswith(prefix)]
    assert names, prefix
    return [not torch.equal(before[n], after[n]) for n in names]


@pytest.mark.parametrize(
    "backbone, size, n_frozen",
    [
        ("resnet18", 32, 3),
        pytest.param("vgg11", 32, 4, marks=pytest.mark.slow),
        ("alexnet", 64, 3),
        ("densenet121", 32, 2),
        ("small_cnn", 16, 2),
        ("mlp", 8, 1),
    ],
)
def test_freeze_upto_freezes_exactly_the_first_units(backbone, size, n_frozen):
    X = RNG.random((8, 3, size, size)).astype(np.float32)
    y = np.array([0, 1] * 4)
    clf = PretrainedCNNClassifier(
        backbone,
        weights=None,
        input_size=size,
        freeze_upto=n_frozen,
        max_epochs=0,
        random_state=0,
        lr=1e-2,
    ).fit(X, y)
    before, before_stats = _snapshot(clf.module_), _buffers(clf.module_)
    clf.set_params(warm_start=True, max_epochs=1).fit(X, y)
    after, after_stats = _snapshot(clf.module_), _buffers(clf.module_)
    names = clf.layer_names_
    for unit in names[:n_frozen]:
        assert not any(_unit_changed(before, after, f"units.{unit}.")), unit
    for unit in names[n_frozen:]:
        assert any(_unit_changed(before, after, f"units.{unit}.")), unit
    assert all(_unit_changed(before, after, "head."))
    # frozen BatchNorm layers keep their running statistics
    for name in before_stats:
        unit = name.split(".")[1]
        if unit in names[:n_frozen]:
            assert torch.equal(before_stats[name], after_stats[name]), name


def test_freeze_upto_all_trains_only_the_head():
    X = RNG.random((8, 1, 8, 8)).astype(np.float32)
    clf = PretrainedCNNClassifier(
        "small_cnn", input_size=16, freeze_upto="all", max_epochs=1, random_state=0
    ).fit(X, [0, 1] * 4)
    trainable = {n for n, p in clf.module_.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("head.") for n in trainable)
    assert clf.n_frozen_ == len(clf.layer_names_)


def test_freeze_upto_unit_name_includes_that_unit():
    X = RNG.random((8, 1, 8, 8)).astype(np.float32)
    clf = PretrainedCNNClassifier(
        "small_cnn", input_size=16, freeze_upto="conv2", max_epochs=0
    ).fit(X, [0, 1] * 4)
    assert clf.n_frozen_ == 2
    frozen = {
        n.split(".")[1]
        for n, p in clf.module_.named_parameters()
        if not p.requires_grad
    }
    assert frozen == {"conv1", "conv2"}


@pytest.mark.parametrize(
    "params, match",
    [
        ({"freeze_upto": 9}, r"`freeze_upto`=9 is out of range.*\[0, 4\]"),
        ({"freeze_upto": "conv9"}, r"`freeze_upto`='conv9' is not a unit.*'conv1'"),
        ({"transfer_upto": 5}, r"`transfer_upto`=5 is out of range"),
        ({"transfer_upto": "nope"}, r"`transfer_upto`='nope' is not a unit"),
        ({"freeze_upto": -1}, r"freeze_upto"),
    ],
)
def test_unit_counts_out_of_range(params, match):
    X = RNG.random((4, 1, 8, 8)).astype(np.float32)
    clf = PretrainedCNNClassifier("small_cnn", input_size=16, max_epochs=0, **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, [0, 1] * 2)


@pytest.mark.parametrize("backbone, size", [("resnet18", 32), ("small_cnn", 16)])
def test_transfer_upto_keeps_first_units_and_reinitialises_the_rest(
    tmp_path, backbone, size
):
    from sktransfer import get_backbone_spec

    torch.manual_seed(5)
    spec = get_backbone_spec(backbone)
    source_model = spec.build(3, size)
    path = tmp_path / "source.pt"
    torch.save(source_model.state_dict(), path)
    X = RNG.random((4, 3, size, size)).astype(np.float32)
    full = PretrainedCNNClassifier(
        backbone, weights=str(path), input_size=size, max_epochs=0
    ).fit(X, [0, 1] * 2)
    part = PretrainedCNNClassifier(
        backbone,
        weights=str(path),
        input_size=size,
        transfer_upto=2,
        max_epochs=0,
        random_state=1,
    ).fit(X, [0, 1] * 2)
    source, target = _snapshot(full.module_), _snapshot(part.module_)
    for unit in part.layer_names_[:2]:
        assert not any(_unit_changed(source, target, f"units.{unit}."))
    # conv and linear weights are drawn afresh (BatchNorm resets to 1 and 0,
    # which is also where a random source starts)
    random_weights = {n: p for n, p in source.items() if p.ndim >= 2}
    for unit in part.layer_names_[2:]:
        assert all(_unit_changed(random_weights, target, f"units.{unit}."))


def test_half_is_one_vocabulary_with_the_study_and_the_cli():
    """freeze_upto="half" (and transfer_upto="half") mean what the study's
    and the command line's ``--freeze half`` mean: half the units, at least 1."""
    from sktransfer._networks._units import resolve_unit_count

    rng = np.random.default_rng(0)
    X = rng.random((20, 1, 8, 8)).astype(np.float32)
    y = np.arange(20) % 2
    clf = PretrainedCNNClassifier(
        "small_cnn", input_size=16, freeze_upto="half", max_epochs=1, random_state=0
    ).fit(X, y)
    assert clf.n_frozen_ == len(clf.layer_names_) // 2 == 2
    assert resolve_unit_count("half", ["a"], "freeze_upto") == 1
    assert (
        resolve_unit_count("half", list("abcde"), "transfer_upto", allow_all=False) == 2
    )
    with pytest.raises(ValueError, match="'half' or one of"):
        resolve_unit_count("most", list("ab"), "transfer_upto", allow_all=False)
