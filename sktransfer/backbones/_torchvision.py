"""torchvision classification networks, and the rule that cuts each family.

Unit rules, per family (the last unit is always the source classifier):

* ResNet: ``stem`` (conv1, bn1, relu, maxpool), ``layer1`` .. ``layer4``,
  ``fc``.
* VGG and AlexNet: one unit per convolution (``conv1`` .. ``conv13`` for
  VGG-16, ``conv1`` .. ``conv5`` for AlexNet), each with the activation,
  normalisation and pooling after it; then one unit per fully connected layer
  (``fc1`` .. ``fc3``), as in Yosinski et al. and Shanmugam et al.
* DenseNet: ``stem`` (conv0 .. pool0), ``block1`` .. ``block4`` (each dense
  block with the transition after it; the last with the final norm), then
  ``classifier``.
* GoogLeNet: ``stem`` (conv1 .. maxpool2), ``inception3``, ``inception4``,
  ``inception5`` (each stage with the pooling after it), ``fc``.
* Inception v3: ``stem`` (Conv2d_1a .. maxpool2), ``mixed5``, ``mixed6``,
  ``mixed7``, ``fc``; the auxiliary classifier is dropped.
* MobileNet v3, EfficientNet, ConvNeXt: one unit per entry of ``features``
  (``features0`` ..), then one unit per Linear layer of the classifier
  (``fc1`` ..). ConvNeXt's final LayerNorm is part of the pooling glue.

The GoogLeNet and Inception v3 weights expect inputs normalised with mean 0.5
and std 0.5 (torchvision's ``transform_input``), which is what their entries
carry.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

import torchvision
from torch import nn

from ._registry import DecomposedNetwork, register_backbone, register_module_rule
from ._rules import group_layers
from ._weights import WeightsSpec


def _pool(*extra):
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), *extra, nn.Flatten(1))


def resnet_units(model):
    """ResNet: stem, layer1..layer4, fc."""
    stem = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)
    units = [("stem", stem)]
    units += [(f"layer{i}", getattr(model, f"layer{i}")) for i in range(1, 5)]
    units.append(("fc", model.fc))
    return DecomposedNetwork(units=units, pool_index=5, pool=_pool())


def features_classifier_units(model):
    """VGG and AlexNet: one unit per Conv2d, then one per Linear."""
    conv_units = group_layers(list(model.features))
    fc_units = group_layers(list(model.classifier))
    pool = nn.Sequential(model.avgpool, nn.Flatten(1))
    return DecomposedNetwork(
        units=conv_units + fc_units, pool_index=len(conv_units), pool=pool
    )


def densenet_units(model):
    """DenseNet: stem, block1..block4, classifier."""
    f = model.features
    units = [("stem", nn.Sequential(f.conv0, f.norm0, f.relu0, f.pool0))]
    for i in range(1, 4):
        block = nn.Sequential(
            getattr(f, f"denseblock{i}"), getattr(f, f"transition{i}")
        )
        units.append((f"block{i}", block))
    units.append(
        ("block4", nn.Sequential(f.denseblock4, f.norm5, nn.ReLU(inplace=False)))
    )
    units.append(("classifier", model.classifier))
    return DecomposedNetwork(units=units, pool_index=5, pool=_pool())


def googlenet_units(model):
    """GoogLeNet: stem, inception3, inception4, inception5, fc."""
    m = model
    units = [
        ("stem", nn.Sequential(m.conv1, m.maxpool1, m.conv2, m.conv3, m.maxpool2)),
        ("inception3", nn.Sequential(m.inception3a, m.inception3b, m.maxpool3)),
        (
            "inception4",
            nn.Sequential(
                m.inception4a,
                m.inception4b,
                m.inception4c,
                m.inception4d,
                m.inception4e,
                m.maxpool4,
            ),
        ),
        ("inception5", nn.Sequential(m.inception5a, m.inception5b)),
        ("fc", nn.Sequential(m.dropout, m.fc)),
    ]
    return DecomposedNetwork(units=units, pool_index=4, pool=_pool())


def inception_v3_units(model):
    """Inception v3: stem, mixed5, mixed6, mixed7, fc (no auxiliary head)."""
    m = model
    stem = nn.Sequential(
        m.Conv2d_1a_3x3,
        m.Conv2d_2a_3x3,
        m.Conv2d_2b_3x3,
        m.maxpool1,
        m.Conv2d_3b_1x1,
        m.Conv2d_4a_3x3,
        m.maxpool2,
    )
    units = [
        ("stem", stem),
        ("mixed5", nn.Sequential(m.Mixed_5b, m.Mixed_5c, m.Mixed_5d)),
        (
            "mixed6",
            nn.Sequential(m.Mixed_6a, m.Mixed_6b, m.Mixed_6c, m.Mixed_6d, m.Mixed_6e),
        ),
        ("mixed7", nn.Sequential(m.Mixed_7a, m.Mixed_7b, m.Mixed_7c)),
        ("fc", nn.Sequential(m.dropout, m.fc)),
    ]
    return DecomposedNetwork(units=units, pool_index=4, pool=_pool())


def features_list_units(model):
    """MobileNet v3, EfficientNet, ConvNeXt: features0.., then fc1.."""
    feature_units = [(f"features{i}", block) for i, block in enumerate(model.features)]
    classifier = list(model.classifier)
    extra = []
    # ConvNeXt normalises the pooled features before its Linear layer.
    while classifier and not isinstance(classifier[0], (nn.Linear, nn.Dropout)):
        layer = classifier.pop(0)
        if not isinstance(layer, nn.Flatten):
            extra.append(layer)
    pool = nn.Sequential(model.avgpool, *extra, nn.Flatten(1))
    return DecomposedNetwork(
        units=feature_units + group_layers(classifier),
        pool_index=len(feature_units),
        pool=pool,
    )


# GoogLeNet and Inception v3: the auxiliary heads are not transferable units,
# and transform_input is replaced by the 0.5/0.5 normalisation of the entry.
_INCEPTION_BUILD = {"aux_logits": False, "transform_input": False, "init_weights": True}
_INCEPTION_NORM = {"mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)}


@dataclass(frozen=True)
class _Family:
    """One torchvision family: its class, the rule that cuts it, its names,
    and what its registry entries need beyond torchvision's own metadata."""

    module_class: type
    rule: Callable
    family: str
    names: tuple
    build_kwargs: dict = field(default_factory=dict)
    normalization: dict | None = None  # replaces the weights' preset
    min_input_size: int = 32


_FAMILIES = (
    _Family(
        torchvision.models.ResNet,
        resnet_units,
        "ResNet: stem, layer1..layer4, fc",
        (
            "resnet18",
            "resnet34",
            "resnet50",
            "resnet101",
            "wide_resnet50_2",
            "resnext50_32x4d",
        ),
    ),
    _Family(
        torchvision.models.VGG,
        features_classifier_units,
        "VGG: conv1..convN, fc1..fc3",
        ("vgg11", "vgg11_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"),
    ),
    _Family(
        torchvision.models.AlexNet,
        features_classifier_units,
        "AlexNet: conv1..conv5, fc1..fc3",
        ("alexnet",),
    ),
    _Family(
        torchvision.models.DenseNet,
        densenet_units,
        "DenseNet: stem, block1..block4, classifier",
        ("densenet121", "densenet169"),
    ),
    _Family(
        torchvision.models.GoogLeNet,
        googlenet_units,
        "GoogLeNet: stem, inception3..inception5, fc",
        ("googlenet",),
        build_kwargs=_INCEPTION_BUILD,
        normalization=_INCEPTION_NORM,
    ),
    _Family(
        torchvision.models.Inception3,
        inception_v3_units,
        "Inception v3: stem, mixed5..mixed7, fc",
        ("inception_v3",),
        build_kwargs=_INCEPTION_BUILD,
        normalization=_INCEPTION_NORM,
        min_input_size=75,
    ),
    _Family(
        torchvision.models.MobileNetV3,
        features_list_units,
        "MobileNet v3: features0.., fc1..",
        ("mobilenet_v3_small", "mobilenet_v3_large"),
    ),
    _Family(
        torchvision.models.EfficientNet,
        features_list_units,
        "EfficientNet: features0.., fc1..",
        ("efficientnet_b0", "efficientnet_b1"),
    ),
    _Family(
        torchvision.models.ConvNeXt,
        features_list_units,
        "ConvNeXt: features0.., fc1..",
        ("convnext_tiny", "convnext_small"),
    ),
)


def _builder(name, build_kwargs):
    def build(in_channels, input_size):
        return torchvision.models.get_model(name, weights=None, **build_kwargs)

    build.__name__ = f"build_{name}"
    return build


def weights_spec(member, normalization=None):
    """The :class:`~sktransfer.WeightsSpec` of a torchvision weights enum
    member: its URL (the file name carries the start of its SHA-256), the
    normalisation and crop size of its preset (or ``normalization``), its
    categories. torchvision's preset is read here, once."""
    preset = member.transforms()
    normalization = normalization or {
        "mean": tuple(preset.mean),
        "std": tuple(preset.std),
    }
    file_name = os.path.basename(urlparse(member.url).path)
    digest = re.search(r"-([a-f0-9]{8,})\.", file_name)
    categories = member.meta.get("categories")
    return WeightsSpec(
        name=member.name,
        url=member.url,
        sha256=digest.group(1) if digest else None,
        input_size=int(preset.crop_size[0]),
        categories=tuple(categories) if categories else None,
        label=str(member),
        **normalization,
    )


def _register_all():
    for family in _FAMILIES:
        # A user's own instance of the class is cut the same way.
        register_module_rule(family.module_class, family.rule)
        for name in family.names:
            members = torchvision.models.get_model_weights(name)
            weights = tuple(weights_spec(m, family.normalization) for m in members)
            default = next(w for w in weights if w.name == members.DEFAULT.name)
            register_backbone(
                name,
                decompose=family.rule,
                input_size=default.input_size,
                min_input_size=family.min_input_size,
                in_channels=3,
                mean=default.mean,
                std=default.std,
                weights=weights,
                default_weights=default.name,
                family=family.family,
            )(_builder(name, family.build_kwargs))


_register_all()
