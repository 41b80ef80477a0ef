"""One MLflow run spans the workflow: ``kedro argo run-local`` of a project using kedro-mlflow,
with a real MLflow tracking store (sqlite), in an environment of its own (see conftest.py).

Two steps (the second loads what the first saved, through the data root) both log into the
run: parameters through kedro-mlflow's node hook, metrics through ``MlflowMetricDataset`` and
``mlflow.log_metric``. The exit handler ends it: ``mlflow-end`` after a success
(``FINISHED``), the exit pipeline's step after a failure (``FAILED``, with what the exit
pipeline logged). Each workflow costs ~30 s: kedro-mlflow imports MLflow (~5 s) in every one of
its processes (the compile and each step).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ..mini_project import write_project
from ..sample_project import base_env

pytestmark = pytest.mark.slow

NODES = """\
import os

import mlflow


def train_a(alpha, fail):
    if fail:
        raise RuntimeError("train_a fails on purpose")
    return {"weight": alpha}, alpha * 10


def train_b(model, beta):
    mlflow.log_metric("b_direct", beta + 1)
    return model["weight"] * beta * 10


def notify(alpha):
    mlflow.set_tag("seen_status", os.environ["KEDRO_ARGO_WORKFLOW_STATUS"])
    return alpha
"""

REGISTRY = """\
return {
    "__default__": Pipeline(
        [
            node(train_a, ["params:alpha", "params:fail"], ["model", "a_score"], name="train_a"),
            node(train_b, ["model", "params:beta"], "b_score", name="train_b"),
        ]
    ),
    "notify": Pipeline([node(notify, "params:alpha", "exit_score", name="notify")]),
}
"""

METRIC = {"type": "kedro_mlflow.io.metrics.MlflowMetricDataset"}
EXPERIMENT = "workflow_runs"

#: Run in the test environment: every run of the tracking store, as JSON.
READ_RUNS = """\
import json, sys
from mlflow.tracking import MlflowClient

client = MlflowClient(sys.argv[1])
runs = {}
for experiment in client.search_experiments():
    runs[experiment.name] = [
        {
            "status": r.info.status,
            "name": r.info.run_name,
            "params": r.data.params,
            "metrics": r.data.metrics,
            "tags": r.data.tags,
        }
        for r in client.search_runs([experiment.experiment_id])
    ]
print(json.dumps(runs))
"""


def tracked_project(root: Path, **argo: Any) -> tuple[Path, str]:
    uri = f"sqlite:///{root / 'mlflow.db'}"
    project = write_project(
        root,
        package="tracked",
        registry=REGISTRY,
        nodes=NODES,
        catalog={"a_score": METRIC, "b_score": METRIC, "exit_score": METRIC},
        parameters={"alpha": 0.5, "beta": 2.0, "fail": False},
        argo=argo,
        conf_files={
            "mlflow.yml": {
                "server": {"mlflow_tracking_uri": uri},
                "tracking": {"experiment": {"name": EXPERIMENT}},
            }
        },
    )
    return project, uri


def run_local(bin_dir: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in base_env().items() if not k.startswith("MLFLOW_")}
    return subprocess.run(
        [str(bin_dir / "kedro"), "argo", "run-local", "--no-progress", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def the_run(bin_dir: Path, uri: str) -> dict[str, Any]:
    """The one run of the store (and nothing in any other experiment)."""
    out = subprocess.run(
        [str(bin_dir / "python"), "-c", READ_RUNS, uri],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    runs = json.loads(out.stdout)
    assert {name: len(found) for name, found in runs.items() if found} == {EXPERIMENT: 1}
    return runs[EXPERIMENT][0]


def workflow_of(project: Path, stderr: str) -> tuple[str, str]:
    """The workflow's name (from run-local's last line) and uid (its data folder's name)."""
    name = re.findall(r"[Ww]orkflow (\S+) (?:succeeded|failed)", stderr)[-1]
    (record,) = (project / ".kedro-argo" / "data").glob("*/~mlflow-run")
    return name, record.parent.name


def check_tags(run: dict[str, Any], name: str, uid: str, status: str) -> None:
    tags = run["tags"]
    assert tags["kedro-argo.workflow_name"] == name
    assert tags["kedro-argo.workflow_uid"] == uid
    assert tags["kedro-argo.pipeline"] == "__default__"
    assert tags["kedro-argo.workflow_status"] == status
    assert run["name"] == "__default__"  # kedro-mlflow's name for the pipeline's run


def test_one_run_holds_every_steps_logs_and_finishes(mlflow_bin: Path, tmp_path: Path) -> None:
    project, uri = tracked_project(tmp_path / "ok")
    result = run_local(mlflow_bin, project)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "one MLflow run spans the workflow" in result.stderr
    run = the_run(mlflow_bin, uri)
    assert run["status"] == "FINISHED"
    # both steps' parameters and metrics, from two pods
    assert run["params"] == {"alpha": "0.5", "fail": "False", "beta": "2.0"}
    assert run["metrics"] == {"a_score": 5.0, "b_score": 10.0, "b_direct": 3.0}
    name, uid = workflow_of(project, result.stderr)
    check_tags(run, name, uid, "Succeeded")
    logs = project / ".kedro-argo" / "logs" / name
    assert sorted(p.stem for p in logs.glob("*.log")) == [
        "mlflow-start",
        "onExit",
        "train-a",
        "train-b",
    ]


def test_a_failed_workflow_fails_its_run_after_the_exit_pipeline_logged(
    mlflow_bin: Path, tmp_path: Path
) -> None:
    project, uri = tracked_project(tmp_path / "failing", workflow={"on_exit_pipeline": "notify"})
    result = run_local(mlflow_bin, project, "--params", "fail=true")
    assert result.returncode == 1, result.stderr[-4000:]
    assert "train_a fails on purpose" in result.stderr
    assert "'train-b'" not in result.stderr  # omitted: it needs train_a's output
    run = the_run(mlflow_bin, uri)
    assert run["status"] == "FAILED"
    assert run["metrics"]["exit_score"] == 0.5  # the exit pipeline logged into the run
    assert run["tags"]["seen_status"] == "Failed"
    assert run["params"]["fail"] == "True"
    name, uid = workflow_of(project, result.stderr)
    check_tags(run, name, uid, "Failed")
