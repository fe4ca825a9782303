"""Whether the top of a pretrained body keeps what a continuous target needs,
read off probes of its features at several depths: what the regressor's
``freeze_upto="auto"`` measures besides the images' shift.

A head on the frozen body sees only the top unit's pooled features. A ridge
regression on them, scored by leave-one-out over the training images, says
what that route can reach; the same ridge on the pooled features of the last
unit of each resolution (``CNNFeatureExtractor(layer="multi")``, which holds
the top's too) says what the body knew on the way. When the several depths
explain the target better than the top by more than the noise of the
comparison, the top discards what the target needs (ImageNet's top
features are built to ignore how an object is turned, where it sits, how
large it is: the measurements a regressor is asked for), and the body must
adapt (cf. Head2Toe, Evci et al.: earlier units carry what the last one
lost). Measured with ``benchmarks/small_regression.py`` (regression guide).

References
----------
.. [1] U. Evci, V. Dumoulin, H. Larochelle and M. C. Mozer, "Head2Toe:
   Utilizing intermediate representations for better transfer learning",
   ICML 2022.
.. [2] R. M. Rifkin and R. A. Lippert, "Notes on regularized least squares",
   MIT-CSAIL-TR-2007-025 (the closed-form leave-one-out errors of ridge).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from sklearn.linear_model import RidgeCV

from .._networks import multi_layers, unit_shapes
from .._runtime import iter_batches

__all__ = ["PROBE_ALPHAS", "DepthProbe", "depth_probe", "probe_r2"]

# The ridge penalties the probes choose from by leave-one-out.
PROBE_ALPHAS = np.logspace(-3, 5, 17)
# Fewer images than this leave nothing to compare: no probe.
MIN_PROBE_IMAGES = 10


class DepthProbe(NamedTuple):
    """Leave-one-out R² of ridge probes on a body's pooled features.

    Attributes
    ----------
    top : float
        On the top unit's: what a head on the frozen body sees.
    depths : float
        On the last unit of each resolution, the top's included.
    noise : float
        Standard error of ``depths - top`` (paired over the images).
    """

    top: float
    depths: float
    noise: float

    @property
    def gain(self):
        """How much the several depths explain beyond the top."""
        return self.depths - self.top


def probe_r2(features, targets):
    """Leave-one-out R² of a ridge on ``features`` (penalty chosen by it too),
    and each image's squared error over the targets' variance.

    Parameters
    ----------
    features : ndarray of shape (n, p)
    targets : ndarray of shape (n, k)

    Returns
    -------
    r2 : float
        One minus the mean leave-one-out squared error over the targets'
        mean variance.
    errors : ndarray of shape (n,)
        Each image's leave-one-out squared error (mean over the targets),
        over the same variance.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 5))
    >>> r2, errors = probe_r2(X, X[:, :1] + 0.1 * rng.normal(size=(60, 1)))
    >>> round(r2, 2), errors.shape
    (0.99, (60,))
    """
    ridge = RidgeCV(alphas=PROBE_ALPHAS, store_cv_results=True).fit(features, targets)
    chosen = list(ridge.alphas).index(ridge.alpha_)
    errors = ridge.cv_results_.reshape(len(targets), -1, len(PROBE_ALPHAS))
    errors = errors[:, :, chosen].mean(axis=1) / max(targets.var(axis=0).mean(), 1e-12)
    return float(1 - errors.mean()), errors


def depth_probe(network, X, targets, *, device=None, batch_size=64):
    """Probes of ``network``'s pretrained body on the training images ``X``
    for ``targets``: at its top, and at the last unit of each resolution.

    One forward pass over ``X`` in eval mode, without gradients (``X`` may
    be image files, read a batch at a time); the network is left as it was.

    Parameters
    ----------
    network : TransferNetwork
        The network before training, its units as the source left them.
    X : tensor of shape (n, C, H, W) or image files
        Training images, as ``fit`` holds them.
    targets : ndarray of shape (n,) or (n, k)
        Their targets.
    device : torch.device or None, default=None
    batch_size : int, default=64

    Returns
    -------
    probe : DepthProbe or None
        None with fewer than ``MIN_PROBE_IMAGES`` images.
    """
    if len(X) < MIN_PROBE_IMAGES:
        return None
    shapes = unit_shapes(network, tuple(X.shape[1:]))
    wanted = multi_layers(shapes)
    top = len(shapes) - 1
    wanted = sorted({*wanted, top})

    def pooled(batch):
        outputs = network.iter_units(network.prepare(batch), 0, top + 1)
        return torch.cat(
            [
                (h.flatten(2).mean(dim=2) if h.ndim > 2 else h).float()
                for index, h in enumerate(outputs)
                if index in wanted
            ],
            dim=1,
        )

    was_training = network.training
    network.eval()
    try:
        features = torch.cat(
            [
                h.cpu()
                for _, _, h in iter_batches(
                    pooled, X, batch_size=batch_size, device=device
                )
            ]
        ).numpy()
    finally:
        network.train(was_training)
    width = shapes[top][0]
    targets = np.asarray(targets, dtype=np.float64).reshape(len(X), -1)
    top_r2, top_errors = probe_r2(features[:, -width:], targets)
    depths_r2, depths_errors = probe_r2(features, targets)
    paired = top_errors - depths_errors
    noise = float(paired.std(ddof=1) / np.sqrt(len(paired)))
    return DepthProbe(top_r2, depths_r2, noise)
