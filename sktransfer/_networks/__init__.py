"""TODO"""

from ._augment import AUGMENT_POLICIES, TTA_MODES, resolve_tta
from ._build import build_network, load_source, structure_only
from ._input_size import SMALL_IMAGE
from ._network import HEAD_ACTIVATIONS, first_linear, make_head
from ._source import find_weights, layer_names
from ._units import resolve_unit_count, unit_position

__all__ = [
    "AUGMENT_POLICIES",
    "HEAD_ACTIVATIONS",
    "SMALL_IMAGE",
    "TTA_MODES",
    "build_network",
    "find_weights",
    "first_linear",
    "layer_names",
    "load_source",
    "make_head",
    "resolve_tta",
    "resolve_unit_count",
    "structure_only",
    "unit_position",
]
