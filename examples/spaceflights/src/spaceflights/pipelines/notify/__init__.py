"""Exit-handler pipeline: record the workflow status (no dependency on other pipelines)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
