"""``kedro argo run-once``: submit one run; with ``--wait``, follow it to the end.

The ``--wait`` tests run the sample project for real: the stand-in Argo Server hands the
submitted Workflow to kedro-argo's local mode (``local_executor.py``), whose steps are real
``python -m kedro_argo step`` processes in the project copy. They use the ``data_processing``
pipeline (3 steps + the exit handler) to stay fast.
"""

from __future__ import annotations

import json

import pytest

from kedro_argo.server.status import pod_name

from ..argo_server import first_error
from .helpers import TOKEN, describe, update_config, use_local_mode

pytestmark = pytest.mark.usefixtures("argo_env")

TASKS = (
    "preprocess-companies-node",
    "preprocess-shuttles-node",
    "create-model-input-table-node",
)
BOOM = "companies feed is corrupt (kedro-argo cluster test)"


def only_workflow(server) -> dict:
    [workflow] = server.workflows
    return workflow


def test_prints_the_name_and_ui_url_of_a_workflow_the_server_validated(
    argo_server, argo_client, cli
):
    result = cli.ok("run-once", "--pipeline", "data_processing")

    workflow = only_workflow(argo_server)
    name = workflow["metadata"]["name"]
    assert name.startswith("spaceflights-data-processing-")
    assert result.stdout == f"Submitted {name}: {argo_server.url}/workflows/argo/{name}\n"
    # What was posted passed the stand-in's validation (which does reject bad manifests).
    [post] = argo_server.requests_to("POST", r"^/api/v1/workflows/argo$")
    assert post.auth == "ok"
    assert first_error(post.body["workflow"], {}) is None
    broken = json.loads(json.dumps(post.body["workflow"]))
    broken["spec"]["entrypoint"] = "no-such-template"
    assert first_error(broken, {}) is not None
    assert TOKEN not in cli.all_output()


@pytest.mark.slow
def test_wait_runs_the_pipeline_end_to_end(argo_server, project, cli):
    executor = use_local_mode(argo_server, project)
    result = cli("run-once", "--wait", "--pipeline", "data_processing", "--poll-interval", "0.2")
    assert result.exit_code == 0, describe(result)

    workflow = only_workflow(argo_server)
    name, uid = workflow["metadata"]["name"], workflow["metadata"]["uid"]
    assert result.stdout.splitlines() == [
        f"Submitted {name}: {argo_server.url}/workflows/argo/{name}",
        f"Workflow {name} succeeded.",
    ]
    # Plain progress lines (not a terminal): each step starts, then succeeds.
    lines = result.stderr.splitlines()
    for task in (*TASKS, "onExit"):
        assert f"{task}: Running" in lines, result.stderr
        assert f"{task}: Succeeded" in lines, result.stderr
    assert lines.index("create-model-input-table-node: Running") > max(
        lines.index("preprocess-companies-node: Succeeded"),
        lines.index("preprocess-shuttles-node: Succeeded"),
    )
    assert lines.index("onExit: Running") > lines.index("create-model-input-table-node: Succeeded")
    assert "\x1b[" not in result.stderr  # no live display, no colours
    # The declared outputs exist in the project copy, the intermediates under the data root.
    [version] = (project / "data/03_primary/model_input_table.csv").iterdir()
    table = (version / "model_input_table.csv").read_text().splitlines()
    assert table[0].startswith("shuttle_id,") and len(table) > 10
    status = json.loads((project / "data/08_reporting/run_status.json").read_text())
    assert status == {"status": "Succeeded"}
    assert len(list((executor.data_root / uid).iterdir())) == 2
    # The server holds the run's final state.
    assert workflow["status"]["phase"] == "Succeeded"
    assert workflow["status"]["nodes"][name]["phase"] == "Succeeded"
    assert TOKEN not in cli.all_output()


@pytest.mark.slow
def test_wait_on_a_failing_node_names_the_step_and_shows_its_log_tail(
    argo_server, argo_client, project, cli
):
    nodes = project / "src/spaceflights/pipelines/data_processing/nodes.py"
    docstring = (
        '    """Parse the ``iata_approved`` flag and the ``company_rating`` percentage."""\n'
    )
    source = nodes.read_text()
    assert docstring in source
    nodes.write_text(source.replace(docstring, f"{docstring}    raise ValueError({BOOM!r})\n"))
    # One immediate retry: the tail must come from the last attempt.
    update_config(project, nodes={"defaults": {"retry": {"limit": 1, "backoff": None}}})
    executor = use_local_mode(argo_server, project)

    result = cli("run-once", "--wait", "--pipeline", "data_processing", "--poll-interval", "0.2")

    assert result.exit_code == 1, describe(result)
    workflow = only_workflow(argo_server)
    name = workflow["metadata"]["name"]
    err = result.stderr.splitlines()
    assert f"Workflow {name} ended Failed: step 'preprocess-companies-node' failed" in err
    assert "Step preprocess-companies-node failed: exit code 1 (no retries left)" in err
    tail = [line[4:] for line in err if line.startswith("  | ")]
    assert f"kedro-argo: step failed: ValueError: {BOOM}" in tail, result.stderr
    # The tail is the last attempt's log (a Retry node's last Pod child).
    retry = next(n for n in workflow["status"]["nodes"].values() if n["displayName"] == TASKS[0])
    assert retry["type"] == "Retry" and len(retry["children"]) == 2
    last = workflow["status"]["nodes"][retry["children"][-1]]
    assert last["displayName"] == f"{TASKS[0]}(1)"
    last_log = list(argo_client.workflow_logs(name, pod_name(name, last)))
    assert tail == last_log[-30:]
    # Downstream: not run, shown as omitted; its output does not exist.
    assert "create-model-input-table-node: Running" not in err
    assert "create-model-input-table-node: Omitted" in err
    run = executor.results[name]
    assert run.step("create-model-input-table-node").attempts == 0
    assert not list((project / "data/03_primary").iterdir())
    # The exit handler still ran, and saw the failure.
    status = json.loads((project / "data/08_reporting/run_status.json").read_text())
    assert status == {"status": "Failed"}
    assert "Traceback" not in result.stdout
    assert TOKEN not in cli.all_output()


def test_wait_reports_a_workflow_that_ends_in_error(argo_server, cli):
    """A run the cluster cannot even start ends in Error: exit 1 and the reason."""

    def refuse(workflow: dict, update) -> None:
        update({"phase": "Error", "message": 'pods "x" is forbidden: exceeded quota'})

    argo_server.executor = refuse
    result = cli("run-once", "--wait", "--pipeline", "data_processing", "--poll-interval", "0.2")
    assert result.exit_code == 1, describe(result)
    name = only_workflow(argo_server)["metadata"]["name"]
    assert (
        f'Workflow {name} ended Error: pods "x" is forbidden: exceeded quota'
        in result.stderr.splitlines()
    )


def test_the_failed_step_log_tail_says_when_logs_are_unavailable(argo_server, project, cli):
    use_local_mode(argo_server, project, shim=True, fail=["preprocess_companies_node"])
    update_config(project, nodes={"defaults": {"retry": None}})
    argo_server.fail(500, times=-1, method="GET", path=r"/log$")
    result = cli("run-once", "--wait", "--pipeline", "data_processing", "--poll-interval", "0.2")
    assert result.exit_code == 1, describe(result)
    assert "Step preprocess-companies-node failed: exit code 1" in result.stderr
    assert "  | (logs unavailable: " in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_wait_with_a_fast_step_stand_in_exits_1_and_shows_omitted_steps(argo_server, project, cli):
    use_local_mode(argo_server, project, shim=True, fail=["preprocess_shuttles_node"])
    update_config(project, nodes={"defaults": {"retry": None}})
    result = cli("run-once", "--wait", "--pipeline", "data_processing", "--poll-interval", "0.2")
    assert result.exit_code == 1, describe(result)
    err = result.stderr.splitlines()
    assert "Step preprocess-shuttles-node failed: exit code 1" in err
    assert "  | ValueError: preprocess_shuttles_node exploded" in err
    assert "create-model-input-table-node: Omitted" in err
    assert not any(line.startswith("Step preprocess-companies-node") for line in err)
