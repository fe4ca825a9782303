"""The model file: one zip archive with no pickle in it.

Its members, and nothing else:

``sktransfer.json``
    The manifest: the format and its version, the library's version, when
    the model was saved, a summary for ``sktransfer inspect``, and the
    SHA-256 and size of every other member.
``model.skops``
    The model as skops.io writes it (a JSON tree of types and values, NumPy
    arrays beside it), this library's estimators in it as records
    (:mod:`sktransfer._stored`).
``weights/<i>.safetensors``
    The weights of network ``i``.

Members are stored uncompressed: weights do not compress, and a member is
read without inflating anything. A file is written under a temporary name
next to its destination and then renamed, so an interrupted save leaves no
half-written model. Reading checks, before anything is built, that the file
is such an archive, that it holds exactly these members under plain names,
and that each member has the size and SHA-256 the manifest gives.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FORMAT",
    "ModelFileContents",
    "not_a_model_file",
    "read_model_file",
    "weights_member",
    "write_model_file",
]

FORMAT = "sktransfer-model"
FORMAT_VERSION = 1
MANIFEST = "sktransfer.json"
TREE = "model.skops"
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)?")
_MANIFEST_LIMIT = 16 << 20
# The first bytes of a pickle (protocol 2 to 5) and of the compressed files
# joblib writes (zlib, gzip, bz2, xz, lzma, lz4).
_PICKLE_STARTS = tuple(bytes([0x80, protocol]) for protocol in range(2, 6))
_COMPRESSED_STARTS = (
    b"\x78\x01",
    b"\x78\x5e",
    b"\x78\x9c",
    b"\x78\xda",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
    b"\x5d\x00\x00",
    b"\x04\x22\x4d\x18",
    b"ZF",
)
_CONVERT = (
    "If you trust the file (you wrote it, or know who did and how it reached "
    "you), convert it once: `sktransfer convert OLD NEW`, or in Python "
    "save_model(load_model(path, trusted=True), new_path)."
)


def weights_member(index):
    """The name of the member that holds the weights of network ``index``."""
    return f"weights/{index}.safetensors"


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def write_model_file(path, manifest, tree, weights):
    """Write the archive; the manifest gets the members' sizes and SHA-256.

    Parameters
    ----------
    path : Path
    manifest : dict
        JSON data; ``format``, ``format_version`` and ``members`` are set here.
    tree : bytes
        The skops.io dump.
    weights : list of bytes
        One safetensors blob per network.

    Returns
    -------
    manifest : dict
        As written.
    """
    members = {TREE: tree}
    members.update({weights_member(i): blob for i, blob in enumerate(weights)})
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **manifest,
        "members": {
            name: {"bytes": len(data), "sha256": _sha256(data)}
            for name, data in members.items()
        },
    }
    handle, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".part"
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            with zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as archive:
                text = json.dumps(manifest, indent=1)
                for name, data in [(MANIFEST, text.encode()), *members.items()]:
                    # A fixed time stamp: equal models, equal members.
                    archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return manifest


@dataclass
class ModelFileContents:
    """The checked members of a model file."""

    path: Path
    manifest: dict
    tree: bytes
    weights: list


def not_a_model_file(path):
    """Why ``path`` is not a model file to open (a pickle, say), or None.

    Reads the first bytes only.
    """
    with open(path, "rb") as stream:
        start = stream.read(8)
    if start.startswith(b"PK\x03\x04"):
        return None
    if start.startswith(_PICKLE_STARTS):
        found = "a pickle (what pickle and joblib write), which runs code when loaded"
    elif start.startswith(_COMPRESSED_STARTS):
        found = (
            "compressed data, as joblib writes a compressed pickle, which runs "
            "code when loaded"
        )
    elif start.startswith(b"PK"):
        found = "a damaged or truncated zip archive"
    else:
        found = f"not a model file (it starts with {start!r})"
    return f"`path` {path} is {found}; it was not loaded. {_CONVERT}"


def _refuse(path, what):
    raise ValueError(
        f"`path` {path}: {what}; it was not loaded. Model files are written by "
        "sktransfer.save_model."
    )


def _damaged(path, what):
    raise ValueError(
        f"`path` {path} is damaged or truncated ({what}); it was not loaded. "
        "Copy the file again from where it was saved."
    )


def _check_names(path, names):
    if len(set(names)) != len(names):
        _refuse(path, "the archive holds a member name twice")
    if MANIFEST not in names:
        what = "a zip archive without sktransfer.json"
        if any(n.endswith("data.pkl") for n in names):
            what = "a torch.save archive, which holds a pickle"
        elif "schema.json" in names:
            what = "a skops.io file, not a sktransfer model file"
        _refuse(path, f"it is {what} (members {sorted(names)[:5]})")
    odd = [n for n in names if not _PLAIN_NAME.fullmatch(n) or ".." in n.split("/")]
    if odd:
        _refuse(path, f"the archive holds members with unsafe names {odd[:5]}")


def _read_manifest(path, archive):
    info = archive.getinfo(MANIFEST)
    if info.file_size > _MANIFEST_LIMIT:
        _refuse(path, f"its manifest has {info.file_size} bytes")
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (json.JSONDecodeError, UnicodeDecodeError, zipfile.BadZipFile) as error:
        _damaged(path, f"the manifest does not read: {error}")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        _refuse(path, "its manifest is not that of a sktransfer model file")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"`path` {path} has model file format {version!r}; this sktransfer "
            f"reads format {FORMAT_VERSION} and earlier. Upgrade sktransfer."
        )
    members = manifest.get("members")
    if not isinstance(members, dict) or not all(
        isinstance(m, dict)
        and isinstance(m.get("bytes"), int)
        and isinstance(m.get("sha256"), str)
        for m in members.values()
    ):
        _refuse(path, "its manifest does not list the members' sizes and SHA-256")
    return manifest


def read_model_file(path):
    """The checked members of the model file at ``path``.

    Raises
    ------
    ValueError
        Naming the file: not a model file, unexpected or unsafe members,
        a damaged or truncated archive, a member whose SHA-256 differs.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            _check_names(path, names)
            manifest = _read_manifest(path, archive)
            listed = manifest["members"]
            n_weights = sum(name.startswith("weights/") for name in listed)
            expected = {TREE, *(weights_member(i) for i in range(n_weights))}
            if set(listed) != expected:
                _refuse(path, f"its manifest lists the members {sorted(listed)}")
            unexpected = sorted(set(names) - expected - {MANIFEST})
            if unexpected:
                _refuse(path, f"the archive holds unexpected members {unexpected[:5]}")
            missing = sorted(expected - set(names))
            if missing:
                _damaged(path, f"the members {missing} are missing")
            data = {}
            for name in sorted(expected):
                info = archive.getinfo(name)
                if info.file_size != listed[name]["bytes"]:
                    _damaged(
                        path,
                        f"{name} has {info.file_size} bytes, the manifest says "
                        f"{listed[name]['bytes']}",
                    )
                data[name] = archive.read(name)
                if _sha256(data[name]) != listed[name]["sha256"]:
                    _damaged(path, f"the SHA-256 of {name} is not the one saved")
    except (zipfile.BadZipFile, EOFError) as error:
        _damaged(path, f"{type(error).__name__}: {error}")
    _check_tree(path, data[TREE])
    return ModelFileContents(
        path=Path(path),
        manifest=manifest,
        tree=data[TREE],
        weights=[data[weights_member(i)] for i in range(n_weights)],
    )


def _check_tree(path, tree):
    """The skops.io archive inside holds a schema and plainly named arrays."""
    try:
        with zipfile.ZipFile(io.BytesIO(tree)) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as error:
        _damaged(path, f"{TREE} is not a zip archive: {error}")
    odd = [n for n in names if not re.fullmatch(r"[A-Za-z0-9_.-]+", n)]
    if "schema.json" not in names or odd:
        _refuse(path, f"{TREE} holds the members {sorted(names)[:5]}")
