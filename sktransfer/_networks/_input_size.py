"""The side images go into a backbone at when ``input_size=None``: the
backbone's own, but 64 px for small images (under 96 px a side) where units
train; a wholly frozen pretrained body takes them at its own side
(:func:`sktransfer._estimators._freezing.input_side`)."""

from __future__ import annotations

__all__ = ["SMALL_IMAGE", "SMALL_INPUT_SIZE", "default_input_size"]

# Images under SMALL_IMAGE pixels a side go into an ImageNet network at
# SMALL_INPUT_SIZE, not at its own 224 (see default_input_size).
SMALL_IMAGE = 96
SMALL_INPUT_SIZE = 64


def default_input_size(image_side, backbone_size, min_size=32):
    """The input side for ``input_size=None``: the backbone's own size, but
    ``SMALL_INPUT_SIZE`` (64 px, at least ``min_size``) for small images.

    Images under ``SMALL_IMAGE`` (96) pixels a side (8x8 digits, 28x28
    Fashion-MNIST, CT patches) gain nothing from being blown up to 224 px
    when the network fine-tunes, which costs 12 times the compute of 64 px
    and measured no better (the recipe guide); BiT-HyperRule resizes such
    images to 128-160 px. A backbone whose own size is already smaller keeps
    it. A frozen body, which cannot adapt to the smaller scale, is given its
    own side after the freezing is decided.

    Parameters
    ----------
    image_side : int or None
        The smaller side of the training images; None keeps the backbone's.
    backbone_size : int
        The backbone's own input side.
    min_size : int, default=32
        The smallest side the backbone runs on.

    Returns
    -------
    input_size : int

    Examples
    --------
    >>> default_input_size(8, 224), default_input_size(28, 299, min_size=75)
    (64, 75)
    >>> default_input_size(128, 224), default_input_size(8, 28)
    (224, 28)
    """
    if image_side is None or image_side >= SMALL_IMAGE:
        return backbone_size
    return min(backbone_size, max(SMALL_INPUT_SIZE, min_size))
