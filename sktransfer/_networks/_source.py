"""Resolve ``backbone`` + ``weights`` into a source network cut into units.

A registered name (its :class:`~sktransfer.WeightsSpec` says where the
weights come from), a state-dict file, a user's ``nn.Module``, or the trained
network of a fitted estimator of this library. State dicts are always read
with ``weights_only=True``, so a weights file cannot run code.
"""

from __future__ import annotations

import copy
import enum
import os
from dataclasses import dataclass

import torch
from sklearn.frozen import FrozenEstimator
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..backbones._registry import (
    BackboneSpec,
    DecomposedNetwork,
    get_backbone_spec,
    module_rule,
)
from ..backbones._rules import last_linear_units, sequential_units
from ..backbones._weights import load_state_dict_file, sha256_of
from ._input_size import default_input_size
from ._network import reset_parameters

__all__ = [
    "Source",
    "check_channels",
    "find_weights",
    "layer_names",
    "resolve_source",
    "weights_origin",
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
    # The side its weights were trained at (None: not known).
    own_input_size: int | None = None


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


def find_weights(spec, weights, must_exist=True):
    """The :class:`WeightsSpec` of ``spec`` that ``weights`` names (a name, or
    a torchvision enum member), or None for a path (and for "DEFAULT" of a
    backbone without pretrained weights). Without ``must_exist`` any other
    string is taken for the path of a file on another machine."""
    if isinstance(weights, enum.Enum):
        entry = next((w for w in spec.weights if w.label == str(weights)), None)
        if entry is None:
            raise ValueError(
                f"`weights` {weights} does not belong to backbone {spec.name!r}; "
                f"expected one of {spec.weights_names}."
            )
        return entry
    if isinstance(weights, str) and weights in (*spec.weights_names, "DEFAULT"):
        return spec.find_weights(weights)  # "DEFAULT" without weights: None
    if isinstance(weights, (str, os.PathLike)) and (
        not must_exist
        or os.path.sep in os.fspath(weights)
        or os.fspath(weights).endswith((".pt", ".pth", ".bin"))
        or os.path.exists(weights)
    ):
        return None
    names = spec.weights_names or ["DEFAULT"]
    raise ValueError(
        f"`weights` {weights!r} is not a weights name of backbone {spec.name!r} "
        f"nor an existing file. Expected None, one of {names}, or the path of a "
        "saved state dict."
    )


def weights_origin(backbone, weights, weights_sha256=None):
    """Where the pretrained weights of a ``backbone`` (its name, or a source
    of another kind) with ``weights`` come from, in words: the file or the
    package, and its SHA-256."""
    if not isinstance(backbone, str):
        return f"the trained network of the source ({type(backbone).__name__})"
    if weights is None:
        return "none: random initialisation (weights=None)"
    entry = find_weights(get_backbone_spec(backbone), weights, must_exist=False)
    if entry is None and isinstance(weights, str) and weights == "DEFAULT":
        return "none: random initialisation (a built-in without pretrained weights)"
    if entry is None:
        digest = weights_sha256
        if digest is None:
            try:
                digest = sha256_of(weights)
            except OSError:
                digest = "unknown"
        return f"the file {str(weights)!r}, sha256 {digest}"
    if entry.url is not None:
        where = entry.url
    elif entry.package is not None:
        where = f"the package {entry.package} ({entry.file_name})"
    else:
        where = "its zoo's loader"
    return f"{entry} from {where}, sha256 {entry.sha256 or 'not recorded'}"


def _spec_source(
    spec: BackboneSpec, weights, in_channels, input_size, image_side, read_weights
):
    entry, state_dict, origin, from_file = None, None, "", False
    if weights is not None:
        entry = find_weights(spec, weights, must_exist=read_weights)
        from_file = entry is None and not (
            isinstance(weights, str) and weights == "DEFAULT"
        )
        if from_file and read_weights:
            state_dict = load_state_dict_file(weights)
            origin = f"file {os.fspath(weights)!r}"
    pretrained = entry is not None or from_file
    build_channels = (
        spec.in_channels if pretrained or in_channels is None else in_channels
    )
    own_size = spec.input_size if entry is None else entry.input_size
    size = input_size or default_input_size(image_side, own_size, spec.min_input_size)
    model = spec.build(build_channels, size)
    mean, std = (spec.mean, spec.std) if entry is None else (entry.mean, entry.std)
    categories = None
    if entry is not None:
        if read_weights:
            state_dict = entry.load_state_dict(spec.name)
        origin = f"{entry} of {spec.name!r}"
        categories = list(entry.categories) if entry.categories else None
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
        own_input_size=own_size,
    )


def _module_source(module, weights, input_size, read_weights):
    model = copy.deepcopy(module)
    if weights is None:
        reset_parameters(model)
    elif read_weights and not (isinstance(weights, str) and weights == "DEFAULT"):
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
    backbone,
    weights="DEFAULT",
    in_channels=None,
    input_size=None,
    image_side=None,
    read_weights=True,
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
        Input side; None takes the backbone's default, or 64 px for images under 96 px a
        side (:func:`sktransfer._networks._input_size.default_input_size`).
    image_side : int or None
        The smaller side of the images, for that default.
    read_weights : bool, default=True
        False builds the structure the weights would be loaded into, with
        its initial parameters, and reads no file.

    Returns
    -------
    source : Source
    """
    if isinstance(backbone, str):
        return _spec_source(
            get_backbone_spec(backbone),
            weights,
            in_channels,
            input_size,
            image_side,
            read_weights,
        )
    if isinstance(backbone, nn.Module):
        return _module_source(backbone, weights, input_size, read_weights)
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
    if isinstance(backbone, str):
        # The names need the structure only: built on the meta device, a
        # network allocates and initialises nothing (VGG-19: seconds saved).
        with torch.device("meta"):
            source = resolve_source(backbone, weights=None, in_channels=None)
    else:  # the weights of a module or a fitted estimator are kept as they are
        source = resolve_source(backbone, weights="DEFAULT", in_channels=None)
    return [name for name, _ in source.decomposed.units]
