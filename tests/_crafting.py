"""Crafting model files as an attacker would: read a saved file's members,
edit its manifest or its skops.io tree, write it back with true sizes and
SHA-256 (what anyone who edits a file can compute)."""

import hashlib
import io
import json
import zipfile

import skops.io


def members(path):
    """``{name: bytes}`` of a model file."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write(path, parts, *, rehash=True, compression=zipfile.ZIP_STORED):
    """Write ``parts`` as a model archive; with ``rehash`` the manifest gets
    their true SHA-256 and sizes, as a crafted file would."""
    parts = dict(parts)
    if rehash:
        manifest = json.loads(parts["sktransfer.json"])
        listed = manifest.get("members") if isinstance(manifest, dict) else None
        for name, entry in (listed if isinstance(listed, dict) else {}).items():
            if name in parts and isinstance(entry, dict):
                entry["bytes"] = len(parts[name])
                entry["sha256"] = hashlib.sha256(parts[name]).hexdigest()
        parts["sktransfer.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


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


def record(found):
    """The attributes of the top-level estimator record in a schema."""
    return found["content"]["content"]


def with_tree(saved, out, edit):
    """The saved model file with its schema edited by ``edit(schema,
    arrays)`` (in place; it may return new arrays), rehashed."""
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


def with_param(saved, out, name, value_node):
    """The saved model file with its estimator's parameter ``name`` set to
    the node ``value_node``."""

    def edit(found, arrays):
        set_item(record(found)["params"], name, value_node)

    return with_tree(saved, out, edit)


def with_manifest(saved, out, edit):
    """The saved model file with its manifest edited by ``edit(manifest)``."""
    parts = members(saved)
    manifest = json.loads(parts["sktransfer.json"])
    edit(manifest)
    parts["sktransfer.json"] = json.dumps(manifest).encode()
    return write(out, parts)
