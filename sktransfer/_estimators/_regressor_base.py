"""The image regressor's base: numbers, one or several per image,
standardised inside (the network learns in units of each target's standard
deviation, and predicts in the user's units), scored by R²."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import r2_score
from skorch import NeuralNetRegressor

from ._base import ImageEstimatorBase

__all__ = ["LOSSES", "ImageRegressorBase", "check_targets"]

LOSSES = {"squared_error": torch.nn.MSELoss, "huber": torch.nn.HuberLoss}


def check_targets(y, n_samples, n_outputs=None):
    """``y`` as a float64 array of shape ``(n, n_outputs)``, finite."""
    if y is None:
        raise ValueError(
            "`y` is required: the regressor requires y to be passed, but the "
            "target y is None."
        )
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    try:
        targets = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"`y` must be numbers, one or more per image; got {type(y).__name__} "
            f"({error})."
        ) from error
    if targets.ndim == 1:
        targets = targets[:, None]
    if targets.ndim != 2 or len(targets) != n_samples:
        raise ValueError(
            f"`y` must have shape ({n_samples},) or ({n_samples}, n_outputs), one "
            f"row per image; got shape {np.shape(y)}."
        )
    if not np.isfinite(targets).all():
        raise ValueError(
            "`y` holds NaN or infinite values; the targets must be finite."
        )
    if n_outputs is not None and targets.shape[1] != n_outputs:
        raise ValueError(
            f"`y` has {targets.shape[1]} outputs; the regressor was fitted on "
            f"{n_outputs}."
        )
    return targets


class ImageRegressorBase(ImageEstimatorBase, NeuralNetRegressor):
    """A skorch regressor on images: numbers, one or several per image,
    standardised inside and predicted in the user's units.

    Not for direct use: subclasses define their ``__init__``,
    ``_parameter_constraints`` and ``initialize_module``.
    """

    _target_dtype = torch.float32
    _stratified_split = False

    def _encode_fit_targets(self, y, n, continuing):
        return check_targets(y, n, self.n_outputs_ if continuing else None)

    def _training_targets(self, targets, weighted, continuing):
        """The training set's targets, standardised by their mean and standard
        deviation (those of the previous fit on a warm start: the units the
        network learned in); over the training set, so that integer weights
        are repeated images here too."""
        if not continuing:
            scale = targets.std(axis=0)
            self.target_mean_ = targets.mean(axis=0)
            self.target_scale_ = np.where(scale > 1e-12, scale, 1.0)
            self.n_outputs_ = targets.shape[1]
        return self._standardise(targets)

    def _encode_more_targets(self, y, n):
        return self._standardise(check_targets(y, n, self.n_outputs_))

    def _standardise(self, targets):
        return ((targets - self.target_mean_) / self.target_scale_).astype(np.float32)

    def initialize_criterion(self):
        criterion = self.criterion
        if criterion is None:
            criterion = LOSSES[self.loss]
        kwargs = self.get_params_for("criterion")
        self.criterion_ = self.initialized_instance(criterion, kwargs)
        return self

    @property
    def predict_proba(self):
        """Not available: a regressor predicts numbers, not probabilities.

        skorch's nets all have ``predict_proba``; here reading it raises
        ``AttributeError``, so that ``hasattr(regressor, "predict_proba")`` is
        False, as scikit-learn's tools expect of a regressor.

        Returns
        -------
        None
            Never returns: raises ``AttributeError``.
        """
        raise AttributeError(
            f"{type(self).__name__} has no predict_proba: it predicts numbers "
            "(predict)."
        )

    def _combine_variants(self, outputs):
        """Predictions averaged over the test-time variants."""
        return outputs.mean(dim=0)

    def predict(self, X):
        """Predicted targets, in the units of the training targets.

        Parameters
        ----------
        X : array-like, tensor or 1-D array of paths
            Images in any layout accepted by ``fit``, with the fitted number of
            channels, or image files (read at the fitted size). Images of
            another height and width are resized like the training images
            when the network has an ``input_size``; rows (2-D ``X``) take the
            fitted shape.

        Returns
        -------
        y : ndarray of shape (n,) or (n, n_outputs)
            ``(n,)`` when the regressor was fitted on one target.
        """
        outputs = self.forward(X).double().numpy()
        predictions = outputs * self.target_scale_ + self.target_mean_
        return predictions[:, 0] if self.n_outputs_ == 1 else predictions

    def score(self, X, y, sample_weight=None):
        """The coefficient of determination R² of the predictions.

        As scikit-learn's regressors score: 1 for perfect predictions, 0 for
        predicting the mean of ``y``, negative for worse; with several
        targets, the uniform average of their R².

        Parameters
        ----------
        X : array-like or tensor
            Images, as for ``predict``.
        y : array-like of shape (n,) or (n, n_outputs)
            The true targets.
        sample_weight : array-like of shape (n,), default=None
            Weights of the images in the score.

        Returns
        -------
        score : float
            R² of ``self.predict(X)`` against ``y``.
        """
        return r2_score(y, self.predict(X), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
