"""The experiments of Sawada & Kozuka (Tables II, IV and V) as one function."""

from __future__ import annotations

import time

import numpy as np
from sklearn.frozen import FrozenEstimator

from .._estimators import LabelRelationTransfer, PretrainedCNNClassifier
from ..baselines import linear_svm_on_pixels
from ._tables import summarise
from ._verdict import paired_comparison

__all__ = ["label_relation_study"]


def _split_target(y, n_train_per_class, rng):
    train = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        if len(members) <= n_train_per_class:
            raise ValueError(
                f"`n_train_per_class`={n_train_per_class} leaves no test image for "
                f"target class {label!r} ({len(members)} images)."
            )
        train.extend(rng.choice(members, n_train_per_class, replace=False))
    train = np.sort(np.array(train))
    test = np.setdiff1d(np.arange(len(y)), train)
    return train, test


def label_relation_study(
    X_source,
    y_source,
    X_target,
    y_target,
    *,
    backbone="mlp",
    n_train_per_class=50,
    n_repeats=5,
    source_params=None,
    target_params=None,
    random_state=0,
    callback=None,
):
    """Sawada & Kozuka's comparison on any source/target pair, repeated.

    For each repeat (seed ``random_state + r``): train the source network
    from scratch on the source data; draw ``n_train_per_class`` target
    training images per class (the rest is the test set); fit and score

    * Table II: whole-layer transfer with the relation-chosen outputs vs
      randomly chosen ones;
    * Table IV: T = 0 (no transfer), 1, ..., all units but the output layer
      transferred with a new output layer, and T = all (whole-layer LRT);
    * Table V: a linear SVM on raw pixels, the network from scratch, partial
      transfer with a new hidden layer and output (Oquab et al.), whole-layer
      LRT.

    Parameters
    ----------
    X_source, y_source : array-like
        Images and labels of the source task.
    X_target, y_target : array-like
        Images and labels of the target task.
    backbone : str, default="mlp"
        The source network, trained with ``weights=None``.
    n_train_per_class : int, default=50
        Target training images per class.
    n_repeats : int, default=5
        Repeats, each with its own seed (``random_state + r``).
    source_params, target_params : dict, default=None
        Extra parameters for the source fit and for every target model (e.g.
        ``max_epochs``, ``lr``, ``input_size``).
    random_state : int, default=0
        The seed of the first repeat.
    callback : callable, default=None
        Called as ``callback(run_row)`` after each model, for progress.

    Returns
    -------
    result : dict
        ``"II"``, ``"IV"``, ``"V"``: rows ``{table, method, mean, sd, n_runs,
        fit_time}``; ``"runs"``: every single score; ``"comparisons"``:
        whole-layer LRT against the random outputs (Table II) and against
        each other method of Table V, each a mean difference with its 95%
        interval and p-value from the corrected resampled t-test
        (:func:`~sktransfer.model_selection.corrected_ttest`; empty with one
        repeat).

    References
    ----------
    .. [1] Y. Sawada and K. Kozuka, "Whole layers transfer learning of deep
       neural networks for a small scale dataset", 2016, Tables II, IV, V.
    """
    y_target = np.asarray(y_target)
    X_target = np.asarray(X_target)
    source_params = dict(source_params or {})
    target_params = dict(target_params or {})
    runs = []

    def score(tables, method, model, X_train, y_train, X_test, y_test, seed):
        start = time.perf_counter()
        model.fit(X_train, y_train)
        elapsed = time.perf_counter() - start
        accuracy = float(np.mean(model.predict(X_test) == y_test))
        for table in tables:
            row = {
                "table": table,
                "method": method,
                "seed": seed,
                "accuracy": accuracy,
                "fit_time": elapsed,
            }
            runs.append(row)
        if callback is not None:
            callback(runs[-1])

    for repeat in range(n_repeats):
        seed = random_state + repeat
        rng = np.random.default_rng(seed)
        source = PretrainedCNNClassifier(
            backbone, weights=None, random_state=seed, **source_params
        ).fit(X_source, y_source)
        frozen = FrozenEstimator(source)
        n_outputs = len(source.classes_)
        units = source.layer_names_
        train, test = _split_target(y_target, n_train_per_class, rng)
        data = (X_target[train], y_target[train], X_target[test], y_target[test], seed)
        common = {"random_state": seed, **target_params}

        score(
            ("II", "IV", "V"),
            "whole-layer transfer (relation-chosen outputs)",
            LabelRelationTransfer(frozen, **common),
            *data,
        )
        random_outputs = rng.choice(n_outputs, len(np.unique(y_target)), replace=False)
        score(
            ("II",),
            "whole-layer transfer (random outputs)",
            LabelRelationTransfer(frozen, assignment=random_outputs, **common),
            *data,
        )
        for n_transferred in range(len(units) + 1):
            name = (
                "T=0: network from scratch"
                if n_transferred == 0
                else f"T={n_transferred}: {', '.join(units[:n_transferred])} "
                "transferred, new output layer"
            )
            tables = ("IV", "V") if n_transferred == 0 else ("IV",)
            score(
                tables,
                name,
                PretrainedCNNClassifier(frozen, transfer_upto=n_transferred, **common),
                *data,
            )
        hidden = source.module_.units[units[-1]]
        width = next(
            m.out_features for m in hidden.modules() if hasattr(m, "out_features")
        )
        score(
            ("V",),
            "partial transfer, new hidden + output layer (Oquab)",
            PretrainedCNNClassifier(frozen, head_hidden_sizes=(width,), **common),
            *data,
        )
        score(("V",), "linear SVM on raw pixels", linear_svm_on_pixels(seed), *data)

    summary = summarise(runs)
    result = {
        table: [r for r in summary if r["table"] == table]
        for table in ("II", "IV", "V")
    }
    order = {"IV": lambda r: r["method"] if r["method"].startswith("T=") else "T=z"}
    result["IV"].sort(key=order["IV"])
    result["runs"] = runs
    result["comparisons"] = []
    if n_repeats >= 2:
        n_train = n_train_per_class * len(np.unique(y_target))
        sizes = {"n_train": n_train, "n_test": len(y_target) - n_train}
        lrt = "whole-layer transfer (relation-chosen outputs)"
        others = [("II", "whole-layer transfer (random outputs)")] + [
            ("V", row["method"]) for row in result["V"] if row["method"] != lrt
        ]
        for table, other in others:
            rows = [r for r in runs if r["table"] == table]
            comparison = paired_comparison(rows, lrt, other, **sizes)
            result["comparisons"].append({"table": table, **comparison})
    return result
