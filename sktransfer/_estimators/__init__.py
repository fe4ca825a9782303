"""TODO"""

from ._advice import Advice, suggest_strategy
from ._base import ImageEstimatorBase
from ._classifier import PretrainedCNNClassifier
from ._docs import shared_docs
from ._extractor import CNNFeatureExtractor
from ._label_relation import LabelRelationTransfer
from ._parameters import default_of
from ._regressor import LOSSES, PretrainedCNNRegressor

__all__ = [
    "Advice",
    "CNNFeatureExtractor",
    "ImageEstimatorBase",
    "LOSSES",
    "LabelRelationTransfer",
    "PretrainedCNNClassifier",
    "PretrainedCNNRegressor",
    "default_of",
    "shared_docs",
    "suggest_strategy",
]
