"""Training throughput on a CUDA GPU: hand-written loop vs plain skorch vs ours.

ResNet-18 and ResNet-50 at 224 px, batches of 128, 2048 images: full
fine-tune, half frozen, and ``freeze_upto="all"`` over 10 epochs; prints
images/s, the ratios and the peak GPU memory of each row. Goals: full
fine-tune >= 0.95x the loop and >= 4x plain skorch; ``"all"`` >= 10x the loop
(which recomputes the frozen body every epoch); half frozen faster than the
loop. See ``benchmarks/_throughput.py`` for what each method does.

    .venv/bin/python benchmarks/gpu_throughput.py [--n 2048] [--epochs 10]
"""

from __future__ import annotations

import argparse
import sys

import torch
from _throughput import run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--networks", nargs="+", default=["resnet18", "resnet50"])
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        sys.exit("gpu_throughput.py needs a CUDA GPU; use cpu_throughput.py here.")
    print(torch.cuda.get_device_name(0))
    run(
        [(name, args.size, 3) for name in args.networks],
        n=args.n,
        epochs=args.epochs,
        batch_size=args.batch_size,
        device=args.device,
    )


if __name__ == "__main__":
    main()
