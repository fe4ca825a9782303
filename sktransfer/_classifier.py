"""PretrainedCNNClassifier: a skorch NeuralNetClassifier with a pretrained body."""

from __future__ import annotations

import numbers

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ._base import ImageClassifierBase
from ._data import BatchLoader, ShuffledBatchLoader
from ._network import HEAD_ACTIVATIONS, first_linear, make_head
from ._params import TRAINING_CONSTRAINTS

__all__ = ["PretrainedCNNClassifier"]


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
    backbone : str, nn.Module or fitted estimator, default="resnet18"
        A registered name (:func:`~sktransfer.list_backbones`, or
        ``"timm/<model>"`` when timm is installed), an ``nn.Module`` (cut into
        units by its family's rule, by layer for ``nn.Sequential``, else into
        body + last Linear), or a fitted estimator of this library, whose
        trained network (head included) becomes the source.
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
    freeze_upto : int, str, "half" or "all", default=0
        ``0`` fine-tunes everything; ``n`` freezes the first ``n`` units of
        ``layer_names_``; a unit name freezes up to and including it;
        ``"half"`` freezes half of the units (at least one, as the study's
        and the command line's ``--freeze half``); ``"all"`` trains only the
        head (feature extraction). Frozen units get
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
        scales: on the ``sktransfer study`` digits task (``small_cnn``
        source, ``freeze_upto="all"``, 630 images) it lifted test accuracy
        from 0.94 to 0.98. On EfficientNet-Lite0 features of 100 images it
        cost 0.07 to 0.13 (``benchmarks/small_data.py``), hence off by
        default. Its statistics are re-estimated with the body's
        (``batchnorm``).
    backbone_lr_scale : float, default=1.0
        Learning-rate multiplier for the transferred body (a smaller rate for
        pretrained layers, as Trivedi advises).
    augment : None, {"flip", "rot90", "standard"} or callable, default=None
        Augmentation of training batches, on the device; never applied to
        validation or prediction batches.
    tta : None, bool or {"flip", "rot90", "flip_rot90"}, default=None
        Test-time augmentation (fastai's ``tta``): ``predict``,
        ``predict_proba`` and ``forward`` average the class probabilities
        over deterministic variants of each image, the image and its mirror
        (``"flip"``), its four rotations (``"rot90"``) or all eight
        (``"flip_rot90"``); ``True`` takes those of ``augment``. It costs 2,
        4 or 8 forward passes; ``forward`` then returns the log of the
        averaged probabilities. Use variants the classes do not change under
        (mirrored digits are other digits): measured in the recipe guide.
    image_shape : tuple or None, default=None
        ``(C, H, W)`` or ``(H, W)`` of 2-D row input (e.g. after ``SMOTE``).
    input_size : int or None, default=None
        Square side images are resized to on the device; None takes the
        backbone's (from the weights' metadata where there is some), except
        for images under 96 px a side, which go in at 64 px (never below
        what the backbone runs on): blowing 8x8 or 28x28 images up to 224 px
        costs 12 times the compute and measured no better
        (:func:`sktransfer._recipe.default_input_size`). The side used is in
        ``module_.input_size``.
    random_state : int, RandomState or None, default=None
        Seeds initialisation, shuffling, dropout and augmentation.
    class_weight : "balanced", dict or None, default=None
        Weights of the classes in the loss.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the training data
        and stop when the validation loss has not improved for
        ``n_iter_no_change`` epochs, restoring the best weights.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=5
    freeze_epochs : int, default=0
        Train the head alone for this many epochs before unfreezing down to
        ``freeze_upto`` (fastai's ``fine_tune``).
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        ``"auto"``: bf16 autocast on CUDA, float32 on CPU.
    cache_frozen : bool, default=True
        When the first units are frozen from the start (``freeze_epochs=0``)
        and there is no augmentation, compute their output once per fit and
        train the rest on it (exact: the frozen units give the same output
        every epoch). ``freeze_upto="all"`` becomes one forward pass plus
        head epochs. Skipped when the cache would exceed its memory budget
        (``sktransfer._cache``). ``n_cached_units_`` tells what was cached.
    batchnorm : {"recalibrate", "frozen", "train"}, default="recalibrate"
        What BatchNorm layers do. ``"train"``: the trainable units' BatchNorm
        layers run in training mode and their running statistics follow by
        momentum (slowly: EfficientNet's is 0.01). ``"recalibrate"``: the
        same, then one pass over the training data re-estimates those
        statistics ("precise BN"; frozen units untouched, no augmentation),
        so that eval-mode predictions agree with what training learned.
        ``"frozen"``: every BatchNorm layer of the body stays in eval mode
        while training (its affine weights still learn; the head's
        ``head_batchnorm`` trains). See the recipe guide.
    lr_schedule : {"warmup_cosine", "constant"}, default="warmup_cosine"
        ``"warmup_cosine"``: a linear warm-up over the first 10% of the
        optimiser steps, then cosine decay to zero, stepped every batch; each
        parameter group keeps its ratio to ``lr``. Ignored when ``callbacks``
        holds a skorch ``LRScheduler`` (the user's schedule wins). The rate
        per epoch is in ``history[:, "lr"]`` (and ``"lr_body"``).
    max_epochs : int or None, default=None
        ``None``: chosen from the number of training images, about 300
        optimiser steps within 5 to 60 epochs
        (:func:`sktransfer._recipe.default_epochs`); the epochs a fit ran are
        in ``max_epochs_``. An int is used as given.
    criterion, optimizer, lr, batch_size, train_split, callbacks,
    warm_start, verbose, iterator_train, iterator_valid, **kwargs
        As in skorch, with these defaults: ``CrossEntropyLoss``, ``AdamW``
        (weight decay 0.01), ``lr=3e-3`` (the best of 1e-3 and 3e-3 on every
        task of ``benchmarks/small_data.py``, with warm-up and cosine decay),
        batches of 32, no internal split,
        silent. ``verbose=1`` prints one line per fit (its parameters that
        differ from the defaults, images, epochs, time, final loss), which
        reads well inside ``GridSearchCV``; ``verbose=2`` adds skorch's epoch
        table, ``verbose=3`` a progress bar per epoch.
    device : str, default="auto"
        ``"auto"``: CUDA when present, else CPU.

    Attributes
    ----------
    classes_ : ndarray
        The labels, in the order of ``predict_proba``'s columns.
    layer_names_ : list of str
        The transferable units of the body, in forward order.
    n_frozen_ : int
        Number of frozen units.
    n_cached_units_ : int
        Number of frozen units whose output the last fit cached (0: none).
    n_recalibrated_ : int
        Number of BatchNorm layers whose statistics the last fit re-estimated.
    max_epochs_ : int
        Epochs of the last ``fit`` or ``partial_fit``.
    image_shape_ : tuple
        ``(C, H, W)`` of the training images.
    n_features_in_ : int
        ``C * H * W``.
    module_ : TransferNetwork
        The network.
    history : skorch History

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
        **TRAINING_CONSTRAINTS,
        "transfer_upto": [
            None,
            Interval(numbers.Integral, 0, None, closed="left"),
            str,
        ],
        "head_hidden_sizes": ["array-like"],
        "head_dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "head_activation": [StrOptions(set(HEAD_ACTIVATIONS)), callable],
        "head_batchnorm": ["boolean"],
    }

    def __init__(
        self,
        backbone="resnet18",
        *,
        weights="DEFAULT",
        weights_sha256=None,
        freeze_upto=0,
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
        criterion=nn.CrossEntropyLoss,
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
        **kwargs,
    ):
        # skorch's get_params reports `module` and `classes`; clone hands them back.
        kwargs.pop("module", None)
        super().__init__(
            module=None,
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
        head_name, classifier = source.decomposed.units[-1]
        linear = first_linear(classifier)
        if linear is None:
            raise ValueError(
                f"`backbone`: the last unit {head_name!r} of {source.name!r} has no "
                "nn.Linear layer to replace with a new head."
            )
        return make_head(
            linear.in_features,
            len(self.classes_),
            tuple(self.head_hidden_sizes),
            self.head_dropout,
            self.head_activation,
            self.head_batchnorm,
        )

    def initialize_module(self):
        source = self._load_source(self.backbone)
        self.module_ = self._build_network(source, self._new_head)
        return self
