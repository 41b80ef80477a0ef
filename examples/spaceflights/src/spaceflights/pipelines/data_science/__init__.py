"""Split, fit a least-squares price model and evaluate it (namespaced, instantiated twice)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
