"""The network: a backbone cut into transferable units, with a new or the
source's head (``_network.py``), built from a source (``_build.py``: backbone,
weights and the fitted images' shape); the sources (``_source.py``), unit
names and counts (``_units.py``), the units by depth (``_depths.py``), the
input side (``_input_size.py``) and the on-device augmentation and test-time
variants (``_augment.py``). No skorch: the extractor, Grad-CAM and the model
files build networks here too."""

from ._augment import AUGMENT_POLICIES, TTA_MODES, resolve_tta
from ._build import build_network, load_source, structure_only
from ._depths import multi_layers, unit_shapes
from ._input_size import SMALL_IMAGE
from ._network import HEAD_ACTIVATIONS, first_linear, make_head
from ._source import layer_names, weights_origin
from ._units import resolve_unit_count, unit_position

__all__ = [
    "AUGMENT_POLICIES",
    "HEAD_ACTIVATIONS",
    "SMALL_IMAGE",
    "TTA_MODES",
    "build_network",
    "first_linear",
    "layer_names",
    "load_source",
    "make_head",
    "multi_layers",
    "resolve_tta",
    "resolve_unit_count",
    "structure_only",
    "unit_position",
    "unit_shapes",
    "weights_origin",
]
