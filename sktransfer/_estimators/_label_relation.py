"""LabelRelationTransfer: the whole-layer transfer of Sawada & Kozuka."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.utils._param_validation import StrOptions
from skorch.dataset import Dataset
from torch import nn

from .._networks import build_network
from .._runtime import (
    BatchLoader,
    ShuffledBatchLoader,
    batched_inference,
    resolve_device,
)
from ._classifier import ImageClassifierBase
from ._docs import shared_docs
from ._parameters import BACKBONE, CLASSIFIER, FREEZING, RECIPE, SKORCH, SOURCE

__all__ = ["LabelRelationTransfer", "label_relation", "select_outputs"]


def label_relation(outputs, y_encoded, n_classes, kind="hard"):
    """``relation[c, k]`` = p_c(v): how class ``c`` answers on source output ``k``.

    ``"hard"`` is eq. 3-5 of Sawada & Kozuka: the share of the images of class
    ``c`` whose strongest source output is ``k``. ``"soft"`` averages the
    softmax of the source outputs instead.

    Parameters
    ----------
    outputs : tensor of shape (n, n_source_outputs)
        Source network outputs (logits) for the target images.
    y_encoded : array of shape (n,)
        Target classes as 0 .. n_classes - 1.
    n_classes : int
    kind : {"hard", "soft"}

    Returns
    -------
    relation : ndarray of shape (n_classes, n_source_outputs)
        Each row sums to 1.
    """
    outputs = torch.as_tensor(outputs, dtype=torch.float32)
    n_outputs = outputs.shape[1]
    if kind == "hard":
        votes = torch.nn.functional.one_hot(outputs.argmax(dim=1), n_outputs).double()
    else:
        votes = outputs.double().softmax(dim=1)
    relation = np.zeros((n_classes, n_outputs))
    y_encoded = np.asarray(y_encoded)
    for c in range(n_classes):
        relation[c] = votes[torch.as_tensor(y_encoded == c)].mean(dim=0).numpy()
    return relation


def _assign(relation, assignment, classes):
    n_classes, n_outputs = relation.shape
    if isinstance(assignment, str) and assignment == "peak":
        peaks = relation.argmax(axis=1)
        if len(set(peaks.tolist())) == n_classes:
            return peaks
        shared = [classes[c] for c in range(n_classes) if (peaks == peaks[c]).sum() > 1]
        warnings.warn(
            f"Target classes {shared} peak at the same source output; the paper's "
            "peak rule is ambiguous there, so distinct outputs are assigned by "
            "maximising the total relation (assignment='hungarian').",
            UserWarning,
            stacklevel=3,
        )
    if isinstance(assignment, str):
        rows, columns = linear_sum_assignment(relation, maximize=True)
        return columns[np.argsort(rows)]
    outputs = np.asarray(assignment)
    if (
        outputs.shape != (n_classes,)
        or outputs.dtype.kind not in "iu"
        or len(set(outputs.tolist())) != n_classes
        or outputs.min() < 0
        or outputs.max() >= n_outputs
    ):
        raise ValueError(
            "`assignment` given as outputs must hold one distinct source output "
            f"in [0, {n_outputs - 1}] per target class ({n_classes}); got "
            f"{assignment!r}."
        )
    return outputs


def select_outputs(classifier, outputs):
    """Copy of a classifier unit that keeps only the rows ``outputs`` of its
    last Linear layer: the source outputs now answer for the target classes.
    """
    classifier = copy.deepcopy(classifier)
    index = torch.as_tensor(np.asarray(outputs), dtype=torch.long)

    def subset(linear):
        new = nn.Linear(linear.in_features, len(index), bias=linear.bias is not None)
        new.weight = nn.Parameter(linear.weight.detach()[index].clone())
        if linear.bias is not None:
            new.bias = nn.Parameter(linear.bias.detach()[index].clone())
        return new

    if isinstance(classifier, nn.Linear):
        return subset(classifier)
    name = [n for n, m in classifier.named_modules() if isinstance(m, nn.Linear)][-1]
    parent_name, _, attr = name.rpartition(".")
    parent = classifier.get_submodule(parent_name) if parent_name else classifier
    setattr(parent, attr, subset(getattr(parent, attr)))
    return classifier


@shared_docs
class LabelRelationTransfer(ImageClassifierBase):
    """Whole-layer transfer: the source's output layer answers for the target.

    The method of Sawada & Kozuka: feed the target images through the source
    network, measure for each target class ``c`` the relation p_c(v) to every
    source output (eq. 3-5), pick the source output at its peak
    (``source_outputs_``), and fine-tune every parameter of the source
    network, output layer included, so that the picked outputs respond as the
    target classes. Nothing is re-initialised (T=3 in the paper's Table IV).

    Parameters
    ----------
    backbone : fitted estimator, str or nn.Module, default=None
        The source: a fitted :class:`~sktransfer.PretrainedCNNClassifier` (or
        ``FrozenEstimator`` of one, which survives ``clone``), or a network
        with its original pretrained head, e.g. ``"efficientnet_lite0"``
        (source outputs: ImageNet's 1000 classes).
    weights : "DEFAULT", str or path, default="DEFAULT"
        The source's weights, as in PretrainedCNNClassifier.
    weights_sha256 : str or None, default=None
        The SHA-256 (hex, or a prefix of at least 8 digits) the ``weights``
        file must have; checked before the file is read.
    relation : {"hard", "soft"}, default="hard"
        ``"hard"``: eq. 5, count of arg-max outputs; ``"soft"``: mean softmax.
    assignment : {"hungarian", "peak"} or array-like of int, default="hungarian"
        ``"peak"``: the paper's rule, each class takes its peak output; when
        two classes share a peak (the paper is silent), distinct outputs are
        assigned by maximising the total relation, with a warning.
        ``"hungarian"``: that maximisation always
        (``scipy.optimize.linear_sum_assignment``). An array gives the outputs
        by hand (e.g. randomly chosen ones, the paper's Table II).
    freeze_upto : "auto", int, str, "half" or "all", default="auto"
        Freeze the first units of the source network, as in
        :class:`~sktransfer.PretrainedCNNClassifier` (``"auto"``: only the
        output layer trains on images near the source's, as read off the
        body's BatchNorm statistics, and fewer than 1,000 of them; the whole
        network otherwise); ``freeze_epochs``
        trains the output layer alone first.
    %(training_parameters)s

    Attributes
    ----------
    relation_ : ndarray of shape (n_classes, n_source_outputs)
        p_c(v) for each target class (rows, order of ``classes_``).
    source_outputs_ : ndarray of shape (n_classes,)
        The source output chosen for each target class.
    source_classes_ : ndarray of shape (n_source_outputs,)
        The labels behind the source outputs (the source estimator's classes,
        or the weights' category names).
    %(fitted_attributes)s

    See Also
    --------
    sktransfer.PretrainedCNNClassifier : partial transfer with a new head.
    sktransfer.inspection.RelationDisplay : the bar chart of ``relation_``.

    References
    ----------
    .. [1] Y. Sawada and K. Kozuka, "Whole layers transfer learning of deep
       neural networks for a small scale dataset", 2016.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sktransfer import LabelRelationTransfer, PretrainedCNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> source = PretrainedCNNClassifier("mlp", input_size=8, max_epochs=3,
    ...                                  random_state=0).fit(X[y < 8] / 16, y[y < 8])
    >>> lrt = LabelRelationTransfer(source, max_epochs=2, random_state=0)
    >>> lrt.fit(X[y >= 8] / 16, y[y >= 8]).relation_.shape
    (2, 8)
    >>> len(set(lrt.source_outputs_))
    2
    """

    _renamed_parameters = {"estimator": "backbone"}
    # The relation is measured where the source network was loaded, so the
    # network it starts keeps that side, frozen body or not.
    _frozen_body_at_own_side = False
    _parameter_constraints = {
        "backbone": [None, *BACKBONE],
        **SOURCE,
        "relation": [StrOptions({"hard", "soft"})],
        "assignment": [StrOptions({"hungarian", "peak"}), "array-like"],
        **FREEZING,
        **RECIPE,
        **CLASSIFIER,
        **SKORCH,
    }

    def __init__(
        self,
        backbone=None,
        *,
        weights="DEFAULT",
        weights_sha256=None,
        relation="hard",
        assignment="hungarian",
        freeze_upto="auto",
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
        self.relation = relation
        self.assignment = assignment
        self.freeze_upto = freeze_upto
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

    def _source_outputs_for(self, source, X):
        """Logits of the whole source network, head included, for ``X``."""
        device = resolve_device(self.device)
        network = build_network(source).to(device).eval()
        # Through the classifier's batches: the images go to the device only
        # within its memory budget, else batch by batch from host memory.
        return batched_inference(
            lambda batch: network(batch).float(),
            X,
            device=device,
            precision=self.precision,
            loader=lambda dataset: self.get_iterator(dataset, training=False),
        )

    def _before_initialize(self, X, y_encoded):
        if self.backbone is None:
            raise ValueError(
                "`backbone` is required: a fitted PretrainedCNNClassifier (the "
                "source), or a backbone with its pretrained head such as "
                "'efficientnet_lite0'."
            )
        source = self._load_source(self.backbone)
        outputs = self._source_outputs_for(source, X)
        n_classes, n_outputs = len(self.classes_), outputs.shape[1]
        if n_classes > n_outputs:
            raise ValueError(
                f"`y` has {n_classes} target classes but the source network has "
                f"only {n_outputs} outputs; whole-layer transfer needs at least "
                "as many source outputs as target classes."
            )
        self.relation_ = label_relation(outputs, y_encoded, n_classes, self.relation)
        self.source_outputs_ = _assign(self.relation_, self.assignment, self.classes_)
        categories = source.categories
        self.source_classes_ = (
            np.asarray(categories)
            if categories is not None and len(categories) == n_outputs
            else np.arange(n_outputs)
        )
        self._source_ = source

    def initialize_module(self):
        source = getattr(self, "_source_", None)
        if source is None:
            source = self._load_source(self.backbone)
        head = select_outputs(source.decomposed.units[-1][1], self.source_outputs_)
        self.module_ = self._build_network(source, head)
        self.source_categories_ = self.source_classes_
        self._source_ = None
        return self
