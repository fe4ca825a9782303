"""Batched augmentation on the device, applied during training only.

Each policy takes a float batch ``(n, C, H, W)`` in [0, 1] and returns one of
the same shape, drawing one random transform per image from torch's global
generator (seeded by the estimator's ``random_state``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["AUGMENT_POLICIES", "TTA_MODES", "resolve_augment", "resolve_tta"]


def flip(images):
    """Mirror each image left-right with probability 1/2."""
    mask = torch.rand(len(images), device=images.device) < 0.5
    return torch.where(mask[:, None, None, None], images.flip(-1), images)


def rot90(images):
    """Rotate each image by 0, 90, 180 or 270 degrees (Trivedi's policy).

    Non-square images only get 0 or 180 degrees, so the batch keeps its shape.
    """
    square = images.shape[-1] == images.shape[-2]
    turns = torch.randint(0, 4 if square else 2, (len(images),), device=images.device)
    if not square:
        turns = turns * 2
    out = images
    for k in (1, 2, 3) if square else (2,):
        mask = (turns == k)[:, None, None, None]
        out = torch.where(mask, torch.rot90(images, k, dims=(-2, -1)), out)
    return out


def standard(images):
    """Flip, then shift by up to 10% and zoom by 0.9-1.1, per image."""
    images = flip(images)
    n = len(images)
    scale = torch.empty(n, device=images.device).uniform_(0.9, 1.1)
    shift = torch.empty(n, 2, device=images.device).uniform_(-0.1, 0.1)
    theta = torch.zeros(n, 2, 3, device=images.device, dtype=images.dtype)
    theta[:, 0, 0] = 1 / scale
    theta[:, 1, 1] = 1 / scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, padding_mode="reflection", align_corners=False)


AUGMENT_POLICIES = {"flip": flip, "rot90": rot90, "standard": standard}


def resolve_augment(augment):
    """``augment`` parameter -> batched callable or None."""
    if augment is None or callable(augment):
        return augment
    if isinstance(augment, str) and augment in AUGMENT_POLICIES:
        return AUGMENT_POLICIES[augment]
    raise ValueError(
        f"`augment` must be None, one of {sorted(AUGMENT_POLICIES)} or a callable "
        f"on batched tensors; got {augment!r}."
    )


def _identity(images):
    return images


def _mirror(images):
    return images.flip(-1)


def _turn(k):
    def turn(images):
        return torch.rot90(images, k, dims=(-2, -1))

    turn.__name__ = f"rot{90 * k}"
    return turn


def _mirror_turn(k):
    def mirror_turn(images):
        return torch.rot90(images.flip(-1), k, dims=(-2, -1))

    mirror_turn.__name__ = f"flip_rot{90 * k}"
    return mirror_turn


# The deterministic variants each test-time augmentation averages over.
TTA_MODES = {
    "flip": (_identity, _mirror),
    "rot90": (_identity, _turn(1), _turn(2), _turn(3)),
    "flip_rot90": (
        _identity,
        _turn(1),
        _turn(2),
        _turn(3),
        *(_mirror_turn(k) for k in range(4)),
    ),
}
# tta=True: the variants of the training augmentation ("standard" flips).
_TTA_OF_AUGMENT = {"flip": "flip", "rot90": "rot90", "standard": "flip"}


def resolve_tta(tta, augment):
    """``tta`` parameter -> the variants to average over, or None.

    ``True`` takes the deterministic variants of ``augment``: mirrored for
    ``"flip"`` and ``"standard"``, the four rotations for ``"rot90"``.
    """
    if tta is None or tta is False:
        return None
    if tta is True:
        if not isinstance(augment, str) or augment not in _TTA_OF_AUGMENT:
            raise ValueError(
                "`tta`=True averages over the variants of `augment`, but "
                f"augment={augment!r} has none; pass tta='flip', 'rot90' or "
                "'flip_rot90', or augment='flip', 'rot90' or 'standard'."
            )
        return TTA_MODES[_TTA_OF_AUGMENT[augment]]
    if isinstance(tta, str) and tta in TTA_MODES:
        return TTA_MODES[tta]
    raise ValueError(
        f"`tta` must be None, False, True or one of {sorted(TTA_MODES)}; got {tta!r}."
    )
