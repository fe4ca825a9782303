"""The speed phases of ``gpu_check.py`` beyond the training throughput of
``_throughput.py``: prediction against raw bf16 inference, the recipe's own
cost in a fit, and a grid search that fills the device with workers.

Each returns rows (dicts) and prints a Markdown table; every ratio compares
two runs of the same process.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import torch
from _throughput import _peak_memory, _prepared, _reference, _reset_memory, _sync
from sklearn.model_selection import GridSearchCV

from sktransfer import PretrainedCNNClassifier


def raw_inference(network, X_ready, batch_size, device):
    """The fast baseline: prepared images already on the device,
    channels-last, bf16 autocast on CUDA, no gradients."""
    cuda = str(device).startswith("cuda")
    network = network.eval()
    if cuda:
        network = network.to(memory_format=torch.channels_last)
    autocast = torch.autocast(
        "cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=cuda
    )
    outputs = []
    with torch.inference_mode(), autocast:
        for start in range(0, len(X_ready), batch_size):
            batch = X_ready[start : start + batch_size]
            if cuda:
                batch = batch.contiguous(memory_format=torch.channels_last)
            logits = network.forward_head(network.forward_features(batch))
            outputs.append(logits.float().softmax(dim=1))
    result = torch.cat(outputs)
    _sync(device)
    return result


def predict_speed(workloads, *, n, device, batch_size=256):
    """``predict_proba`` on ``n`` uint8 images against raw bf16 inference."""
    rng = np.random.default_rng(1)
    rows = []
    print("| network | raw bf16 inference | predict_proba | ours / raw | peak MiB |")
    print("|---|---|---|---|---|")
    for backbone, size, channels in workloads:
        clf = _reference(backbone, size, channels, 10, device, 0)
        images = rng.integers(0, 256, (n, channels, size, size), dtype=np.uint8)
        X_ready = _prepared(clf.module_, torch.as_tensor(images), device)
        raw_inference(clf.module_, X_ready[:batch_size], batch_size, device)
        _reset_memory(device)
        start = time.perf_counter()
        raw_inference(clf.module_, X_ready, batch_size, device)
        raw = n / (time.perf_counter() - start)
        raw_memory = _peak_memory(device)
        del X_ready
        clf.predict_proba(images[:batch_size])  # warm-up
        _reset_memory(device)
        start = time.perf_counter()
        clf.predict_proba(images)
        _sync(device)
        ours = n / (time.perf_counter() - start)
        memory = f"{raw_memory} / {_peak_memory(device)}"
        rows.append(
            {
                "network": f"{backbone} {size}px",
                "raw_images_per_s": raw,
                "ours_images_per_s": ours,
                "ours_over_raw": ours / raw,
                "peak_mib": memory,
            }
        )
        print(
            f"| {backbone} {size}px | {raw:,.0f} | {ours:,.0f} | "
            f"{ours / raw:.2f}x | {memory} |",
            flush=True,
        )
    return rows


def recipe_cost(backbone, size, *, n, epochs, device):
    """The recipe's extra cost in one fit: the default fit (warm-up and
    cosine schedule, BatchNorm recalibration) against the same epochs at a
    constant rate without recalibration."""
    rng = np.random.default_rng(2)
    X = rng.integers(0, 256, (n, 3, size, size), dtype=np.uint8)
    y = rng.integers(0, 10, n)

    def fit(**params):
        clf = PretrainedCNNClassifier(
            backbone,
            weights=None,
            input_size=size,
            max_epochs=epochs,
            freeze_upto=0,
            device=device,
            random_state=0,
            **params,
        )
        start = time.perf_counter()
        clf.fit(X, y)
        _sync(device)
        return time.perf_counter() - start

    fit(batchnorm="train", lr_schedule="constant")  # warm-up
    plain = fit(batchnorm="train", lr_schedule="constant")
    recipe = fit()
    share = (recipe - plain) / recipe
    print(
        f"| {backbone} {size}px, {n} images, {epochs} epochs | {plain:.2f} s | "
        f"{recipe:.2f} s | {share:+.1%} |",
        flush=True,
    )
    return {
        "network": f"{backbone} {size}px",
        "plain_s": plain,
        "recipe_s": recipe,
        "recipe_share": share,
    }


class Utilisation:
    """GPU utilisation sampled in a thread while a block runs (None where
    it cannot be read: on the CPU, or without NVML)."""

    def __init__(self, device, every=0.25):
        self.device, self.every, self.samples = device, every, []

    def _sample(self):
        while not self._stop.is_set():
            try:
                self.samples.append(torch.cuda.utilization(self.device))
            except Exception:  # no NVML: nothing to sample
                return
            time.sleep(self.every)

    def __enter__(self):
        self._stop = threading.Event()
        self._thread = None
        if str(self.device).startswith("cuda"):
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def mean(self):
        return float(np.mean(self.samples)) if self.samples else None


def search_fill(*, n, size, epochs, device, worker_counts):
    """GridSearchCV, 8 candidates x 3 folds on Lite0: ``n_jobs=1`` against
    the best of ``worker_counts`` workers sharing the device."""
    rng = np.random.default_rng(3)
    X = rng.integers(0, 256, (n, 3, size, size), dtype=np.uint8)
    y = rng.integers(0, 4, n)
    grid = {
        "lr": [1e-3, 3e-3],
        "freeze_upto": [0, "all"],
        "head_dropout": [0.0, 0.2],
    }
    estimator = PretrainedCNNClassifier(
        "efficientnet_lite0", max_epochs=epochs, device=device, random_state=0
    )
    rows = []
    print("| n_jobs | wall s | mean GPU utilisation | speed-up over n_jobs=1 |")
    print("|---|---|---|---|")
    for n_jobs in (1, *worker_counts):
        with Utilisation(device) as utilisation:
            start = time.perf_counter()
            GridSearchCV(estimator, grid, cv=3, n_jobs=n_jobs).fit(X, y)
            seconds = time.perf_counter() - start
        speed_up = rows[0]["wall_s"] / seconds if rows else 1.0
        used = utilisation.mean
        rows.append(
            {
                "n_jobs": n_jobs,
                "wall_s": seconds,
                "gpu_utilisation": used,
                "speed_up": speed_up,
            }
        )
        shown = "n/a" if used is None else f"{used:.0f}%"
        print(f"| {n_jobs} | {seconds:.1f} | {shown} | {speed_up:.2f}x |", flush=True)
    return rows
