"""
Whole-layer transfer with label relations
=========================================

The method of Sawada & Kozuka: train a network on a source task, measure
which source output each target class resembles (p_c(v), eq. 3-5), and
fine-tune the whole network, output layer included, so that those outputs
answer for the target classes.

Source: Fashion-MNIST when its files are installed (Debian package
``dataset-fashion-mnist``), else the bundled digits 0-5. Target: a small task
on the bundled digits (20 training images per class).
"""

# %%
# Source and target data
import numpy as np

from sktransfer.datasets import load_digits_images, load_fashion_mnist

digits, digit_labels = load_digits_images()
try:
    fashion, fashion_labels = load_fashion_mnist()
    keep = np.random.default_rng(0).choice(len(fashion), 6000, replace=False)
    X_source, y_source = fashion[keep], fashion_labels[keep]
    target = np.isin(digit_labels, [0, 1, 7])
    source_name = "Fashion-MNIST (6,000 images)"
except FileNotFoundError:
    X_source, y_source = digits[digit_labels < 6], digit_labels[digit_labels < 6]
    target = digit_labels >= 7
    source_name = "digits 0-5"
X_target, y_target = digits[target], digit_labels[target]
print(f"source: {source_name}; target: digits {sorted(set(y_target.tolist()))}")

# %%
# Train the source network from scratch, as the paper does (D_s)
from sktransfer import LabelRelationTransfer, PretrainedCNNClassifier

source = PretrainedCNNClassifier("mlp", weights=None, random_state=0)
source.fit(X_source, y_source)

# %%
# The relation of the target classes to the source outputs (Fig. 3)
import matplotlib.pyplot as plt

from sktransfer.inspection import RelationDisplay

lrt = LabelRelationTransfer(source, random_state=0)
lrt.fit(X_target, y_target)
display = RelationDisplay.from_estimator(lrt)
print(
    "chosen source outputs:",
    dict(zip(lrt.classes_.tolist(), lrt.source_outputs_.tolist(), strict=True)),
)

# %%
# The comparison of Table V, repeated over two seeds
from sktransfer.model_selection import format_table, label_relation_study

result = label_relation_study(
    X_source,
    y_source,
    X_target,
    y_target,
    n_train_per_class=20,
    n_repeats=2,
)
print(format_table(result["V"], ["method", "mean", "sd", "n_runs"]))
plt.show()
