"""The transferability curve of Shanmugam et al. (after Yosinski et al.)."""

from __future__ import annotations

from sklearn.frozen import FrozenEstimator

from .._estimators import PretrainedCNNClassifier
from ._runs import Recorder, as_arrays, split_target

__all__ = ["transferability_curve"]

EXPERIMENTS = ("nBToB_fr", "nBToB_ft", "nAToB_fr", "nAToB_ft")


def transferability_curve(
    X_a,
    y_a,
    X_b,
    y_b,
    *,
    backbone="small_cnn",
    n_values=None,
    n_repeats=2,
    test_size=0.3,
    params=None,
    source_params=None,
    random_state=0,
    callback=None,
):
    """Accuracy on task B when the first ``n`` units come from A or from B.

    For each repeat (seed ``random_state + r``): B is split into training and
    test parts; ``modelA`` is trained from scratch on all of A and ``baseB``
    on B's training part. Then for each ``n``, the first ``n`` units are
    copied from ``modelA`` (``nAToB``) or ``baseB`` (``nBToB``), the rest
    re-initialised with a new output layer, and the copied units either
    frozen (``_fr``) or fine-tuned with the rest (``_ft``); each is trained
    on B's training part and scored on its test part.

    Parameters
    ----------
    X_a, y_a : array-like
        Images and labels of task A (the source).
    X_b, y_b : array-like
        Images and labels of task B (the target).
    backbone : str, default="small_cnn"
        Trained from random initialisation.
    n_values : iterable of int or None, default=None
        The ``n`` to try; None is 1..(number of units).
    n_repeats : int, default=2
        Shanmugam et al. ran each experiment twice.
    test_size : float, default=0.3
        The test share of B's split.
    params : dict, default=None
        Training parameters of every model on B (``max_epochs``, ``lr``, ...).
    source_params : dict, default=None
        Training parameters of ``modelA``; default ``params``.
    random_state : int, default=0
        The seed of the first repeat.
    callback : callable, default=None
        Called with each per-run row.

    Returns
    -------
    result : dict
        ``"summary"``: rows ``{experiment, n, mean, sd, n_runs, fit_time}``
        (``baseB`` at ``n=0``); ``"runs"``: every run's row;
        ``"layer_names"``: the units ``n`` counts.

    References
    ----------
    .. [1] G. Shanmugam S, J. Felix and S. Tiwari, "Transfer Learning",
       Table 2 and Fig. 3.
    .. [2] J. Yosinski et al., "How transferable are features in deep neural
       networks?", NeurIPS 2014.
    """
    X_a, y_a = as_arrays(X_a, y_a, "a")
    X_b, y_b = as_arrays(X_b, y_b, "b")
    params = dict(params or {})
    source_params = dict(params if source_params is None else source_params)
    recorder = Recorder(callback)
    layer_names = None
    for repeat in range(n_repeats):
        seed = random_state + repeat
        X_train, X_test, y_train, y_test = split_target(X_b, y_b, test_size, seed)
        model_a = PretrainedCNNClassifier(
            backbone, weights=None, random_state=seed, **source_params
        ).fit(X_a, y_a)
        base_b = PretrainedCNNClassifier(
            backbone, weights=None, random_state=seed, **params
        )
        recorder.fit(
            base_b, X_train, y_train, X_test, y_test, experiment="baseB", n=0, seed=seed
        )
        layer_names = model_a.layer_names_
        values = range(1, len(layer_names) + 1) if n_values is None else n_values
        values = list(values)
        bad = [n for n in values if not 1 <= n <= len(layer_names)]
        if bad:
            raise ValueError(
                f"`n_values` must lie in 1..{len(layer_names)} (units "
                f"{layer_names}); got {bad}."
            )
        sources = {"A": FrozenEstimator(model_a), "B": FrozenEstimator(base_b)}
        for n in values:
            for experiment in EXPERIMENTS:
                model = PretrainedCNNClassifier(
                    sources[experiment[1]],
                    transfer_upto=n,
                    freeze_upto=n if experiment.endswith("fr") else 0,
                    random_state=seed,
                    **params,
                )
                recorder.fit(
                    model,
                    X_train,
                    y_train,
                    X_test,
                    y_test,
                    experiment=experiment,
                    n=n,
                    seed=seed,
                )
    return recorder.result("experiment", "n", layer_names=layer_names)
