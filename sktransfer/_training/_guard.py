"""Training that goes wrong: a diverging loss, an interrupt, out of GPU memory.

The promise (see the reliability guide): a fit never leaves an estimator that
predicts garbage. A non-finite loss restores the weights of the last
completed epoch and raises an error that names ``lr``; an interrupt
(Ctrl-C) restores them and keeps the estimator usable; running out of GPU
memory says which ``batch_size`` to lower.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import torch
from skorch.callbacks import Callback

__all__ = ["TrainingGuard", "explain_out_of_memory"]


class TrainingGuard(Callback):
    """Keep the weights of the last completed epoch, for when an epoch fails.

    At the start of every epoch the trainable parameters and the buffers are
    copied into host memory (the same buffers every epoch, so that a full
    fine-tune of a large backbone does not hold its parameters twice on the
    GPU); a non-finite training loss restores that copy and raises
    ``ValueError`` naming ``lr``; an interrupted epoch (``KeyboardInterrupt``,
    which skorch catches) is undone, weights and history, with a warning.
    The optimizer's state is not restored.

    Attributes
    ----------
    snapshot_ : dict of str to Tensor or None
        The host copy of the weights at the start of the current epoch;
        None outside training (the copy is freed when training ends).
    """

    def initialize(self):
        self.snapshot_ = None
        self.epoch_open_ = False
        return self

    def on_epoch_begin(self, net, **kwargs):
        # Only what this epoch can change: trainable parameters and buffers
        # (BatchNorm statistics). Frozen parameters are not copied every epoch.
        module = net.module_
        frozen = {n for n, p in module.named_parameters() if not p.requires_grad}
        state = {
            name: value
            for name, value in module.state_dict().items()
            if name not in frozen
        }
        snapshot = self.snapshot_ or {}
        if snapshot.keys() != state.keys() or any(
            snapshot[name].shape != value.shape or snapshot[name].dtype != value.dtype
            for name, value in state.items()
        ):
            snapshot = {
                name: torch.empty_like(value, device="cpu")
                for name, value in state.items()
            }
        for name, value in state.items():
            snapshot[name].copy_(value.detach())
        self.snapshot_ = snapshot
        self.epoch_open_ = True

    def _restore(self, net):
        if self.snapshot_ is not None:
            net.module_.load_state_dict(self.snapshot_, strict=False)

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        try:
            loss = net.history[-1, "batches", -1, "train_loss"]
        except KeyError:  # a custom training step that records no loss
            return
        if math.isfinite(loss):
            return
        self._restore(net)
        self.epoch_open_ = False
        epoch = len(net.history)
        batch = len(net.history[-1, "batches"])
        net.history.pop()
        raise ValueError(
            f"The training loss became {loss} in epoch {epoch} (batch {batch}): "
            f"the learning rate `lr`={net.lr} is probably too high for this "
            "network; try a smaller `lr` (e.g. 10 times smaller). The weights "
            f"were restored to those before epoch {epoch}."
        )

    def on_epoch_end(self, net, **kwargs):
        self.epoch_open_ = False

    def on_train_end(self, net, **kwargs):
        interrupted = self.epoch_open_  # skorch caught a KeyboardInterrupt
        if interrupted:
            self._restore(net)
        self.snapshot_ = None  # only training needs the copy
        self.epoch_open_ = False
        if not interrupted:
            return
        epoch = len(net.history)
        net.history.pop()
        warnings.warn(
            f"Training was interrupted in epoch {epoch}; the weights after "
            f"epoch {epoch - 1} were restored and the estimator is usable.",
            RuntimeWarning,
            stacklevel=2,
        )


@contextlib.contextmanager
def explain_out_of_memory(stage, batch_size, parameter="batch_size"):
    """Re-raise a CUDA out-of-memory error with what to change."""
    try:
        yield
    except torch.cuda.OutOfMemoryError as error:
        smaller = max(1, batch_size // 2)
        raise torch.cuda.OutOfMemoryError(
            f"{stage} ran out of GPU memory with `{parameter}`={batch_size}: try a "
            f"smaller `{parameter}` (e.g. {smaller}), a smaller `input_size`, "
            "more frozen units (`freeze_upto`), or `precision='bfloat16'`. "
            f"Original error: {str(error).splitlines()[0] if str(error) else ''}"
        ) from error


_TOO_SMALL = (
    "Output size is too small",
    "Kernel size can't be greater than actual input size",
    "smaller than kernel size",
    "input image is smaller than kernel",
)


@contextlib.contextmanager
def explain_input_size(input_size, backbone):
    """Re-raise torch's "output size is too small" as a ``ValueError`` naming
    ``input_size``: the backbone's feature maps shrank to nothing."""
    try:
        yield
    except RuntimeError as error:
        if not any(text in str(error) for text in _TOO_SMALL):
            raise
        name = backbone if isinstance(backbone, str) else type(backbone).__name__
        own = " (the images' own size)" if input_size is None else ""
        raise ValueError(
            f"`input_size`={input_size}{own} is too small for {name!r}: its pooling "
            "shrinks the feature maps to nothing before the last unit. Pass a "
            "larger `input_size` (64 or more; inception_v3 needs 75). "
            f"Original error: {str(error).splitlines()[0]}"
        ) from None
