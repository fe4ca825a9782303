"""The Sphinx documentation builds without a warning."""

import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs"


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("sphinx_gallery")
    # The examples themselves run in test_examples.py; here they are rendered
    # without executing them (plot_gallery=0).
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-D",
            "plot_gallery=0",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    html = tmp_path / "html"
    for page in (
        "index.html",
        "api.html",
        "guide/studies.html",
        "generated/sktransfer.PretrainedCNNClassifier.html",
        "auto_examples/plot_signals_as_images.html",
    ):
        assert (html / page).is_file(), page
