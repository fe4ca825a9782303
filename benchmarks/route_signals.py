"""What the images show before any fine-tuning: signals a choice of route
could read inside ``fit``, measured against the routes' test scores.

For each task (``photo_data.py``'s and ``small_data.py``'s, any of them
``@`` a look: ``photos-3@grey-64``), with EfficientNet-Lite0's ImageNet
weights, one pass of the frozen body over the training images gives, for
each body unit:

* **a probe**: its pooled output + a regularised LogisticRegression
  (standardised, ``C=0.1``), scored by log loss and accuracy over repeated
  stratified folds of the training images (cf. Head2Toe, Evci et al., 2022:
  when an earlier unit beats the last one, the top of the body discards
  what the task needs), and its accuracy on the test images;
* **the shift**: how far the batch statistics of the training images at the
  unit's BatchNorm layers are from the running statistics the body holds
  (the mean over channels of the KL divergence between the two Gaussians;
  cf. AdaBN, Li et al., 2016).

``--fit`` adds the routes a choice would pick between, fitted as the
library fits them: ``freeze_upto="all"`` (a head on the frozen body), the
partial route that trains the units above the best probe's
(``freeze_upto=<that unit>``, cheap: the frozen prefix's output is cached),
and any other ``freeze_upto`` given by ``--freeze``; test score and fit
seconds.

    .venv/bin/python benchmarks/route_signals.py --tasks digits-10 stamps-4@grey-64
        [--seeds 1] [--fit] [--freeze 0 stage5]

References
----------
.. [1] U. Evci, V. Dumoulin, H. Larochelle and M. C. Mozer, "Head2Toe:
   Utilizing intermediate representations for better transfer learning",
   ICML 2022.
.. [2] Y. Li, N. Wang, J. Shi, J. Liu and X. Hou, "Revisiting batch
   normalization for practical domain adaptation", ICLR workshop 2017
   (AdaBN).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import photo_data
import small_data
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer import CNNFeatureExtractor, PretrainedCNNClassifier
from sktransfer._training._shift import _gaussian_kl

BACKBONE = "efficientnet_lite0"
PROBE_C = 0.1
FOLDS, REPEATS = 5, 2


def load_task(name, seed):
    """Training and test images and labels, and the scorer, of a task of
    either benchmark (small_data.py's go in at 64 px, as there)."""
    task, _, look = name.partition("@")
    if task in small_data.TASKS:
        X_train, X_test, y_train, y_test, score = small_data.load_task(task, seed)
        if look:
            X_train = photo_data.looked(X_train, look)
            X_test = photo_data.looked(X_test, look)
        return X_train, X_test, y_train, y_test, score, {"input_size": 64}
    X_train, X_test, y_train, y_test = photo_data.load_task(name, seed)
    return X_train, X_test, y_train, y_test, accuracy_score, {}


def probe(C=PROBE_C):
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))


def probe_scores(features, y, seed):
    """Mean log loss and accuracy of the probe over repeated stratified
    folds of the training images."""
    folds = min(FOLDS, int(np.bincount(np.unique(y, return_inverse=True)[1]).min()))
    splits = RepeatedStratifiedKFold(
        n_splits=max(2, folds), n_repeats=REPEATS, random_state=seed
    )
    losses, accuracies = [], []
    for train, test in splits.split(features, y):
        model = probe().fit(features[train], y[train])
        proba = model.predict_proba(features[test])
        losses.append(log_loss(y[test], proba, labels=model.classes_))
        accuracies.append(accuracy_score(y[test], model.classes_[proba.argmax(1)]))
    return float(np.mean(losses)), float(np.mean(accuracies))


def as_batch(images):
    """Images as the network's ``prepare`` takes them: (N, C, H, W)."""
    batch = torch.as_tensor(images)
    if batch.ndim == 3:
        return batch[:, None]
    return batch.permute(0, 3, 1, 2).contiguous()


def batchnorm_shift(network, images, n=64, seed=0):
    """Per unit: the mean over its BatchNorm layers and channels of the KL
    divergence between the Gaussian of the training images' statistics and
    that of the running statistics (``n`` images, the body in eval mode)."""
    shifts, hooks = {}, []

    def hook(name):
        def record(module, inputs, output):
            # The library's measure (freeze_upto="auto" reads it too).
            shifts.setdefault(name, []).append(_gaussian_kl(module, inputs))

        return record

    for name, unit in network.units.items():
        for module in unit.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                hooks.append(module.register_forward_hook(hook(name)))
    chosen = np.random.default_rng(seed).permutation(len(images))[:n]
    try:
        with torch.no_grad():
            network.eval().forward_features(network.prepare(as_batch(images[chosen])))
    finally:
        for handle in hooks:
            handle.remove()
    return {name: float(np.mean(values)) for name, values in shifts.items()}


def unit_features(extractor, X, names):
    """{unit: pooled features of X} from one pass (``layer=names``)."""
    features = extractor.transform(X)
    columns = extractor.get_feature_names_out()
    return {
        name: features[:, [c.startswith(f"{name}_") for c in columns]] for name in names
    }


def signals(name, seed):
    """Rows (unit, CV log loss, CV accuracy, test accuracy, shift) and the
    task's data."""
    X_train, X_test, y_train, y_test, score, params = load_task(name, seed)
    extractor = CNNFeatureExtractor(BACKBONE, **params).fit(X_train)
    names = extractor.layer_names_
    extractor.set_params(layer=names).fit(X_train)
    train, test = (unit_features(extractor, X, names) for X in (X_train, X_test))
    shift = batchnorm_shift(extractor.network_, X_train, seed=seed)
    rows = []
    for unit in names:
        loss, accuracy = probe_scores(train[unit], y_train, seed)
        fitted = probe().fit(train[unit], y_train)
        test_score = score(y_test, fitted.predict(test[unit]))
        rows.append((unit, loss, accuracy, test_score, shift.get(unit, np.nan)))
    return rows, (X_train, X_test, y_train, y_test, score, params)


def fit_route(data, freeze_upto, seed):
    X_train, X_test, y_train, y_test, score, params = data
    start = time.perf_counter()
    model = PretrainedCNNClassifier(
        BACKBONE, freeze_upto=freeze_upto, random_state=seed, **params
    ).fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return score(y_test, model.predict(X_test)), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", required=True)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--freeze", nargs="*", default=[])
    args = parser.parse_args(argv)
    for name in args.tasks:
        task = name.partition("@")[0]
        if task not in small_data.TASKS:
            photo_data.check_task(name)
    print(
        f"{BACKBONE} ImageNet weights, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; probe C={PROBE_C}, "
        f"{FOLDS}-fold x {REPEATS}\n"
    )
    for name in args.tasks:
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            rows, data = signals(name, seed)
            print(f"### {name}, seed {seed} ({len(data[2])} training images)\n")
            print("| unit | probe CV log loss | probe CV acc | probe test | shift |")
            print("|---|---|---|---|---|")
            for unit, loss, accuracy, test, shift in rows:
                print(
                    f"| {unit} | {loss:.3f} | {accuracy:.3f} | {test:.3f} "
                    f"| {shift:.3f} |"
                )
            best = min(rows, key=lambda row: row[1])[0]
            print(f"\nbest probe (CV log loss): {best}\n", flush=True)
            if not args.fit:
                continue
            routes = ["all"] + ([best] if best != rows[-1][0] else [])
            routes += [f for f in args.freeze if f not in routes]
            print("| freeze_upto | test score | fit s |\n|---|---|---|")
            for route in routes:
                value = int(route) if route.isdigit() else route
                test, seconds = fit_route(data, value, seed)
                print(f"| {route} | {test:.4f} | {seconds:.1f} |", flush=True)
            print()


if __name__ == "__main__":
    main()
