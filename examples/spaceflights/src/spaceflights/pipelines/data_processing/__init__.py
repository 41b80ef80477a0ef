"""Clean the raw companies/shuttles/reviews tables and join them into the model input table."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
