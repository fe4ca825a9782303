"""Pictures that explain a transfer, as scikit-learn style Display objects."""

from ._relation import RelationDisplay

__all__ = ["RelationDisplay"]
