"""Resolve ``backbone`` + ``weights`` into a source network cut into units.

The one place that knows where weights come from: torchvision's cache (or a
download, as torchvision does), a state-dict file, an installable weights
package, a user's ``nn.Module``, or the trained network of a fitted estimator
of this library. State dicts are always read with ``weights_only=True``, so a
weights file cannot run code.
"""

from __future__ import annotations

import copy
import enum
import hashlib
import os
from dataclasses import dataclass

import torch
from sklearn.frozen import FrozenEstimator
from torch import nn

from ._download import download_state_dict
from ._network import reset_parameters
from ._recipe import default_input_size
from ._registry import (
    BackboneSpec,
    DecomposedNetwork,
    get_backbone_spec,
    module_rule,
)
from .backbones._rules import last_linear_units, sequential_units

__all__ = [
    "Source",
    "check_channels",
    "check_weights_sha256",
    "layer_names",
    "load_state_dict_file",
    "resolve_source",
]


@dataclass
class Source:
    """A source network, its weights loaded, cut into transferable units."""

    name: str
    decomposed: DecomposedNetwork
    input_size: int | None
    mean: tuple | None
    std: tuple | None
    in_channels: int | None
    categories: list | None
    pretrained: bool


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
    digest = hashlib.sha256()
    with open(weights, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    actual = digest.hexdigest()
    if not actual.startswith(expected.lower()):
        raise ValueError(
            f"`weights` file {os.fspath(weights)!r} has SHA-256 {actual}, not the "
            f"expected `weights_sha256`={expected!r}; it was not loaded."
        )


def _load_into(model, state_dict, origin):
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    wrong_shape = [
        f"{k}: file {tuple(state_dict[k].shape)} vs network {tuple(own[k].shape)}"
        for k in own
        if k in state_dict and state_dict[k].shape != own[k].shape
    ]
    if missing or unexpected or wrong_shape:

        def show(keys):
            return ", ".join(keys[:8]) + (
                f" (+{len(keys) - 8} more)" if len(keys) > 8 else ""
            )

        parts = []
        if missing:
            parts.append(f"missing keys: {show(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {show(unexpected)}")
        if wrong_shape:
            parts.append(f"shape mismatches: {show(wrong_shape)}")
        raise ValueError(
            f"`weights` {origin} do not match the {type(model).__name__} "
            f"network: {'; '.join(parts)}."
        )
    model.load_state_dict(state_dict)


def _weights_enum_member(spec, weights):
    enum_cls = spec.weights_enum
    if isinstance(weights, enum.Enum):
        if enum_cls is None or not isinstance(weights, enum_cls):
            raise ValueError(
                f"`weights` {weights} does not belong to backbone {spec.name!r}"
                + (f"; expected a member of {enum_cls.__name__}." if enum_cls else ".")
            )
        return weights
    if enum_cls is not None and weights in enum_cls.__members__:
        return enum_cls[weights]
    return None


def _spec_source(spec: BackboneSpec, weights, in_channels, input_size, image_side):
    member = None
    state_dict = None
    origin = ""
    if isinstance(weights, str) and weights == "DEFAULT":
        default = spec.default_weights
        if isinstance(default, enum.Enum):
            member = default
        elif callable(default):
            loaded = default()
            state_dict = (
                loaded if isinstance(loaded, dict) else load_state_dict_file(loaded)
            )
            origin = f"'DEFAULT' of {spec.name!r}"
    elif weights is not None:
        member = _weights_enum_member(spec, weights)
        if member is None:
            if isinstance(weights, (str, os.PathLike)) and (
                os.path.sep in os.fspath(weights)
                or os.fspath(weights).endswith((".pt", ".pth", ".bin"))
                or os.path.exists(weights)
            ):
                state_dict = load_state_dict_file(weights)
                origin = f"file {os.fspath(weights)!r}"
            else:
                names = list(spec.weights_enum.__members__) if spec.weights_enum else []
                raise ValueError(
                    f"`weights` {weights!r} is not a weights name of backbone "
                    f"{spec.name!r} nor an existing file. Expected 'DEFAULT', None, "
                    + (f"one of {names}, " if names else "")
                    + "or the path of a saved state dict."
                )
    pretrained = member is not None or state_dict is not None
    build_channels = (
        spec.in_channels if pretrained or in_channels is None else in_channels
    )
    size = input_size or default_input_size(
        image_side, spec.input_size, spec.min_input_size
    )
    model = spec.build(build_channels, size)
    mean, std, categories = spec.mean, spec.std, None
    if member is not None:
        state_dict = download_state_dict(member, spec.name)
        origin = f"{member} (from {member.url})"
        preset = member.transforms()
        if spec.preset_normalization:
            mean, std = tuple(preset.mean), tuple(preset.std)
        categories = list(member.meta.get("categories", [])) or None
        if input_size is None:
            size = default_input_size(
                image_side, int(preset.crop_size[0]), spec.min_input_size
            )
    elif state_dict is not None and weights == "DEFAULT":
        categories = spec.categories
    if state_dict is not None:
        _load_into(model, state_dict, origin)
    first = next(
        (m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))), None
    )
    if isinstance(first, nn.Conv2d):
        build_channels = first.in_channels
    if len(mean) != build_channels:
        # A built-in built for another channel count than its defaults.
        mean = (sum(mean) / len(mean),) * build_channels
        std = (sum(std) / len(std),) * build_channels
    return Source(
        name=spec.name,
        decomposed=spec.decompose(model),
        input_size=size,
        mean=tuple(mean),
        std=tuple(std),
        in_channels=build_channels,
        categories=categories,
        pretrained=pretrained,
    )


def _module_source(module, weights, input_size):
    model = copy.deepcopy(module)
    if weights is None:
        reset_parameters(model)
    elif not (isinstance(weights, str) and weights == "DEFAULT"):
        if isinstance(weights, (str, os.PathLike)):
            _load_into(
                model, load_state_dict_file(weights), f"file {os.fspath(weights)!r}"
            )
        else:
            raise ValueError(
                "`weights` for an nn.Module backbone must be 'DEFAULT' (keep its "
                f"weights), None (re-initialise) or a state-dict path; got {weights!r}."
            )
    rule = module_rule(model)
    if rule is None:
        rule = (
            sequential_units if isinstance(model, nn.Sequential) else last_linear_units
        )
    first = next(
        (m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))), None
    )
    in_channels = first.in_channels if isinstance(first, nn.Conv2d) else None
    return Source(
        name=type(module).__name__,
        decomposed=rule(model),
        input_size=input_size,
        mean=None,
        std=None,
        in_channels=in_channels,
        categories=None,
        pretrained=weights is not None,
    )


def _estimator_source(estimator, weights, input_size):
    network = copy.deepcopy(estimator.module_)
    if weights is None:
        reset_parameters(network)
    elif not (isinstance(weights, str) and weights == "DEFAULT"):
        raise ValueError(
            "`weights` for a fitted estimator as backbone must be 'DEFAULT' (its "
            f"trained weights) or None (re-initialise); got {weights!r}."
        )
    units = list(network.units.items()) + [(network.head_name, network.head)]
    if input_size is not None and input_size != network.input_size:
        raise ValueError(
            f"`input_size`={input_size} differs from the {network.input_size} the "
            "source estimator was trained at; leave input_size=None."
        )
    return Source(
        name=f"fitted {type(estimator).__name__}",
        decomposed=DecomposedNetwork(
            units=units, pool_index=network.pool_index, pool=network.pool
        ),
        input_size=network.input_size,
        mean=network.mean_values,
        std=network.std_values,
        in_channels=network.in_channels,
        categories=list(estimator.classes_),
        pretrained=weights is not None,
    )


def check_channels(source, in_channels):
    """Refuse images whose channel count the source network cannot take.

    Equal counts pass, and 1 <-> 3 are converted on the device.
    """
    expected = source.in_channels
    if expected is not None and in_channels != expected:
        if {in_channels, expected} != {1, 3}:
            raise ValueError(
                f"`X` has {in_channels} channels but backbone {source.name!r} "
                f"takes {expected} (1 and 3 are converted into each other); "
                "pass images with a channel count the backbone can take."
            )


def resolve_source(
    backbone, weights="DEFAULT", in_channels=None, input_size=None, image_side=None
):
    """Build the source network for ``backbone`` with ``weights`` loaded.

    Parameters
    ----------
    backbone : str, nn.Module or fitted estimator of this library
    weights : 'DEFAULT', None, str, weights enum or path
    in_channels : int or None
        Channels of the data; used to build networks without pretrained
        weights (the built-ins) for that many channels.
    input_size : int or None
        Input side; None takes the backbone's default, or 64 px for images
        under 96 px a side (:func:`sktransfer._recipe.default_input_size`).
    image_side : int or None
        The smaller side of the images, for that default.

    Returns
    -------
    source : Source
    """
    from sklearn.utils.validation import check_is_fitted

    if isinstance(backbone, str):
        return _spec_source(
            get_backbone_spec(backbone), weights, in_channels, input_size, image_side
        )
    if isinstance(backbone, nn.Module):
        return _module_source(backbone, weights, input_size)
    if hasattr(backbone, "module_") or hasattr(backbone, "fit"):
        # Only a FrozenEstimator is unwrapped: LabelRelationTransfer also has
        # an `estimator` attribute (its source), but its own network is wanted.
        inner = backbone
        if isinstance(backbone, FrozenEstimator):
            inner = backbone.estimator
        check_is_fitted(
            inner,
            "module_",
            msg=(
                f"The source {type(inner).__name__} is not fitted: fit it on the "
                "source data first. Inside GridSearchCV or cross_val_score, wrap "
                "it in sklearn.frozen.FrozenEstimator so that clone keeps it fitted."
            ),
        )
        return _estimator_source(inner, weights, input_size)
    raise TypeError(
        "`backbone` must be a registered name (see sktransfer.list_backbones()), "
        "an nn.Module or a fitted estimator of sktransfer; got "
        f"{type(backbone).__name__}."
    )


def layer_names(backbone):
    """Names of the transferable units of a backbone, in forward order.

    The last name is the source classifier, which
    :class:`~sktransfer.PretrainedCNNClassifier` replaces by its new head.

    Parameters
    ----------
    backbone : str or nn.Module or fitted estimator
        Anything ``PretrainedCNNClassifier(backbone=...)`` accepts.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from sktransfer import layer_names
    >>> layer_names("resnet18")
    ['stem', 'layer1', 'layer2', 'layer3', 'layer4', 'fc']
    >>> layer_names("small_cnn")
    ['conv1', 'conv2', 'conv3', 'fc1', 'fc2']
    """
    source = resolve_source(backbone, weights=None, in_channels=None)
    return [name for name, _ in source.decomposed.units]
