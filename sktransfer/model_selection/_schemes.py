"""The four validation schemes of Molina et al. (section 3.4)."""

from __future__ import annotations

import numpy as np
from sklearn.frozen import FrozenEstimator

from .._estimators import LabelRelationTransfer, PretrainedCNNClassifier
from .._inputs import encode_labels
from ._runs import Recorder, as_arrays, split_target

__all__ = ["validation_schemes_study"]

SCHEMES = {
    1: "1: target train (70%) only",
    2: "2: whole source only",
    3: "3: whole source + target train",
    4: "4: source model, last layers updated on target train",
}


def validation_schemes_study(
    X_source,
    y_source,
    X_target,
    y_target,
    *,
    backbone="small_cnn",
    n_trainable=2,
    n_runs=10,
    test_size=0.3,
    params=None,
    random_state=0,
    callback=None,
):
    """Molina et al.'s four validation schemes, repeated on random 70/30 splits.

    Source and target share their labels (e.g. the two halves of a
    :func:`~sktransfer.datasets.dendrogram_split`). For each run (seed
    ``random_state + r``) the target set is split into a stratified
    training part and a test part (``test_size``), and every scheme is scored
    on that same test part:

    1. a network trained on the target training part;
    2. a network trained on the whole source subset;
    3. a network trained on the source subset plus the target training part;
    4. the network of scheme 2, updated on the target training part with only
       its last ``n_trainable`` layers (output layer included) trainable — the
       transfer of Molina et al., which keeps the source output layer. Its
       ``fit_time`` counts the update only (the source fit is scheme 2's).

    Parameters
    ----------
    X_source, y_source : array-like
        Source images and labels.
    X_target, y_target : array-like
        Target images and labels (labels among the source's).
    backbone : str, default="small_cnn"
        Trained from random initialisation (``weights=None``), as in the paper.
    n_trainable : int, default=2
        Layers updated in scheme 4 (the paper's two dense layers).
    n_runs : int, default=10
        Random splits of the target set, each with its own seed.
    test_size : float, default=0.3
        The test share of each split.
    params : dict, default=None
        Training parameters for every network (``max_epochs``, ``lr``,
        ``input_size``, ...).
    random_state : int, default=0
        The seed of the first run.
    callback : callable, default=None
        Called with each per-run row, for progress.

    Returns
    -------
    result : dict
        ``"summary"``: one row per scheme ``{scheme, method, mean, sd, n_runs,
        fit_time}``; ``"runs"``: every run's row.

    References
    ----------
    .. [1] M. A. Molina et al., "A preliminary study on deep transfer learning
       applied to image classification for small datasets", 2020, 3.4, Table 2.
    """
    X_source, y_source = as_arrays(X_source, y_source, "source")
    X_target, y_target = as_arrays(X_target, y_target, "target")
    source_labels = np.unique(y_source)
    unknown = np.setdiff1d(np.unique(y_target), source_labels)
    if len(unknown):
        raise ValueError(
            "`y_target` labels must be among the source labels (schemes 2-4 "
            f"predict with the source network); {unknown.tolist()} are not."
        )
    if X_source.shape[1:] != X_target.shape[1:]:
        raise ValueError(
            f"Source images {X_source.shape[1:]} and target images "
            f"{X_target.shape[1:]} must have the same shape (scheme 3 pools them)."
        )
    if not isinstance(n_trainable, int | np.integer) or n_trainable < 1:
        raise ValueError(f"`n_trainable` must be an int >= 1; got {n_trainable!r}.")
    params = dict(params or {})
    recorder = Recorder(callback)

    def network(seed):
        return PretrainedCNNClassifier(
            backbone, weights=None, random_state=seed, **params
        )

    for run in range(n_runs):
        seed = random_state + run
        X_train, X_test, y_train, y_test = split_target(
            X_target, y_target, test_size, seed
        )
        pooled_X = np.concatenate([X_source, X_train])
        pooled_y = np.concatenate([y_source, y_train])
        source = network(seed)
        fits = {
            1: (network(seed), X_train, y_train),
            2: (source, X_source, y_source),
            3: (network(seed), pooled_X, pooled_y),
        }
        for scheme, (model, X_fit, y_fit) in fits.items():
            recorder.fit(
                model,
                X_fit,
                y_fit,
                X_test,
                y_test,
                scheme=scheme,
                method=SCHEMES[scheme],
                seed=seed,
            )
        n_units = len(source.layer_names_)
        if n_trainable > n_units + 1:
            raise ValueError(
                f"`n_trainable`={n_trainable} exceeds the {n_units + 1} layers of "
                f"{backbone!r} (units {source.layer_names_} + output layer)."
            )
        outputs = encode_labels(np.unique(y_train), source.classes_)
        updated = LabelRelationTransfer(
            FrozenEstimator(source),
            assignment=outputs,
            freeze_upto=n_units - (n_trainable - 1),
            random_state=seed,
            **params,
        )
        recorder.fit(
            updated,
            X_train,
            y_train,
            X_test,
            y_test,
            scheme=4,
            method=SCHEMES[4],
            seed=seed,
        )
    return recorder.result("scheme", "method")
