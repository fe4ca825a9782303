"""Every examples/plot_*.py script runs (Agg backend, CPU)."""

import runpy
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

# Every example fits real networks: minutes, so the slow tier.
pytestmark = pytest.mark.slow

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("plot_*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    runpy.run_path(str(path), run_name="__main__")
    plt.close("all")
