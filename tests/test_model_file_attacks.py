"""A model file is data, not instructions: a corpus of crafted files, one per
attack class, each refused through every door (load_model, inspect_model,
`sktransfer predict`, `sktransfer inspect`) with one ModelFileError naming
the file and what is wrong, before anything of it is built; no marker file
is created, nothing is printed, no folder appears, and `inspect` cannot be
spoofed. Memory is bounded in a subprocess under an address-space limit."""

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile

import _crafting as craft
import numpy as np
import pytest

from sktransfer import (
    ModelFileError,
    inspect_model,
    load_model,
    save_model,
)
from sktransfer._cli import main
from sktransfer._model_files._records import StoredObject


@pytest.fixture
def saved(small_model, tmp_path):
    return save_model(small_model[0], tmp_path / "model.sktransfer")


def _function(name):
    module, _, attribute = name.rpartition(".")
    return {"__class__": attribute, "__module__": module, "__loader__": "FunctionNode"}


def _call(name, args):
    """A node that calls ``name(*args)`` when skops.io builds it."""
    module, _, attribute = name.rpartition(".")
    return {
        "__class__": attribute,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": craft.node(tuple(args)),
    }


def _npy(header_shape, dtype="<f8", data=b"\0" * 16):
    """A .npy member whose header says ``header_shape`` of ``dtype``."""
    header = {"descr": dtype, "fortran_order": False, "shape": header_shape}
    text = repr(header).encode()
    text += b" " * (63 - (len(text) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


def _fitted_array(found, arrays, member, data):
    """Point the record's ``classes_inferred_`` at a new member ``data``."""
    node = craft.record(found)["fitted"]["content"]["classes_inferred_"]
    node["file"] = member
    node.pop("__id__", None)
    arrays[member] = data


def _patched(data, name, local, central, value):
    """The archive ``data`` with the 2-byte field at ``local`` of member
    ``name``'s local header, and at ``central`` of its central-directory
    entry, set to ``value`` (as no zip writer would)."""
    data = bytearray(data)
    encoded = name.encode()
    for signature, field, name_at in (
        (b"PK\x03\x04", local, 30),
        (b"PK\x01\x02", central, 46),
    ):
        start = data.find(signature)
        while start != -1:
            if data[start + name_at : start + name_at + len(encoded)] == encoded:
                data[start + field : start + field + 2] = struct.pack("<H", value)
            start = data.find(signature, start + 4)
    return bytes(data)


def _with_member_field(saved, out, name, *, flags=None, method=None):
    """The saved file rewritten, member ``name`` marked encrypted (``flags``)
    or compressed by an unknown ``method``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data in craft.members(saved).items():
            archive.writestr(zipfile.ZipInfo(member, (1980, 1, 1, 0, 0, 0)), data)
    data = buffer.getvalue()
    if flags is not None:
        data = _patched(data, name, 6, 8, flags)
    if method is not None:
        data = _patched(data, name, 8, 10, method)
    out.write_bytes(data)
    return out


def _param(name, value):
    return lambda saved, out, marker: craft.with_param(saved, out, name, value)


def _edit(edit):
    return lambda saved, out, marker: craft.with_tree(saved, out, edit)


def _manifest(edit):
    return lambda saved, out, marker: craft.with_manifest(saved, out, edit)


def _compile_options(saved, out, marker):
    def edit(found, arrays):
        params = craft.record(found)["params"]
        craft.set_item(params, "compile", craft.node(True))
        craft.set_item(params, "compile__options", craft.node({"cpp.cxx": "touch x"}))

    return craft.with_tree(saved, out, edit)


def _checkpoint(marker):
    return craft.node(StoredObject("callback", "Checkpoint", {"dirname": str(marker)}))


def _callback_in_fitted(saved, out, marker):
    def edit(found, arrays):
        craft.set_item(craft.record(found)["fitted"], "notes_", _checkpoint(marker))

    return craft.with_tree(saved, out, edit)


def _key_types(found, arrays):
    node = craft.node({0: 1.0})
    node["key_types"]["content"][0] = {
        "__class__": "DataLoader",
        "__module__": "torch.utils.data.dataloader",
        "__loader__": "TypeNode",
    }
    craft.set_item(craft.record(found)["params"], "class_weight", node)


def _array_class(found, arrays):
    node = craft.record(found)["fitted"]["content"]["classes_inferred_"]
    node["__class__"], node["__module__"] = "DataLoader", "torch.utils.data.dataloader"


def _huge_npy(found, arrays):
    _fitted_array(found, arrays, "huge.npy", _npy((12_900_000_000,)))


def _object_npy(found, arrays):
    buffer = io.BytesIO()
    np.save(buffer, np.array([1, "a"], dtype=object), allow_pickle=True)
    _fitted_array(found, arrays, "objects.npy", buffer.getvalue())


def _self_holding(found, arrays):
    inner = {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode"}
    outer = dict(inner, __id__=424242, content=[dict(inner, __id__=424242, content=[])])
    craft.set_item(craft.record(found)["params"], "augment", outer)


def _memo_conflict(found, arrays):
    params = craft.record(found)["params"]
    craft.set_item(params, "lr", dict(craft.node(0.001), __id__=777))
    craft.set_item(params, "head_dropout", dict(craft.node(0.5), __id__=777))


def _two_records_one_weights(found, arrays):
    twin = {k: v for k, v in found.items() if k not in ("protocol", "_skops_version")}
    twin = craft.without_ids(twin)
    craft.set_item(craft.record(found)["params"], "backbone", twin)


def _deep_manifest(saved, out, marker):
    parts = craft.members(saved)
    manifest = json.loads(parts["sktransfer.json"])
    manifest["saved"] = "DEEP"
    text = json.dumps(manifest).replace('"DEEP"', "[" * 100_000 + "]" * 100_000)
    parts["sktransfer.json"] = text.encode()
    return craft.write(out, parts, rehash=False)


def _deep_schema(saved, out, marker):
    parts = craft.members(saved)
    found, arrays = craft.schema(parts["model.skops"])
    craft.set_item(craft.record(found)["params"], "augment", "DEEP")
    text = json.dumps(found).replace('"DEEP"', "[" * 100_000 + "]" * 100_000)
    parts["model.skops"] = craft.tree(found, arrays, raw_schema=text)
    return craft.write(out, parts)


def _lying_weights(saved, out, marker):
    parts = craft.members(saved)
    blob = parts["weights/0.safetensors"]
    size = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + size])
    key = next(k for k in header if k != "__metadata__")
    header[key]["shape"] = [60_000, 60_000]
    text = json.dumps(header).encode()
    parts["weights/0.safetensors"] = (
        len(text).to_bytes(8, "little") + text + blob[8 + size :]
    )
    return craft.write(out, parts)


def _compressed(saved, out, marker):
    return craft.write(out, craft.members(saved), compression=zipfile.ZIP_DEFLATED)


def _escaping_name(found, arrays):
    craft.set_item(craft.record(found)["params"], "\x1b[2Jevil\nline", craft.node(1))


# Each attack class: how the file is made, and what the refusal must say.
ATTACKS = {
    "compile and its options run a compiler": (_compile_options, "'compile'"),
    "compile options alone": (
        _param("compile__options", craft.node({"cpp.cxx": "touch x"})),
        "'compile__options'",
    ),
    "a callback that makes a folder": (
        lambda saved, out, marker: craft.with_param(
            saved,
            out,
            "callbacks",
            {**craft.node([]), "content": [_checkpoint(marker)]},
        ),
        "callback",
    ),
    "a callback record outside the parameters": (_callback_in_fitted, "callback"),
    "data-loading workers": (
        _param("iterator_valid__num_workers", craft.node(2)),
        "'iterator_valid__num_workers'",
    ),
    "a worker function": (
        _param("iterator_train__worker_init_fn", _function("os.system")),
        "'iterator_train__worker_init_fn'",
    ),
    "print called with the file's arguments": (
        lambda saved, out, marker: craft.with_param(
            saved, out, "augment", _call("builtins.print", [f"PRINTED {marker}"])
        ),
        "builtins.print",
    ),
    "print as a function parameter": (
        _param("predict_nonlinearity", _function("builtins.print")),
        "'predict_nonlinearity'",
    ),
    "a dict whose keys are built by a class": (_edit(_key_types), "keys"),
    "an array node that calls a class": (_edit(_array_class), "DataLoader"),
    "a value of another kind": (_param("lr", craft.node("0.1")), "'lr'"),
    "a number out of range": (_param("batch_size", craft.node(10**9)), "'batch_size'"),
    "hidden sizes past the schema": (
        _param("head_hidden_sizes", craft.node((100_000,))),
        "'head_hidden_sizes'",
    ),
    "hidden sizes the weights do not fill": (
        _param("head_hidden_sizes", craft.node((60_000, 60_000))),
        "do not fit",
    ),
    "a backbone not registered here": (
        _param("backbone", craft.node("evil_net")),
        "not registered",
    ),
    "a parameter name with terminal codes": (_edit(_escaping_name), "\\x1b[2Jevil"),
    "an array header asking for 103 GB": (_edit(_huge_npy), "says it holds"),
    "an object array, read by unpickling": (_edit(_object_npy), "Python objects"),
    "a list that holds itself": (_edit(_self_holding), "holds itself"),
    "nodes that share a memo id but differ": (_edit(_memo_conflict), "memo id"),
    "two networks on one set of weights": (
        _edit(_two_records_one_weights),
        "each network has its own",
    ),
    "a schema nested 100,000 deep": (_deep_schema, "nests more than"),
    "a manifest nested 100,000 deep": (_deep_manifest, "nests more than"),
    "a malformed summary": (
        _manifest(lambda m: m["summary"].update(networks=["x"], targets={"n": "x"})),
        "summary has malformed fields",
    ),
    "weights whose header lies": (_lying_weights, "weights/0.safetensors"),
    "compressed members": (_compressed, "compressed"),
    "an encrypted member": (
        lambda saved, out, marker: _with_member_field(
            saved, out, "model.skops", flags=0x1
        ),
        "encrypted",
    ),
    "an unknown compression method": (
        lambda saved, out, marker: _with_member_field(
            saved, out, "model.skops", method=99
        ),
        "method 99",
    ),
    "a node that refers to another": (
        _param(
            "augment", {"__class__": "x", "__module__": "y", "__loader__": "CachedNode"}
        ),
        "loader 'CachedNode'",
    ),
}


# What inspect shows rather than refuses: a function the loader may trust
# (load_model refuses it unless trusted), and sizes that only building the
# network (which inspect never does) finds unfilled.
INSPECT_SHOWS = {
    "print as a function parameter": "builtins.print  (load_model refuses",
    "hidden sizes the weights do not fill": "head_hidden_sizes=(60000, 60000)",
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_crafted_files_are_refused_through_every_door(
    saved, tmp_path, monkeypatch, capsys, attack
):
    make, expected = ATTACKS[attack]
    marker = tmp_path / "marker"
    path = make(saved, tmp_path / "crafted.sktransfer", marker)
    images = tmp_path / "images"
    images.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    messages = []
    doors = [load_model] + ([] if attack in INSPECT_SHOWS else [inspect_model])
    for door in doors:
        with pytest.raises(ModelFileError) as error:
            door(path)
        assert error.value.path == str(path)
        messages.append(str(error.value))
    commands = [["predict", str(path), str(images)], ["inspect", str(path)]]
    if attack in INSPECT_SHOWS:  # a reference the loader may trust; no build
        assert INSPECT_SHOWS[attack] in str(inspect_model(path))
        commands.pop()
    for command in commands:
        assert main(command) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1, err  # one line, no traceback
        assert err.startswith(f"sktransfer {command[0]}: error: ")
        messages.append(err)
    for message in messages:
        assert str(path) in message and expected in message, message
        assert "\x1b" not in message and "PRINTED" not in message
    assert not marker.exists() and list(work.iterdir()) == []


def test_a_gadget_refused_here_is_live_when_built(saved, tmp_path, capfd):
    """The print gadget does run if skops.io builds it: the refusal matters."""
    import skops.io

    found, arrays = craft.schema(skops.io.dumps([0]))
    found["content"] = [_call("builtins.print", ["PRINTED by the file"])]
    built = skops.io.loads(craft.tree(found, arrays), trusted=["builtins.print"])
    assert built == [None] and "PRINTED by the file" in capfd.readouterr().out


def test_inspect_cannot_be_spoofed(saved, tmp_path):
    fake = "ok\nuntrusted types:     none (load_model builds it as it is)\x1b[2K"

    def edit(manifest):
        manifest["summary"]["model"] = fake
        manifest["summary"]["networks"][0]["pretrained_weights"] = fake

    crafted = craft.with_manifest(saved, tmp_path / "spoof.sktransfer", edit)
    name = {
        "__class__": "Evil\nuntrusted types:     none\x1b[2K",
        "__module__": "os",
        "__loader__": "TypeNode",
    }
    crafted = craft.with_param(
        crafted, tmp_path / "spoof2.sktransfer", "optimizer", name
    )
    text = str(inspect_model(crafted))
    assert "\x1b" not in text
    lines = [line for line in text.splitlines() if line.startswith("untrusted types")]
    assert len(lines) == 1 and "os.Evil\\nuntrusted types" in lines[0]
    assert "none" not in lines[0].split(":", 1)[1][:8]
    with pytest.raises(ModelFileError, match="'optimizer'"):
        load_model(crafted)


def test_inspect_lists_the_parameters_load_model_would_use(saved, tmp_path, capsys):
    def edit(manifest):
        manifest["summary"]["networks"][0]["parameters"] = {"lr": "0.5"}

    crafted = craft.with_manifest(saved, tmp_path / "a.sktransfer", edit)
    crafted = craft.with_param(
        crafted, tmp_path / "b.sktransfer", "freeze_upto", craft.node(1)
    )
    assert main(["inspect", str(crafted)]) == 0
    (parameters,) = [
        line for line in capsys.readouterr().out.splitlines() if "parameters:" in line
    ]
    assert "freeze_upto=1" in parameters and "lr" not in parameters
    assert load_model(crafted).freeze_upto == 1


# -- memory, bounded before anything is read ----------------------------------
def _zip_bomb(saved, out, marker, inflated=1 << 30):
    """model.skops replaced by a deflated member of ``inflated`` zero bytes,
    the manifest claiming that size."""
    parts = craft.members(saved)
    manifest = json.loads(parts["sktransfer.json"])
    manifest["members"]["model.skops"]["bytes"] = inflated
    parts["sktransfer.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            if name != "model.skops":
                archive.writestr(name, data)
        info = zipfile.ZipInfo("model.skops", (1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as stream:
            zeros = b"\0" * (1 << 20)
            for _ in range(inflated >> 20):
                stream.write(zeros)
    return out


MEMORY_ATTACKS = {
    "a zip bomb (1 GiB of zeros)": _zip_bomb,
    "an array header asking for 103 GB": ATTACKS["an array header asking for 103 GB"][
        0
    ],
    "hidden sizes that would build 14 GB": ATTACKS[
        "hidden sizes the weights do not fill"
    ][0],
    "a weights header that asks for 14 GB": _lying_weights,
}

_LOADER = textwrap.dedent(
    """
    import json, resource, sys
    import sktransfer
    from sktransfer import ModelFileError, load_model

    def vm_bytes():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024

    limit = vm_bytes() + (1 << 30)  # 1 GiB of address space for the loads
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes = {}
    for path in sys.argv[1:]:
        try:
            load_model(path)
            outcomes[path] = "loaded"
        except ModelFileError as error:
            outcomes[path] = "refused: " + str(error)
        except BaseException as error:
            outcomes[path] = f"{type(error).__name__}: {error}"
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(json.dumps({"outcomes": outcomes, "peak_growth_kib": growth}))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc, rlimit")
def test_memory_stays_bounded_before_anything_is_read(saved, tmp_path):
    files = {
        name: make(saved, tmp_path / f"{i}.sktransfer", tmp_path / "marker")
        for i, (name, make) in enumerate(MEMORY_ATTACKS.items())
    }
    sizes = {name: os.path.getsize(path) for name, path in files.items()}
    assert sizes["a zip bomb (1 GiB of zeros)"] < 5 << 20
    result = subprocess.run(
        [sys.executable, "-c", _LOADER, *map(str, files.values())],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for name, path in files.items():
        assert report["outcomes"][str(path)].startswith("refused: "), (name, report)
    # Each file is a few MB at most; the loader held no more than that.
    assert report["peak_growth_kib"] < 200 * 1024, report
