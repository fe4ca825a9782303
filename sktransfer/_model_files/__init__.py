"""TODO"""

from ._model_file import ModelFileError
from ._model_info import ModelInfo
from ._persist import fitted_image_shape, inspect_model, load_model, save_model

__all__ = [
    "ModelFileError",
    "ModelInfo",
    "fitted_image_shape",
    "inspect_model",
    "load_model",
    "save_model",
]
