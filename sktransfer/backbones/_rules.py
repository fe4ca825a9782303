"""Generic rules that cut a network into transferable units."""

from __future__ import annotations

from torch import nn

from ._registry import DecomposedNetwork

_PARAMETRISED = (nn.Conv2d, nn.Linear)


def group_layers(layers, prefix_conv="conv", prefix_fc="fc"):
    """Group a flat list of layers into units.

    A unit starts at each ``nn.Conv2d`` or ``nn.Linear`` and takes the
    parameter-free layers (activations, pooling, dropout) and normalisation
    layers that follow it; layers before the first such layer join the first
    unit. Units are named ``conv1, conv2, ...`` and ``fc1, fc2, ...``.

    Parameters
    ----------
    layers : iterable of nn.Module
        The layers in forward order.
    prefix_conv, prefix_fc : str, default="conv", "fc"
        The names of convolutional and dense units, before their number.

    Returns
    -------
    units : list of (str, nn.Sequential)
        Each unit's name and its layers.
    """
    groups = []
    pending = []
    for layer in layers:
        if isinstance(layer, _PARAMETRISED):
            groups.append([*pending, layer])
            pending = []
        elif groups:
            groups[-1].append(layer)
        else:
            pending.append(layer)
    if pending and groups:
        groups[-1].extend(pending)
    units = []
    n_conv = n_fc = 0
    for group in groups:
        if any(isinstance(layer, nn.Linear) for layer in group):
            n_fc += 1
            name = f"{prefix_fc}{n_fc}"
        else:
            n_conv += 1
            name = f"{prefix_conv}{n_conv}"
        units.append((name, nn.Sequential(*group)))
    return units


def sequential_units(model):
    """Cut an ``nn.Sequential`` into units, one per Conv2d or Linear layer.

    The flattening layer (and any pooling right before it) between the
    convolutional and the dense part becomes the network's ``pool``.

    Parameters
    ----------
    model : nn.Sequential
        The network; its last Linear layer is the source classifier.

    Returns
    -------
    network : DecomposedNetwork
        The units in forward order, and where the pooling runs.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(
            f"sequential_units expects an nn.Sequential, got {type(model).__name__}."
        )
    layers = list(model)
    flatten_at = next(
        (i for i, layer in enumerate(layers) if isinstance(layer, nn.Flatten)), None
    )
    if flatten_at is None:
        units = group_layers(layers)
        return DecomposedNetwork(units=units, pool_index=0, pool=nn.Identity())
    conv_part = group_layers(layers[:flatten_at])
    dense_part = group_layers(layers[flatten_at + 1 :])
    return DecomposedNetwork(
        units=conv_part + dense_part,
        pool_index=len(conv_part),
        pool=layers[flatten_at],
    )


def last_linear_units(model):
    """Cut an arbitrary module into ``body`` and ``classifier``.

    The last ``nn.Linear`` registered as a direct child is taken as the
    classifier and replaced by ``nn.Identity`` inside ``body``. This is right
    for any network whose forward pass ends with that layer, as nearly all
    classification networks do.

    Parameters
    ----------
    model : nn.Module
        The network, changed in place: its classifier becomes ``nn.Identity``.

    Returns
    -------
    network : DecomposedNetwork
        Two units, ``body`` and ``classifier``.
    """
    linear_children = [
        name for name, child in model.named_children() if isinstance(child, nn.Linear)
    ]
    if not linear_children:
        raise ValueError(
            f"`backbone`: cannot find the classifier of {type(model).__name__}: "
            "expected an nn.Sequential, a registered architecture, or a module "
            "with an nn.Linear child as its last layer."
        )
    name = linear_children[-1]
    classifier = getattr(model, name)
    setattr(model, name, nn.Identity())
    return DecomposedNetwork(
        units=[("body", model), ("classifier", classifier)],
        pool_index=1,
        pool=nn.Identity(),
    )
