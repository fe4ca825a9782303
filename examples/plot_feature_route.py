"""
The fixed-feature route: pretrained embeddings + a linear classifier
====================================================================

Trivedi's first scenario (a small target, similar to the source): run the
pretrained body once, and learn a linear classifier on its features. Here the
EfficientNet-Lite0 ImageNet body embeds the bundled digits.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from sktransfer import CNNFeatureExtractor
from sktransfer.baselines import linear_svm_on_pixels
from sktransfer.datasets import load_digits_images

X, y = load_digits_images()
X_train, X_test, y_train, y_test = train_test_split(
    X[:600], y[:600], test_size=0.5, stratify=y[:600], random_state=0
)

# %%
# Features of the penultimate layer (1280 values per image), then LinearSVC
features = make_pipeline(
    CNNFeatureExtractor("efficientnet_lite0", input_size=64),
    StandardScaler(),
    LinearSVC(random_state=0),
).fit(X_train, y_train)
pixels = linear_svm_on_pixels(random_state=0).fit(X_train, y_train)
print(f"Lite0 features + LinearSVC: {features.score(X_test, y_test):.3f}")
print(f"LinearSVC on raw pixels:    {pixels.score(X_test, y_test):.3f}")

# %%
# Errors of the feature route
ConfusionMatrixDisplay.from_estimator(features, X_test, y_test)
plt.title("EfficientNet-Lite0 features + LinearSVC")
plt.show()
