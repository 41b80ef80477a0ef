"""Results in the Argo UI (argo.yml's ``ui``): ``kedro argo status`` prints what a run's steps
showed, against the stand-in Argo Server whose workflows really run (local mode)."""

from __future__ import annotations

import json

import pytest

from .helpers import TOKEN, describe, update_config, use_local_mode

pytestmark = [pytest.mark.usefixtures("argo_env"), pytest.mark.slow]


def test_status_prints_the_results_of_the_steps(argo_server, project, cli):
    update_config(
        project,
        ui={
            "parameters": ["active_modelling_pipeline_metrics"],
            "artifacts": ["model_input_table"],
            "artifact_repository": "default",
        },
    )
    use_local_mode(argo_server, project)
    run = cli("run-once", "--wait", "--pipeline", "__default__", "--poll-interval", "0.2")
    assert run.exit_code == 0, describe(run)
    [workflow] = argo_server.workflows
    name = workflow["metadata"]["name"]
    # What Argo reads: the step templates declare the outputs the pods write.
    [metrics_template] = [
        t for t in workflow["spec"]["templates"] if (t.get("outputs") or {}).get("parameters")
    ]
    assert "--results=" in " ".join(metrics_template["container"]["args"])

    out = cli.ok("status", name).stdout.splitlines()
    start = out.index("Results:")
    lines = out[start + 1 :]
    [metric] = [line for line in lines if "active_modelling_pipeline_metrics = " in line]
    assert metric.split()[0] == "active-modelling-pipeline-evaluate-model-node"
    shown = json.loads(metric.split(" = ", 1)[1])
    saved = json.loads(
        (project / "data/08_reporting/active_modelling_pipeline_metrics.json").read_text()
    )
    assert shown == saved
    [table] = [line for line in lines if "model_input_table (artifact): " in line]
    assert table.split()[0] == "create-model-input-table-node"
    node = next(
        n
        for n in workflow["status"]["nodes"].values()
        if n.get("displayName") == "create-model-input-table-node"
    )
    url = table.split("(artifact): ", 1)[1]
    assert url == (
        f"{argo_server.url}/artifact-files/argo/workflows/{name}/{node['id']}/outputs/"
        "model_input_table"
    )
    assert TOKEN not in cli.all_output()
