"""``kedro argo schedule``: one CronWorkflow per project pipeline, created then updated in place."""

from __future__ import annotations

import pytest

from .helpers import TOKEN, assert_clean_error

pytestmark = pytest.mark.usefixtures("argo_env")

CRON = "0 6 * * *"
NAME = "spaceflights-default"  # <project>-<pipeline>


def foreign_cron(name: str) -> dict:
    """A CronWorkflow of another project (must never be listed)."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "kedro-argo", "kedro.org/project": "other"},
        },
        "spec": {"schedules": ["0 1 * * *"], "workflowSpec": {"entrypoint": "x"}},
    }


def test_creates_the_cron_workflow_then_updates_it_in_place(argo_server, cli):
    first = cli.ok("schedule", "--cron", CRON, "--timezone", "Europe/Paris")
    assert first.stdout == f"Schedule {NAME}: {CRON} (Europe/Paris) runs pipeline '__default__'.\n"
    [created] = argo_server.objects("CronWorkflow")
    assert created["metadata"]["name"] == NAME
    assert created["spec"]["schedules"] == [CRON]
    assert created["spec"]["timezone"] == "Europe/Paris"
    assert [r.method for r in argo_server.requests] == ["GET", "POST"]  # 404, then create

    argo_server.clear_requests()
    second = cli.ok("schedule", "--cron", "30 7 * * 1-5", "--timezone", "Europe/Paris")
    assert "30 7 * * 1-5 (Europe/Paris)" in second.stdout
    [updated] = argo_server.objects("CronWorkflow")
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert updated["metadata"]["generation"] == 2
    assert updated["spec"]["schedules"] == ["30 7 * * 1-5"]
    assert argo_server.requests_to("POST") == []
    [put] = argo_server.requests_to("PUT", rf"^/api/v1/cron-workflows/argo/{NAME}$")
    sent = put.body["cronWorkflow"]["metadata"]
    assert sent["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert TOKEN not in cli.all_output()


def test_list_shows_the_projects_schedules_and_delete_removes_one(argo_server, cli):
    argo_server.put(foreign_cron("someone-elses"))
    cli.ok("schedule", "--cron", CRON, "--timezone", "Europe/Paris")

    listed = cli.ok("schedule", "--list").stdout
    [row] = [line for line in listed.splitlines() if NAME in line]
    assert CRON in row and "Europe/Paris" in row and "no" in row  # not suspended
    assert "someone-elses" not in listed

    deleted = cli.ok("schedule", "--delete", NAME)
    assert deleted.stdout == f"Deleted schedule {NAME}.\n"
    assert argo_server.get("CronWorkflow", NAME) is None
    assert argo_server.get("CronWorkflow", "someone-elses") is not None
    assert NAME not in cli.ok("schedule", "--list").stdout

    again = cli("schedule", "--delete", NAME)
    assert_clean_error(again, NAME, "not found", "404")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--cron", "61 6 * * *"], ["Cron schedule '61 6 * * *'", "'61' is not a valid minute"]),
        (["--cron", "0 0 6 * * *"], ["has 6 fields: use 5"]),
        (["--cron", "0 6 * * 7"], ["'7' is not a valid day of week"]),
        (
            ["--cron", CRON, "--timezone", "Europe/Pariss"],
            ["Timezone 'Europe/Pariss' is not an IANA timezone name"],
        ),
    ],
    ids=["minute", "seconds-field", "sunday-7", "timezone"],
)
def test_bad_cron_or_timezone_is_refused_locally(argo_server, cli, args, fragments):
    result = cli("schedule", *args)
    assert_clean_error(result, *fragments)
    assert argo_server.requests == []
