"""Values as a model file gives them, read without building anything.

A parameter or fitted attribute of this library's estimators is compared with the file
schema (:mod:`sktransfer._model_files._file_schema`) in this form: plain data as it is,
a class or function as the :class:`Ref` of its name, an array as its :class:`Array`
dtype and shape, an estimator of this library as a :class:`Record` (checked in its own
right), any other object as an :class:`Opaque` of its type's name.
:mod:`sktransfer._model_files._tree_values` reads them off a file's tree;
:func:`file_value` turns a Python value into them, for ``save_model`` to check what it
writes as a loader would.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field

import numpy as np

from ._records import StoredEstimator, StoredObject
from ._trust import type_name

__all__ = ["Array", "Opaque", "Record", "Ref", "file_value", "shown"]


@dataclass(frozen=True)
class Ref:
    """A class or function the file names (a reference, not called)."""

    name: str


@dataclass(frozen=True)
class Array:
    """A NumPy array: its dtype (``dtype.str``) and shape."""

    dtype: str
    shape: tuple


@dataclass(frozen=True)
class Record:
    """An estimator of this library, kept as a record and checked apart."""

    estimator: str


@dataclass(frozen=True)
class Opaque:
    """An object of another type; ``attrs`` holds the plain data it was
    given, for the few kinds that read them."""

    name: str
    attrs: dict = field(default_factory=dict, compare=False)


def file_value(value):
    """``value`` in the form a model file gives it (see the module): a value
    as :mod:`sktransfer._model_files._stored` keeps it, this library's estimators
    already records."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biufU":
        return value.item()
    if isinstance(value, tuple | list):
        return type(value)(file_value(v) for v in value)
    if isinstance(value, dict):
        return {file_value(k): file_value(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return Array(value.dtype.str, tuple(value.shape))
    if isinstance(
        value, type | types.FunctionType | types.BuiltinFunctionType
    ) and hasattr(value, "__name__"):
        return Ref(type_name(value))
    if isinstance(value, StoredEstimator):
        return Record(value.estimator)
    if isinstance(value, StoredObject):
        return Opaque(f"{value.kind} record", dict(value.params))
    if type(value).__name__ == "device" and type(value).__module__ == "torch":
        return str(value)
    if type(value).__name__ == "FrozenEstimator":  # its estimator, stored
        return Opaque(
            type_name(type(value)), {"estimator": file_value(value.estimator)}
        )
    attrs = getattr(value, "__dict__", {})
    plain = {k: file_value(v) for k, v in attrs.items() if _is_plain(v)}
    return Opaque(type_name(type(value)), plain)


def _is_plain(value):
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, tuple | list):
        return all(_is_plain(v) for v in value)
    return False


def shown(value, limit=80):
    """A value in the form a file gives it, for people: a class or function
    by its name, an array by its dtype and shape."""
    if isinstance(value, Ref):
        return value.name
    if isinstance(value, Array):
        return f"an array of {value.dtype} {value.shape}"
    if isinstance(value, Record):
        return f"a fitted {value.estimator}"
    if isinstance(value, Opaque):
        return f"a {value.name}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
