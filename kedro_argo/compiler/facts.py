"""What compile knows about a Kedro project, as plain data (no Kedro objects cross this line).

:mod:`kedro_argo.compiler.project` fills these from a real project; tests build them by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro_argo.config import ArgoConfig

__all__ = ["DEFAULT_PIPELINE", "NodeSpec", "ProjectFacts", "transcoding_base"]

DEFAULT_PIPELINE = "__default__"


@dataclass(frozen=True)
class NodeSpec:
    """A Kedro node reduced to the facts planning needs."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    tags: frozenset[str] = frozenset()
    namespace: str | None = None


def transcoding_base(dataset: str) -> str:
    """``df@pandas`` and ``df@spark`` are one dataset to Kedro (transcoding): same base."""
    return dataset.split("@", 1)[0]


@dataclass(frozen=True)
class ProjectFacts:
    """The chosen pipeline, the registered ones, what the catalog says of each dataset."""

    project_path: Path
    project_name: str
    package_name: str
    env: str | None
    pipeline_name: str
    nodes: tuple[NodeSpec, ...]  # in Kedro's topological order
    registered: Mapping[str, frozenset[str]]
    all_tags: frozenset[str]
    node_tags: Mapping[str, frozenset[str]]  # every registered node's tags
    exchanged_datasets: frozenset[str]  # free or MemoryDataset: pickled between pods
    versioned_datasets: frozenset[str]
    parameters: Mapping[str, Any]
    runtime_params: Mapping[str, Any]
    commit_id: str
    config: ArgoConfig
    config_files: tuple[str, ...] = field(default=())
    # Per registered pipeline, the nodes a pod may run from it: same name AND same inputs and
    # outputs as in the compiled pipeline (a pipeline can remap a node's datasets).
    step_hosts: Mapping[str, frozenset[str]] | None = None
    # Declared datasets that live only in the process that made them (they cannot travel).
    memory_only_datasets: frozenset[str] = frozenset()
    # kedro-mlflow's hooks run in this project's sessions: one MLflow run spans the workflow.
    mlflow: bool = False
    # Declared datasets whose configuration names ``${argo:sweep}`` (their path differs per
    # branch of a sweep).
    branch_varying_datasets: frozenset[str] = frozenset()

    def hosts(self) -> Mapping[str, frozenset[str]]:
        return self.step_hosts if self.step_hosts is not None else self.registered
