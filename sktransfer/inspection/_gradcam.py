"""Grad-CAM class heatmaps (Selvaraju et al.; Brodzicki et al. Fig. 11)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from .._inputs import check_fitted_images, encode_labels
from .._runtime import iter_batches
from ._common import (
    evaluating,
    grid,
    inference_settings,
    last_spatial_unit,
    show_image,
    unit_index,
    unit_maps,
)

__all__ = ["GradCAMDisplay", "grad_cam"]


def _classifier_network(estimator):
    network = getattr(estimator, "module_", None)
    if (
        network is None
        or not hasattr(network, "head")
        or not (hasattr(estimator, "classes_") or hasattr(estimator, "n_outputs_"))
    ):
        raise ValueError(
            "`estimator` must be a fitted PretrainedCNNClassifier, "
            "LabelRelationTransfer or PretrainedCNNRegressor; got "
            f"{type(estimator).__name__}."
        )
    return network


def _outputs(estimator):
    """What the network's outputs stand for: the classes, or the targets'
    indices of a regressor."""
    if hasattr(estimator, "classes_"):
        return np.asarray(estimator.classes_)
    return np.arange(estimator.n_outputs_)


# The default layer's maps are at least this many pixels a side.
MIN_MAP_SIDE = 4


def grad_cam(estimator, X, *, target=None, layer=None):
    """Grad-CAM heatmaps of a fitted classifier or regressor, at the images'
    resolution.

    The gradient of the class score (a regressor's output) with respect to a
    unit's feature maps, averaged over space, weighs those maps; the ReLU of
    the weighted sum is upsampled to the image and scaled to [0, 1]
    (Selvaraju et al., 2017): where the image raises that score.

    Parameters
    ----------
    estimator : fitted classifier or regressor of this library
        A PretrainedCNNClassifier, LabelRelationTransfer or
        PretrainedCNNRegressor.
    X : array-like or tensor
        Images the estimator's ``predict`` takes.
    target : None, label or array-like of labels, default=None
        The class to explain per image; None takes the predicted class. For a
        regressor, the index of the target to explain; None takes the first.
    layer : str, int or None, default=None
        The unit whose maps are weighed; None takes the last unit whose maps
        are at least ``MIN_MAP_SIDE`` (4) pixels a side at the network's
        input size: coarser maps (EfficientNet-Lite0's last unit is 2x2 at
        64 px) upsample to a flat tint that explains nothing.

    Returns
    -------
    heatmaps : ndarray of shape (n, H, W), float32 in [0, 1]
    explained : ndarray of shape (n,)
        The class label (a regressor's target index) each heatmap explains.

    References
    ----------
    .. [1] R. R. Selvaraju et al., "Grad-CAM: Visual explanations from deep
       networks via gradient-based localization", ICCV 2017.
    .. [2] A. Brodzicki et al., FCDS 2020, Fig. 11.
    """
    network = _classifier_network(estimator)
    return _grad_cam(estimator, network, _images(estimator, X), target, layer)


def _images(estimator, X):
    # What predict accepts: other sizes too where the network resizes.
    return check_fitted_images(estimator, X)


def _grad_cam(estimator, network, images, target, layer):
    """:func:`grad_cam` on validated ``images``, on the network's own device
    (the estimator is left as it was found)."""
    with evaluating(network) as device:
        return _grad_cam_on(estimator, network, images, target, layer, device)


def _grad_cam_on(estimator, network, images, target, layer, device):
    index = (
        last_spatial_unit(estimator, network, images[:1], min_side=MIN_MAP_SIDE)
        if layer is None
        else None
    )
    if index is None:
        index = unit_index(network, layer)
    classes = _outputs(estimator)
    extras = ()
    if target is None and not hasattr(estimator, "classes_"):
        target = 0  # a regressor's outputs have no arg-max to explain
    if target is not None:
        labels = np.broadcast_to(np.asarray(target), (len(images),))
        # classes_ is in the user's order (``classes=``), not sorted.
        extras = (torch.as_tensor(encode_labels(labels, classes, name="target")),)
    settings = inference_settings(estimator, network)

    def explain(batch, *wanted):
        # The unit's maps without gradients, the rest of the network with.
        maps = unit_maps(
            estimator, network, batch, stop=index + 1, to=device, last=True
        )[0]
        if maps.ndim != 4:
            raise ValueError(
                f"`layer` {list(network.units)[index]!r} outputs vectors, not "
                "feature maps; pick a convolutional unit."
            )
        maps.requires_grad_(True)
        if index + 1 < len(network.units):
            scores = network.forward_suffix(maps, index + 1)
        else:  # maps of the last unit: still spatial, so pooling comes after it
            scores = network.forward_head(network.pool(maps))
        columns = wanted[0] if wanted else scores.argmax(dim=1)
        chosen = scores.gather(1, columns[:, None]).sum()
        (gradients,) = torch.autograd.grad(chosen, maps)
        weights = gradients.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * maps).sum(dim=1, keepdim=True)).detach().float()
        cam = F.interpolate(
            cam, size=tuple(batch.shape[-2:]), mode="bilinear", align_corners=False
        )[:, 0]
        peak = cam.flatten(1).amax(dim=1).clamp_min(1e-12)[:, None, None]
        return (cam / peak).cpu(), columns.cpu()

    heatmaps, explained = [], []
    for _, _, (heat, columns) in iter_batches(
        explain, images, grad=True, extras=extras, **settings
    ):
        heatmaps.append(heat.numpy())
        explained.append(classes[columns.numpy()])
    return np.concatenate(heatmaps), np.concatenate(explained)


class GradCAMDisplay:
    """Images with their Grad-CAM heatmap laid over them.

    Parameters
    ----------
    images : list of arrays
        The images, 2-D or H x W x 3, in [0, 1].
    heatmaps : ndarray of shape (n, H, W)
        One heatmap in [0, 1] per image.
    titles : list of str or None
        One title per image.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
    figure_ : matplotlib Figure
    overlays_ : list of AxesImage, the heatmaps

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.inspection import GradCAMDisplay
    >>> display = GradCAMDisplay([np.zeros((4, 4))], np.ones((1, 4, 4))).plot()
    >>> len(display.overlays_)
    1
    """

    def __init__(self, images, heatmaps, titles=None):
        self.images = images
        self.heatmaps = heatmaps
        self.titles = titles

    @classmethod
    def from_estimator(cls, estimator, X, *, y=None, target=None, layer=None, ax=None):
        """Explain each image of ``X`` (a few) by a heatmap of its class.

        Parameters
        ----------
        estimator : fitted classifier or regressor of this library
            A PretrainedCNNClassifier, LabelRelationTransfer or
            PretrainedCNNRegressor.
        X : array-like or tensor
            A few images the estimator's ``predict`` takes.
        y : array-like or None, default=None
            Their true labels, put in each title next to the explained
            (predicted or ``target``) class.
        target : None, label or array-like of labels, default=None
            As in :func:`grad_cam`.
        layer : str, int or None, default=None
            As in :func:`grad_cam`.
        ax : array of matplotlib Axes or None, default=None
            One Axes per image; a new figure when None.

        Returns
        -------
        display : GradCAMDisplay
        """
        network = _classifier_network(estimator)
        images = _images(estimator, X)
        heatmaps, explained = _grad_cam(estimator, network, images, target, layer)
        pictures = [show_image(images[i : i + 1]) for i in range(len(images))]
        kind = "class" if hasattr(estimator, "classes_") else "target"
        titles = [f"{kind} {label}" for label in explained]
        if y is not None:
            titles = [f"{t} (true {true})" for t, true in zip(titles, y, strict=True)]
        return cls(pictures, heatmaps, titles).plot(ax=ax)

    def plot(self, *, ax=None, alpha=0.6, cmap="jet"):
        """Draw each image with its heatmap over it.

        The heatmap's opacity follows its value, up to ``alpha`` where the
        evidence peaks, so the image stays visible where there is none.

        Parameters
        ----------
        ax : array of matplotlib Axes or None, default=None
            One Axes per image; a new figure when None.
        alpha : float, default=0.6
            The heatmap's opacity where it peaks.
        cmap : str, default="jet"
            The colour map of the heatmaps.

        Returns
        -------
        self : GradCAMDisplay
        """
        n = len(self.images)
        if ax is None:
            rows, columns = grid(n, min(n, 4))
            figure, ax = plt.subplots(
                rows, columns, figsize=(2.6 * columns, 2.8 * rows), squeeze=False
            )
            for extra in ax.ravel()[n:]:
                extra.set_axis_off()
        axes = np.atleast_1d(ax).ravel()[:n]
        if len(axes) < n:
            raise ValueError(f"`ax` has {len(axes)} Axes for {n} images.")
        self.overlays_ = []
        for i, axis in enumerate(axes):
            image = self.images[i]
            axis.imshow(
                image,
                cmap="gray" if np.ndim(image) == 2 else None,
                interpolation="bilinear",
            )
            heat = np.clip(np.asarray(self.heatmaps[i], dtype=float), 0, 1)
            colours = plt.get_cmap(cmap)(heat)
            colours[..., 3] = alpha * heat
            self.overlays_.append(axis.imshow(colours, interpolation="bilinear"))
            axis.set_axis_off()
            if self.titles is not None:
                axis.set_title(self.titles[i], fontsize=9)
        self.axes_, self.figure_ = axes, axes[0].figure
        self.figure_.suptitle("Grad-CAM: where the class evidence lies")
        return self
