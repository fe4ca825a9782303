"""Baselines in the same shape as the CNN estimators.

:class:`ImageToRows` turns images in any layout the CNN estimators accept into
float rows, so that a linear SVM on raw pixels (the baseline of Sawada &
Kozuka, Table V) takes exactly the same ``X``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

from ._inputs import check_fitted_images, check_images, remember_images

__all__ = ["ImageToRows", "linear_svm_on_pixels"]


class ImageToRows(TransformerMixin, BaseEstimator):
    """Images -> float32 rows ``(n, C*H*W)`` in C order, uint8 scaled to [0, 1].

    Parameters
    ----------
    image_shape : tuple or None, default=None
        ``(C, H, W)`` of 2-D row input, as in the CNN estimators.

    Attributes
    ----------
    image_shape_ : tuple
        ``(C, H, W)`` of the images seen in ``fit``.
    n_features_in_ : int
        ``C * H * W``.
    n_samples_fit_ : int
        Number of images seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.baselines import ImageToRows
    >>> ImageToRows().fit_transform(np.zeros((5, 8, 8, 3), dtype=np.uint8)).shape
    (5, 192)
    """

    def __init__(self, image_shape=None):
        self.image_shape = image_shape

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Rows are float32 whatever the input dtype (uint8 scaled to [0, 1]).
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def fit(self, X, y=None):
        images = check_images(
            X, self.image_shape, estimator_name="ImageToRows", check_scale=False
        )
        remember_images(self, images, scale=False)
        return self

    def transform(self, X):
        images = check_fitted_images(self, X, check_scale=False).numpy()
        rows = images.reshape(len(images), -1).astype(np.float32)
        return rows / 255.0 if images.dtype == np.uint8 else rows

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "image_shape_")
        c, h, w = self.image_shape_
        return np.array(
            [f"c{k}_y{i}_x{j}" for k in range(c) for i in range(h) for j in range(w)],
            dtype=object,
        )


def linear_svm_on_pixels(random_state=None, **svc_params):
    """Linear SVM on standardised raw pixels (Sawada & Kozuka, Table V).

    Parameters
    ----------
    random_state : int, RandomState or None, default=None
        The ``LinearSVC``'s.
    **svc_params
        Other parameters of ``LinearSVC`` (``C=0.1``).

    Returns
    -------
    pipeline : Pipeline
        ``ImageToRows() -> StandardScaler() -> LinearSVC()``; takes the same
        images as the CNN estimators.

    Examples
    --------
    >>> from sktransfer.baselines import linear_svm_on_pixels
    >>> from sktransfer.datasets import load_digits_images
    >>> X, y = load_digits_images()
    >>> svm = linear_svm_on_pixels(0).fit(X[:1000], y[:1000])
    >>> round(svm.score(X[1000:], y[1000:]), 2)
    0.9
    """
    return make_pipeline(
        ImageToRows(),
        StandardScaler(),
        LinearSVC(random_state=random_state, **svc_params),
    )
