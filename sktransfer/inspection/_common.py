"""What the Displays share: the fitted network, its images, and forward passes
through the core's batched inference."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch

from .._inputs import check_fitted_images
from .._inputs import fitted_network as _fitted_network
from .._networks import unit_position
from .._runtime import (
    PREDICT_BATCH_SIZE,
    batched_inference,
    prediction_batch_size,
)


def fitted_network(estimator):
    """The TransferNetwork of a fitted estimator of this library, as it is.

    Use it inside :func:`evaluating`, which leaves it on its device and puts
    its training mode back afterwards: inspection must leave the estimator
    as it found it (a model moved to the CPU would fail its next ``predict``
    on the GPU).
    """
    network = _fitted_network(estimator)
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
    """``image`` as a (1, C, H, W) tensor the estimator accepts."""
    return check_fitted_images(estimator, np.asarray(image)[None])


def inference_settings(estimator, network):
    """How the estimator runs batches: the device its network is on (left
    there), its precision and its prediction batch size."""
    skorch_net = hasattr(estimator, "get_params_for")
    return {
        "device": network_device(network),
        "precision": getattr(estimator, "precision", None),
        "batch_size": (
            prediction_batch_size(estimator) if skorch_net else PREDICT_BATCH_SIZE
        ),
    }


def unit_maps(estimator, network, X, stop, to="cpu", last=False):
    """The outputs of units ``0 .. stop - 1`` for images ``X`` (a tuple, on
    ``to``; with ``last``, unit ``stop - 1``'s alone), by the core's batched
    inference on the network's device."""

    def maps(batch):
        outputs = tuple(network.iter_units(network.prepare(batch), stop=stop))
        return outputs[-1:] if last else outputs

    return batched_inference(maps, X, to=to, **inference_settings(estimator, network))


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


def last_spatial_unit(estimator, network, x, min_side=1):
    """Index of the last unit whose output maps are at least ``min_side``
    pixels a side; the last unit with any spatial extent when none is."""
    outputs = unit_maps(estimator, network, x, stop=len(network.units))
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
