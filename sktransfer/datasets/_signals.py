"""Multivariate time series as images (Brodzicki et al. 3.2)."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["signal_windows"]


def _positive_int(value, name):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"`{name}` must be a positive int; got {value!r}.")
    return int(value)


def signal_windows(signals, window, *, step=None, labels=None, clip=3.0):
    """Cut a multivariate time series into windows, each an image.

    Each window of ``window`` time steps becomes a grayscale image with one
    row per channel (sensor) and one column per time step. Each channel is
    standardised over the window (the "standardized input window" of
    Brodzicki et al.'s synchrotron anomaly detector), clipped to
    ``±clip`` standard deviations and mapped to [0, 1], so any pretrained
    CNN takes it as a picture.

    Parameters
    ----------
    signals : array-like of shape (n_timesteps, n_channels)
        The time series, one column per channel (sensor).
    window : int
        Time steps per window (image width).
    step : int or None, default=None
        Stride between window starts; None is ``window`` (no overlap).
    labels : array-like of shape (n_timesteps,) or None, default=None
        Per-time-step labels (0 normal, > 0 an event). A window takes the
        largest label inside it (any anomaly makes it anomalous).
    clip : float, default=3.0
        Standardised values beyond ``±clip`` are clipped before the mapping
        to [0, 1].

    Returns
    -------
    images : ndarray of shape (n_windows, n_channels, window), float32
    window_labels : ndarray of shape (n_windows,)
        Only when ``labels`` is given.

    References
    ----------
    .. [1] A. Brodzicki et al., "Transfer learning methods as a new approach
       in computer vision tasks with small datasets", FCDS 2020, 3.2.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.datasets import signal_windows
    >>> t = np.arange(100)
    >>> signals = np.stack([np.sin(t / 5), np.cos(t / 7)], axis=1)
    >>> labels = (t == 42).astype(int)
    >>> images, y = signal_windows(signals, 20, labels=labels)
    >>> images.shape, y.tolist()
    ((5, 2, 20), [0, 0, 1, 0, 0])
    """
    signals = np.asarray(signals, dtype=np.float64)
    if signals.ndim == 1:
        signals = signals[:, None]
    if signals.ndim != 2:
        raise ValueError(
            f"`signals` must have shape (n_timesteps, n_channels); got {signals.shape}."
        )
    if not np.isfinite(signals).all():
        raise ValueError("`signals` holds NaN or infinite values; fill them first.")
    window = _positive_int(window, "window")
    step = window if step is None else _positive_int(step, "step")
    if window > len(signals):
        raise ValueError(
            f"`window`={window} is longer than the {len(signals)} time steps."
        )
    if not isinstance(clip, numbers.Real) or clip <= 0:
        raise ValueError(f"`clip` must be a positive number; got {clip!r}.")
    starts = np.arange(0, len(signals) - window + 1, step)
    windows = np.stack([signals[s : s + window].T for s in starts])
    mean = windows.mean(axis=2, keepdims=True)
    std = windows.std(axis=2, keepdims=True)
    z = (windows - mean) / np.where(std > 0, std, 1.0)
    images = ((np.clip(z, -clip, clip) + clip) / (2 * clip)).astype(np.float32)
    if labels is None:
        return images
    labels = np.asarray(labels)
    if labels.shape != (len(signals),):
        raise ValueError(
            f"`labels` must have shape ({len(signals)},), one per time step; got "
            f"{labels.shape}."
        )
    return images, np.array([labels[s : s + window].max() for s in starts])
