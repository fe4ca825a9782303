"""
How transferable are the layers? Shanmugam et al.'s curve and Molina et al.'s schemes
======================================================================================

Task A is digits 0-4, task B digits 5-9 (a class split, as Yosinski et al.).
For n = 1..4 units of ``small_cnn`` copied from a network trained on A
(``nAToB``) or on B itself (``nBToB``), frozen (``_fr``) or fine-tuned
(``_ft``), the curve shows what transfers. Then Molina et al.'s four
validation schemes on a dendrogram split, and what the network sees.
"""

# %%
import matplotlib.pyplot as plt

from sktransfer import PretrainedCNNClassifier
from sktransfer.datasets import class_split, dendrogram_split, load_digits_images
from sktransfer.inspection import (
    FeatureMapDisplay,
    FilterDisplay,
    TransferabilityDisplay,
)
from sktransfer.model_selection import (
    format_table,
    transferability_curve,
    validation_schemes_study,
)

X, y = load_digits_images()
X_a, y_a, X_b, y_b = class_split(X, y, source_classes=[0, 1, 2, 3, 4])
# Small images at 16 px; the learning rate and the schedule are the defaults.
params = {"input_size": 16}

# %%
# The transferability curve (Shanmugam et al. Table 2 and Fig. 3); B's
# training part is kept small (30%) so that transfer has something to add.
result = transferability_curve(
    X_a, y_a, X_b, y_b, n_repeats=1, test_size=0.7, params=params
)
print(format_table(result["summary"]))
TransferabilityDisplay.from_study(result)

# %%
# Molina et al.'s four schemes: the two nodes of each label's dendrogram give
# a larger source and a smaller, dissimilar target with the same labels.
X_s, y_s, X_t, y_t = dendrogram_split(X[y < 2], y[y < 2])
print(f"source {len(y_s)} images, target {len(y_t)} images")
schemes = validation_schemes_study(X_s, y_s, X_t, y_t, n_runs=2, params=params)
print(format_table(schemes["summary"]))

# %%
# What the source network learnt: its first-layer filters and the feature
# maps of its second unit for one image.
source = PretrainedCNNClassifier("small_cnn", random_state=0, **params).fit(X_a, y_a)
fig, axes = plt.subplots(1, 2, figsize=(10, 5))
FilterDisplay.from_estimator(source, ax=axes[0])
FeatureMapDisplay.from_estimator(source, X_b[0], layer="conv2", max_maps=15, ax=axes[1])
plt.show()
