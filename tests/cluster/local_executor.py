"""An executor for :class:`~tests.argo_server.StubArgoServer` that really runs what was submitted.

:class:`LocalModeExecutor` runs a submitted Workflow with kedro-argo's local mode
(:func:`~kedro_argo.local.resolve.plan_workflow` + :func:`~kedro_argo.local.executor.execute_plan`)
in a given project copy, with ``KEDRO_ARGO_DATA_ROOT`` pointing at a scratch folder and
``{{workflow.name}}`` / ``{{workflow.uid}}`` / ``{{workflow.creationTimestamp}}`` taken from the
stored workflow's metadata. As steps progress it reports Argo-shaped status, the way the
controller of Argo v3.4+ / v4 writes it:

* the workflow: ``phase`` (Running, then Succeeded / Failed / Error), ``startedAt``,
  ``finishedAt``, ``message``, ``progress`` (``done/total`` pods);
* a ``DAG`` node for the entrypoint: id and name = the workflow name;
* one node per step, named ``<workflow>.<task>`` (``displayName`` = the task,
  ``templateName``, ``boundaryID`` = the enclosing DAG node, ``inputs.parameters`` = the
  template's inputs as resolved for this task, e.g. ``[{name: nodes, value: "a,b"}]``): a
  ``Pod`` node, or, when the template has a ``retryStrategy``, a ``Retry`` node whose
  ``children`` are one ``Pod`` node per attempt (``<workflow>.<task>(0)``, ``(1)``, …, each with
  the same inputs); a step that never ran because of an upstream failure is a ``Skipped`` node
  in phase ``Omitted``, with no inputs (Argo resolves inputs only for what it runs);
* a task of a nested DAG as ``<workflow>.<outer>.<inner>`` (``displayName`` = the inner task,
  ``boundaryID`` = the nested DAG's node), and the nested DAG task itself as a ``DAG`` node
  ``<workflow>.<outer>`` whose ``children`` are its tasks' nodes; a nested DAG omitted as a
  whole is one ``Skipped`` node (Argo creates no nodes inside it);
* the exit handler as ``<workflow>.onExit``;
* a step's results (``outputs.parameters`` with their values, ``outputs.artifacts`` as if
  stored in a default S3 repository) once it succeeded;
* node ids as Argo makes them: ``<workflow>-<fnv32a(node name)>``.

Each attempt's output (local mode's ``<step>.log``, split at its attempt separators) is fed to
``update.log(pod, lines)`` when the attempt ends, under the pod name
:func:`kedro_argo.server.status.pod_name` gives for that node, so ``kedro argo logs --step`` and the
failure log tail of ``run-once --wait`` find it. Logs are fed before the workflow's final phase
is written, so a client that sees the final phase can read every log.

Stop / terminate requests are not honoured (the run goes on to its end). A retried workflow
(``PUT …/retry``) runs again with the steps whose Pod nodes the stand-in kept (Succeeded) not
run a second time, as Argo's controller does.

:func:`write_step_shim` writes a stand-in for ``python -m kedro_argo step …`` that answers in
milliseconds, for tests about the commands rather than about Kedro.
"""

from __future__ import annotations

import io
import re
import stat
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console

from kedro_argo.errors import LocalRunError
from kedro_argo.local.executor import (
    AttemptRecord,
    LocalRunResult,
    StepPhase,
    StepRecord,
    execute_plan,
)
from kedro_argo.local.resolve import LocalPlan, PlannedStep, iter_steps, plan_workflow
from kedro_argo.local.variables import Scope, substitute
from kedro_argo.server.status import fnv32a, pod_name

from ..argo_server import WorkflowUpdater

__all__ = ["ArgoTask", "LocalModeExecutor", "argo_tasks", "split_attempts", "write_step_shim"]

_ATTEMPT_START = re.compile(r"^===== attempt (\d+)(?:/\d+)? · ")
_ATTEMPT_END = re.compile(r"^===== attempt \d+ [A-Z][a-z]+")
_ACTIVE = (StepPhase.RUNNING, StepPhase.RETRYING, StepPhase.PENDING)


def _stamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_stamp(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def split_attempts(text: str) -> dict[int, list[str]]:
    """A local-mode step log → the lines each attempt printed (separator lines dropped)."""
    out: dict[int, list[str]] = {}
    current: list[str] | None = None
    skip_command = False
    for line in text.splitlines():
        start = _ATTEMPT_START.match(line)
        if start:
            current = out.setdefault(int(start.group(1)), [])
            skip_command = True  # the next line is local mode's "$ <command line>"
            continue
        if skip_command and line.startswith("$ "):
            skip_command = False
            continue
        skip_command = False
        if _ATTEMPT_END.match(line) or current is None:
            continue
        current.append(line)
    return out


class LocalModeExecutor:
    """``executor(workflow, update)`` for the stand-in server: run it in ``project`` locally.

    ``workdir`` receives intermediate data (``<workdir>/data``) and step logs
    (``<workdir>/logs/<workflow>``). ``python_executable`` replaces the manifest's ``python``
    (e.g. a shim from :func:`write_step_shim`). ``results`` maps workflow names to their
    :class:`~kedro_argo.local.executor.LocalRunResult`; ``errors`` to the local-mode refusal.
    """

    def __init__(
        self,
        project: Path,
        workdir: Path,
        *,
        python_executable: str = sys.executable,
        parallelism: int | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.project = Path(project)
        self.workdir = Path(workdir)
        self.python_executable = python_executable
        self.parallelism = parallelism
        self.extra_env = dict(extra_env or {})
        self.results: dict[str, LocalRunResult] = {}
        self.errors: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def data_root(self) -> Path:
        return self.workdir / "data"

    def __call__(self, workflow: dict[str, Any], update: WorkflowUpdater) -> None:
        _Run(self, workflow, update).run()


@dataclass(frozen=True)
class ArgoTask:
    """A DAG task (or the entrypoint / exit handler) as Argo's controller names and sees it."""

    node_name: str  # <workflow>.<task>, <workflow>.<outer>.<inner>, <workflow>.onExit
    display: str
    template: str
    boundary: str | None  # node name of the enclosing DAG node (None: top level)
    inputs: tuple[dict[str, str], ...] = ()  # the template's input parameters, resolved
    children: tuple[str, ...] | None = None  # a DAG: the node names of its tasks


def argo_tasks(
    spec: Mapping[str, Any], workflow_name: str, globals_: Mapping[str, str]
) -> dict[str, ArgoTask]:
    """Every task of the workflow (the entrypoint's DAG, nested DAGs, the exit handler) by
    Argo node name, with its template's inputs resolved from the task's arguments."""
    templates = {t.get("name"): t for t in spec.get("templates") or []}
    found: dict[str, ArgoTask] = {}

    def resolve(text: Any, scope: Scope, where: str) -> str:
        try:
            return substitute(str(text), scope, where)
        except LocalRunError:  # e.g. {{workflow.status}} before the run ended: shown as written
            return str(text)

    def visit(
        template_name: str,
        node_name: str,
        display: str,
        boundary: str | None,
        args: Mapping[str, str],
        exit_handler: bool,
    ) -> None:
        tmpl = templates.get(template_name) or {}
        scope = Scope(globals_, {}, exit_handler)
        inputs: list[dict[str, str]] = []
        values: dict[str, str] = {}
        for param in (tmpl.get("inputs") or {}).get("parameters") or []:
            pname = param.get("name")
            entry = {"name": pname}
            if param.get("default") is not None:
                entry["default"] = resolve(param["default"], scope, node_name)
            if pname in args:
                entry["value"] = args[pname]
            elif param.get("value") is not None:
                entry["value"] = resolve(param["value"], scope, node_name)
            elif "default" in entry:
                entry["value"] = entry["default"]
            if "value" in entry:
                values[pname] = entry["value"]
            inputs.append(entry)
        children: list[str] | None = None
        if "dag" in tmpl:
            inner = Scope(globals_, values, exit_handler)
            children = []
            for task in (tmpl.get("dag") or {}).get("tasks") or []:
                child = f"{node_name}.{task['name']}"
                task_args = {
                    p["name"]: resolve(p.get("value", ""), inner, child)
                    for p in (task.get("arguments") or {}).get("parameters") or []
                }
                children.append(child)
                visit(task.get("template"), child, task["name"], node_name, task_args, exit_handler)
        found[node_name] = ArgoTask(
            node_name,
            display,
            template_name,
            boundary,
            tuple(inputs),
            None if children is None else tuple(children),
        )

    parameters = {
        key[len("workflow.parameters.") :]: value
        for key, value in globals_.items()
        if key.startswith("workflow.parameters.")
    }
    visit(spec.get("entrypoint") or "", workflow_name, workflow_name, None, parameters, False)
    if spec.get("onExit"):
        visit(spec["onExit"], f"{workflow_name}.onExit", "onExit", None, {}, True)
    return found


class _Run:
    def __init__(
        self, owner: LocalModeExecutor, workflow: dict[str, Any], update: WorkflowUpdater
    ) -> None:
        self.owner = owner
        self.workflow = workflow
        self.update = update
        metadata = workflow["metadata"]
        self.name: str = metadata["name"]
        self.uid: str = metadata["uid"]
        self.created = _parse_stamp(metadata.get("creationTimestamp"))
        self.entrypoint = (workflow.get("spec") or {}).get("entrypoint") or ""
        self.started_at = _stamp(datetime.now(timezone.utc))
        self.steps: dict[str, PlannedStep] = {}
        self.tasks: dict[str, ArgoTask] = {}
        self.fed: set[tuple[str, int]] = set()

    # -- the run

    def run(self) -> None:
        self.update({"phase": "Running", "startedAt": self.started_at, "message": None})
        try:
            plan = plan_workflow(
                self.workflow,
                project_path=self.owner.project,
                extra_env=self.owner.extra_env,
                override_env={"KEDRO_ARGO_DATA_ROOT": str(self.owner.data_root)},
                python_executable=self.owner.python_executable,
                workflow_uid=self.uid,
                workflow_name=self.name,
                now=self.created,
            )
        except LocalRunError as exc:
            with self.owner._lock:
                self.owner.errors[self.name] = str(exc)
            self.update(
                {
                    "phase": "Error",
                    "finishedAt": _stamp(datetime.now(timezone.utc)),
                    "message": f"local mode cannot run it: {exc}",
                }
            )
            return
        self.remember_steps(plan)
        # A retried workflow keeps the Pod nodes that succeeded (Argo's retry): not run again.
        kept = ((self.workflow.get("status") or {}).get("nodes") or {}).values()
        reuse = {
            re.sub(r"\(\d+\)$", "", n["name"])[len(self.name) + 1 :]
            for n in kept
            if n.get("type") == "Pod" and n.get("phase") == "Succeeded"
        }
        self.owner.data_root.mkdir(parents=True, exist_ok=True)
        self.update({"nodes": self.nodes(()), "progress": "0/0"})
        result = execute_plan(
            plan,
            log_dir=self.owner.workdir / "logs" / self.name,
            parallelism=self.owner.parallelism,
            console=Console(file=io.StringIO(), width=200),
            progress=False,
            summary=False,
            termination_grace=1.0,
            on_progress=self.on_progress,
            reuse=reuse,
        )
        with self.owner._lock:
            self.owner.results[self.name] = result
        # on_progress already saw the final records (and fed every log): now the phase.
        self.update(
            {
                "phase": result.phase.value,
                "finishedAt": _stamp(result.finished_at),
                "message": result.message or None,
                "nodes": self.nodes(result.steps),
                "progress": self.progress(result.steps),
            }
        )

    def remember_steps(self, plan: LocalPlan) -> None:
        self.steps = {s.name: s for s in plan.steps}
        exit_tree = plan.exit_handler("Succeeded")
        self.steps.update({s.name: s for s in iter_steps(exit_tree)})
        globals_ = {
            "workflow.name": plan.workflow_name,
            "workflow.uid": plan.workflow_uid,
            "workflow.namespace": plan.namespace,
            "workflow.creationTimestamp": plan.creation_timestamp,
            **{f"workflow.parameters.{k}": v for k, v in plan.parameters.items()},
        }
        self.tasks = argo_tasks(self.workflow.get("spec") or {}, self.name, globals_)

    def on_progress(self, records: tuple[StepRecord, ...]) -> None:
        self.feed_logs(records)
        self.update({"nodes": self.nodes(records), "progress": self.progress(records)})

    # -- logs

    def feed_logs(self, records: Iterable[StepRecord]) -> None:
        for record in records:
            finished = [a for a in record.attempt_history if a.finished_at is not None]
            todo = [a for a in finished if (record.name, a.number) not in self.fed]
            if not todo or record.log_path is None:
                continue
            try:
                text = record.log_path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            sections = split_attempts(text)
            for attempt in todo:
                self.fed.add((record.name, attempt.number))
                lines = sections.get(attempt.number, [])
                if lines:
                    self.update.log(self.attempt_pod(record, attempt), lines)

    def attempt_pod(self, record: StepRecord, attempt: AttemptRecord) -> str:
        if self.retried(record):
            return pod_name(self.name, self.attempt_node(record, attempt))
        return pod_name(self.name, self.step_node(record))

    # -- Argo-shaped status

    def retried(self, record: StepRecord) -> bool:
        spec = self.steps.get(record.name)
        return spec is not None and spec.retry is not None

    def node_name(self, record: StepRecord) -> str:
        if record.exit_handler:  # Argo calls it onExit even when local mode had to rename it
            _, dot, rest = record.name.partition(".")
            return f"{self.name}.onExit{dot}{rest}"
        return f"{self.name}.{record.name}"

    def task(self, record: StepRecord) -> ArgoTask:
        name = self.node_name(record)
        found = self.tasks.get(name)
        if found is not None:
            return found
        parent = name.rsplit(".", 1)[0]
        boundary = parent if parent in self.tasks else (None if record.exit_handler else self.name)
        return ArgoTask(name, name.rsplit(".", 1)[-1], record.template, boundary)

    def node_id(self, node_name: str) -> str:
        return self.name if node_name == self.name else f"{self.name}-{fnv32a(node_name)}"

    def base(self, task: ArgoTask, display: str | None = None, suffix: str = "") -> dict:
        node_name = task.node_name + suffix
        node: dict[str, Any] = {
            "id": self.node_id(node_name),
            "name": node_name,
            "displayName": display or task.display,
            "templateName": task.template,
        }
        if task.boundary is not None:
            node["boundaryID"] = self.node_id(task.boundary)
        return node

    @staticmethod
    def with_inputs(node: dict[str, Any], task: ArgoTask) -> dict[str, Any]:
        if task.inputs:
            node["inputs"] = {"parameters": [dict(p) for p in task.inputs]}
        return node

    def step_node(self, record: StepRecord) -> dict[str, Any]:
        task = self.task(record)
        node = self.base(task)
        node["templateName"] = record.template
        phase = record.phase
        if phase is StepPhase.OMITTED:  # Argo resolves no inputs for what it does not run
            node.update(type="Skipped", phase="Omitted", message=record.message or None)
            node.update(startedAt=self.started_at, finishedAt=self.started_at)
            return node
        node.update(
            type="Retry" if self.retried(record) else "Pod",
            phase="Running" if phase in _ACTIVE else phase.value,
            startedAt=_stamp(record.started_at),
            finishedAt=_stamp(record.finished_at),
            message=record.message or None,
        )
        self.with_inputs(node, task)
        if record.exit_code is not None and phase not in _ACTIVE:
            node["outputs"] = {"exitCode": str(record.exit_code), **self.results(record, node)}
        if self.retried(record):
            node["children"] = [self.attempt_node(record, a)["id"] for a in record.attempt_history]
        return node

    def results(self, record: StepRecord, node: Mapping[str, Any]) -> dict[str, Any]:
        """A succeeded step's outputs as Argo reports them: parameters with their values,
        artifacts as saved to a default S3 repository (key ``<workflow>/<pod>/<name>``)."""
        out: dict[str, Any] = {}
        parameters = [
            {"name": r.name, "value": r.value} for r in record.results if r.kind == "parameters"
        ]
        artifacts = [
            {
                "name": r.name,
                "path": f"/tmp/kedro-argo/results/artifacts/{r.name}",
                "s3": {"key": f"{self.name}/{pod_name(self.name, node)}/{r.name}"},
            }
            for r in record.results
            if r.kind == "artifacts"
        ]
        if parameters:
            out["parameters"] = parameters
        if artifacts:
            out["artifacts"] = artifacts
        return out

    def attempt_node(self, record: StepRecord, attempt: AttemptRecord) -> dict[str, Any]:
        task = self.task(record)
        index = attempt.number - 1
        node = self.base(task, f"{task.display}({index})", f"({index})")
        node.update(
            templateName=record.template,
            type="Pod",
            phase=attempt.phase.value,
            startedAt=_stamp(attempt.started_at),
            finishedAt=_stamp(attempt.finished_at),
            message=attempt.message or None,
        )
        self.with_inputs(node, task)
        if attempt.exit_code is not None:
            node["outputs"] = {"exitCode": str(attempt.exit_code)}
        return node

    def dag_node(self, task: ArgoTask, under: list[StepRecord]) -> dict[str, Any]:
        """A DAG node: the entrypoint's (id = the workflow name) or a nested DAG task's."""
        node = self.base(task)
        started = [r.started_at for r in under if r.started_at is not None]
        root = task.node_name == self.name
        node.update(
            type="DAG",
            startedAt=self.started_at if root or not started else _stamp(min(started)),
        )
        self.with_inputs(node, task)
        if under and all(r.phase not in _ACTIVE for r in under):
            phases = {r.phase for r in under}
            if phases == {StepPhase.SUCCEEDED}:
                node["phase"] = "Succeeded"
            elif StepPhase.ERROR in phases and StepPhase.FAILED not in phases:
                node["phase"] = "Error"
            else:
                node["phase"] = "Failed"
            ends = [r.finished_at for r in under if r.finished_at is not None]
            node["finishedAt"] = _stamp(max(ends)) if ends else self.started_at
        else:
            node["phase"] = "Running"
        return node

    def ancestors(self, task: ArgoTask) -> list[str]:
        chain, boundary = [], task.boundary
        while boundary is not None:
            chain.append(boundary)
            parent = self.tasks.get(boundary)
            boundary = parent.boundary if parent is not None else None
        return chain

    def nodes(self, records: Iterable[StepRecord]) -> dict[str, dict[str, Any]]:
        records = list(records)
        tasks = {self.node_name(r): self.task(r) for r in records}
        under: dict[str, list[StepRecord]] = {}
        for record in records:
            for dag in self.ancestors(tasks[self.node_name(record)]):
                under.setdefault(dag, []).append(record)
        # A nested DAG none of whose steps ran, omitted as a whole, is one Skipped node.
        skipped = {
            name
            for name, task in self.tasks.items()
            if task.children is not None
            and task.boundary is not None
            and under.get(name)
            and all(not r.attempts and r.phase is StepPhase.OMITTED for r in under[name])
        }
        out: dict[str, dict[str, Any]] = {}
        for name, task in self.tasks.items():
            if task.children is None or any(a in skipped for a in self.ancestors(task)):
                continue
            if name in skipped:
                first = under[name][0]
                node = self.base(task)
                node.update(type="Skipped", phase="Omitted", message=first.message or None)
                node.update(startedAt=self.started_at, finishedAt=self.started_at)
            elif name == self.name or any(r.attempts for r in under.get(name, ())):
                node = self.dag_node(task, under.get(name, []))
            else:
                continue  # Argo creates a node once a task is scheduled
            out[node["id"]] = node
        for record in records:
            task = tasks[self.node_name(record)]
            if any(a in skipped for a in self.ancestors(task)):
                continue
            if not record.attempts and record.phase is not StepPhase.OMITTED:
                continue  # Argo creates a node once a task is scheduled
            node = self.step_node(record)
            out[node["id"]] = node
            if self.retried(record):
                for attempt in record.attempt_history:
                    child = self.attempt_node(record, attempt)
                    out[child["id"]] = child
        for name, task in self.tasks.items():
            node = out.get(self.node_id(name))
            if node is not None and node["type"] == "DAG":
                node["children"] = [
                    self.node_id(c) for c in task.children or () if self.node_id(c) in out
                ]
        return out

    @staticmethod
    def progress(records: Iterable[StepRecord]) -> str:
        attempts = [a for r in records for a in r.attempt_history]
        done = sum(1 for a in attempts if a.finished_at is not None)
        return f"{done}/{len(attempts)}"


# --------------------------------------------------------------------------- a fast step


def write_step_shim(directory: Path, *, fail: Iterable[str] = ()) -> Path:
    """An executable standing in for ``python`` in ``python -m kedro_argo step …``.

    It prints which Kedro nodes it "runs" (``--nodes=a,b``; the exit handler has none) and
    exits 0, or, for a step running a Kedro node named in ``fail``, prints
    ``ValueError: <nodes> exploded`` and exits 1.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "step-shim"
    lines = [
        "#!/bin/sh",
        "# stands in for `python -m kedro_argo step ...` (tests/cluster/local_executor.py)",
        'nodes=""',
        'prev=""',
        'for arg in "$@"; do',
        '  case "$arg" in --nodes=*) nodes="${arg#--nodes=}" ;; esac',
        '  if [ "$prev" = "--nodes" ]; then nodes="$arg"; fi',
        '  prev="$arg"',
        "done",
        'echo "shim: running ${nodes:-the exit handler} (status ${KEDRO_ARGO_WORKFLOW_STATUS:-})"',
    ]
    for name in fail:
        lines += [
            f'case ",$nodes," in *,{name},*)',
            '  echo "ValueError: $nodes exploded"',
            "  exit 1 ;;",
            "esac",
        ]
    lines.append('echo "shim: done ${nodes:-the exit handler}"')
    path.write_text("\n".join(lines) + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path
