"""
An imbalanced target: SMOTE in feature space, or on pixel rows
==============================================================

Brodzicki et al. balanced a skewed set with SMOTE. Two places it can go:
between the feature extractor and the classifier, or on flattened pixels
before a CNN that reshapes rows back into images (``image_shape``).
"""

# %%
import numpy as np
from imblearn.metrics import sensitivity_score, specificity_score
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import make_scorer
from sklearn.model_selection import StratifiedKFold, cross_validate

from sktransfer import CNNFeatureExtractor, PretrainedCNNClassifier
from sktransfer.datasets import load_digits_images

images, labels = load_digits_images()
index = np.concatenate(
    [np.flatnonzero(labels == 8)[:15], np.flatnonzero(labels == 3)[:135]]
)
X = images[index].reshape(len(index), -1)  # rows, as SMOTE needs
y = (labels[index] == 8).astype(int)  # 1:9
print(f"{y.sum()} minority and {len(y) - y.sum()} majority images")

# %%
models = {
    "features + LogisticRegression": make_pipeline(
        CNNFeatureExtractor("efficientnet_lite0", input_size=32, image_shape=(8, 8)),
        LogisticRegression(max_iter=2000),
    ),
    "features + SMOTE + LogisticRegression": make_pipeline(
        CNNFeatureExtractor("efficientnet_lite0", input_size=32, image_shape=(8, 8)),
        SMOTE(random_state=0),
        LogisticRegression(max_iter=2000),
    ),
    "SMOTE on pixels + small_cnn": make_pipeline(
        SMOTE(random_state=0),
        PretrainedCNNClassifier(
            "small_cnn",
            image_shape=(8, 8),
            input_size=16,
            random_state=0,
        ),
    ),
}
scoring = {
    "balanced_accuracy": "balanced_accuracy",
    "sensitivity": make_scorer(sensitivity_score),
    "specificity": make_scorer(specificity_score),
}
for name, model in models.items():
    scores = cross_validate(model, X, y, cv=StratifiedKFold(3), scoring=scoring)
    print(
        f"{name:40s} "
        + "  ".join(f"{key}={scores[f'test_{key}'].mean():.3f}" for key in scoring)
    )
