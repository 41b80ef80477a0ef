"""The in-pod step runner: ``python -m kedro_argo step --pipeline=P --nodes=a,b …``.

It is the command every compiled step template runs; its arguments and environment are the
pod contract (:mod:`kedro_argo.contract`). It bootstraps the project from the working
directory, asks Kedro for only the step's pipeline, runs exactly the step's nodes and swaps
every dataset the step exchanges with other steps (its free / MemoryDataset inputs and outputs,
plus the ``--export`` ones its own nodes also load) for an object on
``$KEDRO_ARGO_DATA_ROOT/$KEDRO_ARGO_RUN_ID/``. Data that stays inside the step stays in
memory. It does not go through the ``kedro`` CLI (slower: it loads every plugin's commands)
and does not rely on the plugin's hooks, so disabling them never breaks a workflow.

In a workflow of a project using kedro-mlflow (``KEDRO_ARGO_MLFLOW=true``) it also runs
``mlflow-start`` / ``mlflow-end``, and every step logs into the workflow's MLflow run
(:mod:`kedro_argo.runtime.mlflow`).

SIGTERM (a deleted pod, a stopped workflow, Ctrl-C in ``run-local``) unwinds the step like an
exception, so an object being written is never left behind, not even as a temporary file,
and the step exits with 143 as a killed process would.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kedro_argo import contract


class StepError(Exception):
    """A problem with the step's setup (not a node failure): reported in one line."""


def runtime_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs parsed exactly like ``kedro run --params``."""
    return contract.parse_params(pairs)


def workflow_version(created: str | None, run_id: str) -> str | None:
    """One save version shared by every step of a workflow run.

    Kedro's version format, from the workflow's creation second; the millisecond field is
    derived from the run id so two workflows created in the same second still differ.
    """
    if not created:
        return None
    try:
        moment = datetime.fromisoformat(created.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        raise StepError(
            f"{contract.WORKFLOW_CREATED_ENV}={created!r} is not an RFC 3339 timestamp"
        ) from None
    millis = int(hashlib.sha256(run_id.encode()).hexdigest()[:8], 16) % 1000
    return moment.strftime("%Y-%m-%dT%H.%M.%S") + f".{millis:03d}Z"


def make_runner(
    pod: contract.PodEnvironment,
    producers: Mapping[str, str],
    exports: Collection[str],
    version: str | None,
    consumers_of: Callable[[str], list[str]],
    branch: str | None = None,
    shared: Collection[str] = (),
    memo: Callable[..., Any] | None = None,
) -> Any:
    """A SequentialRunner that first swaps the datasets the step exchanges with other steps
    (its external inputs and outputs, and ``exports``; data internal to a multi-node step
    stays in memory) and clears what an earlier attempt of this step saved at the run's
    pinned version. In a sweep's ``branch`` the data lives under the branch's prefix, but
    for the ``shared`` inputs, saved by the steps every branch shares. ``memo(pipeline=,
    catalog=, exchanged=, in_memory=)``: the step's cache entry (``--skip-unchanged``), or
    ``None``; a hit puts the outputs back and runs no node."""
    from kedro.runner import SequentialRunner

    from kedro_argo.datasets import exchanged_datasets
    from kedro_argo.naming import escape_dataset_name
    from kedro_argo.runtime.store import IntermediateDataset, intermediate_uri

    class StepRunner(SequentialRunner):
        def run(self, pipeline: Any, catalog: Any, *args: Any, **kwargs: Any) -> Any:
            wanted = (
                pipeline.inputs() | pipeline.outputs() | (set(exports) & pipeline.all_outputs())
            )
            needed = exchanged_datasets(catalog, wanted)
            in_memory = set(exchanged_datasets(catalog, pipeline.all_outputs())) - set(needed)
            if needed and not pod.data_root:
                raise StepError(
                    f"{contract.DATA_ROOT_ENV} is not set but this step exchanges "
                    f"{', '.join(needed)} with other steps: set data.root in argo.yml and "
                    "recompile."
                )
            uris = {
                name: intermediate_uri(
                    pod.data_root or "",
                    pod.run_id,
                    escape_dataset_name(name),
                    None if name in shared else branch,
                )
                for name in needed
            }
            for name in needed:
                catalog[name] = IntermediateDataset(
                    uri=uris[name],
                    dataset_name=name,
                    producer=producers.get(name),
                    compression=pod.compression,
                    consumers=consumers_of,
                )
            if version is not None:
                for name in sorted(pipeline.all_outputs()):
                    clear_earlier_attempt(catalog, name, version)
            entry = None
            if memo is not None:
                entry = memo(
                    pipeline=pipeline, catalog=catalog, exchanged=uris, in_memory=in_memory
                )
                reused = entry.try_reuse() if entry is not None else None
                if reused is not None:
                    print(
                        f"kedro-argo: step skipped: unchanged since run {reused.get('run_id')} "
                        f"of workflow {reused.get('workflow_name')} ({reused.get('created_at')}); "
                        "its outputs were put back from the cache",
                        file=sys.stderr,
                        flush=True,
                    )
                    return {}
            outputs = super().run(pipeline, catalog, *args, **kwargs)
            if entry is not None:
                entry.record(
                    {
                        "run_id": pod.run_id,
                        "workflow_name": pod.workflow_name,
                        "created_at": pod.created,
                        "commit_id": pod.commit_id,
                    }
                )
            return outputs

    return StepRunner()


def clear_earlier_attempt(catalog: Any, name: str, version: str) -> None:
    """A retried step saves its versioned outputs at the same pinned version: remove what an
    earlier, failed attempt of this very step left there (no other step saves this dataset),
    or Kedro would refuse to overwrite it and every retry would fail."""
    from kedro.io.core import AbstractVersionedDataset

    if name not in catalog:
        return
    dataset = catalog.get(name)
    if not isinstance(dataset, AbstractVersionedDataset) or dataset._version is None:
        return
    filesystem = getattr(dataset, "_fs", None)
    if filesystem is None:
        return
    path = str(dataset._get_versioned_path(version))
    if filesystem.exists(path):
        logging.getLogger(__name__).warning(
            "Removing %s version %s saved by an earlier attempt of this step", name, version
        )
        filesystem.rm(path, recursive=True)


def run_step(call: contract.StepCall, pod: contract.PodEnvironment, project_path: Path) -> None:
    if not pod.mlflow:
        _run_step(call, pod, project_path)
        return
    from kedro_argo.runtime.mlflow import step_run

    with step_run(pod, exit_status=os.environ.get(contract.WORKFLOW_STATUS_ENV)):
        _run_step(call, pod, project_path)


def _run_step(call: contract.StepCall, pod: contract.PodEnvironment, project_path: Path) -> None:
    from kedro.framework.project import pipelines
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from kedro_argo.runtime.store import check_compression

    run_version = workflow_version(pod.created, pod.run_id)
    # a branch of a sweep saves its versioned datasets at a version of its own
    version = f"{run_version}-{call.sweep}" if run_version and call.sweep else run_version
    if call.sweep:
        os.environ[contract.SWEEP_ENV] = call.sweep  # what ${argo:sweep} resolves to
    check_compression(pod.compression)
    metadata = bootstrap_project(project_path)
    if hasattr(pipelines, "set_requested"):  # Kedro >= 1.5: import only this pipeline
        pipelines.set_requested([call.pipeline])
    try:
        pipeline = pipelines[call.pipeline]
    except KeyError:
        raise StepError(f"Pipeline '{call.pipeline}' is not registered in this image") from None
    missing = sorted(set(call.nodes) - {n.name for n in pipeline.nodes})
    if missing:
        raise StepError(
            f"Node(s) {', '.join(missing)} not in pipeline '{call.pipeline}': the image is "
            "older or newer than the compiled workflow; recompile or rebuild."
        )
    step_nodes = [n for n in pipeline.nodes if not call.nodes or n.name in call.nodes]
    producers = {out: node.name for node in pipeline.nodes for out in node.outputs}
    loaded = {ds for node in step_nodes for ds in node.inputs}
    pins = [ds for ds in pod.pin_versions if ds in loaded]
    if pins and version is None:
        raise StepError(
            f"{contract.PIN_VERSIONS_ENV} needs {contract.WORKFLOW_CREATED_ENV} "
            "(set by the compiled workflow)"
        )
    session = KedroSession.create(
        project_path=project_path, env=call.env, runtime_params=runtime_params(call.params)
    )
    recorder = None
    if call.result_parameters or call.result_artifacts:
        from kedro_argo.runtime.results import ResultsRecorder

        recorder = ResultsRecorder(call.result_parameters, call.result_artifacts)
        session._hook_manager.register(recorder)
    with session:
        if version is not None:
            session.session_id = version
            session._store["session_id"] = version
        runner = make_runner(
            pod,
            producers,
            call.exports,
            version,
            _consumer_finder(pod.pipeline, step_nodes),
            branch=call.sweep,
            shared=call.shared,
            memo=_memo_for(call, pod, metadata, recorder) if pod.memoize else None,
        )
        load_versions = {ds: run_version if ds in call.shared else version for ds in pins}
        session.run(
            **_pipeline_argument(session, call.pipeline),
            node_names=list(call.nodes) or None,
            runner=runner,
            load_versions=load_versions or None,
        )
        if recorder is not None:
            recorder.write()


def _memo_for(
    call: contract.StepCall, pod: contract.PodEnvironment, metadata: Any, recorder: Any
) -> Any:
    from functools import partial

    from kedro_argo.runtime import memo

    return partial(
        memo.prepare, call=call, pod=pod, source_dir=_package_dir(metadata), recorder=recorder
    )


def _package_dir(metadata: Any) -> Path:
    """Where the project's package is imported from: its source folder, or site-packages in
    an image that installed the project as a wheel."""
    import importlib.util

    spec = importlib.util.find_spec(metadata.package_name)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(locations[0]) if locations else Path(metadata.source_dir) / metadata.package_name


def _consumer_finder(compiled: str, step_nodes: Sequence[Any]) -> Callable[[str], list[str]]:
    """Who loads a dataset outside this step: only wanted when something went wrong (an
    object that cannot be pickled), so the compiled pipeline is imported only then."""
    own = {n.name for n in step_nodes}

    def consumers(dataset: str) -> list[str]:
        from kedro.framework.project import pipelines

        try:
            if hasattr(pipelines, "set_requested"):
                pipelines.set_requested([compiled] if compiled else None)
            pipeline = pipelines[compiled or "__default__"]
        except Exception:
            return []
        return sorted(n.name for n in pipeline.nodes if dataset in n.inputs and n.name not in own)

    return consumers


def _pipeline_argument(session: Any, pipeline: str) -> dict[str, Any]:
    """``pipeline_names=[p]`` on Kedro >= 1.2, ``pipeline_name=p`` before."""
    import inspect

    if "pipeline_names" in inspect.signature(session.run).parameters:
        return {"pipeline_names": [pipeline]}
    return {"pipeline_name": pipeline}


def _own_cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first ``kind`` error in ``exc``'s chain of causes (``raise ... from``), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__
    return None


TERMINATED_EXIT_CODE = 128 + signal.SIGTERM


def _terminated(signum: int, frame: Any) -> None:
    raise SystemExit(TERMINATED_EXIT_CODE)


def main(argv: Sequence[str] | None = None) -> int:
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        if exc.code == TERMINATED_EXIT_CODE:
            print("kedro-argo: step terminated (SIGTERM)", file=sys.stderr)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(args: list[str]) -> int:
    os.environ.setdefault(contract.TELEMETRY_ENV, "true")
    from kedro_argo.errors import KedroArgoError

    try:
        if args[:1] and args[0] in contract.MLFLOW_COMMANDS:
            from kedro_argo.runtime import mlflow

            mlflow_call = contract.parse_mlflow_arguments(args)
            pod = contract.read_pod_environment(os.environ)
            mlflow.run_command(mlflow_call, pod, Path.cwd(), os.environ)
            return 0
        call = contract.parse_step_arguments(args)
        pod = contract.read_pod_environment(os.environ)
        run_step(call, pod, Path.cwd())
    except (StepError, contract.ContractError) as exc:
        print(f"kedro-argo: {exc}", file=sys.stderr)
        return 2
    except KedroArgoError as exc:  # e.g. a missing intermediate: its message says it all
        print(f"kedro-argo: step failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        ours = _own_cause(exc, KedroArgoError)
        if ours is not None:  # wrapped by Kedro (1.7's catalog re-raises dataset errors)
            print(f"kedro-argo: step failed: {ours}", file=sys.stderr)
            return 1
        traceback.print_exc(file=sys.stderr)
        print(f"kedro-argo: step failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
