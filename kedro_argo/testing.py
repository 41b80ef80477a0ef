"""Run a project's workflow from Python, as ``kedro argo run-local`` runs it, and inspect it.

For a project's own tests: one call compiles a pipeline, runs the workflow on this machine (one
process per step, the steps in the project root with this interpreter), and returns what
happened to each step and loaders for the datasets the run produced::

    from kedro_argo.testing import run_locally

    PROJECT = Path(__file__).resolve().parents[1]

    def test_model_input_table(tmp_path):
        run = run_locally(PROJECT, pipeline="data_processing", group_by="memory",
                          workdir=tmp_path)
        run.assert_succeeded()
        assert run.step_of("create_model_input_table_node").attempts == 1
        assert len(run.load("model_input_table")) > 0

Compiling and running go through :func:`kedro_argo.local.run.run_local`, the code of
``kedro argo run-local``. Intermediate data and logs go to a folder of their own per call (under
``workdir``, else a temporary folder removed when the process exits), never into the project's
``.kedro-argo``; declared datasets are saved where the catalog says, as ``kedro run`` saves them.

Where the compile runs: in this process when that is safe, else in a child process (see
:func:`run_locally`, ``isolate``). Kedro keeps a project's modules imported for the rest of the
process, so compiling a second project with the same package name here, or a project whose
code changed since it was imported, would compile stale pipelines.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kedro_argo.errors import KedroArgoError, LocalRunError
from kedro_argo.local.executor import LocalRunResult, StepPhase, StepRecord, WorkflowPhase

__all__ = [
    "DatasetNotProducedError",
    "StepPhase",
    "StepRun",
    "WorkflowPhase",
    "WorkflowRun",
    "run_locally",
]

#: Lines of a failed step's log in :meth:`WorkflowRun.assert_succeeded`'s message.
TAIL_LINES = 30
#: Seconds a child process gets to stop its steps after SIGINT before it is killed.
CHILD_GRACE = 15.0


class DatasetNotProducedError(KedroArgoError):
    """:meth:`WorkflowRun.load` was asked for a dataset this run did not leave behind: no node
    of the run saves it, its step did not succeed, or it stayed in a pod's memory."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class StepRun:
    """One step of the run (a DAG task: one pod on a cluster)."""

    name: str
    """The DAG task name (``outer.inner`` inside a nested DAG, ``onExit`` for the exit
    handler), as ``kedro argo run-local`` and Argo show it."""
    nodes: tuple[str, ...]
    """The Kedro nodes the step ran (the exit handler: every node of its pipeline)."""
    status: StepPhase
    """``Succeeded``, ``Failed``, ``Error`` (the process could not start) or ``Omitted``
    (not run: an upstream step failed). A ``str`` enum: ``step.status == "Succeeded"``."""
    attempts: int
    """Processes started for it: 1, more when retried, 0 when omitted."""
    duration: float | None
    """Seconds from its first attempt's start to its last attempt's end (``None``: not run)."""
    exit_code: int | None
    """Of the last attempt (128 + the signal number when killed)."""
    message: str
    """Why it failed, as the run's summary says it (empty when it succeeded)."""
    log_path: Path | None
    """Its log file (every attempt's stdout and stderr); ``None`` when it never started."""
    outputs: frozenset[str]
    """The datasets its nodes save."""
    exit_handler: bool = False
    branch: str | None = None
    """In a parameter sweep: the label of the branch the step ran in (``None``: a step the
    branches share, or no sweep)."""
    results: Mapping[str, Any] = field(default_factory=dict)
    """What the step showed (argo.yml's ``ui``), by output name: a parameter's value
    (decoded JSON), an artifact's file (a :class:`~pathlib.Path`)."""
    record: StepRecord | None = field(default=None, repr=False, compare=False)
    """The local-mode executor's record (attempt history, timestamps)."""

    @property
    def succeeded(self) -> bool:
        return self.status is StepPhase.SUCCEEDED

    @property
    def log(self) -> str:
        """The whole log (every attempt, with separator lines); empty when it never started."""
        if self.log_path is None:
            return ""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = TAIL_LINES) -> str:
        """The last ``lines`` lines of :attr:`log`."""
        return "\n".join(self.log.splitlines()[-lines:])


@dataclass(frozen=True)
class _RunJob:
    """What to run; pickled for a child process."""

    project: Path
    pipeline: str
    env: str | None
    params: Mapping[str, Any]
    group_by: str | None
    arguments: Mapping[str, str]
    parallelism: int | None
    data_root: str
    log_root: Path
    created_at: datetime
    sweeps: Mapping[str, tuple[Any, ...]] | None = None
    max_parallel: int | None = None


@dataclass(frozen=True)
class _Outcome:
    """What a run left, from the process that compiled and ran it; pickled from a child."""

    result: LocalRunResult
    manifest: dict[str, Any]
    node_outputs: Mapping[str, tuple[str, ...]]  # compiled pipeline's nodes
    exit_outputs: Mapping[str, tuple[str, ...]]  # the exit pipeline's nodes
    stored: frozenset[str]  # exchanged datasets that go through the data root
    exchanged: frozenset[str]  # free / MemoryDataset datasets
    versioned: frozenset[str]
    commit_id: str
    grouping: str
    summary: str
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _LoadJob:
    project: Path
    env: str | None
    params: Mapping[str, Any]
    dataset: str
    version: str | None
    run_env: Mapping[str, str]


class WorkflowRun:
    """What :func:`run_locally` did: the run's phase, its steps, and its datasets."""

    def __init__(self, job: _RunJob, outcome: _Outcome, folder: Path, isolated: str | None):
        from kedro_argo.runtime.entrypoint import workflow_version

        result = outcome.result
        self.project_path: Path = job.project
        self.pipeline: str = job.pipeline
        self.env: str | None = job.env
        self.params: Mapping[str, Any] = MappingProxyType(dict(job.params))
        self.group_by: str | None = job.group_by
        self.grouping: str = outcome.grouping
        """The grouping the workflow was compiled with (``group_by``, else argo.yml's)."""
        self.name: str = result.workflow_name
        self.uid: str = result.workflow_uid
        self.phase: WorkflowPhase = result.phase
        self.message: str = result.message
        self.duration: float = result.duration
        self.data_root: str = job.data_root
        self.log_dir: Path = result.log_dir
        self.folder: Path = folder
        """Where this run's intermediate data (``data/``) and logs (``logs/``) are."""
        self.manifest: Mapping[str, Any] = outcome.manifest
        self.notes: tuple[str, ...] = outcome.notes
        self.summary: str = outcome.summary
        """The summary table ``kedro argo run-local`` prints, as text."""
        self.isolated: bool = isolated is not None
        """Whether it was compiled and run from a child process (see :func:`run_locally`)."""
        self.isolated_because: str | None = isolated
        self.result: LocalRunResult = result
        # {{workflow.creationTimestamp}} as local mode resolved it from created_at
        self.created: str = job.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.save_version: str | None = workflow_version(self.created, self.uid)
        """The version every versioned dataset of the run was saved at (``None``: not known)."""
        self._outcome = outcome
        exit_nodes = tuple(outcome.exit_outputs)
        steps: dict[str, StepRun] = {}
        for record in result.steps:
            nodes = exit_nodes if record.exit_handler else record.kedro_nodes
            outputs = outcome.exit_outputs if record.exit_handler else outcome.node_outputs
            steps[record.name] = StepRun(
                name=record.name,
                nodes=tuple(n for n in nodes if n in outputs),
                status=record.phase,
                attempts=record.attempts,
                duration=record.duration,
                exit_code=record.exit_code,
                message=record.message,
                log_path=record.log_path,
                outputs=frozenset(ds for n in nodes for ds in outputs.get(n, ())),
                exit_handler=record.exit_handler,
                branch=record.sweep_branch,
                results=MappingProxyType(
                    {
                        r.name: _decoded(r.value) if r.kind == "parameters" else r.path
                        for r in record.results
                    }
                ),
                record=record,
            )
        self.steps: Mapping[str, StepRun] = MappingProxyType(steps)
        """Every step by DAG task name, in manifest order, the exit handler's last."""
        self.branches: tuple[str, ...] = tuple(
            dict.fromkeys(s.branch for s in steps.values() if s.branch is not None)
        )
        """The labels of a sweep's branches, in the order they ran (empty: no sweep)."""
        self._producer: dict[str, tuple[StepRun, str]] = {}
        # a dataset saved in the branches of a sweep: its producer in each branch
        self._in_branch: dict[str, dict[str, tuple[StepRun, str]]] = {}
        for step in steps.values():
            table = outcome.exit_outputs if step.exit_handler else outcome.node_outputs
            for node in step.nodes:
                for dataset in table.get(node, ()):
                    self._producer.setdefault(dataset, (step, node))
                    if step.branch is not None:
                        self._in_branch.setdefault(dataset, {})[step.branch] = (step, node)
        self._catalog: Any = None

    def __repr__(self) -> str:
        return (
            f"<WorkflowRun {self.name} {self.phase.value}: {len(self.steps)} steps, "
            f"{self.duration:.1f}s>"
        )

    # -- outcome

    @property
    def succeeded(self) -> bool:
        return self.phase is WorkflowPhase.SUCCEEDED

    @property
    def failed_steps(self) -> tuple[StepRun, ...]:
        """Steps that failed or could not start (not those omitted because of them)."""
        bad = (StepPhase.FAILED, StepPhase.ERROR)
        return tuple(s for s in self.steps.values() if s.status in bad)

    @property
    def produced(self) -> frozenset[str]:
        """Datasets saved by the nodes of the steps that succeeded."""
        return frozenset(ds for ds, (step, _) in self._producer.items() if step.succeeded)

    def step_of(self, node: str, *, branch: str | None = None) -> StepRun:
        """The step that ran Kedro node ``node``: its full name, or the part after its
        namespace when that names one node only (``train_model_node`` for
        ``modelling.train_model_node``). In a sweep, ``branch`` picks the branch of a node
        that ran in each (see :attr:`branches`). ``KeyError`` when no step runs it."""
        candidates = [
            s for s in self.steps.values() if branch is None or s.branch in (branch, None)
        ]
        found = [s for s in candidates if node in s.nodes]
        if len(found) > 1 and branch is None:
            labels = ", ".join(str(s.branch) for s in found)
            raise KeyError(
                f"node {node!r} ran in every branch of the sweep of workflow {self.name}: "
                f"pass branch= one of {labels}"
            )
        if found:
            return found[0]
        matches = [(n, s) for s in candidates for n in s.nodes if n.rsplit(".", 1)[-1] == node]
        if len(matches) == 1:
            return matches[0][1]
        if matches:
            names = ", ".join(sorted(n for n, _ in matches))
            raise KeyError(f"node {node!r} is ambiguous in workflow {self.name}: {names}")
        known = ", ".join(sorted(n for s in self.steps.values() for n in s.nodes))
        raise KeyError(f"no step of workflow {self.name} runs node {node!r} (nodes: {known})")

    def assert_succeeded(self) -> WorkflowRun:
        """Raise ``AssertionError`` unless the workflow succeeded, with every failed step's
        message and log tail; returns the run, to chain."""
        __tracebackhide__ = True  # pytest: the failure points at the caller's line
        if self.succeeded:
            return self
        raise AssertionError(self.failure_report())

    def failure_report(self) -> str:
        """What went wrong, in words: the run's message, each failed step's and its log's
        last lines, the steps omitted because of them."""
        lines = [f"workflow {self.name} {self.phase.value}: {self.message or 'no message'}"]
        for step in self.failed_steps:
            nodes = ", ".join(step.nodes) or "no Kedro node"
            lines.append(
                f"step {step.name} ({nodes}) {step.status.value.lower()} after {step.attempts} "
                f"attempt(s), exit code {step.exit_code}: {step.message}"
            )
            tail = (step.record.log_tail if step.record else None) or step.log_tail()
            if tail:
                lines.append(f"last lines of {step.log_path}:")
                lines.extend(f"  | {line}" for line in tail.splitlines()[-TAIL_LINES:])
        omitted = [s.name for s in self.steps.values() if s.status is StepPhase.OMITTED]
        if omitted:
            lines.append(f"omitted: {', '.join(omitted)}")
        return "\n".join(lines)

    # -- data

    def load(self, dataset: str, *, branch: str | None = None, isolate: bool | None = None) -> Any:
        """Load a dataset the run produced.

        In a parameter sweep, a dataset saved inside the branches needs ``branch``, the label
        of the branch whose copy to load (:attr:`branches` lists them; its path's
        ``${argo:sweep}`` and its save version are that branch's).

        In-memory datasets that went from one step to another (free or ``MemoryDataset``
        outputs) are read from the run's data root; declared ones are loaded through the
        project's catalog, with the run's ``env`` and ``params`` (and ``${argo:run_id}`` and
        the like resolved as in its steps), a versioned one at the version this run saved.
        Raises :class:`DatasetNotProducedError` for a dataset no node of the run saves, one
        whose step did not succeed, and one that stayed in a pod's memory (grouped with every
        node that uses it).

        ``isolate``: where the catalog is built, as in :func:`run_locally`; default: a child
        process when the run was isolated or this process is not safe for the project (the
        data is pickled back), else this process (the catalog is built once per run).
        """
        name = self._output_name(dataset)
        step, node = self._producer[name]
        branches = self._in_branch.get(name)
        if branches and branch is None:
            raise ValueError(
                f"dataset {dataset!r} was saved in each branch of the sweep: pass branch= one "
                f"of {', '.join(branches)}"
            )
        if branch is not None:
            if branch not in self.branches:
                raise ValueError(
                    f"no branch {branch!r} in workflow {self.name} (branches: "
                    f"{', '.join(self.branches) or 'none, it has no sweep'})"
                )
            if branches:
                step, node = branches[branch]
            else:
                branch = None  # shared by the branches: saved once, outside them
        if not step.succeeded:
            raise DatasetNotProducedError(
                f"Dataset '{dataset}' was not produced: step '{step.name}' (which runs node "
                f"'{node}') {step.status.value.lower()}; the run produced: "
                f"{_listing(self.produced)}."
            )
        outcome = self._outcome
        if name in outcome.exchanged:
            if name not in outcome.stored and not step.exit_handler:
                raise DatasetNotProducedError(
                    f"Dataset '{dataset}' cannot be loaded: it stayed in memory inside step "
                    f"'{step.name}' (grouping {self.grouping}) and was never stored; run without "
                    "group_by, or declare it in the catalog."
                )
            return self._load_intermediate(name, node, branch)
        return self._load_declared(name, isolate, branch)

    def _output_name(self, dataset: str) -> str:
        if dataset in self._producer:
            return dataset
        transcoded = sorted(ds for ds in self._producer if ds.split("@", 1)[0] == dataset)
        if len(transcoded) == 1:
            return transcoded[0]
        if transcoded:
            raise ValueError(f"dataset {dataset!r} is saved as {', '.join(transcoded)}: name one")
        raise DatasetNotProducedError(
            f"Dataset '{dataset}' is not an output of any node of workflow {self.name} "
            f"(pipeline '{self.pipeline}'); the run produced: {_listing(self.produced)}."
        )

    def _load_intermediate(self, name: str, node: str, branch: str | None) -> Any:
        from kedro_argo.naming import escape_dataset_name
        from kedro_argo.runtime.store import IntermediateStore, intermediate_uri

        uri = intermediate_uri(self.data_root, self.uid, escape_dataset_name(name), branch)
        return IntermediateStore().get(uri, dataset_name=name, producer=node)

    def _load_declared(self, name: str, isolate: bool | None, branch: str | None) -> Any:
        from kedro_argo.contract import (
            COMMIT_ID_ENV,
            RUN_ID_ENV,
            SWEEP_ENV,
            WORKFLOW_CREATED_ENV,
            WORKFLOW_NAME_ENV,
        )

        versioned = name in self._outcome.versioned or name.split("@", 1)[0] in {
            ds.split("@", 1)[0] for ds in self._outcome.versioned
        }
        version = self.save_version if versioned else None
        if version is not None and branch is not None:
            version = f"{version}-{branch}"  # a branch saves at a version of its own
        run_env = {  # what ${argo:…} in the catalog resolved to in the steps
            RUN_ID_ENV: self.uid,
            WORKFLOW_NAME_ENV: self.name,
            WORKFLOW_CREATED_ENV: self.created,
            COMMIT_ID_ENV: self._outcome.commit_id,
        }
        if branch is not None:
            run_env[SWEEP_ENV] = branch
        job = _LoadJob(
            project=self.project_path,
            env=self.env,
            params=dict(self.params),
            dataset=name,
            version=version,
            run_env=run_env,
        )
        if isolate is None:
            isolate = self.isolated or _isolation_reason(self.project_path) is not None
        if isolate:
            return _in_child("load", job, self.project_path, self.folder)
        with _environ(job.run_env):
            if branch is not None:  # ${argo:sweep} resolves when the catalog is built
                try:
                    return _load_from(_catalog_here(job), job)
                finally:
                    _remember_modules(self.project_path)
            if self._catalog is None:
                try:
                    self._catalog = _catalog_here(job)
                finally:
                    _remember_modules(self.project_path)
            return _load_from(self._catalog, job)


def _decoded(text: str | None) -> Any:
    try:
        return json.loads(text or "")
    except ValueError:
        return text


def _listing(names: frozenset[str] | set[str], limit: int = 20) -> str:
    if not names:
        return "nothing"
    shown = sorted(names)
    more = f" (+{len(shown) - limit} more)" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


# --------------------------------------------------------------------------- the call


def run_locally(
    project_path: str | os.PathLike[str],
    *,
    pipeline: str = "__default__",
    env: str | None = None,
    params: Mapping[str, Any] | None = None,
    group_by: str | None = None,
    arguments: Mapping[str, Any] | None = None,
    parallelism: int | None = None,
    data_root: str | os.PathLike[str] | None = None,
    workdir: str | os.PathLike[str] | None = None,
    isolate: bool | None = None,
    sweeps: Mapping[str, Sequence[Any]] | None = None,
    max_parallel: int | None = None,
) -> WorkflowRun:
    """Compile ``pipeline`` of the project at ``project_path`` and run the workflow here, one
    process per step, exactly as ``kedro argo run-local`` does; wait for it to end.

    A run whose steps fail returns normally (look at :attr:`WorkflowRun.phase`, or call
    :meth:`WorkflowRun.assert_succeeded`); what stops a run before it starts (an unknown
    pipeline, a bad argo.yml, a manifest local mode refuses) raises the
    :class:`~kedro_argo.errors.KedroArgoError` the command would print.

    Args:
        project_path: the Kedro project's root folder (the steps run there, whatever the
            current directory).
        pipeline: the registered pipeline to compile (``-p``).
        env: the Kedro configuration environment (``-e``; default: ``KEDRO_ENV``, else
            ``local``).
        params: runtime parameters (``--params``), compiled into every step as on the
            command line: ``{"model_options": {"test_size": 0.3}}`` or, dotted,
            ``{"model_options.test_size": 0.3}``.
        group_by: ``none``, ``memory``, ``namespace[:DEPTH]`` or ``tag[:PREFIX]``
            (``--group-by``; default: argo.yml's ``grouping``).
        arguments: values of the workflow's parameters (argo.yml ``parameters``), by Argo
            parameter name (``--argument NAME=VALUE``); non-strings are written as JSON.
        parallelism: most steps at once (default: the workflow's, else the CPU count).
        data_root: where intermediate data goes (``--data-root``: a folder, ``s3://…`` or
            ``gs://…``); default: ``data/`` in this run's folder.
        workdir: where this run's folder (intermediate data and logs) is made, e.g. pytest's
            ``tmp_path``; default: a temporary folder removed when this process exits.
        isolate: ``None`` (default): compile and run from this process when that is safe,
            else from a child process: when you configured another Kedro project in this
            process (``bootstrap_project``; those earlier calls configure do not count), or
            it has the project's package imported from another folder (a copy with the same
            package name), or a module of it imported whose file changed since. ``True``:
            always a child process (this process never imports the project); ``False``:
            always this process. The steps are child processes either way.
        sweeps: a parameter sweep (``--sweep``): parameter key (dotted, as ``params``) to
            its values, several keys make a grid; ``None`` (default): argo.yml's ``sweeps``,
            ``{}``: none. The run's :attr:`~WorkflowRun.branches`, ``step_of(…, branch=)``
            and ``load(…, branch=)`` tell the branches apart.
        max_parallel: branches of the sweep at once (``--max-parallel``).

    Returns:
        The :class:`WorkflowRun`.
    """
    from kedro_argo.local.run import resolve_data_root

    project = Path(project_path).expanduser().resolve()
    folder = _run_folder(workdir)
    job = _RunJob(
        project=project,
        pipeline=pipeline,
        env=env,
        params=_nested(params or {}),
        group_by=group_by,
        arguments={
            str(k): v if isinstance(v, str) else json.dumps(v) for k, v in (arguments or {}).items()
        },
        parallelism=parallelism,
        data_root=resolve_data_root(project, os.fspath(data_root or folder / "data")),
        log_root=folder / "logs",
        created_at=datetime.now(timezone.utc).replace(microsecond=0),
        sweeps=None if sweeps is None else {str(k): tuple(v) for k, v in sweeps.items()},
        max_parallel=max_parallel,
    )
    forced = "isolate=True" if isolate else None
    reason = _isolation_reason(project) if isolate is None else forced
    if reason is None:
        try:
            outcome = _run_here(job)
        finally:
            _remember_modules(project)
    else:
        outcome = _in_child("run", job, project, folder)
    return WorkflowRun(job, outcome, folder, reason)


def _nested(params: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys nest, as ``--params`` nests them; nested mappings merge."""
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping, not {type(params).__name__}")
    out: dict[str, Any] = {}
    for key, value in params.items():
        *parents, leaf = str(key).split(".")
        target = out
        for part in parents:
            child = target.get(part)
            if not isinstance(child, dict):
                child = target[part] = {}
            target = child
        if isinstance(value, Mapping) and isinstance(target.get(leaf), dict):
            target[leaf] = {**target[leaf], **_nested(value)}
        else:
            target[leaf] = _nested(value) if isinstance(value, Mapping) else value
    return out


_TEMPORARY: list[Path] = []


def _run_folder(workdir: str | os.PathLike[str] | None) -> Path:
    if workdir is None:
        if not _TEMPORARY:
            atexit.register(lambda: [shutil.rmtree(p, ignore_errors=True) for p in _TEMPORARY])
        base = Path(tempfile.mkdtemp(prefix="kedro-argo-run-"))
        _TEMPORARY.append(base)
        return base
    base = Path(workdir).expanduser().resolve()
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="run-", dir=base))


def _run_here(job: _RunJob) -> _Outcome:
    """Compile and run in this process (the project is imported here)."""
    from rich.console import Console

    from kedro_argo.compiler.build import build_manifest
    from kedro_argo.local.run import LocalRequest, build_request, run_local

    request = LocalRequest(
        project_path=job.project,
        pipeline=job.pipeline,
        env=job.env,
        runtime_params=job.params,
        parallelism=job.parallelism,
        data_root=job.data_root,
        arguments=job.arguments,
        progress=False,
        group_by=job.group_by,
        log_root=job.log_root,
        created_at=job.created_at,
        sweeps=_sweeps(job),
        max_parallel=job.max_parallel,
    )
    # What the workflow is made of (run_local compiles the same request again: ~20 ms).
    built = build_manifest(build_request(request))
    exit_pipeline = built.facts.config.workflow.on_exit_pipeline
    exit_outputs: dict[str, tuple[str, ...]] = {}
    if exit_pipeline:
        from kedro.framework.project import pipelines

        exit_outputs = {n.name: tuple(n.outputs) for n in pipelines[exit_pipeline].nodes}
    buffer = io.StringIO()
    notes: list[str] = []
    result = run_local(
        request,
        console=Console(file=buffer, width=200, color_system=None, highlight=False),
        notify=notes.append,
    )
    return _Outcome(
        result=result,
        manifest=built.manifest,
        node_outputs={n.name: n.outputs for n in built.facts.nodes},
        exit_outputs=exit_outputs,
        stored=built.plan.stored,
        exchanged=built.facts.exchanged_datasets,
        versioned=built.facts.versioned_datasets,
        commit_id=built.facts.commit_id,
        grouping=str(built.grouping),
        summary=buffer.getvalue(),
        notes=tuple(notes),
    )


def _sweeps(job: _RunJob) -> dict[str, list[Any]] | None:
    return None if job.sweeps is None else {k: list(v) for k, v in job.sweeps.items()}


def _catalog_here(job: _LoadJob) -> Any:
    """The project's catalog, as a step of the run built it (call under the run's env)."""
    from kedro.framework.session import KedroSession

    from kedro_argo.compiler.project import _bootstrap, check_environment

    project, _metadata = _bootstrap(job.project)
    check_environment(project, job.env)
    with KedroSession.create(
        project_path=project, env=job.env, runtime_params=dict(job.params)
    ) as session:
        return session.load_context().catalog


def _load_from(catalog: Any, job: _LoadJob) -> Any:
    if job.version is not None:
        return catalog.load(job.dataset, version=job.version)
    return catalog.load(job.dataset)


def _load_here(job: _LoadJob) -> Any:
    with _environ(job.run_env):
        return _load_from(_catalog_here(job), job)


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# --------------------------------------------------------------------------- isolation

#: ``package``: the project package the last compile or load in this process configured.
_CONFIGURED: dict[str, str] = {}

#: Source files of project modules imported in this process -> (mtime_ns, size) when first
#: seen: a later change means the imported module is stale.
_SEEN: dict[str, tuple[int, int]] = {}


def _project_package(project: Path) -> tuple[str, Path] | None:
    """``[tool.kedro]``'s package name and source folder, read without importing Kedro."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with (project / "pyproject.toml").open("rb") as handle:
            kedro = tomllib.load(handle)["tool"]["kedro"]
        return str(kedro["package_name"]), (project / kedro.get("source_dir", "src")).resolve()
    except (OSError, KeyError, TypeError, ValueError):
        return None  # compiling says what is wrong, before importing anything


def _package_modules(package: str) -> Iterator[tuple[str, Path, Any]]:
    for name, module in list(sys.modules.items()):
        if name != package and not name.startswith(package + "."):
            continue
        origin = getattr(module, "__file__", None)
        if origin:
            yield name, Path(origin).resolve(), module


def _isolation_reason(project: Path) -> str | None:
    """Why compiling ``project`` in this process would be unsafe (``None``: it is safe)."""
    found = _project_package(project)
    if found is None:
        return None
    package, source = found
    kedro_project = sys.modules.get("kedro.framework.project")
    configured = getattr(kedro_project, "PACKAGE_NAME", None)
    if configured and configured != package and configured != _CONFIGURED.get("package"):
        # configured by the caller, not by an earlier call of ours: leave it as it is
        return f"this process has the Kedro project '{configured}' configured"
    imported = False
    for name, path, module in _package_modules(package):
        imported = True
        if not path.is_relative_to(source):
            return f"module {name} is imported from {path}, not from {source}"
        if _changed_since_import(path, module):
            return f"{path} changed since module {name} was imported"
    if not imported and str(source) in sys.path:
        # Kedro puts the source folder first only when it is not on sys.path yet
        for entry in sys.path[: sys.path.index(str(source))]:
            folder = Path(entry or ".")
            if (folder / package).is_dir() or (folder / f"{package}.py").is_file():
                return f"{folder} holds a package {package} and comes before {source} on sys.path"
    return None


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _changed_since_import(path: Path, module: Any) -> bool:
    now = _stamp(path)
    if now is None:
        return True
    seen = _SEEN.setdefault(str(path), now)
    if seen != now:
        return True
    # First seen here: the timestamp bytecode the import read or wrote records the source's
    # mtime (seconds) and size as they were then.
    cached = getattr(module, "__cached__", None)
    if not cached:
        return False
    try:
        with open(cached, "rb") as handle:
            header = handle.read(16)
    except OSError:
        return False
    if len(header) < 16 or int.from_bytes(header[4:8], "little") != 0:
        return False  # hash-based bytecode: no timestamp to compare
    mtime = int.from_bytes(header[8:12], "little")
    size = int.from_bytes(header[12:16], "little")
    return (mtime, size) != ((now[0] // 1_000_000_000) & 0xFFFFFFFF, now[1] & 0xFFFFFFFF)


def _remember_modules(project: Path) -> None:
    """After compiling or loading here: the project Kedro is configured for is ours, and its
    modules (those imported since too) are recorded as they are now."""
    found = _project_package(project)
    if found is None:
        return
    _CONFIGURED["package"] = found[0]
    for _name, path, _module in _package_modules(found[0]):
        stamp = _stamp(path)
        if stamp is not None:
            _SEEN.setdefault(str(path), stamp)


# --------------------------------------------------------------------------- child process

_CHILD_CODE = "from kedro_argo.testing import _child_main; _child_main()"


def _in_child(kind: str, job: _RunJob | _LoadJob, project: Path, folder: Path) -> Any:
    """Run ``_run_here`` / ``_load_here`` in a fresh interpreter (this one's executable), in
    the project root; its result, or its exception, comes back pickled."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f"{kind}-", suffix=".job", dir=folder)
    job_path = Path(name)
    with os.fdopen(handle, "wb") as sink:
        pickle.dump((kind, job), sink)
    out_path, log_path = job_path.with_suffix(".out"), job_path.with_suffix(".log")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", _CHILD_CODE, str(job_path), str(out_path)],
            cwd=project,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches it once, through _stop
        )
        try:
            code = process.wait()
        except BaseException:
            _stop(process)
            raise
    job_path.unlink(missing_ok=True)
    if out_path.is_file():
        status, payload = pickle.loads(out_path.read_bytes())
        out_path.unlink()
        if status == "ok":
            log_path.unlink(missing_ok=True)
            return payload
        if hasattr(payload, "add_note"):  # Python >= 3.11
            payload.add_note(f"(raised in a child process; its output: {log_path})")
        raise payload
    action = "runs the workflow of" if kind == "run" else "loads a dataset of"
    raise LocalRunError(
        f"The child process that {action} the project at {project} ended with exit code {code} "
        f"and no result: see {log_path}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Interrupted (Ctrl-C, a test timeout): the child stops its steps as run-local does on
    Ctrl-C, then is killed if it has not ended."""
    if process.poll() is None:
        with contextlib.suppress(OSError, ValueError):
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=CHILD_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _child_main() -> None:
    import cloudpickle

    job_path, out_path = Path(sys.argv[1]), Path(sys.argv[2])
    kind, job = pickle.loads(job_path.read_bytes())
    try:
        data = _pickled_load(job) if kind == "load" else cloudpickle.dumps(("ok", _run_here(job)))
    except Exception as exc:
        traceback.print_exc()
        try:
            data = cloudpickle.dumps(("error", exc))
        except Exception:
            data = cloudpickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    partial = out_path.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(out_path)


def _pickled_load(job: _LoadJob) -> bytes:
    import cloudpickle

    value = _load_here(job)
    try:
        return cloudpickle.dumps(("ok", value))
    except Exception as exc:
        raise LocalRunError(
            f"Dataset '{job.dataset}' was loaded in a child process but cannot be pickled back "
            f"to this one: {type(exc).__name__}: {exc} (load it with isolate=False)"
        ) from None
