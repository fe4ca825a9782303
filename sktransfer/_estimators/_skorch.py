"""skorch's net as a scikit-learn estimator: parameters only in ``__init__``,
``get_params`` and ``set_params``; ``device="auto"``; pickles that are equal
for equal estimators and load on a machine without the GPU.

skorch's ``__init__`` sets fitted-state attributes, lists its private
bookkeeping among the parameters and builds the callbacks in ``set_params``;
scikit-learn's rules (``check_no_attributes_set_in_init``,
``check_set_params``, ``check_do_not_raise_errors_in_init_or_set_params``)
forbid each. :class:`SkorchEstimator` keeps skorch working as before while
scikit-learn sees parameters only.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect

from sklearn.base import BaseEstimator
from skorch import NeuralNet
from skorch.utils import get_map_location

from .._runtime import autocast_for, cudnn_autotune, resolve_device, to_device
from ._pickling import load_torch_state, save_torch_state

__all__ = ["SkorchEstimator"]

# skorch's parameters the estimators take as they are: an unknown name's
# error message lists the others, the estimator's own.
SKORCH_PARAMETERS = (
    "dataset",
    "predict_nonlinearity",
    "compile",
    "use_caching",
    "torch_load_kwargs",
    "classes",
)

# The key of the torch objects in a pickled estimator's state.
_TORCH_STATE = "__torch_state__"


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


class SkorchEstimator(NeuralNet):
    """skorch's net with scikit-learn's parameter contract, ``device="auto"``
    and value-equal pickles.

    Subclasses write their ``__init__`` out, pass skorch's parameters on to
    this one and set their own as attributes; the network is theirs to build
    (``initialize_module``), so ``module`` is None. A name in
    ``_renamed_parameters`` (old -> new) is refused with the new one.
    """

    _renamed_parameters: dict = {}

    history_ = _kept_privately("history_")
    initialized_ = _kept_privately("initialized_")
    virtual_params_ = _kept_privately("virtual_params_")

    def __init__(self, **kwargs):
        for old, new in self._renamed_parameters.items():
            if old in kwargs:
                raise TypeError(
                    f"{type(self).__name__} takes `{new}`, no longer `{old}`: "
                    f"pass {new}={kwargs[old]!r}."
                )
        kwargs.pop("module", None)  # the estimators build it from `backbone`
        super().__init__(module=None, **kwargs)

    # -- parameters -----------------------------------------------------------
    def _get_param_names(self):
        # skorch lists every attribute without a trailing underscore, its
        # private bookkeeping (``_params_to_validate``) included, and
        # ``module``, which the estimators build from ``backbone``.
        return [
            name
            for name in super()._get_param_names()
            if name[0] != "_" and name != "module"
        ]

    def get_params(self, deep=True):
        """The parameters, ``device`` as the user gave it (``"auto"`` too).

        Parameters
        ----------
        deep : bool, default=True
            Also the parameters of the callbacks and routing prefixes, as
            skorch lists them.

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=deep)
        if "device" in params:
            params["device"] = self.__dict__.get("device")
        return params

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

    def _finish_restoring(self):
        """What a fit leaves done after training that an estimator rebuilt
        from a model file needs too (nothing here; Accelerate's unwrapping
        in :class:`~sktransfer.multi_gpu.AcceleratedCNNClassifier`)."""

    def _refresh_callbacks(self):
        """Build the callbacks again when ``callbacks`` changed after the last
        initialisation (a warm start does not initialise again)."""
        if getattr(self, "_callbacks_changed", False):
            self._initialize_callbacks()

    def __setattr__(self, name, attr):
        if name == "backbone":
            # A user's nn.Module here is a hyper-parameter, not a component
            # that skorch should register and train.
            object.__setattr__(self, name, attr)
            return
        super().__setattr__(name, attr)

    # -- device ---------------------------------------------------------------
    # The ``device`` parameter is stored as given and never written while the
    # estimator works (scikit-learn's rule): during ``fit``, ``predict`` and
    # ``load_params`` the attribute reads as the resolved device, which is
    # what skorch needs, while ``get_params`` returns the user's value.
    @property
    def device(self):
        in_use = self.__dict__.get("_device_in_use")
        return self.__dict__.get("device") if in_use is None else in_use

    @device.setter
    def device(self, value):
        if self.__dict__.get("_device_in_use") is not None:
            # skorch's load_params maps an unavailable device to the one the
            # weights load on; that is for this piece of work only.
            self.__dict__["_device_in_use"] = value
        else:
            self.__dict__["device"] = value

    def _autocast(self):
        return autocast_for(self.device, self.precision)

    def infer(self, x, **fit_params):
        x = to_device(x, self.device)  # None: the accelerator placed it
        with self._autocast():
            out = self.module_(x, **fit_params)
        return out.float()

    @contextlib.contextmanager
    def _on_device(self):
        """Let skorch see the resolved device while it works; the parameter
        itself stays as the user gave it."""
        outer = self.__dict__.get("_device_in_use")
        resolved = outer if outer is not None else resolve_device(self.device)
        with cudnn_autotune(resolved, getattr(self, "random_state", None)):
            if self.__dict__.get("device") != "auto":
                # skorch takes any other value as it is (None included: the
                # accelerator places the tensors).
                yield
                return
            self.__dict__["_device_in_use"] = resolved
            try:
                yield
            finally:
                if outer is None:
                    self.__dict__.pop("_device_in_use", None)
                else:
                    self.__dict__["_device_in_use"] = outer

    def load_params(self, *args, **kwargs):
        """skorch's ``load_params``, with ``device="auto"`` resolved first.

        Parameters
        ----------
        *args, **kwargs
            As skorch's ``load_params`` (``f_params=``, ``f_history=``,
            ``checkpoint=``, ...).

        Returns
        -------
        result : object
            What skorch's ``load_params`` returns.
        """
        with self._on_device():
            return super().load_params(*args, **kwargs)

    # -- pickling -------------------------------------------------------------
    # skorch's state, with the torch objects saved by ``torch.save``
    # (:mod:`sktransfer._estimators._pickling`); on loading,
    # ``device="auto"`` resolves on the loading machine.
    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_device_in_use", None)
        prefixes = tuple(self.cuda_dependent_attributes_)
        torch_objects = {
            key: state.pop(key)
            for key in list(state)
            if isinstance(key, str) and key.startswith(prefixes)
        }
        state[_TORCH_STATE] = save_torch_state(torch_objects)
        return state

    def __setstate__(self, state):
        requested = state.get("device")
        if requested == "auto":
            state["device"] = resolve_device("auto")
        saved = state.pop(_TORCH_STATE, None)
        if saved is None:  # written by skorch's own __getstate__
            super().__setstate__(state)
        else:
            # What skorch's __setstate__ does (its format differs between
            # versions): the torch objects go to a device this machine has.
            map_location = get_map_location(state["device"])
            state["device"] = self._check_device(state["device"], map_location)
            self.__dict__.update(state)
            self.__dict__.update(load_torch_state(saved, map_location))
        if requested == "auto":
            self.__dict__["device"] = "auto"
