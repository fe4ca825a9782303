"""A mutation fuzzer over a valid model file (hypothesis): bytes flipped, the
file cut short, members swapped, dropped or written twice, manifest values
and the estimator's record edited, its parameters and fitted attributes set
to other values and to tagged objects (with the SHA-256 recomputed, as
anyone who edits a file can).

Every outcome is a model that predicts as before (damage the checks cannot
see changes nothing that predicts), a model loaded from an edited file that
predicts valid probabilities or refuses the images with an error naming a
parameter (an edit is a model of its own: the SHA-256 cannot tell), or one
``ModelFileError`` naming the file. Never another error, a marker file, a
folder in the working directory, a line on the terminal, or more memory
than a small multiple of the file. The fast tier draws 25 cases, the slow
tier 300.
"""

import json
import re
import tracemalloc
import warnings
import zipfile

import _crafting as craft
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sktransfer import ModelFileError, PretrainedCNNClassifier, load_model, save_model
from sktransfer._model_files._values import Encoder

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)
EXAMPLES = [
    pytest.param(25, id="quick"),
    pytest.param(300, id="long", marks=pytest.mark.slow),
]
NAMED = re.compile(r"`\w+")
# Traced memory a load may take beyond the file: numbers, arrays and text
# of the model tree, never its claimed sizes.
MEMORY_CAP = 64 << 20


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    model = PretrainedCNNClassifier(
        "small_cnn", input_size=16, max_epochs=1, random_state=0, augment="flip"
    ).fit(X[:60], y[:60])
    path = save_model(model, tmp_path_factory.mktemp("fuzz") / "model.sktransfer")
    return path, X[60:68], model.predict_proba(X[60:68])


def _gadgets(marker):
    """Values that would act if they were built: run a command, print, make
    a folder, name a class where another kind belongs, build an object
    outside its parameter, refer to a missing array or to the record itself,
    or carry a tag that names nothing."""
    accelerator = {
        "mixed_precision": "no",
        "cpu": True,
        "gradient_accumulation_steps": 1,
    }
    return [
        {"__ref__": "os.system"},
        {"__ref__": "builtins.print"},
        {"__ref__": "skorch.callbacks.Checkpoint", "dirname": str(marker)},
        {"__ref__": "torch.optim.SGD"},
        {"__accelerator__": accelerator},
        {"__estimator__": 0},
        {"__frozen__": {"__estimator__": 0}},
        {"__array__": 99},
        {"__eval__": f"print('PRINTED {marker}')"},
        {"__valid_split__": {"cv": 3, "stratified": True, "random_state": None}},
        {"__numpy__": ["int8", 300]},
        {"__tuple__": [60_000, 60_000]},
    ]


def _as_file_holds(value):
    """``value`` as a record holds it (JSON, tags for what JSON lacks)."""
    return Encoder(lambda *args: None).encode(value, [])


PLAIN = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 2, 3, 16, 32, 10_000, 60_000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "auto", "flip", "all", "half", "cpu", "cuda", "\x1b[2J\n"]),
    st.text(max_size=40),
    st.lists(st.integers(0, 70_000), max_size=4).map(tuple),
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
PARAMETERS = [
    "lr",
    "batch_size",
    "freeze_upto",
    "head_hidden_sizes",
    "head_dropout",
    "input_size",
    "image_shape",
    "tta",
    "augment",
    "precision",
    "device",
    "backbone",
    "weights",
    "class_weight",
    "classes",
    "random_state",
    "compile",
    "compile__options",
    "callbacks",
    "iterator_valid__num_workers",
    "optimizer__weight_decay",
    "criterion__label_smoothing",
    "evil\n",
]
FITTED = ["image_shape_", "classes_inferred_", "n_frozen_", "pixel_max_", "max_epochs_"]
# Values a real model could have, so that edits also load.
PLAUSIBLE = {
    "lr": [1e-4, 0.1, 1],
    "batch_size": [1, 7, 64],
    "freeze_upto": [0, 2, "conv2", "all", "half", "fc9"],
    "head_hidden_sizes": [(), (8,)],
    "head_dropout": [0.0, 0.5],
    "input_size": [8, 16, 32],
    "image_shape": [None, (8, 8), (1, 8, 8), (3, 8, 8)],
    "tta": [None, True, "flip", "rot90", "flip_rot90"],
    "augment": [None, "flip", "standard"],
    "precision": ["float32", "bfloat16"],
    "device": ["cpu", "cuda", "cuda:3", "mps"],
    "backbone": ["small_cnn", "mlp", "resnet18"],
    "weights": [None, "DEFAULT", "/nonexistent.pt"],
    "class_weight": [None, "balanced", {0: 2.0}],
    "classes": [None, list(range(10)), [0, 1]],
    "random_state": [None, 0, 7],
    "image_shape_": [(1, 8, 8), (1, 16, 16), (3, 8, 8), (1, 0, 8)],
    "n_frozen_": [0, 3, 99],
    "pixel_max_": [1.0, 255.0, 0.0],
    "max_epochs_": [3],
}


@st.composite
def mutations(draw):
    """``(kind, apply)``: ``apply(path, out, marker)`` writes the mutated file."""
    # Edits of the estimator's record three times as often as the others:
    # they reach the schema, the rest mostly the archive's checks.
    kind = draw(
        st.sampled_from(
            ["flip", "cut", "swap", "drop", "twice", "manifest"]
            + ["param", "fitted"] * 3
        )
    )
    if kind == "flip":
        flips = draw(
            st.lists(
                st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=8
            )
        )

        def apply(path, out, marker):
            data = bytearray(path.read_bytes())
            for where, bits in flips:
                data[min(int(where * len(data)), len(data) - 1)] ^= bits
            out.write_bytes(bytes(data))

    elif kind == "cut":
        where = draw(st.floats(0, 1))

        def apply(path, out, marker):
            data = path.read_bytes()
            out.write_bytes(data[: int(where * len(data))])

    elif kind in ("swap", "drop", "twice"):
        first, second = draw(st.integers(0, 3)), draw(st.integers(0, 3))
        rehash = draw(st.booleans())

        def apply(path, out, marker):
            parts = list(craft.members(path).items())
            a, b = first % len(parts), second % len(parts)
            if kind == "swap":
                parts[a], parts[b] = (
                    (parts[a][0], parts[b][1]),
                    (parts[b][0], parts[a][1]),
                )
            elif kind == "drop":
                del parts[a]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # zipfile: a duplicate name
                with zipfile.ZipFile(out, "w") as archive:
                    for name, data in parts + (
                        parts[a : a + 1] if kind == "twice" else []
                    ):
                        archive.writestr(name, data)
            if rehash and kind != "twice":
                try:
                    craft.write(out, craft.members(out))
                except (KeyError, ValueError, zipfile.BadZipFile):
                    pass  # no manifest left to rehash

    elif kind == "manifest":
        keys = draw(st.lists(st.sampled_from(
            ["summary", "networks", 0, "members", "model.skops", "bytes", "sha256",
             "format_version", "saved", "parameters", "classes", "pretrained_weights"]
        ), min_size=1, max_size=3))  # fmt: skip
        value = draw(PLAIN)

        def apply(path, out, marker):
            def edit(manifest):
                here = manifest
                for key in keys[:-1]:
                    try:
                        here = here[key]
                    except (KeyError, IndexError, TypeError):
                        return
                if isinstance(here, dict):
                    here[keys[-1]] = value
                elif isinstance(here, list) and isinstance(keys[-1], int) and here:
                    here[keys[-1] % len(here)] = value

            craft.with_manifest(path, out, edit)

    else:
        names = PARAMETERS if kind == "param" else FITTED
        name = draw(st.sampled_from(names))
        gadget = draw(st.integers(-12, 11))
        value = draw(st.one_of(st.sampled_from(PLAUSIBLE.get(name, [None])), PLAIN))

        def apply(path, out, marker):
            node = _gadgets(marker)[gadget] if gadget >= 0 else _as_file_holds(value)
            if kind == "param":
                craft.with_param(path, out, name, node)
            else:
                craft.with_fitted(path, out, name, node)

    return kind, apply


def _predicted(model, X):
    """The probabilities, or None where the model refuses these images with
    an error that names a parameter."""
    try:
        return model.predict_proba(X)
    except (ValueError, TypeError) as error:
        assert NAMED.search(str(error)), error
        return None


@pytest.mark.parametrize("n_examples", EXAMPLES)
def test_mutated_model_files_load_as_before_or_are_refused(
    original, tmp_path, monkeypatch, capfd, n_examples
):
    path, X, expected = original
    marker = tmp_path / "marker"
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    outcomes = {}

    @settings(FUZZ, max_examples=n_examples)
    @given(mutation=mutations())
    def check(mutation):
        kind, apply = mutation
        out = tmp_path / "mutated.sktransfer"
        apply(path, out, marker)
        size = out.stat().st_size
        tracemalloc.start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # versions, devices, scales
                try:
                    model = load_model(out)
                except ModelFileError as error:
                    assert str(out) in str(error)
                    outcomes[(kind, "refused")] = outcomes.get((kind, "refused"), 0) + 1
                    return
                finally:
                    peak = tracemalloc.get_traced_memory()[1]
                proba = _predicted(model, X)
        finally:
            tracemalloc.stop()
        assert peak < MEMORY_CAP + 20 * size, (kind, peak)
        edited = kind in ("manifest", "param", "fitted") or kind == "swap"
        if proba is not None and not edited:
            # Damage that passed every check changed nothing that predicts.
            np.testing.assert_array_equal(proba, expected)
        if proba is not None:
            assert proba.shape == expected.shape and np.isfinite(proba).all()
            np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
        outcome = "loaded" if proba is not None else "loaded, refuses images"
        outcomes[(kind, outcome)] = outcomes.get((kind, outcome), 0) + 1

    check()
    assert not marker.exists() and list(work.iterdir()) == []
    printed = capfd.readouterr()
    assert "PRINTED" not in printed.out + printed.err
    # The fuzzer reached both ends: files refused and files loaded.
    assert any(o == "refused" for _, o in outcomes), outcomes
    assert any(o != "refused" for _, o in outcomes), outcomes


def test_the_fuzzer_mutates_what_it_says(original, tmp_path):
    """Each kind of mutation writes a file that differs from the original."""
    path = original[0]
    found = set()

    @settings(FUZZ, max_examples=40)
    @given(mutation=mutations())
    def check(mutation):
        kind, apply = mutation
        out = tmp_path / "m.sktransfer"
        apply(path, out, tmp_path / "marker")
        if out.read_bytes() != path.read_bytes():
            found.add(kind)

    check()
    assert found >= {"flip", "cut", "drop", "manifest", "param", "fitted"}, found
    json.dumps(sorted(found))
