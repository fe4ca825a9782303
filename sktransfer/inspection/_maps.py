"""First-layer filters and feature maps (Shanmugam Fig. 1, Brodzicki Fig. 10)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from torch import nn

from ._common import (
    evaluating,
    fitted_network,
    grid,
    one_image,
    show_image,
    unit_index,
    unit_maps,
)

__all__ = ["FeatureMapDisplay", "FilterDisplay"]


def _tiles(ax, tiles, columns, title, cmap):
    """Draw ``tiles`` (list of 2-D or HxWx3 arrays) as a grid inside ``ax``."""
    rows, columns = grid(len(tiles), columns)
    ax.set_axis_off()
    ax.set_title(title)
    images = []
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        inner = ax.inset_axes(
            [column / columns, 1 - (row + 1) / rows, 0.95 / columns, 0.95 / rows]
        )
        images.append(inner.imshow(tile, cmap=cmap, interpolation="nearest"))
        inner.set_xticks([])
        inner.set_yticks([])
    return images


def _figure_axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    return ax.figure, ax


class FilterDisplay:
    """The kernels of the network's first convolution, one tile each.

    Colour kernels (3 input channels) are shown as RGB pictures, others as
    grey maps of their channel mean; each is scaled to its own range. Generic
    first-layer filters (edges, colour blobs) are why early layers transfer
    (Shanmugam et al., Fig. 1).

    Parameters
    ----------
    weights : ndarray of shape (n_filters, in_channels, kh, kw)
        The kernels.
    layer_name : str, default="first convolution"
        What the title calls them.

    Attributes
    ----------
    ax_, figure_ : matplotlib Axes and Figure
    images_ : list of AxesImage, one per filter drawn

    References
    ----------
    .. [1] G. Shanmugam S, J. Felix and S. Tiwari, "Transfer Learning", Fig. 1.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.inspection import FilterDisplay
    >>> display = FilterDisplay(np.random.rand(8, 3, 3, 3)).plot()
    >>> len(display.images_)
    8
    """

    def __init__(self, weights, layer_name="first convolution"):
        self.weights = weights
        self.layer_name = layer_name

    @classmethod
    def from_estimator(cls, estimator, *, max_filters=64, ax=None):
        """Plot the first convolution's kernels of a fitted estimator.

        Parameters
        ----------
        estimator : fitted estimator of this library
            A PretrainedCNNClassifier, LabelRelationTransfer or
            CNNFeatureExtractor.
        max_filters : int, default=64
            Show at most this many kernels.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        display : FilterDisplay
        """
        network = fitted_network(estimator)
        name, conv = next(
            ((n, m) for n, m in network.named_modules() if isinstance(m, nn.Conv2d)),
            (None, None),
        )
        if conv is None:
            raise ValueError(
                "The estimator's network has no nn.Conv2d layer to show (an MLP?)."
            )
        weights = conv.weight.detach().float().cpu().numpy()[:max_filters]
        unit = name.removeprefix("units.").split(".")[0]
        return cls(weights, layer_name=f"unit {unit}").plot(ax=ax)

    def plot(self, *, ax=None, columns=None):
        """Draw the filters.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        columns : int or None, default=None
            Tiles per row; None: a square grid.

        Returns
        -------
        self : FilterDisplay
        """
        weights = np.asarray(self.weights, dtype=float)
        if weights.ndim != 4:
            raise ValueError(
                "`weights` must have shape (n_filters, in_channels, kh, kw); got "
                f"{weights.shape}."
            )
        tiles = []
        for kernel in weights:
            tile = kernel.transpose(1, 2, 0) if kernel.shape[0] == 3 else kernel.mean(0)
            low, high = tile.min(), tile.max()
            tiles.append((tile - low) / (high - low) if high > low else tile * 0)
        self.figure_, self.ax_ = _figure_axes(ax)
        title = (
            f"{len(tiles)} filters of {self.layer_name} "
            f"({weights.shape[2]}x{weights.shape[3]})"
        )
        self.images_ = _tiles(self.ax_, tiles, columns, title, "gray")
        return self


class FeatureMapDisplay:
    """The feature maps a unit produces for one image.

    Parameters
    ----------
    maps : ndarray of shape (n_channels, h, w)
        The feature maps.
    layer_name : str
        The unit they come from.
    image : ndarray or None
        Drawn as the first tile, for reference.

    Attributes
    ----------
    ax_, figure_ : matplotlib Axes and Figure
    images_ : list of AxesImage (the input first when given)

    References
    ----------
    .. [1] A. Brodzicki et al., "Transfer learning methods as a new approach
       in computer vision tasks with small datasets", FCDS 2020, Fig. 10.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.inspection import FeatureMapDisplay
    >>> display = FeatureMapDisplay(np.random.rand(4, 5, 5), "conv1").plot()
    >>> len(display.images_)
    4
    """

    def __init__(self, maps, layer_name, image=None):
        self.maps = maps
        self.layer_name = layer_name
        self.image = image

    @classmethod
    def from_estimator(cls, estimator, image, *, layer=0, max_maps=16, ax=None):
        """Plot the maps of unit ``layer`` (name or index) for ``image``.

        Parameters
        ----------
        estimator : fitted estimator of this library
            A PretrainedCNNClassifier, LabelRelationTransfer or
            CNNFeatureExtractor.
        image : array-like
            One image the estimator takes (not a batch).
        layer : str or int, default=0
            A unit of ``estimator.layer_names_``.
        max_maps : int, default=16
            Show at most this many maps.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        display : FeatureMapDisplay
        """
        network = fitted_network(estimator)
        index = unit_index(network, layer)
        x = one_image(estimator, image)
        with evaluating(network):
            output = unit_maps(estimator, network, x, stop=index + 1, last=True)[0]
        if output.ndim != 4:
            raise ValueError(
                f"`layer` {list(network.units)[index]!r} outputs vectors "
                f"(shape {tuple(output.shape)}), not feature maps; pick a "
                "convolutional unit."
            )
        maps = output[0, :max_maps].float().numpy()
        return cls(maps, list(network.units)[index], image=show_image(x)).plot(ax=ax)

    def plot(self, *, ax=None, columns=None):
        """Draw the maps.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        columns : int or None, default=None
            Tiles per row; None: a square grid.

        Returns
        -------
        self : FeatureMapDisplay
        """
        maps = np.asarray(self.maps, dtype=float)
        if maps.ndim != 3:
            raise ValueError(f"`maps` must have shape (n, h, w); got {maps.shape}.")
        tiles = ([] if self.image is None else [self.image]) + list(maps)
        self.figure_, self.ax_ = _figure_axes(ax)
        title = f"input and {len(maps)} feature maps of {self.layer_name}"
        if self.image is None:
            title = f"{len(maps)} feature maps of {self.layer_name}"
        self.images_ = _tiles(self.ax_, tiles, columns, title, "viridis")
        if self.image is not None and np.ndim(self.image) == 2:
            self.images_[0].set_cmap("gray")
        return self
