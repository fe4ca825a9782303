"""sktransfer: transfer learning of CNNs for small image datasets, as
scikit-learn estimators."""

from ._classifier import PretrainedCNNClassifier
from ._registry import (
    BackboneSpec,
    get_backbone_spec,
    layer_names,
    list_backbones,
    register_backbone,
)

__all__ = [
    "BackboneSpec",
    "PretrainedCNNClassifier",
    "get_backbone_spec",
    "layer_names",
    "list_backbones",
    "register_backbone",
]

__version__ = "0.1.0"
