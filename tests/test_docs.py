"""The Sphinx documentation builds without a warning."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs"

# Sphinx builds in subprocesses: the slow tier.
pytestmark = pytest.mark.slow


def _build(tmp_path, *options, env=None):
    """Build the HTML docs into ``tmp_path / "html"``; the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", *options]
        + ["-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True,
        text=True,
        env=env,
    )


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("sphinx_gallery")
    # The examples themselves run in test_examples.py; here they are rendered
    # without executing them (plot_gallery=0).
    done = _build(tmp_path, "-W", "--keep-going", "-D", "plot_gallery=0")
    assert done.returncode == 0, done.stderr[-4000:]
    html = tmp_path / "html"
    for page in (
        "index.html",
        "api.html",
        "guide/studies.html",
        "guide/tour.html",
        "guide/benchmarks.html",
        "changelog.html",
        "generated/sktransfer.PretrainedCNNClassifier.html",
        "auto_examples/plot_signals_as_images.html",
    ):
        assert (html / page).is_file(), page
    # The pydata theme, as scikit-learn's and imbalanced-learn's, with no
    # asset fetched from the network.
    landing = (html / "index.html").read_text()
    assert "pydata-sphinx-theme" in landing or "pydata_sphinx_theme" in landing
    assert "https://cdn" not in landing


def test_gallery_renders_the_figures_of_the_examples(tmp_path):
    """The docs build runs the examples and embeds their figures (one example
    here, the fastest; the full build renders them all)."""
    pytest.importorskip("sphinx_gallery")
    pattern = {"SKTRANSFER_GALLERY_PATTERN": r"plot_feature_route"}
    done = _build(tmp_path, env={**os.environ, **pattern, "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr[-4000:]
    page = (tmp_path / "html" / "auto_examples" / "plot_feature_route.html").read_text()
    assert "sphx_glr_plot_feature_route_001.png" in page
    images = tmp_path / "html" / "_images"
    assert (images / "sphx_glr_plot_feature_route_001.png").stat().st_size > 1000


def test_screenshots_of_the_docs_in_a_real_browser():
    """scripts/docs_screenshots.sh builds the docs and takes headless
    Chromium screenshots of four pages at two widths."""
    if not any(
        shutil.which(b)
        for b in ("chromium-headless-shell", "chromium", "chromium-browser")
    ):
        pytest.skip("no Chromium here (apt-get install chromium-headless-shell)")
    script = DOCS.parent / "scripts" / "docs_screenshots.sh"
    done = subprocess.run(
        ["bash", str(script)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    shots = [Path(DOCS.parent / line) for line in done.stdout.split()]
    assert len(shots) == 8
    for shot in shots:
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert shot.stat().st_size > 10_000, shot
