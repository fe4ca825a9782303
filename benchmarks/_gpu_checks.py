"""The working checks of ``gpu_check.py``: every device path of the library,
each a function that raises (an ``AssertionError`` saying what differed) or
returns a short note. ``gpu_check.py`` times them and prints PASS or FAIL.

Each check takes a :class:`Plan`: the device and the sizes (the GPU run's,
or ``--tiny``'s for the CPU mode that the test suite runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from sktransfer import (  # noqa: E402
    CNNFeatureExtractor,
    LabelRelationTransfer,
    PretrainedCNNClassifier,
    PretrainedCNNRegressor,
    load_model,
    lr_find,
    save_model,
)
from sktransfer.datasets import load_digits_images  # noqa: E402
from sktransfer.inspection import (  # noqa: E402
    FeatureMapDisplay,
    FilterDisplay,
    GradCAMDisplay,
    LRFinderDisplay,
    RelationDisplay,
)

ROOT = Path(__file__).resolve().parents[1]
LITE0 = "efficientnet_lite0"
# The CPU figure the digits-10 check is set against (docs/guide/recipe.rst,
# benchmarks/small_data.py, 3 seeds, one thread).
DIGITS_10_CPU = 0.921


@dataclass
class Plan:
    """Where the checks run and how big they are."""

    device: str
    n_fit: int  # images of the small fits
    epochs: int  # epochs of the small fits
    resnet_side: int  # ResNet-18 input side (224 on the GPU)
    n_resnet: int
    digits_seeds: int  # seeds of the digits-10 defaults
    digits_epochs: int | None  # None: the recipe's length
    study_args: tuple  # extra arguments of `sktransfer study`
    search_n_jobs: int  # workers sharing the device in the search check


def digits(n):
    """The first ``n`` bundled digits (uint8, 8x8) and their labels."""
    X, y = load_digits_images()
    return X[:n], y[:n]


def on_device(estimator, plan):
    network = getattr(estimator, "module_", None) or estimator.network_
    found = {p.device.type for p in network.parameters()}
    assert found == {torch.device(plan.device).type}, f"parameters on {found}"


def lite0(plan, **params):
    defaults = dict(device=plan.device, random_state=0, max_epochs=plan.epochs)
    return PretrainedCNNClassifier(LITE0, **{**defaults, **params})


def check_lite0(plan):
    X, y = digits(plan.n_fit)
    clf = lite0(plan).fit(X, y)
    on_device(clf, plan)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 10), proba.shape
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-4)
    labels = clf.predict(X)
    assert np.array_equal(labels, clf.classes_[proba.argmax(axis=1)])
    return (
        f"input {clf.module_.input_size} px, train accuracy {np.mean(labels == y):.2f}"
    )


def check_resnet18(plan):
    X, y = digits(plan.n_resnet)
    clf = PretrainedCNNClassifier(
        "resnet18",
        weights=None,
        input_size=plan.resnet_side,
        max_epochs=1,
        device=plan.device,
        random_state=0,
    ).fit(X, y)
    on_device(clf, plan)
    assert clf.predict_proba(X[:8]).shape == (8, 10)
    assert clf.predict(X[:8]).shape == (8,)
    return f"random weights, {plan.resnet_side} px"


def check_frozen_cache(plan):
    X, y = digits(plan.n_fit)
    clf = lite0(plan, freeze_upto="all").fit(X, y)
    n_units = len(clf.layer_names_)
    assert clf.n_cached_units_ == n_units, (clf.n_cached_units_, n_units)
    assert clf.predict(X[:4]).shape == (4,)
    return f"{n_units} units cached"


def check_recalibration(plan):
    X, y = digits(plan.n_fit)
    clf = lite0(plan, freeze_upto=0).fit(X, y)
    assert clf.n_recalibrated_ > 0
    return f"{clf.n_recalibrated_} BatchNorm layers"


def check_augment_and_tta(plan):
    X, y = digits(plan.n_fit)
    clf = lite0(plan, augment="flip", tta="flip").fit(X, y)
    with_tta = clf.predict_proba(X[:16])
    without = clf.set_params(tta=None).predict_proba(X[:16])
    assert with_tta.shape == without.shape == (16, 10)
    return f"TTA moves the probabilities by {np.abs(with_tta - without).max():.3f}"


def check_early_stopping(plan):
    X, y = digits(max(plan.n_fit, 60))
    clf = lite0(
        plan,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=2,
        max_epochs=6,
    )
    clf.fit(X, y)
    assert "valid_loss" in clf.history[-1]
    return f"{len(clf.history)} epochs"


def check_weights(plan):
    X, y = digits(plan.n_fit)
    weighted = lite0(plan, class_weight="balanced").fit(X, y)
    assert weighted.class_weight_.shape == (10,)
    sample_weight = np.where(y < 5, 2.0, 0.5)
    lite0(plan).fit(X, y, sample_weight=sample_weight)
    return "class_weight='balanced' and sample_weight"


def check_regressor(plan):
    X, y = digits(plan.n_fit)
    target = X.reshape(len(X), -1).mean(axis=1) / 255
    regressor = PretrainedCNNRegressor(
        LITE0, device=plan.device, random_state=0, max_epochs=plan.epochs
    ).fit(X, target)
    on_device(regressor, plan)
    assert regressor.predict(X[:4]).shape == (4,)
    return f"train R² {regressor.score(X, target):.2f}"


def check_label_relation(plan):
    X, y = digits(plan.n_fit)
    lrt = LabelRelationTransfer(
        LITE0, device=plan.device, random_state=0, max_epochs=plan.epochs
    ).fit(X, y)
    on_device(lrt, plan)
    assert lrt.relation_.shape == (10, 1000)
    assert lrt.predict(X[:4]).shape == (4,)
    return f"source outputs {list(lrt.source_outputs_[:3])}..."


def check_extractor(plan):
    X, _ = digits(plan.n_fit)
    one = CNNFeatureExtractor(LITE0, layer="half", device=plan.device).fit(X)
    multi = CNNFeatureExtractor(LITE0, layer="multi", device=plan.device).fit(X)
    on_device(one, plan)
    assert one.transform(X[:4]).shape == (4, one.n_features_out_)
    assert multi.transform(X[:4]).shape == (4, multi.n_features_out_)
    return f"{one.n_features_out_} and {multi.n_features_out_} features"


def check_accelerated(plan):
    import accelerate

    from sktransfer.multi_gpu import AcceleratedCNNClassifier

    cpu = torch.device(plan.device).type == "cpu"
    accelerator = accelerate.Accelerator(
        cpu=cpu, mixed_precision="no" if cpu else "bf16"
    )
    X, y = digits(plan.n_fit)
    clf = AcceleratedCNNClassifier(
        LITE0, accelerator=accelerator, max_epochs=plan.epochs, random_state=0
    ).fit(X, y)
    assert clf.predict_proba(X[:8]).shape == (8, 10)
    return f"accelerator on {accelerator.device}"


def check_lr_find(plan):
    X, y = digits(plan.n_fit)
    result = lr_find(lite0(plan), X, y, num_steps=20)
    assert len(result.lrs) == len(result.losses) > 0
    LRFinderDisplay(result.lrs, result.losses, result.suggestion).plot()
    plt.close("all")
    return f"suggested lr {result.suggestion:.2g}"


def check_displays(plan):
    X, y = digits(plan.n_fit)
    clf = lite0(plan).fit(X, y)
    before = clf.predict_proba(X[:16])
    FilterDisplay.from_estimator(clf)
    FeatureMapDisplay.from_estimator(clf, X[0])
    GradCAMDisplay.from_estimator(clf, X[:2], y=y[:2])
    lrt = LabelRelationTransfer(
        LITE0, device=plan.device, random_state=0, max_epochs=1
    ).fit(X, y)
    RelationDisplay.from_estimator(lrt)
    plt.close("all")
    on_device(clf, plan)
    np.testing.assert_allclose(clf.predict_proba(X[:16]), before, atol=1e-4)
    return "Filter, FeatureMap, GradCAM, Relation; the model stays put"


LOAD_ON_CPU = """
import json, sys
import numpy as np
from sktransfer import load_model
model = load_model(sys.argv[1])
X = np.load(sys.argv[2])
print(json.dumps({"labels": model.predict(X).tolist(),
                  "proba": model.predict_proba(X).tolist()}))
"""


def check_model_file_on_cpu(plan):
    X, y = digits(plan.n_fit)
    # float32 on both sides: the file is checked, not bf16's rounding.
    clf = lite0(plan, precision="float32").fit(X, y)
    with tempfile.TemporaryDirectory() as folder:
        path, images = Path(folder, "model.sktransfer"), Path(folder, "X.npy")
        save_model(clf, path)
        np.save(images, X[:32])
        assert load_model(path).predict(X[:4]).shape == (4,)
        environment = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
        done = subprocess.run(
            [sys.executable, "-c", LOAD_ON_CPU, str(path), str(images)],
            capture_output=True,
            text=True,
            env=environment,
            timeout=300,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert loaded["labels"] == clf.predict(X[:32]).tolist()
    gap = np.abs(np.array(loaded["proba"]) - clf.predict_proba(X[:32])).max()
    assert gap <= 1e-3, f"probabilities differ by {gap:.2g}"
    return f"same labels on the CPU, probabilities within {gap:.1g}"


def check_grid_search(plan):
    X, y = digits(plan.n_fit)
    grid = {"freeze_upto": [0, "all"]}
    notes = []
    for n_jobs in (1, plan.search_n_jobs):
        search = GridSearchCV(lite0(plan), grid, cv=2, n_jobs=n_jobs).fit(X, y)
        assert search.predict(X[:4]).shape == (4,)
        notes.append(f"n_jobs={n_jobs}: {search.best_params_}")
    return "; ".join(notes)


def check_study(plan):
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable,
            "-m",
            "sktransfer",
            "study",
            "--device",
            plan.device,
            "--quick",
            "--quiet",
            "--out",
            folder,
            *plan.study_args,
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=600, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert Path(folder, "study.md").is_file()
    best = next(
        (line for line in done.stdout.splitlines() if "the best is" in line), ""
    )
    return best.strip()[:100] or "the study ran"


def digits_10(plan):
    """Test accuracy of the defaults on small_data.py's digits-10 task."""
    from sklearn.model_selection import train_test_split

    X, y = load_digits_images()
    scores = []
    for seed in range(plan.digits_seeds):
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, train_size=100, stratify=y, random_state=seed
        )
        clf = PretrainedCNNClassifier(
            LITE0,
            input_size=64,
            random_state=seed,
            device=plan.device,
            max_epochs=plan.digits_epochs,
        ).fit(X_train, y_train)
        scores.append(float(np.mean(clf.predict(X_test) == y_test)))
    return scores


def check_digits_10(plan):
    scores = digits_10(plan)
    mean = float(np.mean(scores))
    if plan.digits_epochs is None:  # the recipe's length: as on the CPU
        assert mean >= DIGITS_10_CPU - 0.03, f"{mean:.3f} < {DIGITS_10_CPU} - 0.03"
    each = ", ".join(f"{score:.3f}" for score in scores)
    return f"{mean:.3f} over {len(scores)} seeds ({each}); the CPU: {DIGITS_10_CPU}"


CHECKS = {
    "classifier fit/predict/predict_proba, Lite0 at 64 px": check_lite0,
    "classifier, ResNet-18 random weights": check_resnet18,
    'freeze_upto="all" with the cache': check_frozen_cache,
    "BatchNorm recalibration": check_recalibration,
    "augment and tta": check_augment_and_tta,
    "early stopping": check_early_stopping,
    "class_weight and sample_weight": check_weights,
    "PretrainedCNNRegressor": check_regressor,
    "LabelRelationTransfer": check_label_relation,
    'CNNFeatureExtractor, one layer and "multi"': check_extractor,
    "AcceleratedCNNClassifier, one device": check_accelerated,
    "lr_find and LRFinderDisplay": check_lr_find,
    "inspection Displays, then predict as before": check_displays,
    "save_model, load_model without CUDA in a subprocess": check_model_file_on_cpu,
    "GridSearchCV, n_jobs=1 and workers sharing the device": check_grid_search,
    "sktransfer study --quick": check_study,
    "defaults on digits-10": check_digits_10,
}
