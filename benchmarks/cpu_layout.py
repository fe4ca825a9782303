"""Memory layout on the CPU: the network and its batches channels-last (what
the library does on every device) against PyTorch's default layout.

EfficientNet-Lite0 (ImageNet weights, offline) as a fitted
``PretrainedCNNClassifier`` builds it, at the input sizes the recipe uses
(64 px for small images, 128, 160 and the backbone's 224 px for photos):
training steps (forward, backward, SGD step on batches of 32) and inference
(batches of 256) in images a second, both layouts in the same run, and the
ratio (goal: channels-last >= 1.0x everywhere).

    .venv/bin/python benchmarks/cpu_layout.py [--sizes 64 224] [--steps 6]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from sktransfer import PretrainedCNNClassifier

LAYOUTS = {"default": torch.contiguous_format, "channels-last": torch.channels_last}


def network(size):
    """The library's Lite0 network for RGB images at ``size`` px."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (8, size, size, 3), dtype=np.uint8)
    clf = PretrainedCNNClassifier(
        "efficientnet_lite0", input_size=size, max_epochs=1, random_state=0
    )
    return clf.fit(X, np.arange(8) % 2).module_


def images_per_second(module, size, layout, steps, train):
    """Median images a second over ``steps`` batches (the first left out)."""
    module = module.to(memory_format=layout).train(train)
    batch = 32 if train else 256
    x = torch.rand(batch, 3, size, size).contiguous(memory_format=layout)
    y = torch.arange(batch) % 2
    optimizer = torch.optim.SGD(module.parameters(), lr=1e-5)
    seconds = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        if train:
            # The network's own forward, minus the layout it imposes.
            out = module.forward_head(module.forward_features(x))
            loss = torch.nn.functional.cross_entropy(out, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        else:
            with torch.no_grad():
                module.forward_head(module.forward_features(x))
        seconds.append(time.perf_counter() - start)
    return batch / float(np.median(seconds[1:]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[64, 128, 160, 224])
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads\n")
    print("| input | pass | default img/s | channels-last img/s | ratio |")
    print("|---|---|---|---|---|")
    for size in args.sizes:
        module = network(size)
        for train in (True, False):
            rates = {
                name: images_per_second(module, size, layout, args.steps, train)
                for name, layout in LAYOUTS.items()
            }
            print(
                f"| {size} px | {'training' if train else 'inference'} "
                f"| {rates['default']:.1f} | {rates['channels-last']:.1f} "
                f"| {rates['channels-last'] / rates['default']:.2f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
