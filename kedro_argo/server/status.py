"""What the cluster commands show of a workflow, whichever backend returned it.

Kept apart from the backends (:mod:`kedro_argo.server.backend`) and :mod:`kedro_argo.cli`
(options): the project's label selector, rendering workflow status, finding a step, the pod
it ran in (Argo's pod naming) and its log tail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kedro_argo.compiler.emit import EXIT_TEMPLATE, MANAGED_BY
from kedro_argo.contract import NODES_PARAMETER
from kedro_argo.naming import to_label_value

MAX_POD_PREFIX = 253 - 11  # Argo v2 pod names: <workflow>-<template>-<fnv32a(node name)>
LOG_TAIL_LINES = 30
_PHASE_STYLE = {
    "Succeeded": "green",
    "Failed": "red",
    "Error": "red",
    "Running": "cyan",
    "Pending": "yellow",
    "Omitted": "dim",
    "Skipped": "dim",
}


def project_selector(project_name: str) -> str:
    """Label selector of the objects this project's compiled manifests carry."""
    ((key, value),) = MANAGED_BY.items()
    return f"{key}={value},kedro.org/project={to_label_value(project_name)}"


def fnv32a(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def pod_name(workflow_name: str, node: Mapping[str, Any]) -> str:
    """The pod a workflow node ran in (Argo's v2 pod naming, the default since v3.4)."""
    template = node.get("templateName") or ""
    if not template or workflow_name == node.get("name"):
        return workflow_name
    prefix = f"{workflow_name}-{template}"
    if len(prefix) > MAX_POD_PREFIX:
        prefix = prefix[:MAX_POD_PREFIX]
    return f"{prefix}-{fnv32a(node.get('name', ''))}"


def step_nodes(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The workflow's step nodes (its Kedro steps and exit handler), in start order.

    Pod and Retry nodes, plus the Skipped nodes Argo creates for tasks it did not run (phase
    Omitted after an upstream failure, Skipped for a false ``when``).
    """
    nodes = (workflow.get("status") or {}).get("nodes") or {}
    kinds = {"Pod", "Retry", "Skipped"}
    pods = [dict(n, id=i) for i, n in nodes.items() if n.get("type") in kinds]
    # A retried step shows a Retry node plus one Pod per attempt: show the Retry node.
    retried = {child for n in pods if n.get("type") == "Retry" for child in n.get("children", [])}
    shown = [n for n in pods if n["id"] not in retried]
    return sorted(shown, key=lambda n: (n.get("startedAt") or "~", n.get("displayName", "")))


def attempts(workflow: Mapping[str, Any], node: Mapping[str, Any]) -> int:
    if node.get("type") == "Skipped":
        return 0
    return len(node.get("children", [])) if node.get("type") == "Retry" else 1


def failed_steps(workflow: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [n for n in step_nodes(workflow) if n.get("phase") in {"Failed", "Error"}]


def last_pod(workflow: Mapping[str, Any], node: Mapping[str, Any]) -> str:
    """Pod of a step's last attempt."""
    if node.get("type") == "Retry" and node.get("children"):
        nodes = (workflow.get("status") or {}).get("nodes") or {}
        child = nodes.get(node["children"][-1], {})
        return pod_name(workflow["metadata"]["name"], child)
    return pod_name(workflow["metadata"]["name"], node)


def log_tail(backend: Any, workflow: Mapping[str, Any], node: Mapping[str, Any]) -> list[str]:
    """The last lines a step's last attempt logged (``backend``: a :class:`Backend`)."""
    lines: list[str] = []
    for chunk in backend.workflow_logs(workflow["metadata"]["name"], last_pod(workflow, node)):
        lines.extend(chunk.splitlines())
    return lines[-LOG_TAIL_LINES:]


def status_table(workflow: Mapping[str, Any]) -> Any:
    """A rich table: one row per step with its phase, attempts, duration and message."""
    from rich.table import Table

    status = workflow.get("status") or {}
    phase = status.get("phase") or "Pending"
    title = f"{workflow['metadata'].get('name', '?')}: [{_PHASE_STYLE.get(phase, '')}]{phase}"
    table = Table(title=title, title_justify="left")
    for column in ("step", "Kedro node", "phase", "attempts", "duration", "message"):
        table.add_column(column)
    for node in step_nodes(workflow):
        node_phase = node.get("phase", "Pending")
        table.add_row(
            node.get("displayName", ""),
            ", ".join(kedro_nodes(workflow, node)),
            f"[{_PHASE_STYLE.get(node_phase, '')}]{node_phase}",
            str(attempts(workflow, node)),
            _duration(node.get("startedAt"), node.get("finishedAt")),
            node.get("message", "") or "",
        )
    return table


def kedro_nodes(workflow: Mapping[str, Any], node: Mapping[str, Any]) -> list[str]:
    """The Kedro nodes a workflow node (a step, or one attempt of it) runs: the ``nodes``
    input the compiled DAG task passes its shared step template. The exit handler runs its
    whole pipeline.

    Argo resolves inputs only for what it runs: a step it never ran (a ``Skipped`` node, e.g.
    Omitted after an upstream failure) has none, so its DAG task's arguments in the workflow
    spec are read instead (for an omitted nested DAG: those of every task under it).
    """
    nodes = (workflow.get("status") or {}).get("nodes") or {}
    for candidate in (node, *(nodes.get(c, {}) for c in node.get("children") or [])):
        for parameter in (candidate.get("inputs") or {}).get("parameters") or []:
            if parameter.get("name") == NODES_PARAMETER and parameter.get("value"):
                return _split_nodes(parameter["value"])
    templates = {t.get("name"): t for t in _templates(workflow)}
    task = _dag_task(templates, nodes, node)
    if task is not None:
        found = _task_nodes(templates, task, frozenset())
        if found:
            return found
    template = templates.get(node.get("templateName"), {})
    pipeline = ((template.get("metadata") or {}).get("annotations") or {}).get("kedro.org/pipeline")
    return (
        [f"all of pipeline {pipeline}"]
        if pipeline and node.get("templateName") == EXIT_TEMPLATE
        else []
    )


def _split_nodes(value: Any) -> list[str]:
    text = str(value)
    if "{{" in text:  # an unresolved Argo variable, not node names
        return []
    return [n for n in text.split(",") if n]


def _dag_task(
    templates: Mapping[Any, Mapping[str, Any]],
    nodes: Mapping[str, Any],
    node: Mapping[str, Any],
) -> Mapping[str, Any] | None:
    """The DAG task a step node was made for: the task named as the node is displayed, in
    the DAG template of the node's boundary (in any DAG template when there is no boundary
    node, provided exactly one task is so named)."""
    name = node.get("displayName")
    boundary = nodes.get(node.get("boundaryID") or "")
    if boundary is not None:
        candidates = [templates.get(boundary.get("templateName"), {})]
    else:
        candidates = list(templates.values())
    found = [
        task
        for template in candidates
        for task in (template.get("dag") or {}).get("tasks") or []
        if task.get("name") == name
    ]
    return found[0] if len(found) == 1 else None


def _task_nodes(
    templates: Mapping[Any, Mapping[str, Any]], task: Mapping[str, Any], seen: frozenset[str]
) -> list[str]:
    """Kedro nodes a DAG task runs, from its ``nodes`` argument, or from the tasks of the
    nested DAG template it calls."""
    for parameter in (task.get("arguments") or {}).get("parameters") or []:
        if parameter.get("name") == NODES_PARAMETER and parameter.get("value"):
            return _split_nodes(parameter["value"])
    name = task.get("template")
    template = templates.get(name) or {}
    if "dag" not in template or name in seen:
        return []
    found: list[str] = []
    for inner in (template.get("dag") or {}).get("tasks") or []:
        found += _task_nodes(templates, inner, seen | {name})
    return found


def _templates(workflow: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    status = workflow.get("status") or {}
    stored = (status.get("storedWorkflowTemplateSpec") or {}).get("templates")
    return stored or (workflow.get("spec") or {}).get("templates") or []


def _duration(started: str | None, finished: str | None) -> str:
    from datetime import datetime, timezone

    if not started:
        return ""

    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    end = parse(finished) if finished else datetime.now(timezone.utc)
    seconds = max(0.0, (end - parse(started)).total_seconds())
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


def find_step(workflow: Mapping[str, Any], step: str) -> dict[str, Any]:
    """A step by DAG task name, or by the name of a Kedro node it runs (grouped steps run
    several)."""
    from kedro_argo.errors import ArgoServerError

    found = step_nodes(workflow)
    for node in found:
        if node.get("displayName") == step:
            return node
    for node in found:
        if step in kedro_nodes(workflow, node):
            return node
    known = ", ".join(sorted(n.get("displayName", "") for n in step_nodes(workflow)))
    raise ArgoServerError(
        f"Workflow {workflow['metadata']['name']} has no step '{step}' (steps: {known or 'none'})."
    )
