"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# Registered, but not part of ``__default__``: ``notify`` is meant to run on its own,
# e.g. as the exit handler of an Argo Workflow.
NOT_IN_DEFAULT = frozenset({"notify"})


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    ``find_pipelines()`` imports ``spaceflights.pipelines.<name>`` for every
    sub-package (on Kedro >= 1.5, only the ones requested with ``--pipelines``).
    ``__default__`` is the sum of the main pipelines that were found:
    ``data_processing + data_science + reporting``.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(
        (
            pipe
            for name, pipe in sorted(pipelines.items())
            if name != "__default__" and name not in NOT_IN_DEFAULT
        ),
        Pipeline([]),
    )
    return pipelines
