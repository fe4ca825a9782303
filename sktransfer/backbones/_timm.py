"""timm's model zoo through the registry: ``backbone="timm/<model name>"``.

timm stays optional: these names resolve only when it is installed. A timm
network is cut into two units, ``body`` (everything up to the pre-logits
features, timm's ``forward_features`` + ``forward_head(pre_logits=True)``) and
``classifier``; ``freeze_upto=1`` (or ``"all"``) is feature extraction, ``0``
fine-tunes everything.
"""

from __future__ import annotations

from .._registry import BackboneSpec, DecomposedNetwork, register_backbone_prefix


def timm_units(model):
    """timm: body, classifier."""
    classifier = model.get_classifier()
    model.reset_classifier(0)
    return DecomposedNetwork(
        units=[("body", model), ("classifier", classifier)], pool_index=1
    )


def _resolve(model_name):
    try:
        import timm
    except ImportError as exc:
        raise ValueError(
            f"`backbone` 'timm/{model_name}' needs timm: pip install timm."
        ) from exc
    if model_name not in timm.list_models() and not timm.is_model(model_name):
        close = timm.list_models(f"*{model_name}*")[:5]
        raise ValueError(
            f"`backbone` 'timm/{model_name}' is not a timm model."
            + (f" Close names: {close}." if close else "")
        )
    cfg = timm.models.get_pretrained_cfg(model_name) or {}
    if hasattr(cfg, "to_dict"):
        cfg = cfg.to_dict()
    input_size = cfg.get("input_size", (3, 224, 224))

    def build(in_channels, input_size):
        return timm.create_model(model_name, pretrained=False, in_chans=in_channels)

    def default_weights():
        return timm.create_model(model_name, pretrained=True).state_dict()

    return BackboneSpec(
        name=f"timm/{model_name}",
        build=build,
        decompose=timm_units,
        input_size=int(input_size[-1]),
        mean=tuple(cfg.get("mean", (0.485, 0.456, 0.406))),
        std=tuple(cfg.get("std", (0.229, 0.224, 0.225))),
        in_channels=int(input_size[0]),
        default_weights=default_weights,
        family="timm: body, classifier",
    )


register_backbone_prefix("timm", _resolve)
