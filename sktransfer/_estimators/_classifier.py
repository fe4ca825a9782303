"""The image classifiers' base (labels of any type, the classes of the first
fit, class weights in the loss, class probabilities out) and
PretrainedCNNClassifier, a skorch NeuralNetClassifier with a pretrained body
and a new head."""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.utils import compute_class_weight
from skorch import NeuralNetClassifier
from skorch.dataset import Dataset

from .._inputs import check_labels, encode_labels, encode_targets
from .._networks import first_linear, make_head
from .._runtime import BatchLoader, ShuffledBatchLoader
from ._base import ImageEstimatorBase
from ._docs import shared_docs
from ._parameters import (
    BACKBONE,
    CLASSIFIER,
    FREEZING,
    NEW_HEAD,
    RECIPE,
    SKORCH,
    SOURCE,
)

__all__ = ["ImageClassifierBase", "PretrainedCNNClassifier", "new_head"]


class ImageClassifierBase(ImageEstimatorBase, NeuralNetClassifier):
    """A skorch classifier on images: labels of any type, the classes of the
    first fit, class weights in the loss, class probabilities out.

    Not for direct use: subclasses define their ``__init__``,
    ``_parameter_constraints`` and ``initialize_module``.
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

    def _combine_variants(self, logits):
        """The log of the class probabilities averaged over the variants."""
        log_proba = torch.log_softmax(logits, dim=2)
        return torch.logsumexp(log_proba, dim=0) - math.log(len(logits))

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

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


def new_head(estimator, source, n_outputs):
    """The head of ``estimator`` (its ``head_*`` parameters) with
    ``n_outputs`` outputs, in place of the source's classifier."""
    head_name, classifier = source.decomposed.units[-1]
    linear = first_linear(classifier)
    if linear is None:
        raise ValueError(
            f"`backbone`: the last unit {head_name!r} of {source.name!r} has no "
            "nn.Linear layer to replace with a new head."
        )
    return make_head(
        linear.in_features,
        n_outputs,
        tuple(estimator.head_hidden_sizes),
        estimator.head_dropout,
        estimator.head_activation,
        estimator.head_batchnorm,
    )


@shared_docs
class PretrainedCNNClassifier(ImageClassifierBase):
    """Fine-tune a pretrained CNN, as a scikit-learn classifier.

    A skorch ``NeuralNetClassifier`` whose network is the body of a
    pretrained backbone (cut into transferable units, see
    :func:`~sktransfer.layer_names`) with a new classification head. How much
    of the body is transferred (``transfer_upto``) and frozen
    (``freeze_upto``) are ordinary hyper-parameters, so ``GridSearchCV``
    searches them like any other; every skorch parameter and routing prefix
    (``optimizer__weight_decay``, ``callbacks__...``) keeps working.

    Parameters
    ----------
    backbone : str, nn.Module or fitted estimator, default="efficientnet_lite0"
        A registered name (:func:`~sktransfer.list_backbones`, or
        ``"timm/<model>"`` when timm is installed), an ``nn.Module`` (cut into
        units by its family's rule, by layer for ``nn.Sequential``, else into
        body + last Linear), or a fitted estimator of this library, whose
        trained network (head included) becomes the source. The default,
        EfficientNet-Lite0, is the network the recipe is measured on; its
        ImageNet weights install with the package, so it works offline.
        ``"resnet18"`` and the rest are one word away.
    weights : "DEFAULT", None, str, weights enum or path, default="DEFAULT"
        ``"DEFAULT"``: the backbone's pretrained weights where it has some
        (ImageNet for torchvision and EfficientNet-Lite0, the trained weights
        of a fitted estimator), random initialisation for the built-ins.
        ``None``: random initialisation. A torchvision weights name
        (``"IMAGENET1K_V1"``) or enum member. A path to a state dict, read
        with ``torch.load(weights_only=True)``.
    weights_sha256 : str or None, default=None
        The SHA-256 (hex, or a prefix of at least 8 digits) the ``weights``
        file must have; checked before the file is read.
    freeze_upto : "auto", int, str, "half" or "all", default="auto"
        ``"auto"`` reads the training images before it chooses: their
        shift at the pretrained body's middle units (how far their BatchNorm
        statistics are from the source's, one forward pass over at most 64
        images, ``auto_shift_``). Near the source (photographs and drawings,
        in colour or grey, small or large) it trains a head on the frozen
        body (``"all"``), whose features fit as they are and which
        fine-tuning on a few hundred images distorts; far from it (digits,
        strokes on flat backgrounds) it fine-tunes everything (``0``), as it
        does from 1,000 images on (``n_frozen_`` and ``verbose=1`` say what it
        chose and why; the recipe guide has the measurements). A body
        without BatchNorm layers there is judged by the images' shape: small
        grey images are fine-tuned. ``0`` fine-tunes everything;
        ``n`` freezes the first ``n`` units of ``layer_names_``; a unit name
        freezes up to and including it; ``"half"`` freezes half of the
        units (at least one, as the study's and the command line's
        ``--freeze half``); ``"all"`` trains only the head (feature
        extraction). Frozen units get
        no gradient and their BatchNorm layers stay in eval mode.
    transfer_upto : int, str or None, default=None
        Keep the source weights of the first ``n`` units and re-initialise the
        rest (the nAToB / nBToB experiments of Shanmugam et al.); a unit
        name or ``"half"`` as for ``freeze_upto``. ``None`` keeps every unit.
    head_hidden_sizes : tuple of int, default=()
        Hidden layers of the new head (Brodzicki et al. search these).
    head_dropout : float, default=0.0
        Dropout before each Linear layer of the head.
    head_activation : str or callable, default="relu"
        Activation of the head's hidden layers: one of ``"relu"``, ``"gelu"``,
        ``"elu"``, ``"leaky_relu"``, ``"selu"``, ``"tanh"``, ``"sigmoid"``, or
        a callable returning an ``nn.Module``.
    head_batchnorm : bool, default=False
        Start the head with a ``BatchNorm1d`` over the pooled features, as
        fastai's head does. It standardises features of unequal, uncentred
        scales: it helps a head on a small built-in network's features and
        costs the EfficientNet-Lite0 defaults on small sets (the recipe
        guide), hence off by default. Its statistics are re-estimated with
        the body's (``batchnorm``).
    %(training_parameters)s

    Attributes
    ----------
    %(fitted_attributes)s

    See Also
    --------
    sktransfer.LabelRelationTransfer : whole-layer transfer, output layer included.
    sktransfer.layer_names : the units of a backbone.

    References
    ----------
    .. [1] J. Yosinski, J. Clune, Y. Bengio and H. Lipson, "How transferable
       are features in deep neural networks?", NeurIPS 2014.
    .. [2] G. Shanmugam S, J. Felix and S. Tiwari, "Transfer Learning".
    .. [3] A. Brodzicki et al., "Transfer learning methods as a new approach
       in computer vision tasks with small datasets", FCDS 2020.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sktransfer import PretrainedCNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = PretrainedCNNClassifier("small_cnn", input_size=16, max_epochs=2,
    ...                               random_state=0)
    >>> clf.fit(X[:200] / 16, y[:200]).predict(X[:3] / 16).shape
    (3,)
    >>> clf.layer_names_
    ['conv1', 'conv2', 'conv3', 'fc1']
    """

    _parameter_constraints = {
        "backbone": BACKBONE,
        **SOURCE,
        **FREEZING,
        **NEW_HEAD,
        **RECIPE,
        **CLASSIFIER,
        **SKORCH,
    }

    def __init__(
        self,
        backbone="efficientnet_lite0",
        *,
        weights="DEFAULT",
        weights_sha256=None,
        freeze_upto="auto",
        transfer_upto=None,
        head_hidden_sizes=(),
        head_dropout=0.0,
        head_activation="relu",
        head_batchnorm=False,
        backbone_lr_scale=1.0,
        augment=None,
        tta=None,
        image_shape=None,
        input_size=None,
        random_state=None,
        class_weight=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        freeze_epochs=0,
        precision="auto",
        cache_frozen=True,
        batchnorm="recalibrate",
        lr_schedule="warmup_cosine",
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        lr=3e-3,
        max_epochs=None,
        batch_size=32,
        train_split=None,
        callbacks=None,
        warm_start=False,
        verbose=0,
        device="auto",
        iterator_train=ShuffledBatchLoader,
        iterator_valid=BatchLoader,
        dataset=Dataset,
        predict_nonlinearity="auto",
        compile=False,
        use_caching="auto",
        torch_load_kwargs=None,
        classes=None,
        **kwargs,
    ):
        super().__init__(
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            callbacks=callbacks,
            warm_start=warm_start,
            verbose=verbose,
            device=device,
            iterator_train=iterator_train,
            iterator_valid=iterator_valid,
            dataset=dataset,
            predict_nonlinearity=predict_nonlinearity,
            compile=compile,
            use_caching=use_caching,
            torch_load_kwargs=torch_load_kwargs,
            classes=classes,
            **kwargs,
        )
        self.backbone = backbone
        self.weights = weights
        self.weights_sha256 = weights_sha256
        self.freeze_upto = freeze_upto
        self.transfer_upto = transfer_upto
        self.head_hidden_sizes = head_hidden_sizes
        self.head_dropout = head_dropout
        self.head_activation = head_activation
        self.head_batchnorm = head_batchnorm
        self.backbone_lr_scale = backbone_lr_scale
        self.augment = augment
        self.tta = tta
        self.image_shape = image_shape
        self.input_size = input_size
        self.random_state = random_state
        self.class_weight = class_weight
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.freeze_epochs = freeze_epochs
        self.precision = precision
        self.cache_frozen = cache_frozen
        self.batchnorm = batchnorm
        self.lr_schedule = lr_schedule

    def _new_head(self, source):
        """A head for the classes, in place of the source's classifier."""
        return new_head(self, source, len(self.classes_))

    def initialize_module(self):
        source = self._load_source(self.backbone)
        self.module_ = self._build_network(source, self._new_head)
        return self
