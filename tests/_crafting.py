"""Crafting model files as an attacker would: read a saved file's members,
edit its manifest, its records (``estimators.json``), its arrays or the
skops.io tree of a pipeline, and write it back with true sizes and SHA-256
(what anyone who edits a file can compute)."""

import hashlib
import io
import json
import zipfile

import numpy as np
import skops.io


def members(path):
    """``{name: bytes}`` of a model file."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write(path, parts, *, rehash=True, compression=zipfile.ZIP_STORED):
    """Write ``parts`` as a model archive; with ``rehash`` the manifest lists
    every other member with its true SHA-256 and size, as a crafted file
    would."""
    parts = dict(parts)
    if rehash:
        manifest = json.loads(parts["sktransfer.json"])
        if isinstance(manifest, dict):
            manifest["members"] = {
                name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                for name, data in parts.items()
                if name != "sktransfer.json"
            }
        parts["sktransfer.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def npy(array):
    """The bytes of ``array`` as a .npy member."""
    buffer = io.BytesIO()
    np.save(
        buffer,
        array,
        allow_pickle=isinstance(array, np.ndarray) and array.dtype.hasobject,
    )
    return buffer.getvalue()


def with_records(saved, out, edit):
    """The saved model file with its records edited by ``edit(records,
    parts)`` (in place; ``parts`` are the file's members, to add arrays
    to), rehashed."""
    parts = members(saved)
    records = json.loads(parts["estimators.json"])
    edit(records, parts)
    parts["estimators.json"] = json.dumps(records).encode()
    return write(out, parts)


def with_param(saved, out, name, value, index=0):
    """The saved model file with parameter ``name`` of record ``index`` set
    to ``value`` (as the file holds it: JSON, tags included)."""

    def edit(records, parts):
        records[index]["params"][name] = value

    return with_records(saved, out, edit)


def with_fitted(saved, out, name, value, index=0):
    """The saved model file with fitted attribute ``name`` of record
    ``index`` set to ``value``."""

    def edit(records, parts):
        records[index]["fitted"][name] = value

    return with_records(saved, out, edit)


def with_manifest(saved, out, edit):
    """The saved model file with its manifest edited by ``edit(manifest)``."""
    parts = members(saved)
    manifest = json.loads(parts["sktransfer.json"])
    edit(manifest)
    parts["sktransfer.json"] = json.dumps(manifest).encode()
    return write(out, parts, rehash=False)


# -- the skops.io tree of a pipeline -------------------------------------------
def schema(tree):
    """The schema and the members of a skops.io archive."""
    with zipfile.ZipFile(io.BytesIO(tree)) as archive:
        return json.loads(archive.read("schema.json")), {
            name: archive.read(name) for name in archive.namelist()
        }


def tree(schema_, arrays, *, raw_schema=None):
    """A skops.io archive of ``schema_`` (or the text ``raw_schema``) and
    the other members of ``arrays``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in arrays.items():
            if name == "schema.json":
                data = raw_schema if raw_schema is not None else json.dumps(schema_)
            archive.writestr(name, data)
    return buffer.getvalue()


def node(value):
    """The skops.io node of ``value``, as it stands in a schema, without
    memo ids (which could meet those of the file it goes into)."""
    found, _ = schema(skops.io.dumps(value))
    for key in ("protocol", "_skops_version"):
        found.pop(key, None)
    return without_ids(found)


def without_ids(value):
    """A node with skops.io's memo ids taken out, at every depth."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k != "__id__"}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def step_attributes(found, index):
    """The dict node of the attributes of step ``index`` of the pipeline
    whose schema is ``found``."""
    steps = found["content"]["content"]["steps"]["content"]
    return steps[index]["content"][1]["content"]


def with_tree(saved, out, edit):
    """The saved model file with its skops.io schema edited by
    ``edit(schema, arrays)`` (in place; it may return new arrays),
    rehashed."""
    parts = members(saved)
    found, arrays = schema(parts["model.skops"])
    arrays = edit(found, arrays) or arrays
    parts["model.skops"] = tree(found, arrays)
    return write(out, parts)


def set_item(dict_node, key, value_node):
    """Set ``key`` (text) of a skops.io dict node, with its key's type."""
    if key not in dict_node["content"]:
        dict_node["key_types"]["content"].append(
            {"__class__": "str", "__module__": "builtins", "__loader__": "TypeNode"}
        )
    dict_node["content"][key] = value_node
