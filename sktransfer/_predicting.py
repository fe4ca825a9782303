"""Prediction of a fitted image estimator: test-time augmentation and
non-finite outputs refused, on the core's batched inference (large batches,
rows in an order set by their content); class probabilities and labels of a
classifier."""

from __future__ import annotations

import math

import torch

from ._augment import resolve_tta
from ._device import resolve_device
from ._fitted import check_fitted_images
from ._guard import explain_out_of_memory
from ._inference import PREDICT_BATCH_SIZE, batched_inference, require_finite

__all__ = ["ClassPredictionMixin", "PredictionMixin"]


class PredictionMixin:
    """``forward`` of a skorch net on images of the fitted shape, with
    test-time augmentation combined by ``_combine_variants``."""

    def _predict_batch_size(self):
        """Batch size of prediction: ``iterator_valid__batch_size`` if set, else
        at least ``PREDICT_BATCH_SIZE``."""
        return self.get_params_for("iterator_valid").get(
            "batch_size", max(self.batch_size, PREDICT_BATCH_SIZE)
        )

    def _evaluate(self, batch, training, variants):
        """Outputs of one batch; with test-time augmentation, the outputs of
        the ``variants`` of the batch combined (``_combine_variants``)."""
        if variants is None:
            return self.evaluation_step((batch, None), training=training)
        return self._combine_variants(
            torch.stack(
                [
                    self.evaluation_step(
                        (variant(batch), None), training=training
                    ).float()
                    for variant in variants
                ]
            )
        )

    def forward(self, X, training=False, device="cpu"):
        """Raw network outputs (logits) for images ``X``, as one tensor.

        Parameters
        ----------
        X : array-like or tensor
            Images the fitted estimator takes (as ``predict_proba``).
        training : bool, default=False
            Run the network in training mode (dropout, augmentation).
        device : str or torch.device, default="cpu"
            Where the returned tensor goes.

        Returns
        -------
        logits : tensor of shape (n, n_classes)
            With ``tta``, the log of the class probabilities averaged over
            the test-time variants of each image (a softmax of it gives them
            back). Non-finite outputs raise a ``ValueError`` naming ``X``.
        """
        X = check_fitted_images(self, X)
        variants = resolve_tta(getattr(self, "tta", None), self.augment)
        with (
            self._on_device(),
            explain_out_of_memory(
                "Prediction", self._predict_batch_size(), "iterator_valid__batch_size"
            ),
        ):
            # Through skorch's iterator (Accelerate shards it), in an order set
            # by the images' content: the same images give the same bits in
            # any order.
            outputs = batched_inference(
                lambda batch: self._evaluate(batch, training, variants),
                X,
                device=resolve_device(self.device),
                ordered=True,
                loader=lambda dataset: self.get_iterator(dataset, training=False),
                to=device,
            )
        return require_finite(outputs)


class ClassPredictionMixin(PredictionMixin):
    """``predict_proba`` and ``predict`` of a skorch classifier on images."""

    def _combine_variants(self, logits):
        """The log of the class probabilities averaged over the variants."""
        log_proba = torch.log_softmax(logits, dim=2)
        return torch.logsumexp(log_proba, dim=0) - math.log(len(logits))

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like or tensor
            Images in any layout accepted by ``fit``, with the fitted number of
            channels. Images of another height and width are resized like the
            training images when the network has an ``input_size``; rows
            (2-D ``X``) take the fitted shape.

        Returns
        -------
        proba : ndarray of shape (n, n_classes)
        """
        logits = self.forward(X)
        return self._get_predict_nonlinearity()(logits).numpy()

    def predict(self, X):
        """Predicted labels, of the type of the training labels.

        Parameters
        ----------
        X : array-like or tensor
            As in :meth:`predict_proba`.

        Returns
        -------
        y : ndarray of shape (n,)
        """
        indices = self.forward(X).argmax(dim=1).numpy()
        return self.classes_[indices]
