"""The version of the installed package, read once (it is written once, in
``pyproject.toml``)."""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("sktransfer")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"
