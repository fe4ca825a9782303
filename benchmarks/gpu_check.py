"""The GPU check: every device path of the library works, and how fast.

One run, one printed report: a PASS/FAIL line with its time for each
working check (``_gpu_checks.py``: fits, predictions, the recipe's options,
the regressor, label-relation transfer, the extractor, Accelerate,
``lr_find``, the inspection Displays, a model file saved on the device and
loaded in a process without CUDA, grid searches, ``sktransfer study``, the
defaults on digits-10), then speed ratios measured in the same run
(``_throughput.py``, ``_gpu_speed.py``): fine-tuning against a hand-written
bf16 channels-last loop with the data on the device (goal >= 0.95x) and
against plain skorch on float32 NumPy (goal >= 4x); ``freeze_upto="all"``
against the loop that recomputes the frozen body (goal >= 10x);
``predict_proba`` against raw bf16 inference (goal >= 0.9x); peak GPU
memory next to each (goal: ours <= 1.2x the loop's); the recipe's share of
a fit; and a grid search of 8 candidates x 3 folds with ``n_jobs=1``
against workers sharing the device, with the sampled GPU utilisation. Every
figure is also written to ``--out`` (``gpu_check.json``, and the printed
report as ``gpu_check.md``).

    python benchmarks/gpu_check.py --out gpu-check            # on a GPU, ~6 min
    python benchmarks/gpu_check.py --device cpu --tiny --out /tmp/check

``--tiny`` shrinks every phase (the CPU mode: under 2 minutes on 2 cores,
run by the test suite); ``scripts/gpu_check.sh`` runs it on a lent device.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import sys
import time
import traceback
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gpu_checks import CHECKS, Plan  # noqa: E402
from _gpu_speed import predict_speed, recipe_cost, search_fill  # noqa: E402
from _throughput import run as training_speed  # noqa: E402

# The sizes of each phase. "gpu" was set from the CPU timings of "tiny" and
# the H100 anchors below, to end within 7 minutes on an H100 or H200.
SIZES = {
    "gpu": {
        "plan": dict(
            n_fit=256,
            epochs=3,
            resnet_side=224,
            n_resnet=256,
            digits_seeds=3,
            digits_epochs=None,
            study_args=("--input-size", "32"),
            search_n_jobs=2,
        ),
        "speed_networks": [
            ("resnet18", 224, 3),
            ("resnet50", 224, 3),
            ("efficientnet_lite0", 224, 3),
        ],
        "speed_n": 2048,
        "speed_epochs": 3,
        "frozen_epochs": 10,
        "batch_size": 128,
        "predict_n": 10_000,
        "recipe": ("resnet18", 224, 1024, 3),
        "search": dict(n=1000, size=128, epochs=2, worker_counts=(3,)),
    },
    "tiny": {
        "plan": dict(
            n_fit=40,
            epochs=1,
            resnet_side=32,
            n_resnet=20,
            digits_seeds=1,
            digits_epochs=1,
            study_args=(
                "--per-class",
                "8",
                "--source-per-class",
                "10",
                "--input-size",
                "16",
                "--epochs",
                "1",
                "--source-epochs",
                "1",
            ),
            search_n_jobs=2,
        ),
        "speed_networks": [("resnet18", 32, 3)],
        "speed_n": 64,
        "speed_epochs": 1,
        "frozen_epochs": 2,
        "batch_size": 32,
        "predict_n": 128,
        "recipe": ("resnet18", 32, 64, 1),
        "search": dict(n=48, size=32, epochs=1, worker_counts=(2,)),
    },
}

# Images per second of a bf16 channels-last training loop on an H100 at
# 224 px (forward and backward); inference runs about 3 times as fast, plain
# skorch in float32 about 4 times as slow.
H100_TRAIN_RATE = {"resnet18": 9400, "resnet50": 3500, "efficientnet_lite0": 6000}
SECONDS_PER_CHECK = 8  # a few small fits and their set-up
SECONDS_PER_SEARCH_FIT = 2  # building Lite0, a fit's set-up, scoring


def estimate_seconds(sizes):
    """The GPU run's length from the H100 anchors: each speed row's images
    over its rate, plus a fixed cost per working check and per fit."""
    seconds = SECONDS_PER_CHECK * len(CHECKS) + 30 * sizes["plan"]["digits_seeds"]
    for backbone, side, _ in sizes["speed_networks"]:
        rate = H100_TRAIN_RATE[backbone] * (224 / side) ** 2
        trained = sizes["speed_n"] * sizes["speed_epochs"]
        seconds += (trained / rate) * (1 + 1 + 4)  # loop, ours, skorch
        seconds += sizes["speed_n"] * sizes["frozen_epochs"] / (3 * rate) * 2
        seconds += sizes["predict_n"] / (3 * rate) * 2 + 10  # set-up of each row
    search = sizes["search"]
    fits = 8 * 3 * (1 + len(search["worker_counts"]))
    seconds += fits * (SECONDS_PER_SEARCH_FIT + search["n"] * search["epochs"] / 5000)
    return seconds


def working_checks(plan, names=None):
    rows = []
    print("| check | result | seconds | note |\n|---|---|---|---|")
    for name, check in CHECKS.items():
        if names and not any(part in name for part in names):
            continue
        start = time.perf_counter()
        try:
            note, passed = check(plan), True
        except Exception as error:  # a failed check is a row, not the end
            note, passed = f"{type(error).__name__}: {error}"[:300], False
            traceback.print_exc(file=sys.stderr)
        seconds = time.perf_counter() - start
        rows.append({"check": name, "passed": passed, "seconds": seconds, "note": note})
        flat = str(note).replace("|", "/").replace("\n", " ")
        print(
            f"| {name} | {'PASS' if passed else 'FAIL'} | {seconds:.1f} | {flat} |",
            flush=True,
        )
    return rows


def speed(sizes, device):
    report = {}
    print(
        f"\n### Training: {sizes['speed_n']} images, batches of {sizes['batch_size']}\n"
    )
    common = dict(n=sizes["speed_n"], batch_size=sizes["batch_size"], device=device)
    report["training"] = training_speed(
        sizes["speed_networks"],
        epochs=sizes["speed_epochs"],
        settings=("full fine-tune",),
        **common,
    )
    print(f"\n### A head on the frozen body, {sizes['frozen_epochs']} epochs\n")
    report["frozen"] = training_speed(
        sizes["speed_networks"],
        epochs=sizes["frozen_epochs"],
        settings=('freeze_upto="all"',),
        **common,
    )
    print(f"\n### predict_proba on {sizes['predict_n']} images\n")
    report["predict"] = predict_speed(
        sizes["speed_networks"], n=sizes["predict_n"], device=device
    )
    backbone, side, n, epochs = sizes["recipe"]
    print("\n### The recipe's cost in a fit\n")
    print("| fit | constant rate, no recalibration | the recipe | recipe's share |")
    print("|---|---|---|---|")
    report["recipe"] = recipe_cost(backbone, side, n=n, epochs=epochs, device=device)
    search = sizes["search"]
    print(
        f"\n### GridSearchCV, 8 candidates x 3 folds, {search['n']} images at "
        f"{search['size']} px (Lite0, {search['epochs']} epochs)\n"
    )
    report["search"] = search_fill(device=device, **search)
    return report


class Tee(io.TextIOBase):
    """Print and keep what was printed."""

    def __init__(self, stream):
        self.stream, self.kept = stream, io.StringIO()

    def write(self, text):
        self.kept.write(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="the CPU mode's sizes")
    parser.add_argument("--out", default="gpu-check", help="folder for the files")
    parser.add_argument(
        "--only", nargs="+", help="run the working checks whose names hold these"
    )
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit(
            "gpu_check.py: no CUDA device here; --device cpu --tiny runs it on the CPU."
        )
    sizes = SIZES["tiny" if args.tiny else "gpu"]
    plan = Plan(device=args.device, **sizes["plan"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tee = Tee(sys.stdout)
    started = time.perf_counter()
    with contextlib.redirect_stdout(tee):
        name = (
            torch.cuda.get_device_name(args.device)
            if args.device.startswith("cuda")
            else platform.processor() or "CPU"
        )
        print(
            f"# GPU check: {name}, torch {torch.__version__}, "
            f"{'tiny' if args.tiny else 'GPU'} sizes\n\nEstimated for the GPU "
            f"sizes on an H100: {estimate_seconds(SIZES['gpu']) / 60:.1f} min.\n"
        )
        checks = working_checks(plan, args.only)
        report = {} if args.no_speed else speed(sizes, args.device)
        total = time.perf_counter() - started
        failed = [row["check"] for row in checks if not row["passed"]]
        print(
            f"\n{len(checks) - len(failed)} of {len(checks)} checks passed in "
            f"{total:.0f} s." + (f" Failed: {', '.join(failed)}." if failed else "")
        )
    result = {
        "device": name,
        "torch": torch.__version__,
        "sizes": "tiny" if args.tiny else "gpu",
        "checks": checks,
        **report,
        "seconds": total,
    }
    (out / "gpu_check.json").write_text(json.dumps(result, indent=1, default=str))
    (out / "gpu_check.md").write_text(tee.kept.getvalue())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
