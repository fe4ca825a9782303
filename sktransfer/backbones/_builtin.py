"""Built-in small architectures from the source papers."""

from __future__ import annotations

from torch import nn

from ._registry import register_backbone
from ._rules import sequential_units


@register_backbone(
    "small_cnn",
    decompose=sequential_units,
    input_size=50,
    in_channels=3,
    mean=(0.5, 0.5, 0.5),
    std=(0.5, 0.5, 0.5),
    family="Sequential: one unit per Conv2d / Linear layer",
)
def small_cnn(in_channels=3, input_size=50, n_classes=2):
    """The 8-layer CNN of Molina et al., Table 1.

    Three 3x3 convolutions (32, 32, 64 filters, no padding), 2x2 max pooling
    after the second and the third, a 128-unit dense layer and the output
    layer. For a 50x50x3 input and 2 classes it has 848,226 parameters.
    Units: ``conv1, conv2, conv3, fc1, fc2``.

    References
    ----------
    .. [1] M. A. Molina, G. Asencio-Cortes, J. C. Riquelme and
       F. Martinez-Alvarez, "A preliminary study on deep transfer learning
       applied to image classification for small datasets", 2020.
    """
    side = ((input_size - 4) // 2 - 2) // 2
    if side < 1:
        raise ValueError(
            f"`input_size` must be at least 10 for small_cnn, got {input_size}."
        )
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3),
        nn.ReLU(),
        nn.Conv2d(32, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(1),
        nn.Linear(64 * side * side, 128),
        nn.ReLU(),
        nn.Linear(128, n_classes),
    )


@register_backbone(
    "mlp",
    decompose=sequential_units,
    input_size=28,
    in_channels=1,
    mean=(0.0,),
    std=(1.0,),
    family="Sequential: one unit per Linear layer",
)
def mlp(in_channels=1, input_size=28, n_classes=10):
    """The (784, 500, 500, 10) network of Sawada and Kozuka.

    Two hidden layers of 500 sigmoid units on the flattened 28x28 image, and
    10 outputs. Units: ``fc1, fc2, fc3`` (T = 1, 2, 3 in the paper's
    Table IV).

    References
    ----------
    .. [1] Y. Sawada and K. Kozuka, "Whole layers transfer learning of deep
       neural networks for a small scale dataset", 2016.
    """
    return nn.Sequential(
        nn.Flatten(1),
        nn.Linear(in_channels * input_size * input_size, 500),
        nn.Sigmoid(),
        nn.Linear(500, 500),
        nn.Sigmoid(),
        nn.Linear(500, n_classes),
    )
