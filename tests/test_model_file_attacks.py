"""A model file is data, not instructions: a corpus of crafted files, one per
attack class, each refused through every door (load_model, inspect_model,
`sktransfer predict`, `sktransfer inspect`) with one ModelFileError naming
the file and what is wrong, before anything of it is built; no marker file
is created, nothing is printed, no folder appears, and `inspect` cannot be
spoofed. The attacks reach every member: the manifest, the records of this
library's estimators, their arrays and weights, and the skops.io tree of a
pipeline's other steps. Memory is bounded in a subprocess under an
address-space limit."""

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


@pytest.fixture
def saved(small_model, tmp_path):
    return save_model(small_model[0], tmp_path / "model.sktransfer")


@pytest.fixture
def piped(small_pipeline, tmp_path):
    return save_model(small_pipeline, tmp_path / "pipeline.sktransfer")


def _function(name):
    module, _, attribute = name.rpartition(".")
    return {"__class__": attribute, "__module__": module, "__loader__": "FunctionNode"}


def _call(name, args):
    """A skops.io node that calls ``name(*args)`` when skops.io builds it."""
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


# Each maker: (saved model, saved pipeline, out, marker) -> the crafted file.
def _param(name, value):
    return lambda saved, piped, out, marker: craft.with_param(saved, out, name, value)


def _fitted(name, value):
    return lambda saved, piped, out, marker: craft.with_fitted(saved, out, name, value)


def _records(edit):
    return lambda saved, piped, out, marker: craft.with_records(saved, out, edit)


def _tree(edit):
    return lambda saved, piped, out, marker: craft.with_tree(piped, out, edit)


def _manifest(edit):
    return lambda saved, piped, out, marker: craft.with_manifest(saved, out, edit)


def _scaler(name, node):
    """A tree edit: the pipeline's scaler gets the attribute ``name`` =
    ``node``."""

    def edit(found, arrays):
        craft.set_item(craft.step_attributes(found, 1), name, node)

    return _tree(edit)


def _compile_options(records, parts):
    records[0]["params"].update(compile=True, compile__options={"cpp.cxx": "touch x"})


def _checkpoint(marker):
    return {"__ref__": "skorch.callbacks.Checkpoint", "dirname": str(marker)}


def _array(member, data):
    """A records edit: ``classes_inferred_`` read from a new member."""

    def edit(records, parts):
        parts[member] = data
        index = int(member.split("/")[1].split(".")[0])
        records[0]["fitted"]["classes_inferred_"] = {"__array__": index}

    return edit


def _object_npy():
    buffer = io.BytesIO()
    np.save(buffer, np.array([1, "a"], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def _key_types(found, arrays):
    node = craft.node({0: 1.0})
    node["key_types"]["content"][0] = {
        "__class__": "DataLoader",
        "__module__": "torch.utils.data.dataloader",
        "__loader__": "TypeNode",
    }
    craft.set_item(craft.step_attributes(found, 1), "weights_", node)


def _array_class(found, arrays):
    node = craft.step_attributes(found, 1)["content"]["scale_"]
    node["__class__"], node["__module__"] = "DataLoader", "torch.utils.data.dataloader"


def _self_holding(found, arrays):
    inner = {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode"}
    outer = dict(inner, __id__=424242, content=[dict(inner, __id__=424242, content=[])])
    craft.set_item(craft.step_attributes(found, 1), "notes_", outer)


def _memo_conflict(found, arrays):
    attributes = craft.step_attributes(found, 1)
    craft.set_item(attributes, "a_", dict(craft.node(0.001), __id__=777))
    craft.set_item(attributes, "b_", dict(craft.node(0.5), __id__=777))


def _two_records_one_weights(records, parts):
    records.append(json.loads(json.dumps(records[0])))
    records[0]["params"]["backbone"] = {"__estimator__": 1}


def _deep(text, member):
    return text.replace('"DEEP"', "[" * 100_000 + "]" * 100_000).encode()


def _deep_manifest(saved, piped, out, marker):
    parts = craft.members(saved)
    manifest = json.loads(parts["sktransfer.json"])
    manifest["saved"] = "DEEP"
    parts["sktransfer.json"] = _deep(json.dumps(manifest), "sktransfer.json")
    return craft.write(out, parts, rehash=False)


def _deep_records(saved, piped, out, marker):
    parts = craft.members(saved)
    records = json.loads(parts["estimators.json"])
    records[0]["params"]["augment"] = "DEEP"
    parts["estimators.json"] = _deep(json.dumps(records), "estimators.json")
    return craft.write(out, parts)


def _deep_schema(saved, piped, out, marker):
    parts = craft.members(piped)
    found, arrays = craft.schema(parts["model.skops"])
    craft.set_item(craft.step_attributes(found, 1), "notes_", "DEEP")
    text = _deep(json.dumps(found), "schema.json").decode()
    parts["model.skops"] = craft.tree(found, arrays, raw_schema=text)
    return craft.write(out, parts)


def _lying_weights(saved, piped, out, marker):
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


def _compressed(saved, piped, out, marker):
    return craft.write(out, craft.members(saved), compression=zipfile.ZIP_DEFLATED)


def _escaping_name(records, parts):
    records[0]["params"]["\x1b[2Jevil\nline"] = 1


def _placeholder(index):
    def edit(found, arrays):
        steps = found["content"]["content"]["steps"]["content"]
        steps[2]["content"][1] = craft.node({"sktransfer.estimator": index})

    return _tree(edit)


# Each attack class: how the file is made, and what the refusal must say.
ATTACKS = {
    "compile and its options run a compiler": (_records(_compile_options), "'compile'"),
    "compile options alone": (
        _param("compile__options", {"cpp.cxx": "touch x"}),
        "'compile__options'",
    ),
    "a callback that makes a folder": (
        lambda saved, piped, out, marker: craft.with_param(
            saved, out, "callbacks", [_checkpoint(marker)]
        ),
        "'callbacks'",
    ),
    "a callback in the fitted attributes": (
        _fitted("notes_", _checkpoint("x")),
        "where data belongs",
    ),
    "data-loading workers": (
        _param("iterator_valid__num_workers", 2),
        "'iterator_valid__num_workers'",
    ),
    "a worker function": (
        _param("iterator_train__worker_init_fn", {"__ref__": "os.system"}),
        "'iterator_train__worker_init_fn'",
    ),
    "os.system as a function parameter": (
        _param("augment", {"__ref__": "os.system"}),
        "os.system",
    ),
    "print as a function parameter": (
        _param("predict_nonlinearity", {"__ref__": "builtins.print"}),
        "builtins.print",
    ),
    "an allowed class where another kind belongs": (
        _param("iterator_valid", {"__ref__": "torch.optim.SGD"}),
        "torch.optim.SGD",
    ),
    "an object outside its parameter": (
        _param(
            "device",
            {
                "__accelerator__": {
                    "mixed_precision": "no",
                    "cpu": True,
                    "gradient_accumulation_steps": 1,
                }
            },
        ),
        "outside `accelerator`",
    ),
    "a tag that names nothing": (_param("augment", {"__eval__": "print(1)"}), "tag"),
    "a dict whose keys are references": (
        _param("class_weight", {"__dict__": [[{"__ref__": "os.system"}, 1.0]]}),
        "pairs of a number or text",
    ),
    "a NumPy scalar of a class": (
        _param("lr", {"__numpy__": ["DataLoader", 1]}),
        "NumPy scalar",
    ),
    "a NumPy scalar out of its range": (
        _param("batch_size", {"__numpy__": ["int8", 300]}),
        "int8",
    ),
    "a value of another kind": (_param("lr", "0.1"), "'lr'"),
    "a number out of range": (_param("batch_size", 10**9), "'batch_size'"),
    "a fitted attribute of another kind": (_fitted("pixel_max_", "x"), "pixel_max_"),
    "a fitted attribute no fit writes": (_fitted("initialized_", True), "initialized_"),
    "hidden sizes the weights do not fill": (
        _param("head_hidden_sizes", {"__tuple__": [60_000, 60_000]}),
        "do not fit",
    ),
    "a backbone not registered here": (
        _param("backbone", "evil_net"),
        "not a registered backbone",
    ),
    "a parameter name with terminal codes": (_records(_escaping_name), "\\x1b[2Jevil"),
    "an array header asking for 103 GB": (
        _records(_array("arrays/1.npy", _npy((12_900_000_000,)))),
        "says it holds",
    ),
    "an object array, read by unpickling": (
        _records(_array("arrays/1.npy", _object_npy())),
        "Python objects",
    ),
    "an array the file has not": (
        _fitted("classes_inferred_", {"__array__": 7}),
        "arrays/7.npy",
    ),
    "an estimator that holds itself": (
        _param("backbone", {"__estimator__": 0}),
        "holds itself",
    ),
    "two networks on one set of weights": (
        _records(_two_records_one_weights),
        "each network has its own",
    ),
    "records nested 100,000 deep": (_deep_records, "nests more than"),
    "a manifest nested 100,000 deep": (_deep_manifest, "nests more than"),
    "a malformed summary": (
        _manifest(lambda m: m["summary"].update(networks=["x"], targets={"n": "x"})),
        "summary has malformed fields",
    ),
    "a summary of another type": (
        _manifest(lambda m: m["summary"].update(networks=5)),
        "summary has malformed fields",
    ),
    "no summary": (_manifest(lambda m: m.update(summary=None)), "not a mapping"),
    "weights whose header lies": (_lying_weights, "weights/0.safetensors"),
    "compressed members": (_compressed, "compressed"),
    "an encrypted member": (
        lambda saved, piped, out, marker: _with_member_field(
            saved, out, "estimators.json", flags=0x1
        ),
        "encrypted",
    ),
    "an unknown compression method": (
        lambda saved, piped, out, marker: _with_member_field(
            saved, out, "estimators.json", method=99
        ),
        "method 99",
    ),
    # The skops.io tree of the pipeline's other steps.
    "print called with the file's arguments": (
        _scaler("notes_", _call("builtins.print", ["PRINTED"])),
        "builtins.print",
    ),
    "os.system in the tree": (_scaler("notes_", _function("os.system")), "os.system"),
    "a dict whose keys are built by a class": (_tree(_key_types), "keys"),
    "an array node that calls a class": (_tree(_array_class), "DataLoader"),
    "a list that holds itself": (_tree(_self_holding), "holds itself"),
    "nodes that share a memo id but differ": (_tree(_memo_conflict), "memo id"),
    "a schema nested 100,000 deep": (_deep_schema, "nests more than"),
    "a node that refers to another": (
        _scaler(
            "notes_", {"__class__": "x", "__module__": "y", "__loader__": "CachedNode"}
        ),
        "loader 'CachedNode'",
    ),
    "a placeholder of a record the file has not": (_placeholder(5), "record 5"),
    "a record no estimator is": (
        _records(
            lambda records, parts: records.append(
                dict(records[0], fitted=None, history=None, weights=None, n_frozen=None)
            )
        ),
        "of no estimator",
    ),
}


# What inspect shows rather than refuses: a function the loader may trust
# (load_model refuses it unless trusted), and sizes that only building the
# network (which inspect never does) finds unfilled.
INSPECT_SHOWS = {
    "os.system as a function parameter": "os.system  (load_model refuses",
    "print as a function parameter": "builtins.print  (load_model refuses",
    "an allowed class where another kind belongs": "torch.optim.SGD  (load_model",
    "os.system in the tree": "os.system  (load_model refuses",
    "hidden sizes the weights do not fill": "head_hidden_sizes=(60000, 60000)",
    "a backbone not registered here": "backbone:           'evil_net'",
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_crafted_files_are_refused_through_every_door(
    saved, piped, tmp_path, monkeypatch, capsys, attack
):
    make, expected = ATTACKS[attack]
    marker = tmp_path / "marker"
    path = make(saved, piped, tmp_path / "crafted.sktransfer", marker)
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
    name = {"__ref__": "os.Evil\nuntrusted types:     none\x1b[2K"}
    crafted = craft.with_param(
        crafted, tmp_path / "spoof2.sktransfer", "optimizer", name
    )
    text = str(inspect_model(crafted))
    assert "\x1b" not in text
    lines = [line for line in text.splitlines() if line.startswith("untrusted types")]
    assert len(lines) == 1 and "os.Evil\\nuntrusted types" in lines[0]
    assert "none" not in lines[0].split(":", 1)[1][:8]
    with pytest.raises(ModelFileError, match="os.Evil"):
        load_model(crafted)


def test_inspect_lists_the_parameters_load_model_would_use(saved, tmp_path, capsys):
    def edit(manifest):
        manifest["summary"]["networks"][0]["parameters"] = {"lr": "0.5"}

    crafted = craft.with_manifest(saved, tmp_path / "a.sktransfer", edit)
    crafted = craft.with_param(crafted, tmp_path / "b.sktransfer", "freeze_upto", 1)
    assert main(["inspect", str(crafted)]) == 0
    (parameters,) = [
        line for line in capsys.readouterr().out.splitlines() if "parameters:" in line
    ]
    assert "freeze_upto=1" in parameters and "lr" not in parameters
    assert load_model(crafted).freeze_upto == 1


# -- memory, bounded before anything is read ----------------------------------
def _zip_bomb(saved, piped, out, marker, inflated=1 << 30):
    """estimators.json replaced by a deflated member of ``inflated`` zero
    bytes, the manifest claiming that size."""
    parts = craft.members(saved)
    manifest = json.loads(parts["sktransfer.json"])
    manifest["members"]["estimators.json"]["bytes"] = inflated
    parts["sktransfer.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            if name != "estimators.json":
                archive.writestr(name, data)
        info = zipfile.ZipInfo("estimators.json", (1980, 1, 1, 0, 0, 0))
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
def test_memory_stays_bounded_before_anything_is_read(saved, piped, tmp_path):
    files = {
        name: make(saved, piped, tmp_path / f"{i}.sktransfer", tmp_path / "marker")
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
