"""sktransfer: transfer learning of CNNs for small image datasets, as
scikit-learn estimators."""

from importlib.metadata import PackageNotFoundError, version

# The built-in backbone families register themselves on import, before any
# lookup and before a user's own register_backbone.
from . import backbones  # noqa: F401  (isort: skip)
from ._advice import Advice, suggest_strategy
from ._classifier import PretrainedCNNClassifier
from ._extractor import CNNFeatureExtractor
from ._images import ImageShapeWarning, PixelScaleWarning
from ._label_relation import LabelRelationTransfer
from ._lr_find import LRFindResult, lr_find
from ._model_file import ModelFileError
from ._model_info import ModelInfo
from ._persist import inspect_model, load_model, save_model
from ._registry import (
    BackboneSpec,
    get_backbone_spec,
    list_backbones,
    offline_backbones,
    register_backbone,
)
from ._regressor import PretrainedCNNRegressor
from ._source import layer_names
from ._weights import WeightsDownloadError, WeightsSpec

__all__ = [
    "Advice",
    "BackboneSpec",
    "CNNFeatureExtractor",
    "LRFindResult",
    "LabelRelationTransfer",
    "ModelFileError",
    "ModelInfo",
    "ImageShapeWarning",
    "PixelScaleWarning",
    "PretrainedCNNClassifier",
    "PretrainedCNNRegressor",
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

try:  # the version is written once, in pyproject.toml
    __version__ = version("sktransfer")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"
