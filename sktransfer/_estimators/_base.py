"""The base of the skorch estimators: ``fit`` and ``partial_fit`` wired to
the training recipe.

Each step hands over to the folder that owns it: images are checked by
:mod:`sktransfer._inputs`, the network is built by :mod:`sktransfer._networks`,
the training set (content order, sample weights), callbacks, schedule,
frozen-prefix cache and BatchNorm recalibration come from
:mod:`sktransfer._training`, forward passes outside training run on
:mod:`sktransfer._runtime`. What stays here is the wiring: the default
callbacks and warm starts; freezing (and ``freeze_upto="auto"``) and the
optimizer with the body's learning rate are in ``_freezing.py``. The
classifiers' and the regressor's bases add their targets; subclasses turn
their parameters into a network in ``initialize_module``.
"""

from __future__ import annotations

import inspect
import math
import time

import numpy as np
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import (
    EarlyStopping,
    EpochTimer,
    PassthroughScoring,
    ProgressBar,
)
from torch import nn

from .._inputs import (
    check_fitted_images,
    check_images,
    check_sample_weight,
    remember_images,
)
from .._networks import build_network, load_source, resolve_tta, resolve_unit_count
from .._runtime import resolve_device, seeded, statistics_batch_size
from .._training import (
    ConvergedStop,
    EpochTable,
    FreezeSchedule,
    RecordLR,
    TrainingGuard,
    WarmupCosine,
    WeightedTargets,
    default_epochs,
    explain_input_size,
    explain_out_of_memory,
    fit_line,
    frozen_prefix,
    recalibrate_batchnorm,
    resave_checkpoints,
    training_set,
    user_schedules,
    verbosity,
)
from ._data_hooks import ImageDataHooks
from ._freezing import (
    apply_changed_freezing,
    build_optimizer,
    freeze,
    frozen_units,
    input_side,
)

__all__ = ["ImageEstimatorBase"]

# skorch 1.4 routes metadata by the public method that was called (fit runs
# through partial_fit here); earlier versions take no such argument.
_FIT_ROUTING = (
    {"_routing_method": "fit"}
    if "_routing_method" in inspect.signature(NeuralNet.fit_loop).parameters
    else {}
)


class ImageEstimatorBase(ImageDataHooks):
    """A skorch net on images that trains by the recipe, with scikit-learn's
    input contract.

    Not for direct use: the classifiers' and the regressor's bases add
    their targets (``_encode_fit_targets``, ``_encode_more_targets``,
    ``_training_targets``) and skorch's net class; subclasses define
    their ``__init__``, ``_parameter_constraints`` and ``initialize_module``.
    """

    # ``fit`` keeps a 1-D X of paths as files, read a batch at a time by its
    # passes over them (content order, scale, the frozen units' cache, the
    # training batches of every epoch); an estimator whose fit uses the
    # images otherwise says False.
    _reads_files = True
    # A wholly frozen pretrained body takes images at its weights' own side
    # (_freezing.input_side); False keeps the side the source was loaded at.
    _frozen_body_at_own_side = True

    # -- skorch hooks ---------------------------------------------------------
    @property
    def _default_callbacks(self):
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("freeze_schedule", FreezeSchedule()),
            ("lr_schedule", self._lr_schedule_callback()),
            ("training_guard", TrainingGuard()),
            ("converged_stop", ConvergedStop()),
        ]
        # Read leniently: get_params lists these callbacks' parameters before
        # fit has validated the hyper-parameters (they may be anything then).
        if isinstance(self.early_stopping, bool | np.bool_) and self.early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(patience=self.n_iter_no_change, load_best=True),
                )
            )
        if verbosity(self) >= 3:
            callbacks.append(("progress_bar", ProgressBar()))
        callbacks.append(("print_log", EpochTable()))
        return callbacks

    def _yield_callbacks(self):
        # The converged-run stop ends the fit loop from on_epoch_end: it goes
        # after every other callback (skorch's PrintLog included), so that
        # they all see the last epoch.
        last = []
        for item in super()._yield_callbacks():
            if item[0] == "converged_stop":
                last.append(item)
            else:
                yield item
        yield from last

    def _lr_schedule_callback(self):
        """The recipe's schedule, unless the user's callbacks set the rate."""
        constant = isinstance(self.lr_schedule, str) and self.lr_schedule == "constant"
        if constant or user_schedules(self.callbacks):
            return RecordLR()
        return WarmupCosine()

    def _load_source(self, backbone):
        """The source network for the fitted images' channels and size."""
        check_is_fitted(self, "image_shape_", msg="Call fit to build the network.")
        return load_source(
            backbone,
            weights=self.weights,
            weights_sha256=self.weights_sha256,
            image_shape=self.image_shape_,
            input_size=self.input_size,
        )

    def _build_network(self, source, head):
        """Source body + ``head`` -> configured network (frozen, re-initialised)."""
        network = build_network(
            source,
            head,
            augment=self.augment,
            batchnorm=self.batchnorm,
        )
        names = network.unit_names
        transfer_upto = getattr(self, "transfer_upto", None)
        # Only pretrained units are worth keeping as they are.
        n_frozen = frozen_units(
            self, names, source.pretrained and transfer_upto is None, network
        )
        if transfer_upto is not None:
            n_kept = resolve_unit_count(
                transfer_upto, names, "transfer_upto", allow_all=False
            )
            network.reinitialise_from(n_kept)
        freeze(self, network, n_frozen)
        frozen_body = (
            self._frozen_body_at_own_side
            and n_frozen == len(names)
            and source.pretrained
            and transfer_upto is None
        )
        fitting = getattr(self, "_fit_images", None) is not None
        network.input_size = input_side(self, source, frozen_body, fitting)
        self.input_size_ = network.input_size
        self._fitted_transfer_upto = transfer_upto
        self.layer_names_ = names
        self.source_categories_ = source.categories
        return network

    def _auto_probe(self, network, images):
        """What else ``freeze_upto="auto"`` reads off the pretrained
        ``network`` for the training ``images``: nothing here (the
        regressor probes its features at several depths)."""
        return None

    def initialize_optimizer(self, triggered_directly=None):
        self.optimizer_ = build_optimizer(self)
        return self

    # -- scikit-learn API -----------------------------------------------------
    def _validate_hyperparameters(self):
        validate_parameter_constraints(
            self._parameter_constraints,
            {key: getattr(self, key) for key in self._parameter_constraints},
            caller_name=type(self).__name__,
        )

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the network to images ``X`` and targets ``y``.

        Every call starts again from the source weights, unless
        ``warm_start=True`` and the network was fitted before.

        Parameters
        ----------
        X : array-like, tensor or 1-D array of paths
            Images: ``(n, C, H, W)``, ``(n, H, W, C)``, ``(n, H, W)`` or rows
            ``(n, C*H*W)`` with ``image_shape``; uint8 or float in [0, 1]. Or
            image files: read with the library's reader, at their own size
            when they share one of at most 224 px a side, else stretched to
            224 px square.
        y : array-like of shape (n,) or (n, n_outputs)
            Labels of any type (classifiers) or numbers (the regressor).
        sample_weight : array-like of shape (n,) or None, default=None
            How often each image counts: an integer weight is that many
            copies of the image, 0 leaves it out, a fraction weighs its loss;
            combined with ``class_weight``.
            Also the early-stopping split's validation loss is weighted.
        **fit_params
            Passed on to skorch.

        Returns
        -------
        self : object
        """
        start = time.perf_counter()
        self._validate_hyperparameters()
        resolve_tta(self.tta, self.augment)  # a ValueError now, not at predict
        X = check_images(
            X,
            self.image_shape,
            estimator_name=type(self).__name__,
            files=self._reads_files,
        )
        weights = check_sample_weight(sample_weight, len(X))
        continuing = (
            self.warm_start
            and getattr(self, "initialized_", False)
            and hasattr(self, "module_")
            and getattr(self, "image_shape_", None) is not None
        )
        if continuing and tuple(X.shape[1:]) != tuple(self.image_shape_):
            raise ValueError(
                f"`warm_start=True` needs images of the previous shape "
                f"{self.image_shape_}; got {tuple(X.shape[1:])}."
            )
        y_encoded = self._encode_fit_targets(y, len(X), continuing)
        remember_images(self, X)
        X, y_encoded, loss_weight = training_set(X, y_encoded, weights)
        y_encoded = self._training_targets(y_encoded, weights is not None, continuing)
        with seeded(self.random_state), self._on_device():
            if continuing:
                self._refresh_callbacks()
                apply_changed_freezing(self)
                self._rebuild_criterion()
            else:
                self._before_initialize(X, y_encoded)
                # What freeze_upto="auto" measures.
                self._fit_images, self._fit_targets = X, y_encoded
                try:
                    self.initialize()
                finally:
                    del self._fit_images, self._fit_targets
            self._train(
                X,
                y_encoded,
                "fit",
                loss_weight,
                fresh=not continuing,
                **_FIT_ROUTING,
                **fit_params,
            )
        if verbosity(self) >= 1:
            print(fit_line(self, len(X), time.perf_counter() - start), flush=True)
        return self

    def _rebuild_criterion(self):
        """The loss of a warm start, built again for its own targets: the
        class weights of ``class_weight`` follow the new labels."""
        self.initialize_criterion()
        # None: the accelerator places it.
        if self.device is not None and isinstance(self.criterion_, nn.Module):
            self.criterion_ = self.criterion_.to(resolve_device(self.device))

    def _n_train(self, n):
        """Images a fit on ``n`` trains on (less the early-stopping split)."""
        if self.early_stopping and self.train_split is None:
            return n - math.ceil(n * self.validation_fraction)
        return n

    def _train(self, X, y_encoded, stage, loss_weight=None, fresh=False, **fit_params):
        """Run the epochs of one ``fit``/``partial_fit`` on the training set
        (with its loss weights, if any), then the BatchNorm recalibration of
        the recipe. A ``fresh`` head on the cached output of the whole body
        may be solved first (:meth:`_solve_head`): then the recipe's
        schedule has no epochs."""
        epochs = fit_params.pop("epochs", None)
        if epochs is None:
            epochs = self.max_epochs
        recipe_length = epochs is None
        with (
            explain_out_of_memory(stage, self.batch_size),
            explain_input_size(self.module_.input_size, self.backbone),
            frozen_prefix(self, X, resolve_device(self.device)) as X_train,
        ):
            # Only the head trains, on the cached output of the whole body.
            head_only = self.n_cached_units_ == len(self.module_.unit_names)
            solved = fresh and self._solve_head(
                X_train if head_only else None, y_encoded, loss_weight
            )
            if epochs is None and solved:
                epochs = 0  # the head is fitted: no gradient step to take
            elif epochs is None:
                epochs = default_epochs(
                    self._n_train(len(X)), self.batch_size, head_only=head_only
                )
            self.max_epochs_ = epochs
            callbacks = dict(self.callbacks_)
            schedule = callbacks.get("lr_schedule")
            stop = callbacks.get("converged_stop")
            if isinstance(schedule, WarmupCosine):
                schedule.epochs_ = epochs
            if isinstance(stop, ConvergedStop):
                # Only a length the recipe chose ends early, and only while
                # the body trains (a head on cached features costs nothing).
                ends_early = recipe_length and isinstance(schedule, WarmupCosine)
                stop.epochs_ = epochs if ends_early and not head_only else None
            targets = y_encoded
            if loss_weight is not None:
                targets = WeightedTargets(y_encoded, loss_weight)
            super().partial_fit(X_train, targets, epochs=epochs, **fit_params)
            self._planned_epochs = epochs
            self.converged_epoch_ = None
            if isinstance(stop, ConvergedStop) and stop.stopped_epoch_:
                self.converged_epoch_ = stop.converged_epoch_
                self.max_epochs_ = stop.stopped_epoch_
            self.n_recalibrated_ = 0
            if self.batchnorm == "recalibrate" and epochs:
                self.n_recalibrated_ = recalibrate_batchnorm(
                    self.module_,
                    X_train,
                    self.infer,  # moves each batch to the device
                    statistics_batch_size(self),
                )
                if self.n_recalibrated_:
                    resave_checkpoints(self)

    def _solve_head(self, features, targets, loss_weight):
        """Hook of a fresh fit: set the head's weights in closed form on the
        cached ``features`` of the whole body (None when the body is not
        wholly cached) and the training ``targets``; whether it did (the
        regressor's ridge head)."""
        return False

    def _before_initialize(self, X, y_encoded):
        """Hook for work on the training data before the network is built."""

    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """Train for ``max_epochs`` more epochs without re-initialising.

        An unfitted estimator is fitted instead (as ``fit``).

        Parameters
        ----------
        X : array-like or tensor
            Images the fitted estimator takes (as ``predict``).
        y : array-like of shape (n,) or (n, n_outputs)
            Targets: labels among ``classes_``, or numbers for the regressor.
        classes : array-like or None, default=None
            Ignored: the classes are those of the first ``fit``.
        sample_weight : array-like of shape (n,) or None, default=None
            As in ``fit``.
        **fit_params
            Passed on to skorch.

        Returns
        -------
        self : object
        """
        if not self.__sklearn_is_fitted__():
            return self.fit(X, y, sample_weight=sample_weight, **fit_params)
        X = check_fitted_images(self, X)
        weights = check_sample_weight(sample_weight, len(X))
        y_encoded = self._encode_more_targets(y, len(X))
        X, y_encoded, loss_weight = training_set(X, y_encoded, weights)
        with seeded(self.random_state), self._on_device():
            self._refresh_callbacks()
            self._train(X, y_encoded, "partial_fit", loss_weight, **fit_params)
        return self

    def __sklearn_is_fitted__(self):
        # skorch's bookkeeping keys end in "_" too; scikit-learn 1.6 would
        # take them for fitted attributes.
        return bool(getattr(self, "initialized_", False)) and hasattr(
            self, "image_shape_"
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.non_deterministic = self.random_state is None
        return tags
