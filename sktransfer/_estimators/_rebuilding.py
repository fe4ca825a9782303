"""A fitted estimator's network built again without training, from its
parameters and fitted attributes, as its fit built it: what a model file's
loader (:mod:`sktransfer._model_files._restoring`) does before it loads the
saved weights into it. Run under
:func:`~sktransfer._networks._build.structure_only`, which reads no weights
file: the weights the network starts with are replaced."""

from __future__ import annotations

from skorch.history import History

from .._inputs import fitted_network
from ._extractor import CNNFeatureExtractor

__all__ = ["build_network_of", "initialize_fitted"]


def build_network_of(estimator):
    """The network ``estimator`` builds from its parameters and fitted
    attributes, and nothing else initialised: for a look at its shapes (on
    PyTorch's ``meta`` device)."""
    if isinstance(estimator, CNNFeatureExtractor):
        # The units a fit took, rather than "multi", which runs images
        # through the network to choose them.
        if isinstance(estimator.layer, str) and estimator.layer == "multi":
            estimator.layer = getattr(estimator, "layer_", estimator.layer)
        estimator._build_network()
    else:
        estimator.initialize_callbacks()
        estimator.init_context_ = "module"  # as skorch's initialize() sets it
        estimator.initialize_module()
    return fitted_network(estimator)


def initialize_fitted(estimator, fitted, history):
    """Initialise ``estimator`` as its fit left it: its network built, its
    fitted attributes ``fitted`` (a dict) set and, for a skorch net, its
    ``history`` (a list of dicts)."""
    if isinstance(estimator, CNNFeatureExtractor):
        estimator._build_network()
        return fitted_network(estimator)
    with estimator._on_device():
        estimator.initialize()
    # initialize() computes some of them again (the same values).
    vars(estimator).update(fitted)
    estimator.history_ = History(history or [])
    estimator._finish_restoring()
    return fitted_network(estimator)
