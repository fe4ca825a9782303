"""What ``sktransfer study`` will fit and how long that should take: the
fits of a repeat, ``--quick``'s trimming, and the expected end, said after
the first network fit and again, measured, after the first repeat."""

from __future__ import annotations

import math
import time

from ..model_selection._transfer_study import (
    FINE_TUNE,
    LRT,
    SCRATCH,
    SOURCE_FIT,
    trains_network,
)

__all__ = ["QUICK_FREEZE", "QUICK_REPEATS", "StudyClock", "apply_quick", "plan"]

QUICK_REPEATS = 2
QUICK_FREEZE = ["0", "all"]
# The rows of a repeat that train no network's body: a linear SVM on pixels
# and the three feature rows (top, earlier, several units).
CHEAP_ROWS = 4


def plan(args, label_relation):
    """``(networks, rows)`` one repeat fits: the rows that train a network's
    body (:func:`trains_network`: from scratch unless ``--no-scratch``, one
    fine-tuning per ``--freeze`` value but ``all``, and, where it applies,
    label-relation transfer), and all its rows."""
    methods = [FINE_TUNE.format(value) for value in args.freeze]
    methods += [SCRATCH] * (not args.no_scratch) + [LRT] * bool(label_relation)
    networks = sum(map(trains_network, methods))
    return networks, len(methods) + CHEAP_ROWS


def apply_quick(args):
    """Trim the study for ``--quick``; say what was left out."""
    said = []
    if args.repeats > QUICK_REPEATS:
        said.append(f"{QUICK_REPEATS} repeats instead of {args.repeats}")
        args.repeats = QUICK_REPEATS
    kept = [v for v in args.freeze if v in QUICK_FREEZE] or args.freeze[:1]
    if kept != args.freeze:
        said.append(
            f"fine-tuning at freeze_upto {' and '.join(kept)} only (not "
            f"{', '.join(v for v in args.freeze if v not in kept)})"
        )
        args.freeze = kept
    if not args.no_lrt:
        said.append("no label-relation transfer")
        args.no_lrt = True
    if not args.no_scratch:
        said.append("no CNN from scratch")
        args.no_scratch = True
    return "; ".join(said) or "nothing to trim"


class StudyClock:
    """The study's expected end: a first guess from its first network fit,
    then a measurement from its first repeat.

    Feed it every fit as it starts (:meth:`started`, the method's name) and
    as it ends (:meth:`finished`, the study's row); each returns a line to
    print, or None.

    Parameters
    ----------
    n_repeats : int
        Repeats of the study.
    n_networks : int
        Network fits of one repeat.
    first_seed : int
        The seed of the first repeat (later repeats have others).
    """

    def __init__(self, n_repeats, n_networks, first_seed):
        self.n_repeats = n_repeats
        self.n_networks = n_networks
        self.first_seed = first_seed
        self._first_fit_said = False
        self._repeat_said = n_repeats < 2
        self._repeat_start = None
        self._repeat_end = None

    def started(self, method, now=None):
        """A fit starts; the first target fit starts the first repeat."""
        if method != SOURCE_FIT and self._repeat_start is None:
            self._repeat_start = time.perf_counter() if now is None else now

    def finished(self, row, now=None):
        """A fit ended with ``row``: a line once the first network fit or
        the first repeat is over."""
        now = time.perf_counter() if now is None else now
        if row["seed"] == self.first_seed:
            self._repeat_end = now
        elif not self._repeat_said and self._repeat_end is not None:
            self._repeat_said = True
            return _repeat_line(
                self._repeat_end - self._repeat_start, self.n_repeats - 1
            )
        if trains_network(row["method"]) and not self._first_fit_said:
            self._first_fit_said = True
            n_more = self.n_networks * self.n_repeats - 1
            return _first_fit_line(row["fit_time"], n_more)
        return None


def _first_fit_line(seconds, n_more):
    total = seconds * (n_more + 1)
    return (
        f"The first network fit took {seconds:.0f} s: about {n_more} more such "
        f"fit{'s' if n_more != 1 else ''}, so the study should end in about "
        f"{math.ceil(total / 60)} min (feature and SVM rows cost less; --quick "
        "trims it)."
    )


def _repeat_line(seconds, n_more):
    return (
        f"The first repeat took {seconds:.0f} s: {n_more} more "
        f"repeat{'s' if n_more > 1 else ''} should take about "
        f"{math.ceil(seconds * n_more / 60)} min."
    )
