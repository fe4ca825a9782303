"""A model file read and checked, nothing of it built.

:func:`read_checked` is the one door ``load_model``, ``inspect_model`` and the
command line take: a pickle is refused unread; the archive's members, sizes
and SHA-256 are checked (:mod:`sktransfer._model_files._archive`), the
summary's fields and the weights' and arrays' headers read
(:mod:`sktransfer._model_files._member_headers`), the records decoded and
checked (:mod:`sktransfer._model_files._restoring`), the skops.io tree of
the model's other steps, if it has some, checked node by node
(:mod:`sktransfer._model_files._tree`), and the names the file gives listed
against the allowed set (:mod:`sktransfer._model_files._trust`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import safetensors.torch
import skops.io

from ._archive import (
    RECORDS,
    TREE,
    ModelFileContents,
    ModelFileError,
    array_member,
    not_a_model_file,
    parse_json,
    read_model_file,
    refuse,
    weights_member,
)
from ._member_headers import check_summary, read_array, weights_shapes
from ._records import check_structure
from ._restoring import Records
from ._tree import check_tree
from ._trust import allowed_type_names

__all__ = [
    "CheckedFile",
    "check_contents",
    "existing_file",
    "read_checked",
    "trusted_names",
]


def existing_file(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`path` {path} does not exist (or is not a file).")
    return path


def trusted_names(trusted):
    """``load_model``'s ``trusted``: True, or a tuple of names."""
    if isinstance(trusted, bool):
        return True if trusted else ()
    if isinstance(trusted, str) or not all(isinstance(t, str) for t in trusted):
        raise TypeError(
            "`trusted` must be False, True or a list of type names such as "
            f"'mymodule.my_function'; got {trusted!r}."
        )
    return tuple(trusted)


def _skops_types(path, tree):
    """The types of the skops.io ``tree`` that skops does not trust by
    default (read off the tree, nothing built)."""
    try:
        return skops.io.get_untrusted_types(data=tree)
    except Exception as error:  # skops raises many types for a bad tree
        raise ModelFileError(
            path, f"its model tree does not read ({type(error).__name__}: {error})"
        ) from error


class Weights:
    """The networks' saved weights: their shapes, read off the headers when
    the file is read; the tensors, loaded when asked."""

    def __init__(self, path, blobs):
        self.path, self.blobs = path, blobs
        self.shapes = [weights_shapes(path, blob, i) for i, blob in enumerate(blobs)]

    def load(self, index):
        try:
            return safetensors.torch.load(self.blobs[index])
        except Exception as error:  # safetensors' own error type varies
            raise ModelFileError(
                self.path,
                f"{weights_member(index)} does not read as safetensors ({error})",
            ) from error


class _Arrays:
    """The records' arrays: each read (its header first) when first asked
    for, then kept."""

    def __init__(self, contents):
        self.contents, self.read = contents, {}

    def __call__(self, index):
        name = array_member(index)
        if index not in self.read:
            if name not in self.contents.members:
                raise ModelFileError(
                    self.contents.path,
                    f"a record holds the array {name}, which is not there",
                )
            data = self.contents.members[name]
            self.read[index] = read_array(self.contents.path, name, data)
        return self.read[index]


@dataclass
class CheckedFile:
    """A model file whose every part was checked, nothing built.

    Attributes
    ----------
    contents : ModelFileContents
    records : Records
        Its records, checked (``records.check()``), ready to build.
    infos : list of RecordInfo
        Each record as ``load_model`` would use it.
    skops_types : list of str
        The types the skops.io tree names that skops.io does not trust.
    untrusted : list of str
        The names and types outside the allowed set.
    """

    contents: ModelFileContents
    records: Records
    infos: list
    skops_types: list
    untrusted: list

    @property
    def tree(self):
        return self.contents.members.get(TREE)


def read_checked(path, trusted=()):
    """The checked model file at ``path`` (see the module); refuses what is
    not a model file, damaged, or holds a value a record may not."""
    path = existing_file(path)
    refusal = not_a_model_file(path)
    if refusal is not None:
        raise refusal
    return check_contents(read_model_file(path), trusted)


def check_contents(contents, trusted=()):
    """The members of a model file (read, or about to be written), checked
    as :func:`read_checked` checks them."""
    path, members = contents.path, contents.members
    check_summary(path, contents.manifest.get("summary"))
    n_weights = sum(name.startswith("weights/") for name in members)
    weights = Weights(path, [members[weights_member(i)] for i in range(n_weights)])
    records = parse_json(members[RECORDS], path, RECORDS)
    check_structure(path, records, n_weights)
    if TREE not in members and not records:
        refuse(path, "it holds no model (no record and no model.skops)")
    arrays = _Arrays(contents)
    checked = Records(path, records, arrays, weights, trusted)
    skops_types, roots = [], {0}
    if TREE in members:
        roots = check_tree(path, members[TREE], strict=trusted is not True)
        skops_types = _skops_types(path, members[TREE])
    infos = checked.check(roots)
    n_arrays = sum(name.startswith("arrays/") for name in members)
    if len(arrays.read) != n_arrays:
        refuse(path, f"its records use {len(arrays.read)} of its {n_arrays} arrays")
    found = (set(skops_types) - allowed_type_names()) | checked.names
    untrusted = [] if trusted is True else sorted(found - set(trusted))
    return CheckedFile(contents, checked, infos, skops_types, untrusted)
