"""Transfer studies of the source papers, as functions that return tables.

* :func:`transfer_study` — the main comparison the ``sktransfer study``
  command runs;
* :func:`validation_schemes_study` — Molina et al.'s four schemes;
* :func:`transferability_curve` — Shanmugam et al.'s nAToB / nBToB curves;
* :func:`target_size_curve` — accuracy against the target training size;
* :func:`label_relation_study` — Sawada & Kozuka's Tables II, IV and V;
* :func:`corrected_ttest`, :func:`paired_comparison` — how sure a study is
  that one method beats another (Nadeau & Bengio's corrected resampled
  t-test over paired random splits).
"""

from ._label_relation_study import label_relation_study
from ._schemes import validation_schemes_study
from ._tables import format_table, summarise
from ._target_size import target_size_curve
from ._transfer_study import transfer_study
from ._transferability import transferability_curve
from ._verdict import corrected_ttest, paired_comparison

__all__ = [
    "corrected_ttest",
    "format_table",
    "label_relation_study",
    "paired_comparison",
    "summarise",
    "target_size_curve",
    "transfer_study",
    "transferability_curve",
    "validation_schemes_study",
]
