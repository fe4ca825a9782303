"""Model files next to joblib: file size against the raw weights, and the
time to save and load, in the same run.

For each model (a fitted EfficientNet-Lite0, a ResNet-18, the feature route
as a pipeline), ``save_model``/``load_model`` against ``joblib.dump``/
``joblib.load`` of the same object: the best of ``--repeats`` timings, the
ratios, and the file sizes over the bytes of the weights. Loading a model
file builds its network from the registry and loads the weights into it;
joblib unpickles the network as it was (and can run any code doing so).

    .venv/bin/python benchmarks/model_files.py [--models lite0 resnet18 features]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from sktransfer import (
    CNNFeatureExtractor,
    PretrainedCNNClassifier,
    load_model,
    save_model,
)
from sktransfer._inputs._fitted import fitted_network
from sktransfer.datasets import load_digits_images


def _models(names):
    X, y = load_digits_images()
    X, y = X[:60], y[:60]
    makers = {
        "lite0": lambda: PretrainedCNNClassifier(
            "efficientnet_lite0", freeze_upto="all", max_epochs=1, random_state=0
        ),
        "resnet18": lambda: PretrainedCNNClassifier(
            "resnet18", weights=None, input_size=64, max_epochs=1, random_state=0
        ),
        "features": lambda: make_pipeline(
            CNNFeatureExtractor("efficientnet_lite0"), LinearSVC()
        ),
    }
    for name in names:
        yield name, makers[name]().fit(X, y), X[:10]


def _weights_bytes(model):
    estimators = [step for _, step in getattr(model, "steps", [])] or [model]
    total = 0
    for estimator in estimators:
        network = fitted_network(estimator)
        if network is not None:
            total += sum(t.nbytes for t in network.state_dict().values())
    return total


def _best(action, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return min(times), result


def measure(name, model, X, repeats, folder):
    ours, theirs = folder / f"{name}.sktransfer", folder / f"{name}.joblib"
    save_ours, _ = _best(lambda: save_model(model, ours), repeats)
    save_joblib, _ = _best(lambda: joblib.dump(model, theirs), repeats)
    load_ours, loaded = _best(lambda: load_model(ours), repeats)
    load_joblib, _ = _best(lambda: joblib.load(theirs), repeats)
    same = np.array_equal(loaded.predict(X), model.predict(X))
    raw = _weights_bytes(model)
    return {
        "model": name,
        "weights MB": raw / 1e6,
        "file / weights": ours.stat().st_size / raw,
        "joblib / weights": theirs.stat().st_size / raw,
        "save s": save_ours,
        "save / joblib": save_ours / save_joblib,
        "load s": load_ours,
        "joblib load s": load_joblib,
        "load / joblib": load_ours / load_joblib,
        "same predictions": same,
    }


def print_table(rows):
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()]
        print("| " + " | ".join(cells) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        nargs="+",
        default=["lite0", "resnet18", "features"],
        choices=["lite0", "resnet18", "features"],
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = [
            measure(name, model, X, args.repeats, Path(folder))
            for name, model, X in _models(args.models)
        ]
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
