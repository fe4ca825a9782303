"""The ``sample_weight`` of a fit: one finite, non-negative number per image,
not all zero (what the training set does with them is
:mod:`sktransfer._training._training_set`'s)."""

from __future__ import annotations

import numbers

import numpy as np
import torch

__all__ = ["check_sample_weight"]


def check_sample_weight(sample_weight, n_samples):
    """``sample_weight`` as a float64 array of ``n_samples`` finite,
    non-negative weights, not all zero (None stays None); a number is every
    image's weight."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real) and not isinstance(sample_weight, bool):
        sample_weight = np.full(n_samples, float(sample_weight))
    if isinstance(sample_weight, torch.Tensor):
        sample_weight = sample_weight.detach().cpu().numpy()
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            "`sample_weight` must be numbers, one per image; got "
            f"{type(sample_weight).__name__}."
        ) from error
    if weights.shape != (n_samples,):
        raise ValueError(
            f"`sample_weight` must have shape ({n_samples},), one weight per "
            f"image; got shape {weights.shape}."
        )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(
            "`sample_weight` must be finite and non-negative; got values in "
            f"[{np.nanmin(weights)}, {np.nanmax(weights)}]."
        )
    if not weights.any():
        raise ValueError(
            "`sample_weight` is zero for every image: sample weights must "
            "contain at least one non-zero weight."
        )
    return weights
