"""The results a run's steps showed (argo.yml's ``ui``), as the lines ``kedro argo status``
and ``kedro argo run-local`` print at the end: one per output parameter (its value) and per
output artifact (where it is)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kedro_argo import argo

#: Characters of a value shown; the rest is cut (the whole value is in the Argo UI / the file).
SHOWN_VALUE = 300


@dataclass(frozen=True)
class ShownResult:
    step: str
    kind: str  # "parameters" or "artifacts"
    name: str
    text: str  # a parameter's value; where an artifact is


def result_lines(results: Iterable[ShownResult]) -> list[str]:
    shown = list(results)
    if not shown:
        return []
    width = max(len(r.step) for r in shown)
    lines = ["Results:"]
    for r in shown:
        if r.kind == "parameters":
            value = r.text if len(r.text) <= SHOWN_VALUE else r.text[:SHOWN_VALUE] + "…"
            lines.append(f"  {r.step:<{width}}  {r.name} = {value}")
        else:
            lines.append(f"  {r.step:<{width}}  {r.name} (artifact): {r.text}")
    return lines


def local_results(steps: Iterable[Any]) -> list[ShownResult]:
    """From local mode's step records (:class:`~kedro_argo.local.executor.StepRecord`)."""
    return [
        ShownResult(
            record.name,
            result.kind,
            result.name,
            result.value if result.kind == "parameters" else str(result.path),
        )
        for record in steps
        for result in record.results
    ]


def workflow_results(
    workflow: Mapping[str, Any], artifact_url: Callable[[str, str], str | None] | None = None
) -> list[ShownResult]:
    """From a workflow's status: the outputs of its succeeded steps. ``artifact_url(node id,
    artifact name)`` gives an artifact's address (the Argo Server's), else its key in the
    artifact repository is shown."""
    from kedro_argo.server.status import step_nodes

    nodes = (workflow.get("status") or {}).get("nodes") or {}
    shown: list[ShownResult] = []
    for node in step_nodes(workflow):
        if node.get("phase") != "Succeeded":
            continue
        outputs, source = node.get("outputs") or {}, node["id"]
        if node.get("type") == "Retry" and node.get("children") and not outputs.get("artifacts"):
            source = node["children"][-1]  # the attempt that succeeded holds them
            outputs = {**(nodes.get(source, {}).get("outputs") or {}), **outputs}
        step = node.get("displayName", "")
        for parameter in outputs.get("parameters") or []:
            shown.append(
                ShownResult(
                    step, "parameters", parameter.get("name", ""), parameter.get("value", "")
                )
            )
        for artifact in outputs.get("artifacts") or []:
            name = artifact.get("name", "")
            if name == "main-logs":  # Argo's archived log, not a result
                continue
            where = artifact_url(source, name) if artifact_url else None
            shown.append(ShownResult(step, "artifacts", name, where or _location(artifact)))
    return shown


def _location(artifact: Mapping[str, Any]) -> str:
    for key in argo.ARTIFACT_LOCATIONS:
        place = artifact.get(key)
        if isinstance(place, Mapping):
            found = place.get("key") or place.get("url") or place.get("path") or place.get("blob")
            if found:
                return f"{key}: {found}"
    return "in the artifact repository"
