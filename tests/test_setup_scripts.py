"""The set-up scripts' pip installs survive a flaky network (scripts/_pip.sh).

CI once failed because a 731 MB wheel was cut off mid-way six times in a row;
``pip_install`` starts the install again from the beginning when it fails.
"""

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
