"""Transfer studies of the source papers, as functions that return tables.

* :func:`transfer_study` — the main comparison the ``sktransfer study``
  command runs;
* :func:`validation_schemes_study` — Molina et al.'s four schemes;
* :func:`transferability_curve` — Shanmugam et al.'s nAToB / nBToB curves;
* :func:`target_size_curve` — accuracy against the target training size;
* :func:`label_relation_study` — Sawada & Kozuka's Tables II, IV and V.
"""

from ._label_relation_study import label_relation_study
from ._schemes import validation_schemes_study
from ._tables import format_table, summarise
from ._target_size import target_size_curve
from ._transfer_study import transfer_study
from ._transferability import transferability_curve

__all__ = [
    "format_table",
    "label_relation_study",
    "summarise",
    "target_size_curve",
    "transfer_study",
    "transferability_curve",
    "validation_schemes_study",
]
