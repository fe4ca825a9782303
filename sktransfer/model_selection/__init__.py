"""Transfer studies of the source papers, as functions that return tables."""

from ._label_relation_study import label_relation_study
from ._tables import format_table, summarise

__all__ = ["format_table", "label_relation_study", "summarise"]
