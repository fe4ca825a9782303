"""The model file: one zip archive with no pickle in it, and nothing else
than its manifest ``sktransfer.json`` (the format and its version, the
library's version, the date, a summary for ``sktransfer inspect``, and the
size and SHA-256 of every other member), the records of this library's
estimators ``estimators.json`` (:mod:`sktransfer._model_files._records`),
their arrays ``arrays/<i>.npy``, each network's weights
``weights/<i>.safetensors`` and, only when the model has steps that are not
this library's, the skops.io tree ``model.skops``.

Members are stored uncompressed: weights do not compress, and a member is
read without inflating anything (a compressed or encrypted member is
refused, so no file makes the reader hold more than its own size). A file
is written whole or not at all. Every refusal is a :class:`ModelFileError`
naming the file and what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .._runtime import written_whole

__all__ = [
    "FORMAT_VERSION",
    "JSON_LIMIT",
    "MAX_JSON_DEPTH",
    "RECORDS",
    "TREE",
    "ModelFileContents",
    "ModelFileError",
    "archive_members",
    "array_member",
    "damaged",
    "not_a_model_file",
    "parse_json",
    "quoted",
    "read_model_file",
    "refuse",
    "weights_member",
    "write_model_file",
]

FORMAT = "sktransfer-model"
FORMAT_VERSION = 2
MANIFEST = "sktransfer.json"
RECORDS = "estimators.json"
TREE = "model.skops"
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)?")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# The most a JSON member (the manifest, the records, skops.io's schema) may
# hold; save_model refuses a model that would need more.
JSON_LIMIT = 16 << 20
MAX_JSON_DEPTH = 200
# The first bytes of a pickle (protocol 2 to 5) and of the compressed files
# joblib writes (zlib, gzip, bz2, xz, lzma, lz4).
_PICKLE_STARTS = tuple(bytes([0x80, protocol]) for protocol in range(2, 6))
_COMPRESSED_STARTS = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda", b"\x1f\x8b",
    b"BZh", b"\xfd7zXZ", b"\x5d\x00\x00", b"\x04\x22\x4d\x18", b"ZF")  # fmt: skip
_CONVERT = (
    "If you trust the file (you wrote it, or know who did and how it reached "
    "you), convert it once: `sktransfer convert OLD NEW`, or in Python "
    "save_model(joblib.load(path), new_path)."
)


def weights_member(index):
    """The name of the member that holds the weights of network ``index``."""
    return f"weights/{index}.safetensors"


def array_member(index):
    """The name of the member that holds array ``index`` of the records."""
    return f"arrays/{index}.npy"


def quoted(value, limit=60):
    """``repr(value)`` cut to ``limit`` characters, for messages: escapes
    keep a file's text from drawing lines of its own."""
    value = repr(value)
    return value if len(value) <= limit else value[: limit - 4] + "...'"


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def write_model_file(path, manifest, members):
    """Write the archive of ``members`` (``{name: bytes}``); returns the
    ``manifest`` as written, with the format and the members' sizes and
    SHA-256."""
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **manifest,
        "members": {
            name: {"bytes": len(data), "sha256": _sha256(data)}
            for name, data in members.items()
        },
    }
    with written_whole(path) as stream:
        with zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as archive:
            text = json.dumps(manifest, indent=1, allow_nan=False)
            for name, data in [(MANIFEST, text.encode()), *members.items()]:
                # A fixed time stamp: equal models, equal members.
                archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
    return manifest


@dataclass
class ModelFileContents:
    """The checked manifest of a model file, and ``{name: bytes}`` of its
    other members."""

    path: Path
    manifest: dict
    members: dict


class ModelFileError(ValueError):
    """A file that :func:`~sktransfer.load_model`, :func:`~sktransfer.inspect_model`
    and ``sktransfer predict`` refuse: not a model file, damaged, or asking
    for what a model file may not (a type outside the allowed set, a
    parameter outside the schema, sizes that do not add up).

    Its message names the file and what is wrong; nothing of the file was
    built. A ``ValueError``, so ``except ValueError`` catches it too.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What is wrong with it.
    message : str or None, default=None
        The whole message; by default ``"`path` PATH: WHAT; it was not
        loaded."``

    Attributes
    ----------
    path : str
    what : str
    """

    def __init__(self, path, what, *, message=None):
        self.path = str(path)
        self.what = what
        super().__init__(message or f"`path` {path}: {what}; it was not loaded.")

    def __reduce__(self):
        return type(self), (self.path, self.what), {"args": self.args}


def not_a_model_file(path):
    """Why ``path`` is not a model file to open (a pickle, say), or None;
    reads its first bytes only."""
    with open(path, "rb") as stream:
        start = stream.read(8)
    if start.startswith(b"PK\x03\x04"):
        return None
    if start.startswith(_PICKLE_STARTS):
        found = "a pickle (what pickle and joblib write), which runs code when loaded"
    elif start.startswith(_COMPRESSED_STARTS):
        found = "compressed data, as joblib writes a pickle, which runs code"
    elif start.startswith(b"PK"):
        found = "a damaged or truncated zip archive"
    else:
        found = f"not a model file (it starts with {start!r})"
    return ModelFileError(
        path, found, message=f"`path` {path} is {found}; it was not loaded. {_CONVERT}"
    )


def refuse(path, what):
    """Raise the :class:`ModelFileError` of a file that is not what
    ``save_model`` writes (``what`` says how)."""
    raise ModelFileError(
        path,
        what,
        message=f"`path` {path}: {what}; it was not loaded. Model files are "
        "written by sktransfer.save_model.",
    )


def damaged(path, what):
    """Raise the :class:`ModelFileError` of a damaged or truncated file."""
    raise ModelFileError(
        path,
        what,
        message=f"`path` {path} is damaged or truncated ({what}); it was not "
        "loaded. Copy the file again from where it was saved.",
    )


def _nests_at_most(value, limit):
    stack = [(value, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return True


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def parse_json(data, path, what):
    """``data`` (text or UTF-8 bytes) as JSON nesting at most
    :data:`MAX_JSON_DEPTH` deep (``NaN`` and ``Infinity``, which are not
    JSON, refused), or a :class:`ModelFileError` naming ``what``."""
    deep = ModelFileError(path, f"{what} nests more than {MAX_JSON_DEPTH} deep")
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise deep from None
    except (ValueError, TypeError) as error:  # UnicodeDecodeError is a ValueError
        raise ModelFileError(path, f"{what} does not read as JSON ({error})") from None
    if not _nests_at_most(value, MAX_JSON_DEPTH):
        raise deep
    return value


def archive_members(path, archive, label, limit):
    """``{name: ZipInfo}`` of ``archive``, each member stored as it is (not
    compressed, not encrypted) and all of them within ``limit`` bytes, so
    that reading one inflates nothing."""
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        refuse(path, f"{label} holds a member name twice")
    for info in infos:
        name = quoted(info.filename)
        if info.flag_bits & 0x1:
            refuse(path, f"{label}: the member {name} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED:
            method = f"method {info.compress_type}"
            refuse(path, f"{label}: the member {name} is compressed ({method})")
        if info.compress_size != info.file_size:
            damaged(path, f"{label}: the sizes of the member {name} disagree")
    if sum(info.file_size for info in infos) > limit:
        damaged(path, f"{label}: its members claim more bytes than it has")
    return dict(zip(names, infos, strict=True))


def _check_names(path, names):
    if MANIFEST not in names:
        what = "a zip archive without sktransfer.json"
        if any(n.endswith("data.pkl") for n in names):
            what = "a torch.save archive, which holds a pickle"
        elif "schema.json" in names:
            what = "a skops.io file, not a sktransfer model file"
        shown = [quoted(n) for n in sorted(names)[:5]]
        refuse(path, f"it is {what} (members {shown})")
    odd = [n for n in names if not _PLAIN_NAME.fullmatch(n) or ".." in n.split("/")]
    if odd:
        shown = [quoted(n) for n in odd[:5]]
        refuse(path, f"the archive holds members with unsafe names {shown}")


def _read_manifest(path, archive):
    info = archive.getinfo(MANIFEST)
    if info.file_size > JSON_LIMIT:
        refuse(path, f"its manifest has {info.file_size} bytes")
    manifest = parse_json(archive.read(MANIFEST), path, "the manifest")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        refuse(path, "its manifest is not that of a sktransfer model file")
    version = manifest.get("format_version")
    if type(version) is not int or version > FORMAT_VERSION:
        raise ModelFileError(
            path,
            f"model file format {version!r}",
            message=f"`path` {path} has model file format {quoted(version)}; this "
            f"sktransfer reads format {FORMAT_VERSION}. Upgrade sktransfer.",
        )
    if version < FORMAT_VERSION:
        saved_by = quoted(manifest.get("sktransfer_version"))
        raise ModelFileError(
            path,
            f"model file format {version}",
            message=f"`path` {path} has model file format {version}, written by "
            f"sktransfer {saved_by}; this sktransfer reads format "
            f"{FORMAT_VERSION} only. Refit the model, or load it with the "
            "version that wrote it, pickle it there and convert the pickle "
            "here (`sktransfer convert OLD NEW`; a pickle runs code: convert "
            "only your own).",
        )
    members = manifest.get("members")
    if not isinstance(members, dict) or not all(
        isinstance(m, dict)
        and type(m.get("bytes")) is int
        and m["bytes"] >= 0
        and isinstance(m.get("sha256"), str)
        and _SHA256.fullmatch(m["sha256"])
        for m in members.values()
    ):
        refuse(path, "its manifest does not list the members' sizes and SHA-256")
    return manifest


def _expected_members(path, listed):
    """The members the manifest lists: the records, the tree at most, and
    arrays and weights numbered from 0 without gaps."""
    expected = {RECORDS} | ({TREE} & set(listed))
    for kind, suffix in (("arrays", "npy"), ("weights", "safetensors")):
        count = sum(name.startswith(f"{kind}/") for name in listed)
        expected |= {f"{kind}/{i}.{suffix}" for i in range(count)}
    if set(listed) != expected:
        shown = [quoted(n) for n in sorted(set(listed) ^ expected)[:5]]
        refuse(path, f"its manifest lists other members than a model file's {shown}")
    return expected


def read_model_file(path):
    """The members of the model file at ``path``: exactly those the
    manifest lists, stored as they are, each of its size and SHA-256."""
    size = Path(path).stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive_members(path, archive, "the archive", limit=size)
            names = list(infos)
            _check_names(path, names)
            manifest = _read_manifest(path, archive)
            listed = manifest["members"]
            expected = _expected_members(path, listed)
            unexpected = sorted(set(names) - expected - {MANIFEST})
            if unexpected:
                shown = [quoted(n) for n in unexpected[:5]]
                refuse(path, f"the archive holds unexpected members {shown}")
            missing = sorted(expected - set(names))
            if missing:
                damaged(path, f"the members {missing[:5]} are missing")
            data = {}
            for name in sorted(expected):
                info = infos[name]
                if info.file_size != listed[name]["bytes"]:
                    damaged(
                        path,
                        f"{name} has {info.file_size} bytes, the manifest says "
                        f"{listed[name]['bytes']}",
                    )
                data[name] = archive.read(info)
                if _sha256(data[name]) != listed[name]["sha256"]:
                    damaged(path, f"the SHA-256 of {name} is not the one saved")
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        # A damaged archive surfaces as any of these from zipfile.
        damaged(path, f"{type(error).__name__}: {error}")
    return ModelFileContents(path=Path(path), manifest=manifest, members=data)
