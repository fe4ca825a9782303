"""The benchmark scripts run (tiny settings): they must not rot between runs."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def _run(script, *args):
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        cwd=BENCHMARKS,
        timeout=300,
    )


def _benchmark_module(name):
    import importlib
    import sys

    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.mark.slow  # a benchmark subprocess
def test_cpu_throughput_prints_the_table():
    done = _run(
        "cpu_throughput.py",
        "--n",
        "64",
        "--epochs",
        "1",
        "--repeats",
        "1",
        "--networks",
        "mlp",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| mlp")]
    assert len(rows) == 3 and all("x |" in row for row in rows)


@pytest.mark.slow  # a benchmark subprocess
def test_cpu_layout_compares_both_layouts_at_each_size():
    done = _run("cpu_layout.py", "--sizes", "32", "--steps", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 32 px")]
    assert [row.split("|")[2].strip() for row in rows] == ["training", "inference"]
    assert all(row.rstrip().endswith("x |") for row in rows)


@pytest.mark.slow  # a benchmark subprocess
def test_gpu_throughput_says_it_needs_cuda():
    import torch

    if torch.cuda.is_available():  # pragma: no cover - GPU machines run it for real
        return
    done = _run("gpu_throughput.py")
    assert done.returncode != 0 and "needs a CUDA GPU" in done.stderr


@pytest.mark.slow  # a benchmark subprocess
def test_small_data_prints_its_rows():
    done = _run(
        "small_data.py",
        "--tasks",
        "digits-10",
        "--rows",
        "svm",
        "fastai",
        "--seeds",
        "1",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| row") and len(rows) == 3
    assert rows[1].startswith("| linear SVM on pixels | 0.")
    assert rows[2].startswith("| fastai-style")


@pytest.mark.slow  # a benchmark subprocess
def test_small_regression_prints_r2_rows():
    done = _run(
        "small_regression.py",
        "--tasks",
        "digits-angle-300",
        "--rows",
        "ridge",
        "multi",
        "--seeds",
        "1",
        "--input-size",  # quick: 1,800 images at 64 px, not 224
        "64",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| row | test R²") and len(rows) == 3
    assert rows[1].startswith("| RidgeCV on pixels | 0.")
    assert rows[2].startswith('| Lite0 features of several units (layer="multi")')


def test_rotated_images_keep_their_type_and_shape_and_angles_are_in_range():
    import numpy as np

    small_regression = _benchmark_module("small_regression")
    images = np.zeros((5, 8, 8), dtype=np.uint8)
    images[:, 3:5, :] = 255  # a horizontal bar
    turned, angles = small_regression.rotated(images, np.random.default_rng(0))
    assert turned.shape == images.shape and turned.dtype == np.uint8
    assert np.all(np.abs(angles) <= small_regression.MAX_ANGLE)
    assert len(set(np.round(angles, 6))) == 5
    # A bar turned by a large angle lights pixels off its rows.
    steep = np.argmax(np.abs(angles))
    assert turned[steep, :3].sum() > 0


def test_small_data_runs_another_lite_backbone():
    import importlib
    import sys

    sys.path.insert(0, str(BENCHMARKS))
    try:
        small_data = importlib.import_module("small_data")
        small_data.use_backbone("efficientnet_lite2")
        assert small_data.cnn(0).backbone == "efficientnet_lite2"
        assert small_data.ROW_NAMES["features"].startswith("Lite2 features")
    finally:
        small_data.use_backbone("efficientnet_lite0")
        sys.path.remove(str(BENCHMARKS))


def test_small_data_oracle_grid_has_18_settings():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from small_data import oracle_grid
    finally:
        sys.path.remove(str(BENCHMARKS))
    grid = list(oracle_grid(300))
    assert len(grid) == 18
    assert {g["freeze_upto"] for g in grid} == {0, 4, "all"}
    assert len({g["lr"] for g in grid}) == 3
    for freeze in (0, 4, "all"):  # two lengths each; the head alone trains longer
        lengths = {g["max_epochs"] for g in grid if g["freeze_upto"] == freeze}
        assert len(lengths) == 2
    assert min(g["max_epochs"] for g in grid if g["freeze_upto"] == "all") > max(
        g["max_epochs"] for g in grid if g["freeze_upto"] == 0
    )


@pytest.mark.slow  # a benchmark subprocess
def test_tta_benchmark_prints_every_mode():
    done = _run(
        "tta.py",
        *("--tasks", "digits-10", "--seeds", "1", "--max-epochs", "1"),
        *("--n-test", "100"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[1:]] == [
        "| None",
        "| flip",
        "| rot90",
        "| flip_rot90",
    ]
    assert rows[1].endswith("| 1.0x |")


@pytest.mark.slow  # a benchmark subprocess
def test_model_files_prints_sizes_and_times_next_to_joblib():
    done = _run("model_files.py", "--models", "resnet18", "--repeats", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    row = next(line for line in done.stdout.splitlines() if line.startswith("| resnet"))
    assert row.endswith("| True |")


def test_photo_tasks_are_photo_sized_and_test_crops_come_from_unseen_parts():
    import numpy as np

    photo_data = _benchmark_module("photo_data")
    X_train, X_test, y_train, y_test = photo_data.load_task("regions-6", 0)
    assert X_train.shape == (60, 128, 128, 3) and X_test.shape == (150, 128, 128, 3)
    assert X_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [10] * 6
    # Crops of a photo whose left part is black and right part white: the
    # training crops are all black, the test crops all white.
    photo = np.zeros((300, 400, 3), dtype=np.uint8)
    photo[:, int(400 * photo_data.TRAIN_SHARE) :] = 255
    rng = np.random.default_rng(0)
    assert photo_data.crops(photo, 20, rng, part="train").max() == 0
    assert photo_data.crops(photo, 20, rng, part="test").min() == 255
    X_train, X_test, _, _ = photo_data.load_task("fashion-112", 0)
    assert X_train.shape == (100, 112, 112) and X_test.shape == (1000, 112, 112)
    assert len(list(photo_data.oracle_grid(60))) == 12


def test_a_task_shown_in_grey_or_at_another_side_holds_the_same_images():
    import numpy as np

    photo_data = _benchmark_module("photo_data")
    X, X_test, y, y_test = photo_data.load_task("photos-3", 0)
    grey, grey_test, y_grey, _ = photo_data.load_task("photos-3@grey-64", 0)
    assert grey.shape == (60, 64, 64) and grey_test.shape == (150, 64, 64)
    assert np.array_equal(y, y_grey)
    # Area resampling: a 128 px image shrunk to 64 px is the mean of 2x2
    # blocks of its luma.
    luma = photo_data.looked(X[:1], "grey")[0].astype(float)
    blocks = luma.reshape(64, 2, 64, 2).mean(axis=(1, 3))
    assert np.abs(grey[0] - blocks).max() <= 1
    assert photo_data.looked(X[:2], "64").shape == (2, 64, 64, 3)
    digits = photo_data.load_task("digits-128@64", 0)[0]
    assert digits.shape == (100, 64, 64)
    assert photo_data.FOLDER_TASKS["topics-6"][2] * 6 > 1000
    for wrong in ("photos-3@blue", "photos-9", "photos-3@"):
        with pytest.raises(ValueError, match="unknown task"):
            photo_data.check_task(wrong)


def test_folder_tasks_draw_training_images_per_seed_and_lay_them_on_white(
    tmp_path, monkeypatch
):
    import numpy as np
    from PIL import Image

    photo_data = _benchmark_module("photo_data")
    # A stand-in for openclipart-png's folder: each class a sub-folder of
    # transparent drawings (one in a nested folder), of several sizes.
    for i, sub in enumerate(photo_data.FOLDER_TASKS["shapes-4"][1].values()):
        folder = tmp_path / sub / "more"
        folder.mkdir(parents=True)
        for j in range(20):
            image = Image.new("RGBA", (40 + j, 20), (0, 0, 0, 0))
            image.paste((i * 60, 0, 0, 255), (0, 0, 10, 10))
            image.save((folder if j == 0 else folder.parent) / f"{j}.png")
    monkeypatch.setenv("SKTRANSFER_CLIPART", str(tmp_path))
    X_train, X_test, y_train, y_test = photo_data.load_task("shapes-4", 0)
    assert X_train.shape == (60, 128, 128, 3) and X_test.shape == (20, 128, 128, 3)
    assert np.bincount(y_train).tolist() == [15] * 4
    assert np.bincount(y_test).tolist() == [5] * 4
    assert (X_train[:, -1, -1] == 255).all()  # transparency and padding: white
    again = photo_data.load_task("shapes-4", 0)[0]
    other = photo_data.load_task("shapes-4", 1)[0]
    assert np.array_equal(X_train, again) and not np.array_equal(X_train, other)
    monkeypatch.setenv("SKTRANSFER_STAMPS", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="apt-get install tuxpaint-stamps"):
        photo_data.load_task("stamps-4", 0)
    with pytest.raises(FileNotFoundError, match="tuxpaint-stamps-default"):
        photo_data.main(["--tasks", "photos-3", "stamps-4", "--reference-seconds", "1"])


@pytest.mark.slow  # a benchmark subprocess
def test_photo_data_prints_rows_with_the_time_ratio():
    done = _run(
        "photo_data.py",
        "--tasks",
        "photos-3",
        "--rows",
        "svm",
        "--seeds",
        "1",
        "--reference-seconds",
        "10",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| row | test accuracy") and len(rows) == 2
    assert rows[1].startswith("| linear SVM on pixels | ") and rows[1].endswith("x |")


def test_photo_study_folder_holds_photos_of_one_size_per_class(tmp_path):
    from PIL import Image

    photo_study = _benchmark_module("photo_study")
    root = photo_study.write_folder(tmp_path / "photos", per_class=4, side=130)
    folders = sorted(p.name for p in root.iterdir())
    assert folders == ["flower", "portrait", "temple"]
    for folder in folders:
        files = sorted((root / folder).iterdir())
        assert len(files) == 4 and all(f.suffix == ".jpg" for f in files)
        with Image.open(files[0]) as image:
            assert image.size == (130, 130) and image.mode == "RGB"


@pytest.mark.slow  # a benchmark subprocess running the study
def test_photo_study_runs_the_command_and_prints_minutes_and_ratio():
    done = _run(
        "photo_study.py",
        "--runs",
        "quick",
        "--per-class",
        "6",
        "--side",
        "100",
        "--reference-seconds",
        "10",
        "--study-args",
        "--epochs",
        "1",
        "--input-size",
        "32",
        "--no-lrt",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "$ sktransfer study --target " in done.stdout
    assert "--quick: 2 repeats instead of 5" in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("| quick"))
    assert row.endswith("x |")


@pytest.mark.slow  # the GPU check end to end in its CPU mode (about 1.5 min)
def test_gpu_check_runs_every_phase_in_its_cpu_mode(tmp_path):
    import json

    done = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "gpu_check.py"),
            "--device",
            "cpu",
            "--tiny",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=BENCHMARKS,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((tmp_path / "gpu_check.json").read_text())
    gpu_check = _benchmark_module("gpu_check")
    assert [row["check"] for row in result["checks"]] == list(gpu_check.CHECKS)
    assert all(row["passed"] for row in result["checks"])
    assert result["training"][0]["ours_over_loop"] > 0
    assert result["frozen"][0]["setting"] == 'freeze_upto="all"'
    assert result["predict"][0]["ours_over_raw"] > 0
    assert 0 < result["recipe"]["recipe_s"]
    assert [row["n_jobs"] for row in result["search"]] == [1, 2]
    report = (tmp_path / "gpu_check.md").read_text()
    assert report.count("| PASS |") == len(gpu_check.CHECKS)
    assert "Estimated for the GPU sizes on an H100:" in report


def test_gpu_check_estimate_fits_the_device_time():
    gpu_check = _benchmark_module("gpu_check")
    assert 120 < gpu_check.estimate_seconds(gpu_check.SIZES["gpu"]) < 7 * 60


def test_gpu_check_refuses_cuda_where_there_is_none(monkeypatch, tmp_path):
    gpu_check = _benchmark_module("gpu_check")
    monkeypatch.setattr(gpu_check.torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="no CUDA device here"):
        gpu_check.main(["--out", str(tmp_path)])


def test_a_failing_gpu_check_is_a_fail_row_not_the_end(monkeypatch, tmp_path, capsys):
    gpu_check = _benchmark_module("gpu_check")

    def broken(plan):
        raise AssertionError("the labels differ")

    monkeypatch.setattr(
        gpu_check, "CHECKS", {"broken": broken, "fine": lambda plan: "ok"}
    )
    code = gpu_check.main(
        ["--device", "cpu", "--tiny", "--no-speed", "--out", str(tmp_path)]
    )
    assert code == 1
    out = capsys.readouterr().out
    assert "| broken | FAIL |" in out and "the labels differ" in out
    assert "| fine | PASS |" in out and "Failed: broken." in out


def test_gpu_check_script_says_its_device_command():
    script = BENCHMARKS.parent / "scripts" / "gpu_check.sh"
    done = subprocess.run(
        ["bash", str(script), "command"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.strip() == (
        'run(command="bash scripts/gpu_check.sh device", carry=[".whl"], timeout_s=540)'
    )
    usage = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    assert usage.returncode == 2 and "usage:" in usage.stderr


def test_route_signals_shift_is_nil_on_the_images_the_statistics_came_from():
    import numpy as np
    import torch

    from sktransfer import CNNFeatureExtractor

    route_signals = _benchmark_module("route_signals")
    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (16, 32, 32, 3), dtype=np.uint8)
    network = CNNFeatureExtractor(input_size=32).fit(X).network_
    before = route_signals.batchnorm_shift(network, X, n=16)
    assert set(before) == set(network.units) and min(before.values()) > 0
    # Running statistics set to these images' own (each BatchNorm layer in
    # training mode, momentum 1; a frozen body keeps them in eval): no shift.
    for module in network.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.momentum = 1.0
            module.train()
    with torch.no_grad():
        network.forward_features(network.prepare(route_signals.as_batch(X)))
    after = route_signals.batchnorm_shift(network, X, n=16)
    # (Training normalises by the biased variance, the running one is
    # unbiased: a small difference that grows with depth on 16 images.)
    assert after["stem"] < 1e-6
    assert all(after[unit] < before[unit] / 10 for unit in before)


def test_route_signals_probe_tells_separable_features_from_noise():
    import numpy as np

    route_signals = _benchmark_module("route_signals")
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    separable = rng.normal(size=(40, 5)) + 3 * y[:, None]
    noise = rng.normal(size=(40, 5))
    good, bad = (route_signals.probe_scores(f, y, 0) for f in (separable, noise))
    assert good[1] > 0.95 and bad[1] < 0.8 and good[0] < bad[0]


@pytest.mark.slow  # a benchmark subprocess
def test_route_signals_prints_the_units_and_the_routes():
    result = _run("route_signals.py", "--tasks", "imbalanced", "--fit")
    assert result.returncode == 0, result.stderr
    for text in ("| head_conv |", "best probe (CV log loss):", "| all |"):
        assert text in result.stdout


@pytest.mark.slow  # benchmark subprocesses
def test_large_folder_compares_paths_with_arrays_in_fresh_processes():
    _needs_fashion_mnist()
    done = _run("large_folder.py", "--tiny")
    assert done.returncode == 0, done.stderr[-3000:]
    for row in ("paths", "arrays, the subset", "paths, the subset"):
        assert f"| {row} |" in done.stdout
    # Each row is printed as it is measured, before the table.
    assert done.stdout.index("paths, 60 images: {") < done.stdout.index("| route |")
    assert "paths / arrays, images per second on the subset:" in done.stdout


def _needs_fashion_mnist():
    from sktransfer.datasets import load_fashion_mnist

    try:
        load_fashion_mnist(subset="test")
    except (FileNotFoundError, OSError) as error:
        pytest.skip(f"no Fashion-MNIST here: {error}")


def test_large_folder_writes_real_images_in_class_folders(tmp_path):
    _needs_fashion_mnist()
    folder = _benchmark_module("large_folder").write_folder(tmp_path, 12, 40)
    from sktransfer.datasets import list_image_folder, load_image_folder

    paths, y = list_image_folder(folder)
    assert len(paths) == 12 and len(set(y)) > 1
    X, _ = load_image_folder(folder)
    assert X.shape == (12, 40, 40) and X.max() > 100


def test_unseen_data_crops_train_left_and_test_right_and_names_its_package(
    monkeypatch,
):
    import numpy as np

    unseen_data = _benchmark_module("unseen_data")
    # Each pixel holds its column: a crop's values say where it came from.
    image = np.tile(np.arange(200, dtype=np.uint8), (100, 1))
    rng = np.random.default_rng(0)
    train = unseen_data.crops(image, 20, rng, True, 16)
    test = unseen_data.crops(image, 20, rng, False, 16)
    assert train.shape == test.shape == (20, 16, 16)
    assert train.max() < 0.55 * 200 <= test.min()
    monkeypatch.setitem(sys.modules, "skimage", None)
    with pytest.raises(SystemExit, match="pip install scikit-image"):
        unseen_data.load_task("faces@25", 0)
