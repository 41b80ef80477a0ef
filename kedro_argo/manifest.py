"""Manifest dict → checked, stable YAML on disk.

:func:`check_manifest` refuses what the Argo Server (v4 CRDs + ``validate.go``) would reject,
before anything is written or submitted, with a message that says what to change.
:func:`write_text` writes atomically, so a failed compile never leaves a half-written file.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from kedro_argo.errors import ManifestError
from kedro_argo.naming import (
    ARGO_NAME_RE,
    DNS_LABEL_RE,
    DNS_SUBDOMAIN_RE,
    GENERATE_NAME_LIMIT,
    LABEL_VALUE_RE,
    OBJECT_NAME_LIMITS,
)

MAX_TEMPLATES = 200
MAX_DAG_TASKS = 200
MAX_SIZE_BYTES = 1024 * 1024
MAX_TEMPLATE_NAME = 128
LABEL_NAME_RE = LABEL_VALUE_RE


def workflow_spec_of(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    """The workflow spec of a Workflow / WorkflowTemplate, or a CronWorkflow's workflowSpec."""
    spec = manifest.get("spec") or {}
    if manifest.get("kind") == "CronWorkflow":
        return spec.get("workflowSpec") or {}
    return spec


def check_manifest(manifest: Mapping[str, Any]) -> None:
    """Raise :class:`ManifestError` for the first rule the Argo Server would enforce."""
    kind = manifest.get("kind", "Workflow")
    _check_metadata(manifest.get("metadata") or {}, kind)
    spec = workflow_spec_of(manifest)
    templates = spec.get("templates") or []
    if len(templates) > MAX_TEMPLATES:
        raise ManifestError(
            f"The workflow has {len(templates)} templates (one per Kedro node, plus the DAG and "
            f"any exit handler) but Argo v4 accepts at most {MAX_TEMPLATES}: compile a smaller "
            "pipeline (--pipeline) or split it."
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
    size = len(json.dumps(manifest, separators=(",", ":")).encode())
    if size > MAX_SIZE_BYTES:
        raise ManifestError(
            f"The manifest is {size / 1024:.0f} KiB; Argo refuses workflows over "
            f"{MAX_SIZE_BYTES // 1024} KiB: expose fewer parameters or split the pipeline."
        )


def _check_metadata(metadata: Mapping[str, Any], kind: str) -> None:
    limit = OBJECT_NAME_LIMITS.get(kind, 63)
    name = metadata.get("name")
    generate = metadata.get("generateName")
    if name is None and generate is None:
        raise ManifestError("metadata needs a name or a generateName.")
    if name is not None and (len(name) > limit or not DNS_LABEL_RE.fullmatch(name)):
        raise ManifestError(
            f"metadata.name '{name}' is not a valid {kind} name (at most {limit} characters: "
            "lower-case letters, digits and '-')."
        )
    if generate is not None and (
        len(generate) > GENERATE_NAME_LIMIT or not DNS_LABEL_RE.fullmatch(generate.rstrip("-"))
    ):
        raise ManifestError(f"metadata.generateName '{generate}' is not a valid name prefix.")
    for key, value in (metadata.get("labels") or {}).items():
        _check_label(key, value)


def _check_label(key: str, value: Any) -> None:
    prefix, _, name = key.rpartition("/")
    valid_key = (
        0 < len(name) <= 63
        and LABEL_NAME_RE.fullmatch(name)
        and (not prefix or (len(prefix) <= 253 and DNS_SUBDOMAIN_RE.fullmatch(prefix)))
    )
    if not valid_key:
        raise ManifestError(f"Label key '{key}' is not a valid Kubernetes label key.")
    if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE_RE.fullmatch(value):
        raise ManifestError(
            f"Label '{key}' has value {value!r}: label values are at most 63 characters of "
            "letters, digits, '-', '_' and '.', starting and ending with a letter or digit."
        )


def _check_names(names: Iterable[str], *, what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if not name or len(name) > MAX_TEMPLATE_NAME or not ARGO_NAME_RE.fullmatch(name):
            raise ManifestError(
                f"'{name}' is not a valid {what} name (at most {MAX_TEMPLATE_NAME} characters, "
                "letters, digits and '-', starting with a letter or digit)."
            )
        if name in seen:
            raise ManifestError(f"Two {what}s are named '{name}'.")
        seen.add(name)


def _check_dag(template: str, tasks: list[Mapping[str, Any]], known: set[str]) -> None:
    if not tasks:
        raise ManifestError(f"DAG template '{template}' has no tasks.")
    if len(tasks) > MAX_DAG_TASKS:
        raise ManifestError(
            f"DAG '{template}' has {len(tasks)} tasks but Argo v4 accepts at most "
            f"{MAX_DAG_TASKS} per DAG: compile a smaller pipeline (--pipeline) or split it."
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
    cycle = _find_cycle(graph)
    if cycle:
        raise ManifestError(f"DAG '{template}' has a dependency cycle: {' -> '.join(cycle)}.")


def task_dependencies(task: Mapping[str, Any]) -> list[str]:
    """Parent task names from ``dependencies`` or a ``depends`` of names joined by ``&&``."""
    if "dependencies" in task:
        return list(task["dependencies"] or [])
    depends = (task.get("depends") or "").strip()
    if not depends:
        return []
    parents = [part.strip() for part in depends.split("&&")]
    for part in parents:
        if not ARGO_NAME_RE.fullmatch(part):
            raise ManifestError(
                f"DAG task '{task.get('name')}': depends '{depends}' is not a list of task names "
                "joined by '&&'."
            )
    return parents


def _find_cycle(graph: Mapping[str, list[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for parent in graph.get(node, []):
            if state.get(parent) == 1:
                return [*stack[stack.index(parent) :], parent]
            if parent not in state:
                found = visit(parent)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def _file_mode(target: Path) -> int:
    """Keep an existing file's mode; new files get the usual 0666 minus the umask."""
    if target.exists():
        return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class _Dumper(yaml.SafeDumper):
    """Block-style YAML; multi-line strings as literal blocks; never aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)


def to_yaml(*manifests: Mapping[str, Any]) -> str:
    """Stable YAML text: key order as built, one document per manifest."""
    return yaml.dump_all(
        [dict(m) for m in manifests],
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
    )


def write_text(text: str, path: str | Path) -> None:
    """Write ``text`` to ``path`` atomically (``-`` means stdout)."""
    if str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).chmod(_file_mode(target))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
