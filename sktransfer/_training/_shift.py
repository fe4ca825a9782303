"""How far the training images are from the source, read off the body's own
BatchNorm layers: what ``freeze_upto="auto"`` measures before it chooses.

A BatchNorm layer of a pretrained body holds running statistics of the
source's images as they reach it. The training images' statistics at the
same layer say how far they are from those (AdaBN: the domain lives in
these statistics). Per channel, the two are Gaussians; their KL divergence,
averaged over channels and layers, is the layer's shift. The early units
see colour and contrast (a grey photograph shifts the stem as much as a
digit does), the last ones see feature maps of a few pixels when images go
in small, which the source never had; the middle units see content: parts
and textures. Their shift tells digits (far) from photographs, drawings
and garments (near), at 64 px and at 224 px, in colour and in grey
(measured with ``benchmarks/route_signals.py``, recipe guide).

References
----------
.. [1] Y. Li, N. Wang, J. Shi, J. Liu and X. Hou, "Revisiting batch
   normalization for practical domain adaptation", ICLR workshop 2017
   (AdaBN).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch import nn

from .._runtime import batched_inference

__all__ = ["SHIFT_IMAGES", "middle_units", "middle_shift"]

# Images the shift is measured on, at most (drawn at random).
SHIFT_IMAGES = 64


def middle_units(n_units):
    """Indices of the middle third of ``n_units`` body units (at least one):
    EfficientNet-Lite0's ``stage3`` to ``stage5``, ResNet's ``layer1`` to
    ``layer3``.

    Examples
    --------
    >>> middle_units(9), middle_units(5), middle_units(1), middle_units(0)
    ([3, 4, 5], [1, 2, 3], [0], [])
    """
    start = n_units // 3
    return list(range(start, min(n_units, max(start + 1, (2 * n_units + 2) // 3))))


def _gaussian_kl(module, inputs):
    """Mean over channels of KL(N(batch) || N(running)) at one BatchNorm
    layer, with the layer's eps on both variances, as it normalises."""
    x = inputs[0].detach().float().transpose(0, 1).flatten(1)
    mean, var = x.mean(dim=1), x.var(dim=1)
    running = module.running_var.float() + module.eps
    ratio = (var + module.eps) / running
    centred = (mean - module.running_mean.float()) ** 2 / running
    return float((0.5 * (ratio + centred - 1 - torch.log(ratio))).mean())


def middle_shift(network, X, random_state=None):
    """The shift of the images ``X`` at the middle units of ``network``'s
    pretrained body, or None when those units hold no BatchNorm layer with
    running statistics.

    One forward pass over at most ``SHIFT_IMAGES`` of ``X`` (drawn with
    ``random_state``), the body in eval mode, on the network's device; the
    network is left as it was.

    Parameters
    ----------
    network : TransferNetwork
        The network before training, its units as the source left them.
    X : tensor of shape (n, C, H, W)
        Training images, as ``fit`` holds them.
    random_state : int, RandomState or None
        Which images, when there are more than ``SHIFT_IMAGES``.

    Returns
    -------
    shift : float or None
    """
    units = list(network.units.values())
    middle = middle_units(len(units))
    layers = [
        (index, module)
        for index in middle
        for module in units[index].modules()
        if isinstance(module, nn.modules.batchnorm._BatchNorm)
        and module.track_running_stats
        and module.running_var is not None
    ]
    if not layers:
        return None
    chosen = check_random_state(random_state).permutation(len(X))[:SHIFT_IMAGES]
    batch = X[torch.as_tensor(np.sort(chosen))]
    device = next(network.parameters()).device
    shifts = {}

    def record(index):
        def hook(module, inputs, output):
            shifts.setdefault(index, []).append(_gaussian_kl(module, inputs))

        return hook

    def forward(images):
        network.forward_features(network.prepare(images), upto=middle[-1] + 1)
        return torch.zeros(len(images), 1)

    handles = [layer.register_forward_hook(record(i)) for i, layer in layers]
    was_training = network.training
    network.eval()
    try:  # one batch: the statistics of all the chosen images at once
        batched_inference(forward, batch, device=device, batch_size=len(batch))
    finally:
        for handle in handles:
            handle.remove()
        network.train(was_training)
    # Each unit counts once, whatever its number of layers.
    return float(np.mean([np.mean(values) for values in shifts.values()]))
