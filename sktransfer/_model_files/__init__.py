"""Model files that cannot run code: saving, inspecting and loading
(``_persist.py``); the archive and its checks (``_archive.py``,
``_member_headers.py``); values as data, one encoder and one decoder
(``_values.py``); the records kept of this library's estimators and what
they may say (``_stored.py``, ``_records.py``), read back and rebuilt
(``_restoring.py``) through the one door every reader takes
(``_reading.py``); the skops.io tree of a model's other steps checked as
data (``_tree.py``); the names a file may use (``_trust.py``); the summary
(``_info.py``)."""

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
