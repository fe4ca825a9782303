"""Packaging: one version, an SPDX licence, floors that are the tested ones."""

import importlib.metadata
import re
import tomllib
from pathlib import Path

import sktransfer

ROOT = Path(__file__).parent.parent


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _lower_bounds():
    project = _pyproject()["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    bounds = {}
    pattern = re.compile(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?>=([0-9.]+)")
    for requirement in requirements:
        match = pattern.fullmatch(requirement)
        if match:
            bounds[match.group(1).lower()] = match.group(2)
    return bounds


def _release(version):
    parts = [int(p) for p in version.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def test_the_version_is_written_once():
    assert sktransfer.__version__ == importlib.metadata.version("sktransfer")
    source = (ROOT / "sktransfer" / "__init__.py").read_text()
    assert not re.search(r"__version__\s*=\s*[\"']\d+\.\d+", source)


def test_the_licence_is_an_spdx_expression_with_its_file():
    project = _pyproject()["project"]
    assert project["license"] == "BSD-3-Clause"
    assert "BSD 3-Clause License" in (ROOT / "LICENSE").read_text()
    assert importlib.metadata.metadata("sktransfer")["License-Expression"] == (
        "BSD-3-Clause"
    )


def test_the_floors_ci_installs_are_the_lower_bounds():
    pins = {}
    for line in (ROOT / ".ci" / "floors.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    bounds = _lower_bounds()
    required = {"torch", "torchvision", "numpy", "scikit-learn", "skorch"}
    assert required | {"imbalanced-learn"} <= set(pins)
    for name, version in pins.items():
        assert name in bounds, f"{name} is pinned but has no lower bound"
        assert _release(bounds[name]) == _release(version), name
