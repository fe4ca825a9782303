"""Pictures that explain a transfer, as scikit-learn style Display objects.

The confusion matrix is scikit-learn's own
:class:`~sklearn.metrics.ConfusionMatrixDisplay`, which works on these
estimators as on any classifier.
"""

from ._curves import LRFinderDisplay, StudyDisplay, TransferabilityDisplay
from ._gradcam import GradCAMDisplay, grad_cam
from ._maps import FeatureMapDisplay, FilterDisplay
from ._relation import RelationDisplay

__all__ = [
    "FeatureMapDisplay",
    "FilterDisplay",
    "GradCAMDisplay",
    "LRFinderDisplay",
    "RelationDisplay",
    "StudyDisplay",
    "TransferabilityDisplay",
    "grad_cam",
]
