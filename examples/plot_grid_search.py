"""
Searching how much to freeze, with the head, like any hyper-parameter
=====================================================================

The grid of Brodzicki et al. (Table 3) over backbone, frozen depth, head
dropout and activation, optimiser, batch size and epochs — here a small one
that runs on a laptop CPU. The schedule's length is left to the default, which
follows the number of training images in each fold.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.model_selection import GridSearchCV

from sktransfer import PretrainedCNNClassifier
from sktransfer.datasets import load_digits_images

X, y = load_digits_images()
X, y = X[:200], y[:200]

grid = GridSearchCV(
    PretrainedCNNClassifier("small_cnn", input_size=16, random_state=0),
    {
        "freeze_upto": [0, 2],
        "head_dropout": [0.0, 0.5],
        "head_activation": ["relu"],
        "head_hidden_sizes": [(64,)],
        "optimizer": [torch.optim.AdamW],
        "batch_size": [32],
    },
    scoring="balanced_accuracy",
    cv=2,
).fit(X, y)
print("best:", grid.best_params_, f"{grid.best_score_:.3f}")

# %%
# Balanced accuracy per grid point
labels = [
    f"freeze {p['freeze_upto']}, dropout {p['head_dropout']}"
    for p in grid.cv_results_["params"]
]
plt.barh(
    np.arange(len(labels)),
    grid.cv_results_["mean_test_score"],
    xerr=grid.cv_results_["std_test_score"],
)
plt.yticks(np.arange(len(labels)), labels)
plt.xlabel("balanced accuracy (2-fold CV)")
plt.tight_layout()
plt.show()
