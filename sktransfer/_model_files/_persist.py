"""Saving and loading fitted models in a file that cannot run code.

:func:`save_model` writes one archive (:mod:`sktransfer._model_files._archive`): a
record of each of this library's estimators in the model, as data, with its arrays
and its network's weights (:mod:`sktransfer._model_files._stored`), and the model's
other steps, if it has some, as skops.io keeps scikit-learn objects. It reads the
members back as :func:`load_model` would before it writes them, so that whatever it
accepts loads. :func:`load_model` reads that format only: it checks the members and
their SHA-256, every value of every record, and refuses any name outside the allowed
set (:mod:`sktransfer._model_files._trust`) before anything is built, then rebuilds
this library's estimators from their parameters and weights
(:mod:`sktransfer._model_files._restoring`); a pickle is refused unread (``sktransfer
convert`` turns one the user trusts into a model file). :func:`inspect_model` shows
what a file holds without building it.
"""

from __future__ import annotations

import json
import math
import platform
import warnings
from datetime import UTC, datetime
from pathlib import Path

import safetensors.torch
import skops.io
import torch

from .._version import __version__
from ._archive import (
    JSON_LIMIT,
    RECORDS,
    TREE,
    ModelFileContents,
    ModelFileError,
    array_member,
    weights_member,
    write_model_file,
)
from ._info import ModelInfo, describe, short
from ._reading import check_contents, existing_file, read_checked, trusted_names
from ._records import check_overrides
from ._restoring import replace_placeholders
from ._stored import store
from ._tree import named_types, schema_size

__all__ = ["inspect_model", "load_model", "save_model"]


def save_model(model, path, *, card=False):
    """Save a fitted estimator or pipeline to one file with no pickle in it.

    Each estimator of this library is kept as a record of its parameters,
    fitted state and history (JSON, its arrays as ``.npy``) and its
    network's weights (safetensors), and rebuilt from them by
    :func:`load_model`; the model's other steps (a scaler, an SVM) are kept
    by skops.io. The members are read back as :func:`load_model` reads
    them before the file is written, so what is saved loads. Optimizer
    state is not kept. A model trained on a GPU loads on a machine without
    one.

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
        function, a user's ``nn.Module``, a tensor outside the weights) or
        holds a value :func:`load_model` would refuse, naming where it is.

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
    records = json.dumps(storing.records, allow_nan=False).encode()
    members = {RECORDS: records}
    members.update(
        (array_member(i), array) for i, array in enumerate(storing.encoder.arrays)
    )
    members.update(
        (weights_member(i), safetensors.torch.save(state))
        for i, state in enumerate(storing.state_dicts)
    )
    if tree is not None:
        try:
            members[TREE] = skops.io.dumps(tree)
        except Exception as error:  # skops raises many types for what it cannot keep
            raise ValueError(
                f"`model`: skops.io cannot keep a part of it as data "
                f"({type(error).__name__}: {error})."
            ) from error
    sizes = {RECORDS: len(records)}
    if tree is not None:
        sizes[TREE] = schema_size(members[TREE])
    for name, size in sizes.items():
        if size > JSON_LIMIT:
            raise ValueError(
                f"`model`: its {name} would hold {size / 2**20:.1f} MiB, over the "
                f"{JSON_LIMIT >> 20} MiB a model file may; it was not saved."
            )
    manifest = {
        "sktransfer_version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "saved": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "summary": describe(model, storing.networks),
    }
    # Read back as load_model reads it, before anything is written: a model
    # saved is a model that loads.
    try:
        checked = check_contents(ModelFileContents(path, manifest, members))
    except ModelFileError as error:
        raise ValueError(
            f"`model` cannot be kept in a model file: {error.what}; it was not saved."
        ) from error
    checked.contents.manifest = write_model_file(path, manifest, members)
    if checked.untrusted:
        warnings.warn(
            f"{path} names types that load_model refuses unless they are "
            f"trusted: {checked.untrusted}. Whoever loads it must pass "
            f"load_model(path, trusted={checked.untrusted}).",
            UserWarning,
            stacklevel=2,
        )
    if card:
        path.with_suffix(".md").write_text(_info(checked).to_markdown())
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
    of this format (a pickle is refused unread, an older format named) with
    exactly the expected members, each of the size and SHA-256 it was saved
    with. Every parameter of this library's estimators must pass the
    estimator's own constraints (the check ``fit`` runs), and none may be
    one that decides what runs here (``compile`` and its options,
    ``callbacks``, the data loaders' workers: the loading program's
    ``params``); the file may name no class, function or type outside the
    allowed set (the estimators of scikit-learn and imbalanced-learn, NumPy,
    torch's optimizers and losses where a parameter takes one). Each network
    is laid out without memory and compared with its weights' shapes before
    it is built.

    Parameters
    ----------
    path : str or path
        A file written by :func:`save_model`.
    trusted : bool or list of str, default=False
        Names (as the refusal lists them) to import or build besides the
        allowed set, a user's own function say; ``True`` trusts any name the
        file gives. A pickle is refused whatever ``trusted`` says: ``sktransfer
        convert`` turns one you trust into a model file.
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
        compressed members, a damaged or truncated file, untrusted names, a
        parameter its estimator refuses, weights that do not fit.
    ValueError
        When ``params`` names a parameter none of the model's estimators take.

    Warns
    -----
    UserWarning
        When the file was saved by another version of sktransfer.
    """
    path = existing_file(path)
    checked = read_checked(path, trusted_names(trusted))
    if checked.untrusted:
        raise ModelFileError(
            path,
            f"names types outside those a model file may hold: {checked.untrusted}",
            message=f"`path` {path} names types outside those a model file may "
            f"hold: {checked.untrusted}; it was not loaded. If you know what they "
            f"are and trust them, pass load_model(path, trusted={checked.untrusted}).",
        )
    records = checked.records
    records.overrides = check_overrides(params, records.records, path)
    try:
        if checked.tree is None:
            model = records.estimator(0)
        else:
            tree = skops.io.loads(checked.tree, trusted=checked.skops_types)
            model = replace_placeholders(tree, records)
    except (ModelFileError, ImportError, MemoryError):
        raise
    except Exception as error:  # a file that passed the checks and still fails
        if "allocate" in str(error):  # the machine's memory, not the file
            raise
        raise ModelFileError(
            path, f"it could not be built ({type(error).__name__}: {error})"
        ) from error
    saved_by = checked.contents.manifest.get("sktransfer_version")
    if saved_by != __version__:
        warnings.warn(
            f"{path} was saved by sktransfer {saved_by!r} and is loaded by "
            f"{__version__}; if it predicts oddly, refit it.",
            UserWarning,
            stacklevel=2,
        )
    return model


def inspect_model(path):
    """What a model file holds, read without building anything.

    Checks the file as :func:`load_model` does (members, sizes, SHA-256,
    every parameter of its estimators) and reads its manifest, the
    parameters of each of its estimators as load_model would use them, and
    the names it gives; no object of the model is created.

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
        parameter its estimator refuses (names the loader would have to
        trust are listed, not refused).
    """
    return _info(read_checked(path))


def _info(checked):
    tree = checked.tree
    types = checked.records.named | (named_types(tree) if tree is not None else set())
    return ModelInfo(
        path=checked.contents.path,
        manifest=checked.contents.manifest,
        types=tuple(sorted(types)),
        untrusted=tuple(checked.untrusted),
        records=tuple(checked.infos),
        n_values=tuple(
            sum(math.prod(shape) for shape in shapes.values())
            for shapes in checked.records.weights.shapes
        ),
    )
