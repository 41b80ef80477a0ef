"""Pre-submit checks: refuse what the Argo Server (v4 CRDs + ``validate.go``) would reject,
before anything is written or submitted, with a message that says what to change.

The compiler plans within Argo's limits, so on its own output these checks are a last line of
defence; they also guard manifests that were edited by hand or by a platform hook.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from kedro_argo import argo
from kedro_argo.errors import ManifestError
from kedro_argo.graphs import find_cycle

__all__ = ["check_manifest", "manifest_size", "task_dependencies"]

_FIT_ADVICE = "group nodes into fewer pods with --group-by memory|namespace|tag"


def manifest_size(manifest: Mapping[str, Any]) -> int:
    """Bytes of the compact JSON the API server stores (what Argo's size limit counts)."""
    return len(json.dumps(manifest, separators=(",", ":")).encode())


def check_manifest(manifest: Mapping[str, Any], *, size: int | None = None) -> None:
    """Raise :class:`ManifestError` for the first rule the Argo Server would enforce
    (``size``: :func:`manifest_size`, when the caller has it already)."""
    kind = manifest.get("kind", "Workflow")
    _check_metadata(manifest.get("metadata") or {}, kind)
    spec = argo.workflow_spec_of(manifest)
    templates = list(spec.get("templates") or [])  # type: ignore[call-overload]
    if len(templates) > argo.MAX_TEMPLATES:
        raise ManifestError(
            f"The workflow has {len(templates)} templates but Argo v4 accepts at most "
            f"{argo.MAX_TEMPLATES}: {_FIT_ADVICE}, or give fewer nodes their own pod settings."
        )
    names = [t.get("name", "") for t in templates]
    _check_names(names, what="template")
    known = set(names)
    for ref_field in ("entrypoint", "onExit"):
        ref = spec.get(ref_field)
        if ref is not None and ref not in known:
            raise ManifestError(f"spec.{ref_field} '{ref}' names no template.")
    if kind != "WorkflowTemplate" and not spec.get("entrypoint"):
        raise ManifestError("spec.entrypoint is required.")
    for template in templates:
        dag = template.get("dag")
        if dag is not None:
            _check_dag(template["name"], dag.get("tasks") or [], known)
    size = manifest_size(manifest) if size is None else size
    if size > argo.MAX_OBJECT_BYTES:
        raise ManifestError(
            f"The manifest is {size / 1024:.0f} KiB; Argo refuses workflows over "
            f"{argo.MAX_OBJECT_BYTES // 1024} KiB: {_FIT_ADVICE}, or expose fewer parameters."
        )


def _check_metadata(metadata: Mapping[str, Any], kind: str) -> None:
    limit = argo.OBJECT_NAME_LIMITS.get(kind, argo.OBJECT_NAME_LIMITS["Workflow"])
    name = metadata.get("name")
    generate = metadata.get("generateName")
    if name is None and generate is None:
        raise ManifestError("metadata needs a name or a generateName.")
    if name is not None and (len(name) > limit or not argo.DNS_LABEL_RE.fullmatch(name)):
        raise ManifestError(
            f"metadata.name '{name}' is not a valid {kind} name (at most {limit} characters: "
            "lower-case letters, digits and '-')."
        )
    if generate is not None and (
        len(generate) > argo.GENERATE_NAME_LIMIT
        or not argo.DNS_LABEL_RE.fullmatch(generate.rstrip("-"))
    ):
        raise ManifestError(f"metadata.generateName '{generate}' is not a valid name prefix.")
    for key, value in (metadata.get("labels") or {}).items():
        _check_label(key, value)


def _check_label(key: str, value: Any) -> None:
    prefix, _, name = key.rpartition("/")
    valid_key = (
        0 < len(name) <= argo.LABEL_VALUE_MAX_LENGTH
        and argo.LABEL_VALUE_RE.fullmatch(name)
        and (not prefix or (len(prefix) <= 253 and argo.DNS_SUBDOMAIN_RE.fullmatch(prefix)))
    )
    if not valid_key:
        raise ManifestError(f"Label key '{key}' is not a valid Kubernetes label key.")
    if (
        not isinstance(value, str)
        or len(value) > argo.LABEL_VALUE_MAX_LENGTH
        or not argo.LABEL_VALUE_RE.fullmatch(value)
    ):
        raise ManifestError(
            f"Label '{key}' has value {value!r}: label values are at most "
            f"{argo.LABEL_VALUE_MAX_LENGTH} characters of letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit."
        )


def _check_names(names: Iterable[str], *, what: str) -> None:
    seen: set[str] = set()
    limit = argo.MAX_TEMPLATE_NAME
    for name in names:
        if not name or len(name) > limit or not argo.ARGO_NAME_RE.fullmatch(name):
            raise ManifestError(
                f"'{name}' is not a valid {what} name (at most {limit} characters, "
                "letters, digits and '-', starting with a letter or digit)."
            )
        if name in seen:
            raise ManifestError(f"Two {what}s are named '{name}'.")
        seen.add(name)


def _check_dag(template: str, tasks: list[Mapping[str, Any]], known: set[str]) -> None:
    if not tasks:
        raise ManifestError(f"DAG template '{template}' has no tasks.")
    if len(tasks) > argo.MAX_DAG_TASKS:
        raise ManifestError(
            f"DAG '{template}' has {len(tasks)} tasks but Argo v4 accepts at most "
            f"{argo.MAX_DAG_TASKS} per DAG: nest the tasks in DAG templates of their own."
        )
    names = [t.get("name", "") for t in tasks]
    _check_names(names, what="DAG task")
    task_names = set(names)
    graph: dict[str, list[str]] = {}
    for task in tasks:
        name = task["name"]
        if name[0].isdigit():
            raise ManifestError(f"DAG task '{name}' must not start with a digit.")
        if task.get("template") not in known:
            raise ManifestError(
                f"DAG task '{name}' uses unknown template '{task.get('template')}'."
            )
        parents = task_dependencies(task)
        for parent in parents:
            if parent not in task_names:
                raise ManifestError(f"DAG task '{name}' depends on unknown task '{parent}'.")
        graph[name] = parents
    cycle = find_cycle(graph)
    if cycle:
        raise ManifestError(f"DAG '{template}' has a dependency cycle: {' -> '.join(cycle)}.")


def task_dependencies(task: Mapping[str, Any]) -> list[str]:
    """Parent task names from ``dependencies`` or ``depends`` (names joined by ``&&``)."""
    if "dependencies" in task:
        return list(task["dependencies"] or [])
    try:
        return argo.parse_depends(str(task.get("depends") or ""))
    except argo.DependsError as exc:
        raise ManifestError(f"DAG task '{task.get('name')}': {exc}.") from None
