"""Saving and loading fitted models in a file that cannot run code.

:func:`save_model` writes one archive (:mod:`sktransfer._model_files._archive`): the
model as skops.io keeps scikit-learn objects, with this library's estimators in it as
records of their parameters and fitted state (:mod:`sktransfer._model_files._stored`)
and their networks' weights as safetensors. :func:`load_model` reads that format only:
it checks the members and their SHA-256, refuses any type outside the allowed set
(:mod:`sktransfer._model_files._trust`) before anything is built, and rebuilds this
library's estimators from their parameters and weights
(:mod:`sktransfer._model_files._restoring`). A pickle (what earlier versions wrote) is
loaded only with ``trusted=True``, with a warning. :func:`inspect_model` shows what a
file holds without building it.
"""

from __future__ import annotations

import platform
import warnings
from datetime import UTC, datetime
from pathlib import Path

import joblib
import safetensors.torch
import skops.io
import torch

from .._version import __version__
from ._archive import ModelFileError, not_a_model_file, write_model_file
from ._info import ModelInfo, describe, named_types, short
from ._reading import (
    check_overrides,
    existing_file,
    read_checked,
    trusted_names,
    untrusted_types,
)
from ._restoring import restore
from ._stored import store

__all__ = ["inspect_model", "load_model", "save_model"]


def save_model(model, path, *, card=False):
    """Save a fitted estimator or pipeline to one file with no pickle in it.

    The file holds the model's parameters and fitted state as data (skops.io
    for scikit-learn and imbalanced-learn objects) and the weights of its
    networks as safetensors, with the SHA-256 of each part. This library's
    estimators are kept as their parameters and weights and rebuilt from
    them by :func:`load_model`, which builds nothing outside a fixed set of
    types; optimizer state is not kept. A model trained on a GPU loads on a
    machine without one.

    Parameters
    ----------
    model : fitted estimator or pipeline
        Anything with ``predict`` or ``transform``: the three estimators and
        ``AcceleratedCNNClassifier``, scikit-learn and imbalanced-learn
        pipelines around them, the model ``sktransfer study --save-model``
        keeps.
    path : str or path
        The file to write (conventionally ``*.sktransfer``); its folder must
        exist. An existing file is replaced once the new one is complete.
    card : bool, default=False
        Also write a short Markdown model card next to it (``path`` with the
        suffix ``.md``).

    Returns
    -------
    path : Path

    Raises
    ------
    ValueError
        When a part of the model cannot be kept as data (a lambda, a local
        function, a user's ``nn.Module``, a tensor outside the weights),
        naming where it is.

    Warns
    -----
    UserWarning
        When the file names types that :func:`load_model` refuses unless the
        loader trusts them (a user's own function, say).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sktransfer import PretrainedCNNClassifier, load_model, save_model
    >>> from sktransfer.datasets import load_digits_images
    >>> X, y = load_digits_images()
    >>> model = PretrainedCNNClassifier("small_cnn", max_epochs=1).fit(X[:50], y[:50])
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> path = save_model(model, folder / "digits.sktransfer")
    >>> bool((load_model(path).predict(X[:5]) == model.predict(X[:5])).all())
    True
    """
    if not (hasattr(model, "predict") or hasattr(model, "transform")):
        raise TypeError(
            "`model` must be a fitted estimator with predict or transform; got "
            f"{type(model).__name__}."
        )
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"`path` {path}: the folder {path.parent} does not exist; create it first."
        )
    tree, storing = store(model)
    if storing.left_out:
        _warn_left_out(path, storing.left_out)
    try:
        dump = skops.io.dumps(tree)
    except Exception as error:  # skops raises many types for what it cannot keep
        raise ValueError(
            f"`model`: skops.io cannot keep a part of it as data "
            f"({type(error).__name__}: {error})."
        ) from error
    manifest = write_model_file(
        path,
        {
            "sktransfer_version": __version__,
            "torch_version": torch.__version__,
            "python_version": platform.python_version(),
            "saved": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "summary": describe(model, storing.networks),
        },
        dump,
        [safetensors.torch.save(state) for state in storing.state_dicts],
    )
    untrusted = untrusted_types(skops.io.get_untrusted_types(data=dump), ())
    if untrusted:
        warnings.warn(
            f"{path} names types that load_model refuses unless they are "
            f"trusted: {untrusted}. Whoever loads it must pass "
            f"load_model(path, trusted={untrusted}).",
            UserWarning,
            stacklevel=2,
        )
    if card:
        info = ModelInfo(path, manifest, tuple(named_types(dump)), tuple(untrusted))
        path.with_suffix(".md").write_text(info.to_markdown())
    return path


def _warn_left_out(path, left_out):
    settings = ", ".join(f"{key}={short(value)}" for _, key, value in left_out)
    names = sorted({key for _, key, _ in left_out})
    warnings.warn(
        f"{path} leaves out {settings}: a model file does not decide what runs "
        "where it is loaded (compilation, callbacks, data-loading workers). "
        f"The program that loads it sets them: load_model(path, params={{...}}) "
        f"with {names}.",
        UserWarning,
        stacklevel=3,
    )


def load_model(path, *, trusted=False, params=None):
    """Load a model written by :func:`save_model`, building nothing untrusted.

    Before anything is built, the file is checked: it must be a model file
    (a pickle is refused unread) whose members are stored as they are, hold
    exactly the expected members, each with the size and SHA-256 it was saved
    with, name no type outside the allowed set (scikit-learn's and
    imbalanced-learn's estimators, NumPy, this library's records of its
    estimators, rebuilt from their parameters and weights, never unpickled,
    and the classes they take as parameters), and set no parameter of this
    library's estimators outside the file schema: a value of its declared
    kind, and none of the parameters that decide what runs here (``compile``
    and its options, ``callbacks``, the data loaders' workers), which are the
    loading program's (``params``). Each network is laid out without memory
    and compared with its weights' shapes before it is built.

    Parameters
    ----------
    path : str or path
        A file written by :func:`save_model`.
    trusted : bool or list of str, default=False
        A list of type names (as the refusal lists them) to build besides the
        allowed set, and to accept where a parameter takes a function. ``True``
        trusts the file entirely: any type and any parameter in a model file,
        and a pickle or joblib file of an earlier version, which runs whatever
        code it holds while it loads (with a warning); for files you wrote or
        whose sender you trust, to convert them once.
    params : dict or None, default=None
        Parameters this program sets on every estimator of this library in the
        model that has them, over the file's: what runs on this machine, such
        as ``{"device": "cpu"}``, ``{"compile": True}``,
        ``{"iterator_valid__num_workers": 4}`` or ``{"callbacks": [...]}``.

    Returns
    -------
    model : estimator or pipeline

    Raises
    ------
    ModelFileError
        Naming the file and what was found: a pickle, unexpected, unsafe or
        compressed members, a damaged or truncated file, untrusted types, a
        parameter outside the file schema, weights that do not fit.
    ValueError
        When ``params`` names a parameter none of the model's estimators take.

    Warns
    -----
    UserWarning
        When the file was saved by another version of sktransfer, and when
        ``trusted=True`` loads a pickle.
    """
    path = existing_file(path)
    extra = trusted_names(trusted)
    if trusted is True and not_a_model_file(path) is not None:
        return _load_pickle(path)
    contents, weights, records, found = read_checked(
        path, trusted, schema=trusted is not True
    )
    untrusted = untrusted_types(found, extra)
    if untrusted and trusted is not True:
        raise ModelFileError(
            path,
            f"names types outside those a model file may hold: {untrusted}",
            message=f"`path` {path} names types outside those a model file may "
            f"hold: {untrusted}; it was not loaded. If you know what they are and "
            f"trust them, pass load_model(path, trusted={untrusted}).",
        )
    overrides = check_overrides(params, records, path)
    try:
        tree = skops.io.loads(contents.tree, trusted=found)
        model = restore(tree, weights, str(path), overrides)
    except (ModelFileError, ImportError, MemoryError):
        raise
    except Exception as error:  # a file that passed the checks and still fails
        if "allocate" in str(error):  # the machine's memory, not the file
            raise
        raise ModelFileError(
            path, f"it could not be built ({type(error).__name__}: {error})"
        ) from error
    saved_by = contents.manifest.get("sktransfer_version")
    if saved_by != __version__:
        warnings.warn(
            f"{path} was saved by sktransfer {saved_by!r} and is loaded by "
            f"{__version__}; if it predicts oddly, refit it.",
            UserWarning,
            stacklevel=2,
        )
    return model


def _load_pickle(path):
    """A pickle or joblib file of an earlier version, trusted by the caller."""
    warnings.warn(
        f"load_model({str(path)!r}, trusted=True) loads a pickle, which runs any "
        "code it holds while it loads. Convert it once with save_model and share "
        "the new file instead.",
        UserWarning,
        stacklevel=3,
    )
    try:
        payload = joblib.load(path)
    except Exception as error:  # joblib raises many types for a bad file
        raise ValueError(
            f"`path` {path} is not a saved model ({type(error).__name__}: {error})."
        ) from error
    if isinstance(payload, dict) and payload.get("format") == "sktransfer-model":
        if payload.get("version") != __version__:
            warnings.warn(
                f"{path} was saved by sktransfer {payload.get('version')} and is "
                f"loaded by {__version__}; if it predicts oddly, refit it.",
                UserWarning,
                stacklevel=3,
            )
        payload = payload.get("model")
    if not (hasattr(payload, "predict") or hasattr(payload, "transform")):
        raise ValueError(
            f"`path` {path} holds a {type(payload).__name__}, not a model with predict."
        )
    return payload


def inspect_model(path):
    """What a model file holds, read without building anything.

    Checks the file as :func:`load_model` does (members, sizes, SHA-256, the
    file schema of every parameter) and reads its manifest, the parameters
    of each of its estimators as load_model would use them, and the types
    its skops.io tree names; no object of the model is created.

    Parameters
    ----------
    path : str or path
        A file written by :func:`save_model`.

    Returns
    -------
    info : ModelInfo
        ``print(info)`` shows the library version, the estimator and its
        steps, the classes, each network's backbone, where its pretrained
        weights came from and the SHA-256 of the saved ones, every parameter
        that differs from the defaults, the image shape, the number of
        training images, the date, and the types the file names; text from
        the file is shown escaped.

    Raises
    ------
    ModelFileError
        As :func:`load_model`, for a file that is not a model file or sets a
        parameter outside the file schema (types the loader would have to
        trust are listed, not refused).
    """
    contents, _, records, found = read_checked(path, True)
    return ModelInfo(
        path=contents.path,
        manifest=contents.manifest,
        types=tuple(named_types(contents.tree)),
        untrusted=tuple(untrusted_types(found, ())),
        records=records,
    )
