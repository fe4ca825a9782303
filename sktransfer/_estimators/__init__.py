"""The estimator classes, and what only they use.

The skorch estimators stand on four classes of this folder:
``SkorchEstimator`` (skorch's net with scikit-learn's parameter
contract, ``device="auto"``, equal pickles), ``ImageDataHooks``
(datasets, splits, loaders, loss, ``forward``), ``ImageEstimatorBase``
(``fit`` by the recipe) and the classifiers' or the regressor's base (their
targets). Each writes its ``__init__`` out; the constraints of their shared
parameters are written once (``_parameters.py``) and so is their
documentation (``_docs.py``). The feature extractor is a plain
scikit-learn transformer on the same core; ``suggest_strategy`` advises
before any training."""

from ._advice import Advice, suggest_strategy
from ._base import ImageEstimatorBase
from ._classifier import PretrainedCNNClassifier
from ._docs import shared_docs
from ._extractor import CNNFeatureExtractor
from ._label_relation import LabelRelationTransfer
from ._lr_find import LRFindResult, lr_find
from ._parameters import default_of
from ._rebuilding import build_network_of, initialize_fitted
from ._regressor import PretrainedCNNRegressor

__all__ = [
    "Advice",
    "CNNFeatureExtractor",
    "ImageEstimatorBase",
    "LRFindResult",
    "LabelRelationTransfer",
    "PretrainedCNNClassifier",
    "PretrainedCNNRegressor",
    "build_network_of",
    "default_of",
    "initialize_fitted",
    "lr_find",
    "shared_docs",
    "suggest_strategy",
]
