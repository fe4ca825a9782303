"""From ``backbone``, ``weights`` and the fitted images to the network.

The one path every estimator takes: the weights file's SHA-256 is checked
before it is read, the source network is resolved for the images' channels
and size (:func:`~sktransfer._networks._source.resolve_source`), a channel count it
cannot take is refused, and the network is assembled from the source's units
and a head (:meth:`~sktransfer._networks._network.TransferNetwork.from_source`).

Inside :func:`structure_only` the same path builds the network's structure
and reads no weights file: a saved model (:mod:`sktransfer._model_files._stored`) then
loads its own weights into it, on a machine that may not have the file the
model was first built from.
"""

from __future__ import annotations

import contextlib
import contextvars

import torch

from ..backbones._weights import check_weights_sha256
from ._augment import resolve_augment
from ._network import TransferNetwork
from ._source import check_channels, resolve_source

__all__ = ["build_network", "load_source", "structure_only"]

_STRUCTURE_ONLY = contextvars.ContextVar("structure_only", default=False)


@contextlib.contextmanager
def structure_only():
    """Within the block, :func:`load_source` reads no weights file.

    Networks keep their initial parameters; nothing is downloaded, no
    package's weights are read and ``weights_sha256`` is not checked.
    """
    token = _STRUCTURE_ONLY.set(True)
    try:
        yield
    finally:
        _STRUCTURE_ONLY.reset(token)


def load_source(backbone, *, weights, weights_sha256, image_shape, input_size):
    """The source network for images of ``image_shape`` ``(C, H, W)``.

    Parameters
    ----------
    backbone : str, nn.Module or fitted estimator
    weights : "DEFAULT", None, str, weights enum or path
    weights_sha256 : str or None
        Checked against a ``weights`` file before it is read.
    image_shape : tuple
        The fitted ``(C, H, W)``: the channels to build for, and the side
        that sets the default input size.
    input_size : int or None

    Returns
    -------
    source : Source
    """
    read_weights = not _STRUCTURE_ONLY.get()
    if read_weights:
        check_weights_sha256(weights, weights_sha256)
    in_channels = image_shape[0]
    source = resolve_source(
        backbone,
        weights,
        in_channels=in_channels,
        input_size=input_size,
        image_side=min(image_shape[1:]),
        read_weights=read_weights,
    )
    check_channels(source, in_channels)
    return source


def build_network(source, head=None, *, upto=None, augment=None, batchnorm="train"):
    """The network of a resolved ``source``: its body units and ``head``.

    Parameters
    ----------
    source : Source
        From :func:`load_source`.
    head : nn.Module, callable or None, default=None
        The head after the pooling; a callable ``head(source)`` builds it
        (after the source, so that seeded initialisation draws in that
        order). None keeps the source's own head, or none with ``upto``.
    upto : int or None, default=None
        Keep only the first ``upto`` body units (a feature extractor).
    augment : None, str or callable, default=None
        The ``augment`` parameter
        (:func:`~sktransfer._networks._augment.resolve_augment`).
    batchnorm : {"train", "recalibrate", "frozen"}, default="train"

    Returns
    -------
    network : TransferNetwork
        Laid out channels-last.
    """
    if callable(head) and not isinstance(head, torch.nn.Module):
        head = head(source)
    network = TransferNetwork.from_source(
        source,
        head,
        upto=upto,
        augment=resolve_augment(augment),
        batchnorm=batchnorm,
    )
    # Channels-last on every device: cuDNN's bf16 convolutions and oneDNN's
    # CPU convolutions both run fastest so (benchmarks/cpu_layout.py; the GPU
    # guide). It changes the order of roundings only: the recipe guide
    # measures what that moves.
    return network.to(memory_format=torch.channels_last)
