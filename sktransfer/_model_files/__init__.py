"""Model files that cannot run code: saving, inspecting and loading
(``_persist.py``); the archive and its checks (``_archive.py``,
``_member_headers.py``); the model tree read as data (``_tree.py``,
``_tree_values.py``) against the file schema (``_file_schema.py``,
``_file_kinds.py``, ``_file_values.py``) and the allowed types
(``_trust.py``); the records kept of this library's estimators
(``_records.py``, ``_stored.py``) and the estimators rebuilt from them
(``_restoring.py``); the summary (``_info.py``) and files written
before the modules moved (``_legacy.py``)."""

from ._archive import ModelFileError
from ._info import ModelInfo
from ._persist import inspect_model, load_model, save_model

__all__ = [
    "ModelFileError",
    "ModelInfo",
    "inspect_model",
    "load_model",
    "save_model",
]
