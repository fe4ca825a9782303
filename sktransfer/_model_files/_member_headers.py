"""What a member of a model file says of its own contents, read before any
of its data: the shapes of the weights (the safetensors header), the dtype
and shape of each array (the .npy header: :func:`read_array` reads the data
only once its header adds up, never by unpickling), and the summary's fields.
A header that does not add up to its member's size, or a summary field of
another type, is a :class:`~sktransfer.ModelFileError`.
"""

from __future__ import annotations

import io
import math

import numpy as np

from ._archive import ModelFileError, damaged, parse_json, refuse, weights_member

__all__ = [
    "NPY_HEADER_LIMIT",
    "check_summary",
    "npy_header",
    "read_array",
    "weights_shapes",
]

NPY_HEADER_LIMIT = 1 << 16


# The summary's fields: a type, [a list of one kind], (a list of these),
# {a mapping of these}. A field may be None (shown as unknown).
_SUMMARY = {
    "model": str,
    "steps": [(str, str)],
    "classes": list,
    "targets": {"n": int, "mean": [int | float], "sd": [int | float]},
    "image_shape": [int],
    "n_training_images": int,
    "networks": [{"where": str, "pretrained_weights": str}],
}


def _fits(value, kind):
    if isinstance(kind, dict):
        return isinstance(value, dict) and all(
            _fits(value.get(key), item) for key, item in kind.items()
        )
    if isinstance(kind, list):
        return isinstance(value, list) and all(_fits(v, kind[0]) for v in value)
    if isinstance(kind, tuple):
        return (
            isinstance(value, list)
            and len(value) == len(kind)
            and all(map(_fits, value, kind))
        )
    return isinstance(value, kind) and not isinstance(value, bool)


def check_summary(path, summary):
    """The summary ``sktransfer inspect`` prints: a mapping whose fields are
    of the types ``save_model`` writes."""
    if not isinstance(summary, dict):
        refuse(path, "its manifest's summary is not a mapping")
    odd = [
        key
        for key, kind in _SUMMARY.items()
        if summary.get(key) is not None and not _fits(summary[key], kind)
    ]
    if odd:
        refuse(path, f"its manifest's summary has malformed fields {odd}")


def npy_header(path, name, stream, size):
    """``(dtype.str, shape)`` of the .npy member; its data is not read."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(
                stream, max_header_size=NPY_HEADER_LIMIT
            )
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(
                stream, max_header_size=NPY_HEADER_LIMIT
            )
        else:
            raise ValueError(f"the .npy format {version} is not one NumPy writes here")
    except (ValueError, SyntaxError, RecursionError, TypeError, OverflowError) as error:
        raise ModelFileError(
            path, f"the array {name} has a damaged header ({error})"
        ) from error
    if dtype.hasobject:
        raise ModelFileError(
            path,
            f"the array {name} holds Python objects (an object array, read by "
            "unpickling)",
        )
    if stream.tell() + dtype.itemsize * math.prod(shape) != size:
        raise ModelFileError(
            path,
            f"the array {name} says it holds {shape} of {dtype}, "
            f"which is not the {size - stream.tell()} bytes it has",
        )
    return dtype.str, tuple(shape)


def read_array(path, name, data):
    """The array of the .npy member ``name`` (its bytes ``data``): its header
    checked first, its data read without pickle."""
    stream = io.BytesIO(data)
    npy_header(path, name, stream, len(data))
    stream.seek(0)
    return np.load(stream, allow_pickle=False)


# The element sizes of safetensors' dtypes.
_SAFETENSORS_DTYPES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2,
    "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


def weights_shapes(path, blob, index):
    """``{key: shape}`` of the safetensors ``blob`` of network ``index``, read
    off its header alone; each tensor must lie within the blob and have the
    size its dtype and shape give.

    Raises
    ------
    ModelFileError
    """
    member = weights_member(index)
    if len(blob) < 8:
        damaged(path, f"{member} is too short for safetensors")
    size = int.from_bytes(blob[:8], "little")
    if size > len(blob) - 8:
        damaged(path, f"{member}: its header claims {size} bytes")
    header = parse_json(bytes(blob[8 : 8 + size]), path, f"the header of {member}")
    if not isinstance(header, dict):
        refuse(path, f"{member}: its header is not a mapping")
    header.pop("__metadata__", None)
    data = len(blob) - 8 - size
    shapes, spans = {}, []
    for key, entry in header.items():
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        shape = entry.get("shape") if isinstance(entry, dict) else None
        span = entry.get("data_offsets") if isinstance(entry, dict) else None
        ok = (
            dtype in _SAFETENSORS_DTYPES
            and isinstance(shape, list)
            and len(shape) <= 8
            and all(type(n) is int and n >= 0 for n in shape)
            and isinstance(span, list)
            and len(span) == 2
            and all(type(n) is int for n in span)
            and 0 <= span[0] <= span[1] <= data
        )
        if not ok or span[1] - span[0] != math.prod(shape) * _SAFETENSORS_DTYPES[dtype]:
            refuse(path, f"{member}: the entry {repr(key)[:60]} of its header is odd")
        shapes[key] = tuple(shape)
        spans.append(span)
    spans.sort()
    if any(a[1] > b[0] for a, b in zip(spans, spans[1:], strict=False)):
        refuse(path, f"{member}: its tensors overlap")
    return shapes
