"""Study tables as pictures: the transferability curve and a method comparison."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

__all__ = ["LRFinderDisplay", "StudyDisplay", "TransferabilityDisplay"]


def _axes(ax, size):
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax.figure, ax


class TransferabilityDisplay:
    """Accuracy against the number of transferred units, one line per setting.

    The picture of Shanmugam et al. Fig. 3 (and Yosinski et al. Fig. 2):
    ``nAToB_fr``, ``nAToB_ft``, ``nBToB_fr``, ``nBToB_ft`` over ``n``, with a
    band of one standard deviation.

    Parameters
    ----------
    rows : list of dict
        Summary rows with ``mean``, ``sd``, an ``x`` key and a ``group`` key,
        as :func:`~sktransfer.model_selection.transferability_curve` returns.
    x : str, default="n"
        The key of the rows on the horizontal axis.
    group : str, default="experiment"
        The key whose values are the lines.
    xlabel : str, default="units transferred (n)"
        The label of the horizontal axis.

    Attributes
    ----------
    ax_, figure_ : matplotlib Axes and Figure
    lines_ : dict of group -> Line2D
        A group with a single row (``baseB`` at ``n=0``) is drawn as a dashed
        horizontal reference line.

    References
    ----------
    .. [1] G. Shanmugam S, J. Felix and S. Tiwari, "Transfer Learning", Fig. 3.

    Examples
    --------
    >>> from sktransfer.inspection import TransferabilityDisplay
    >>> rows = [{"experiment": "nAToB_ft", "n": n, "mean": 0.9, "sd": 0.01}
    ...         for n in (1, 2)]
    >>> sorted(TransferabilityDisplay(rows).plot().lines_)
    ['nAToB_ft']
    """

    def __init__(self, rows, *, x="n", group="experiment", xlabel=None):
        self.rows = rows
        self.x = x
        self.group = group
        self.xlabel = xlabel

    @classmethod
    def from_study(cls, result, *, ax=None):
        """Plot the ``"summary"`` of ``transferability_curve``'s result.

        Parameters
        ----------
        result : dict
            What :func:`~sktransfer.model_selection.transferability_curve`
            returns.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        display : TransferabilityDisplay
        """
        return cls(result["summary"]).plot(ax=ax)

    def plot(self, *, ax=None, title="Transferability of features"):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        title : str, default="Transferability of features"
            The title of the axes.

        Returns
        -------
        self : TransferabilityDisplay
        """
        self.figure_, self.ax_ = _axes(ax, (6.4, 4.2))
        groups = {}
        for row in self.rows:
            groups.setdefault(row[self.group], []).append(row)
        if not groups:
            raise ValueError("`rows` is empty: nothing to plot.")
        self.lines_ = {}
        for name, members in groups.items():
            members = sorted(members, key=lambda r: r[self.x])
            means = np.array([r["mean"] for r in members])
            if len(members) == 1:
                # A reference (baseB, n=0): a dashed line across the plot.
                self.lines_[name] = self.ax_.axhline(
                    means[0], linestyle="--", color="0.4", label=str(name)
                )
                continue
            xs = [r[self.x] for r in members]
            sds = np.array([r.get("sd", 0.0) for r in members])
            (line,) = self.ax_.plot(xs, means, marker="o", label=str(name))
            self.ax_.fill_between(
                xs, means - sds, means + sds, color=line.get_color(), alpha=0.15
            )
            self.lines_[name] = line

        self.ax_.xaxis.set_major_locator(MaxNLocator(integer=True))
        self.ax_.set_xlabel(self.xlabel or f"units transferred ({self.x})")
        self.ax_.set_ylabel("test accuracy (mean ± SD)")
        self.ax_.set_title(title)
        self.ax_.grid(alpha=0.3)
        self.ax_.legend(loc="best", fontsize=8)
        return self


class StudyDisplay:
    """Mean test accuracy of each method, with its standard deviation.

    Parameters
    ----------
    rows : list of dict
        Summary rows with ``method``, ``mean``, ``sd`` (the ``"summary"`` of
        :func:`~sktransfer.model_selection.transfer_study`).
    baseline : str or None, default="linear SVM on raw pixels"
        A method drawn as a dashed reference line as well.

    Attributes
    ----------
    ax_, figure_ : matplotlib Axes and Figure
    bars_ : BarContainer
    baseline_line_ : Line2D or None

    Examples
    --------
    >>> from sktransfer.inspection import StudyDisplay
    >>> rows = [{"method": "a", "mean": 0.8, "sd": 0.02},
    ...         {"method": "b", "mean": 0.9, "sd": 0.01}]
    >>> len(StudyDisplay(rows, baseline="a").plot().bars_)
    2
    """

    def __init__(self, rows, *, baseline="linear SVM on raw pixels"):
        self.rows = rows
        self.baseline = baseline

    def plot(self, *, ax=None, title="Transfer study: test accuracy"):
        """Draw horizontal bars, best at the top.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.
        title : str, default="Transfer study: test accuracy"
            The title of the axes.

        Returns
        -------
        self : StudyDisplay
        """
        if not self.rows:
            raise ValueError("`rows` is empty: nothing to plot.")
        rows = sorted(self.rows, key=lambda r: r["mean"])
        self.figure_, self.ax_ = _axes(ax, (7.5, 0.45 * len(rows) + 1.6))
        names = [r["method"] for r in rows]
        means = [r["mean"] for r in rows]
        self.bars_ = self.ax_.barh(
            names,
            means,
            xerr=[r.get("sd", 0.0) for r in rows],
            color="tab:blue",
            alpha=0.8,
            capsize=3,
        )
        for y, row in enumerate(rows):
            self.ax_.text(
                row["mean"] + row.get("sd", 0.0) + 0.003,
                y,
                f"{row['mean']:.3f}",
                va="center",
                fontsize=8,
            )
        self.baseline_line_ = None
        reference = next((r for r in rows if r["method"] == self.baseline), None)
        if reference is not None:
            self.baseline_line_ = self.ax_.axvline(
                reference["mean"], color="tab:red", linestyle="--", label=self.baseline
            )
            self.ax_.legend(loc="lower right", fontsize=8)
        low = min(m - r.get("sd", 0.0) for m, r in zip(means, rows, strict=True))
        self.ax_.set_xlim(max(0.0, low - 0.05), 1.06)
        self.ax_.set_xlabel("test accuracy (mean ± SD over runs)")
        self.ax_.set_title(title)
        self.figure_.tight_layout()
        return self


class LRFinderDisplay:
    """The loss against the learning rate, from :func:`sktransfer.lr_find`.

    A log-scaled learning-rate axis, the smoothed loss, and the suggested
    learning rate marked by a dashed vertical line (fastai's ``lr_find``
    plot).

    Parameters
    ----------
    lrs, losses : array-like
        As in :class:`sktransfer.LRFindResult`.
    suggestion : float or None, default=None
        A learning rate to mark on the curve.

    Attributes
    ----------
    ax_, figure_ : matplotlib Axes and Figure
    line_ : Line2D
        The loss curve.

    References
    ----------
    .. [1] L. N. Smith, "Cyclical learning rates for training neural
       networks", WACV 2017.

    Examples
    --------
    >>> from sktransfer.inspection import LRFinderDisplay
    >>> display = LRFinderDisplay([1e-4, 1e-3, 1e-2], [2.3, 1.9, 4.0], 1e-4)
    >>> display.plot().ax_.get_xscale()
    'log'
    """

    def __init__(self, lrs, losses, suggestion=None):
        self.lrs = np.asarray(lrs)
        self.losses = np.asarray(losses)
        self.suggestion = suggestion

    @classmethod
    def from_result(cls, result, *, ax=None):
        """Draw an :class:`~sktransfer.LRFindResult`.

        Parameters
        ----------
        result : LRFindResult
            What :func:`~sktransfer.lr_find` returns.
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        Returns
        -------
        display : LRFinderDisplay
        """
        return cls(result.lrs, result.losses, result.suggestion).plot(ax=ax)

    def plot(self, *, ax=None):
        self.figure_, self.ax_ = _axes(ax, (5, 3.5))
        (self.line_,) = self.ax_.plot(self.lrs, self.losses, color="C0")
        self.ax_.set_xscale("log")
        self.ax_.set_xlabel("learning rate (head)")
        self.ax_.set_ylabel("training loss (smoothed)")
        if self.suggestion is not None:
            self.ax_.axvline(
                self.suggestion,
                color="C3",
                linestyle="--",
                label=f"suggestion {self.suggestion:.1e}",
            )
            self.ax_.legend(loc="best")
        self.ax_.set_title("Learning-rate range test")
        return self
