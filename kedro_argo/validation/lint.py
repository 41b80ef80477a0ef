"""Argo's own rules that no schema expresses (a port of what ``workflow/validate/validate.go``
checks on submit), as a list of problems. Pure and cheap: ``compile`` runs it on every manifest
it writes (:func:`check_manifest` raises the first error), ``kedro argo validate`` on any file.

Covered: object names and labels; template, task, step and parameter names (valid, unique);
``entrypoint``, ``onExit``, ``template`` and ``templateRef`` references; workflow arguments
with values; inputs every call must pass; one type per template; leaf-only ``timeout`` and
``activeDeadlineSeconds``; ``parallelism`` on DAG and steps templates only; container images
(or ``templateDefaults``); DAG tasks (at least one, at most 200, known dependencies, no cycle,
``depends`` syntax and results, ``depends`` xor ``dependencies``); ``{{inputs.parameters.X}}``,
``{{workflow.parameters.X}}`` and ``{{tasks.X...}}`` / ``{{steps.X...}}`` naming declared
things; CronWorkflow schedules and timezone; Argo's 200-template and 1 MiB limits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kedro_argo import argo
from kedro_argo.errors import ManifestError
from kedro_argo.graphs import find_cycle

__all__ = [
    "Problem",
    "check_manifest",
    "lint",
    "manifest_size",
    "task_dependencies",
]

_FIT_ADVICE = "group nodes into fewer pods with --group-by memory|namespace|tag"
_TAG = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
WARN_SIZE = 512 * 1024


@dataclass(frozen=True)
class Problem:
    """One finding: where (a JSON-path-like string) and what."""

    path: str
    message: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def manifest_size(manifest: Mapping[str, Any]) -> int:
    """Bytes of the compact JSON the API server stores (what Argo's size limit counts)."""
    return len(json.dumps(manifest, separators=(",", ":")).encode())


def check_manifest(manifest: Mapping[str, Any], *, size: int | None = None) -> None:
    """Raise :class:`ManifestError` for the first error Argo would refuse the manifest for
    (``size``: :func:`manifest_size`, when the caller has it already)."""
    for problem in lint(manifest, size=size):
        if problem.level == "error":
            raise ManifestError(_sentence(problem))


def _sentence(problem: Problem) -> str:
    text = str(problem)
    return text if text.endswith((".", ")")) else f"{text}."


def task_dependencies(task: Mapping[str, Any]) -> list[str]:
    """Parent task names from ``dependencies`` or ``depends`` (names joined by ``&&``)."""
    if "dependencies" in task:
        return list(task["dependencies"] or [])
    try:
        return argo.parse_depends(str(task.get("depends") or ""))
    except argo.DependsError as exc:
        raise ManifestError(f"DAG task '{task.get('name')}': {exc}.") from None


def lint(
    manifest: Mapping[str, Any],
    *,
    registry: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
    submit: bool = False,
    strict_refs: bool = False,
    size: int | None = None,
) -> list[Problem]:
    """Every problem in ``manifest``. ``registry`` maps (kind, name) of WorkflowTemplates /
    ClusterWorkflowTemplates given alongside, to resolve references; unresolved references
    are warnings, or errors with ``strict_refs``. ``submit``: a WorkflowTemplate's arguments
    need values (as when it is submitted)."""
    return list(_Linter(manifest, registry or {}, submit, strict_refs).run(size))


class _Linter:
    def __init__(
        self,
        manifest: Mapping[str, Any],
        registry: Mapping[tuple[str, str], Mapping[str, Any]],
        submit: bool,
        strict_refs: bool,
    ) -> None:
        self.doc = manifest
        self.kind = str(manifest.get("kind") or "Workflow")
        self.registry = registry
        self.submit = submit
        self.strict_refs = strict_refs
        spec_path = "spec.workflowSpec" if self.kind == "CronWorkflow" else "spec"
        self.sp = spec_path
        spec = argo.workflow_spec_of(manifest)
        self.spec: Mapping[str, Any] = spec if isinstance(spec, Mapping) else {}
        templates = self.spec.get("templates") or []
        self.templates: list[Mapping[str, Any]] = (
            [t for t in templates if isinstance(t, Mapping)] if isinstance(templates, list) else []
        )
        self.by_name = {str(t.get("name")): t for t in self.templates if t.get("name")}
        defaults = self.spec.get("templateDefaults") or {}
        self.default_image = bool(
            isinstance(defaults, Mapping)
            and any(
                isinstance(defaults.get(k), Mapping) and defaults[k].get("image")
                for k in ("container", "script")
            )
        )
        arguments = (self.spec.get("arguments") or {}).get("parameters") or []
        self.workflow_parameters = {
            str(p.get("name")) for p in arguments if isinstance(p, Mapping) and p.get("name")
        }
        ref = self.spec.get("workflowTemplateRef")
        self.referenced = self._referenced_template(ref) if isinstance(ref, Mapping) else None
        if self.referenced is not None:
            inner = argo.workflow_spec_of(self.referenced)
            for p in (inner.get("arguments") or {}).get("parameters") or []:
                if isinstance(p, Mapping) and p.get("name"):
                    self.workflow_parameters.add(str(p["name"]))

    # ---------------------------------------------------------------- entry

    def run(self, size: int | None) -> Iterator[Problem]:
        yield from self.metadata()
        if self.kind == "CronWorkflow":
            yield from self.cron()
        yield from self.workflow()
        yield from self.size(size)

    # ---------------------------------------------------------------- metadata

    def metadata(self) -> Iterator[Problem]:
        metadata = self.doc.get("metadata") or {}
        if not isinstance(metadata, Mapping):
            yield Problem("metadata", "must be a mapping")
            return
        limit = argo.OBJECT_NAME_LIMITS.get(self.kind, argo.OBJECT_NAME_LIMITS["Workflow"])
        name = metadata.get("name")
        generate = metadata.get("generateName")
        if name is None and generate is None:
            yield Problem("metadata", "needs a name or a generateName")
        if name is not None and (
            not isinstance(name, str) or len(name) > limit or not argo.DNS_LABEL_RE.fullmatch(name)
        ):
            yield Problem(
                "metadata.name",
                f"'{name}' is not a valid {self.kind} name (at most {limit} characters: "
                "lower-case letters, digits and '-')",
            )
        if generate is not None:
            if not isinstance(generate, str) or not argo.DNS_LABEL_RE.fullmatch(
                generate.rstrip("-")
            ):
                yield Problem("metadata.generateName", f"'{generate}' is not a valid name prefix")
            elif len(generate) > argo.GENERATE_NAME_LIMIT:
                yield Problem(
                    "metadata.generateName",
                    f"'{generate}' is cut to {argo.GENERATE_NAME_LIMIT} characters by Kubernetes",
                    "warning",
                )
        for key, value in (metadata.get("labels") or {}).items():
            yield from _label(f"metadata.labels.{key}", key, value)
        for key in metadata.get("annotations") or {}:
            if not _qualified_key(key):
                yield Problem(f"metadata.annotations.{key}", "is not a valid annotation key")

    # ---------------------------------------------------------------- cron

    def cron(self) -> Iterator[Problem]:
        from kedro_argo.cron import check_cron, check_timezone
        from kedro_argo.errors import ConfigError

        spec = self.doc.get("spec") or {}
        schedules = spec.get("schedules") or []
        if not schedules:
            yield Problem("spec.schedules", "a CronWorkflow needs at least one schedule")
        for i, schedule in enumerate(schedules):
            try:
                check_cron(str(schedule))
            except ConfigError as exc:
                yield Problem(f"spec.schedules[{i}]", str(exc).rstrip("."))
        timezone = spec.get("timezone")
        if timezone:
            try:
                check_timezone(str(timezone))
            except ConfigError as exc:
                yield Problem("spec.timezone", str(exc).rstrip("."))
        if not isinstance(spec.get("workflowSpec"), Mapping):
            yield Problem("spec.workflowSpec", "a CronWorkflow needs a workflowSpec")

    # ---------------------------------------------------------------- workflow spec

    def workflow(self) -> Iterator[Problem]:
        sp = self.sp
        ref = self.spec.get("workflowTemplateRef")
        if ref is not None and self.templates:
            yield Problem(
                f"{sp}.templates", "a workflow with a workflowTemplateRef cannot hold templates"
            )
        if ref is not None and self.referenced is None:
            yield self._unresolved(
                f"{sp}.workflowTemplateRef", f"names unknown WorkflowTemplate {ref.get('name')!r}"
            )
        if len(self.templates) > argo.MAX_TEMPLATES:
            yield Problem(
                f"{sp}.templates",
                f"the workflow has {len(self.templates)} templates but Argo v4 accepts at most "
                f"{argo.MAX_TEMPLATES}: {_FIT_ADVICE}, or give fewer nodes their own pod "
                "settings",
            )
        yield from _names(
            [t.get("name", "") for t in self.templates], f"{sp}.templates", "template"
        )
        for field in ("entrypoint", "onExit"):
            target = self.spec.get(field)
            if target is not None and target not in self.by_name and ref is None:
                yield Problem(f"{sp}.{field}", f"'{target}' names no template")
        needs_entrypoint = self.kind in ("Workflow", "CronWorkflow") and ref is None
        if needs_entrypoint and not self.spec.get("entrypoint"):
            yield Problem(f"{sp}.entrypoint", "is required")
        yield from self.arguments()
        exit_reachable = self._reachable(self.spec.get("onExit"))
        for i, template in enumerate(self.templates):
            where = f"{sp}.templates[{i}]"
            yield from self.template(template, where, exit_reachable)

    def arguments(self) -> Iterator[Problem]:
        parameters = (self.spec.get("arguments") or {}).get("parameters") or []
        path = f"{self.sp}.arguments.parameters"
        yield from _names(
            [p.get("name", "") for p in parameters if isinstance(p, Mapping)],
            path,
            "parameter",
            pattern=argo.PARAMETER_NAME_RE,
        )
        needs_value = self.kind in ("Workflow", "CronWorkflow") or self.submit
        for i, p in enumerate(parameters):
            if not isinstance(p, Mapping):
                continue
            if needs_value and "value" not in p and "valueFrom" not in p:
                yield Problem(f"{path}[{i}]", f"workflow parameter '{p.get('name')}' needs a value")

    # ---------------------------------------------------------------- templates

    def template(
        self, template: Mapping[str, Any], where: str, exit_reachable: set[str]
    ) -> Iterator[Problem]:
        name = str(template.get("name", ""))
        kinds = [k for k in argo.TEMPLATE_TYPES if k in template]
        if len(kinds) > 1:
            yield Problem(where, f"template '{name}' has {len(kinds)} types ({', '.join(kinds)})")
        if not kinds:
            yield Problem(where, f"template '{name}' has no type (container, dag, steps, ...)")
        leafless = "dag" in template or "steps" in template
        if leafless and template.get("timeout") not in (None, ""):
            yield Problem(f"{where}.timeout", "timeout cannot be applied to steps or dag templates")
        if leafless and template.get("activeDeadlineSeconds") is not None:
            yield Problem(
                f"{where}.activeDeadlineSeconds",
                "activeDeadlineSeconds is only valid for leaf templates",
            )
        if template.get("parallelism") is not None and not leafless:
            yield Problem(
                f"{where}.parallelism", "parallelism applies to dag and steps templates only"
            )
        for kind in ("container", "script"):
            body = template.get(kind)
            if isinstance(body, Mapping) and not body.get("image") and not self.default_image:
                yield Problem(f"{where}.{kind}.image", "is required (or set templateDefaults)")
        inputs = (template.get("inputs") or {}).get("parameters") or []
        yield from _names(
            [p.get("name", "") for p in inputs if isinstance(p, Mapping)],
            f"{where}.inputs.parameters",
            "input parameter",
            pattern=argo.PARAMETER_NAME_RE,
        )
        declared = {str(p.get("name")) for p in inputs if isinstance(p, Mapping)}
        siblings: set[str] = set()
        if isinstance(template.get("dag"), Mapping):
            tasks = template["dag"].get("tasks") or []
            siblings = {str(t.get("name")) for t in tasks if isinstance(t, Mapping)}
            yield from self.dag(name, tasks, f"{where}.dag.tasks")
        if isinstance(template.get("steps"), list):
            siblings = {
                str(s.get("name"))
                for group in template["steps"]
                if isinstance(group, list)
                for s in group
                if isinstance(s, Mapping)
            }
            yield from self.steps(name, template["steps"], f"{where}.steps")
        yield from self.variables(template, where, declared, siblings, name in exit_reachable)

    def dag(self, template: str, tasks: Any, where: str) -> Iterator[Problem]:
        if not isinstance(tasks, list) or not tasks:
            yield Problem(where, f"DAG template '{template}' has no tasks")
            return
        if len(tasks) > argo.MAX_DAG_TASKS:
            yield Problem(
                where,
                f"DAG '{template}' has {len(tasks)} tasks but Argo v4 accepts at most "
                f"{argo.MAX_DAG_TASKS} per DAG: nest the tasks in DAG templates of their own",
            )
        names = [str(t.get("name", "")) for t in tasks if isinstance(t, Mapping)]
        yield from _names(names, where, "DAG task")
        known = set(names)
        graph: dict[str, list[str]] = {}
        for k, task in enumerate(tasks):
            if not isinstance(task, Mapping):
                continue
            path = f"{where}[{k}]"
            name = str(task.get("name", ""))
            if "depends" in task and "dependencies" in task:
                yield Problem(path, "cannot use both 'depends' and 'dependencies'")
            if "depends" in task and "continueOn" in task:
                yield Problem(path, "cannot use 'continueOn' when using 'depends'")
            if name[:1].isdigit():
                yield Problem(path, f"DAG task '{name}' must not start with a digit")
            yield from self.call(task, path, f"DAG task '{name}'")
            parents: list[str] = []
            if "dependencies" in task:
                parents = [str(d) for d in task.get("dependencies") or []]
            elif task.get("depends"):
                try:
                    parents = argo.depends_tasks(str(task["depends"]))
                except argo.DependsError as exc:
                    yield Problem(f"{path}.depends", f"DAG task '{name}': {exc}")
            for parent in parents:
                if parent not in known:
                    yield Problem(path, f"DAG task '{name}' depends on unknown task '{parent}'")
            graph[name] = [p for p in parents if p in known]
        cycle = find_cycle(graph)
        if cycle:
            yield Problem(where, f"DAG '{template}' has a dependency cycle: {' -> '.join(cycle)}")

    def steps(self, template: str, groups: list[Any], where: str) -> Iterator[Problem]:
        names: list[str] = []
        for g, group in enumerate(groups):
            if not isinstance(group, list):
                yield Problem(f"{where}[{g}]", "a steps group must be a list of steps")
                continue
            for s, step in enumerate(group):
                if not isinstance(step, Mapping):
                    continue
                names.append(str(step.get("name", "")))
                label = f"step '{step.get('name')}'"
                yield from self.call(step, f"{where}[{g}][{s}]", label)
        yield from _names(names, where, "step")

    def call(self, holder: Mapping[str, Any], path: str, label: str) -> Iterator[Problem]:
        """A task or step naming a template: the template exists, and gets every input it
        has no default for."""
        target: Mapping[str, Any] | None = None
        if holder.get("template") is not None:
            target = self.by_name.get(str(holder["template"]))
            if target is None and self.referenced is None:
                yield Problem(path, f"{label} uses unknown template '{holder['template']}'")
        elif isinstance(holder.get("templateRef"), Mapping):
            ref = holder["templateRef"]
            kind = "ClusterWorkflowTemplate" if ref.get("clusterScope") else "WorkflowTemplate"
            owner = self.registry.get((kind, str(ref.get("name"))))
            if owner is None:
                yield self._unresolved(path, f"{label} uses unknown {kind} {ref.get('name')!r}")
            else:
                inner = argo.workflow_spec_of(owner).get("templates") or []
                target = next((t for t in inner if t.get("name") == ref.get("template")), None)
                if target is None:
                    yield Problem(
                        path,
                        f"{label}: {kind} {ref.get('name')!r} has no template "
                        f"{ref.get('template')!r}",
                    )
        elif "inline" not in holder:
            yield Problem(path, f"{label} names no template")
        if target is None:
            return
        passed = {
            str(p.get("name"))
            for p in (holder.get("arguments") or {}).get("parameters") or []
            if isinstance(p, Mapping)
        }
        for p in (target.get("inputs") or {}).get("parameters") or []:
            if not isinstance(p, Mapping):
                continue
            given = "value" in p or "default" in p or "valueFrom" in p
            if not given and str(p.get("name")) not in passed:
                yield Problem(
                    path,
                    f"{label} does not pass input parameter '{p.get('name')}' of template "
                    f"'{target.get('name')}'",
                )

    def variables(
        self,
        template: Mapping[str, Any],
        where: str,
        inputs: set[str],
        siblings: set[str],
        exit_handler: bool,
    ) -> Iterator[Problem]:
        """``{{...}}`` tags that name something this template cannot see."""
        for path, text in _strings(template, where):
            for tag in _TAG.findall(text):
                if tag.startswith("="):
                    continue  # expressions are evaluated by the controller
                problem = self._tag_problem(tag, inputs, siblings, exit_handler)
                if problem:
                    yield Problem(path, problem)

    def _tag_problem(
        self, tag: str, inputs: set[str], siblings: set[str], exit_handler: bool
    ) -> str | None:
        head, _, rest = tag.partition(".")
        if tag.startswith("inputs.parameters."):
            name = tag[len("inputs.parameters.") :]
            if name not in inputs:
                return f"{{{{{tag}}}}}: the template declares no input parameter '{name}'"
        elif tag.startswith("workflow.parameters."):
            # A WorkflowTemplate may be a library of templates other workflows call: their
            # parameters are the caller's, so Argo only checks this in a Workflow.
            name = tag[len("workflow.parameters.") :]
            checked = self.kind in ("Workflow", "CronWorkflow")
            if (
                checked
                and name not in self.workflow_parameters
                and "workflowTemplateRef" not in self.spec
            ):
                return f"{{{{{tag}}}}}: the workflow declares no parameter '{name}'"
        elif tag == "workflow.failures" and not self.spec.get("onExit"):
            return f"{{{{{tag}}}}} is only set for a workflow with an exit handler (spec.onExit)"
        elif head in ("tasks", "steps") and rest:
            name = rest.split(".", 1)[0]
            if name not in siblings and name != "name":
                return f"{{{{{tag}}}}}: no {head[:-1]} '{name}' in this template"
        return None

    # ---------------------------------------------------------------- size

    def size(self, size: int | None) -> Iterator[Problem]:
        size = manifest_size(self.doc) if size is None else size
        if size > argo.MAX_OBJECT_BYTES:
            yield Problem(
                "",
                f"The manifest is {size / 1024:.0f} KiB; Argo refuses workflows over "
                f"{argo.MAX_OBJECT_BYTES // 1024} KiB: {_FIT_ADVICE}, or expose fewer "
                "parameters",
            )
        elif size > WARN_SIZE:
            yield Problem(
                "",
                f"the manifest is {size / 1024:.0f} KiB: big workflows also grow a big status "
                "(see the large-pipelines how-to: node status offloading)",
                "warning",
            )

    # ---------------------------------------------------------------- helpers

    def _referenced_template(self, ref: Mapping[str, Any]) -> Mapping[str, Any] | None:
        kind = "ClusterWorkflowTemplate" if ref.get("clusterScope") else "WorkflowTemplate"
        return self.registry.get((kind, str(ref.get("name"))))

    def _unresolved(self, path: str, message: str) -> Problem:
        return Problem(path, message, "error" if self.strict_refs else "warning")

    def _reachable(self, start: Any) -> set[str]:
        """Templates the exit handler runs (directly or through its DAG / steps)."""
        seen: set[str] = set()
        todo = [start] if isinstance(start, str) else []
        while todo:
            name = todo.pop()
            if name in seen or name not in self.by_name:
                continue
            seen.add(name)
            template = self.by_name[name]
            calls = list((template.get("dag") or {}).get("tasks") or [])
            for group in template.get("steps") or []:
                calls += group if isinstance(group, list) else []
            todo += [c.get("template") for c in calls if isinstance(c, Mapping)]
        return seen


def _names(
    names: Iterable[Any], path: str, what: str, *, pattern: re.Pattern[str] = argo.ARGO_NAME_RE
) -> Iterator[Problem]:
    seen: set[str] = set()
    limit = argo.MAX_TEMPLATE_NAME
    for name in names:
        if (
            not isinstance(name, str)
            or not name
            or len(name) > limit
            or not pattern.fullmatch(name)
        ):
            allowed = "'-'" if pattern is argo.ARGO_NAME_RE else "'-' and '_'"
            yield Problem(
                path,
                f"'{name}' is not a valid {what} name (at most {limit} characters, letters, "
                f"digits and {allowed}"
                + (", starting with a letter or digit)" if pattern is argo.ARGO_NAME_RE else ")"),
            )
        elif name in seen:
            yield Problem(path, f"Two {what}s are named '{name}'")
        seen.add(name)


def _label(path: str, key: Any, value: Any) -> Iterator[Problem]:
    if not _qualified_key(key):
        yield Problem(path, f"Label key '{key}' is not a valid Kubernetes label key")
    if (
        not isinstance(value, str)
        or len(value) > argo.LABEL_VALUE_MAX_LENGTH
        or not argo.LABEL_VALUE_RE.fullmatch(value)
    ):
        yield Problem(
            path,
            f"Label '{key}' has value {value!r}: label values are at most "
            f"{argo.LABEL_VALUE_MAX_LENGTH} characters of letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit",
        )


def _qualified_key(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    prefix, _, name = key.rpartition("/")
    return bool(
        0 < len(name) <= argo.LABEL_VALUE_MAX_LENGTH
        and argo.LABEL_VALUE_RE.fullmatch(name)
        and (not prefix or (len(prefix) <= 253 and argo.DNS_SUBDOMAIN_RE.fullmatch(prefix)))
    )


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    """``(path, text)`` of every string under ``value`` holding ``{{``, in document order
    (paths are only formatted for those: a manifest has tens of thousands of strings)."""
    parts = [path]
    found: list[tuple[str, str]] = []

    def walk(item: Any) -> None:
        kind = type(item)
        if kind is str:
            if "{{" in item:
                found.append(("".join(parts), item))
            return
        if kind is dict or (kind is not list and isinstance(item, Mapping)):
            pairs: Iterable[tuple[Any, Any]] = item.items()
            label = ".{}"
        elif kind is list:
            pairs = enumerate(item)
            label = "[{}]"
        else:
            return
        for key, child in pairs:
            if type(child) is str and "{{" not in child:
                continue
            parts.append(label.format(key))
            walk(child)
            parts.pop()

    walk(value)
    return found
