"""``shuttles``: raw shuttle records -> price summary and the cheapest seats."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
