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
  and no node calls a type or function with the file's arguments (as
  skops.io's constructor node would call ``print``);
* skops.io builds the first node it meets for every node that shares its
  memo id: such nodes must say the same (but for the memo ids inside them),
  so that every node builds what its own content says, what is checked is
  what is built, and no list contains itself; the array bytes the nodes
  read are counted;
* this library's estimators are not in the tree: each stands there as a
  placeholder for its record (:mod:`sktransfer._model_files._stored`).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile

import numpy as np

from ._archive import JSON_LIMIT, ModelFileError, archive_members, parse_json, quoted
from ._member_headers import NPY_HEADER_LIMIT, npy_header
from ._stored import PLACEHOLDER

__all__ = ["check_tree", "named_types", "schema_size"]

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
    "ConstructorFromReduceNode": frozenset(),
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


class _Checker:
    """Checks every node of a tree (see the module)."""

    def __init__(self, path, sizes, headers, strict):
        self.path = path
        self.headers = headers
        self.strict = strict
        self.sizes = sizes
        self.budget = _READ_FACTOR * sum(sizes.values()) + (1 << 20)
        self.ids = {}
        self.placeholders = set()

    def fail(self, what):
        raise ModelFileError(self.path, f"model.skops: {what}")

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
            self.placeholder(node.get("content"))
        return True

    def placeholder(self, content):
        """Note the record a placeholder stands for."""
        if not (isinstance(content, dict) and list(content) == [PLACEHOLDER]):
            return
        value = content[PLACEHOLDER]
        text = value.get("content") if isinstance(value, dict) else None
        index = (
            parse_json(text, self.path, "a placeholder")
            if isinstance(text, str)
            else None
        )
        if type(index) is not int or value.get("__loader__") != "JsonNode":
            self.fail("a placeholder that does not name a record by its number")
        self.placeholders.add(index)

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


def schema_size(data):
    """The size of the schema of the skops.io dump ``data`` (what the reader
    bounds by :data:`~sktransfer._model_files._archive.JSON_LIMIT`)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.getinfo("schema.json").file_size


def check_tree(path, data, strict=True):
    """Check the model tree ``data`` of the file at ``path`` (see the module).

    Parameters
    ----------
    path : Path
    data : bytes
        The ``model.skops`` member.
    strict : bool, default=True
        Check what each loader builds; False (``load_model(trusted=True)``)
        checks the archive, the sizes and the memo ids only.

    Returns
    -------
    placeholders : set of int
        The records the tree's placeholders stand for.

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
        if infos["schema.json"].file_size > JSON_LIMIT:
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
        checker = _Checker(path, sizes, headers, strict)
        checker.walk(tree)
    return checker.placeholders


def named_types(data):
    """Every type and function the skops.io dump ``data`` names (its schema
    read as JSON, nothing imported)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
    found, stack = set(), [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            module, cls = node.get("__module__"), node.get("__class__")
            if isinstance(module, str) and isinstance(cls, str):
                found.add(f"{module}.{cls}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found
