"""What trains: the units ``freeze_upto`` freezes (and what
``freeze_upto="auto"`` measures to choose them), the optimizer over the rest
with the body's learning rate, and a changed ``freeze_upto`` on a warm
start: the functions :class:`~sktransfer._estimators._base.ImageEstimatorBase`
calls on itself."""

from __future__ import annotations

from .._networks import resolve_unit_count
from .._training import (
    AUTO_FINE_TUNE_FROM,
    DepthProbe,
    auto_freezing_and_why,
    is_auto,
    middle_shift,
)

__all__ = [
    "apply_changed_freezing",
    "build_optimizer",
    "freeze",
    "frozen_units",
    "input_side",
]


def frozen_units(estimator, names, pretrained, network):
    """How many of the units ``names`` ``freeze_upto`` freezes: for
    ``"auto"``, what :func:`~sktransfer._training._recipe.auto_freezing`
    says for the fitted images, when the units are ``pretrained`` (else
    none), from their shift at ``network``'s middle units (``auto_shift_``)
    and what else the estimator probes (``auto_probe_``), measured on the
    images ``fit`` is training on (``_fit_images``, ``_fit_targets``)."""
    freeze_upto = estimator.freeze_upto
    images = getattr(estimator, "_fit_images", None)
    if images is not None:  # a fit (a model file restores its own)
        measure = is_auto(freeze_upto) and pretrained
        estimator.auto_shift_ = None
        estimator.auto_probe_ = None
        if measure:
            estimator.auto_shift_ = middle_shift(
                network, images, estimator.random_state
            )
        if measure and estimator.n_samples_fit_ < AUTO_FINE_TUNE_FROM:
            estimator.auto_probe_ = estimator._auto_probe(network, images)
    if is_auto(freeze_upto):
        probe = getattr(estimator, "auto_probe_", None)
        freeze_upto, estimator._auto_why = auto_freezing_and_why(
            estimator.image_shape_,
            estimator.n_samples_fit_,
            pretrained,
            getattr(estimator, "auto_shift_", None),
            None if probe is None else DepthProbe(*probe),
        )
    return resolve_unit_count(freeze_upto, names, "freeze_upto")


def input_side(estimator, source, frozen_body, fitting):
    """The side ``estimator``'s network takes images at, kept as
    ``input_size_``.

    With ``input_size=None``, a wholly frozen pretrained body
    (``frozen_body``) takes them at the side its weights were trained at
    (224 px for ImageNet's), whatever theirs: a body that cannot adapt sees
    objects at the scale it learned them. At 64 px its top units see feature
    maps of two pixels, which the source never had, and a head on them
    scored 0.08 to 0.19 lower on photographs and drawings shrunk to 64 px
    (recipe guide, "A frozen body at its own scale"). A fit that trains
    units takes small images at 64 px (under 96 px a side:
    :func:`~sktransfer._networks._input_size.default_input_size`), where
    the trained units adapt to them at a twelfth of the compute.

    Parameters
    ----------
    estimator : the estimator building its network
    source : Source
        Its source, at the side ``input_size`` and the images set.
    frozen_body : bool
        Whether every unit is frozen, with pretrained weights.
    fitting : bool
        Whether a fit builds the network; else it is built again as a fit
        did (a model file, a rebuild): at ``input_size_``, or where a file
        from before ``input_size_`` was kept has none, at the source's side,
        as fits then took.

    Returns
    -------
    side : int or None
    """
    side = source.input_size
    if not fitting:
        kept = getattr(estimator, "input_size_", None)
        side = side if kept is None else kept
    elif frozen_body and estimator.input_size is None and source.own_input_size:
        side = source.own_input_size
    # A plain int: a search's NumPy integer is what a model file refuses.
    return None if side is None else int(side)


def freeze(estimator, network, n_frozen):
    """Freeze the first ``n_frozen`` units (all of them first, when
    ``freeze_epochs`` trains the head alone) and tell the schedule."""
    network.set_frozen(len(network.unit_names) if estimator.freeze_epochs else n_frozen)
    estimator.n_frozen_ = n_frozen
    for name, callback in estimator.callbacks_:
        if name == "freeze_schedule":
            callback.freeze_epochs = estimator.freeze_epochs
            callback.n_frozen = n_frozen


def build_optimizer(estimator):
    """The optimizer over the parameters of the units after the frozen ones
    and the head; the body's at ``backbone_lr_scale`` times the rate, unless
    the user gave ``optimizer__param_groups``."""
    network = estimator.module_
    trainable = [
        (name, p)
        for name, p in network.named_parameters()
        if network.unit_of(name) >= estimator.n_frozen_
    ]
    args, kwargs = estimator.get_params_for_optimizer("optimizer", trainable)
    user_groups = "param_groups" in estimator.get_params_for("optimizer")
    if estimator.backbone_lr_scale != 1.0 and not user_groups:
        lr = kwargs.get("lr", estimator.lr)
        body = [p for name, p in trainable if not name.startswith("head.")]
        head = [p for name, p in trainable if name.startswith("head.")]
        groups = [{"params": head, "lr": lr}]
        if body:
            groups.insert(0, {"params": body, "lr": lr * estimator.backbone_lr_scale})
        args = (groups,)
    return estimator.optimizer(*args, **kwargs)


def apply_changed_freezing(estimator):
    """On a warm start, let a changed ``freeze_upto`` take effect (with a
    new optimizer over the now trainable parameters); refuse a changed
    ``transfer_upto``, which would re-initialise trained units."""
    transfer_upto = getattr(estimator, "transfer_upto", None)
    fitted = getattr(estimator, "_fitted_transfer_upto", transfer_upto)
    if transfer_upto != fitted:
        raise ValueError(
            f"`transfer_upto` changed from {fitted!r} to "
            f"{transfer_upto!r} with `warm_start=True`: that would "
            "re-initialise trained units. Fit with warm_start=False to "
            "start again from the source."
        )
    if is_auto(estimator.freeze_upto):
        return  # decided by the first fit, for the images it had
    names = estimator.module_.unit_names
    n_frozen = resolve_unit_count(estimator.freeze_upto, names, "freeze_upto")
    if n_frozen == estimator.n_frozen_:
        return
    freeze(estimator, estimator.module_, n_frozen)
    estimator.initialize_optimizer()
