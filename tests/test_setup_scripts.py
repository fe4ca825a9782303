"""The set-up scripts' pip installs survive a flaky network (scripts/_pip.sh).

CI once failed because a 731 MB wheel was cut off mid-way six times in a row;
``pip_install`` starts the install again from the beginning when it fails.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SCRIPTS = ROOT / "scripts"


def _fake_python(tmp_path, failures, resume=True):
    """A stand-in for ``python`` whose ``-m pip install`` fails ``failures`` times.

    Every call's arguments go to ``calls.txt``; ``pip install --help`` mentions
    ``--resume-retries`` when ``resume`` (as pip >= 25.1 does).
    """
    calls = tmp_path / "calls.txt"
    count = tmp_path / "count"
    count.write_text("0")
    fake = tmp_path / "python"
    fake.write_text(
        f"""#!/usr/bin/env bash
if [ "$*" = "-m pip install --help" ]; then
  echo "{"  --resume-retries <n>" if resume else "  --retries <n>"}"
  exit 0
fi
echo "$*" >> {calls}
n=$(cat {count}); echo $((n + 1)) > {count}
if [ "$n" -lt {failures} ]; then echo "error: incomplete-download" >&2; exit 1; fi
exit 0
"""
    )
    fake.chmod(0o755)
    return fake, calls


def _pip_install(fake, *args, tries=3):
    return subprocess.run(
        [
            "bash",
            "-c",
            f'source {SCRIPTS / "_pip.sh"} && pip_install "$@"',
            "_",
            str(fake),
            *args,
        ],
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "PIP_INSTALL_TRIES": str(tries),
            "PIP_INSTALL_WAIT": "0",
        },
        timeout=60,
    )


@pytest.mark.parametrize("failures", [0, 1, 2])
def test_pip_install_starts_again_after_a_failed_install(tmp_path, failures):
    fake, calls = _fake_python(tmp_path, failures)
    done = _pip_install(fake, "-e", ".[dev]")
    assert done.returncode == 0, done.stderr
    lines = calls.read_text().splitlines()
    assert len(lines) == failures + 1
    assert all(line.endswith("-e .[dev]") for line in lines)
    assert done.stderr.count("trying again") == failures


def test_pip_install_gives_up_after_its_tries_and_says_so(tmp_path):
    fake, calls = _fake_python(tmp_path, failures=5)
    done = _pip_install(fake, "torch==2.1.2", tries=2)
    assert done.returncode == 1
    assert len(calls.read_text().splitlines()) == 2
    assert "pip install failed 2 times: torch==2.1.2" in done.stderr
    # A full disk looks like a cut-off download: the room left is logged.
    assert "Avail" in done.stderr


@pytest.mark.parametrize("resume", [True, False])
def test_pip_install_resumes_downloads_where_pip_can(tmp_path, resume):
    fake, calls = _fake_python(tmp_path, failures=0, resume=resume)
    assert _pip_install(fake, "numpy").returncode == 0
    (line,) = calls.read_text().splitlines()
    assert line.startswith("-m pip install --quiet --retries")
    assert ("--resume-retries 20" in line) is resume


@pytest.mark.parametrize("script", ["setup.sh", "setup_floors.sh"])
def test_the_set_up_scripts_install_only_through_pip_install(script):
    text = (SCRIPTS / script).read_text()
    assert "source scripts/_pip.sh" in text
    assert "-m pip install" not in text
    assert text.count("pip_install ") >= 2


def test_the_floors_keep_no_second_copy_of_their_wheels():
    # CI's disk holds both environments; pip's cache would add 2.6 GB more.
    text = (SCRIPTS / "setup_floors.sh").read_text()
    assert (
        "pip_install .venv-floors/bin/python --no-cache-dir -c .ci/floors.txt" in text
    )


def _install_fashion_mnist(tmp_path, apt_fails):
    """``install_fashion_mnist`` with a stand-in ``apt-get`` that logs its calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    apt = bin_dir / "apt-get"
    apt.write_text(
        f'#!/usr/bin/env bash\necho "$*" >> {tmp_path / "apt.txt"}\n'
        f"exit {1 if apt_fails else 0}\n"
    )
    apt.chmod(0o755)
    return subprocess.run(
        ["bash", "-c", f"source {SCRIPTS / '_debian.sh'} && install_fashion_mnist"],
        capture_output=True,
        text=True,
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "FASHION_MNIST_DIR": str(tmp_path / "fashion-mnist"),
        },
        timeout=60,
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="without root it goes through sudo")
def test_install_fashion_mnist_asks_apt_get_when_the_files_are_missing(tmp_path):
    done = _install_fashion_mnist(tmp_path, apt_fails=False)
    assert done.returncode == 0
    assert (tmp_path / "apt.txt").read_text() == (
        "install -y -qq dataset-fashion-mnist\n"
    )
    (tmp_path / "apt.txt").unlink()
    (tmp_path / "fashion-mnist").mkdir()
    assert _install_fashion_mnist(tmp_path, apt_fails=False).returncode == 0
    assert not (tmp_path / "apt.txt").exists()  # there already: apt-get not asked


@pytest.mark.skipif(os.geteuid() != 0, reason="without root it goes through sudo")
def test_install_fashion_mnist_updates_then_says_when_it_cannot(tmp_path):
    done = _install_fashion_mnist(tmp_path, apt_fails=True)
    assert done.returncode == 0  # set-up goes on; only those tests need the files
    assert (tmp_path / "apt.txt").read_text().splitlines() == [
        "install -y -qq dataset-fashion-mnist",
        "update -qq",
    ]
    assert "could not install dataset-fashion-mnist" in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="without root it goes through sudo")
def test_install_chromium_asks_apt_get_only_without_a_browser(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    apt = bin_dir / "apt-get"
    apt.write_text(f'#!/usr/bin/env bash\necho "$*" >> {tmp_path / "apt.txt"}\n')
    apt.chmod(0o755)
    # A PATH with bash and apt-get but no browser.
    for tool in ("bash", "id", "echo"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)

    def install():
        return subprocess.run(
            [str(bin_dir / "bash"), "-c",
             f"source {SCRIPTS / '_debian.sh'} && install_chromium"],
            capture_output=True, text=True, env={"PATH": str(bin_dir)}, timeout=60,
        )  # fmt: skip

    assert install().returncode == 0
    assert (tmp_path / "apt.txt").read_text() == (
        "install -y -qq chromium-headless-shell\n"
    )
    (tmp_path / "apt.txt").unlink()
    browser = bin_dir / "chromium-headless-shell"
    browser.write_text("#!/usr/bin/env bash\n")
    browser.chmod(0o755)
    assert install().returncode == 0
    assert not (tmp_path / "apt.txt").exists()  # a browser is there: not asked


def test_ci_removes_the_floors_environment_before_the_main_one():
    # Both hold torch with its CUDA libraries (5.3 and 6.1 GB): one at a time.
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    floors_tier = lines.index(
        '.venv-floors/bin/python -m pytest -m "not slow" -n 2 -p no:cacheprovider'
    )
    removed = lines.index("rm -rf .venv-floors")
    main = lines.index("bash scripts/setup.sh && .venv/bin/python -m pytest")
    assert floors_tier < removed < main
