"""Backbone families. Importing this package registers them.

See :func:`sktransfer.list_backbones` for the names, and each family's module
for the rule that cuts its networks into transferable units.
"""

from . import _builtin, _efficientnet_lite, _timm, _torchvision  # noqa: F401
from ._rules import group_layers, last_linear_units, sequential_units

__all__ = ["group_layers", "last_linear_units", "sequential_units"]
