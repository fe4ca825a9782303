"""Saving and loading fitted models: one file, what it needs to read new
images, and a check of the library version it was saved with."""

from __future__ import annotations

import warnings
from pathlib import Path

__all__ = ["fitted_image_shape", "load_model", "save_model"]

FORMAT = "sktransfer-model"


def fitted_image_shape(model):
    """The ``(C, H, W)`` images ``model`` was fitted on, or None.

    Looks at the model, then at the steps of a pipeline (first one that
    knows), so that images for it can be read the same way.
    """
    shape = getattr(model, "image_shape_", None)
    if shape is not None:
        return tuple(int(v) for v in shape)
    for _, step in getattr(model, "steps", []):
        shape = fitted_image_shape(step)
        if shape is not None:
            return shape
    return None


def save_model(model, path):
    """Save a fitted estimator or pipeline to one file.

    The file is a joblib pickle of the model with the library's version and
    the fitted image shape, readable by :func:`load_model` (and by the
    ``sktransfer predict MODEL IMAGES`` command). A model trained on a GPU
    loads on a machine without one.

    Parameters
    ----------
    model : fitted estimator or pipeline
        Anything with ``predict``: a :class:`PretrainedCNNClassifier`, a
        pipeline, the model ``sktransfer study --save-model`` keeps.
    path : str or path
        The file to write (conventionally ``*.joblib``); its folder must
        exist.

    Returns
    -------
    path : Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sktransfer import PretrainedCNNClassifier, load_model, save_model
    >>> from sktransfer.datasets import load_digits_images
    >>> X, y = load_digits_images()
    >>> model = PretrainedCNNClassifier("small_cnn", max_epochs=1).fit(X[:50], y[:50])
    >>> path = save_model(model, pathlib.Path(tempfile.mkdtemp()) / "digits.joblib")
    >>> bool((load_model(path).predict(X[:5]) == model.predict(X[:5])).all())
    True
    """
    import joblib

    from . import __version__

    if not hasattr(model, "predict"):
        raise TypeError(
            f"`model` must be a fitted estimator with predict; got "
            f"{type(model).__name__}."
        )
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"`path` {path}: the folder {path.parent} does not exist; create it first."
        )
    payload = {
        "format": FORMAT,
        "version": __version__,
        "image_shape": fitted_image_shape(model),
        "model": model,
    }
    joblib.dump(payload, path)
    return path


def load_model(path):
    """Load a model written by :func:`save_model` (or a joblib/pickle file of
    an estimator).

    Like any pickle, the file can run code when it is loaded: load only
    files you trust.

    Parameters
    ----------
    path : str or path
        A file written by :func:`save_model`.

    Returns
    -------
    model : estimator or pipeline

    Warns
    -----
    UserWarning
        When the file was saved by another version of sktransfer.
    """
    import joblib

    from . import __version__

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`path` {path} does not exist (or is not a file).")
    try:
        payload = joblib.load(path)
    except Exception as error:  # joblib raises many types for a bad file
        raise ValueError(
            f"`path` {path} is not a saved model ({type(error).__name__}: {error}); "
            "write models with sktransfer.save_model."
        ) from error
    if isinstance(payload, dict) and payload.get("format") == FORMAT:
        if payload["version"] != __version__:
            warnings.warn(
                f"{path} was saved by sktransfer {payload['version']} and is loaded "
                f"by {__version__}; if it predicts oddly, refit it.",
                UserWarning,
                stacklevel=2,
            )
        payload = payload["model"]
    if not hasattr(payload, "predict"):
        raise ValueError(
            f"`path` {path} holds a {type(payload).__name__}, not a model with "
            "predict; write models with sktransfer.save_model."
        )
    return payload
