"""Training throughput, three ways in one process: shared by the CPU and GPU scripts.

The same network and the same work (``epochs`` over ``n`` images, batches of
``batch_size``, AdamW) are trained by

* a hand-written PyTorch loop: images already float, resized and on the
  device; bf16 autocast and channels-last on CUDA; frozen units get
  ``requires_grad=False`` and eval mode but still run forward every epoch;
* plain skorch ``NeuralNetClassifier`` on float32 NumPy input (its default
  DataLoader, float32);
* ``PretrainedCNNClassifier`` on the uint8 images (its data path, and
  frozen-prefix caching where the setting allows it).

Each fit is timed whole (set-up included) after one warm-up fit of the loop;
images/s = n * epochs / seconds.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
from torch import nn

from sktransfer import PretrainedCNNClassifier


class _Plain(nn.Module):
    """A copy of a TransferNetwork without its input preparation (input is
    ready), its first ``n_frozen`` units frozen (no gradient, eval mode)."""

    def __init__(self, network, n_frozen):
        super().__init__()
        self.network = copy.deepcopy(network).set_frozen(n_frozen)

    def forward(self, x):
        return self.network.forward_head(self.network.forward_features(x))


def _reference(backbone, size, channels, n_classes, device, freeze_upto):
    clf = PretrainedCNNClassifier(
        backbone,
        weights=None,
        input_size=size,
        max_epochs=0,
        freeze_upto=freeze_upto,
        device=device,
        random_state=0,
    )
    X = np.zeros((n_classes, channels, size, size), np.uint8)
    clf.fit(X, np.arange(n_classes))
    return clf


def _prepared(network, images, device):
    with torch.no_grad():
        network.eval()
        out = torch.cat(
            [
                network.prepare(images[i : i + 256].to(device))
                for i in range(0, len(images), 256)
            ]
        )
    return out


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _peak_memory(device):
    if str(device).startswith("cuda"):
        return f"{torch.cuda.max_memory_allocated() / 2**20:.0f}"
    return "n/a"


def _reset_memory(device):
    if str(device).startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def hand_written_loop(network, X, y, n_frozen, epochs, batch_size, device):
    """The loop a practitioner writes: the fair, fast baseline."""
    cuda = str(device).startswith("cuda")
    model = _Plain(network, n_frozen).to(device)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
        X = X.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-3
    )
    loss_fn = nn.CrossEntropyLoss()
    autocast = torch.autocast(
        "cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=cuda
    )
    model.train()  # frozen units stay in eval mode
    for _ in range(epochs):
        order = torch.randperm(len(X), device=device)
        for start in range(0, len(X), batch_size):
            index = order[start : start + batch_size]
            with autocast:
                loss = loss_fn(model(X[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    _sync(device)


def plain_skorch(network, X, y, n_frozen, epochs, batch_size, device):
    from skorch import NeuralNetClassifier

    net = NeuralNetClassifier(
        _Plain(network, n_frozen),
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        max_epochs=epochs,
        batch_size=batch_size,
        train_split=None,
        device=device,
        verbose=0,
    )
    net.fit(X, y)
    _sync(device)


def ours(backbone, size, X, y, freeze_upto, epochs, batch_size, device):
    PretrainedCNNClassifier(
        backbone,
        weights=None,
        input_size=size,
        freeze_upto=freeze_upto,
        max_epochs=epochs,
        batch_size=batch_size,
        device=device,
        random_state=0,
    ).fit(X, y)
    _sync(device)


def _timed(function, *args):
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def run(workloads, *, n, epochs, batch_size, device, repeats=1, settings=None):
    """Print the table and return its rows (dicts); ``workloads`` is a list
    of (backbone, size, channels), ``settings`` the names of the settings
    to run (default: full fine-tune, half frozen and "all")."""
    rng = np.random.default_rng(0)
    rows = []
    print(
        f"{n} images, {epochs} epochs, batches of {batch_size}, device {device}, "
        f"torch {torch.__version__}; images/s (best of {repeats}), peak GPU MiB\n"
    )
    print(
        "| network | setting | hand-written loop | plain skorch | "
        "PretrainedCNNClassifier | ours / loop | ours / skorch | peak MiB "
        "(loop / skorch / ours) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for backbone, size, channels in workloads:
        images = rng.integers(0, 256, (n, channels, size, size), dtype=np.uint8)
        labels = rng.integers(0, 10, n)
        reference = _reference(backbone, size, channels, 10, device, 0)
        n_units = len(reference.layer_names_)
        every = {
            "full fine-tune": 0,
            "half frozen": n_units // 2,
            'freeze_upto="all"': "all",
        }
        chosen = {k: v for k, v in every.items() if settings is None or k in settings}
        network = reference.module_
        X_ready = _prepared(network, torch.as_tensor(images), device)
        y_device = torch.as_tensor(labels, device=device)
        X_numpy = X_ready.float().cpu().numpy()
        hand_written_loop(network, X_ready, y_device, 0, 1, batch_size, device)
        for setting, freeze in chosen.items():
            n_frozen = n_units if freeze == "all" else freeze
            rates, memory = [], []
            for method in ("loop", "skorch", "ours"):
                best = float("inf")
                _reset_memory(device)
                for _ in range(repeats):
                    if method == "loop":
                        seconds = _timed(
                            hand_written_loop,
                            network,
                            X_ready,
                            y_device,
                            n_frozen,
                            epochs,
                            batch_size,
                            device,
                        )
                    elif method == "skorch":
                        seconds = _timed(
                            plain_skorch,
                            network,
                            X_numpy,
                            labels,
                            n_frozen,
                            epochs,
                            batch_size,
                            device,
                        )
                    else:
                        seconds = _timed(
                            ours,
                            backbone,
                            size,
                            images,
                            labels,
                            freeze,
                            epochs,
                            batch_size,
                            device,
                        )
                    best = min(best, seconds)
                rates.append(n * epochs / best)
                memory.append(_peak_memory(device))
            loop, skorch_rate, mine = rates
            rows.append(
                {
                    "network": f"{backbone} {size}px",
                    "setting": setting,
                    "loop_images_per_s": loop,
                    "skorch_images_per_s": skorch_rate,
                    "ours_images_per_s": mine,
                    "ours_over_loop": mine / loop,
                    "ours_over_skorch": mine / skorch_rate,
                    "peak_mib": dict(
                        zip(("loop", "skorch", "ours"), memory, strict=True)
                    ),
                }
            )
            print(
                f"| {backbone} {size}px | {setting} | {loop:,.0f} | "
                f"{skorch_rate:,.0f} | {mine:,.0f} | {mine / loop:.2f}x | "
                f"{mine / skorch_rate:.2f}x | {' / '.join(memory)} |",
                flush=True,
            )
    return rows
