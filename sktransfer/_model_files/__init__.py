"""TODO"""

from ._model_file import ModelFileError
from ._model_info import ModelInfo
from ._persist import inspect_model, load_model, save_model

__all__ = [
    "ModelFileError",
    "ModelInfo",
    "inspect_model",
    "load_model",
    "save_model",
]
