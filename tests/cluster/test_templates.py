"""``kedro argo upload`` (WorkflowTemplates), ``list`` and ``ui``."""

from __future__ import annotations

import re

import pytest

from ..argo_server import StubArgoServer
from .helpers import COMMIT, TOKEN, update_config

NAME = "spaceflights-data-processing"  # <project>-<pipeline>


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


@pytest.mark.usefixtures("argo_env")
def test_upload_creates_then_updates_one_workflow_template(argo_server, project, cli):
    first = cli.ok("upload", "--pipeline", "data_processing")
    assert first.stdout == f"WorkflowTemplate {NAME} saved (3 steps).\n"
    [created] = argo_server.objects("WorkflowTemplate")
    assert created["metadata"]["name"] == NAME
    assert "parallelism" not in created["spec"]

    update_config(project, workflow={"parallelism": 2})
    argo_server.clear_requests()
    second = cli.ok("upload", "--pipeline", "data_processing")
    assert second.stdout == first.stdout
    [updated] = argo_server.objects("WorkflowTemplate")
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert updated["spec"]["parallelism"] == 2
    assert argo_server.requests_to("POST") == []
    [put] = argo_server.requests_to("PUT", rf"^/api/v1/workflow-templates/argo/{NAME}$")
    sent = put.body["template"]["metadata"]
    assert sent["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert TOKEN not in cli.all_output()


@pytest.mark.usefixtures("argo_env")
def test_list_shows_the_projects_templates_and_schedules_only(argo_server, cli):
    argo_server.put(foreign("WorkflowTemplate", "other-template"))
    argo_server.put(foreign("CronWorkflow", "other-schedule"))
    empty = cli.ok("list").stdout
    assert "other-template" not in empty and "other-schedule" not in empty

    cli.ok("upload", "--pipeline", "data_processing")
    cli.ok("schedule", "--cron", "0 6 * * *", "--pipeline", "reporting")
    listed = cli.ok("list").stdout
    rows = {
        tuple(cell.strip() for cell in re.split(r"[│|]", line)[1:-1])
        for line in listed.splitlines()
        if line.startswith(("│", "|"))
    }
    assert ("WorkflowTemplate", NAME, "data_processing", COMMIT) in rows, listed
    assert ("CronWorkflow", "spaceflights-reporting", "reporting", COMMIT) in rows, listed
    assert "other-template" not in listed and "other-schedule" not in listed


@pytest.mark.usefixtures("argo_env")
def test_ui_prints_the_namespace_and_workflow_pages(argo_server, cli):
    assert cli.ok("ui").stdout == f"{argo_server.url}/workflows/argo\n"
    page = cli.ok("ui", "spaceflights-default-x7k2p").stdout
    assert page == f"http://{argo_server.address}/workflows/argo/spaceflights-default-x7k2p\n"
    assert argo_server.requests == []  # printing a URL needs no server call


def test_ui_honours_base_href_and_namespace(monkeypatch, cli):
    with StubArgoServer(base_href="argo-ui", namespaces=None) as server:
        for key, value in server.env(ARGO_NAMESPACE="team-a").items():
            monkeypatch.setenv(key, value)
        page = cli.ok("ui", "run-1").stdout
        assert page == f"http://{server.address}/argo-ui/workflows/team-a/run-1\n"
