"""sktransfer: transfer learning of CNNs for small image datasets, as
scikit-learn estimators."""

import importlib
from typing import TYPE_CHECKING

# The built-in backbone families register themselves on import, before any
# lookup and before a user's own register_backbone.
from . import backbones  # noqa: F401  (isort: skip)
from ._estimators import (
    Advice,
    CNNFeatureExtractor,
    LabelRelationTransfer,
    LRFindResult,
    PretrainedCNNClassifier,
    PretrainedCNNRegressor,
    lr_find,
    suggest_strategy,
)
from ._inputs import ImageShapeWarning, PixelScaleWarning
from ._networks import layer_names
from ._runtime import BatchLoader, ShuffledBatchLoader
from ._version import __version__ as __version__
from .backbones._registry import (
    BackboneSpec,
    get_backbone_spec,
    list_backbones,
    offline_backbones,
    register_backbone,
)
from .backbones._weights import WeightsDownloadError, WeightsSpec

__all__ = [
    "Advice",
    "BackboneSpec",
    "BatchLoader",
    "CNNFeatureExtractor",
    "LRFindResult",
    "LabelRelationTransfer",
    "ModelFileError",
    "ModelInfo",
    "ImageShapeWarning",
    "PixelScaleWarning",
    "PretrainedCNNClassifier",
    "PretrainedCNNRegressor",
    "ShuffledBatchLoader",
    "get_backbone_spec",
    "inspect_model",
    "layer_names",
    "list_backbones",
    "load_model",
    "lr_find",
    "offline_backbones",
    "register_backbone",
    "save_model",
    "suggest_strategy",
    "WeightsDownloadError",
    "WeightsSpec",
]

# The model files' names load on first use: their machinery (skops.io, the
# allowed types of imbalanced-learn and scikit-learn) takes seconds to import,
# which ``import sktransfer`` need not pay before a model is saved or loaded.
if TYPE_CHECKING:
    from ._model_files import (
        ModelFileError,
        ModelInfo,
        inspect_model,
        load_model,
        save_model,
    )
_MODEL_FILES = (
    "ModelFileError",
    "ModelInfo",
    "inspect_model",
    "load_model",
    "save_model",
)


def __getattr__(name):
    if name in _MODEL_FILES:
        value = getattr(importlib.import_module("._model_files", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_MODEL_FILES))
