"""A node of a model file's tree read as data, without building it.

:class:`TreeReader` turns a node of the skops.io schema into the form of
:mod:`sktransfer._model_files._file_values`: JSON scalars as they are, tuples, lists and
dicts of them, a class or function as the :class:`Ref` of its name, an array
as its :class:`Array` dtype and shape (read off its header, never its
data), a ``torch.device`` as its text, this library's estimator records as
:class:`Record` and an ``Accelerator``'s record with its settings, any other
object as an :class:`Opaque` of its type's name and the plain data it holds.
Nothing is imported or called: what a file's parameters say is read before
skops.io builds any of it.
"""

from __future__ import annotations

from ._archive import ModelFileError, parse_json
from ._file_values import Array, Opaque, Record, Ref
from ._records import StoredEstimator, StoredObject
from ._trust import type_name

__all__ = ["RECORDS", "TreeReader", "quoted", "text"]

# The type names of the records a tree may hold.
RECORDS = tuple(type_name(cls) for cls in (StoredEstimator, StoredObject))


def quoted(value, limit=60):
    """``repr(value)`` cut to ``limit`` characters, for messages: escapes
    keep a file's text from drawing lines of its own."""
    value = repr(value)
    return value if len(value) <= limit else value[: limit - 4] + "...'"


def text(value):
    """``value`` if it is text, else its ``repr``."""
    return value if isinstance(value, str) else repr(value)


def _key(kind, key):
    if kind.endswith((".str", ".str_")):
        return key
    try:
        number = float(key) if "float" in kind else int(key)
    except ValueError:
        return key
    return number


class TreeReader:
    """Reads the nodes of the tree of the model file at ``path`` as data.

    Parameters
    ----------
    path : Path
        The model file, for messages.
    headers : dict
        ``{member: (dtype, shape)}`` of the tree's .npy arrays.

    Attributes
    ----------
    claimed : set
        ``id`` of each ``Accelerator`` record read as a parameter's value.
    """

    def __init__(self, path, headers):
        self.path = path
        self.headers = headers
        self.claimed = set()

    def fail(self, what):
        raise ModelFileError(self.path, f"model.skops: {what}")

    def value(self, node):
        """The node in the form of
        :func:`~sktransfer._model_files._file_values.file_value`."""
        if not isinstance(node, dict):
            self.fail("a value that is not a node")
        loader = node.get("__loader__")
        name = f"{node.get('__module__')}.{node.get('__class__')}"
        content = node.get("content")
        if loader == "JsonNode":
            value = parse_json(content, self.path, "a value in model.skops")
            if value is not None and not isinstance(value, bool | int | float | str):
                self.fail("a JSON value that is not a number or text")
            return value
        if loader in ("TupleNode", "ListNode") and isinstance(content, list):
            items = [self.value(item) for item in content]
            return tuple(items) if loader == "TupleNode" else items
        if loader == "DictNode" and isinstance(content, dict):
            keys = [
                f"{t['__module__']}.{t['__class__']}"
                for t in node["key_types"]["content"]
            ]
            if len(keys) != len(content):
                self.fail("a dict with another number of key types than keys")
            return {
                _key(kind, key): self.value(item)
                for kind, (key, item) in zip(keys, content.items(), strict=True)
            }
        if loader in ("TypeNode", "FunctionNode"):
            return Ref(name)
        if loader == "NdArrayNode":
            return self.array(node)
        if loader == "ConstructorFromReduceNode" and name == "torch.device":
            return self.device(content)
        if loader == "ObjectNode":
            return self.object(node, name)
        return Opaque(name)

    def array(self, node):
        if node.get("type") == "json":
            items = [self.value(item) for item in node.get("content") or ()]
            if all(v is None or isinstance(v, bool | int | float | str) for v in items):
                return Array("|O", (len(items),))
            return Opaque("numpy.ndarray")
        header = self.headers.get(node.get("file"))
        return Array(*header) if header else Opaque("numpy.ndarray")

    def device(self, content):
        args = self.value(content)
        if (
            isinstance(args, tuple)
            and 1 <= len(args) <= 2
            and isinstance(args[0], str)
            and (len(args) == 1 or args[1] is None or type(args[1]) is int)
        ):
            return (
                args[0] if len(args) == 1 or args[1] is None else f"{args[0]}:{args[1]}"
            )
        return Opaque("torch.device")

    def object(self, node, name):
        if name == RECORDS[0]:
            return Record(text(self.value(self.attrs(node).get("estimator"))))
        if name == RECORDS[1]:
            self.claimed.add(id(node))
            attrs = self.attrs(node)
            if (
                self.value(attrs.get("kind")) != "accelerator"
                or self.value(attrs.get("name")) != "Accelerator"
            ):
                self.fail(
                    "a record of a callback or another object (model files keep none)"
                )
            params = self.value(attrs.get("params"))
            return Opaque(
                "accelerator record", params if isinstance(params, dict) else {}
            )
        attrs = self.attrs(node) if node.get("content") is not None else {}
        read = {}
        for key, item in attrs.items():
            value = self.value(item)
            if not isinstance(value, Opaque) or name.endswith("FrozenEstimator"):
                read[key] = value
        return Opaque(name, read)

    def attrs(self, node):
        content = node.get("content")
        if not (
            isinstance(content, dict)
            and content.get("__loader__") == "DictNode"
            and isinstance(content.get("content"), dict)
        ):
            self.fail(
                f"an object of {quoted(node.get('__class__'))} without its attributes"
            )
        return content["content"]
