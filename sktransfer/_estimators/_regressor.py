"""PretrainedCNNRegressor: the classifier's twin for continuous targets, with
the regressor's own reading of ``freeze_upto="auto"`` (probes of several
depths) and its ridge head on a frozen body."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils._param_validation import StrOptions
from skorch.dataset import Dataset

from .._runtime import BatchLoader, ShuffledBatchLoader, statistics_batch_size
from .._training import depth_probe, solve_linear_head
from ._classifier import PretrainedCNNClassifier, new_head
from ._docs import shared_docs
from ._parameters import BACKBONE, FREEZING, NEW_HEAD, RECIPE, SKORCH, SOURCE
from ._regressor_base import LOSSES, ImageRegressorBase

__all__ = ["PretrainedCNNRegressor"]


@shared_docs
class PretrainedCNNRegressor(ImageRegressorBase):
    """Fine-tune a pretrained CNN, as a scikit-learn regressor.

    :class:`~sktransfer.PretrainedCNNClassifier`'s twin for images with a
    continuous target (a severity score, the share of tumour tissue in a
    histology patch, a measured thickness), as scikit-learn pairs
    ``MLPClassifier`` with ``MLPRegressor``: the same backbones, transfer and
    freezing, head and recipe (the schedule's length from the number of
    images, BatchNorm recalibration, the frozen-prefix cache, ``augment``),
    with a head of one output per target. The targets are standardised
    inside (each to mean 0 and standard deviation 1, so that one learning
    rate suits any unit) and predicted in the user's units; ``score`` is R².

    ``freeze_upto="auto"`` reads the images' shift as the classifier does
    (far from the source, or 1,000 images or more: fine-tune), and one
    thing more, since a measurement (an angle, a position, a thickness) is
    what ImageNet's top features are built to ignore, so that images near
    the source do not make the frozen body a good regressor: ridge probes
    of the body's pooled features on the target, at its top and at several
    depths, scored by leave-one-out (``auto_probe_``). When the several
    depths explain the target better than the top by more than the noise,
    the top discards what the target needs, and when the top explains
    nothing of it (0.05 of its variance or less), a head on it can only
    predict the mean: then the whole network is fine-tuned; otherwise a
    head trains on the frozen body (the regression guide has the
    measurements).

    On a wholly frozen body (its output cached), a head of one ``Linear``
    layer trained on the squared error is ridge regression on the body's
    pooled features: it is solved in closed form, its penalty chosen by
    leave-one-out (``head_alpha_``), as ``RidgeCV`` on
    :class:`~sktransfer.CNNFeatureExtractor`'s features would fit it, and
    with ``max_epochs=None`` no gradient step follows (a given
    ``max_epochs`` trains on from it). Gradient steps alone learn a few
    hundred images by heart on the 1,280 features of EfficientNet-Lite0
    and predict new ones worse.

    Parameters
    ----------
    loss : {"squared_error", "huber"}, default="squared_error"
        The loss on the standardised targets: squared error, or Huber's
        (squared within one standard deviation of the target, linear beyond:
        less pulled by outliers).
    criterion : torch loss class or None, default=None
        None: the one ``loss`` names; a class replaces it (its parameters:
        ``criterion__*``).
    tta : None, bool or {"flip", "rot90", "flip_rot90"}, default=None
        Test-time augmentation: ``predict`` averages the predictions over
        deterministic variants of each image, as in
        :class:`~sktransfer.PretrainedCNNClassifier`. Use variants the target
        does not change under.
    %(training_parameters)s

    Attributes
    ----------
    n_outputs_ : int
        Number of targets per image.
    target_mean_, target_scale_ : ndarray of shape (``n_outputs_``,)
        The mean and standard deviation of each target in ``fit`` (1 for a
        constant target): the network predicts ``(y - target_mean_) /
        target_scale_``.
    head_alpha_ : float or None
        The ridge penalty of the head solved in closed form on the frozen
        body's features (on the standardised targets) by the last fresh
        ``fit``; None where the head trained by gradient steps alone (the
        body not wholly frozen or not cached, hidden layers or a BatchNorm
        in the head, ``loss="huber"``, a ``criterion``, more than
        16,777,216 feature values).
    %(fitted_attributes)s

    See Also
    --------
    sktransfer.PretrainedCNNClassifier : the same for labels.
    sklearn.compose.TransformedTargetRegressor : a transform of the target
        (a log, say) around it.

    References
    ----------
    .. [1] A. Brodzicki et al., "Transfer learning methods as a new approach
       in computer vision tasks with small datasets", FCDS 2020.
    .. [2] U. Evci, V. Dumoulin, H. Larochelle and M. C. Mozer, "Head2Toe:
       Utilizing intermediate representations for better transfer
       learning", ICML 2022 (the probes of several depths).
    .. [3] R. Rifkin and R. Lippert, "Notes on regularized least squares",
       MIT-CSAIL-TR-2007-025 (the ridge head's leave-one-out errors).

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer import PretrainedCNNRegressor
    >>> from sktransfer.datasets import load_digits_images
    >>> X, _ = load_digits_images()
    >>> ink = X[:200].mean(axis=(1, 2))  # a continuous target: the ink
    >>> reg = PretrainedCNNRegressor("small_cnn", input_size=16, max_epochs=5,
    ...                              random_state=0).fit(X[:200], ink)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    # Documented by the classifier: its parameters of the same names.
    _documented_like = PretrainedCNNClassifier
    _attributes_not_shared = ("classes_", "class_weight_")

    _parameter_constraints = {
        "backbone": BACKBONE,
        **SOURCE,
        **FREEZING,
        **NEW_HEAD,
        **{name: c for name, c in RECIPE.items() if name != "class_weight"},
        "loss": [StrOptions(set(LOSSES))],
        "criterion": [None, callable],
        **SKORCH,
    }

    def _auto_probe(self, network, images):
        """Ridge probes of the pretrained body's pooled features on the
        training targets, at its top and at several depths: ``(top, depths,
        noise)`` (:class:`~sktransfer._training._depth_probe.DepthProbe`)."""
        probe = depth_probe(
            network,
            images,
            self._fit_targets,
            device=next(network.parameters()).device,
            batch_size=statistics_batch_size(self),
        )
        return None if probe is None else np.array(probe, dtype=np.float64)

    def _solve_head(self, features, targets, loss_weight):
        """A linear head on the cached output of the whole body, trained on
        the squared error, is ridge regression solved in closed form, its
        penalty chosen by leave-one-out (``head_alpha_``;
        :mod:`sktransfer._training._ridge_head`)."""
        self.head_alpha_ = None
        if (
            features is not None
            and self.loss == "squared_error"
            and (self.criterion is None)
        ):
            self.head_alpha_ = solve_linear_head(
                self.module_.head, features, targets, loss_weight
            )
        return self.head_alpha_ is not None

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
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        freeze_epochs=0,
        precision="auto",
        cache_frozen=True,
        batchnorm="recalibrate",
        lr_schedule="warmup_cosine",
        loss="squared_error",
        criterion=None,
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
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.freeze_epochs = freeze_epochs
        self.precision = precision
        self.cache_frozen = cache_frozen
        self.batchnorm = batchnorm
        self.lr_schedule = lr_schedule
        self.loss = loss

    def _new_head(self, source):
        """A head of one output per target."""
        return new_head(self, source, self.n_outputs_)

    def initialize_module(self):
        source = self._load_source(self.backbone)
        self.module_ = self._build_network(source, self._new_head)
        return self
