"""What every study does per run: split the target, fit, time and score."""

from __future__ import annotations

import time

import numpy as np
from sklearn.model_selection import train_test_split

from ._tables import summarise


def as_arrays(X, y, name):
    X, y = np.asarray(X), np.asarray(y)
    if y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            f"`X_{name}` and `y_{name}` must hold the same number of samples with "
            f"1-D labels; got {len(X)} images and labels of shape {y.shape}."
        )
    return X, y


def split_target(X, y, test_size, seed):
    """Stratified random split of the target set (70/30 by default)."""
    try:
        return train_test_split(
            X, y, test_size=test_size, stratify=y, random_state=seed
        )
    except ValueError as error:
        raise ValueError(
            f"`test_size`={test_size} cannot split the {len(y)} target images "
            f"stratified ({error})."
        ) from error


def fit_and_score(model, X_train, y_train, X_test, y_test):
    """Fit, then return (accuracy on the test set, fit seconds, predictions)."""
    start = time.perf_counter()
    model.fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    predictions = model.predict(X_test)
    return float(np.mean(predictions == y_test)), elapsed, predictions


class Recorder:
    """Collects per-run rows and reports each to an optional callback."""

    def __init__(self, callback):
        self.rows = []
        self.callback = callback

    def add(self, **row):
        self.rows.append(row)
        if self.callback is not None:
            self.callback(row)
        return row

    def result(self, *by, **extra):
        """``{"summary": mean/SD rows grouped by ``by``, "runs": rows, **extra}``."""
        return {"summary": summarise(self.rows, by=by), "runs": self.rows, **extra}

    def fit(self, model, X_train, y_train, X_test, y_test, **keys):
        """Fit and score ``model``, record a row with ``keys``; return predictions."""
        accuracy, elapsed, predictions = fit_and_score(
            model, X_train, y_train, X_test, y_test
        )
        self.add(**keys, accuracy=accuracy, fit_time=elapsed)
        return predictions
