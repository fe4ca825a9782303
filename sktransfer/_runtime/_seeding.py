"""Seeded blocks: repeatable fits under a ``random_state``, thread-safe."""

from __future__ import annotations

import contextlib
import numbers
import threading

import numpy as np
import torch

__all__ = ["seeded"]

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
