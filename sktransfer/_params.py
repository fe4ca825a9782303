"""The parameters of the image classifiers: their constraints, and skorch's
state kept apart from them, as scikit-learn requires.

skorch's ``__init__`` sets fitted-state attributes, lists its private
bookkeeping among the parameters and builds the callbacks in ``set_params``;
scikit-learn's rules (``check_no_attributes_set_in_init``, ``check_set_params``,
``check_do_not_raise_errors_in_init_or_set_params``) forbid each. The mixin
keeps skorch working as before while ``get_params``/``set_params`` see
parameters only.

The defaults of the parameters the estimators share are those of
:class:`~sktransfer.PretrainedCNNClassifier`'s signature: the command line
reads them from there (:func:`default_of`), and a test holds the other
estimators to them.
"""

from __future__ import annotations

import difflib
import inspect
import numbers

from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from ._batchnorm import BATCHNORM_MODES
from ._recipe import LR_SCHEDULES

__all__ = ["TRAINING_CONSTRAINTS", "SklearnParamsMixin", "default_of"]

# Parameters every estimator built on ImageNetBase has.
TRAINING_CONSTRAINTS = {
    "freeze_upto": [Interval(numbers.Integral, 0, None, closed="left"), str],
    "image_shape": [None, "array-like"],
    "input_size": [None, Interval(numbers.Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
    "class_weight": [None, StrOptions({"balanced"}), dict],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
    "freeze_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
    "backbone_lr_scale": [Interval(numbers.Real, 0, None, closed="left")],
    "precision": [StrOptions({"auto", "float32", "bfloat16"})],
    "cache_frozen": ["boolean"],
    "weights_sha256": [None, str],
    "tta": [None, "boolean", StrOptions({"flip", "rot90", "flip_rot90"})],
    "batchnorm": [StrOptions(set(BATCHNORM_MODES))],
    "lr_schedule": [StrOptions(set(LR_SCHEDULES))],
    "lr": [Interval(numbers.Real, 0, None, closed="neither")],
    "max_epochs": [None, Interval(numbers.Integral, 0, None, closed="left")],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "callbacks": [None, list, tuple, StrOptions({"disable"})],
}


# skorch's parameters the estimators take as they are (their signatures list
# them so that the repr leaves them out at their defaults).
SKORCH_PARAMETERS = (
    "dataset",
    "predict_nonlinearity",
    "compile",
    "use_caching",
    "torch_load_kwargs",
    "classes",
)


def default_of(estimator_class, name):
    """The default of parameter ``name`` in ``estimator_class``'s signature:
    where the command line reads the recipe's defaults."""
    return inspect.signature(estimator_class).parameters[name].default


def _kept_privately(name):
    """A property for skorch's fitted-state attribute ``name``, stored under
    ``"_" + name``.

    skorch's ``__init__`` sets ``history_``, ``initialized_`` and
    ``virtual_params_``; scikit-learn's rule is that ``__init__`` sets
    parameters only (``check_no_attributes_set_in_init``). skorch reads and
    writes them through this property as before; only their key in the
    instance's ``__dict__`` is private.
    """
    key = "_" + name

    def get(self):
        try:
            return self.__dict__[key]
        except KeyError:
            raise AttributeError(name) from None

    def set(self, value):
        self.__dict__[key] = value

    def delete(self):
        self.__dict__.pop(key, None)

    return property(get, set, delete, f"skorch's ``{name}``.")


class SklearnParamsMixin:
    """Parameters only in ``__init__``, ``get_params`` and ``set_params`` of a
    skorch net; fitted state under private keys; callbacks built in ``fit``.
    """

    history_ = _kept_privately("history_")
    initialized_ = _kept_privately("initialized_")
    virtual_params_ = _kept_privately("virtual_params_")

    def _get_param_names(self):
        # skorch lists every attribute without a trailing underscore, its
        # private bookkeeping (``_params_to_validate``) included, and
        # ``module``, which the estimators build from ``backbone``.
        return [
            name
            for name in super()._get_param_names()
            if name[0] != "_" and name != "module"
        ]

    def __repr__(self, N_CHAR_MAX=700):
        # scikit-learn's: the parameters that differ from the defaults, the
        # same before and after fit (skorch's lists its module instead).
        return BaseEstimator.__repr__(self, N_CHAR_MAX=N_CHAR_MAX)

    def _get_params_html(self, deep=True, doc_link=""):
        # The notebook's parameter table: the estimator's own parameters,
        # not the parameters of skorch's default callbacks (``deep``).
        return super()._get_params_html(deep=False, doc_link=doc_link)

    def set_params(self, **params):
        """Set parameters; a new ``callbacks`` list is checked in ``fit``.

        skorch builds the callbacks as soon as ``callbacks`` is set, so an
        invalid value would fail here; scikit-learn's rule is to validate in
        ``fit``. Parameters of the callbacks (``callbacks__name__param``)
        apply at once, unless a new ``callbacks`` comes in the same call.

        Parameters
        ----------
        **params
            Parameter names and their values, with skorch's routing
            prefixes (``optimizer__weight_decay=0.05``). An unknown name
            raises a ``ValueError`` that suggests the closest parameter and
            lists the estimator's own.

        Returns
        -------
        self : object
        """
        self._check_param_names(params)
        if "callbacks" in params:
            # With a new list, its parameters given in the same call wait for
            # the rebuild too (skorch reads them from the attributes then).
            deferred = {
                key: params.pop(key)
                for key in list(params)
                if key == "callbacks" or key.startswith("callbacks__")
            }
            vars(self).update(deferred)
            self._callbacks_changed = True
        return super().set_params(**params)

    def _check_param_names(self, params):
        known = set(self._get_param_names()) | set(getattr(self, "prefixes_", ()))
        for key in params:
            name = key.split("__", 1)[0]
            if name in known:
                continue
            own = [
                p
                for p in inspect.signature(type(self).__init__).parameters
                if p not in ("self", "kwargs", *SKORCH_PARAMETERS)
            ]
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"{key!r} is not a parameter of {type(self).__name__}.{hint} "
                f"Its parameters: {own}, and skorch's (optimizer__*, "
                "callbacks__*, iterator_train__*, ...); see get_params()."
            )

    def _initialize_callbacks(self):
        self._callbacks_changed = False
        return super()._initialize_callbacks()

    def _refresh_callbacks(self):
        """Build the callbacks again when ``callbacks`` changed after the last
        initialisation (a warm start does not initialise again)."""
        if getattr(self, "_callbacks_changed", False):
            self._initialize_callbacks()

    def __setattr__(self, name, attr):
        if name in ("backbone", "estimator"):
            # A user's nn.Module here is a hyper-parameter, not a component
            # that skorch should register and train.
            object.__setattr__(self, name, attr)
            return
        super().__setattr__(name, attr)
