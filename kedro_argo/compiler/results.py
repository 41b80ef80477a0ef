"""Which datasets the Argo UI shows on the step that saves them (argo.yml's ``ui``). Pure.

A ``ui.parameters`` dataset becomes an output parameter of its step (its value as JSON), a
``ui.artifacts`` one an output artifact (its saved file). Names the compiled pipeline does
not save are skipped with a note (one argo.yml serves every pipeline); an artifact needs a
file, so an in-memory dataset is refused; and artifacts need the cluster's artifact
repository, so without ``ui.artifact_repository`` they are left out of a cluster manifest
(with a note) but kept for local mode, which keeps them in its log folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kedro_argo import contract
from kedro_argo.compiler.facts import ProjectFacts, transcoding_base
from kedro_argo.config import ArgoConfig
from kedro_argo.errors import CompileError


@dataclass(frozen=True)
class Results:
    parameters: frozenset[str] = frozenset()
    artifacts: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()


def choose_results(facts: ProjectFacts, config: ArgoConfig, *, for_local: bool) -> Results:
    ui = config.ui
    if not ui.parameters and not ui.artifacts:
        return Results()
    saved = {ds for node in facts.nodes for ds in node.outputs}
    notes: list[str] = []

    def present(names: Iterable[str], key: str) -> frozenset[str]:
        found, missing = set(), []
        for name in names:
            if name in saved:
                found.add(name)
            else:
                missing.append(name)
        if missing:
            notes.append(
                f"ui.{key}: {', '.join(missing)} not saved by a node of pipeline "
                f"'{facts.pipeline_name}': not shown"
            )
        return frozenset(found)

    parameters = present(ui.parameters, "parameters")
    artifacts = present(ui.artifacts, "artifacts")
    in_memory = sorted(
        ds
        for ds in artifacts
        if ds in facts.exchanged_datasets or transcoding_base(ds) in facts.memory_only_datasets
    )
    if in_memory:
        raise CompileError(
            f"ui.artifacts: {', '.join(in_memory)} stay(s) in memory, so there is no file to "
            "show: declare it in the catalog with a file dataset (e.g. "
            "matplotlib.MatplotlibDataset, text.TextDataset), or list it under ui.parameters "
            "if it is a small JSON value."
        )
    if artifacts and ui.artifact_repository is None and not for_local:
        notes.append(
            f"ui.artifacts: {', '.join(sorted(artifacts))} left out: set ui.artifact_repository "
            "(default, or a config_map and key) once the cluster has an artifact repository "
            "(a pod with outputs and nowhere to store them fails)"
        )
        artifacts = frozenset()
    by_name: dict[str, str] = {}
    for dataset in sorted(parameters | artifacts):
        name = contract.result_name(dataset)
        if by_name.setdefault(name, dataset) != dataset:
            raise CompileError(
                f"ui: datasets {by_name[name]} and {dataset} would both be shown as '{name}' "
                "(Argo output names allow letters, digits, - and _ only): show one of them."
            )
    return Results(parameters, artifacts, tuple(notes))
