"""RelationDisplay: the bar chart of p_c(v) (Sawada & Kozuka, Fig. 3)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["RelationDisplay"]


class RelationDisplay:
    """Relation between target classes and source outputs, as grouped bars.

    One group of bars per source output, one bar per target class, the
    height p_c(v) of eq. 3; the output chosen for each class is marked with a
    star. With many source outputs (ImageNet's 1000) only the
    ``max_outputs`` with the strongest relation are drawn.

    Parameters
    ----------
    relation : ndarray of shape (n_classes, n_source_outputs)
        p_c(v) of each target class (rows) and source output (columns).
    target_classes : array-like of shape (n_classes,)
        The names of the rows.
    source_classes : array-like of shape (n_source_outputs,)
        The names of the columns.
    source_outputs : array-like of shape (n_classes,) or None
        Chosen output per class, marked in the plot.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    bars_ : list of BarContainer, one per target class
    markers_ : list of Line2D, the stars on the chosen outputs
    shown_outputs_ : ndarray, indices of the source outputs drawn

    References
    ----------
    .. [1] Y. Sawada and K. Kozuka, "Whole layers transfer learning of deep
       neural networks for a small scale dataset", 2016, Fig. 3.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.inspection import RelationDisplay
    >>> display = RelationDisplay(np.array([[0.7, 0.3], [0.1, 0.9]]),
    ...                           ["lesion", "other"], ["0", "1"], [0, 1]).plot()
    >>> len(display.bars_)
    2
    """

    def __init__(self, relation, target_classes, source_classes, source_outputs=None):
        self.relation = relation
        self.target_classes = target_classes
        self.source_classes = source_classes
        self.source_outputs = source_outputs

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, max_outputs=20):
        """Plot the relation of a fitted :class:`~sktransfer.LabelRelationTransfer`.

        Parameters
        ----------
        estimator : LabelRelationTransfer
            Fitted.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        max_outputs : int, default=20
            Show at most this many source outputs (the strongest).
            Show at most this many source outputs (the strongest).
            Draw at most this many source outputs (the chosen ones always).

        Returns
        -------
        display : RelationDisplay
        """
        check_is_fitted(estimator, "relation_")
        display = cls(
            estimator.relation_,
            estimator.classes_,
            estimator.source_classes_,
            estimator.source_outputs_,
        )
        return display.plot(ax=ax, max_outputs=max_outputs)

    def plot(self, ax=None, *, max_outputs=20):
        """Draw the chart.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        max_outputs : int, default=20
            Show at most this many source outputs (the strongest).

        Returns
        -------
        self : RelationDisplay
        """
        relation = np.asarray(self.relation, dtype=float)
        n_classes, n_outputs = relation.shape
        chosen = (
            np.asarray(self.source_outputs, dtype=int)
            if self.source_outputs is not None
            else np.array([], dtype=int)
        )
        if n_outputs > max_outputs:
            strength = relation.max(axis=0)
            strength[chosen] = np.inf
            shown = np.sort(np.argsort(-strength, kind="stable")[:max_outputs])
        else:
            shown = np.arange(n_outputs)
        if ax is None:
            width = max(6.0, 0.45 * len(shown) * max(1, n_classes / 2))
            _, ax = plt.subplots(figsize=(min(width, 16.0), 4.5))
        group = 0.8
        bar_width = group / n_classes
        positions = np.arange(len(shown))
        self.bars_, self.markers_ = [], []
        colors = plt.get_cmap("tab10")
        for c in range(n_classes):
            offset = (c - (n_classes - 1) / 2) * bar_width
            bars = ax.bar(
                positions + offset,
                relation[c, shown],
                width=bar_width,
                color=colors(c % 10),
                label=f"target {self.target_classes[c]}",
            )
            self.bars_.append(bars)
            if c < len(chosen) and chosen[c] in shown:
                x = positions[np.searchsorted(shown, chosen[c])] + offset
                (marker,) = ax.plot(
                    [x],
                    [relation[c, chosen[c]] + 0.03],
                    marker="*",
                    markersize=12,
                    color=colors(c % 10),
                    markeredgecolor="black",
                    linestyle="none",
                )
                self.markers_.append(marker)
        labels = [str(self.source_classes[k]) for k in shown]
        ax.set_xticks(
            positions,
            labels,
            rotation=45 if len(shown) > 10 else 0,
            ha="right" if len(shown) > 10 else "center",
        )
        ax.set_xlabel("source output v (source label)")
        ax.set_ylabel("p_c(v)")
        ax.set_ylim(0, min(1.1, relation[:, shown].max() + 0.15))
        title = "Relation of target classes to source outputs"
        if len(shown) < n_outputs:
            title += f" (top {len(shown)} of {n_outputs})"
        ax.set_title(title + "; ★ = chosen output")
        ax.legend(loc="upper right")
        ax.figure.tight_layout()
        self.ax_ = ax
        self.figure_ = ax.figure
        self.shown_outputs_ = shown
        return self
