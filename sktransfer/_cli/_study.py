"""``sktransfer study``: the transfer study on a dataset, the main job.

Its defaults for the networks' training (learning rate, batch size, input
size, epochs) are the estimators' own: read from
:class:`~sktransfer.PretrainedCNNClassifier`'s signature, never written here.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.base import clone
from tqdm.auto import tqdm

from .._estimators import PretrainedCNNClassifier, default_of
from .._model_files import save_model
from ..model_selection import transfer_study
from ..model_selection._transfer_study import SOURCE_FIT, n_source_classes
from ._plan import QUICK_FREEZE, QUICK_REPEATS, StudyClock, apply_quick, plan
from ._report import print_report, write_report
from ._study_data import load_study_data, parse_labels

__all__ = ["DESCRIPTION", "add_study_parser"]

DESCRIPTION = """\
Transfer learning of CNNs for small image datasets.

`sktransfer study` answers "on my data, which transfer strategy works, and by
how much over a linear SVM?": it trains a source network on the source data,
then compares on the target data a linear SVM on raw pixels, the CNN trained
from scratch, a linear SVM on the source network's features (top and
earlier), fine-tuning at several freeze_upto and label-relation transfer,
over repeated random splits; it prints the table (mean ± SD, fit time),
advice and what the estimators' defaults train on these images (and which
row measured it), and writes the table (Markdown, CSV) and plots (PNG) to
--out.
"""

STUDY_EPILOG = """\
examples:
  sktransfer study                                  # digits 0-4 -> 5-9
  sktransfer study --dataset fashion-mnist --per-class 50
  sktransfer study --source photos/source --target photos/target --image-size 64
  sktransfer study --target photos/target --image-size 64   # ImageNet as source
  sktransfer study --target photos/target --quick   # a first look at photo sizes
  sktransfer study --backbone efficientnet_lite0 --input-size 64 --device cuda
  sktransfer study --save-model model.sktransfer        # then: sktransfer predict
"""


def _study(args):
    if args.backbone is None:  # pretrained when the study has no source data
        target_only = args.target is not None and args.source is None
        args.backbone = "efficientnet_lite0" if target_only else "small_cnn"
    X_s, y_s, X_t, y_t, description = load_study_data(args)
    if args.quick:
        print(f"--quick: {apply_quick(args)}.", flush=True)
    label_relation = not args.no_lrt and len(np.unique(y_t)) <= n_source_classes(
        args.backbone, y_s
    )
    n_networks, n_rows = plan(args, label_relation)
    common = {
        "input_size": args.input_size,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "device": args.device,
    }
    sources = (
        "no source images"
        if y_s is None
        else f"{len(y_s)} source images ({len(np.unique(y_s))} classes)"
    )
    print(
        f"Transfer study on {description}: {sources}, {len(y_t)} target images "
        f"({len(np.unique(y_t))} classes), {args.repeats} repeats of a "
        f"{1 - args.test_size:.0%}/{args.test_size:.0%} split.",
        flush=True,
    )
    clock = StudyClock(args.repeats, n_networks, args.seed)
    start = time.perf_counter()
    with tqdm(
        total=(y_s is not None) + args.repeats * n_rows,
        desc="fits",
        disable=args.quiet,
    ) as progress:

        def show(method):
            # What is running now; the source's training is the first step.
            if y_s is not None and progress.n == 0 and method != SOURCE_FIT:
                progress.update()  # the source network is trained
            clock.started(method)
            progress.set_postfix_str(method[:40])

        def advance(row):
            progress.update()
            line = clock.finished(row)
            if line:
                progress.write(line)

        result = transfer_study(
            X_s,
            y_s,
            X_t,
            y_t,
            backbone=args.backbone,
            weights=None if args.weights == "none" else args.weights,
            freeze_values=[parse_labels([v])[0] for v in args.freeze],
            n_repeats=args.repeats,
            test_size=args.test_size,
            source_params={"max_epochs": args.source_epochs, **common},
            target_params={"max_epochs": args.epochs, **common},
            label_relation=not args.no_lrt,
            from_scratch=not args.no_scratch,
            random_state=args.seed,
            callback=advance,
            on_start=show,
        )
    result["total_time"] = time.perf_counter() - start
    print_report(result)
    if args.out:
        written = write_report(result, args.out, description)
        print(f"\nWrote {', '.join(str(p) for p in written)}")
    if args.save_model:
        _save_best(result, X_t, y_t, args.save_model)
    return 0


def _save_best(result, X, y, path):
    """Refit the study's best method on the whole target set and save it."""
    best = result["best"]
    print(f"\nFitting {best!r} (the best method) on all {len(y)} target images...")
    model = clone(result["last_run"]["models"][best]).fit(X, y)
    save_model(model, path)
    print(
        f"Saved it to {path}. Label new images with:\n"
        f"  sktransfer predict {path} FOLDER_OF_NEW_IMAGES\n"
        f"or in Python: sktransfer.load_model({str(path)!r}).predict(X)"
    )


def _default(name):
    """The classifier's default of parameter ``name``."""
    return default_of(PretrainedCNNClassifier, name)


def add_study_parser(commands):
    """Add ``sktransfer study`` to the ``commands`` of the main parser."""
    study = commands.add_parser(
        "study",
        help="compare transfer strategies on a dataset (the main job)",
        description=DESCRIPTION,
        epilog=STUDY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = study.add_argument_group("data")
    data.add_argument(
        "--dataset",
        choices=("digits", "fashion-mnist"),
        default="digits",
        help="bundled dataset split into source and target (default: digits)",
    )
    data.add_argument(
        "--data-home",
        help="folder of the Fashion-MNIST IDX files (default: "
        "$SKTRANSFER_FASHION_MNIST or /usr/share/datasets/fashion-mnist)",
    )
    data.add_argument(
        "--split",
        choices=("class", "dendrogram"),
        default="class",
        help="class: source classes vs the other classes (default); dendrogram: "
        "Molina et al.'s split of every class by hierarchical clustering",
    )
    data.add_argument(
        "--split-embedding",
        default="pixels",
        metavar="BACKBONE",
        help="what --split dendrogram clusters: pixels (default) or the pooled "
        "features of a pretrained backbone, e.g. efficientnet_lite0 (Molina et al. "
        "used Inception v3)",
    )
    data.add_argument(
        "--source-classes",
        nargs="+",
        metavar="LABEL",
        help="labels of the source task for --split class (default: the first "
        "half of the sorted labels; Fashion-MNIST takes class indices 0-9 or names)",
    )
    data.add_argument("--source", metavar="DIR", help="folder of source class folders")
    data.add_argument(
        "--target",
        metavar="DIR",
        help="folder of target class folders; alone (without --source), the "
        "ImageNet-pretrained --backbone is the source",
    )
    data.add_argument(
        "--image-size",
        type=int,
        metavar="PX",
        help="resize folder images to PX x PX (needed when their sizes differ)",
    )
    data.add_argument(
        "--per-class",
        type=int,
        metavar="N",
        help="use at most N target images per class (default: all)",
    )
    data.add_argument(
        "--source-per-class",
        type=int,
        default=1000,
        metavar="N",
        help="use at most N source images per class (default: 1000)",
    )
    model = study.add_argument_group("networks and training")
    model.add_argument(
        "--backbone",
        default=None,
        help="source network: small_cnn (default), efficientnet_lite0 (default with "
        "--target alone), resnet18, ... (see sktransfer.list_backbones())",
    )
    model.add_argument(
        "--weights",
        default="DEFAULT",
        help="initial weights of the source network: DEFAULT (pretrained where "
        "the backbone has some), none, or a weights name or file",
    )
    model.add_argument(
        "--input-size",
        type=int,
        default=_default("input_size"),
        metavar="PX",
        help="side images are resized to on the device (default: the recipe's: "
        "64 px for images under 96 px into ImageNet networks, else the "
        "backbone's own)",
    )
    model.add_argument(
        "--epochs",
        type=int,
        default=_default("max_epochs"),
        help="epochs of every target network (default: the recipe's, from the "
        "number of training images)",
    )
    model.add_argument(
        "--source-epochs",
        type=int,
        default=None,
        help="epochs of the source network (default: the recipe's, from the "
        "number of source images)",
    )
    model.add_argument(
        "--lr",
        type=float,
        default=_default("lr"),
        help=f"learning rate (default: the recipe's, {_default('lr')})",
    )
    model.add_argument(
        "--batch-size",
        type=int,
        default=_default("batch_size"),
        help=f"training batch size (default: {_default('batch_size')})",
    )
    model.add_argument(
        "--freeze",
        nargs="+",
        default=["0", "half", "all"],
        metavar="N",
        help="freeze_upto values of the fine-tuning rows: ints, unit names, half, "
        "all (default: 0 half all)",
    )
    model.add_argument(
        "--no-lrt", action="store_true", help="leave out label-relation transfer"
    )
    model.add_argument(
        "--no-scratch",
        action="store_true",
        help="leave out the CNN from scratch (at photo sizes the slowest row)",
    )
    model.add_argument(
        "--device",
        default=_default("device"),
        help="auto (CUDA when present, default), cpu, cuda, cuda:1, ...",
    )
    run = study.add_argument_group("runs and output")
    run.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="random splits per method (default: 5, where the verdict's "
        "interval stops depending on the first splits' luck)",
    )
    run.add_argument(
        "--test-size",
        type=float,
        default=0.3,
        help="test fraction of the target set (default: 0.3)",
    )
    run.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the splits and the networks; repeat r uses seed + r (default: 0)",
    )
    run.add_argument(
        "--out",
        default="sktransfer-study",
        help="folder for study.md, study.csv and the PNG plots (default: "
        "./sktransfer-study; '' writes nothing)",
    )
    run.add_argument(
        "--save-model",
        metavar="FILE",
        help="refit the best method on all target images and save it to FILE "
        "(for sktransfer predict or sktransfer.load_model)",
    )
    run.add_argument(
        "--quick",
        action="store_true",
        help=f"a first look: {QUICK_REPEATS} repeats, fine-tuning at freeze_upto "
        f"{' and '.join(QUICK_FREEZE)} only, no label-relation transfer and no "
        "CNN from scratch (says what it trimmed)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    study.set_defaults(run=_study)
    return study
