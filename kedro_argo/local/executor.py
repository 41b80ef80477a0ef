"""Local mode: run a compiled Argo manifest on this machine, as Argo would run it.

The manifest is executed, not re-planned: each DAG task runs its template's
``container.command + container.args`` as its own process (an argument list, no shell), with

* cwd: the local project root (the manifest's ``workingDir`` is the pod's path);
* env: ``os.environ`` + ``extra_env``, then ``spec.templateDefaults.container.env`` merged by name
  with the template's ``container.env`` (the template wins), then ``override_env``;
  ``secretKeyRef`` entries read the local variable of the same name, or the run is refused;
* ``command[0]`` ``python``/``python3`` replaced by ``python_executable``;
* Argo variables resolved: ``{{workflow.uid|name|namespace|creationTimestamp}}``,
  ``{{workflow.parameters.X}}``, ``{{inputs.parameters.X}}`` and, in the exit handler,
  ``{{workflow.status}}`` and ``{{workflow.failures}}``; then Kubernetes ``$(VAR)`` expansion.

Scheduling follows Argo: a task starts once every task it ``depends`` on (names joined by
``&&``, or ``dependencies``) succeeded; at most ``parallelism`` processes run at once (``spec``
value, overridden by the argument, default ``os.cpu_count()``; a dag template's own
``parallelism`` limits its subtree). When a task fails for good, its dependents (transitively)
are *Omitted*, tasks already running finish, and, with ``failFast`` (Argo's default), no new task
of that dag starts. ``retryStrategy`` (see :class:`~kedro_argo.local.resolve.RetryPolicy`),
template ``timeout`` and ``activeDeadlineSeconds`` (both per attempt: the process group gets
SIGTERM, then SIGKILL after ``termination_grace`` seconds; the attempt fails and may be
retried) and ``spec.activeDeadlineSeconds`` (everything is stopped, the workflow Fails) are
honoured. ``spec.onExit`` runs after the DAG, whatever its outcome, and is exempt from the
workflow deadline; if it fails, the run fails. When a step's process exits, whatever it left
behind in its process group is killed, as a pod's end would.

Each step's output (stdout and stderr, every attempt, with separators) goes to
``<log_dir>/<step>.log``; the last lines of a failed step's log are in its record and in the
printed summary. A ``rich`` live table shows progress on a terminal. An ``on_progress``
callback (see :func:`run_workflow`) receives every step's :class:`StepRecord` whenever a step
changes state, e.g. to mirror the run elsewhere.

Refusals (unsupported fields, unresolvable variables, missing secrets, unknown parameters, ...)
raise :class:`~kedro_argo.errors.LocalRunError` before anything runs. A run whose steps fail
returns a :class:`LocalRunResult` with phase ``Failed`` (or ``Error``): the caller decides the
exit status. Ctrl-C stops every running step and re-raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import IO, Any, Union

from rich.console import Console

from kedro_argo import contract
from kedro_argo.durations import format_seconds
from kedro_argo.errors import LocalRunError
from kedro_argo.local.progress import ProgressView, make_console, print_summary
from kedro_argo.local.resolve import (
    LocalPlan,
    PlannedDag,
    PlannedNode,
    PlannedOutput,
    PlannedStep,
    plan_workflow,
)

__all__ = [
    "AttemptRecord",
    "LocalRunResult",
    "ProgressCallback",
    "StepPhase",
    "StepRecord",
    "StepResult",
    "WorkflowPhase",
    "execute_plan",
    "run_workflow",
]

TAIL_LINES = 30
_POSIX = os.name == "posix"


class StepPhase(str, Enum):
    """Phase of a step (and of one attempt), named as Argo names node phases."""

    PENDING = "Pending"
    RUNNING = "Running"
    RETRYING = "Retrying"  # waiting out a backoff before the next attempt
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERROR = "Error"  # the command could not be started
    OMITTED = "Omitted"  # not run: an upstream step failed, failFast, or the workflow stopped

    def __str__(self) -> str:
        return self.value


class WorkflowPhase(str, Enum):
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERROR = "Error"

    def __str__(self) -> str:
        return self.value


#: The message of a step a resumed run did not run again.
REUSED = "reused: it succeeded in the run being resumed"
_FINAL = frozenset({StepPhase.SUCCEEDED, StepPhase.FAILED, StepPhase.ERROR, StepPhase.OMITTED})
_BAD = frozenset({StepPhase.FAILED, StepPhase.ERROR, StepPhase.OMITTED})


@dataclass(frozen=True)
class AttemptRecord:
    number: int  # 1-based
    phase: StepPhase
    started_at: datetime
    finished_at: datetime | None
    duration: float | None  # seconds
    exit_code: int | None  # 128 + signal number when killed by a signal
    message: str = ""


@dataclass(frozen=True)
class StepResult:
    """An output of a step that succeeded: a parameter's value, or an artifact's file."""

    kind: str  # "parameters" or "artifacts"
    name: str
    value: str | None = None  # a parameter's
    path: Path | None = None  # an artifact's (in the run's log folder)


@dataclass(frozen=True)
class StepRecord:
    """What happened to one step (a DAG task running a container template)."""

    name: str  # task name; "outer.inner" inside a nested dag; "onExit" for the exit handler
    template: str
    phase: StepPhase
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    duration: float | None  # first attempt's start to last attempt's end, backoffs included
    exit_code: int | None  # of the last attempt
    log_path: Path | None
    message: str = ""
    exit_handler: bool = False
    attempt_history: tuple[AttemptRecord, ...] = ()
    log_tail: str | None = None  # last lines of the log, for a step that failed
    kedro_nodes: tuple[str, ...] = ()  # the Kedro nodes the step runs, when it is ours
    sweep_branch: str | None = None  # its branch label, in a sweep
    results: tuple[StepResult, ...] = ()  # its outputs, once it succeeded


ProgressCallback = Callable[[tuple[StepRecord, ...]], None]
"""``on_progress(records)``: the records of every step known so far (DAG steps in manifest
order, then the exit handler's once it is planned), without log tails except in the last call."""


@dataclass(frozen=True)
class LocalRunResult:
    phase: WorkflowPhase
    message: str
    workflow_name: str
    workflow_uid: str
    started_at: datetime
    finished_at: datetime
    duration: float
    steps: tuple[StepRecord, ...]  # DAG steps in manifest order, then the exit handler's
    log_dir: Path
    parallelism: int

    @property
    def succeeded(self) -> bool:
        return self.phase is WorkflowPhase.SUCCEEDED

    @property
    def failed_steps(self) -> tuple[StepRecord, ...]:
        return tuple(s for s in self.steps if s.phase in (StepPhase.FAILED, StepPhase.ERROR))

    def step(self, name: str) -> StepRecord:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)


# --------------------------------------------------------------------------- processes


class _Process:
    """A step attempt's process (leader of its own process group) and the thread reaping it."""

    def __init__(self, popen: subprocess.Popen[bytes], on_exit: Any) -> None:
        self.popen = popen
        self._lock = threading.Lock()
        self._reaped = False
        self._thread = threading.Thread(target=self._wait, args=(on_exit,), daemon=True)
        self._thread.start()

    def _wait(self, on_exit: Any) -> None:
        pid = self.popen.pid
        if _POSIX and hasattr(os, "waitid"):
            # Wait without reaping, so the group id cannot be reused while we kill leftovers.
            with contextlib.suppress(ChildProcessError):
                os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            with self._lock:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                rc = self.popen.wait()
                self._reaped = True
        else:
            rc = self.popen.wait()
            with self._lock:
                self._reaped = True
        on_exit(rc)

    def signal(self, kill: bool) -> None:
        with self._lock:
            if self._reaped:
                return
            if _POSIX:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.popen.pid, signal.SIGKILL if kill else signal.SIGTERM)
            elif kill:
                self.popen.kill()
            else:
                self.popen.terminate()


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _read_tail(path: Path, lines: int = TAIL_LINES) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


# --------------------------------------------------------------------------- state


@dataclass
class _Attempt:
    number: int
    started_at: datetime
    started: float  # monotonic
    deadline: float | None = None
    deadline_reason: str = ""
    process: _Process | None = None
    kill_reason: str = ""
    term_sent: float | None = None
    kill_sent: bool = False
    finished_at: datetime | None = None
    finished: float | None = None
    phase: StepPhase = StepPhase.RUNNING
    exit_code: int | None = None
    message: str = ""


@dataclass
class _Step:
    spec: PlannedStep
    parent: _Dag | None
    exit_handler: bool
    log_path: Path
    phase: StepPhase = StepPhase.PENDING
    attempts: list[_Attempt] = field(default_factory=list)
    message: str = ""
    ready_at: float | None = None  # monotonic time the next attempt may start (Retrying)
    results: tuple[StepResult, ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def results_dir(self) -> Path:
        """Where the step writes what the manifest reads under contract.RESULTS_DIR."""
        return self.log_path.with_name(self.log_path.stem + ".results")

    @property
    def depends(self) -> tuple[str, ...]:
        return self.spec.depends


@dataclass
class _Dag:
    spec: PlannedDag
    parent: _Dag | None
    children: list[_Step | _Dag] = field(default_factory=list)
    phase: StepPhase = StepPhase.PENDING
    message: str = ""
    running: int = 0  # processes running in this subtree
    stop_reason: str = ""  # set when failFast stops scheduling new tasks

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def depends(self) -> tuple[str, ...]:
        return self.spec.depends


_Node = Union[_Step, _Dag]  # noqa: UP007 (runtime alias on Python 3.10)


def _build(node: PlannedNode, parent: _Dag | None, exit_handler: bool, log_dir: Path) -> _Node:
    if isinstance(node, PlannedStep):
        return _Step(node, parent, exit_handler, log_dir / f"{node.name}.log")
    dag = _Dag(node, parent)
    dag.children = [_build(c, dag, exit_handler, log_dir) for c in node.children]
    return dag


def _leaves(node: _Node) -> list[_Step]:
    if isinstance(node, _Step):
        return [node]
    return [leaf for child in node.children for leaf in _leaves(child)]


# --------------------------------------------------------------------------- engine


class _Engine:
    def __init__(
        self,
        plan: LocalPlan,
        log_dir: Path,
        parallelism: int,
        termination_grace: float,
        on_progress: ProgressCallback | None = None,
        reuse: Collection[str] = (),
    ) -> None:
        self.plan = plan
        self.reuse = frozenset(reuse)
        self.log_dir = log_dir
        self.limit = parallelism
        self.grace = termination_grace
        self.events: queue.Queue[tuple[_Step, _Attempt, int]] = queue.Queue()
        self.lock = threading.Lock()  # guards state read by the progress view
        self.steps: list[_Step] = []
        self.running = 0
        self.abort_reason = ""
        self.on_progress = on_progress
        self._reported: tuple[Any, ...] | None = None

    # -- views

    def snapshot(self) -> list[StepRecord]:
        with self.lock:
            now = time.monotonic()
            return [self._record(s, now, tail=False) for s in self.steps]

    def _record(self, s: _Step, now: float, tail: bool) -> StepRecord:
        history = tuple(
            AttemptRecord(
                number=a.number,
                phase=a.phase,
                started_at=a.started_at,
                finished_at=a.finished_at,
                duration=None if a.finished is None else a.finished - a.started,
                exit_code=a.exit_code,
                message=a.message,
            )
            for a in s.attempts
        )
        first, last = (s.attempts[0], s.attempts[-1]) if s.attempts else (None, None)
        duration = None
        if first is not None:
            end = last.finished if (last and last.finished is not None) else now
            duration = (end if s.phase in _FINAL else now) - first.started
        message = s.message
        if s.phase is StepPhase.RETRYING and s.ready_at is not None:
            message = f"retry in {format_seconds(max(0.0, s.ready_at - now))}"
        return StepRecord(
            name=s.name,
            template=s.spec.template,
            phase=s.phase,
            attempts=len(s.attempts),
            started_at=first.started_at if first else None,
            finished_at=last.finished_at if (last and s.phase in _FINAL) else None,
            duration=duration,
            exit_code=last.exit_code if last else None,
            log_path=s.log_path if s.attempts else None,
            message=message,
            exit_handler=s.exit_handler,
            attempt_history=history,
            log_tail=_read_tail(s.log_path)
            if tail and s.phase in (StepPhase.FAILED, StepPhase.ERROR) and s.attempts
            else None,
            kedro_nodes=s.spec.kedro_nodes,
            sweep_branch=s.spec.sweep_branch,
            results=s.results,
        )

    def report(self) -> None:
        """Call ``on_progress`` if a step changed state since the last call (not under lock)."""
        if self.on_progress is None:
            return
        with self.lock:
            state = tuple(
                (s.name, s.phase, len(s.attempts), s.attempts[-1].phase if s.attempts else None)
                for s in self.steps
            )
            if state == self._reported:
                return
            self._reported = state
            now = time.monotonic()
            records = tuple(self._record(s, now, tail=False) for s in self.steps)
        self.on_progress(records)

    # -- running a tree

    def add_tree(self, node: PlannedNode, exit_handler: bool) -> _Node:
        tree = _build(node, None, exit_handler, self.log_dir)
        with self.lock:
            self.steps.extend(_leaves(tree))
        return tree

    def execute(self, tree: _Node, deadline: float | None) -> StepPhase:
        """Run ``tree`` to completion; ``deadline`` (monotonic) stops everything when reached."""
        self.abort_reason = ""
        tree.phase = StepPhase.RUNNING if isinstance(tree, _Dag) else StepPhase.PENDING
        try:
            while True:
                with self.lock:
                    self._settle(tree)
                    done = tree.phase in _FINAL
                    if not done:
                        now = time.monotonic()
                        wake = self._next_wakeup(now, deadline)
                        if wake is None and self.running == 0:
                            raise RuntimeError("local mode scheduler stalled (nothing can start)")
                self.report()
                if done:
                    return tree.phase
                timeout = None if wake is None else max(0.0, wake - now)
                try:
                    events = [self.events.get(timeout=timeout)]
                except queue.Empty:
                    events = []
                while True:
                    try:
                        events.append(self.events.get_nowait())
                    except queue.Empty:
                        break
                with self.lock:
                    for step, attempt, rc in events:
                        self._finished(step, attempt, rc)
                    self._check_deadlines(time.monotonic(), deadline)
        except BaseException:
            self._stop_all()
            raise

    def _settle(self, tree: _Node) -> None:
        if isinstance(tree, _Step):
            # the entrypoint itself is a container template
            self._advance_step(tree, None)
            return
        while self._advance(tree):
            pass

    def _advance(self, dag: _Dag) -> bool:
        changed = False
        by_name = {c.name.rsplit(".", 1)[-1]: c for c in dag.children}
        for child in dag.children:
            if child.phase is StepPhase.PENDING:
                deps = [by_name[d] for d in child.depends]
                bad = next((d for d in deps if d.phase in _BAD), None)
                if bad is not None:
                    word = "was omitted" if bad.phase is StepPhase.OMITTED else "failed"
                    self._omit(child, f"upstream {bad.name!r} {word}")
                    changed = True
                elif self.abort_reason:
                    self._omit(child, f"not started: {self.abort_reason}")
                    changed = True
                elif dag.stop_reason:
                    self._omit(child, f"not started: {dag.stop_reason}")
                    changed = True
                elif all(d.phase is StepPhase.SUCCEEDED for d in deps):
                    if isinstance(child, _Dag):
                        child.phase = StepPhase.RUNNING
                        changed = True
                    else:
                        changed |= self._advance_step(child, dag)
            elif child.phase is StepPhase.RETRYING and isinstance(child, _Step):
                changed |= self._advance_step(child, dag)
            if isinstance(child, _Dag) and child.phase is StepPhase.RUNNING:
                changed |= self._advance(child)
            failed = child.phase in (StepPhase.FAILED, StepPhase.ERROR)
            if failed and dag.spec.fail_fast and not dag.stop_reason:
                dag.stop_reason = f"failFast after {child.name!r} failed"
                changed = True
        if dag.phase is StepPhase.RUNNING and all(c.phase in _FINAL for c in dag.children):
            phases = {c.phase for c in dag.children}
            if StepPhase.FAILED in phases:
                dag.phase = StepPhase.FAILED
            elif StepPhase.ERROR in phases:
                dag.phase = StepPhase.ERROR
            elif StepPhase.OMITTED in phases:
                dag.phase = StepPhase.FAILED
            else:
                dag.phase = StepPhase.SUCCEEDED
            changed = True
        return changed

    def _advance_step(self, step: _Step, parent: _Dag | None) -> bool:
        if step.phase is StepPhase.RETRYING:
            if self.abort_reason:
                self._final(step, step.attempts[-1].phase, f"not retried: {self.abort_reason}")
                return True
            if step.ready_at is not None and time.monotonic() < step.ready_at:
                return False
        elif step.phase is not StepPhase.PENDING:
            return False
        if step.name in self.reuse and not step.exit_handler:
            if step.spec.outputs:  # what it showed then is still in its results folder
                with contextlib.suppress(LocalRunError):
                    step.results = _collect_outputs(step)
            self._final(step, StepPhase.SUCCEEDED, REUSED)
            return True
        if self.running >= self.limit:
            return False
        dag = parent
        while dag is not None:
            if dag.spec.parallelism is not None and dag.running >= dag.spec.parallelism:
                return False
            dag = dag.parent
        self._launch(step)
        return True

    def _omit(self, node: _Node, message: str) -> None:
        node.phase = StepPhase.OMITTED
        node.message = message
        if isinstance(node, _Dag):
            for child in node.children:
                if child.phase is StepPhase.PENDING:
                    self._omit(child, message)

    # -- attempts

    def _launch(self, step: _Step) -> None:
        spec = step.spec
        now = time.monotonic()
        number = len(step.attempts) + 1
        attempt = _Attempt(number=number, started_at=_now(), started=now)
        deadlines: list[tuple[float, str]] = []
        if spec.timeout is not None:
            deadlines.append((now + spec.timeout, f"timeout {format_seconds(spec.timeout)}"))
        if spec.active_deadline is not None:
            deadlines.append(
                (now + spec.active_deadline, f"activeDeadlineSeconds {spec.active_deadline:g}")
            )
        retry = spec.retry
        if retry and retry.max_duration is not None and step.attempts:
            deadlines.append(
                (
                    step.attempts[0].started + retry.max_duration,
                    f"retryStrategy.backoff.maxDuration {format_seconds(retry.max_duration)}",
                )
            )
        if deadlines:
            attempt.deadline, attempt.deadline_reason = min(deadlines)
        step.attempts.append(attempt)
        step.phase = StepPhase.RUNNING
        step.ready_at = None
        step.message = ""
        total = "" if retry is None or retry.limit is None else f"/{retry.limit + 1}"
        header = (
            f"===== attempt {number}{total} · {attempt.started_at.isoformat(timespec='seconds')}"
            f" =====\n$ {spec.command_line}\n"
        )
        try:
            log: IO[bytes] = step.log_path.open("wb" if number == 1 else "ab")
        except OSError as exc:
            raise LocalRunError(f"cannot write log {str(step.log_path)!r}: {exc}") from exc
        with log:
            log.write(header.encode())
            log.flush()
            try:
                popen = subprocess.Popen(  # an argument list from the manifest, no shell
                    list(spec.argv),
                    cwd=self.plan.project_path,
                    env=self._env(step),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=_POSIX,
                    creationflags=0 if _POSIX else subprocess.CREATE_NEW_PROCESS_GROUP,
                )
            except OSError as exc:
                reason = exc.strerror or str(exc)
                attempt.phase = StepPhase.ERROR
                attempt.message = f"cannot start {spec.argv[0]!r}: {reason}"
                log.write(f"{attempt.message}\n".encode())
                self._after_attempt(step, attempt)
                return
        self.running += 1
        self._count(step, +1)

        def on_exit(rc: int) -> None:
            self.events.put((step, attempt, rc))

        attempt.process = _Process(popen, on_exit)

    def _env(self, step: _Step) -> dict[str, str]:
        env = self.plan.step_env(step.spec)
        if step.spec.outputs:
            env[contract.RESULTS_DIR_ENV] = str(step.results_dir)
        return env

    def _count(self, step: _Step, delta: int) -> None:
        dag = step.parent
        while dag is not None:
            dag.running += delta
            dag = dag.parent

    def _finished(self, step: _Step, attempt: _Attempt, rc: int) -> None:
        self.running -= 1
        self._count(step, -1)
        attempt.exit_code = _exit_code(rc)
        if attempt.kill_reason:
            attempt.phase = StepPhase.FAILED
            attempt.message = f"killed: {attempt.kill_reason}"
        elif rc == 0:
            attempt.phase = StepPhase.SUCCEEDED
        else:
            attempt.phase = StepPhase.FAILED
            attempt.message = (
                f"killed by signal {-rc}" if rc < 0 else f"exit code {attempt.exit_code}"
            )
        self._after_attempt(step, attempt)

    def _after_attempt(self, step: _Step, attempt: _Attempt) -> None:
        now = time.monotonic()
        attempt.finished, attempt.finished_at = now, _now()
        with contextlib.suppress(OSError), step.log_path.open("ab") as log:
            log.write(
                f"===== attempt {attempt.number} {attempt.phase.value}"
                f"{': ' + attempt.message if attempt.message else ''}"
                f" ({format_seconds(now - attempt.started)}) =====\n".encode()
            )
        if attempt.phase is StepPhase.SUCCEEDED and step.spec.outputs:
            try:
                step.results = _collect_outputs(step)
            except LocalRunError as exc:  # as Argo: the pod ran, its outputs are missing
                attempt.phase, attempt.message = StepPhase.ERROR, str(exc)
        if attempt.phase is StepPhase.SUCCEEDED:
            self._final(step, StepPhase.SUCCEEDED, "")
            return
        retry = step.spec.retry
        why_not: str | None = None  # None: retry; else why not ("" needs no explanation)
        wait = 0.0
        if retry is None:
            why_not = ""
        elif self.abort_reason:
            why_not = f"not retried: {self.abort_reason}"
        elif retry.limit is not None and len(step.attempts) > retry.limit:
            why_not = "no retries left" if retry.limit else ""
        elif attempt.phase is StepPhase.ERROR and not retry.retries_errors():
            why_not = f"retryPolicy {retry.policy} does not retry errors"
        else:
            wait = retry.backoff_before(len(step.attempts))
            if retry.max_duration is not None:
                limit_at = step.attempts[0].started + retry.max_duration
                if now > limit_at:
                    why_not = "retryStrategy.backoff.maxDuration exceeded"
                elif now + wait > limit_at:
                    why_not = "backoff would exceed retryStrategy.backoff.maxDuration"
        if why_not is not None:
            self._final(step, attempt.phase, attempt.message + (f" ({why_not})" if why_not else ""))
            return
        step.phase = StepPhase.RETRYING
        step.ready_at = now + wait
        step.message = attempt.message

    def _final(self, step: _Step, phase: StepPhase, message: str) -> None:
        step.phase = phase
        step.message = message
        step.ready_at = None

    # -- deadlines

    def _next_wakeup(self, now: float, deadline: float | None) -> float | None:
        times: list[float] = []
        if deadline is not None and not self.abort_reason:
            times.append(deadline)
        for step in self.steps:
            if step.phase is StepPhase.RETRYING and step.ready_at is not None:
                if step.ready_at > now:  # once past, only a free slot (an exit event) matters
                    times.append(step.ready_at)
            elif step.phase is StepPhase.RUNNING and step.attempts:
                a = step.attempts[-1]
                if a.term_sent is None and a.deadline is not None:
                    times.append(a.deadline)
                elif a.term_sent is not None and not a.kill_sent:
                    times.append(a.term_sent + self.grace)
        return min(times) if times else None

    def _check_deadlines(self, now: float, deadline: float | None) -> None:
        if deadline is not None and now >= deadline and not self.abort_reason:
            seconds = self.plan.active_deadline_seconds or 0
            self.abort_reason = f"workflow exceeded activeDeadlineSeconds ({seconds:g}s)"
            for step in self.steps:
                if step.phase is StepPhase.RUNNING and step.attempts:
                    self._terminate(step.attempts[-1], self.abort_reason, now)
        for step in self.steps:
            if step.phase is not StepPhase.RUNNING or not step.attempts:
                continue
            a = step.attempts[-1]
            if a.term_sent is None and a.deadline is not None and now >= a.deadline:
                self._terminate(a, f"exceeded {a.deadline_reason}", now)
            elif a.term_sent is not None and not a.kill_sent and now >= a.term_sent + self.grace:
                a.kill_sent = True
                if a.process is not None:
                    a.process.signal(kill=True)

    def _terminate(self, attempt: _Attempt, reason: str, now: float) -> None:
        if attempt.term_sent is not None or attempt.process is None:
            return
        attempt.kill_reason = reason
        attempt.term_sent = now
        attempt.process.signal(kill=False)

    def _stop_all(self) -> None:
        """Ctrl-C or an internal error: terminate every running step, then kill what remains."""
        with self.lock:
            running = [
                s.attempts[-1] for s in self.steps if s.phase is StepPhase.RUNNING and s.attempts
            ]
            for a in running:
                if a.process is not None:
                    a.process.signal(kill=False)
        end = time.monotonic() + self.grace
        for a in running:
            if a.process is None:
                continue
            with contextlib.suppress(subprocess.TimeoutExpired):
                a.process.popen.wait(timeout=max(0.0, end - time.monotonic()))
            a.process.signal(kill=True)

    # -- results

    def records(self) -> tuple[StepRecord, ...]:
        with self.lock:
            now = time.monotonic()
            return tuple(self._record(s, now, tail=True) for s in self.steps)

    def failures_json(self) -> str:
        failures = [
            {
                "displayName": s.name,
                "message": s.message,
                "templateName": s.spec.template,
                "phase": s.phase.value,
                "podName": "",
                "finishedAt": s.attempts[-1].finished_at.strftime("%Y-%m-%dT%H:%M:%SZ")
                if s.attempts and s.attempts[-1].finished_at
                else None,
            }
            for s in self.steps
            if s.phase in (StepPhase.FAILED, StepPhase.ERROR)
        ]
        return json.dumps(failures, separators=(",", ":"))


# --------------------------------------------------------------------------- API


def _container_path(output: PlannedOutput, step: _Step) -> Path:
    """Where a local step wrote an output the manifest reads at ``output.path``."""
    root = contract.RESULTS_DIR.rstrip("/") + "/"
    if output.path.startswith(root):
        return step.results_dir / output.path[len(root) :]
    return Path(output.path)


def _collect_outputs(step: _Step) -> tuple[StepResult, ...]:
    """Read a succeeded step's outputs: a parameter's file (its default when missing), an
    artifact's file or folder (skipped when missing and optional)."""
    results: list[StepResult] = []
    for output in step.spec.outputs:
        path = _container_path(output, step)
        if output.kind == "parameters":
            try:
                value = path.read_text(encoding="utf-8")
            except OSError as exc:
                if output.default is None:
                    raise LocalRunError(
                        f"output parameter {output.name!r}: cannot read {output.path}: "
                        f"{exc.strerror or exc}"
                    ) from None
                value = output.default
            results.append(StepResult("parameters", output.name, value=value))
        elif path.exists():
            results.append(StepResult("artifacts", output.name, path=path))
        elif not output.optional:
            raise LocalRunError(f"output artifact {output.name!r}: {output.path} does not exist")
    return tuple(results)


def execute_plan(
    plan: LocalPlan,
    *,
    log_dir: str | Path,
    parallelism: int | None = None,
    console: Console | None = None,
    progress: bool | None = None,
    summary: bool = True,
    termination_grace: float = 5.0,
    on_progress: ProgressCallback | None = None,
    reuse: Collection[str] = (),
) -> LocalRunResult:
    """Run a plan from :func:`~kedro_argo.local.resolve.plan_workflow`; see :func:`run_workflow`.

    ``reuse``: names of steps that succeeded in the run being resumed (same workflow uid, so
    the same data): they are not run again and count as succeeded."""
    if parallelism is not None and parallelism < 1:
        raise LocalRunError(f"parallelism must be at least 1, got {parallelism}")
    limit = parallelism or plan.parallelism or os.cpu_count() or 1
    logs = Path(log_dir)
    try:
        logs.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LocalRunError(f"cannot create log directory {str(logs)!r}: {exc}") from exc
    console = console if console is not None else make_console()
    engine = _Engine(plan, logs, limit, termination_grace, on_progress, reuse)
    started_at, started = _now(), time.monotonic()
    main = engine.add_tree(plan.root, exit_handler=False)
    deadline = (
        None if plan.active_deadline_seconds is None else started + plan.active_deadline_seconds
    )
    title = f"{plan.workflow_name} (parallelism {limit})"
    with ProgressView(console, engine.snapshot, live=progress, title=title):
        phase = engine.execute(main, deadline)
        aborted = engine.abort_reason
        status = {
            StepPhase.SUCCEEDED: WorkflowPhase.SUCCEEDED,
            StepPhase.ERROR: WorkflowPhase.ERROR,
        }.get(phase, WorkflowPhase.FAILED)
        if aborted:
            status = WorkflowPhase.FAILED
        failed = [s for s in engine.steps if s.phase in (StepPhase.FAILED, StepPhase.ERROR)]
        if aborted:
            message = aborted
        elif failed:
            message = "; ".join(f"step {s.name!r} {s.phase.value.lower()}" for s in failed[:3])
            message += f" (+{len(failed) - 3} more)" if len(failed) > 3 else ""
        else:
            message = ""
        exit_node = plan.exit_handler(status.value, engine.failures_json())
        if exit_node is not None:
            exit_tree = engine.add_tree(exit_node, exit_handler=True)
            exit_phase = engine.execute(exit_tree, None)
            if exit_phase is not StepPhase.SUCCEEDED and status is WorkflowPhase.SUCCEEDED:
                status = (
                    WorkflowPhase.ERROR if exit_phase is StepPhase.ERROR else (WorkflowPhase.FAILED)
                )
                message = "the exit handler failed"
            elif exit_phase is not StepPhase.SUCCEEDED:
                message += "; the exit handler failed too"
    finished_at = _now()
    result = LocalRunResult(
        phase=status,
        message=message,
        workflow_name=plan.workflow_name,
        workflow_uid=plan.workflow_uid,
        started_at=started_at,
        finished_at=finished_at,
        duration=time.monotonic() - started,
        steps=engine.records(),
        log_dir=logs,
        parallelism=limit,
    )
    if on_progress is not None:
        on_progress(result.steps)
    if summary:
        print_summary(console, result)
    return result


def run_workflow(
    manifest: Mapping[str, Any],
    *,
    project_path: str | Path,
    log_dir: str | Path,
    parameters: Mapping[str, str] | None = None,
    parallelism: int | None = None,
    extra_env: Mapping[str, str] | None = None,
    override_env: Mapping[str, str] | None = None,
    python_executable: str = sys.executable,
    workflow_uid: str | None = None,
    workflow_name: str | None = None,
    console: Console | None = None,
    progress: bool | None = None,
    summary: bool = True,
    termination_grace: float = 5.0,
    on_progress: ProgressCallback | None = None,
) -> LocalRunResult:
    """Run a Workflow / WorkflowTemplate / CronWorkflow manifest (a dict) on this machine.

    Args:
        manifest: the manifest, e.g. from :func:`~kedro_argo.local.support.load_manifest`.
        project_path: the Kedro project root; every step runs there.
        log_dir: where ``<step>.log`` files go (created if missing).
        parameters: values for ``spec.arguments.parameters`` by name (unknown names refused).
        parallelism: most processes at once; default ``spec.parallelism``, else the CPU count.
        extra_env: added to ``os.environ``; the manifest's env overrides it.
        override_env: overrides the manifest's env (e.g. a local ``KEDRO_ARGO_DATA_ROOT``).
        python_executable: replaces a ``python``/``python3`` command.
        workflow_uid / workflow_name: values of ``{{workflow.uid}}`` / ``{{workflow.name}}``
            (default: a fresh uuid4 / the generated name Argo would give).
        console: a ``rich.console.Console`` for progress and the summary (default: stderr).
        progress: live progress table; ``None``: only when the console is a terminal.
        summary: print the summary table (and failed steps' log tails) at the end.
        termination_grace: seconds between SIGTERM and SIGKILL when a step is stopped.
        on_progress: called with every step's record (a tuple) whenever a step changes state
            (starts, finishes an attempt, waits to retry, is omitted), from the thread running
            the workflow and with no lock held; once more at the end with the final records
            (failed steps' log tails included). An exception it raises stops the running steps
            and propagates, as Ctrl-C would.

    Returns:
        The run's :class:`LocalRunResult`; its ``phase`` is ``Failed`` or ``Error`` when a step
        (or the exit handler) failed or the workflow deadline passed.

    Raises:
        LocalRunError: before anything runs, when the manifest uses a feature local mode cannot
            honour, a variable cannot be resolved, a secret or parameter value is missing, etc.
    """
    plan = plan_workflow(
        manifest,
        project_path=project_path,
        parameters=parameters,
        extra_env=extra_env,
        override_env=override_env,
        python_executable=python_executable,
        workflow_uid=workflow_uid,
        workflow_name=workflow_name,
    )
    return execute_plan(
        plan,
        log_dir=log_dir,
        parallelism=parallelism,
        console=console,
        progress=progress,
        summary=summary,
        termination_grace=termination_grace,
        on_progress=on_progress,
    )
