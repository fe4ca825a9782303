"""Multi-GPU (and TPU, mixed precision) training through Hugging Face Accelerate.

:class:`AcceleratedCNNClassifier` is :class:`~sktransfer.PretrainedCNNClassifier`
with skorch's :class:`skorch.hf.AccelerateMixin`: pass an
``accelerate.Accelerator`` and launch the script with ``accelerate launch``
(one process per GPU; batches are sharded across processes and gradients
averaged by DistributedDataParallel). Install the optional extra::

    pip install "sktransfer[accelerate]"

Differences from the single-device estimator, all due to Accelerate:

* the accelerator places the model and the batches, so ``device=None``;
* batches come from a ``torch.utils.data.DataLoader`` (which Accelerate knows
  how to shard) instead of this library's in-memory slicing;
* mixed precision is the accelerator's (``Accelerator(mixed_precision="bf16")``),
  so ``precision`` defaults to ``"float32"``;
* as skorch warns, an accelerated net cannot be pickled while wrapped; the
  default ``unwrap_after_train=True`` unwraps it after ``fit``, and
  ``save_params`` / ``load_params`` work.

Example (``train.py``, run with ``accelerate launch train.py``)::

    from accelerate import Accelerator
    from sktransfer.multi_gpu import AcceleratedCNNClassifier

    clf = AcceleratedCNNClassifier(
        "resnet50", accelerator=Accelerator(mixed_precision="bf16"),
        freeze_upto=2, max_epochs=10, batch_size=64,
    )
    clf.fit(X, y)
"""

from __future__ import annotations

import copy

import torch
from sklearn.utils._param_validation import HasMethods, StrOptions
from skorch.dataset import Dataset
from torch.utils.data import DataLoader

from ._estimators import PretrainedCNNClassifier, shared_docs

try:
    from skorch.hf import AccelerateMixin
except ImportError as error:  # pragma: no cover - skorch always has skorch.hf
    raise ImportError("sktransfer.multi_gpu needs skorch >= 0.12.") from error

__all__ = ["AcceleratedCNNClassifier"]


@shared_docs
class AcceleratedCNNClassifier(AccelerateMixin, PretrainedCNNClassifier):
    """:class:`~sktransfer.PretrainedCNNClassifier` trained through Accelerate.

    Parameters
    ----------
    backbone : str, nn.Module or fitted estimator, default="efficientnet_lite0"
        As in :class:`~sktransfer.PretrainedCNNClassifier`.
    accelerator : accelerate.Accelerator
        Decides devices, processes and mixed precision.
    device : None, default=None
        Left to the accelerator.
    precision : {"auto", "float32", "bfloat16"}, default="float32"
        Mixed precision is the accelerator's.
    unwrap_after_train : bool, default=True
        Unwrap the model after ``fit``; the ``accelerator`` then forgets the
        objects it prepared (as ``Accelerator.free_memory``), so that a fit
        leaves it as it was.
    iterator_train, iterator_valid : class, default=torch.utils.data.DataLoader
        Loaders Accelerate knows how to shard across processes.
    iterator_train__shuffle : bool, default=True
        Shuffle the training batches.
    callbacks__print_log__sink : callable or "auto", default="auto"
        Where skorch's epoch table goes; ``"auto"``: the accelerator's
        ``print`` (the main process only).
    %(training_parameters)s

    Attributes
    ----------
    %(fitted_attributes)s

    Examples
    --------
    >>> import numpy as np
    >>> from accelerate import Accelerator
    >>> from sktransfer.multi_gpu import AcceleratedCNNClassifier
    >>> clf = AcceleratedCNNClassifier(
    ...     "small_cnn", accelerator=Accelerator(cpu=True), input_size=16, max_epochs=1
    ... )
    >>> X, y = np.zeros((4, 8, 8), np.uint8), [0, 1, 0, 1]
    >>> clf.fit(X, y).predict(X).shape
    (4,)
    """

    _parameter_constraints = {
        **PretrainedCNNClassifier._parameter_constraints,
        "accelerator": [HasMethods(["prepare"])],
        "unwrap_after_train": ["boolean"],
        "iterator_train__shuffle": ["boolean"],
        "callbacks__print_log__sink": [StrOptions({"auto"}), callable],
    }

    def __init__(
        self,
        backbone="efficientnet_lite0",
        *,
        accelerator,
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
        precision="float32",
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
        device=None,
        iterator_train=DataLoader,
        iterator_valid=DataLoader,
        dataset=Dataset,
        predict_nonlinearity="auto",
        compile=False,
        use_caching="auto",
        torch_load_kwargs=None,
        classes=None,
        unwrap_after_train=True,
        iterator_train__shuffle=True,
        callbacks__print_log__sink="auto",
        **kwargs,
    ):
        super().__init__(
            backbone,
            accelerator=accelerator,
            weights=weights,
            weights_sha256=weights_sha256,
            freeze_upto=freeze_upto,
            transfer_upto=transfer_upto,
            head_hidden_sizes=head_hidden_sizes,
            head_dropout=head_dropout,
            head_activation=head_activation,
            head_batchnorm=head_batchnorm,
            backbone_lr_scale=backbone_lr_scale,
            augment=augment,
            tta=tta,
            image_shape=image_shape,
            input_size=input_size,
            random_state=random_state,
            class_weight=class_weight,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            freeze_epochs=freeze_epochs,
            precision=precision,
            cache_frozen=cache_frozen,
            batchnorm=batchnorm,
            lr_schedule=lr_schedule,
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
            unwrap_after_train=unwrap_after_train,
            iterator_train__shuffle=iterator_train__shuffle,
            callbacks__print_log__sink=callbacks__print_log__sink,
            **kwargs,
        )

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """skorch's hook at the end of training: Accelerate unwraps the model
        (``unwrap_after_train``), then the ``accelerator`` forgets what it
        prepared.

        Parameters
        ----------
        net : AcceleratedCNNClassifier
            This estimator (skorch passes the net to its own hooks).
        X, y : array-like or None, default=None
            The training data, as skorch passes it.
        **kwargs
            Further arguments of skorch's hook.

        Returns
        -------
        self : object
        """
        super().on_train_end(net, X=X, y=y, **kwargs)
        self._release_accelerator()
        return self

    def get_params(self, deep=True):
        """The parameters, as the user set them.

        Parameters
        ----------
        deep : bool, default=True
            Also the parameters of the callbacks and routing prefixes.

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=deep)
        # skorch's deep listing reads the sink off the built PrintLog; the
        # parameter is what the user set ("auto": Accelerate's print).
        params["callbacks__print_log__sink"] = self.callbacks__print_log__sink
        return params

    def __getstate__(self):
        state = super().__getstate__()
        accelerator = state.get("accelerator")
        if "gradient_state" in getattr(accelerator, "__dict__", {}):
            # Accelerate's gradient state belongs to the process (its live data
            # loaders, by weak reference): a pickled copy would go stale, and
            # gather_for_metrics would cut predictions to a remainder of
            # another process's loader. The loading process attaches its own.
            accelerator = copy.copy(accelerator)
            del accelerator.gradient_state
            state["accelerator"] = accelerator
        return state

    def __setstate__(self, state):
        accelerator = state.get("accelerator")
        if accelerator is not None and not hasattr(accelerator, "gradient_state"):
            from accelerate.state import GradientState

            accelerator.gradient_state = GradientState()
        super().__setstate__(state)

    def _finish_restoring(self):
        # As after fit: the model unwrapped, the accelerator emptied.
        if (
            getattr(self, "_wrapped_with_accelerator", False)
            and self.unwrap_after_train
        ):
            self._unwrap_accelerator()
            self._release_accelerator()

    def _release_accelerator(self):
        # Accelerate's ``prepare`` keeps every model, optimizer and data
        # loader it wrapped; once the model is unwrapped those references are
        # stale, and a fit must not leave its ``accelerator`` parameter
        # changed (scikit-learn's rule).
        # ``Accelerator.free_memory`` does this and a full ``gc.collect()``
        # (seconds in a large process), so the lists are emptied here.
        if self.unwrap_after_train:
            for name in ("_models", "_optimizers", "_schedulers", "_dataloaders"):
                if isinstance(getattr(self.accelerator, name, None), list):
                    setattr(self.accelerator, name, [])
            self.accelerator.step = 0

    def _initialize_callbacks(self):
        # skorch's PrintLog prints to any sink but ``print`` whatever the
        # verbosity; keep ``verbose=0`` silent (Accelerate's print otherwise).
        # skorch's mixin writes the resolved sink into the parameter; the
        # user's value is put back, so get_params and clone see what was set.
        requested = self.callbacks__print_log__sink
        if isinstance(requested, str) and requested == "auto" and not self.verbose:
            vars(self)["callbacks__print_log__sink"] = print
        try:
            return super()._initialize_callbacks()
        finally:
            vars(self)["callbacks__print_log__sink"] = requested
