"""``kedro argo run-local``: compile (or read) a manifest and execute it on this machine.

Intermediate data goes to ``data.local_root`` (default ``.kedro-argo/data`` inside the
project, git-ignored by a ``.gitignore`` this module writes) unless ``--data-root`` says
otherwise, so a first run needs no server. Logs go to ``.kedro-argo/logs/<workflow>/`` unless
the request names another log root (:mod:`kedro_argo.testing` keeps both out of the project).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from kedro_argo.contract import DATA_ROOT_ENV
from kedro_argo.errors import LocalRunError
from kedro_argo.local.records import RunRecord, find_record, write_record

STATE_DIR = ".kedro-argo"


@dataclass(frozen=True)
class LocalRequest:
    project_path: Path
    pipeline: str = "__default__"
    env: str | None = None
    runtime_params: Mapping[str, Any] = field(default_factory=dict)
    manifest_path: Path | None = None
    parallelism: int | None = None
    data_root: str | None = None
    arguments: Mapping[str, str] = field(default_factory=dict)
    progress: bool | None = None
    group_by: str | None = None  # --group-by; None: argo.yml's grouping
    log_root: Path | None = None  # logs in <log_root>/<workflow>/; None: .kedro-argo/logs
    created_at: datetime | None = None  # {{workflow.creationTimestamp}}; None: now
    sweeps: Mapping[str, Any] | None = None  # --sweep; None: argo.yml's sweeps
    max_parallel: int | None = None  # --max-parallel
    skip_unchanged: bool | None = None  # --skip-unchanged; None: argo.yml's memoize.enabled
    resume: str | None = None  # --resume: the workflow name or uid of an earlier local run


def build_request(request: LocalRequest) -> Any:
    """The compile request of a local run (a :class:`~kedro_argo.compiler.build.BuildRequest`)."""
    from kedro_argo.compiler.build import BuildRequest

    return BuildRequest(
        project_path=request.project_path,
        pipeline=request.pipeline,
        env=request.env,
        runtime_params=request.runtime_params,
        group_by=request.group_by,
        for_local=True,
        sweeps=request.sweeps,
        max_parallel=request.max_parallel,
        skip_unchanged=request.skip_unchanged,
    )


def resolve_data_root(project_path: Path, configured: str) -> str:
    """An object-store URL as is; a relative folder under the project, made absolute. A path
    that is (or lies under) an existing file is refused before any step starts."""
    if "://" in configured:
        return configured.rstrip("/")
    path = Path(configured)
    resolved = path if path.is_absolute() else (project_path / path).resolve()
    for candidate in (resolved, *resolved.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise LocalRunError(
                    f"Data root {configured} is not a folder ({candidate} is a file): give "
                    "--data-root a folder (created if missing) or an s3:// / gs:// URL."
                )
            break
    return str(resolved)


def ensure_ignored(project_path: Path) -> None:
    """Keep local-mode state out of git without touching the user's own .gitignore."""
    state = project_path / STATE_DIR
    state.mkdir(exist_ok=True)
    ignore = state / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# written by kedro-argo: local-mode data and logs\n*\n")


def run_local(
    request: LocalRequest, console: Any = None, notify: Callable[[str], None] | None = None
) -> Any:
    """Run the workflow; returns the executor's LocalRunResult (phase, steps, log paths)."""
    from kedro_argo.compiler.build import build_manifest
    from kedro_argo.compiler.project import load_argo_config
    from kedro_argo.local.executor import execute_plan
    from kedro_argo.local.resolve import plan_workflow
    from kedro_argo.local.support import load_manifest

    root = request.project_path
    state = (root / STATE_DIR).resolve()
    log_root = request.log_root if request.log_root is not None else state / "logs"
    previous: RunRecord | None = None
    if request.resume is not None:
        _, previous = find_record(log_root, request.resume)
        if previous.phase == "Succeeded":
            raise LocalRunError(
                f"Local run {previous.workflow_name} succeeded: there is nothing to resume."
            )
        manifest, data_root = dict(previous.manifest), previous.data_root
        arguments: Mapping[str, str] = previous.parameters
    elif request.manifest_path is not None:
        manifest = load_manifest(request.manifest_path)
        config = load_argo_config(root, env=request.env)
        data_root = resolve_data_root(root, request.data_root or config.data.local_root)
        arguments = request.arguments
    else:
        built = build_manifest(build_request(request))
        manifest, config = built.manifest, built.facts.config
        for note in built.notes:
            if notify is not None:
                notify(note)
        data_root = resolve_data_root(root, request.data_root or config.data.local_root)
        arguments = request.arguments
    plan = plan_workflow(
        manifest,
        project_path=root,
        parameters=dict(arguments),
        override_env={DATA_ROOT_ENV: data_root},
        python_executable=sys.executable,
        workflow_uid=previous.workflow_uid if previous else None,
        workflow_name=previous.workflow_name if previous else None,
        now=_created(previous) if previous else request.created_at,
    )
    if request.log_root is None or Path(data_root).resolve().is_relative_to(state):
        ensure_ignored(root)  # only once the run is sure to start: a refusal writes nothing
    log_dir = log_root / plan.workflow_name
    record = RunRecord(
        workflow_name=plan.workflow_name,
        workflow_uid=plan.workflow_uid,
        creation_timestamp=plan.creation_timestamp,
        parameters=dict(plan.parameters),
        data_root=data_root,
        manifest=manifest,
        steps=dict(previous.steps) if previous else {},
    )
    if previous is not None:
        keep_earlier_logs(log_dir, previous.succeeded_steps())
    write_record(log_dir, record)
    latest: list[Any] = []
    result = None
    try:
        try:
            result = execute_plan(
                plan,
                log_dir=log_dir,
                parallelism=request.parallelism,
                console=console,
                progress=request.progress,
                on_progress=latest.append,
                reuse=previous.succeeded_steps() if previous else (),
            )
        except KeyboardInterrupt:
            raise RunInterrupted(plan.workflow_name) from None
    finally:
        # also when interrupted: what finished is known, a resume starts from there
        steps = dict(record.steps)
        for step in latest[-1] if latest else ():
            if not step.exit_handler and step.phase.value in _ENDED:
                steps[step.name] = step.phase.value
        phase = result.phase.value if result is not None else "Interrupted"
        write_record(log_dir, replace(record, steps=steps, phase=phase))
    return result


def keep_earlier_logs(log_dir: Path, reused: frozenset[str]) -> None:
    """Before a resume: the log of each step that runs again moves to ``<step>.log.<n>``
    (1 for the first run, 2 after a first resume, ...), so what failed stays readable."""
    for log in sorted(log_dir.glob("*.log")):
        if log.stem in reused:
            continue
        number = 1
        while (earlier := log.with_name(f"{log.name}.{number}")).exists():
            number += 1
        log.rename(earlier)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a local run, naming the run so that it can be resumed."""

    def __init__(self, workflow_name: str) -> None:
        super().__init__(workflow_name)
        self.workflow_name = workflow_name


_ENDED = ("Succeeded", "Failed", "Error", "Omitted")


def _created(record: RunRecord) -> datetime:
    return datetime.fromisoformat(record.creation_timestamp.replace("Z", "+00:00"))
