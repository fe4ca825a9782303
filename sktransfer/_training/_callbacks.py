"""The recipe's skorch callbacks: the learning-rate schedule (linear warm-up,
then cosine decay), the freeze schedule (the head alone first), and
checkpoints saved again after BatchNorm recalibration.

References
----------
.. [1] I. Loshchilov and F. Hutter, "SGDR: Stochastic gradient descent with
   warm restarts", ICLR 2017 (cosine decay).
.. [2] J. Howard and S. Gugger, "Fastai: a layered API for deep learning",
   2020 (``fine_tune``: the head alone first).
"""

from __future__ import annotations

import math
import warnings

from skorch.callbacks import Callback, Checkpoint, LRScheduler

from ._recipe import (
    CONVERGED_EPOCHS,
    CONVERGED_LOSS_RATIO,
    WARMUP_FRACTION,
    converged_tail,
)

__all__ = [
    "ConvergedStop",
    "FreezeSchedule",
    "RecordLR",
    "WarmupCosine",
    "record_lr",
    "resave_checkpoints",
    "user_schedules",
]


class WarmupCosine(Callback):
    """Linear warm-up, then cosine decay to zero, stepped every batch.

    Every parameter group follows the same curve from its own starting
    learning rate (so the body's smaller rate stays proportionally smaller).
    The learning rate of each group at the end of an epoch is written to the
    history (``lr``, the head's, and ``lr_body`` when the body has its own).

    Parameters
    ----------
    warmup : float, default=0.1
        Fraction of the steps spent warming up linearly from zero.

    Attributes
    ----------
    epochs_ : int
        Epochs of the current training run, set by the estimator.
    """

    def __init__(self, warmup=WARMUP_FRACTION):
        self.warmup = warmup

    def initialize(self):
        self.epochs_ = None
        self.total_steps_ = None
        self.step_ = 0
        self.base_lrs_ = None
        self.tail_ = None
        return self

    def warmup_steps(self):
        """Steps of the warm-up of the current run."""
        total = max(1, self.total_steps_ or 1)
        return max(1, round(self.warmup * total)) if self.warmup else 0

    def factor(self, step):
        """Multiplier of the starting learning rate at ``step`` (0-based)."""
        if self.tail_ is not None and step >= self.tail_[0]:
            start, steps, start_factor = self.tail_
            progress = (step - start) / max(1, steps)
            return start_factor * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        total = max(1, self.total_steps_)
        warmup = self.warmup_steps()
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    def compress(self, steps):
        """End the decay in ``steps`` more steps: from the current factor to
        zero along a half cosine (the converged run's tail)."""
        self.tail_ = (self.step_, steps, self.factor(self.step_))

    def on_train_begin(self, net, **kwargs):
        self.base_lrs_ = [group["lr"] for group in net.optimizer_.param_groups]
        self.step_ = 0
        self.total_steps_ = None
        self.tail_ = None

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.total_steps_ is None:
            epochs = self.epochs_ if self.epochs_ is not None else net.max_epochs
            n_train = len(dataset_train) if dataset_train is not None else 0
            self.total_steps_ = epochs * max(1, math.ceil(n_train / net.batch_size))

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        factor = self.factor(self.step_)
        for group, base in zip(
            net.optimizer_.param_groups, self.base_lrs_, strict=True
        ):
            group["lr"] = base * factor
        self.step_ += 1

    def on_epoch_end(self, net, **kwargs):
        record_lr(net)

    def on_train_end(self, net, **kwargs):
        # Leave the optimizer as it was built, for a later partial_fit.
        if self.base_lrs_ is not None:
            for group, base in zip(
                net.optimizer_.param_groups, self.base_lrs_, strict=True
            ):
                group["lr"] = base


class ConvergedStop(Callback):
    """Stop soon after the training loss has converged.

    Once the training loss has stayed under ``ratio`` times the first
    epoch's for ``patience`` epochs after the warm-up, the rest of the
    cosine decay of the ``lr_schedule`` callback is compressed into a short
    tail (:func:`sktransfer._training._recipe.converged_tail`), after which training
    stops: a few dozen images are learned by heart in a few epochs, and the
    rest of a fixed schedule only costs time. Active only when the recipe
    chose the length (``epochs_`` is set by the estimator).

    Parameters
    ----------
    ratio : float, default=0.01
        Converged: the training loss under ``ratio`` times the first epoch's.
    patience : int, default=3
        Epochs in a row the loss must stay converged.

    Attributes
    ----------
    epochs_ : int or None
        The planned epochs of the current run; None leaves it inactive.
    converged_epoch_ : int or None
        The epoch (1-based, of the current run) at which the loss was found
        converged; None if it was not.
    stopped_epoch_ : int or None
        The last epoch trained when the run stopped early.
    """

    def __init__(self, ratio=CONVERGED_LOSS_RATIO, patience=CONVERGED_EPOCHS):
        self.ratio = ratio
        self.patience = patience

    def initialize(self):
        self.epochs_ = None
        self._reset()
        return self

    def _reset(self):
        self.converged_epoch_ = None
        self.stopped_epoch_ = None
        self.epoch_ = 0
        self.first_loss_ = None
        self.streak_ = 0
        self.stop_at_ = None

    def on_train_begin(self, net, **kwargs):
        self._reset()

    def on_epoch_end(self, net, **kwargs):
        self.epoch_ += 1
        if self.epochs_ is None:
            return
        if self.stop_at_ is not None:
            if self.epoch_ >= self.stop_at_:
                self.stopped_epoch_ = self.epoch_
                raise KeyboardInterrupt  # skorch ends the fit loop, as EarlyStopping
            return
        loss = net.history[-1].get("train_loss")
        if loss is None or not math.isfinite(loss):
            return
        if self.first_loss_ is None:
            self.first_loss_ = loss
            return
        schedule = dict(net.callbacks_).get("lr_schedule")
        if not isinstance(schedule, WarmupCosine) or schedule.total_steps_ is None:
            return
        if schedule.step_ <= schedule.warmup_steps():
            return
        self.streak_ = self.streak_ + 1 if loss < self.ratio * self.first_loss_ else 0
        if self.streak_ < self.patience:
            return
        tail = converged_tail(self.epochs_, self.epoch_)
        if tail <= 0:
            return
        self.converged_epoch_ = self.epoch_
        self.stop_at_ = self.epoch_ + tail
        steps_per_epoch = schedule.total_steps_ // max(1, self.epochs_)
        schedule.compress(tail * max(1, steps_per_epoch))


def record_lr(net):
    """Write the learning rate(s) of ``net``'s optimizer to its history."""
    groups = net.optimizer_.param_groups
    net.history.record("lr", groups[-1]["lr"])
    if len(groups) > 1:
        net.history.record("lr_body", groups[0]["lr"])


class RecordLR(Callback):
    """Write the learning rate to the history each epoch (constant schedule)."""

    def on_epoch_end(self, net, **kwargs):
        record_lr(net)


def user_schedules(callbacks):
    """Whether the user's ``callbacks`` set the learning rate themselves.

    Anything but a list or tuple answers False: ``callbacks`` is validated
    when ``fit`` builds the callbacks, not while parameters are listed.
    """
    if not isinstance(callbacks, list | tuple):
        return False
    for callback in callbacks:
        if isinstance(callback, tuple):
            callback = callback[1]
        if isinstance(callback, LRScheduler) or (
            isinstance(callback, type) and issubclass(callback, LRScheduler)
        ):
            return True
    return False


class FreezeSchedule(Callback):
    """Train the head alone for ``freeze_epochs``, then unfreeze to ``n_frozen``.

    As fastai's ``fine_tune``: the new head first learns on fixed features,
    so that its random start does not wreck the pretrained body.
    """

    def __init__(self, freeze_epochs=0, n_frozen=0):
        self.freeze_epochs = freeze_epochs
        self.n_frozen = n_frozen

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history) - 1
        network = net.module_
        target = len(network.units) if epoch < self.freeze_epochs else self.n_frozen
        if network.n_frozen != target:
            network.set_frozen(target)


def resave_checkpoints(net):
    """Write recalibrated BatchNorm statistics into ``net``'s checkpoints.

    A skorch ``Checkpoint`` saves at the end of an epoch, before the
    recalibration that follows training, so its file would hold the lagging
    statistics and a model restored from it would predict differently from
    the fitted one. Each checkpoint that holds the current weights (it saved
    the last epoch, saves every epoch, or loaded its best weights back with
    ``load_best``) is saved again; one that holds an earlier epoch's weights
    cannot be recalibrated without them, and a warning says so.
    """
    last = net.history[-1] if len(net.history) else {}
    for name, callback in net.callbacks_:
        if not isinstance(callback, Checkpoint):
            continue
        current = (
            callback.load_best
            or callback.monitor is None
            or (callback.event_name is not None and last.get(callback.event_name))
        )
        if current:
            callback.save_model(net)
        else:
            warnings.warn(
                f"Checkpoint {name!r} holds the weights of an earlier epoch with "
                "BatchNorm statistics from before the recalibration "
                '(batchnorm="recalibrate"); a model restored from it can '
                "predict differently. Pass Checkpoint(load_best=True) so that fit "
                "recalibrates the best weights and saves them again, or "
                'batchnorm="train".',
                UserWarning,
                stacklevel=4,
            )
