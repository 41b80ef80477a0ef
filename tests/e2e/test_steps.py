"""The in-pod runtime end to end: every step of the compiled sample project runs as its own
process through ``python -m kedro_argo step`` (the manifest's own argument lists), in
dependency order, exchanging intermediate data through a local path, moto S3 or fake GCS,
and produces the same declared outputs as ``kedro run``."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from kedro_argo.compiler.build import BuildRequest, build_manifest
from tests.sample_project import base_env, copy_project, declared_outputs, kedro

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = copy_project(tmp_path_factory.mktemp("ref") / "spaceflights")
    kedro(project, "run")
    return declared_outputs(project)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = copy_project(tmp_path_factory.mktemp("compile") / "spaceflights")
    return build_manifest(BuildRequest(project_path=project, for_local=True)).manifest


def step_commands(manifest: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(task, argv) in DAG order: the shared step template's args with the task's arguments as
    its inputs, and workflow parameters at their defaults."""
    spec = manifest["spec"]
    defaults = {p["name"]: p["value"] for p in spec.get("arguments", {}).get("parameters", [])}
    templates = {t["name"]: t for t in spec["templates"]}
    tasks = templates[spec["entrypoint"]]["dag"]["tasks"]
    assert all(templates[t["template"]].get("container") for t in tasks), "nested DAGs"

    def resolve(arg: str, inputs: dict[str, str]) -> str:
        arg = re.sub(r"\{\{workflow\.parameters\.([-\w]+)\}\}", lambda m: defaults[m[1]], arg)
        return re.sub(r"\{\{inputs\.parameters\.([-\w]+)\}\}", lambda m: inputs[m[1]], arg)

    out = []
    for task in tasks:
        template = templates[task["template"]]
        inputs = {
            p["name"]: p["default"]
            for p in template.get("inputs", {}).get("parameters", [])
            if "default" in p
        }
        inputs.update({p["name"]: p["value"] for p in task["arguments"]["parameters"]})
        container = template["container"]
        args = [resolve(arg, inputs) for arg in container["args"]]
        out.append((task["name"], [sys.executable, *container["command"][1:], *args]))
    return out


def pod_env(manifest: dict[str, Any], **values: str) -> dict[str, str]:
    """The environment every pod gets (``templateDefaults``): its literal entries (the
    compiled pipeline, pinned versions, ...), then ``values`` for what Argo would resolve."""
    entries = manifest["spec"]["templateDefaults"]["container"]["env"]
    literal = {e["name"]: e["value"] for e in entries if "{{" not in e.get("value", "{{")}
    assert "KEDRO_ARGO_PIN_VERSIONS" in literal  # model_input_table is versioned
    return base_env(**{**literal, **values})


def test_steps_in_separate_processes_match_kedro_run(
    tmp_path: Path,
    object_store_root: str,
    compiled: dict[str, Any],
    reference_outputs: dict[str, Any],
) -> None:
    project = copy_project(tmp_path / "spaceflights")
    run_id = str(uuid.uuid4())
    env = pod_env(
        compiled,
        KEDRO_ARGO_RUN_ID=run_id,
        KEDRO_ARGO_DATA_ROOT=object_store_root.rstrip("/"),
        KEDRO_ARGO_WORKFLOW_CREATED="2030-01-01T00:00:00Z",
    )
    for task, argv in step_commands(compiled):
        result = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"step {task} failed:\n{result.stderr[-3000:]}"
    assert declared_outputs(project) == reference_outputs


def test_a_step_alone_names_the_missing_intermediate_and_its_producer(
    tmp_path: Path, compiled: dict[str, Any]
) -> None:
    project = copy_project(tmp_path / "spaceflights")
    commands = dict(step_commands(compiled))
    argv = commands["active-modelling-pipeline-train-model-node"]
    env = pod_env(
        compiled,
        KEDRO_ARGO_RUN_ID="lonely",
        KEDRO_ARGO_DATA_ROOT=str(tmp_path / "store"),
        KEDRO_ARGO_WORKFLOW_CREATED="2030-01-01T00:00:00Z",
    )
    result = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "active_modelling_pipeline.X_train" in last
    assert str(tmp_path / "store") in last
    assert "active_modelling_pipeline.split_data_node" in last


def test_entrypoint_refuses_to_run_outside_a_workflow(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "spaceflights")
    argv = [sys.executable, "-m", "kedro_argo", "step", "--pipeline=reporting"]
    result = subprocess.run(argv, cwd=project, env=base_env(), capture_output=True, text=True)
    assert result.returncode == 2
    assert "KEDRO_ARGO_RUN_ID is not set" in result.stderr
    assert "Traceback" not in result.stderr
