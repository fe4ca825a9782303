"""The records a model file keeps of what it cannot keep as it is: an
estimator of this library (:class:`StoredEstimator`), a callback or an
accelerator (:class:`StoredObject`). Plain data, which skops.io saves and
loads by its attributes; :mod:`sktransfer._model_files._stored` makes them
and rebuilds from them."""

from __future__ import annotations

__all__ = ["StoredEstimator", "StoredObject"]


class StoredEstimator:
    """An estimator of this library as a model file keeps it (data only).

    Parameters
    ----------
    estimator : str
        The class's name (``"PretrainedCNNClassifier"``).
    params : dict
        ``get_params(deep=False)``, with the estimators of this library in
        it stored in turn.
    fitted : dict or None, default=None
        The fitted attributes; None for an unfitted estimator.
    history : list of dict or None, default=None
        skorch's history.
    network : dict or None, default=None
        ``{"weights": i, "n_frozen": n}``: the index of the network's
        weights in the file, and its number of frozen units.
    """

    def __init__(self, estimator, params, fitted=None, history=None, network=None):
        self.estimator = estimator
        self.params = params
        self.fitted = fitted
        self.history = history
        self.network = network


class StoredObject:
    """An object a model file rebuilds from its class and parameters rather
    than from its state: a skorch callback, an ``accelerate.Accelerator``.

    Parameters
    ----------
    kind : {"callback", "accelerator"}
    name : str
        The class's name.
    params : dict
    """

    def __init__(self, kind, name, params):
        self.kind = kind
        self.name = name
        self.params = params
