"""The transfer study on a folder of photos: how long ``sktransfer study
--target DIR`` takes at the recipe's input size, against the default fit on
300 digits measured in the same run.

The folder: three classes (scikit-learn's temple and flower photos,
matplotlib's portrait of Grace Hopper), ``--per-class`` JPEG photos each
(default 50: 150 photos), square crops of 112 to 320 px at random places,
saved at ``--side`` px (default 160). With no source folder the study takes
ImageNet-pretrained EfficientNet-Lite0 as the source, and images of 96 px
and more go into it at its own 224 px.

The command runs as a user would run it (a subprocess of this Python, its
output shown as it comes), once per ``--runs`` entry: ``default`` (the whole
study) and ``quick`` (``--quick``). The table gives each study's minutes and
its ratio to the 300-digit fit (goal of the photo-size issue: under 15
minutes on 2 CPU cores).

    .venv/bin/python benchmarks/photo_study.py [--runs quick default]
        [--per-class 50] [--side 160] [--folder DIR] [--reference-seconds S]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from photo_data import reference_seconds, sample_photos
from PIL import Image

RUNS = {"default": [], "quick": ["--quick"]}


def write_folder(root, per_class, side, seed=0):
    """``per_class`` photos of ``side`` px per sample photo, one class
    folder each, under ``root``."""
    rng = np.random.default_rng(seed)
    for label, photo in sample_photos().items():
        folder = Path(root) / label
        folder.mkdir(parents=True, exist_ok=True)
        height, width = photo.shape[:2]
        for i in range(per_class):
            crop = int(rng.integers(112, min(320, height, width) + 1))
            top = int(rng.integers(0, height - crop + 1))
            left = int(rng.integers(0, width - crop + 1))
            image = Image.fromarray(photo[top : top + crop, left : left + crop])
            image = image.resize((side, side), Image.Resampling.BILINEAR)
            image.save(folder / f"{label}{i:03d}.jpg", quality=90)
    return Path(root)


def run_study(folder, extra, out):
    """Wall seconds of ``sktransfer study --target folder`` (its output
    printed as it comes)."""
    command = [
        sys.executable,
        "-m",
        "sktransfer",
        "study",
        "--target",
        str(folder),
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]
    print("$", " ".join(["sktransfer", *command[3:]]), flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=RUNS)
    parser.add_argument("--per-class", type=int, default=50)
    parser.add_argument("--side", type=int, default=160)
    parser.add_argument("--folder", help="write the photos here (default: a temp dir)")
    parser.add_argument(
        "--study-args",
        nargs=argparse.REMAINDER,
        default=[],
        help="more arguments for every study (last on the line)",
    )
    parser.add_argument(
        "--reference-seconds",
        type=float,
        help="the default fit on 300 digits, if measured already (skips it)",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sktransfer-photo-study-") as scratch:
        folder = write_folder(
            args.folder or Path(scratch) / "photos", args.per_class, args.side
        )
        reference = args.reference_seconds or reference_seconds()
        print(
            f"{3 * args.per_class} photos of {args.side} px in 3 classes "
            f"({folder}); the default fit on 300 digits at 64 px: "
            f"{reference:.1f} s\n",
            flush=True,
        )
        minutes = {}
        for run in args.runs:
            seconds = run_study(
                folder, [*RUNS[run], *args.study_args], Path(scratch) / run
            )
            minutes[run] = seconds / 60
            print(flush=True)
    print("| study | minutes | / 300-digit fit |")
    print("|---|---|---|")
    for run, value in minutes.items():
        print(f"| {run} | {value:.1f} | {60 * value / reference:.1f}x |")


if __name__ == "__main__":
    main()
