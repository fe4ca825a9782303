"""How sure a study is that one method beats another: the corrected
resampled t-test over paired random splits.

Repeated random train/test splits of one dataset share most of their
training images, so the differences they measure are correlated and a
plain t-test over them is over-confident (its type I error reaches several
times the nominal rate). Nadeau and Bengio's correction inflates the
variance of the mean difference from ``1/J`` to ``1/J + n_test/n_train``;
Bouckaert and Frank found it the best calibrated of the simple tests.

References
----------
.. [1] C. Nadeau and Y. Bengio, "Inference for the generalization error",
   Machine Learning 52, 2003.
.. [2] R. R. Bouckaert and E. Frank, "Evaluating the replicability of
   significance tests for comparing learning algorithms", PAKDD 2004.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy import stats

__all__ = [
    "corrected_ttest",
    "paired_comparison",
    "study_comparisons",
    "verdict_sentence",
]

# The most repeats a "how many more would be needed" answer goes up to.
MAX_REPEATS_ADVISED = 100


def _check_sizes(n_train, n_test):
    for name, value in (("n_train", n_train), ("n_test", n_test)):
        if (
            not isinstance(value, numbers.Integral)
            or isinstance(value, bool)
            or value < 1
        ):
            raise ValueError(
                f"`{name}` must be a positive int (images in each split's "
                f"{name.removeprefix('n_')} part); got {value!r}."
            )


def _half_width(sd, n_runs, ratio, confidence):
    """Half the interval of the corrected test for ``n_runs`` differences."""
    quantile = stats.t.ppf(0.5 + confidence / 2, n_runs - 1)
    return float(quantile * math.sqrt(1.0 / n_runs + ratio) * sd)


def corrected_ttest(differences, n_train, n_test, confidence=0.95, resolution=None):
    """Nadeau and Bengio's corrected resampled t-test on paired differences.

    Parameters
    ----------
    differences : array-like of shape (n_runs,)
        The score of one method minus the other's, one per random split (the
        same split for both).
    n_train, n_test : int
        Images in the training and the test part of each split.
    confidence : float, default=0.95
        The confidence of the interval.
    resolution : float or None, default=None
        The smallest step by which one split's difference can move. None
        means ``1 / n_test``: an accuracy on ``n_test`` images moves by one
        image. The spread is taken as at least that of one split one step
        apart from the others (``resolution / sqrt(n_runs)``); 0 turns this
        floor off.

    Returns
    -------
    result : dict
        ``mean`` (the mean difference), ``low`` and ``high`` (its interval),
        ``p_value`` (two-sided, of "no difference"), ``n_runs``,
        ``significant`` (the interval excludes zero) and ``repeats_needed``:
        the repeats at which the same mean and spread would give an interval
        that excludes zero (None when no number up to 100 would: then more
        images, not repeats, are needed; 0 when already significant).

    Notes
    -----
    With ``J`` differences of mean ``d`` and sample variance ``s²``, the
    statistic is ``t = d / sqrt((1/J + n_test/n_train) s²)`` with ``J - 1``
    degrees of freedom. The correction term does not shrink with ``J``:
    past a few repeats, a narrower interval needs more images.

    A spread below the score's resolution is not evidence of a steady gap:
    two splits that both gave five more right answers out of 45 could as
    well have given four and six. So ``s`` is raised to
    ``resolution / sqrt(J)``, the least spread an accuracy can show when
    the splits differ at all. For accuracies this changes only identical
    differences, which would otherwise give ``p = 0`` (a "real difference"
    from two splits); identical zeros still give ``p = 1``.

    Examples
    --------
    >>> from sktransfer.model_selection import corrected_ttest
    >>> # 2, 3 and 1 more right answers out of 30 test images on three splits:
    >>> result = corrected_ttest([2 / 30, 3 / 30, 1 / 30], n_train=70, n_test=30)
    >>> round(result["mean"], 4), round(result["p_value"], 3)
    (0.0667, 0.149)
    """
    _check_sizes(n_train, n_test)
    if resolution is None:
        resolution = 1.0 / n_test
    elif (
        not isinstance(resolution, numbers.Real)
        or isinstance(resolution, bool)
        or not resolution >= 0
        or not math.isfinite(resolution)
    ):
        raise ValueError(
            "`resolution` must be None (1 / n_test, the step of an accuracy) "
            f"or a finite number >= 0; got {resolution!r}."
        )
    if not (isinstance(confidence, numbers.Real) and 0 < confidence < 1):
        raise ValueError(
            f"`confidence` must be a number in (0, 1), e.g. 0.95; got {confidence!r}."
        )
    d = np.asarray(differences, dtype=float).ravel()
    if len(d) < 2 or not np.all(np.isfinite(d)):
        raise ValueError(
            "`differences` must hold at least two finite paired differences "
            f"(one per split); got {d.tolist()}. Run two repeats or more."
        )
    n_runs, ratio = len(d), n_test / n_train
    mean = float(d.mean())
    sd = max(float(d.std(ddof=1)), resolution / math.sqrt(n_runs))
    if sd == 0.0:
        # No spread and no floor: an exact tie is no evidence, a constant
        # gap is all there is.
        p_value = 1.0 if mean == 0.0 else 0.0
        half = 0.0
    else:
        t = mean / (math.sqrt(1.0 / n_runs + ratio) * sd)
        p_value = float(2 * stats.t.sf(abs(t), n_runs - 1))
        half = _half_width(sd, n_runs, ratio, confidence)
    significant = p_value < 1 - confidence
    if significant:
        needed = 0
    else:
        needed = next(
            (
                j
                for j in range(n_runs + 1, MAX_REPEATS_ADVISED + 1)
                if mean != 0.0 and _half_width(sd, j, ratio, confidence) < abs(mean)
            ),
            None,
        )
    return {
        "mean": mean,
        "low": mean - half,
        "high": mean + half,
        "p_value": p_value,
        "n_runs": n_runs,
        "significant": bool(significant),
        "repeats_needed": needed,
    }


def paired_comparison(
    runs,
    method,
    other,
    *,
    n_train,
    n_test,
    value="accuracy",
    by="method",
    pair="seed",
    confidence=0.95,
    resolution=None,
):
    """Compare two methods of a study over the splits both ran on.

    Parameters
    ----------
    runs : list of dict
        A study's per-run rows (``result["runs"]``), each with ``by``,
        ``pair`` and ``value`` keys.
    method, other : str
        The two methods; the difference is ``method`` minus ``other``.
    n_train, n_test : int
        Images in each split's training and test part.
    value : str, default="accuracy"
        The score to compare.
    by : str, default="method"
        The key naming a row's method.
    pair : str, default="seed"
        The key naming a row's split: rows of the same split are paired.
    confidence : float, default=0.95
        The confidence of the interval.
    resolution : float or None, default=None
        The smallest step of one split's difference (None: ``1 / n_test``);
        see :func:`corrected_ttest`.

    Returns
    -------
    result : dict
        :func:`corrected_ttest`'s result, with ``method`` and ``other``.

    Examples
    --------
    >>> from sktransfer.model_selection import paired_comparison
    >>> runs = [{"method": m, "seed": s, "accuracy": a}
    ...         for m, s, a in [("cnn", 0, .9), ("cnn", 1, .92), ("cnn", 2, .91),
    ...                         ("svm", 0, .8), ("svm", 1, .83), ("svm", 2, .8)]]
    >>> result = paired_comparison(runs, "cnn", "svm", n_train=70, n_test=30)
    >>> round(result["mean"], 4), result["significant"]
    (0.1, True)
    """
    scores = {}
    for row in runs:
        if row[by] in (method, other):
            scores.setdefault(row[by], {})[row[pair]] = float(row[value])
    for name in (method, other):
        if name not in scores:
            known = sorted({str(row[by]) for row in runs})
            raise ValueError(f"No runs of method {name!r}; the runs hold {known}.")
    splits = sorted(set(scores[method]) & set(scores[other]))
    differences = [scores[method][s] - scores[other][s] for s in splits]
    result = corrected_ttest(
        differences, n_train, n_test, confidence=confidence, resolution=resolution
    )
    return {"method": method, "other": other, **result}


def verdict_sentence(comparison, unit="accuracy"):
    """One sentence: the difference, its 95% interval and p-value, and what
    it means (with the repeats or images a clear answer would need)."""
    c = comparison
    head = (
        f"'{c['method']}' over '{c['other']}': {c['mean']:+.4f} {unit} "
        f"(95% interval {c['low']:+.4f} to {c['high']:+.4f}, p = "
        f"{c['p_value']:.3g}, corrected resampled t-test over {c['n_runs']} splits)"
    )
    if c["significant"]:
        return head + ": a real difference at this size."
    if c["mean"] == 0.0:
        more = "they scored the same on every split"
    elif c["repeats_needed"] is not None:
        more = (
            f"about {c['repeats_needed']} repeats (--repeats) would separate "
            "them if the gap and spread stay as measured"
        )
    else:
        more = (
            "no number of repeats would separate them; more images would "
            "(or the gap is not real)"
        )
    return head + f": not distinguishable at this size; {more}."


def study_comparisons(runs, summary, baseline, *, n_train, n_test, **keys):
    """Every method of ``summary`` against ``baseline``, and the verdicts.

    Parameters
    ----------
    runs : list of dict
        The study's per-run rows.
    summary : list of dict
        Its summary rows, best first (``method`` keys).
    baseline : str
        The method every other is compared with (the linear SVM on pixels).
    n_train, n_test : int
        Images in each split's training and test part.
    **keys
        Passed on to :func:`paired_comparison` (``by``, ``pair``, ...).

    Returns
    -------
    comparisons : dict
        ``"against_baseline"``: one comparison per other method, in the
        summary's order; ``"verdicts"``: the best method against the
        baseline and against the runner-up (the best against the runner-up
        only, when the baseline is the best). Both are empty when the methods
        ran on fewer than two splits.
    """
    methods = [row["method"] for row in summary]
    if len(methods) < 2 or min(row["n_runs"] for row in summary) < 2:
        return {"against_baseline": [], "verdicts": []}

    def compare(method, other):
        return paired_comparison(
            runs, method, other, n_train=n_train, n_test=n_test, **keys
        )

    against = [compare(m, baseline) for m in methods if m != baseline]
    best, runner_up = methods[0], methods[1]
    verdicts = [compare(best, runner_up)]
    if best != baseline and runner_up != baseline:
        verdicts.insert(0, next(c for c in against if c["method"] == best))
    return {"against_baseline": against, "verdicts": verdicts}
