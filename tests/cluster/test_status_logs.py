"""``kedro argo status`` and ``kedro argo logs`` on a finished run.

One run per module (per xdist worker): the ``data_processing`` pipeline submitted with
``run-once --wait`` and run by local mode with a fast stand-in for the step command, in which
``preprocess_companies_node`` fails twice (one retry), so ``create_model_input_table_node`` is
omitted and the exit handler sees ``Failed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..argo_server import StubArgoServer
from .helpers import (
    TOKEN,
    Cli,
    assert_clean_error,
    copy_project,
    describe,
    prepare_env,
    table_rows,
    update_config,
    use_local_mode,
)

COMPANIES = ["shim: running preprocess_companies_node (status )"]
COMPANIES += ["ValueError: preprocess_companies_node exploded"]
SHUTTLES = [
    "shim: running preprocess_shuttles_node (status )",
    "shim: done preprocess_shuttles_node",
]
EXIT = ["shim: running the exit handler (status Failed)", "shim: done the exit handler"]


@dataclass(frozen=True)
class Finished:
    server: StubArgoServer
    project: Path
    name: str


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Finished]:
    with StubArgoServer(token=TOKEN, executor=None) as server:
        project = copy_project(tmp_path_factory.mktemp("status") / "spaceflights")
        update_config(project, nodes={"defaults": {"retry": {"limit": 1, "backoff": None}}})
        use_local_mode(server, project, shim=True, fail=["preprocess_companies_node"])
        with pytest.MonkeyPatch.context() as mp:
            prepare_env(mp)
            for key, value in server.env().items():
                mp.setenv(key, value)
            mp.chdir(project)
            result = Cli(project)(
                "run-once", "--wait", "--pipeline", "data_processing", "--poll-interval", "0.2"
            )
        assert result.exit_code == 1, describe(result)
        [workflow] = server.workflows
        yield Finished(server, project, workflow["metadata"]["name"])


@pytest.fixture
def run(finished: Finished, monkeypatch: pytest.MonkeyPatch) -> Finished:
    for key, value in finished.server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(finished.project)
    return finished


@pytest.fixture
def kedro_argo(run: Finished) -> Cli:
    return Cli(run.project)


def test_status_shows_each_steps_phase(run: Finished, kedro_argo: Cli) -> None:
    out = kedro_argo.ok("status", run.name).stdout
    assert out.splitlines()[0].strip() == f"{run.name}: Failed"
    rows = table_rows(out)
    assert set(rows) == {
        "preprocess-companies-node",
        "preprocess-shuttles-node",
        "create-model-input-table-node",
        "onExit",
    }, out
    _, kedro_node, phase, attempts, _, message = rows["preprocess-companies-node"]
    assert (kedro_node, phase, attempts) == ("preprocess_companies_node", "Failed", "2")
    assert message == "exit code 1 (no retries left)"
    assert rows["preprocess-shuttles-node"][1:4] == [
        "preprocess_shuttles_node",
        "Succeeded",
        "1",
    ]
    omitted = rows["create-model-input-table-node"]
    assert omitted[1:4] == ["create_model_input_table_node", "Omitted", "0"]
    assert omitted[5] == "upstream 'preprocess-companies-node' failed"
    assert rows["onExit"][2] == "Succeeded"


def test_status_of_an_unknown_workflow(run: Finished, kedro_argo: Cli) -> None:
    result = kedro_argo("status", "no-such-run")
    assert_clean_error(result, "Workflow \"no-such-run\" not found in namespace 'argo' (404)")


def test_logs_prints_every_pods_lines(run: Finished, kedro_argo: Cli) -> None:
    lines = kedro_argo.ok("logs", run.name).stdout.splitlines()
    assert sorted(lines) == sorted(COMPANIES * 2 + SHUTTLES + EXIT)


@pytest.mark.parametrize("step", ["preprocess-shuttles-node", "preprocess_shuttles_node"])
def test_logs_of_one_step_by_task_or_kedro_node_name(
    run: Finished, kedro_argo: Cli, step: str
) -> None:
    assert kedro_argo.ok("logs", run.name, "--step", step).stdout.splitlines() == SHUTTLES


def fnv1a_32(text: str) -> int:
    value = 2166136261
    for byte in text.encode():
        value = ((value ^ byte) * 16777619) % 2**32
    return value


def test_logs_of_a_retried_step_are_its_last_attempts(run: Finished, kedro_argo: Cli) -> None:
    run.server.clear_requests()
    out = kedro_argo.ok("logs", run.name, "--step", "preprocess_companies_node").stdout
    assert out.splitlines() == COMPANIES  # once, not once per attempt
    # Read from the last attempt's pod, named as Argo names pods (v2: <wf>-<template>-<hash>).
    # The template in the pod name is the shared step template the task calls.
    workflow = run.server.get("Workflow", run.name)
    [template] = [
        task["template"]
        for tmpl in workflow["spec"]["templates"]
        for task in (tmpl.get("dag") or {}).get("tasks", [])
        if task["name"] == "preprocess-companies-node"
    ]
    node = f"{run.name}.preprocess-companies-node(1)"
    pod = f"{run.name}-{template}-{fnv1a_32(node)}"
    [request] = run.server.requests_to("GET", r"/log$")
    assert request.path == f"/api/v1/workflows/argo/{run.name}/{pod}/log"


def test_logs_of_the_exit_handler(run: Finished, kedro_argo: Cli) -> None:
    assert kedro_argo.ok("logs", run.name, "--step", "onExit").stdout.splitlines() == EXIT


def test_logs_of_an_unknown_step_lists_the_steps(run: Finished, kedro_argo: Cli) -> None:
    result = kedro_argo("logs", run.name, "--step", "train_model_node")
    assert_clean_error(
        result,
        f"Workflow {run.name} has no step 'train_model_node' (steps: ",
        "create-model-input-table-node, onExit, preprocess-companies-node, "
        "preprocess-shuttles-node)",
    )


def test_logs_of_a_step_that_never_ran_say_so(run: Finished, kedro_argo: Cli) -> None:
    result = kedro_argo("logs", run.name, "--step", "create_model_input_table_node")
    assert_clean_error(
        result, f"Step create_model_input_table_node of {run.name} never ran (Omitted)"
    )
