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
  ``templateName``, ``boundaryID`` = the DAG node): a ``Pod`` node, or, when the template has a
  ``retryStrategy``, a ``Retry`` node whose ``children`` are one ``Pod`` node per attempt
  (``<workflow>.<task>(0)``, ``(1)``, …); a step that never ran because of an upstream failure is
  a ``Skipped`` node in phase ``Omitted``;
* the exit handler as ``<workflow>.onExit``;
* a task of a nested DAG as ``<workflow>.<outer>.<inner>`` (the nested DAG's own node is not
  reported: the sample project has none);
* node ids as Argo makes them: ``<workflow>-<fnv32a(node name)>``.

Each attempt's output (local mode's ``<step>.log``, split at its attempt separators) is fed to
``update.log(pod, lines)`` when the attempt ends, under the pod name
:func:`kedro_argo.server.status.pod_name` gives for that node, so ``kedro argo logs --step`` and the
failure log tail of ``run-once --wait`` find it. Logs are fed before the workflow's final phase
is written, so a client that sees the final phase can read every log.

Stop / terminate requests are not honoured (the run goes on to its end).

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
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console

from kedro_argo.server.status import fnv32a, pod_name
from kedro_argo.errors import LocalRunError
from kedro_argo.local.executor import (
    AttemptRecord,
    LocalRunResult,
    StepPhase,
    StepRecord,
    execute_plan,
)
from kedro_argo.local.resolve import LocalPlan, PlannedStep, iter_steps, plan_workflow

from ..argo_server import WorkflowUpdater

__all__ = ["LocalModeExecutor", "split_attempts", "write_step_shim"]

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
        self.owner.data_root.mkdir(parents=True, exist_ok=True)
        self.update({"nodes": {self.name: self.dag_node(())}, "progress": "0/0"})
        result = execute_plan(
            plan,
            log_dir=self.owner.workdir / "logs" / self.name,
            parallelism=self.owner.parallelism,
            console=Console(file=io.StringIO(), width=200),
            progress=False,
            summary=False,
            termination_grace=1.0,
            on_progress=self.on_progress,
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

    def node_id(self, node_name: str) -> str:
        return self.name if node_name == self.name else f"{self.name}-{fnv32a(node_name)}"

    def base(self, node_name: str, display: str, template: str, exit_handler: bool) -> dict:
        node: dict[str, Any] = {
            "id": self.node_id(node_name),
            "name": node_name,
            "displayName": display,
            "templateName": template,
        }
        if not exit_handler:
            node["boundaryID"] = self.name
        return node

    def display(self, record: StepRecord) -> str:
        return self.node_name(record).rsplit(".", 1)[-1]

    def step_node(self, record: StepRecord) -> dict[str, Any]:
        display = self.display(record)
        node = self.base(self.node_name(record), display, record.template, record.exit_handler)
        phase = record.phase
        if phase is StepPhase.OMITTED:
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
        if record.exit_code is not None and phase not in _ACTIVE:
            node["outputs"] = {"exitCode": str(record.exit_code)}
        if self.retried(record):
            node["children"] = [self.attempt_node(record, a)["id"] for a in record.attempt_history]
        return node

    def attempt_node(self, record: StepRecord, attempt: AttemptRecord) -> dict[str, Any]:
        index = attempt.number - 1
        display = f"{self.display(record)}({index})"
        node = self.base(
            f"{self.node_name(record)}({index})", display, record.template, record.exit_handler
        )
        node.update(
            type="Pod",
            phase=attempt.phase.value,
            startedAt=_stamp(attempt.started_at),
            finishedAt=_stamp(attempt.finished_at),
            message=attempt.message or None,
        )
        if attempt.exit_code is not None:
            node["outputs"] = {"exitCode": str(attempt.exit_code)}
        return node

    def dag_node(self, records: Iterable[StepRecord]) -> dict[str, Any]:
        main = [r for r in records if not r.exit_handler]
        node = self.base(self.name, self.name, self.entrypoint, True)
        node.update(type="DAG", startedAt=self.started_at)
        node["children"] = [
            self.node_id(self.node_name(r))
            for r in main
            if r.attempts or r.phase is StepPhase.OMITTED
        ]
        if main and all(r.phase not in _ACTIVE for r in main):
            phases = {r.phase for r in main}
            if phases == {StepPhase.SUCCEEDED}:
                node["phase"] = "Succeeded"
            elif StepPhase.ERROR in phases and StepPhase.FAILED not in phases:
                node["phase"] = "Error"
            else:
                node["phase"] = "Failed"
            ends = [r.finished_at for r in main if r.finished_at is not None]
            node["finishedAt"] = _stamp(max(ends)) if ends else self.started_at
        else:
            node["phase"] = "Running"
        return node

    def nodes(self, records: tuple[StepRecord, ...]) -> dict[str, dict[str, Any]]:
        out = {self.name: self.dag_node(records)}
        for record in records:
            if not record.attempts and record.phase is not StepPhase.OMITTED:
                continue  # Argo creates a node once a task is scheduled
            node = self.step_node(record)
            out[node["id"]] = node
            if self.retried(record):
                for attempt in record.attempt_history:
                    child = self.attempt_node(record, attempt)
                    out[child["id"]] = child
        return out

    @staticmethod
    def progress(records: Iterable[StepRecord]) -> str:
        attempts = [a for r in records for a in r.attempt_history]
        done = sum(1 for a in attempts if a.finished_at is not None)
        return f"{done}/{len(attempts)}"


# --------------------------------------------------------------------------- a fast step


def write_step_shim(directory: Path, *, fail: Iterable[str] = ()) -> Path:
    """An executable standing in for ``python`` in ``python -m kedro_argo step …``.

    It prints which Kedro nodes it "runs" (``--nodes``; the exit handler has none) and exits
    0, or, for a step whose ``--nodes`` value is in ``fail``, prints
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
        '  if [ "$prev" = "--nodes" ]; then nodes="$arg"; fi',
        '  prev="$arg"',
        "done",
        'echo "shim: running ${nodes:-the exit handler} (status ${KEDRO_ARGO_WORKFLOW_STATUS:-})"',
    ]
    for name in fail:
        lines += [
            f'if [ "$nodes" = "{name}" ]; then',
            '  echo "ValueError: $nodes exploded"',
            "  exit 1",
            "fi",
        ]
    lines.append('echo "shim: done ${nodes:-the exit handler}"')
    path.write_text("\n".join(lines) + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path
