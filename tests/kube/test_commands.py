"""The cluster commands in kubeconfig mode (no ARGO_SERVER): run-once (--wait), schedule,
upload, list, status, logs, ui, against the stand-in Kubernetes API server.

The ``--wait`` runs are real: the stand-in hands each created Workflow to kedro-argo's local
mode (``tests/cluster/local_executor.py``), as the Argo controller would run it.
"""

from __future__ import annotations

import json
import re

import pytest

from ..cluster.helpers import (
    COMMIT,
    assert_clean_error,
    describe,
    table_rows,
    update_config,
    use_local_mode,
)
from ..kube_server import StubKubeServer
from .conftest import KUBE_TOKEN

pytestmark = pytest.mark.usefixtures("kubeconfig")

RUN = ("run-once", "--pipeline", "data_processing")
WAIT = (*RUN, "--wait", "--poll-interval", "0.2")
API = "/apis/argoproj.io/v1alpha1/namespaces/argo"
TASKS = (
    "preprocess-companies-node",
    "preprocess-shuttles-node",
    "create-model-input-table-node",
)


def only_workflow(server: StubKubeServer) -> dict:
    [workflow] = server.workflows
    return workflow


def foreign(kind: str, name: str) -> dict:
    """An object of another project (never listed)."""
    spec = {"entrypoint": "x", "templates": [{"name": "x", "container": {"image": "i"}}]}
    if kind == "CronWorkflow":
        spec = {"schedules": ["0 1 * * *"], "workflowSpec": spec}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": kind,
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "kedro-argo", "kedro.org/project": "other"},
        },
        "spec": spec,
    }


def test_run_once_creates_the_workflow_through_the_kubernetes_api(kube_server, cli):
    result = cli.ok(*RUN)
    workflow = only_workflow(kube_server)
    name = workflow["metadata"]["name"]
    assert name.startswith("spaceflights-data-processing-")  # generateName
    assert result.stdout == f"Submitted {name}: kubectl -n argo get workflow {name}\n"
    [post] = kube_server.requests_to("POST", rf"^{API}/workflows$")
    assert post.query["fieldValidation"] == ["Strict"]
    assert post.body["kind"] == "Workflow" and post.body["metadata"]["generateName"]
    assert {r.auth for r in kube_server.requests} == {"ok"}
    assert KUBE_TOKEN not in cli.all_output()


@pytest.mark.slow
def test_run_once_wait_runs_the_pipeline_end_to_end(kube_server, project, cli):
    executor = use_local_mode(kube_server, project)  # type: ignore[arg-type]
    result = cli(*WAIT)
    assert result.exit_code == 0, describe(result)
    workflow = only_workflow(kube_server)
    name, uid = workflow["metadata"]["name"], workflow["metadata"]["uid"]
    assert result.stdout.splitlines() == [
        f"Submitted {name}: kubectl -n argo get workflow {name}",
        f"Workflow {name} succeeded.",
    ]
    lines = result.stderr.splitlines()
    for task in (*TASKS, "onExit"):
        assert f"{task}: Running" in lines and f"{task}: Succeeded" in lines, result.stderr
    assert lines.index("create-model-input-table-node: Running") > max(
        lines.index("preprocess-companies-node: Succeeded"),
        lines.index("preprocess-shuttles-node: Succeeded"),
    )
    [version] = (project / "data/03_primary/model_input_table.csv").iterdir()
    assert (version / "model_input_table.csv").read_text().startswith("shuttle_id,")
    status = json.loads((project / "data/08_reporting/run_status.json").read_text())
    assert status == {"status": "Succeeded"}
    assert len(list((executor.data_root / uid).iterdir())) == 2
    # Followed through the watch API, not by polling.
    watches = kube_server.requests_to("GET", rf"^{API}/workflows$")
    assert watches and all(r.query["watch"] == ["true"] for r in watches)
    assert len(kube_server.requests_to("GET", rf"^{API}/workflows/{name}$")) <= 1 + len(watches)


def test_a_failed_run_then_status_and_logs(kube_server, project, cli):
    update_config(project, nodes={"defaults": {"retry": None}})
    use_local_mode(kube_server, project, shim=True, fail=["preprocess_shuttles_node"])  # type: ignore[arg-type]
    result = cli(*WAIT)
    assert result.exit_code == 1, describe(result)
    name = only_workflow(kube_server)["metadata"]["name"]
    err = result.stderr.splitlines()
    assert f"Workflow {name} ended Failed: step 'preprocess-shuttles-node' failed" in err
    assert "Step preprocess-shuttles-node failed: exit code 1" in err
    assert "  | ValueError: preprocess_shuttles_node exploded" in err  # the pod's log, read
    assert "create-model-input-table-node: Omitted" in err
    pod_logs = kube_server.requests_to("GET", r"^/api/v1/namespaces/argo/pods/[^/]+/log$")
    assert [r.query["container"] for r in pod_logs] == [["main"]]

    out = cli.ok("status", name).stdout
    assert out.splitlines()[0].strip() == f"{name}: Failed"
    rows = table_rows(out)
    assert rows["preprocess-shuttles-node"][1:4] == ["preprocess_shuttles_node", "Failed", "1"]
    assert rows["create-model-input-table-node"][2] == "Omitted"

    every = cli.ok("logs", name).stdout.splitlines()
    assert "ValueError: preprocess_shuttles_node exploded" in every
    assert "shim: done preprocess_companies_node" in every
    assert len(kube_server.log_pods(name)) == 3  # two steps and the exit handler
    one = cli.ok("logs", name, "--step", "preprocess_companies_node").stdout.splitlines()
    assert one == [
        "shim: running preprocess_companies_node (status )",
        "shim: done preprocess_companies_node",
    ]
    assert_clean_error(
        cli("logs", name, "--step", "create_model_input_table_node"),
        f"Step create_model_input_table_node of {name} never ran (Omitted)",
    )
    assert_clean_error(
        cli("status", "no-such-run"), "Workflow \"no-such-run\" not found in namespace 'argo' (404)"
    )
    assert KUBE_TOKEN not in cli.all_output()


def test_schedule_is_created_then_updated_in_place(kube_server, cli):
    name = "spaceflights-default"
    kube_server.put(foreign("CronWorkflow", "someone-elses"))
    kube_server.clear_requests()
    first = cli.ok("schedule", "--cron", "0 6 * * *", "--timezone", "Europe/Paris")
    assert first.stdout == (
        f"Schedule {name}: 0 6 * * * (Europe/Paris) runs pipeline '__default__'.\n"
    )
    assert [r.method for r in kube_server.requests] == ["GET", "POST"]  # 404, then create
    created = kube_server.get("CronWorkflow", name)

    kube_server.clear_requests()
    cli.ok("schedule", "--cron", "30 7 * * 1-5", "--timezone", "Europe/Paris")
    updated = kube_server.get("CronWorkflow", name)
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert updated["metadata"]["generation"] == 2
    assert updated["spec"]["schedules"] == ["30 7 * * 1-5"]
    [put] = kube_server.requests_to("PUT", rf"^{API}/cronworkflows/{name}$")
    assert put.body["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert kube_server.requests_to("POST") == []

    listed = cli.ok("schedule", "--list").stdout
    [row] = [line for line in listed.splitlines() if name in line]
    assert "30 7 * * 1-5" in row and "Europe/Paris" in row
    assert "someone-elses" not in listed
    assert cli.ok("schedule", "--delete", name).stdout == f"Deleted schedule {name}.\n"
    assert kube_server.get("CronWorkflow", name) is None
    assert kube_server.get("CronWorkflow", "someone-elses") is not None
    assert_clean_error(cli("schedule", "--delete", name), name, "not found", "404")


def test_upload_is_idempotent_and_list_shows_the_projects_objects(kube_server, project, cli):
    name = "spaceflights-data-processing"
    kube_server.put(foreign("WorkflowTemplate", "other-template"))
    assert cli.ok("upload", "--pipeline", "data_processing").stdout == (
        f"WorkflowTemplate {name} saved (3 steps).\n"
    )
    created = kube_server.get("WorkflowTemplate", name)
    update_config(project, workflow={"parallelism": 2})
    kube_server.clear_requests()
    cli.ok("upload", "--pipeline", "data_processing")
    [saved] = [t for t in kube_server.objects("WorkflowTemplate") if t["metadata"]["name"] == name]
    assert saved["metadata"]["uid"] == created["metadata"]["uid"]
    assert saved["spec"]["parallelism"] == 2
    assert [r.method for r in kube_server.requests] == ["GET", "PUT"]

    cli.ok("schedule", "--cron", "0 6 * * *", "--pipeline", "reporting")
    listed = cli.ok("list").stdout
    rows = {
        tuple(cell.strip() for cell in re.split(r"[│|]", line)[1:-1])
        for line in listed.splitlines()
        if line.startswith(("│", "|"))
    }
    assert ("WorkflowTemplate", name, "data_processing", COMMIT) in rows, listed
    assert ("CronWorkflow", "spaceflights-reporting", "reporting", COMMIT) in rows, listed
    assert "other-template" not in listed
    selectors = {r.query.get("labelSelector", [""])[0] for r in kube_server.requests_to("GET")}
    assert "app.kubernetes.io/managed-by=kedro-argo,kedro.org/project=spaceflights" in selectors


def test_ui_needs_the_argo_server(kube_server, cli):
    assert_clean_error(cli("ui"), "The Argo UI needs the Argo Server", "ARGO_SERVER=host:port")
    assert kube_server.requests == []


def test_resume_needs_the_argo_server_and_says_how_else(kube_server, project, cli):
    update_config(project, nodes={"defaults": {"retry": None}})
    use_local_mode(kube_server, project, shim=True, fail=["preprocess_shuttles_node"])  # type: ignore[arg-type]
    assert cli(*WAIT).exit_code == 1
    name = only_workflow(kube_server)["metadata"]["name"]
    before = json.dumps(only_workflow(kube_server), sort_keys=True)
    assert_clean_error(
        cli("resume", name), "Argo's retry, which the Argo Server performs", f"argo retry {name}"
    )
    assert json.dumps(only_workflow(kube_server), sort_keys=True) == before
    assert [r for r in kube_server.requests if r.method not in ("GET",)][-1].method == "POST"
    assert KUBE_TOKEN not in cli.all_output()


def test_context_chooses_the_cluster_context_and_its_namespace(monkeypatch, cli):
    with StubKubeServer(token=KUBE_TOKEN, namespaces=("argo", "team-b")) as server:
        path = server.write_kubeconfig(extra_contexts={"team-b": "team-b"})
        monkeypatch.setenv("KUBECONFIG", str(path))
        result = cli.ok(*RUN, "--context", "team-b")
        [workflow] = server.objects("Workflow", "team-b")
        name = workflow["metadata"]["name"]
        assert result.stdout == (
            f"Submitted {name}: kubectl --context team-b -n team-b get workflow {name}\n"
        )
        assert cli.ok("status", name, "--context", "team-b").stdout.startswith(f"{name}: ")
        assert_clean_error(
            cli("status", name), f"Workflow \"{name}\" not found in namespace 'argo' (404)"
        )


@pytest.mark.parametrize(
    "args",
    [
        RUN,
        ("upload", "--pipeline", "data_processing"),
        ("schedule", "--cron", "0 6 * * *"),
        ("schedule", "--list"),
        ("list",),
        ("status", "some-run"),
        ("logs", "some-run"),
        ("logs", "some-run", "--step", "x"),
    ],
    ids=["run-once", "upload", "schedule", "schedule-list", "list", "status", "logs", "logs-step"],
)
def test_401_says_how_to_refresh_the_kubeconfig(kube_server, monkeypatch, cli, args):
    expired = "expired-kubeconfig-token-5521"
    monkeypatch.setenv("KUBECONFIG", str(kube_server.write_kubeconfig(token=expired)))
    message = assert_clean_error(
        cli(*args),
        "Kubernetes API server refused to ",
        "(401 Unauthorized): the kubeconfig's credentials of context 'stand-in'",
        "kubectl auth whoami",
    )
    assert expired not in cli.all_output() and "ARGO_TOKEN" not in message
    assert [r.auth for r in kube_server.requests] == ["wrong"]  # a 401 is not retried


def test_403_names_what_rbac_must_allow(monkeypatch, cli):
    with StubKubeServer(token=KUBE_TOKEN, forbidden=[("create", "workflows", "argo")]) as server:
        monkeypatch.setenv("KUBECONFIG", str(server.write_kubeconfig()))
        result = cli(*RUN)
    assert_clean_error(
        result,
        "in namespace 'argo' (403 Forbidden)",
        "lacks RBAC permissions to create workflows.argoproj.io there",
        "kubectl auth can-i create workflows.argoproj.io -n argo",
    )


def test_a_409_on_a_fixed_name(kube_server, project, cli):
    update_config(project, workflow={"name": "spaceflights-nightly"})
    kube_server.put(foreign("Workflow", "spaceflights-nightly") | {"kind": "Workflow"})
    assert_clean_error(
        cli(*RUN),
        "Workflow \"spaceflights-nightly\" already exists in namespace 'argo' (409 Conflict)",
    )
    assert len(kube_server.requests_to("POST")) == 1


def test_kubeconfig_and_mode_mistakes_are_one_line(kube_server, project, monkeypatch, cli):
    assert_clean_error(
        cli(*RUN, "--context", "prod"),
        "Context 'prod' is not in the kubeconfig",
        "(contexts: stand-in)",
    )
    monkeypatch.setenv("ARGO_SERVER", "argo.example.com:2746")
    assert_clean_error(
        cli("status", "x", "--context", "stand-in"),
        "--context selects a kubeconfig context, but the Argo Server at argo.example.com:2746",
    )
    monkeypatch.delenv("ARGO_SERVER")
    update_config(project, server={"mode": "argo-server"})
    assert_clean_error(cli("list"), "server.mode is argo-server but no Argo Server is configured")
    update_config(project, server={"mode": "auto"})
    monkeypatch.setenv("KUBECONFIG", str(project / "no-such-kubeconfig"))
    assert_clean_error(cli("list"), "No Argo Server and no kubeconfig")
    assert kube_server.requests == []
