"""
Signals as images: anomaly detection with a pretrained CNN and SMOTE
=====================================================================

Brodzicki et al. (section 3.2) detected rare anomalies in a synchrotron's
multivariate pressure readings by turning standardised time windows into
images for an ImageNet-pretrained CNN, with SMOTE for the rare anomaly class.
Here a simulated plant: eight slowly oscillating sensors, and rare short
events in which a few sensors jump or oscillate fast.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline
from sklearn.metrics import balanced_accuracy_score, classification_report
from sklearn.model_selection import train_test_split

from sktransfer import PretrainedCNNClassifier
from sktransfer.datasets import signal_windows
from sktransfer.inspection import GradCAMDisplay

rng = np.random.default_rng(0)
n_steps, n_sensors, window = 24_000, 8, 32
t = np.arange(n_steps)
phase = rng.uniform(0, 2 * np.pi, n_sensors)
period = rng.uniform(200, 600, n_sensors)
signals = np.sin(2 * np.pi * t[:, None] / period + phase)
signals += 0.15 * rng.standard_normal((n_steps, n_sensors))
labels = np.zeros(n_steps, dtype=int)
for start in rng.choice(n_steps - window, 40, replace=False):
    length = rng.integers(6, 16)
    sensors = rng.choice(n_sensors, 3, replace=False)
    burst = 1.5 * np.sin(np.arange(length) * 1.3)[:, None]
    signals[start : start + length, sensors] += burst
    labels[start : start + length] = 1

images, y = signal_windows(signals, window, labels=labels)
print(f"{len(y)} windows of {n_sensors} sensors x {window} steps, {y.sum()} anomalous")

# %%
# Each window is a grey 8x32 image: one row per sensor, standardised.
fig, axes = plt.subplots(1, 2, figsize=(8, 2.4))
for ax, label in zip(axes, (0, 1), strict=True):
    ax.imshow(images[np.flatnonzero(y == label)[0]], cmap="gray", aspect="auto")
    ax.set_title("normal window" if label == 0 else "anomalous window")
    ax.set_xlabel("time step")
    ax.set_ylabel("sensor")
fig.tight_layout()

# %%
# SMOTE works on rows, so the windows are flattened; the CNN reshapes each row
# back into an 8x32 image (``image_shape``) and resizes it for EfficientNet-Lite0.
# The schedule's length is the library's default, set by the number of
# training images (after SMOTE).
X = images.reshape(len(images), -1)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
model = make_pipeline(
    SMOTE(k_neighbors=3, random_state=0),
    PretrainedCNNClassifier(
        "efficientnet_lite0",
        image_shape=(n_sensors, window),
        input_size=32,
        head_hidden_sizes=(64,),
        head_dropout=0.5,
        random_state=0,
    ),
)
model.fit(X_train, y_train)
predicted = model.predict(X_test)
print(f"balanced accuracy: {balanced_accuracy_score(y_test, predicted):.3f}")
print(classification_report(y_test, predicted, target_names=["normal", "anomaly"]))

# %%
# Where the CNN sees the anomaly: Grad-CAM over a few anomalous test windows.
cnn = model[-1]
anomalous = X_test[y_test == 1][:4]
display = GradCAMDisplay.from_estimator(cnn, anomalous, y=y_test[y_test == 1][:4])
plt.show()
