"""What a member of a model file says of its own contents, read before any
of its data: the shapes of the weights (the safetensors header), the dtype
and shape of each of the tree's arrays (the .npy header), and the fields of
the summary that ``sktransfer inspect`` prints. A header that does not add
up to its member's size, or a summary field of another type, is a
:class:`~sktransfer.ModelFileError`.
"""

from __future__ import annotations

import math

import numpy as np

from ._archive import ModelFileError, damaged, parse_json, refuse, weights_member

__all__ = ["NPY_HEADER_LIMIT", "check_summary", "npy_header", "weights_shapes"]

NPY_HEADER_LIMIT = 1 << 16


_SUMMARY = {
    "model": str,
    "steps": list,
    "classes": list,
    "targets": dict,
    "image_shape": list,
    "n_training_images": int,
    "networks": list,
}
_NETWORK = {
    "where": str,
    "estimator": str,
    "backbone": str,
    "pretrained_weights": str,
    "parameters": dict,
    "fitted": dict,
    "classes": list,
    "image_shape": list,
    "n_training_images": int,
    "n_parameters": int,
    "weights_member": str,
}


def _malformed_fields(mapping, fields):
    """The fields of ``mapping`` that are present, not None and of another
    type than ``fields`` gives."""
    return [
        key
        for key, kind in fields.items()
        if mapping.get(key) is not None
        and (not isinstance(mapping[key], kind) or isinstance(mapping[key], bool))
    ]


def _is_text(value):
    return isinstance(value, str)


def check_summary(path, summary):
    """The summary ``sktransfer inspect`` prints: fields of the types
    ``save_model`` writes (a missing field is shown as unknown)."""
    if summary is None:
        return
    if not isinstance(summary, dict):
        refuse(path, "its manifest's summary is not a mapping")
    odd = _malformed_fields(summary, _SUMMARY)
    steps = summary.get("steps") or []
    if isinstance(steps, list) and not all(
        isinstance(step, list) and len(step) == 2 and all(map(_is_text, step))
        for step in steps
    ):
        odd.append("steps")
    targets = summary.get("targets")
    if isinstance(targets, dict) and not (
        type(targets.get("n")) is int
        and all(
            isinstance(targets.get(key), list)
            and all(isinstance(v, int | float) for v in targets[key])
            for key in ("mean", "sd")
        )
    ):
        odd.append("targets")
    for i, network in enumerate(summary.get("networks") or []):
        if not isinstance(network, dict):
            odd.append(f"networks[{i}]")
            continue
        odd += [f"networks[{i}].{k}" for k in _malformed_fields(network, _NETWORK)]
    if odd:
        refuse(path, f"its manifest's summary has malformed fields {odd[:5]}")


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
            path, f"model.skops: the array {name} has a damaged header ({error})"
        ) from error
    if dtype.hasobject:
        raise ModelFileError(
            path,
            f"model.skops: the array {name} holds Python objects (an object "
            "array, read by unpickling)",
        )
    if stream.tell() + dtype.itemsize * math.prod(shape) != size:
        raise ModelFileError(
            path,
            f"model.skops: the array {name} says it holds {shape} of {dtype}, "
            f"which is not the {size - stream.tell()} bytes it has",
        )
    return dtype.str, tuple(shape)


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
