"""Model files written before the modules moved into folders: the names they
use, read as today's.

Such a file's model tree names this library's types by their old modules
(``sktransfer._stored.StoredEstimator``, ``sktransfer._data.BatchLoader``),
and a ``LabelRelationTransfer``'s source under its old parameter name
``estimator``. :func:`upgrade_tree` rewrites those names before anything
reads the tree, so that the file is checked, listed and loaded as one
written today; any other tree is returned as it is.
"""

from __future__ import annotations

import io
import json
import zipfile

from ._archive import archive_members, parse_json

# The schema of a tree this reads at most (the tree's check refuses more).
SCHEMA_LIMIT = 16 << 20

__all__ = ["RENAMED_MODULES", "RENAMED_PARAMETERS", "upgrade_tree"]

RENAMED_MODULES = {
    "sktransfer._stored": "sktransfer._model_files._records",
    "sktransfer._data": "sktransfer._runtime._batches",
}
RENAMED_PARAMETERS = {"LabelRelationTransfer": {"estimator": "backbone"}}


def _is_legacy(data):
    # Members are stored as they are: the schema's text is in the bytes.
    return any(f'"{old}"'.encode() in data for old in RENAMED_MODULES)


def _renamed(node):
    """``node`` of the schema with today's module and parameter names."""
    if isinstance(node, list):
        return [_renamed(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _renamed(value) for key, value in node.items()}
    module = node.get("__module__")
    if isinstance(module, str) and module in RENAMED_MODULES:
        node["__module__"] = RENAMED_MODULES[module]
    if node.get("__class__") == "StoredEstimator":
        _rename_parameters(node)
    return node


def _rename_parameters(stored):
    """The parameters of a stored estimator under their new names."""
    fields = stored.get("content", {}).get("content", {})
    name = fields.get("estimator", {}).get("content")
    params = fields.get("params", {}).get("content")
    if not isinstance(name, str) or not isinstance(params, dict):
        return
    try:
        name = json.loads(name)
    except ValueError:
        return
    renames = RENAMED_PARAMETERS.get(name, {}) if isinstance(name, str) else {}
    for old, new in renames.items():
        if old in params and new not in params:
            params[new] = params.pop(old)


def upgrade_tree(path, data):
    """The model tree ``data`` (the ``model.skops`` member) with today's names
    where the file was written before the modules moved.

    Parameters
    ----------
    path : Path
        The file, for error messages.
    data : bytes
        The ``model.skops`` member.

    Returns
    -------
    data : bytes
        ``data`` itself, or the same archive with its schema renamed.
    """
    if not _is_legacy(data):
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive_members(path, archive, "model.skops", limit=len(data))
        schema = infos.get("schema.json")
        if schema is None or schema.file_size > SCHEMA_LIMIT:
            return data  # the tree's check refuses it, and says why
        members = {name: archive.read(info) for name, info in infos.items()}
    schema = parse_json(members["schema.json"], path, "model.skops's schema")
    members["schema.json"] = json.dumps(_renamed(schema)).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, member in members.items():
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), member)
    return buffer.getvalue()
