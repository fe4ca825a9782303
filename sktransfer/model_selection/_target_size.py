"""Accuracy against the number of target training images (the small-data question)."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from ._runs import Recorder, as_arrays, split_target

__all__ = ["target_size_curve"]


def _sizes(train_sizes, n_train, n_classes):
    sizes = []
    for size in train_sizes:
        if isinstance(size, numbers.Integral) and not isinstance(size, bool):
            count = int(size)
        elif isinstance(size, numbers.Real) and 0 < size <= 1:
            count = int(round(size * n_train))
        else:
            raise ValueError(
                "`train_sizes` must hold fractions in (0, 1] or image counts; got "
                f"{size!r}."
            )
        if not n_classes <= count <= n_train:
            raise ValueError(
                f"`train_sizes` entry {size!r} gives {count} training images; it "
                f"must lie between the {n_classes} classes and the {n_train} "
                "images of the training part."
            )
        sizes.append(count)
    return sorted(set(sizes))


def target_size_curve(
    estimators,
    X,
    y,
    *,
    train_sizes=(0.1, 0.25, 0.5, 1.0),
    n_repeats=3,
    test_size=0.3,
    random_state=0,
    callback=None,
):
    """Test accuracy of each estimator as the target training set grows.

    For each repeat a stratified test part is held out; stratified subsets of
    the rest, of each size, train a clone of every estimator, scored on the
    same test part — so all sizes and methods meet the same test images.

    Parameters
    ----------
    estimators : dict of str -> estimator
        E.g. ``{"linear SVM": linear_svm_on_pixels(), "fine-tuned":
        PretrainedCNNClassifier(...)}``.
    X, y : array-like
        Target images and labels.
    train_sizes : iterable of float or int, default=(0.1, 0.25, 0.5, 1.0)
        Fractions of the training part, or image counts.
    n_repeats : int, default=3
        Random splits, each with its own seed.
    test_size : float, default=0.3
        The test share of each split.
    random_state : int, default=0
        The seed of the first split.
    callback : callable, default=None
        Called with each per-run row.

    Returns
    -------
    result : dict
        ``"summary"``: rows ``{method, n_train, mean, sd, n_runs, fit_time}``;
        ``"runs"``: every run's row.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from sktransfer.datasets import load_digits_images
    >>> from sktransfer.model_selection import target_size_curve
    >>> X, y = load_digits_images()
    >>> result = target_size_curve({"prior": DummyClassifier()}, X.reshape(-1, 64),
    ...                            y, train_sizes=(50, 100), n_repeats=2)
    >>> [(row["n_train"], row["n_runs"]) for row in result["summary"]]
    [(50, 2), (100, 2)]
    """
    X, y = as_arrays(X, y, "target")
    if not isinstance(estimators, dict) or not estimators:
        raise ValueError(
            "`estimators` must be a non-empty dict of name -> estimator; got "
            f"{type(estimators).__name__}."
        )
    recorder = Recorder(callback)
    n_classes = len(np.unique(y))
    for repeat in range(n_repeats):
        seed = random_state + repeat
        X_train, X_test, y_train, y_test = split_target(X, y, test_size, seed)
        for count in _sizes(train_sizes, len(y_train), n_classes):
            if count < len(y_train):
                X_part, _, y_part, _ = train_test_split(
                    X_train,
                    y_train,
                    train_size=count,
                    stratify=y_train,
                    random_state=seed,
                )
            else:
                X_part, y_part = X_train, y_train
            for name, estimator in estimators.items():
                model = clone(estimator)
                if "random_state" in model.get_params():
                    model.set_params(random_state=seed)
                recorder.fit(
                    model,
                    X_part,
                    y_part,
                    X_test,
                    y_test,
                    method=name,
                    n_train=count,
                    seed=seed,
                )
    return recorder.result("method", "n_train")
