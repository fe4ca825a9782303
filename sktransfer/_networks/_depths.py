"""The units of a body by depth: each unit's output shape, read off one
forward pass, and the last unit of each resolution the feature maps pass
through (``CNNFeatureExtractor(layer="multi")``, the regressor's probe of
several depths)."""

from __future__ import annotations

import torch

from .._runtime import batched_inference

__all__ = ["MULTI_RESOLUTIONS", "multi_layers", "unit_shapes"]

# layer="multi": the last unit at each of this many resolutions, at most.
MULTI_RESOLUTIONS = 4


def unit_shapes(network, image_shape):
    """The output shape (without the batch axis) of each body unit of
    ``network`` for an image of ``image_shape``, read off one forward pass."""
    probe = torch.zeros((1, *image_shape), dtype=torch.uint8)

    def shapes(batch):
        # Each row: the number of dimensions, then the dimensions (padded).
        outputs = network.iter_units(network.prepare(batch))
        rows = [[h.ndim - 1, *h.shape[1:], *[0] * (4 - h.ndim)] for h in outputs]
        return torch.tensor([rows])

    device = next(network.parameters()).device
    found = batched_inference(shapes, probe, device=device)[0]
    return [tuple(row[1 : 1 + row[0]]) for row in found.tolist()]


def multi_layers(shapes):
    """The units ``layer="multi"`` takes: the last unit of each resolution
    the feature maps pass through, for the last ``MULTI_RESOLUTIONS`` of
    them (ResNet: ``layer1`` to ``layer4``; EfficientNet-Lite0 at 64 px:
    ``stage2``, ``stage3``, ``stage5``, ``head_conv``); without feature maps
    (an MLP), every body unit.

    Parameters
    ----------
    shapes : list of tuple
        From :func:`unit_shapes`.

    Returns
    -------
    indices : list of int
    """
    spatial = [i for i, shape in enumerate(shapes) if len(shape) == 3]
    if not spatial:
        return list(range(len(shapes)))
    last = {}
    for i in spatial:
        last[shapes[i][1:]] = i  # the latest unit of each side
    return sorted(last.values())[-MULTI_RESOLUTIONS:]
