"""What the Displays share: the fitted network and image checks."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch

from .._images import check_images
from .._training import unit_position


def fitted_network(estimator):
    """The TransferNetwork of a fitted estimator of this library, as it is.

    Use it inside :func:`evaluating`, which leaves it on its device and puts
    its training mode back afterwards: inspection must leave the estimator
    as it found it (a model moved to the CPU would fail its next ``predict``
    on the GPU).
    """
    network = getattr(estimator, "module_", None) or getattr(
        estimator, "network_", None
    )
    if network is None or not hasattr(network, "units"):
        raise ValueError(
            "`estimator` must be a fitted PretrainedCNNClassifier, "
            "LabelRelationTransfer or CNNFeatureExtractor; got "
            f"{type(estimator).__name__}"
            f"{'' if network is None else ' without a transfer network'}."
        )
    return network


def network_device(network):
    """The device of ``network``'s parameters (the CPU when it has none)."""
    parameter = next(network.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device


@contextmanager
def evaluating(network):
    """``network`` in eval mode for the block; its training mode restored
    after. Yields the device its inputs must be on."""
    was_training = network.training
    network.eval()
    try:
        yield network_device(network)
    finally:
        network.train(was_training)


def one_image(estimator, image):
    """``image`` as a (1, C, H, W) tensor of the estimator's fitted shape."""
    images = check_images(
        np.asarray(image)[None],
        getattr(estimator, "image_shape", None),
        expected_shape=getattr(estimator, "image_shape_", None),
        estimator_name=type(estimator).__name__,
    )
    return images


def show_image(images):
    """(1, C, H, W) tensor -> an array imshow draws (grey or RGB, 0..1)."""
    picture = images[0].float()
    if images.dtype == torch.uint8:
        picture = picture / 255.0
    picture = picture.numpy().transpose(1, 2, 0)
    low, high = picture.min(), picture.max()
    if low < 0 or high > 1:
        picture = (picture - low) / max(high - low, 1e-12)
    return picture[..., 0] if picture.shape[-1] == 1 else picture


def unit_index(network, layer):
    return unit_position(layer, list(network.units), "layer")


def unit_outputs(network, x, stop=None):
    """The output of every unit (or of the first ``stop``) for prepared ``x``."""
    return list(network.iter_units(x, stop=stop))


def last_spatial_unit(network, x, min_side=1):
    """Index of the last unit whose output maps are at least ``min_side``
    pixels a side; the last unit with any spatial extent when none is."""
    with torch.no_grad():
        outputs = unit_outputs(network, network.prepare(x.to(network_device(network))))
    sides = [min(output.shape[-2:]) if output.ndim == 4 else 0 for output in outputs]
    spatial = [
        i
        for i, output in enumerate(outputs)
        if output.ndim == 4 and (output.shape[-1] * output.shape[-2] > 1)
    ]
    if not spatial:
        raise ValueError("The network has no convolutional unit with feature maps.")
    large = [i for i in spatial if sides[i] >= min_side]
    return large[-1] if large else spatial[-1]


def grid(n, columns=None):
    columns = columns or int(np.ceil(np.sqrt(n)))
    return int(np.ceil(n / columns)), columns
