"""Values as a model file keeps them: JSON, with what JSON lacks tagged.

One encoder (``save_model``) and one decoder (``load_model``,
``inspect_model``), so that whatever is written reads back as it was, NumPy
scalars included. JSON keeps None, booleans, integers, text, lists, finite
floats and dicts with text keys as they are; the rest is tagged:

* data: ``{"__float__": "nan"}``, ``{"__tuple__": [...]}``, ``{"__dict__":
  [[key, value], ...]}`` (other keys, or one starting ``__``),
  ``{"__numpy__": ["float64", 0.003]}``, ``{"__array__": i}`` (the member
  ``arrays/i.npy``, read without pickle), ``{"__objects__": [...]}`` (an
  object array of numbers and text);
* names: ``{"__ref__": "torch.optim.AdamW"}``, a class or function, looked
  up among the allowed ones (:mod:`sktransfer._model_files._trust`) or
  imported when the loader trusts it;
* objects, each in the one parameter that takes it: a path or torchvision
  weights in ``weights``, a ``torch.device`` in ``device``, another
  record's estimator (``{"__estimator__": i}``) or a ``FrozenEstimator`` of
  one in ``backbone``, skorch's ``ValidSplit`` in ``train_split``, a
  ``RandomState`` in ``random_state``, an ``accelerate.Accelerator`` in
  ``accelerator``.

Fitted attributes, the history and the optimizer's and loss's settings are
*plain*: data only, nothing that names or builds an object.
"""

from __future__ import annotations

import enum
import functools
import io
import math
import os
import pathlib
import types
import warnings

import numpy as np
import skorch.callbacks
import skorch.dataset
import torch
from sklearn.frozen import FrozenEstimator
from torchvision.models import get_weight

from ._archive import ModelFileError, quoted
from ._trust import name_of

__all__ = ["Decoder", "Encoder", "Unbuilt", "place", "refuse", "refuse_code"]

_SCALARS = ("bool", "str", "float16", "float32", "float64")
_SCALARS += tuple(f"{s}int{n}" for s in ("", "u") for n in (8, 16, 32, 64))
_DATA = ("__float__", "__tuple__", "__dict__", "__numpy__", "__array__")
_DATA += ("__objects__",)
_SPLIT = ("cv", "stratified", "random_state")
_ACCELERATOR = {
    "mixed_precision": ("no", "fp16", "bf16", "fp8"),
    "cpu": (True, False),
    "gradient_accumulation_steps": range(1, 1_000_001),
}


def _random_state(state):
    keys, *rest = state
    if not (len(keys) == 624 and all(type(k) is int and 0 <= k < 2**32 for k in keys)):
        raise ValueError("its keys are not 624 numbers of 32 bits")
    random_state = np.random.RandomState()
    random_state.set_state(("MT19937", np.array(keys, np.uint32), *rest))
    return random_state


# Each object: the parameter where it may stand, and how it is made from its
# settings (plain data, but a FrozenEstimator's estimator).
_OBJECTS = {
    "__path__": ("weights", pathlib.Path),
    "__weights__": ("weights", get_weight),
    "__device__": ("device", torch.device),
    "__frozen__": ("backbone", FrozenEstimator),
    "__valid_split__": ("train_split", lambda s: skorch.dataset.ValidSplit(**s)),
    "__random_state__": ("random_state", _random_state),
    "__accelerator__": ("accelerator", None),
}


def place(where):
    """``where`` (a list of parts) as the messages name it."""
    return " -> ".join(map(str, where)) if where else "the model"


def _is_scalar(value):
    return value is None or isinstance(value, bool | int | float | str | np.generic)


def refuse(where, what, advice):
    """Raise the ``ValueError`` of a part of the model a file cannot keep."""
    raise ValueError(
        f"`model`: {place(where)} is {what}, which a model file cannot store "
        f"without pickling code; {advice}"
    )


def refuse_code(obj, where):
    """Refuse, naming where it is, an object a file cannot keep as data."""
    kind = type(obj).__name__
    if isinstance(obj, torch.Tensor):
        refuse(where, "a torch tensor", "it keeps tensors only as networks' weights.")
    if isinstance(obj, torch.nn.Module):
        advice = "register it with sktransfer.register_backbone, pass its name."
        refuse(where, f"an nn.Module ({kind})", advice)
    if isinstance(obj, torch.optim.Optimizer):
        refuse(where, f"a torch optimizer ({kind})", "pass its class.")
    if isinstance(obj, skorch.callbacks.Callback):
        advice = "the program that loads it sets them (load_model(path, params=...))."
        refuse(where, f"a skorch callback ({kind})", advice)
    if isinstance(obj, types.MethodType | functools.partial):
        refuse(where, f"a {kind}", "pass a function defined in a module.")
    if isinstance(obj, types.FunctionType):
        name, module = obj.__qualname__, obj.__module__
        if obj.__name__ == "<lambda>":
            refuse(where, f"a lambda (in {module})", "use a function of a module.")
        if "<locals>" in name:
            refuse(where, f"a local function {name}", "define it at a module's top.")
        if module == "__main__":
            advice = "move it into a module the loading machine can import."
            refuse(where, f"the function {name} of a script (__main__)", advice)


class Unbuilt:
    """What a check stands in for an object it does not build: a name the
    loader has not been told to trust, an ``Accelerator``; shown as
    ``text``."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.text} was not built")


class Encoder:
    """Python values -> JSON data, the arrays set apart.

    Parameters
    ----------
    store_estimator : callable
        ``store_estimator(estimator, where)`` -> the index of its record, or
        None for an object that is not an estimator of this library.

    Attributes
    ----------
    arrays : list of bytes
        The .npy members, by index.
    """

    def __init__(self, store_estimator):
        self.store_estimator = store_estimator
        self.arrays = []
        self._arrays = {}

    def encode(self, value, where, plain=False):
        """``value`` as JSON data; ``plain`` refuses what names or builds an
        object."""
        if isinstance(value, np.generic):  # np.float64 is a float too
            name = value.dtype.name
            name = "str" if value.dtype.kind == "U" else name
            if name not in _SCALARS:
                refuse(where, f"a NumPy {value.dtype.name}", "keep numbers or text.")
            return {"__numpy__": [name, self.encode(value.item(), where)]}
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": str(value)}
        if isinstance(value, list | tuple) and type(value) in (list, tuple):
            items = [
                self.encode(v, [*where, f"[{i}]"], plain) for i, v in enumerate(value)
            ]
            return items if type(value) is list else {"__tuple__": items}
        if type(value) is dict:
            items = {
                k: self.encode(v, [*where, repr(k)], plain) for k, v in value.items()
            }
            if all(isinstance(k, str) and not k.startswith("__") for k in items):
                return items
            if not all(map(_is_scalar, items)):
                refuse(where, "a dict with other keys than numbers or text", "")
            return {"__dict__": [[self.encode(k, where), v] for k, v in items.items()]}
        if isinstance(value, np.ndarray):
            return self._array(value, where)
        if plain:
            refuse(
                where, f"of type {type(value).__qualname__}", "only data is kept here."
            )
        refuse_code(value, where)
        if isinstance(value, type | types.FunctionType | types.BuiltinFunctionType):
            return {"__ref__": name_of(value)}
        return self._object(value, where)

    def _array(self, value, where):
        if value.dtype.hasobject:
            if value.ndim != 1 or not all(map(_is_scalar, value.tolist())):
                refuse(where, "an array of Python objects", "keep numbers or text.")
            return {"__objects__": [self.encode(v, where) for v in value.tolist()]}
        if type(value) is not np.ndarray or value.dtype.kind not in "biufUS":
            refuse(where, f"an array of {value.dtype}", "keep numbers or text.")
        if id(value) not in self._arrays:
            buffer = io.BytesIO()
            np.save(buffer, value, allow_pickle=False)
            self._arrays[id(value)] = (len(self.arrays), value)  # keeps the id
            self.arrays.append(buffer.getvalue())
        return {"__array__": self._arrays[id(value)][0]}

    def _object(self, value, where):
        if isinstance(value, pathlib.PurePath):
            return {"__path__": os.fspath(value)}
        if isinstance(value, torch.device):
            return {"__device__": str(value)}
        if isinstance(value, enum.Enum) and type(value).__module__.startswith(
            "torchvision."
        ):
            name = f"{type(value).__name__}.{value.name}"
            return {"__weights__": name}
        if isinstance(value, FrozenEstimator):
            return {"__frozen__": self.encode(value.estimator, [*where, "estimator"])}
        if isinstance(value, skorch.dataset.ValidSplit):
            split = {key: getattr(value, key) for key in _SPLIT}
            return {"__valid_split__": self.encode(split, where, plain=True)}
        if isinstance(value, np.random.RandomState):
            _, keys, *state = value.get_state(legacy=True)
            state = [keys.tolist(), *state]
            return {"__random_state__": self.encode(state, where, plain=True)}
        if type(value).__module__.split(".")[0] == "accelerate":
            settings = {
                "mixed_precision": str(value.mixed_precision),
                "cpu": value.device.type == "cpu",
                "gradient_accumulation_steps": int(value.gradient_accumulation_steps),
            }
            return {"__accelerator__": settings}
        index = self.store_estimator(value, where)
        if index is None:
            refuse(
                where, f"a {type(value).__qualname__}", "keep data, classes, functions."
            )
        return {"__estimator__": index}


class Decoder:
    """JSON data of a model file -> the values it stands for.

    Parameters
    ----------
    path : Path
        The file, for messages.
    array : callable
        ``array(i)`` -> the array of the member ``arrays/i.npy``.
    estimator : callable
        ``estimator(i)`` -> the estimator of record ``i``.
    resolve : callable
        ``resolve(name, parameter)`` -> the class or function a record names
        for ``parameter``.
    build : bool
        Build what the values stand for; False (a check) stands an
        :class:`Unbuilt` in for an ``Accelerator``.
    """

    def __init__(self, path, array, estimator, resolve, build):
        self.path, self.array, self.estimator = path, array, estimator
        self.resolve, self.build = resolve, build

    def fail(self, where, what):
        raise ModelFileError(self.path, f"{place(where)}: {what}")

    def decode(self, node, where, parameter=None, plain=False):
        """The value ``node`` stands for (``where`` names it in messages)."""
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list):
            return [self.decode(v, where, parameter, plain) for v in node]
        if not isinstance(node, dict):
            self.fail(where, f"a value of JSON type {type(node).__name__}")
        tag = next((key for key in node if key.startswith("__")), None)
        if tag is None:
            return {
                k: self.decode(v, [*where, k], parameter, plain)
                for k, v in node.items()
            }
        if len(node) != 1 or (plain and tag not in _DATA):
            self.fail(where, f"a value tagged {sorted(node)[:3]} where data belongs")
        if tag in _OBJECTS:
            return self._object(tag, node[tag], where, parameter)
        method = getattr(self, "_" + tag.strip("_"), None)
        if method is None or not tag.endswith("__"):
            self.fail(where, f"an unknown tag {quoted(tag)}")
        return method(node[tag], where, parameter, plain)

    def _float(self, content, where, parameter, plain):
        if content not in ("nan", "inf", "-inf"):
            self.fail(where, f"a float {quoted(content)}")
        return float(content)

    def _tuple(self, content, where, parameter, plain):
        if not isinstance(content, list):
            self.fail(where, "a tuple that is not a list")
        return tuple(self.decode(v, where, parameter, plain) for v in content)

    def _dict(self, content, where, parameter, plain):
        pairs = self.decode(content, where, parameter, plain)
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and _is_scalar(p[0]) for p in pairs
        ):
            self.fail(where, "a dict that is not a list of pairs of a number or text")
        return dict(pairs)

    def _numpy(self, content, where, parameter, plain):
        name, value = (
            content if isinstance(content, list) and len(content) == 2 else (0, 0)
        )
        value = self.decode(value, where, plain=True)
        if name not in _SCALARS:
            self.fail(where, f"a NumPy scalar {quoted(content)}")
        kind = np.str_ if name == "str" else np.dtype(name).type
        expected = {"b": bool, "i": int, "u": int, "f": float, "U": str}
        ok = type(value) is expected[np.dtype(kind).kind]
        if ok and np.dtype(kind).kind in "iu":
            ok = np.iinfo(kind).min <= value <= np.iinfo(kind).max
        if ok and np.dtype(kind).kind == "f" and math.isfinite(value):
            ok = abs(value) <= np.finfo(kind).max
        if not ok:
            self.fail(where, f"a NumPy {name} of {quoted(value)}")
        return kind(value)

    def _array(self, content, where, parameter, plain):
        if type(content) is not int:
            self.fail(where, "an array that is not a member's number")
        return self.array(content)

    def _objects(self, content, where, parameter, plain):
        items = self.decode(content, where, parameter, plain=True)
        if not isinstance(items, list) or not all(map(_is_scalar, items)):
            self.fail(where, "an object array of other than numbers and text")
        array = np.empty(len(items), dtype=object)
        array[:] = items
        return array

    def _ref(self, content, where, parameter, plain):
        if not isinstance(content, str) or not content:
            self.fail(where, "a name that is not text")
        return self.resolve(content, parameter)

    def _estimator(self, content, where, parameter, plain):
        if type(content) is not int or parameter != "backbone":
            self.fail(where, "an estimator that is not a record's number in `backbone`")
        return self.estimator(content)

    def _object(self, tag, content, where, parameter):
        home, make = _OBJECTS[tag]
        if parameter != home:
            self.fail(where, f"a value tagged {tag} outside `{home}`")
        frozen = tag == "__frozen__"
        if frozen and not (
            isinstance(content, dict) and list(content) == ["__estimator__"]
        ):
            self.fail(where, "a FrozenEstimator of other than an estimator")
        settings = self.decode(content, where, parameter, plain=not frozen)
        if make is None:
            return self._accelerator(settings, where)
        try:
            return make(settings)
        except (TypeError, ValueError, KeyError, RuntimeError, OverflowError) as error:
            self.fail(where, f"{tag} {quoted(content)} does not read ({error})")

    def _accelerator(self, settings, where):
        if not (
            isinstance(settings, dict)
            and set(settings) == set(_ACCELERATOR)
            and all(
                type(settings[key]) is type(allowed[0]) and settings[key] in allowed
                for key, allowed in _ACCELERATOR.items()
            )
        ):
            self.fail(where, f"an Accelerator with the settings {quoted(settings)}")
        if not self.build:
            return Unbuilt(
                f"Accelerator({', '.join(f'{k}={v!r}' for k, v in settings.items())})"
            )
        from accelerate import Accelerator

        if settings["mixed_precision"] == "fp16" and not torch.cuda.is_available():
            warnings.warn(
                f"{self.path}: the model was trained with fp16 mixed precision, "
                "which needs a GPU; its Accelerator runs in float32 here.",
                UserWarning,
                stacklevel=2,
            )
            settings["mixed_precision"] = "no"
        return Accelerator(**settings)
