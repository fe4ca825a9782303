"""The sktransfer command, end to end on tiny settings."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sktransfer._cli import build_parser, main
from sktransfer._cli._plan import StudyClock, plan

TINY = [
    "--per-class",
    "12",
    "--source-per-class",
    "20",
    "--epochs",
    "1",
    "--source-epochs",
    "1",
    "--repeats",
    "2",
    "--input-size",
    "16",
    "--quiet",
]


def test_study_on_digits_writes_table_and_plots(tmp_path, capsys):
    assert main(["study", *TINY, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert (
        "| method | accuracy (mean ± SD) | runs | fit time (s) | vs linear SVM on "
        "raw pixels (95% interval, p) |" in printed
    )
    assert "| linear SVM on raw pixels |" in printed and "| baseline |" in printed
    # The verdict: the difference, its interval and p-value.
    assert "Verdict: '" in printed and "corrected resampled t-test over 2" in printed
    assert "95% interval" in (tmp_path / "study.md").read_text()
    assert "Advice: Scenario" in printed and "Measured: the advised" in printed
    for name in (
        "study.md",
        "study.csv",
        "comparisons.csv",
        "comparison.png",
        "confusion.png",
        "freeze_curve.png",
        "filters.png",
        "gradcam.png",
    ):
        assert (tmp_path / name).stat().st_size > 0, name
    rows = (tmp_path / "study.csv").read_text().splitlines()
    assert rows[0] == "method,seed,accuracy,fit_time" and len(rows) == 1 + 2 * 9
    # The progress bar's total counts the same rows.
    args = build_parser().parse_args(["study", *TINY])
    assert plan(args, label_relation=True) == (4, 9)
    assert "label-relation transfer" in (tmp_path / "study.md").read_text()
    comparisons = (tmp_path / "comparisons.csv").read_text().splitlines()
    assert comparisons[0] == (
        "method,other,mean,low,high,p_value,significant,n_runs,repeats_needed"
    )
    # Eight methods against the SVM, and the best against the runner-up
    # (unless that is the SVM, compared already).
    assert len(comparisons) in (1 + 8, 1 + 9)


def test_study_dendrogram_split_on_cnn_embeddings(capsys):
    args = [
        "study",
        *TINY,
        "--split",
        "dendrogram",
        "--split-embedding",
        "small_cnn",
        "--no-lrt",
        "--freeze",
        "all",
        "--repeats",
        "1",
        "--out",
        "",
    ]
    assert main(args) == 0
    assert "dendrogram split on small_cnn embeddings" in capsys.readouterr().out


def test_study_dendrogram_split_without_lrt_and_no_output(tmp_path, capsys):
    args = [
        "study",
        *TINY,
        "--split",
        "dendrogram",
        "--no-lrt",
        "--freeze",
        "all",
        "--out",
        "",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "dendrogram split on pixels" in printed and "label-relation" not in printed
    assert "Wrote" not in printed


def _folder(root, labels, size, rng):
    from PIL import Image

    for label in labels:
        (root / label).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(0, 255, size, dtype=np.uint8)).save(
                root / label / f"{i}.png"
            )


def test_study_on_image_folders(tmp_path, capsys):
    rng = np.random.default_rng(0)
    _folder(tmp_path / "source", ["a", "b", "c"], (10, 10), rng)
    _folder(tmp_path / "target", ["x", "y"], (12, 12, 3), rng)
    args = [
        "study",
        *TINY,
        "--source",
        str(tmp_path / "source"),
        "--target",
        str(tmp_path / "target"),
        "--image-size",
        "8",
        "--out",
        "",
    ]
    assert main(args) == 0
    assert "image folders" in capsys.readouterr().out


def test_a_study_reads_only_the_folder_images_it_uses(tmp_path, monkeypatch, capsys):
    """A folder is listed and cut to --per-class before any file is read."""
    from sktransfer._inputs import _reading

    rng = np.random.default_rng(0)
    _folder(tmp_path / "target", ["x", "y"], (12, 12, 3), rng)
    read, real_read = [], _reading.read_image

    def counting_read(path, *args, **kwargs):
        read.append(path)
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(_reading, "read_image", counting_read)
    args = ["study", *TINY, "--target", str(tmp_path / "target"), "--out", ""]
    assert main([*args, "--per-class", "3"]) == 0
    assert "image folder" in capsys.readouterr().out
    assert len(read) == 6  # 3 of each class's 12
    assert {Path(p).parent.name for p in read} == {"x", "y"}


def test_study_errors_name_the_problem(tmp_path, capsys):
    code = main(
        [
            "study",
            "--source",
            str(tmp_path / "no"),
            "--target",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
    code = main(["study", "--source-classes", "42", "--quiet", "--out", ""])
    assert code == 2 and "`source_classes`" in capsys.readouterr().err


def test_help_is_complete(capsys):
    for argv in (["--help"], ["study", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        text = capsys.readouterr().out
        assert "linear SVM" in text
    parser = build_parser()
    study = parser._subparsers._group_actions[0].choices["study"]
    undocumented = [action.dest for action in study._actions if action.help is None]
    assert undocumented == []


@pytest.mark.slow  # subprocesses
def test_console_script_entry_point():
    done = subprocess.run(
        [sys.executable, "-m", "sktransfer._cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    from sktransfer import __version__

    assert done.stdout.strip() == __version__


def test_study_on_fashion_mnist_files(tmp_path, capsys):
    import gzip
    import struct

    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (100, 28, 28), dtype=np.uint8)
    labels = np.repeat(np.arange(10), 10).astype(np.uint8)
    for name, array in (("images-idx3", images), ("labels-idx1", labels)):
        header = struct.pack(">HBB", 0, 0x08, array.ndim)
        header += struct.pack(">" + "I" * array.ndim, *array.shape)
        with gzip.open(tmp_path / f"train-{name}-ubyte.gz", "wb") as f:
            f.write(header + array.tobytes())
    args = [
        "study",
        *TINY,
        "--dataset",
        "fashion-mnist",
        "--data-home",
        str(tmp_path),
        "--source-classes",
        "0",
        "Trouser",
        "--out",
        "",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "classes ['T-shirt/top', 'Trouser'] -> the rest" in printed
    assert "(8 classes)" in printed


def test_study_saves_the_best_method_refitted_on_all_target_images(tmp_path, capsys):
    from sktransfer import load_model
    from sktransfer.datasets import load_digits_images

    path = tmp_path / "best.sktransfer"
    args = ["study", *TINY, "--no-lrt", "--freeze", "all", "--repeats", "1"]
    assert main([*args, "--out", "", "--save-model", str(path)]) == 0
    printed = capsys.readouterr().out
    assert f"sktransfer predict {path}" in printed
    model = load_model(path)
    X, y = load_digits_images()
    assert set(model.predict(X[y >= 5][:20])) <= {5, 6, 7, 8, 9}


def test_study_with_target_images_only_uses_imagenet_as_the_source(tmp_path, capsys):
    from PIL import Image

    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    for label in (3, 5, 8):
        (tmp_path / "target" / f"digit{label}").mkdir(parents=True)
        for i, image in enumerate(X[y == label][:10]):
            Image.fromarray(image).save(
                tmp_path / "target" / f"digit{label}" / f"{i}.png"
            )
    args = ["study", "--target", str(tmp_path / "target"), "--epochs", "1"]
    args += [
        "--repeats",
        "1",
        "--freeze",
        "all",
        "--quiet",
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "ImageNet-pretrained efficientnet_lite0 as the source" in printed
    assert "no source images" in printed and "| label-relation transfer |" in printed
    assert "No source images: the pretrained backbone is the source" in printed
    # What the defaults choose, read off the digits themselves.
    assert (
        "Defaults: with freeze_upto='auto' the estimators fine-tune the whole "
        "network on 21 grey training images of 8 px (far from the source: a "
        "shift of 0."
    ) in " ".join(printed.split())
    assert (tmp_path / "out" / "filters.png").stat().st_size > 0


def test_study_with_source_only_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit, match="--source DIR needs --target DIR"):
        main(["study", "--source", str(tmp_path)])


def test_study_quick_trims_and_says_what_and_shows_its_eta(capsys):
    # Without --repeats the default (5) is what --quick trims.
    i = TINY.index("--repeats")
    args = [*TINY[:i], *TINY[i + 2 :], "--quick", "--out", ""]
    assert main(["study", *args]) == 0
    out = capsys.readouterr().out
    assert (
        "--quick: 2 repeats instead of 5; fine-tuning at freeze_upto 0 and all "
        "only (not half); no label-relation transfer; no CNN from scratch." in out
    )
    assert "2 repeats of a 70%/30% split" in out
    assert "The first network fit took " in out
    # One network a repeat (freeze_upto=all trains a head on cached
    # features), the first one timed: 1 more.
    assert "about 1 more such fit, so" in out
    assert "The first repeat took " in out and "1 more repeat should take" in out
    assert "label-relation transfer |" not in out and "CNN from scratch |" not in out
    assert "fine-tune, freeze_upto=all |" in out


def test_a_repeat_fits_label_relation_transfer_only_where_it_applies():
    from sktransfer.model_selection._transfer_study import n_source_classes

    # freeze_upto=all trains a head on features computed once: no network.
    args = build_parser().parse_args(["study", "--freeze", "0", "all"])
    assert plan(args, label_relation=True) == (3, 8)
    assert plan(args, label_relation=False) == (2, 7)
    args = build_parser().parse_args(["study", "--freeze", "0", "--no-scratch"])
    assert plan(args, label_relation=False) == (1, 5)
    # Five source digits can answer for at most five target classes;
    # ImageNet's weights for 1000, a built-in without weights for none.
    assert n_source_classes("small_cnn", np.arange(10) % 5) == 5
    assert n_source_classes("efficientnet_lite0", None) == 1000
    assert n_source_classes("small_cnn", None) == 0


def test_study_clock_guesses_from_the_first_fit_then_measures_a_repeat():
    from sktransfer.model_selection._transfer_study import SCRATCH, SOURCE_FIT

    clock = StudyClock(n_repeats=3, n_networks=4, first_seed=7)
    clock.started(SOURCE_FIT, now=0.0)  # the source's training is no repeat
    clock.started("linear SVM on raw pixels", now=100.0)
    row = {"method": "linear SVM on raw pixels", "seed": 7, "fit_time": 1.0}
    assert clock.finished(row, now=101.0) is None
    # A head on cached features is no network fit to time the rest by.
    row = {"method": "fine-tune, freeze_upto=all", "seed": 7, "fit_time": 2.0}
    assert clock.finished(row, now=101.0) is None
    line = clock.finished({"method": SCRATCH, "seed": 7, "fit_time": 60.0}, now=161.0)
    # 60 s a network fit, 12 of them: 12 min.
    assert line.startswith("The first network fit took 60 s: about 11 more")
    assert "end in about 12 min" in line
    row = {"method": "fine-tune, freeze_upto=0", "seed": 7, "fit_time": 30.0}
    assert clock.finished(row, now=400.0) is None
    # The second repeat's first row: the first repeat took 300 s, two more.
    row = {"method": "linear SVM on raw pixels", "seed": 8, "fit_time": 1.0}
    assert clock.finished(row, now=401.0) == (
        "The first repeat took 300 s: 2 more repeats should take about 10 min."
    )
    assert clock.finished({**row, "method": SCRATCH}, now=460.0) is None
    assert StudyClock(1, 4, 0).finished({**row, "seed": 1}, now=1.0) is None
