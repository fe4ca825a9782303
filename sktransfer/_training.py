"""Training helpers shared by the estimators: device, precision, seeding,
freeze schedule."""

from __future__ import annotations

import contextlib
import numbers
import threading

import numpy as np
import torch
from skorch.callbacks import Callback

__all__ = [
    "FreezeSchedule",
    "resolve_device",
    "resolve_unit_count",
    "seeded",
    "unit_position",
]


def resolve_device(device):
    """``"auto"`` -> ``"cuda"`` when a GPU is present, else ``"cpu"``.

    ``None`` (device placement left to Hugging Face Accelerate) keeps data on
    the CPU: ``"cpu"``.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device is None:
        return "cpu"
    return device


# Seeded blocks of different threads must not interleave: each forks and
# restores torch's global generator, so two at once would draw from each
# other's streams and leave the caller's generator in the wrong state.
_GLOBAL_GENERATOR = threading.RLock()


@contextlib.contextmanager
def seeded(random_state):
    """Run the block under torch's global generator seeded from ``random_state``.

    The caller's generator state is restored afterwards. ``None`` leaves the
    generator alone. Initialisation, dropout, shuffling and augmentation all
    draw from torch's global generator (dropout has no other), so seeded
    blocks hold a process-wide lock: under a threading joblib backend,
    seeded fits run one at a time and each stays repeatable; fits with
    ``random_state=None`` run concurrently.
    """
    if random_state is None:
        yield
        return
    if isinstance(random_state, numbers.Integral):
        seed = int(random_state)
    else:
        seed = int(random_state.randint(np.iinfo(np.int32).max))
    devices = (
        list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    )
    with _GLOBAL_GENERATOR, torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def unit_position(value, unit_names, parameter):
    """The index of the unit named or numbered by ``value``: a name of
    ``unit_names`` or an index (negative counts from the end), as
    ``CNNFeatureExtractor(layer=...)`` and the inspection functions take it.
    The one unit resolver of the package (``freeze_upto`` counts units, see
    :func:`resolve_unit_count`)."""
    n_units = len(unit_names)
    if isinstance(value, str):
        if value not in unit_names:
            raise ValueError(
                f"`{parameter}`={value!r} is not a unit of this backbone; "
                f"expected one of {unit_names} or an index below {n_units}."
            )
        return unit_names.index(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if -n_units <= value < n_units:
            return int(value) % n_units
        raise ValueError(
            f"`{parameter}`={value} is out of range for the {n_units} units "
            f"{unit_names}; expected an index in [{-n_units}, {n_units - 1}] or "
            "a unit name."
        )
    raise TypeError(
        f"`{parameter}` must be a unit name of {unit_names} or an int index; "
        f"got {value!r}."
    )


def resolve_unit_count(value, unit_names, parameter, *, allow_all=True):
    """Turn ``freeze_upto`` / ``transfer_upto`` into a number of units.

    ``value`` is an int, a unit name (that unit and all before it),
    ``"half"`` (half of the units, at least one) or, where ``allow_all``,
    ``"all"``.
    """
    n_units = len(unit_names)
    if allow_all and isinstance(value, str) and value == "all":
        return n_units
    if isinstance(value, str) and value == "half" and value not in unit_names:
        # The study's and the command line's word: half of the units, at least 1.
        return max(n_units // 2, 1)
    if isinstance(value, str):
        if value not in unit_names:
            words = "'all', 'half'" if allow_all else "'half'"
            raise ValueError(
                f"`{parameter}`={value!r} is not a unit of this backbone; expected "
                f"an int in [0, {n_units}], {words} or one of {unit_names}."
            )
        return unit_position(value, unit_names, parameter) + 1
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(
            f"`{parameter}` must be an int, a unit name or 'all'; got {value!r}."
        )
    if not 0 <= value <= n_units:
        raise ValueError(
            f"`{parameter}`={value} is out of range: this backbone has {n_units} "
            f"transferable units before its head ({unit_names}); expected an int in "
            f"[0, {n_units}], 'all' or a unit name."
        )
    return int(value)


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
