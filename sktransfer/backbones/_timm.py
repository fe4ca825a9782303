"""timm's model zoo through the registry: ``backbone="timm/<model name>"``.

timm stays optional: these names resolve only when it is installed. A timm
network is cut into two units, ``body`` (everything up to the pre-logits
features, timm's ``forward_features`` + ``forward_head(pre_logits=True)``) and
``classifier``; ``freeze_upto=1`` (or ``"all"``) is feature extraction, ``0``
fine-tunes everything.
"""

from __future__ import annotations

from ._registry import BackboneSpec, DecomposedNetwork, register_backbone_prefix
from ._weights import WeightsSpec


def timm_units(model):
    """timm: body, classifier."""
    classifier = model.get_classifier()
    model.reset_classifier(0)
    return DecomposedNetwork(
        units=[("body", model), ("classifier", classifier)], pool_index=1
    )


def _weights(model_name, cfg):
    """The :class:`~sktransfer.WeightsSpec` of timm's pretrained config: its
    own normalisation, input size and class names, loaded by timm's hub."""
    import timm

    def load():
        return timm.create_model(model_name, pretrained=True).state_dict()

    label_names = getattr(cfg, "label_names", None)
    return WeightsSpec(
        name=getattr(cfg, "tag", None) or "DEFAULT",
        loader=load,
        mean=tuple(cfg.mean),
        std=tuple(cfg.std),
        input_size=int(cfg.input_size[-1]),
        categories=tuple(label_names) if label_names else None,
        label=f"timm's {model_name}" + (f".{cfg.tag}" if cfg.tag else ""),
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
    # timm's PretrainedCfg is the one description of the weights.
    cfg = timm.models.get_pretrained_cfg(model_name)
    weights = () if cfg is None else (_weights(model_name, cfg),)
    in_channels = int(cfg.input_size[0]) if cfg is not None else 3

    def build(in_channels, input_size):
        return timm.create_model(model_name, pretrained=False, in_chans=in_channels)

    return BackboneSpec(
        name=f"timm/{model_name}",
        build=build,
        decompose=timm_units,
        input_size=weights[0].input_size if weights else 224,
        mean=weights[0].mean if weights else timm.data.IMAGENET_DEFAULT_MEAN,
        std=weights[0].std if weights else timm.data.IMAGENET_DEFAULT_STD,
        in_channels=in_channels,
        weights=weights,
        default_weights=weights[0].name if weights else None,
        family="timm: body, classifier",
    )


register_backbone_prefix("timm", _resolve)
