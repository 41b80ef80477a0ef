"""Small reports: model comparison, a price summary and a title banner."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
