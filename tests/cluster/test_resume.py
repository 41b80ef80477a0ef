"""``kedro argo resume``: Argo's retry of a failed workflow, against the stand-in Argo Server.

The end-to-end test runs the sample's ``data_processing`` pipeline for real (local mode behind
the stand-in, ``local_executor.py``): a node fails, the user fixes it, ``resume --wait`` runs
the failed step and the one it omitted, and the step that had succeeded is not run again.
"""

from __future__ import annotations

import pytest

from kedro_argo.local.executor import REUSED, StepPhase

from .helpers import TOKEN, assert_clean_error, describe, update_config, use_local_mode

pytestmark = pytest.mark.usefixtures("argo_env")

RUN = ("run-once", "--pipeline", "data_processing")
WAIT = ("--wait", "--poll-interval", "0.2")
BOOM = "companies feed is corrupt (kedro-argo resume test)"
DOCSTRING = '    """Parse the ``iata_approved`` flag and the ``company_rating`` percentage."""\n'


def only_workflow(server) -> dict:
    [workflow] = server.workflows
    return workflow


@pytest.mark.slow
def test_resume_reruns_only_what_did_not_succeed(argo_server, project, cli):
    nodes = project / "src/spaceflights/pipelines/data_processing/nodes.py"
    source = nodes.read_text()
    assert DOCSTRING in source
    nodes.write_text(source.replace(DOCSTRING, f"{DOCSTRING}    raise ValueError({BOOM!r})\n"))
    update_config(project, nodes={"defaults": {"retry": None}})
    executor = use_local_mode(argo_server, project)
    failed = cli(*RUN, *WAIT)
    assert failed.exit_code == 1, describe(failed)
    workflow = only_workflow(argo_server)
    name, uid = workflow["metadata"]["name"], workflow["metadata"]["uid"]
    first = executor.results[name]
    assert first.step("preprocess-companies-node").phase is StepPhase.FAILED
    assert first.step("preprocess-shuttles-node").phase is StepPhase.SUCCEEDED
    shuttles_at = first.step("preprocess-shuttles-node").finished_at

    nodes.write_text(source)  # the fix
    result = cli("resume", name, *WAIT)

    assert result.exit_code == 0, describe(result)
    assert result.stdout.splitlines() == [
        f"Resumed {name}: {argo_server.url}/workflows/argo/{name}",
        f"Workflow {name} succeeded.",
    ]
    [retry] = argo_server.requests_to("PUT", rf"^/api/v1/workflows/argo/{name}/retry$")
    assert retry.auth == "ok"
    assert retry.body == {"name": name, "namespace": "argo", "restartSuccessful": False}
    second = executor.results[name]
    shuttles = second.step("preprocess-shuttles-node")
    assert shuttles.message == REUSED and shuttles.attempt_history == ()
    for task in ("preprocess-companies-node", "create-model-input-table-node"):
        step = second.step(task)
        assert step.phase is StepPhase.SUCCEEDED and len(step.attempt_history) == 1, task
    assert second.step("preprocess-companies-node").started_at > shuttles_at
    # Same workflow, same uid: the reused step's intermediate data was read from its prefix.
    assert only_workflow(argo_server)["metadata"]["uid"] == uid
    [version] = (project / "data/03_primary/model_input_table.csv").iterdir()
    assert len((version / "model_input_table.csv").read_text().splitlines()) > 10
    assert len(list((executor.data_root / uid).iterdir())) == 2
    assert TOKEN not in cli.all_output()


def test_resume_refuses_a_workflow_that_succeeded_or_is_not_over(argo_server, project, cli):
    use_local_mode(argo_server, project, shim=True)
    assert cli(*RUN, *WAIT).exit_code == 0
    done = only_workflow(argo_server)["metadata"]["name"]
    assert_clean_error(
        cli("resume", done), f"Workflow {done} succeeded: there is nothing to resume"
    )

    argo_server.executor = None  # the next one stays Pending
    cli.ok(*RUN)
    names = [w["metadata"]["name"] for w in argo_server.workflows]
    [pending] = [name for name in names if name != done]
    assert_clean_error(
        cli("resume", pending),
        f"Workflow {pending} is Pending: only a Failed or Error workflow can be resumed",
        f"kedro argo status {pending}",
    )
    assert_clean_error(
        cli("resume", "no-such-run"), "Workflow \"no-such-run\" not found in namespace 'argo' (404)"
    )
    assert argo_server.requests_to("PUT") == []
    assert TOKEN not in cli.all_output()
