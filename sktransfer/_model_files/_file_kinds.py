"""The kinds of value a model file may give a parameter: a number in a
range, a string from a set, a tuple of integers, a class from a fixed set.

Each :class:`Kind` checks a value in the form of
:mod:`sktransfer._model_files._file_values` and says why it refuses one (``check``
returns None or the reason); ``describe`` says what it takes, for the messages.
``trusted`` is the loader's: the type names it trusts (``True``: any), which a parameter
that takes a function (:class:`Named`) accepts besides its own.
"""

from __future__ import annotations

import math
import re

from ..backbones._registry import list_backbones
from ._file_values import Array, Opaque, Record, Ref

__all__ = [
    "NAME",
    "NONE",
    "SCALAR",
    "AcceleratorRecord",
    "Boolean",
    "Choice",
    "Const",
    "Instance",
    "Integer",
    "Kind",
    "Labels",
    "Mapping",
    "Named",
    "Numbers",
    "OneOf",
    "Plain",
    "Real",
    "Runtime",
    "Sequence",
    "Source",
    "Text",
]


class Kind:
    """What a parameter may hold; ``check`` returns None or why not."""

    def check(self, value, trusted):
        raise NotImplementedError

    def __str__(self):
        return self.describe()


class Const(Kind):
    """Exactly ``value`` (``True`` is not ``1``)."""

    def __init__(self, value):
        self.value = value

    def check(self, value, trusted):
        if type(value) is not type(self.value) or value != self.value:
            return f"expected {self.describe()}"
        return None

    def describe(self):
        return repr(self.value)


class Runtime(Const):
    """A parameter the loading program decides: accepted from a file only at
    its default, never written by ``save_model``."""

    def check(self, value, trusted):
        if super().check(value, trusted) is None:
            return None
        return (
            f"a model file may not set it (only its default {self.value!r}); "
            "the loading program does: load_model(path, params={...})"
        )


class Boolean(Kind):
    def check(self, value, trusted):
        return None if isinstance(value, bool) else f"expected {self.describe()}"

    def describe(self):
        return "True or False"


class Integer(Kind):
    def __init__(self, low, high):
        self.low, self.high = low, high

    def check(self, value, trusted):
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected {self.describe()}"
        if not self.low <= value <= self.high:
            return f"expected {self.describe()}"
        return None

    def describe(self):
        return f"an integer from {self.low} to {self.high}"


class Real(Kind):
    """A finite number in ``[low, high]`` (``low`` excluded with ``open_low``)."""

    def __init__(self, low, high, *, open_low=False, open_high=False):
        self.low, self.high = low, high
        self.open_low, self.open_high = open_low, open_high

    def check(self, value, trusted):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"expected {self.describe()}"
        if not math.isfinite(value):
            return f"expected {self.describe()}"
        low_ok = value > self.low if self.open_low else value >= self.low
        high_ok = value < self.high if self.open_high else value <= self.high
        return None if low_ok and high_ok else f"expected {self.describe()}"

    def describe(self):
        left = "(" if self.open_low else "["
        right = ")" if self.open_high else "]"
        return f"a number in {left}{self.low}, {self.high}{right}"


class Choice(Kind):
    def __init__(self, options):
        self.options = tuple(options)

    def check(self, value, trusted):
        if isinstance(value, str) and value in self.options:
            return None
        return f"expected {self.describe()}"

    def describe(self):
        return "one of " + ", ".join(repr(o) for o in sorted(self.options))


class Text(Kind):
    """Printable text (no control characters) of at most ``limit``
    characters (a unit's or a backbone's name, a path), optionally matching
    ``pattern``."""

    def __init__(self, limit=200, pattern=None, what="printable text"):
        self.limit = limit
        self.pattern = re.compile(pattern) if pattern else None
        self.what = what

    def check(self, value, trusted):
        if (
            isinstance(value, str)
            and len(value) <= self.limit
            and value.isprintable()
            and (self.pattern is None or self.pattern.fullmatch(value))
        ):
            return None
        return f"expected {self.describe()}"

    def describe(self):
        return f"{self.what} of at most {self.limit} characters"


class Sequence(Kind):
    """A tuple or list of at most ``limit`` items of ``item``."""

    def __init__(self, item, limit=64, length=None):
        self.item, self.limit, self.length = item, limit, length

    def check(self, value, trusted):
        if not isinstance(value, tuple | list):
            return f"expected {self.describe()}"
        if len(value) > self.limit or (
            self.length is not None and len(value) != self.length
        ):
            return f"expected {self.describe()}"
        for item in value:
            if self.item.check(item, trusted) is not None:
                return f"expected {self.describe()}"
        return None

    def describe(self):
        size = f"{self.length}" if self.length is not None else f"at most {self.limit}"
        return f"a tuple of {size} items, each {self.item.describe()}"


class OneOf(Kind):
    def __init__(self, *kinds):
        self.kinds = kinds

    def check(self, value, trusted):
        for kind in self.kinds:
            if kind.check(value, trusted) is None:
                return None
        return f"expected {self.describe()}"

    def describe(self):
        return " or ".join(kind.describe() for kind in self.kinds)


class Named(Kind):
    """A class or function from a fixed set (``names()``), or one the loader
    named in ``trusted``."""

    def __init__(self, names, what):
        self.names, self.what = names, what

    def check(self, value, trusted):
        if isinstance(value, Ref) and (
            value.name in self.names() or trusted is True or value.name in trusted
        ):
            return None
        return f"expected {self.describe()}"

    def describe(self):
        return f"{self.what} (or a function the loader trusts)"


class Mapping(Kind):
    def __init__(self, key, value, limit=1000):
        self.key, self.value, self.limit = key, value, limit

    def check(self, value, trusted):
        if not isinstance(value, dict) or len(value) > self.limit:
            return f"expected {self.describe()}"
        for k, v in value.items():
            if self.key.check(k, trusted) or self.value.check(v, trusted):
                return f"expected {self.describe()}"
        return None

    def describe(self):
        return f"a dict of {self.key.describe()} to {self.value.describe()}"


def _label(value):
    """A NumPy scalar label (a 0-D array of a number or text)."""
    return isinstance(value, Array) and not value.shape and value.dtype[1:2] in "biufU"


class Labels(Kind):
    """Class labels: a 1-D array of numbers or strings, or a tuple or list
    of such scalars."""

    def check(self, value, trusted):
        if isinstance(value, Array):
            if len(value.shape) == 1 and value.dtype[1:2] in tuple("biufU"):
                return None
            return f"expected {self.describe()}"
        if isinstance(value, tuple | list) and len(value) <= 100_000:
            if all(SCALAR.check(v, trusted) is None or _label(v) for v in value):
                return None
        return f"expected {self.describe()}"

    def describe(self):
        return "class labels (numbers or strings)"


class Numbers(Kind):
    """A NumPy array of numbers with ``ndim`` dimensions."""

    def __init__(self, ndim):
        self.ndim = ndim

    def check(self, value, trusted):
        if (
            isinstance(value, Array)
            and len(value.shape) == self.ndim
            and value.dtype[1:2] in tuple("biuf")
        ):
            return None
        return f"expected {self.describe()}"

    def describe(self):
        return f"a {self.ndim}-D array of numbers"


class Instance(Kind):
    """An object of one type, with plain data in ``attrs`` of the kinds
    given (a skorch ``ValidSplit``)."""

    def __init__(self, name, attrs):
        self.name, self.attrs = name, attrs

    def check(self, value, trusted):
        if not isinstance(value, Opaque) or value.name != self.name:
            return f"expected {self.describe()}"
        if set(value.attrs) - set(self.attrs):
            return f"expected {self.describe()}"
        for key, kind in self.attrs.items():
            if key in value.attrs and kind.check(value.attrs[key], trusted):
                return f"expected {self.describe()}"
        return None

    def describe(self):
        return f"a {self.name.rsplit('.', 1)[-1]}"


class Source(Kind):
    """A backbone: a registered name, or an estimator of this library (as
    it is, or in scikit-learn's ``FrozenEstimator``)."""

    def check(self, value, trusted):
        if isinstance(value, Record):
            return None
        if (
            isinstance(value, Opaque)
            and value.name == "sklearn.frozen._frozen.FrozenEstimator"
            and isinstance(value.attrs.get("estimator"), Record)
        ):
            return None
        if NAME.check(value, trusted) is None:
            if value in list_backbones() or value.startswith("timm/"):
                return None
            return (
                f"the backbone {value!r} is not registered here; register it "
                "with sktransfer.register_backbone before loading"
            )
        return f"expected {self.describe()}"

    def describe(self):
        return "a registered backbone's name or a fitted estimator of this library"


class Plain(Kind):
    """Plain data: None, True/False, a finite number, short text, or a
    tuple, list or dict of them (an optimizer's or a loss's settings)."""

    def __init__(self, depth=3):
        self.depth = depth

    def check(self, value, trusted):
        return None if self._plain(value, self.depth) else f"expected {self.describe()}"

    def _plain(self, value, depth):
        if SCALAR.check(value, ()) is None or value is None:
            return True
        if depth == 0:
            return False
        if isinstance(value, tuple | list) and len(value) <= 64:
            return all(self._plain(v, depth - 1) for v in value)
        if isinstance(value, dict) and len(value) <= 64:
            return all(
                isinstance(k, str) and self._plain(v, depth - 1)
                for k, v in value.items()
            )
        return False

    def describe(self):
        return "plain data (numbers, True/False, text, tuples of them)"


class _Scalar(Kind):
    def check(self, value, trusted):
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float) and math.isfinite(value):
            return None
        if isinstance(value, str) and len(value) <= 1000:
            return None
        return "expected a number, True/False or text"

    def describe(self):
        return "a number, True/False or text"


SCALAR = _Scalar()
NAME = Text(200, what="a name")
NONE = Const(None)


class AcceleratorRecord(Kind):
    """The record of an ``accelerate.Accelerator``: its mixed precision, CPU
    flag and gradient accumulation."""

    _KINDS = {
        "mixed_precision": Choice({"no", "fp16", "bf16", "fp8"}),
        "cpu": Boolean(),
        "gradient_accumulation_steps": Integer(1, 100_000),
    }

    def check(self, value, trusted):
        if not isinstance(value, Opaque) or value.name != "accelerator record":
            return f"expected {self.describe()}"
        if set(value.attrs) != set(self._KINDS):
            return f"expected {self.describe()}"
        for key, kind in self._KINDS.items():
            if kind.check(value.attrs[key], trusted):
                return f"expected {self.describe()}"
        return None

    def describe(self):
        return "the record of an accelerate.Accelerator"
