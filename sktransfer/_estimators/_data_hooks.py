"""The images in and out of a skorch net: the training set as a dataset on
the device, its early-stopping split, the batch loaders, the loss with the
loss weights of :mod:`sktransfer._training._training_set`; and ``forward``,
the outputs of new images on the core's batched inference (large batches,
rows in an order set by their content), test-time augmentation combined,
non-finite outputs refused."""

from __future__ import annotations

import math

import numpy as np
import torch
from skorch.dataset import ValidSplit

from .._inputs import check_fitted_images, fitted_image_shape, path_chunks
from .._networks import resolve_tta
from .._runtime import (
    ImageDataset,
    batched_inference,
    place_images,
    prediction_batch_size,
    require_finite,
    resolve_device,
)
from .._training import (
    WeightedTargets,
    explain_out_of_memory,
    trainable_batchnorms,
    weighted_loss,
)
from ._skorch import SkorchEstimator

__all__ = ["ImageDataHooks"]


class ImageDataHooks(SkorchEstimator):
    """Datasets, splits, loaders, the loss and ``forward`` of a skorch net on
    images.

    ``y`` reaches skorch's fit loop as the encoded targets, or as
    :class:`~sktransfer._training._training_set.WeightedTargets` when the
    training set has loss weights; batches then carry ``(y, weight)``.
    ``forward`` combines the outputs of test-time variants with the
    subclass's ``_combine_variants``.
    """

    _target_dtype = torch.long
    _stratified_split = True

    def check_data(self, X, y):
        # Targets are encoded in fit; skorch must not overwrite classes_.
        pass

    def get_dataset(self, X, y=None):
        if isinstance(X, ImageDataset):
            return X
        device = resolve_device(self.device)
        X = place_images(X, device)
        weight = None
        if isinstance(y, WeightedTargets):
            y, weight = y.targets, y.weight.to(X.device)
        if y is not None:
            y = torch.as_tensor(y, dtype=self._target_dtype, device=X.device)
        return ImageDataset(X, y, device=device, weight=weight)

    def get_split_datasets(self, X, y=None, **fit_params):
        if self.early_stopping and self.train_split is None:
            dataset = self.get_dataset(X, y)
            split = ValidSplit(
                self.validation_fraction,
                stratified=self._stratified_split,
                random_state=self.random_state,
            )
            labels = y.targets if isinstance(y, WeightedTargets) else y
            if self._stratified_split:
                self._check_stratified_split(labels)
            return split(dataset, labels)
        return super().get_split_datasets(X, y, **fit_params)

    def _check_stratified_split(self, labels):
        """Refuse, naming the parameters, a training set that the stratified
        early-stopping split cannot divide (scikit-learn's splitter would
        say so in its own terms)."""
        labels = labels.cpu().numpy() if torch.is_tensor(labels) else labels
        codes, counts = np.unique(np.asarray(labels), return_counts=True)
        classes = getattr(self, "classes_", None)
        n, n_classes = len(labels), len(codes)
        n_valid = math.ceil(n * self.validation_fraction)
        held_out = (
            f"early_stopping=True holds out a stratified validation_fraction="
            f"{self.validation_fraction} of the training images"
        )
        if counts.min() < 2:
            few = [
                str(classes[code] if classes is not None else code)
                for code in codes[counts < 2]
            ]
            raise ValueError(
                f"{held_out}, at least one image of each class, and keeps one of "
                f"each for training; "
                + (
                    f"class {few[0]} has"
                    if len(few) == 1
                    else f"classes {', '.join(few[:5])} have"
                )
                + " a single image. Give each class two images or more, or pass "
                "early_stopping=False (the default) to train on every image."
            )
        if n_valid < n_classes or n - n_valid < n_classes:
            need = n_classes / n
            raise ValueError(
                f"{held_out}: {n_valid} of {n} images, but a stratified split "
                f"needs one image of each of the {n_classes} classes on both "
                f"sides. Pass validation_fraction between {need:.3g} and "
                f"{1 - need:.3g}, or early_stopping=False (the default)."
            )

    def get_iterator(self, dataset, training=False):
        if training:
            kwargs = self.get_params_for("iterator_train")
            kwargs.setdefault("batch_size", self.batch_size)
            if "drop_last" not in kwargs and self._single_last_batch(
                len(dataset), kwargs["batch_size"]
            ):
                # A batch of one image cannot train BatchNorm (the head's, or a
                # body's at 1x1): leave the odd image out of this epoch; the
                # shuffle leaves out another one the next.
                return self.iterator_train(dataset, drop_last=True, **kwargs)
        elif "batch_size" not in self.get_params_for("iterator_valid"):
            return self.iterator_valid(
                dataset,
                batch_size=prediction_batch_size(self),
                **self.get_params_for("iterator_valid"),
            )
        return super().get_iterator(dataset, training=training)

    def _single_last_batch(self, n, batch_size):
        """Whether an epoch of ``n`` images ends in a batch of one while a
        BatchNorm layer trains."""
        return (
            1 < batch_size
            and 1 < n
            and n % batch_size == 1
            and self.batchnorm != "frozen"
            and bool(trainable_batchnorms(self.module_))
        )

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """skorch's loss; with loss weights (``y_true`` is ``(y, weight)``),
        each sample's loss times its weight, reduced as the criterion reduces
        (weights of 1 give the criterion's own loss).

        Parameters
        ----------
        y_pred : tensor
            The network's outputs.
        y_true : tensor or (tensor, tensor)
            The targets, with their loss weights when the fit has some.
        X : tensor or None, default=None
            The batch's images, as skorch passes them.
        training : bool, default=False
            Whether the loss is for a training step.

        Returns
        -------
        loss : tensor
        """
        if isinstance(y_true, tuple | list):
            targets, weight = y_true
            targets = torch.as_tensor(targets, device=y_pred.device)
            return weighted_loss(self.criterion_, y_pred, targets, weight)
        return super().get_loss(y_pred, y_true, X=X, training=training)

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
        X : array-like, tensor or 1-D array of paths
            Images the fitted estimator takes (as ``predict_proba``); many
            image files are read a bounded number at a time.
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
        chunks = path_chunks(X, fitted_image_shape(self))
        if chunks is not None:  # many files: a bounded number read at a time
            return torch.cat([self.forward(part, training, device) for part in chunks])
        X = check_fitted_images(self, X)
        variants = resolve_tta(getattr(self, "tta", None), self.augment)
        with (
            self._on_device(),
            explain_out_of_memory(
                "Prediction", prediction_batch_size(self), "iterator_valid__batch_size"
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
