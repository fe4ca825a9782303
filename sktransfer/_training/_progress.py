"""What a fit shows while it runs: ``verbose=1`` one line per fit (readable
inside ``GridSearchCV``), ``verbose=2`` the epoch table too, ``verbose=3`` a
progress bar per epoch."""

from __future__ import annotations

import inspect
import numbers

from skorch.callbacks import PrintLog

from .._networks import SMALL_IMAGE
from ._recipe import is_auto

__all__ = ["EpochTable", "changed_params", "fit_line", "verbosity"]


def verbosity(estimator):
    """``estimator.verbose`` as 0, 1, 2 or 3 (anything else counts as silent;
    more than 3 as 3)."""
    verbose = getattr(estimator, "verbose", 0)
    if isinstance(verbose, bool):
        return int(verbose)
    if not isinstance(verbose, numbers.Real) or not verbose > 0:  # NaN too
        return 0
    return 3 if verbose >= 3 else int(verbose)


class EpochTable(PrintLog):
    """skorch's epoch table, printed from ``verbose=2`` on."""

    def on_epoch_end(self, net, **kwargs):
        if verbosity(net) >= 2:
            super().on_epoch_end(net, **kwargs)


def changed_params(estimator):
    """The parameters that differ from the defaults, as ``name=value`` for
    numbers, strings and None (what a grid search varies)."""
    signature = inspect.signature(type(estimator).__init__)
    params = estimator.get_params(deep=False)
    changed = []
    for name, parameter in signature.parameters.items():
        if name in ("self", "verbose") or parameter.kind is parameter.VAR_KEYWORD:
            continue
        value = params.get(name, parameter.default)
        simple = value is None or isinstance(value, str | numbers.Number)
        if simple and (value is not parameter.default and value != parameter.default):
            changed.append(f"{name}={value!r}")
    return changed


def _input_reason(estimator):
    """The input side and why: the user's, the small-image rule or the
    backbone's own."""
    module = getattr(estimator, "module_", None)
    size = getattr(module, "input_size", None)
    if size is None:
        return ""
    if estimator.input_size is not None:
        return f", {size} px input"
    shape = getattr(estimator, "image_shape_", None)
    side = min(shape[-2:]) if shape is not None else None
    if side is not None and side < SMALL_IMAGE <= size:
        # Only a wholly frozen pretrained body takes small images this large.
        why = f"the weights' own, for a frozen body, with images of {side} px"
    elif side is not None and side < SMALL_IMAGE:
        why = f"images of {side} px, under {SMALL_IMAGE} px, go in small"
    else:
        why = "the backbone's own" + (f", for images of {side} px" if side else "")
    return f", {size} px input ({why})"


def _freezing_reason(estimator):
    """What ``freeze_upto="auto"`` chose for these images, and why."""
    if not is_auto(getattr(estimator, "freeze_upto", None)):
        return ""
    why = getattr(estimator, "_auto_why", None)
    said = "freeze_upto='auto'" + (f": {why}" if why else "")
    if estimator.n_frozen_ == len(estimator.layer_names_):
        return f", a head on the frozen body ({said})"
    return f", the whole network fine-tuned ({said})"


def _epochs_reason(estimator):
    """Why the fit ran its epochs: the recipe's length, cut short when the
    training loss converged."""
    planned = getattr(estimator, "_planned_epochs", None)
    if estimator.max_epochs is not None or planned is None:
        return ""
    why = f"the recipe's {planned} for {estimator.n_samples_fit_} images"
    converged = getattr(estimator, "converged_epoch_", None)
    if converged is not None:
        tail = estimator.max_epochs_ - converged
        why += (
            f"; the training loss converged at epoch {converged}, so the decay "
            f"ended {tail} epochs later"
        )
    return f" ({why})"


def fit_line(estimator, n_images, seconds):
    """One line saying what a fit did: parameters, data, input size, epochs
    (and why: the recipe's length, a converged loss), time, loss."""
    history = estimator.history
    loss = history[-1, "train_loss"] if len(history) else float("nan")
    params = ", ".join(changed_params(estimator)) or "defaults"
    classes = getattr(estimator, "classes_", None)
    targets = (
        f"{len(classes)} classes"
        if classes is not None
        else f"{estimator.n_outputs_} outputs"
    )
    return (
        f"[{type(estimator).__name__}] {params}: {n_images} images, "
        f"{targets}{_input_reason(estimator)}{_freezing_reason(estimator)}, "
        f"{estimator.max_epochs_} epochs in "
        f"{seconds:.1f} s{_epochs_reason(estimator)}, train loss {loss:.4g}"
    )
