"""A model file read and checked, nothing of it built.

:func:`read_checked` is the one door ``load_model``, ``inspect_model`` and the command
line take: a pickle is refused unread; the archive's members, sizes and SHA-256 are
checked (:mod:`sktransfer._model_files._archive`), the summary's fields and the
weights' headers read (:mod:`sktransfer._model_files._member_headers`), the model tree
checked as data against the file schema (:mod:`sktransfer._model_files._tree`),
and the types it names listed against the allowed set
(:mod:`sktransfer._model_files._trust`). :class:`Weights` gives the networks' shapes
from their headers and their tensors when asked.
"""

from __future__ import annotations

from pathlib import Path

import safetensors.torch
import skops.io

from ._archive import ModelFileError, not_a_model_file, read_model_file
from ._legacy import upgrade_tree
from ._member_headers import check_summary, weights_shapes
from ._restoring import takes
from ._stored import estimator_classes
from ._tree import check_tree
from ._trust import allowed_type_names

__all__ = [
    "Weights",
    "check_overrides",
    "existing_file",
    "read_checked",
    "trusted_names",
    "untrusted_types",
]


def existing_file(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`path` {path} does not exist (or is not a file).")
    return path


def untrusted_types(found, trusted):
    """Of the types skops.io does not trust (``found``), those outside the
    allowed set and ``trusted``."""
    return sorted(set(found) - allowed_type_names() - set(trusted))


def _skops_types(path, tree):
    """The types of the skops.io ``tree`` that skops does not trust by
    default (read off the tree, nothing built)."""
    try:
        return skops.io.get_untrusted_types(data=tree)
    except Exception as error:  # skops raises many types for a bad tree
        raise ModelFileError(
            path, f"its model tree does not read ({type(error).__name__}: {error})"
        ) from error


def trusted_names(trusted):
    if isinstance(trusted, bool):
        return ()
    if isinstance(trusted, str) or not all(isinstance(t, str) for t in trusted):
        raise TypeError(
            "`trusted` must be False, True or a list of type names such as "
            f"'mymodule.my_function'; got {trusted!r}."
        )
    return tuple(trusted)


class Weights:
    """The networks' saved weights: their shapes, read off the headers when
    the file is read; the tensors, loaded when asked."""

    def __init__(self, contents):
        self.contents = contents
        self._shapes = [
            weights_shapes(contents.path, blob, i)
            for i, blob in enumerate(contents.weights)
        ]

    def _blob(self, index):
        if not 0 <= index < len(self.contents.weights):
            raise ModelFileError(
                self.contents.path,
                f"a network refers to weights {index}, which the file does not hold",
            )
        return self.contents.weights[index]

    def shapes(self, index):
        self._blob(index)
        return self._shapes[index]

    def load(self, index):
        try:
            return safetensors.torch.load(self._blob(index))
        except Exception as error:  # safetensors' own error type varies
            raise ModelFileError(
                self.contents.path,
                f"weights/{index}.safetensors does not read as safetensors ({error})",
            ) from error


def read_checked(path, trusted, *, schema=True):
    """The checked contents, weights and model tree of the model file at
    ``path``, and the types skops.io must be told to trust; refuses what is
    not a model file, damaged, or outside the file schema."""
    path = existing_file(path)
    refusal = not_a_model_file(path)
    if refusal is not None:
        raise refusal
    contents = read_model_file(path)
    contents.tree = upgrade_tree(path, contents.tree)
    check_summary(path, contents.manifest.get("summary"))
    weights = Weights(contents)
    names = True if trusted is True or not schema else trusted_names(trusted)
    records = check_tree(path, contents.tree, len(contents.weights), names, schema)
    return contents, weights, records, _skops_types(path, contents.tree)


def check_overrides(params, records, path):
    """``params`` of ``load_model``: a dict of parameter names that some
    estimator of the model takes."""
    if params is None:
        return {}
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise TypeError(f"`params` must be a dict of parameter names; got {params!r}.")
    classes = {estimator_classes().get(r.estimator) for r in records} - {None}
    unknown = sorted(k for k in params if not any(takes(c, k) for c in classes))
    if unknown:
        raise ValueError(
            f"`params`: {unknown} are parameters of none of the estimators of this "
            f"library in {path} ({sorted(c.__name__ for c in classes)})."
        )
    return params
