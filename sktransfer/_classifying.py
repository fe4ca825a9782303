"""The targets of the image classifiers: labels of any type, the classes of
the first fit, class weights in the loss, class probabilities out."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils import compute_class_weight
from skorch import NeuralNetClassifier

from ._base import ImageNetBase
from ._labels import check_labels, encode_labels, encode_targets
from ._predicting import ClassPredictionMixin

__all__ = ["ImageClassifierBase"]


class ImageClassifierBase(ClassPredictionMixin, ImageNetBase, NeuralNetClassifier):
    """A skorch classifier on images, with scikit-learn's input contract.

    Not for direct use: subclasses define the parameters and
    ``initialize_module``.
    """

    def _encode_fit_targets(self, y, n, continuing):
        classes, y_encoded = encode_targets(y, n, self.classes)
        if continuing and not np.array_equal(classes, self.classes_):
            raise ValueError(
                "`warm_start=True` needs the same classes as the previous fit; got "
                f"{classes.tolist()} after {self.classes_.tolist()}."
            )
        self.classes_inferred_ = classes
        return y_encoded

    def _encode_more_targets(self, y, n):
        return encode_labels(check_labels(y, n), self.classes_, name="y")

    def _training_targets(self, y_encoded, weighted, continuing):
        """The training set's labels: a weighted training set keeps two
        classes; the class weights of ``class_weight`` come from them."""
        classes = self.classes_inferred_
        present = np.unique(y_encoded)
        if weighted and len(present) < 2:
            raise ValueError(
                "`sample_weight` is zero for every image but those of class "
                f"{classes[present[0]]!r}: a classifier needs images of at least "
                "two classes with a positive weight."
            )
        if self.class_weight is not None:
            class_weight = self.class_weight
            if isinstance(class_weight, dict):
                unknown = set(class_weight) - set(classes.tolist())
                if unknown:
                    raise ValueError(
                        "`class_weight` names classes not in y: "
                        f"{sorted(map(str, unknown))}."
                    )
            # A class without images in the training set (all its weights 0)
            # is absent from the loss: its weight does not matter.
            self.class_weight_ = np.ones(len(classes))
            self.class_weight_[present] = compute_class_weight(
                class_weight, classes=classes[present], y=classes[y_encoded]
            )
        return y_encoded

    def initialize_criterion(self):
        kwargs = self.get_params_for("criterion")
        if self.class_weight is not None and "weight" not in kwargs:
            kwargs["weight"] = torch.as_tensor(self.class_weight_, dtype=torch.float32)
        self.criterion_ = self.initialized_instance(self.criterion, kwargs)
        return self
