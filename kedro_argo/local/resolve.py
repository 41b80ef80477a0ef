"""From a manifest to a :class:`LocalPlan`: every step's argument list and env, fully resolved.

Planning is pure apart from reading the environment, and it is where every refusal happens:
unsupported fields (see :mod:`kedro_argo.local.support`), unknown templates or tasks, ``depends``
expressions other than task names joined by ``&&``, cycles, variables local mode cannot resolve,
missing parameter values, secrets absent from the local environment, malformed retry/timeout
values. Nothing runs until a plan exists.

The plan is a tree: a :class:`PlannedDag` for each dag template invocation (the entrypoint's dag
is the unnamed root; a task whose template is itself a dag becomes a nested :class:`PlannedDag`
whose steps are named ``outer.inner``), and a :class:`PlannedStep` per container invocation. The
exit handler (``spec.onExit``) is planned separately, named ``onExit``, because its variables
``{{workflow.status}}`` and ``{{workflow.failures}}`` are only known once the DAG has finished.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import shlex
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Union

from kedro_argo import argo, contract
from kedro_argo.durations import parse_argo_duration, parse_go_duration
from kedro_argo.errors import LocalRunError
from kedro_argo.graphs import find_cycle
from kedro_argo.local.support import (
    LoadedWorkflow,
    check_supported,
    merge_template_defaults,
    workflow_of,
)
from kedro_argo.local.variables import Scope, expand_k8s, substitute

__all__ = [
    "EXIT_HANDLER_NAME",
    "LocalPlan",
    "PlannedDag",
    "PlannedNode",
    "PlannedStep",
    "RetryPolicy",
    "parse_depends",
    "plan_workflow",
]

EXIT_HANDLER_NAME = "onExit"
RETRY_POLICIES = ("Always", "OnFailure", "OnError", "OnTransientError")
PYTHON_COMMANDS = ("python", "python3")
# Kubernetes' name generator alphabet (no vowels, no look-alikes).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_TASK_NAME = argo.ARGO_NAME_RE


@dataclass(frozen=True)
class RetryPolicy:
    """A template's ``retryStrategy``, parsed.

    ``limit`` is the number of retries after the first attempt (``None``: no limit, as in Argo).
    Locally a non-zero exit (including a process killed for exceeding ``timeout`` or
    ``activeDeadlineSeconds``) is a *failure* and is retried under every policy: ``Always`` and
    ``OnFailure`` as in Argo, and ``OnError``/``OnTransientError`` too, because local mode has no
    controller or pod errors of its own to retry on. A command that cannot be started at all is an
    *error*, retried under ``Always`` and ``OnError`` only.

    Backoff as in Argo: the wait before retry *n* (1-based) is ``duration * factor**(n-1)``
    (``factor`` unset or 0: constant), capped by ``cap``; ``maxDuration`` bounds the whole retry
    sequence from the first attempt's start: no retry starts if its wait would end past it, and
    attempts after the first are killed when it passes.
    """

    limit: int | None
    policy: str = "OnFailure"
    backoff_duration: float | None = None
    backoff_factor: int | None = None
    backoff_cap: float | None = None
    max_duration: float | None = None

    def retries_errors(self) -> bool:
        return self.policy in ("Always", "OnError")

    def backoff_before(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1 = the first retry)."""
        if not self.backoff_duration:
            return 0.0
        wait = self.backoff_duration
        if self.backoff_factor and self.backoff_factor > 0:
            wait *= float(self.backoff_factor) ** (retry_number - 1)
        if self.backoff_cap is not None:
            wait = min(wait, self.backoff_cap)
        return wait


@dataclass(frozen=True)
class PlannedOutput:
    """An output of a container template: a parameter read from a file, or an artifact."""

    kind: str  # "parameters" or "artifacts"
    name: str
    path: str  # in the container; under contract.RESULTS_DIR: the step's own results folder
    default: str | None = None  # a parameter's valueFrom.default
    optional: bool = False  # an artifact's


@dataclass(frozen=True)
class PlannedStep:
    """One container invocation: a process local mode starts (once per attempt)."""

    name: str
    template: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(repr=False)  # the manifest's env, resolved (may hold secrets)
    # argv for display: before Kubernetes $(VAR) expansion, so env values (secrets) never show
    command_line: str = ""
    depends: tuple[str, ...] = ()
    retry: RetryPolicy | None = None
    timeout: float | None = None  # template `timeout`, per attempt (seconds)
    active_deadline: float | None = None  # template `activeDeadlineSeconds`, per attempt
    kedro_nodes: tuple[str, ...] = ()  # what a kedro-argo step runs (from its arguments)
    sweep_branch: str | None = None  # the branch label of a kedro-argo step in a sweep
    outputs: tuple[PlannedOutput, ...] = ()


@dataclass(frozen=True)
class PlannedDag:
    """One dag template invocation; ``name`` is ``""`` for the entrypoint's dag."""

    name: str
    template: str
    children: tuple[PlannedNode, ...]
    depends: tuple[str, ...] = ()
    fail_fast: bool = True
    parallelism: int | None = None


PlannedNode = Union[PlannedStep, PlannedDag]  # noqa: UP007 (runtime alias on Python 3.10)


def iter_steps(node: PlannedNode | None) -> Iterator[PlannedStep]:
    """The steps under ``node``, depth first in manifest order."""
    if node is None:
        return
    if isinstance(node, PlannedStep):
        yield node
        return
    for child in node.children:
        yield from iter_steps(child)


@dataclass(frozen=True)
class LocalPlan:
    """Everything local mode needs to run a manifest; built by :func:`plan_workflow`."""

    kind: str
    workflow_name: str
    workflow_uid: str
    namespace: str
    creation_timestamp: str
    parameters: Mapping[str, str]
    parallelism: int | None  # spec.parallelism
    active_deadline_seconds: float | None  # spec.activeDeadlineSeconds
    root: PlannedNode
    has_exit_handler: bool
    project_path: Path
    base_env: Mapping[str, str] = field(repr=False)  # os.environ + extra_env
    override_env: Mapping[str, str] = field(repr=False)
    _exit_builder: Callable[[str, str], PlannedNode | None] = field(
        repr=False, compare=False, default=lambda status, failures: None
    )

    @property
    def steps(self) -> tuple[PlannedStep, ...]:
        """The DAG's steps (not the exit handler's), depth first in manifest order."""
        return tuple(iter_steps(self.root))

    def exit_handler(self, status: str, failures: str = "[]") -> PlannedNode | None:
        """The exit handler planned for a finished run (``status``: Succeeded/Failed/Error)."""
        return self._exit_builder(status, failures)

    def step_env(self, step: PlannedStep) -> dict[str, str]:
        """The full environment of ``step``'s process."""
        env = dict(self.base_env)
        env.update(step.env)
        env.update(self.override_env)
        return env


def _refuse(message: str) -> LocalRunError:
    """A feature local mode cannot honour (same wording as the allow-list's refusals)."""
    return LocalRunError(f"local mode cannot run {message}")


# --------------------------------------------------------------------------- depends


def parse_depends(expr: str, where: str) -> list[str]:
    """Task names of a ``depends`` expression (see :func:`kedro_argo.argo.parse_depends`)."""
    try:
        return argo.parse_depends(expr)
    except argo.DependsError as exc:
        if exc.token is None:
            raise LocalRunError(
                f"{where}: the expression {expr!r} is incomplete (a task name is missing after "
                "'&&' or '(', or a parenthesis is not closed)"
            ) from None
        raise _refuse(f"{where}: {exc}") from None


# --------------------------------------------------------------------------- helpers


def _as_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return str(value)


def _int_value(value: Any, where: str, minimum: int = 0) -> int:
    if isinstance(value, bool):
        raise LocalRunError(f"{where}: expected an integer, got {value!r}")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        result = int(value)
    else:
        raise LocalRunError(f"{where}: expected an integer, got {value!r}")
    if result < minimum:
        raise LocalRunError(f"{where}: must be at least {minimum}, got {result}")
    return result


def _item_values(item: Any) -> dict[str, str]:
    """The ``{{item…}}`` tags of one ``withItems`` item, rendered as Argo renders them: a
    scalar as its text, a map as JSON for ``{{item}}`` and each key's value for
    ``{{item.<key>}}`` (nested values as JSON)."""
    if isinstance(item, Mapping):
        values = {"item": json.dumps(item, sort_keys=True, separators=(",", ":"))}
        for key, value in item.items():
            text = value if isinstance(value, str) else json.dumps(value)
            values[f"item.{key}"] = _as_str(value) if isinstance(value, bool) else text
        return values
    if isinstance(item, list):
        return {"item": json.dumps(item, separators=(",", ":"))}
    return {"item": _as_str(item)}


def _item_label(item: Any, rendered: Mapping[str, str]) -> str:
    """A readable name for an item's child: a sweep branch's label, else the item's text."""
    if isinstance(item, Mapping) and contract.SWEEP_PARAMETER in item:
        return _as_str(item[contract.SWEEP_PARAMETER])
    return rendered["item"]


def _workflow_name(loaded: LoadedWorkflow, now: datetime) -> str:
    meta = loaded.metadata
    suffix = "".join(random.choice(_NAME_ALPHABET) for _ in range(5))
    name = meta.get("name")
    if loaded.kind == "Workflow":
        if name:
            return str(name)
        return str(meta.get("generateName") or "workflow-")[:58] + suffix
    base = name or str(meta.get("generateName") or "workflow-").rstrip("-")
    if loaded.kind == "CronWorkflow":
        return f"{base}-{int(now.timestamp())}"  # as the cron controller names its runs
    return f"{base}-"[:58] + suffix  # submitting a WorkflowTemplate uses generateName <name>-


# --------------------------------------------------------------------------- planner


class _Planner:
    def __init__(
        self,
        loaded: LoadedWorkflow,
        globals_: dict[str, str],
        secrets_env: Mapping[str, str],
        python_executable: str,
    ) -> None:
        self.loaded = loaded
        self.globals = globals_
        self.secrets_env = secrets_env
        self.python = python_executable
        sp = loaded.spec_path
        templates = loaded.spec.get("templates") or []
        if not isinstance(templates, list) or not templates:
            raise LocalRunError(f"'{sp}.templates' must be a non-empty list")
        defaults = loaded.spec.get("templateDefaults") or None
        self.templates: dict[str, tuple[int, dict[str, Any]]] = {}
        self.raw_templates: dict[str, Mapping[str, Any]] = {}
        for i, tmpl in enumerate(templates):
            name = tmpl.get("name") if isinstance(tmpl, Mapping) else None
            if not isinstance(name, str) or not name:
                raise LocalRunError(f"'{sp}.templates[{i}]' has no name")
            if name in self.templates:
                raise LocalRunError(f"'{sp}.templates[{i}]': duplicate template name {name!r}")
            self.templates[name] = (i, merge_template_defaults(tmpl, defaults))
            self.raw_templates[name] = tmpl

    # -- lookups

    def _template(self, name: Any, where: str) -> tuple[str, dict[str, Any]]:
        if not isinstance(name, str) or name not in self.templates:
            known = ", ".join(sorted(self.templates))
            raise LocalRunError(f"{where}: no template named {name!r} (templates: {known})")
        i, tmpl = self.templates[name]
        return f"{self.loaded.spec_path}.templates[{i}]", tmpl

    # -- inputs

    def _inputs(
        self, path: str, tmpl: Mapping[str, Any], args: Mapping[str, str], exit_handler: bool
    ) -> dict[str, str]:
        name = tmpl["name"]
        scope = Scope(self.globals, {}, exit_handler)
        values: dict[str, str] = {}
        params = (tmpl.get("inputs") or {}).get("parameters") or []
        for j, param in enumerate(params):
            where = f"'{path}.inputs.parameters[{j}]' (template {name!r})"
            pname = param.get("name")
            if not isinstance(pname, str):
                raise LocalRunError(f"{where}: an input parameter needs a name")
            if pname in args:
                value = args[pname]
            elif param.get("value") is not None:
                value = substitute(_as_str(param["value"]), scope, where)
            elif param.get("default") is not None:
                value = substitute(_as_str(param["default"]), scope, where)
            else:
                raise LocalRunError(
                    f"{where}: input parameter {pname!r} has no value: the caller passes no "
                    "argument and it has no default"
                )
            enum = param.get("enum")
            if enum and value not in [_as_str(e) for e in enum]:
                raise LocalRunError(
                    f"{where}: value {value!r} of input parameter {pname!r} is not one of "
                    f"{[_as_str(e) for e in enum]}"
                )
            values[pname] = value
        return values

    # -- nodes

    def build(
        self,
        template_name: str,
        node_name: str,
        args: Mapping[str, str],
        depends: tuple[str, ...],
        exit_handler: bool,
        stack: tuple[str, ...],
        where: str,
    ) -> PlannedNode:
        path, tmpl = self._template(template_name, where)
        if template_name in stack:
            chain = " -> ".join((*stack, template_name))
            raise _refuse(f"'{path}': template recursion ({chain})")
        inputs = self._inputs(path, tmpl, args, exit_handler)
        scope = Scope(self.globals, inputs, exit_handler)
        if "dag" in tmpl:
            return self._dag(path, tmpl, node_name, scope, depends, (*stack, template_name))
        if "container" in tmpl:
            return self._step(path, tmpl, node_name, scope, depends)
        raise _refuse(f"'{path}' (template {template_name!r}): only container and dag templates")

    def _dag(
        self,
        path: str,
        tmpl: Mapping[str, Any],
        node_name: str,
        scope: Scope,
        depends: tuple[str, ...],
        stack: tuple[str, ...],
    ) -> PlannedDag:
        tname = tmpl["name"]
        own = self.raw_templates[tname]
        for key in ("retryStrategy", "timeout", "activeDeadlineSeconds"):
            if tmpl.get(key) not in (None, "", {}):
                origin = "" if key in own else f" (set in {self.loaded.spec_path}.templateDefaults)"
                raise _refuse(
                    f"'{path}.{key}' (template {tname!r}): {key} on a dag template{origin}; "
                    "put it on the container templates"
                )
        dag = tmpl.get("dag") or {}
        tasks = dag.get("tasks") or []
        if not isinstance(tasks, list) or not tasks:
            raise LocalRunError(f"'{path}.dag.tasks' (template {tname!r}): a dag needs tasks")
        names: dict[str, int] = {}
        task_deps: list[tuple[str, ...]] = []
        for k, task in enumerate(tasks):
            where = f"'{path}.dag.tasks[{k}]' (template {tname!r})"
            tn = task.get("name")
            if not isinstance(tn, str) or not _TASK_NAME.fullmatch(tn):
                raise LocalRunError(f"{where}: invalid task name {tn!r}")
            if tn in names:
                raise LocalRunError(f"{where}: duplicate task name {tn!r}")
            names[tn] = k
            if "depends" in task and "dependencies" in task:
                raise LocalRunError(f"{where}: use either 'depends' or 'dependencies', not both")
            if task.get("depends") not in (None, ""):
                deps = parse_depends(_as_str(task["depends"]), f"{where} depends")
            else:
                deps = [_as_str(d) for d in task.get("dependencies") or []]
            task_deps.append(tuple(deps))
        for k, deps in enumerate(task_deps):
            for dep in deps:
                if dep not in names:
                    raise LocalRunError(
                        f"'{path}.dag.tasks[{k}]' (template {tname!r}): depends on unknown "
                        f"task {dep!r} (tasks: {', '.join(names)})"
                    )
        styles = {key for task in tasks for key in ("depends", "dependencies") if key in task}
        if len(styles) > 1:
            raise LocalRunError(
                f"'{path}.dag.tasks' (template {tname!r}): Argo does not allow both 'depends' "
                "and 'dependencies' in one dag"
            )
        _check_acyclic(list(names), task_deps, f"'{path}.dag.tasks' (template {tname!r})")
        prefix = f"{node_name}." if node_name else ""
        fail_fast = dag.get("failFast")
        parallelism = tmpl.get("parallelism")
        limit = (
            None
            if parallelism is None
            else _int_value(parallelism, f"'{path}.parallelism' (template {tname!r})", 1)
        )
        children: list[PlannedNode] = []
        for k, task in enumerate(tasks):
            where = f"'{path}.dag.tasks[{k}]' (template {tname!r})"
            if "withItems" not in task:
                args = self._task_arguments(path, tname, k, task, scope)
                children.append(
                    self.build(
                        task.get("template"),
                        prefix + task["name"],
                        args,
                        task_deps[k],
                        scope.exit_handler,
                        stack,
                        where,
                    )
                )
                continue
            items = task["withItems"]
            if not isinstance(items, list) or not items:
                raise LocalRunError(f"{where}: withItems must be a non-empty list")
            expanded = []
            for i, item in enumerate(items):
                rendered = _item_values(item)
                args = self._task_arguments(
                    path, tname, k, task, dataclasses.replace(scope, item=rendered)
                )
                expanded.append(
                    self.build(
                        task.get("template"),
                        f"{prefix}{task['name']}({i}:{_item_label(item, rendered)})",
                        args,
                        (),
                        scope.exit_handler,
                        stack,
                        where,
                    )
                )
            # Argo runs a loop's items as children of the task, all at once but for the
            # parallelism of the dag holding the loop; its dependents wait for every item
            children.append(
                PlannedDag(
                    name=prefix + task["name"],
                    template=str(task.get("template")),
                    children=tuple(expanded),
                    depends=task_deps[k],
                    fail_fast=True if fail_fast is None else bool(fail_fast),
                    parallelism=limit,
                )
            )
        return PlannedDag(
            name=node_name,
            template=tname,
            children=tuple(children),
            depends=depends,
            fail_fast=True if fail_fast is None else bool(fail_fast),
            parallelism=limit,
        )

    def _task_arguments(
        self, path: str, tname: str, k: int, task: Mapping[str, Any], scope: Scope
    ) -> dict[str, str]:
        args: dict[str, str] = {}
        for m, param in enumerate((task.get("arguments") or {}).get("parameters") or []):
            pwhere = f"'{path}.dag.tasks[{k}].arguments.parameters[{m}]' (template {tname!r})"
            pname = param.get("name")
            if not isinstance(pname, str):
                raise LocalRunError(f"{pwhere}: an argument needs a name")
            if param.get("value") is None:
                raise LocalRunError(f"{pwhere}: argument {pname!r} needs a value")
            args[pname] = substitute(_as_str(param["value"]), scope, pwhere)
        return args

    def _step(
        self,
        path: str,
        tmpl: Mapping[str, Any],
        node_name: str,
        scope: Scope,
        depends: tuple[str, ...],
    ) -> PlannedStep:
        tname = tmpl["name"]
        label = f"(template {tname!r})"
        if tmpl.get("parallelism") is not None:
            raise _refuse(f"'{path}.parallelism' {label}: parallelism applies to dag templates")
        container = tmpl.get("container") or {}
        command = container.get("command")
        if not command:
            raise _refuse(
                f"'{path}.container.command' {label}: not set, and the image's ENTRYPOINT is "
                "unknown locally: the command must be in the manifest"
            )
        raw_args = container.get("args") or []
        for key, value in (("command", command), ("args", raw_args)):
            if not isinstance(value, list):
                raise LocalRunError(f"'{path}.container.{key}' {label}: must be a list")
        argv = [
            substitute(_as_str(v), scope, f"'{path}.container.command[{j}]' {label}")
            for j, v in enumerate(command)
        ] + [
            substitute(_as_str(v), scope, f"'{path}.container.args[{j}]' {label}")
            for j, v in enumerate(raw_args)
        ]
        env: dict[str, str] = {}
        for j, entry in enumerate(container.get("env") or []):
            where = f"'{path}.container.env[{j}]' {label}"
            name = entry.get("name")
            if not isinstance(name, str) or not name:
                raise LocalRunError(f"{where}: an env entry needs a name")
            value_from = entry.get("valueFrom")
            if value_from:
                ref = value_from.get("secretKeyRef") or {}
                if name in self.secrets_env:
                    value = self.secrets_env[name]
                elif ref.get("optional"):
                    continue  # Kubernetes leaves an optional, missing secret's variable unset
                else:
                    raise LocalRunError(
                        f"{where}: env var {name} comes from secret "
                        f"{ref.get('name')!r} (key {ref.get('key')!r}); local mode cannot read "
                        f"cluster secrets: set {name} in the local environment to run locally"
                    )
            else:
                raw = substitute(_as_str(entry.get("value") or ""), scope, f"{where} value")
                value = expand_k8s(raw, env)
            env[name] = value
        if argv[0] in PYTHON_COMMANDS:
            argv[0] = self.python
        shown = shlex.join(argv)
        argv = [expand_k8s(a, env) for a in argv]
        call = _step_call(argv)
        kedro_nodes = (call.nodes or (f"all of pipeline {call.pipeline}",)) if call else ()
        return PlannedStep(
            name=node_name,
            template=tname,
            argv=tuple(argv),
            env=env,
            command_line=shown,
            depends=depends,
            retry=self._retry(path, tmpl, scope),
            timeout=self._timeout(path, tmpl, scope),
            active_deadline=self._active_deadline(path, tmpl, scope),
            kedro_nodes=kedro_nodes,
            sweep_branch=call.sweep if call else None,
            outputs=self._outputs(path, tmpl, scope),
        )

    def _outputs(
        self, path: str, tmpl: Mapping[str, Any], scope: Scope
    ) -> tuple[PlannedOutput, ...]:
        declared = tmpl.get("outputs") or {}
        found: list[PlannedOutput] = []
        for kind in ("parameters", "artifacts"):
            for i, item in enumerate(declared.get(kind) or []):
                where = f"'{path}.outputs.{kind}[{i}]' (template {tmpl['name']!r})"
                source = (item.get("valueFrom") or {}) if kind == "parameters" else item
                if not source.get("path"):
                    raise _refuse(f"{where}: only outputs read from a file path run locally")
                default = source.get("default")
                found.append(
                    PlannedOutput(
                        kind=kind,
                        name=str(item.get("name")),
                        path=substitute(_as_str(source["path"]), scope, f"{where} path"),
                        default=None if default is None else _as_str(default),
                        optional=bool(item.get("optional")),
                    )
                )
        return tuple(found)

    def _retry(self, path: str, tmpl: Mapping[str, Any], scope: Scope) -> RetryPolicy | None:
        strategy = tmpl.get("retryStrategy")
        if not strategy:
            return None
        label = f"(template {tmpl['name']!r})"
        p = f"{path}.retryStrategy"

        def sub(value: Any, where: str) -> str:
            return substitute(_as_str(value), scope, where)

        limit = None
        if strategy.get("limit") is not None:
            where = f"'{p}.limit' {label}"
            limit = _int_value(sub(strategy["limit"], where), where)
        policy = sub(strategy.get("retryPolicy") or "OnFailure", f"'{p}.retryPolicy' {label}")
        if policy not in RETRY_POLICIES:
            raise LocalRunError(
                f"'{p}.retryPolicy' {label}: {policy!r} is not one of {', '.join(RETRY_POLICIES)}"
            )
        duration = factor = cap = max_duration = None
        backoff = strategy.get("backoff")
        if backoff:
            if backoff.get("duration") in (None, ""):
                raise LocalRunError(f"'{p}.backoff.duration' {label}: a backoff needs a duration")
            values: dict[str, float] = {}
            for key in ("duration", "cap", "maxDuration"):
                if backoff.get(key) in (None, ""):
                    continue
                where = f"'{p}.backoff.{key}' {label}"
                try:
                    values[key] = parse_argo_duration(sub(backoff[key], where))
                except ValueError as exc:
                    raise LocalRunError(f"{where}: bad backoff duration: {exc}") from None
            duration, cap, max_duration = (
                values.get("duration"),
                values.get("cap"),
                values.get("maxDuration"),
            )
            if backoff.get("factor") not in (None, ""):
                where = f"'{p}.backoff.factor' {label}"
                factor = _int_value(sub(backoff["factor"], where), where)
        return RetryPolicy(limit, policy, duration, factor, cap, max_duration)

    def _timeout(self, path: str, tmpl: Mapping[str, Any], scope: Scope) -> float | None:
        raw = tmpl.get("timeout")
        if raw in (None, ""):
            return None
        where = f"'{path}.timeout' (template {tmpl['name']!r})"
        text = substitute(_as_str(raw), scope, where)
        try:
            seconds = parse_go_duration(text)
        except ValueError as exc:
            raise LocalRunError(f"{where}: bad timeout: {exc}") from None
        if seconds < 0:
            raise LocalRunError(f"{where}: the timeout must not be negative, got {text!r}")
        return seconds

    def _active_deadline(self, path: str, tmpl: Mapping[str, Any], scope: Scope) -> float | None:
        raw = tmpl.get("activeDeadlineSeconds")
        if raw in (None, ""):
            return None
        where = f"'{path}.activeDeadlineSeconds' (template {tmpl['name']!r})"
        return float(_int_value(substitute(_as_str(raw), scope, where), where, 1))


def _step_call(argv: list[str]) -> contract.StepCall | None:
    """A step of ours, read with the pod's own parser (``None`` for other commands): the
    Kedro nodes it runs (the exit handler: its whole pipeline) and its sweep branch."""
    command = contract.POD_COMMAND
    if tuple(argv[1 : len(command)]) != command[1:] or argv[len(command) : len(command) + 1] != [
        contract.STEP_COMMAND
    ]:
        return None
    try:
        return contract.parse_step_arguments(argv[len(command) :])
    except contract.ContractError:
        return None


def _check_acyclic(names: list[str], deps: list[tuple[str, ...]], where: str) -> None:
    cycle = find_cycle(dict(zip(names, deps, strict=True)))
    if cycle:
        raise LocalRunError(f"{where}: dependency cycle {' -> '.join(cycle)}")


# --------------------------------------------------------------------------- entry point


def plan_workflow(
    manifest: Mapping[str, Any],
    *,
    project_path: str | Path,
    parameters: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    override_env: Mapping[str, str] | None = None,
    python_executable: str = sys.executable,
    workflow_uid: str | None = None,
    workflow_name: str | None = None,
    now: datetime | None = None,
) -> LocalPlan:
    """Check ``manifest`` and resolve every step; raise :class:`LocalRunError` on any refusal.

    ``parameters`` override ``spec.arguments.parameters`` by name. A step's environment is
    ``os.environ`` + ``extra_env``, then the manifest's env (``templateDefaults`` merged with the
    template's own, by name), then ``override_env``. ``secretKeyRef`` env entries take the value
    of the local environment variable of the same name (from that same stack).
    """
    check_supported(manifest)
    loaded = workflow_of(manifest)
    spec, sp = loaded.spec, loaded.spec_path
    project = Path(project_path)
    if not project.is_dir():
        raise LocalRunError(f"project path {str(project)!r} is not a directory")

    # -- parameters
    declared: dict[str, str | None] = {}
    enums: dict[str, list[str]] = {}
    for i, param in enumerate((spec.get("arguments") or {}).get("parameters") or []):
        name = param.get("name")
        if not isinstance(name, str):
            raise LocalRunError(f"'{sp}.arguments.parameters[{i}]' needs a name")
        value = param.get("value", param.get("default"))
        declared[name] = None if value is None else _as_str(value)
        if param.get("enum"):
            enums[name] = [_as_str(e) for e in param["enum"]]
    overrides = dict(parameters or {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        valid = ", ".join(declared) or "none: the workflow declares no parameters"
        raise LocalRunError(
            f"unknown workflow parameter{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(repr, unknown))}; valid names: {valid}"
        )
    values: dict[str, str] = {}
    for name, default in declared.items():
        value = _as_str(overrides[name]) if name in overrides else default
        if value is None:
            raise LocalRunError(
                f"workflow parameter {name!r} has no value in the manifest: pass one "
                f"(e.g. {name}=...)"
            )
        if name in enums and value not in enums[name]:
            raise LocalRunError(
                f"workflow parameter {name!r}: {value!r} is not one of {enums[name]}"
            )
        values[name] = value

    # -- workflow-level numbers
    parallelism = spec.get("parallelism")
    if parallelism is not None:
        parallelism = _int_value(parallelism, f"'{sp}.parallelism'", 1)
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None:
        deadline = float(_int_value(deadline, f"'{sp}.activeDeadlineSeconds'", 0))

    # -- globals
    now = now or datetime.now(timezone.utc)
    uid = workflow_uid or str(uuid.uuid4())
    name = workflow_name or _workflow_name(loaded, now)
    namespace = str(loaded.metadata.get("namespace") or "local")
    created = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    globals_ = {
        "workflow.uid": uid,
        "workflow.name": name,
        "workflow.namespace": namespace,
        "workflow.creationTimestamp": created,
        **{f"workflow.parameters.{k}": v for k, v in values.items()},
    }
    base_env = {**os.environ, **(extra_env or {})}
    override = dict(override_env or {})
    planner = _Planner(loaded, globals_, {**base_env, **override}, python_executable)
    workflow_args = dict(values)

    entrypoint = spec.get("entrypoint")
    if not entrypoint:
        raise LocalRunError(f"'{sp}.entrypoint' is not set")
    root = planner.build(entrypoint, "", workflow_args, (), False, (), f"'{sp}.entrypoint'")
    if isinstance(root, PlannedStep):
        root = dataclasses.replace(root, name=str(entrypoint))

    on_exit = spec.get("onExit")
    # Argo calls the exit handler's node "<workflow>.onExit"; keep step names (and log files)
    # unique should a task have that name too.
    taken = {s.name.split(".", 1)[0] for s in iter_steps(root)}
    exit_name = EXIT_HANDLER_NAME if EXIT_HANDLER_NAME not in taken else "onExit-handler"

    def build_exit(status: str, failures: str) -> PlannedNode | None:
        if not on_exit:
            return None
        planner.globals = {**globals_, "workflow.status": status, "workflow.failures": failures}
        try:
            return planner.build(on_exit, exit_name, workflow_args, (), True, (), f"'{sp}.onExit'")
        finally:
            planner.globals = globals_

    build_exit("Succeeded", "[]")  # refuse now, not after the DAG ran

    return LocalPlan(
        kind=loaded.kind,
        workflow_name=name,
        workflow_uid=uid,
        namespace=namespace,
        creation_timestamp=created,
        parameters=values,
        parallelism=parallelism,
        active_deadline_seconds=deadline,
        root=root,
        has_exit_handler=bool(on_exit),
        project_path=project,
        base_env=base_env,
        override_env=override,
        _exit_builder=build_exit,
    )
