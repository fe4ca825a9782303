"""The front page cannot drift: README.md's Python blocks run as written, its
two commands are the ones CI runs, and it stays short."""

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
# A block that cannot run here (a download, a cluster) is preceded by
# "<!-- not run: the reason -->" and skipped with that reason.
_BLOCK = re.compile(
    r"(?:<!-- not run: (?P<why>.+?) -->\n)?```python\n(?P<code>.*?)```", re.S
)


def python_blocks(text):
    """``[(code, reason to skip or None)]`` of the Markdown ``text``."""
    return [(m["code"], m["why"]) for m in _BLOCK.finditer(text)]


def test_python_blocks_are_found_with_their_reasons():
    text = (
        "a\n```python\nx = 1\n```\n<!-- not run: needs a cluster -->\n```python\ny\n```"
    )
    assert python_blocks(text) == [("x = 1\n", None), ("y\n", "needs a cluster")]


def test_readme_is_short_and_its_blocks_parse():
    text = README.read_text()
    assert len(text.encode()) <= 10_500
    blocks = python_blocks(text)
    assert len(blocks) >= 3
    for code, _ in blocks:
        compile(code, "README.md", "exec")


def test_readme_gives_the_two_commands_ci_runs():
    text = README.read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    tests = "bash scripts/setup.sh && .venv/bin/python -m pytest"
    assert tests in ci
    assert f"\n{tests}\n" in text
    assert "\nbash scripts/setup.sh && .venv/bin/sktransfer study\n" in text


def _write_folders(root):
    """``photos/<class>/`` and a flat ``new_photos/`` of real images (the
    bundled digits, scaled to 32 px), as the README's folder block expects."""
    from sktransfer.datasets import load_digits_images

    X, y = load_digits_images()
    for label in (0, 1, 7):
        folder = root / "photos" / f"digit-{label}"
        folder.mkdir(parents=True)
        for i, image in enumerate(X[y == label][:8]):
            Image.fromarray(image).resize((32, 32)).save(folder / f"{i}.png")
    (root / "new_photos").mkdir()
    for i, image in enumerate(X[-4:]):
        Image.fromarray(np.asarray(image)).resize((32, 32)).save(
            root / "new_photos" / f"new-{i}.png"
        )


@pytest.mark.slow
def test_every_python_block_of_the_readme_runs(tmp_path, monkeypatch):
    """The blocks run in order in one namespace, as a reader pastes them,
    in a folder holding the image folders the README names."""
    _write_folders(tmp_path)
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    for code, why in python_blocks(README.read_text()):
        if why:  # a download or a cluster: the reason is in the README
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, "README.md", "exec"), namespace)
    assert (tmp_path / "model.sktransfer").is_file()
    assert namespace["clf"].n_frozen_ == 0  # digits are far from photographs
    assert len(namespace["paths"]) == 4
