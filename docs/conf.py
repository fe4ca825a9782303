"""Sphinx configuration: numpydoc docstrings, sphinx-gallery examples, the
pydata theme (as scikit-learn's and imbalanced-learn's), built offline."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import sktransfer  # noqa: E402

project = "sktransfer"
author = "the sktransfer developers"
copyright = "2026, the sktransfer developers"
release = version = sktransfer.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
autodoc_default_options = {"members": False}
# Signatures show defaults as the source writes them (ShuffledBatchLoader,
# not the repr of a class with its private module).
autodoc_preserve_defaults = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
intersphinx_mapping = {}  # offline builds: no inventories to fetch
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
templates_path = ["_templates"]
html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_css_files = ["sktransfer.css"]
html_title = f"sktransfer {release}"
# Offline: no icon links, analytics or version switcher that fetch anything;
# the navigation bar lists the four parts of the documentation (the
# landing page's hidden toctree).
html_theme_options = {
    "navbar_align": "left",
    "header_links_before_dropdown": 4,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["theme-version"],
}
html_sidebars = {"index": [], "changelog": []}

# The build runs every example and renders its figures into the gallery
# (minutes on a CPU). SKTRANSFER_GALLERY_PATTERN narrows which examples run
# (the docs test renders one); the others are then shown without figures.
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": os.environ.get("SKTRANSFER_GALLERY_PATTERN", r"plot_"),
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
}

# numpydoc checks every documented object's docstring for gaps: parameters
# undocumented, unknown or out of order, without a description, objects
# without a docstring, functions without a Returns section. A gap is a
# warning, and the docs build (-W) fails on it.
numpydoc_validation_checks = {"PR01", "PR02", "PR03", "PR07", "PR10", "GL08", "RT01"}
