"""One MLflow run for a whole workflow, in projects that use kedro-mlflow.

``kedro run`` with kedro-mlflow logs one MLflow run per run of the pipeline. A workflow runs the
pipeline as many Kedro sessions (one per pod), so without help every pod would log a run of its
own. When the compiler finds kedro-mlflow's hooks in the project, the workflow instead has (see
``docs/mlflow.md``):

* ``python -m kedro_argo mlflow-start`` (:func:`start`), a task every root task waits for: it
  opens a Kedro session, so kedro-mlflow reads ``mlflow.yml`` exactly as in the steps (tracking
  URI, credentials, experiment), creates the workflow's run, tags it with the workflow's name,
  uid, pipeline and commit, and records the run id in the run's intermediate-data folder
  (``<data root>/<run id>/~mlflow-run``: escaped dataset names never contain ``~`` followed by
  anything but two upper-case hex digits, so no dataset can take that name);
* every step (:func:`step_run`) reads that record and sets ``MLFLOW_RUN_ID`` before its
  session: kedro-mlflow's ``before_pipeline_run`` then resumes that run (``mlflow.start_run``
  reads the variable) instead of creating one, and parameters, metrics and artifacts of every
  pod land in it. kedro-mlflow ends the run when its pipeline ends and renames it after the
  step's pipeline; the step puts the run's name back and, when the step succeeded, its status
  back to ``RUNNING``, so the run reads as running until the workflow is over;
* the exit handler ends the run with the workflow's status (``{{workflow.status}}``:
  ``Succeeded`` → ``FINISHED``, anything else → ``FAILED``): :func:`end` (``mlflow-end``) when
  the workflow has no exit pipeline, else the exit pipeline's step, once its pipeline ran (it
  logs into the run too).

Every pod of such a workflow has ``KEDRO_ARGO_MLFLOW=true``
(:data:`kedro_argo.contract.MLFLOW_ENV`). MLflow is imported only by these functions, and only
in such workflows.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kedro_argo import contract
from kedro_argo.runtime.entrypoint import StepError

__all__ = [
    "RECORD_NAME",
    "RUN_ID_ENV",
    "TAGS",
    "RunRecord",
    "end",
    "final_status",
    "read_record",
    "record_uri",
    "run_command",
    "start",
    "step_run",
    "workflow_tags",
    "write_record",
]

logger = logging.getLogger(__name__)

#: Where the run id is recorded, inside ``<data root>/<run id>/``.
RECORD_NAME = "~mlflow-run"
#: MLflow's own variable: ``mlflow.start_run()`` resumes the run it names.
RUN_ID_ENV = "MLFLOW_RUN_ID"
#: Tags of the workflow's run (key -> what it holds).
TAGS = {
    "kedro-argo.workflow_name": "the workflow's name",
    "kedro-argo.workflow_uid": "the workflow's uid (its intermediate data folder)",
    "kedro-argo.workflow_created": "the workflow's creation time (RFC 3339)",
    "kedro-argo.pipeline": "the compiled Kedro pipeline",
    "kedro-argo.commit": "the git commit the workflow was compiled from",
    "kedro-argo.env": "the Kedro configuration environment (when one is set)",
    "kedro-argo.workflow_status": "the workflow's final status, set by the exit handler",
}
STATUS_TAG = "kedro-argo.workflow_status"
#: Argo's ``{{workflow.status}}`` -> MLflow's run status; anything else ends the run FAILED.
STATUSES = {"Succeeded": "FINISHED", "Failed": "FAILED", "Error": "FAILED"}


@dataclass(frozen=True)
class RunRecord:
    """What ``mlflow-start`` leaves for the other pods of the workflow."""

    run_id: str  # "" when kedro-mlflow's tracking is disabled for the compiled pipeline
    tracking_uri: str
    experiment_id: str
    run_name: str


def final_status(workflow_status: str) -> str:
    """The MLflow status a run ends with, for Argo's ``{{workflow.status}}``."""
    return STATUSES.get(workflow_status.strip(), "FAILED")


def workflow_tags(pod: contract.PodEnvironment, env: str | None) -> dict[str, str]:
    """The tags ``mlflow-start`` puts on the workflow's run (empty values left out)."""
    values = {
        "kedro-argo.workflow_name": pod.workflow_name,
        "kedro-argo.workflow_uid": pod.run_id,
        "kedro-argo.workflow_created": pod.created,
        "kedro-argo.pipeline": pod.pipeline,
        "kedro-argo.commit": pod.commit_id,
        "kedro-argo.env": env or "",
    }
    return {key: value for key, value in values.items() if value}


# --------------------------------------------------------------------------- the record


def record_uri(pod: contract.PodEnvironment) -> str:
    from kedro_argo.runtime.store import intermediate_uri

    if not pod.data_root:
        raise StepError(
            f"{contract.DATA_ROOT_ENV} is not set: the workflow's MLflow run id is kept under "
            "data.root; set data.root in argo.yml and recompile."
        )
    return intermediate_uri(pod.data_root, pod.run_id, RECORD_NAME)


def write_record(pod: contract.PodEnvironment, record: RunRecord) -> None:
    from kedro_argo.runtime.store import IntermediateStore

    IntermediateStore().put(record_uri(pod), asdict(record), dataset_name=RECORD_NAME)


def read_record(pod: contract.PodEnvironment) -> RunRecord | None:
    """The workflow's record, or ``None`` when ``mlflow-start`` wrote none (yet)."""
    from kedro_argo.errors import IntermediateDataError
    from kedro_argo.runtime.store import IntermediateStore

    uri = record_uri(pod)
    store = IntermediateStore()
    try:
        if not store.exists(uri):
            return None
        raw = store.get(uri, dataset_name=RECORD_NAME)
        return RunRecord(**raw)
    except IntermediateDataError as exc:
        raise StepError(f"The workflow's MLflow run record cannot be read: {exc}") from None
    except TypeError:
        raise StepError(
            f"The workflow's MLflow run record at {uri} is not one this kedro-argo wrote"
        ) from None


# --------------------------------------------------------------------------- the commands


def run_command(
    call: contract.MlflowCall,
    pod: contract.PodEnvironment,
    project_path: Path,
    environ: Mapping[str, str],
) -> None:
    """``mlflow-start`` or ``mlflow-end`` (the exit handler: it reads the workflow status)."""
    if call.command == contract.MLFLOW_START_COMMAND:
        start(call, pod, project_path)
    else:
        end(call, pod, project_path, environ.get(contract.WORKFLOW_STATUS_ENV, ""))


def start(call: contract.MlflowCall, pod: contract.PodEnvironment, project_path: Path) -> RunRecord:
    """Create the workflow's run (once: a retry finds the record) and record its id."""
    existing = read_record(pod)
    if existing is not None:
        print(f"kedro-argo: MLflow run {existing.run_id} of this workflow exists already")
        return existing
    config = kedro_mlflow_config(call, project_path)
    from mlflow.tracking import MlflowClient

    pipeline = pod.pipeline or "__default__"
    uri = str(config.server.mlflow_tracking_uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=config.server.mlflow_registry_uri)
    if pipeline in config.tracking.disable_tracking.pipelines:
        record = RunRecord(run_id="", tracking_uri=uri, experiment_id="", run_name="")
        print(f"kedro-argo: mlflow.yml disables tracking for pipeline '{pipeline}': no MLflow run")
    else:
        tags = workflow_tags(pod, call.env)
        name = config.tracking.run.name or pipeline  # kedro-mlflow's name for `kedro run`
        if config.tracking.run.id:  # mlflow.yml names the run every Kedro run logs into
            run = client.get_run(config.tracking.run.id)
            client.update_run(run.info.run_id, status="RUNNING", name=name)
            for key, value in tags.items():
                client.set_tag(run.info.run_id, key, value)
        else:
            experiment = client.get_experiment_by_name(config.tracking.experiment.name)
            if experiment is None:  # kedro-mlflow's set-up creates it: not expected
                raise StepError(
                    f"MLflow experiment '{config.tracking.experiment.name}' does not exist at {uri}"
                )
            run = client.create_run(experiment.experiment_id, tags=tags, run_name=name)
        record = RunRecord(
            run_id=run.info.run_id,
            tracking_uri=uri,
            experiment_id=run.info.experiment_id,
            run_name=name,
        )
        print(
            f"kedro-argo: MLflow run {record.run_id} ('{name}', experiment "
            f"{record.experiment_id}) at {uri} for workflow {pod.workflow_name}"
        )
    write_record(pod, record)
    return record


def end(
    call: contract.MlflowCall,
    pod: contract.PodEnvironment,
    project_path: Path,
    workflow_status: str,
) -> None:
    """End the workflow's run with the workflow's status (the exit handler)."""
    record = read_record(pod)
    if record is None:
        print("kedro-argo: no MLflow run was recorded for this workflow: nothing to end")
        return
    if not record.run_id:
        return
    kedro_mlflow_config(call, project_path)  # kedro-mlflow's credentials, as in the steps
    end_run(record, workflow_status)


def end_run(record: RunRecord, workflow_status: str) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=record.tracking_uri)
    status = final_status(workflow_status)
    client.update_run(record.run_id, name=record.run_name)
    client.set_tag(record.run_id, STATUS_TAG, workflow_status or "unknown")
    client.set_terminated(record.run_id, status)
    print(f"kedro-argo: MLflow run {record.run_id} ended {status} (workflow {workflow_status})")


def kedro_mlflow_config(call: contract.MlflowCall, project_path: Path) -> Any:
    """kedro-mlflow's configuration, set up as in a step: a Kedro session's context is
    created, so kedro-mlflow's ``after_context_created`` reads ``mlflow.yml`` (with ``--env``
    and the run's parameters), exports its credentials and sets the tracking URI and
    experiment."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project_path)
    session = KedroSession.create(
        project_path=project_path,
        env=call.env,
        runtime_params=contract.parse_params(call.params),
    )
    with session:
        context = session.load_context()
    config = getattr(context, "mlflow", None)
    if config is None:
        raise StepError(_missing_kedro_mlflow())
    return config


def _missing_kedro_mlflow() -> str:
    return (
        "this workflow was compiled for a project using kedro-mlflow, but kedro-mlflow's "
        "hooks do not run here (not installed in this image, or disabled in settings.py): "
        "install it in the image, or recompile where it is not installed."
    )


# --------------------------------------------------------------------------- in a step


@contextlib.contextmanager
def step_run(pod: contract.PodEnvironment, exit_status: str | None) -> Iterator[None]:
    """Around a step's Kedro session: kedro-mlflow resumes the workflow's run.

    ``exit_status`` is ``{{workflow.status}}`` in the exit handler (it then ends the run once
    its pipeline ran, ``FAILED`` if that failed), ``None`` in every other step.
    """
    if importlib.util.find_spec("kedro_mlflow") is None:
        raise StepError(_missing_kedro_mlflow())
    record = read_record(pod)
    if record is None:
        if exit_status is not None:  # mlflow-start failed: the workflow has no run to end
            print("kedro-argo: no MLflow run was recorded for this workflow")
            yield
            return
        raise StepError(
            f"The workflow's MLflow run id is not at {record_uri(pod)}: the mlflow-start step "
            "of this workflow must run first (is this step running in another workflow?)"
        )
    if not record.run_id:  # tracking disabled for the compiled pipeline
        yield
        return
    os.environ[RUN_ID_ENV] = record.run_id
    succeeded = False
    try:
        yield
        succeeded = True
    finally:
        os.environ.pop(RUN_ID_ENV, None)  # mlflow removes it once used; it may not have been
        _close_active_runs()
        if exit_status is None:
            _reopen(record, succeeded)
        elif succeeded:
            end_run(record, exit_status)
        else:  # the exit pipeline failed: so does the workflow; keep the step's own error
            try:
                end_run(record, "Failed")
            except Exception as exc:
                logger.error("Could not end MLflow run %s: %s", record.run_id, exc)


def _close_active_runs() -> None:
    """End what kedro-mlflow left active in this process now, not at its exit.

    kedro-mlflow reopens the run before every node (``nested: true`` by default pushes it on
    MLflow's stack once more) and ends it once after the pipeline: what is left would be ended
    ``FINISHED`` by MLflow's ``atexit`` handler, after this step set the status it wants.
    """
    mlflow = sys.modules.get("mlflow")  # never imported: nothing was started
    if mlflow is None:
        return
    while mlflow.active_run() is not None:
        mlflow.end_run()


def _reopen(record: RunRecord, succeeded: bool) -> None:
    """Undo what kedro-mlflow did when its pipeline ended: the run's name (it takes the
    step's pipeline's) and, after a success, its status (``RUNNING`` until the workflow
    ends). A failed step leaves ``FAILED``: the exit handler decides in the end."""
    try:
        from mlflow.tracking import MlflowClient

        MlflowClient(tracking_uri=record.tracking_uri).update_run(
            record.run_id, status="RUNNING" if succeeded else None, name=record.run_name
        )
    except Exception as exc:  # cosmetic: the exit handler sets the final state anyway
        logger.warning("Could not mark MLflow run %s as running: %s", record.run_id, exc)
