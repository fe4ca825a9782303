"""The model tree of a model file, checked as data before skops.io builds it.

``model.skops`` is a zip archive of a JSON schema (a tree of nodes, each
naming a type and the loader that builds it) and NumPy arrays. Before
anything is built:

* the archive stores its members as they are (no compression, no
  encryption) under plain names; each array's header is read, never its
  data, and must describe a non-object array of exactly the member's size;
* the schema parses and nests at most
  :data:`~sktransfer._model_files._archive.MAX_JSON_DEPTH` deep;
* every node's loader is one skops.io writes, and builds only what that
  loader is for: a container node its container, a NumPy node NumPy types,
  a constructor call ``torch.device`` alone (never ``print`` or another
  callable with the file's arguments);
* skops.io builds the first node it meets for every node that shares its
  memo id: such nodes must say the same (but for the memo ids inside them),
  so that every node builds what its own content says, what is checked is
  what is built, and no list contains itself; the array bytes the nodes
  read are counted;
* each estimator record's parameters and fitted attributes are read off
  the tree as data (:mod:`sktransfer._model_files._tree_values`) and checked against
  :mod:`sktransfer._model_files._file_schema`, its history must be plain data, each
  network's weights belong to one record only, and the record of an
  ``Accelerator`` may stand only as an ``AcceleratedCNNClassifier``'s
  ``accelerator``.

What passes is told by its records, each as read (:class:`RecordInfo`), for
``load_model`` and ``inspect_model``.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass

import numpy as np

from ._archive import ModelFileError, archive_members, parse_json
from ._file_schema import check_fitted, check_parameter, schema_of
from ._file_values import Array
from ._member_headers import NPY_HEADER_LIMIT, npy_header
from ._tree_values import RECORDS, TreeReader, quoted, text

__all__ = ["RecordInfo", "check_tree"]

_SCHEMA_LIMIT = 16 << 20
# The bytes the nodes may read: each array once, and some room for an
# honest model that holds one array twice.
_READ_FACTOR = 4
_PLAIN_MEMBER = re.compile(r"[A-Za-z0-9_.-]+")


def _numpy_scalars():
    kinds = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8)
    kinds += (np.uint16, np.uint32, np.uint64, np.float16, np.float32, np.float64)
    kinds += (np.longdouble, np.complex64, np.complex128, np.str_, np.bytes_)
    return frozenset(f"numpy.{t.__name__}" for t in kinds)


_SCALAR_TYPES = _numpy_scalars()
_KEY_TYPES = frozenset(
    {"builtins.str", "builtins.int", "builtins.float", "builtins.bool"}
) | (_SCALAR_TYPES - {"numpy.bytes_"})

# What each loader may build: a set of type names, "named" for the loaders
# that only name a type (referenced, or made by __new__ and its state) and
# leave it to the type allow-list, or a module prefix.
_LOADERS = {
    "JsonNode": "any",
    "DictNode": frozenset({"builtins.dict", "collections.OrderedDict"}),
    "ListNode": frozenset({"builtins.list"}),
    "SetNode": frozenset({"builtins.set", "builtins.frozenset"}),
    "TupleNode": frozenset({"builtins.tuple"}),
    "DefaultDictNode": frozenset({"collections.defaultdict"}),
    "SliceNode": frozenset({"builtins.slice"}),
    "BytesNode": frozenset({"builtins.bytes"}),
    "BytearrayNode": frozenset({"builtins.bytearray"}),
    "ConstructorFromReduceNode": frozenset({"torch.device"}),
    "NdArrayNode": _SCALAR_TYPES | {"numpy.ndarray"},
    "MaskedArrayNode": frozenset({"numpy.ma.MaskedArray", "numpy.ma.core.MaskedArray"}),
    "DTypeNode": frozenset({"numpy.dtype"}),
    "RandomStateNode": frozenset({"numpy.random.mtrand.RandomState"}),
    "RandomGeneratorNode": frozenset({"numpy.random._generator.Generator"}),
    "TypeNode": "named",
    "FunctionNode": "named",
    "ObjectNode": "named",
    "PartialNode": frozenset({"functools.partial"}),
    "MethodNode": "named",
    "OperatorFuncNode": "named",
    "TreeNode": "sklearn.",
    "LossNode": "sklearn.",
    "ReduceNode": "sklearn.",
    "_DictWithDeprecatedKeysNode": "sklearn.",
}
_FILE_LOADERS = ("NdArrayNode", "BytesNode", "BytearrayNode")


@dataclass(frozen=True)
class RecordInfo:
    """An estimator record as the file gives it.

    Attributes
    ----------
    estimator : str
        The class's name.
    params : dict
        Each parameter in the form
        :func:`~sktransfer._model_files._file_values.file_value` gives.
    network : dict or None
        ``{"weights": i, "n_frozen": n}`` of a fitted estimator.
    """

    estimator: str
    params: dict
    network: dict | None


class _Checker(TreeReader):
    """Checks every node of a tree, then each record (see the module)."""

    def __init__(self, path, sizes, headers, trusted, strict):
        super().__init__(path, headers)
        self.strict = strict
        self.sizes = sizes
        self.trusted = trusted
        self.budget = _READ_FACTOR * sum(sizes.values()) + (1 << 20)
        self.records = []
        self.objects = []
        self.ids = {}

    # -- every node ---------------------------------------------------------
    def walk(self, value):
        """Check every node under ``value``; return its digest: all it says
        but memo ids, which skops.io gives afresh to what it writes again
        (the types of a dict's keys). The recursion is as deep as the JSON,
        which :func:`~sktransfer._model_files._archive.parse_json` bounds."""
        if isinstance(value, list):
            digest = hashlib.sha256(b"[")
            for item in value:
                digest.update(self.walk(item))
            return digest.digest()
        if not isinstance(value, dict):
            return hashlib.sha256(repr((type(value).__name__, value)).encode()).digest()
        first = self.node(value) if "__loader__" in value else True
        digest = hashlib.sha256(b"{")
        for key in sorted(value):
            if key != "__id__":
                digest.update(repr(key).encode())
                digest.update(self.walk(value[key]))
        digest = digest.digest()
        memo = value.get("__id__") if "__loader__" in value else None
        if memo and first:
            self.ids[memo] = digest
        elif memo and self.ids[memo] != digest:
            # skops.io builds the first node it meets for all that share its
            # memo id: they must say the same (so that each is what its own
            # content builds, whichever skops.io meets first), and none may
            # hold another.
            self.fail("two nodes share a memo id but differ, or one holds itself")
        return digest

    def node(self, node):
        """Check one node; False for a node whose memo id was met before
        (skops.io builds it from the first, which was checked)."""
        names = [node.get(k) for k in ("__loader__", "__module__", "__class__")]
        if not all(isinstance(n, str) for n in names):
            self.fail("a node without a loader, module and class")
        loader, module, cls = names
        name = f"{module}.{cls}"
        rule = _LOADERS.get(loader) if self.strict else "any"
        if rule is None:
            self.fail(
                f"a node with the loader {quoted(loader)}, which model files "
                "do not use (a node that refers to another, a sparse matrix, "
                "or an unknown loader)"
            )
        if isinstance(rule, frozenset) and name not in rule:
            self.fail(f"a {loader} that builds {quoted(name)}")
        if rule == "sklearn." and not module.startswith(rule):
            self.fail(f"a {loader} that builds {quoted(name)}")
        memo = node.get("__id__")
        if memo is not None and type(memo) not in (int, str):
            self.fail("a node whose memo id is not a number")
        if memo and memo in self.ids:
            return False
        if memo:
            self.ids[memo] = None  # its digest once its children are walked
        if loader in _FILE_LOADERS and node.get("type", "numpy") == "numpy":
            self.read(node.get("file"), array=loader == "NdArrayNode")
        if loader == "DictNode":
            self.key_types(node.get("key_types"))
        if loader == "ObjectNode" and name == RECORDS[0]:
            self.records.append(node)
        elif loader == "ObjectNode" and name == RECORDS[1]:
            self.objects.append(node)
        return True

    def read(self, member, array):
        if not isinstance(member, str) or member not in self.sizes:
            self.fail(f"a node reads the member {quoted(member)}, which is not there")
        if array and member not in self.headers:
            self.fail(
                f"an array node reads {quoted(member)}, which is not a .npy array"
            )
        self.budget -= self.sizes[member]
        if self.budget < 0:
            self.fail("its nodes read the same arrays over and over")

    def key_types(self, node):
        items = node.get("content") if isinstance(node, dict) else None
        if not isinstance(items, list):
            self.fail("a dict without the types of its keys")
        for item in items:
            named = (
                isinstance(item, dict)
                and item.get("__loader__") == "TypeNode"
                and f"{item.get('__module__')}.{item.get('__class__')}" in _KEY_TYPES
            )
            if not named:
                self.fail("a dict whose keys are not made of numbers or text")

    # -- the records ------------------------------------------------------------
    def record(self, node, strict=True):
        attrs = self.attrs(node)
        if not strict:
            estimator = self.value(attrs.get("estimator"))
            return RecordInfo(text(estimator), {}, None)
        if set(attrs) != {"estimator", "params", "fitted", "history", "network"}:
            self.fail(
                f"an estimator record with the attributes {sorted(map(quoted, attrs))}"
            )
        estimator = self.value(attrs["estimator"])
        schema = schema_of(estimator) if isinstance(estimator, str) else None
        if schema is None:
            self.fail(f"a record names the estimator {quoted(estimator)}")
        params = self.value(attrs["params"])
        if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
            self.fail(f"the parameters of a {estimator} are not a dict of names")
        for key, value in params.items():
            reason = check_parameter(estimator, key, value, self.trusted)
            if reason is not None:
                self.fail(
                    f"a {estimator} in it sets the parameter {quoted(key)}: {reason}"
                )
        fitted = self.value(attrs["fitted"])
        if fitted is not None and not isinstance(fitted, dict):
            self.fail(f"the fitted attributes of a {estimator} are not a dict")
        for key, value in (fitted or {}).items():
            reason = check_fitted(key, value)
            if reason is not None:
                self.fail(
                    f"a {estimator} in it has the fitted attribute {quoted(key)}: "
                    f"{reason}"
                )
        history = self.value(attrs["history"])
        if history is not None and not (isinstance(history, list) and _plain(history)):
            self.fail(f"the history of a {estimator} is not a list of plain data")
        network = self.value(attrs["network"])
        if network is not None and not (
            isinstance(network, dict)
            and set(network) == {"weights", "n_frozen"}
            and all(type(v) is int and 0 <= v <= 100_000 for v in network.values())
        ):
            self.fail(
                f"the network of a {estimator} is not a weights index and a count"
            )
        if (network is None) != (fitted is None):
            self.fail(
                f"a {estimator} with fitted attributes and no network, or the reverse"
            )
        return RecordInfo(estimator, params, network)


def _plain(value):
    """None, True/False, numbers, text, arrays of them, and lists, tuples and
    dicts of these (the history)."""
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, Array):
        return value.dtype[1:2] in tuple("biufcUSO")
    if isinstance(value, list | tuple):
        return all(map(_plain, value))
    if isinstance(value, dict):
        return all(map(_plain, value.values()))
    return False


def check_tree(path, data, n_weights, trusted=(), schema=True):
    """Check the model tree ``data`` of the file at ``path`` (see the module).

    Parameters
    ----------
    path : Path
    data : bytes
        The ``model.skops`` member.
    n_weights : int
        The number of weights members the file holds.
    trusted : tuple of str or True, default=()
        Type names the loader trusts besides the allowed set, which a
        parameter that takes a function may name; ``True``: any.
    schema : bool, default=True
        Check what each loader builds and each record's parameters; False
        (``load_model(trusted=True)``) checks the archive, the sizes and the
        memo ids only.

    Returns
    -------
    records : tuple of RecordInfo
        This library's estimators in the tree, each once.

    Raises
    ------
    ModelFileError
        Naming the file and what is wrong.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive_members(path, archive, "model.skops", limit=len(data))
        odd = [n for n in infos if not _PLAIN_MEMBER.fullmatch(n)]
        if "schema.json" not in infos or odd:
            raise ModelFileError(
                path, f"model.skops holds the members {sorted(map(quoted, infos))[:5]}"
            )
        if infos["schema.json"].file_size > _SCHEMA_LIMIT:
            raise ModelFileError(path, "model.skops: its schema is over 16 MiB")
        sizes = {name: info.file_size for name, info in infos.items()}
        headers = {}
        for name, info in infos.items():
            if name.endswith(".npy"):
                with archive.open(info) as stream:
                    head = io.BytesIO(stream.read(NPY_HEADER_LIMIT + 16))
                headers[name] = npy_header(path, name, head, info.file_size)
        tree = parse_json(archive.read("schema.json"), path, "model.skops's schema")
        if not isinstance(tree, dict):
            raise ModelFileError(path, "model.skops: its schema is not a node")
        checker = _Checker(path, sizes, headers, trusted, schema)
        checker.walk(tree)
        records = [checker.record(node, schema) for node in checker.records]
        if schema:
            for node in checker.objects:
                if id(node) not in checker.claimed:
                    checker.fail(
                        "a record of a callback or an accelerator outside an "
                        "estimator's parameters"
                    )
            used = [r.network["weights"] for r in records if r.network is not None]
            if sorted(used) != list(range(n_weights)):
                checker.fail(
                    f"its estimators use the weights {sorted(used)[:8]} of the "
                    f"{n_weights} it holds (each network has its own)"
                )
    return tuple(records)
