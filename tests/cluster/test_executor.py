"""The test executor (``local_executor.py``) and the ``on_progress`` hook of local mode it uses.

``on_progress`` is library code (``kedro_argo.local.executor``); the executor tests check that
what the stand-in server shows is shaped as Argo shows it, so the cluster commands are tested
against realistic status.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from kedro_argo.compiler.build import BuildRequest, build_manifest
from kedro_argo.local import StepPhase, StepRecord, run_workflow

from ..argo_server import StubArgoServer, WorkflowUpdater
from ..local.helpers import (
    HANG_GUARD_S,
    assert_valid,
    container_template,
    wait_for_exit,
    wait_until,
    workflow,
)
from .helpers import update_config, use_local_mode
from .local_executor import LocalModeExecutor, split_attempts

FINAL = {StepPhase.SUCCEEDED, StepPhase.FAILED, StepPhase.ERROR, StepPhase.OMITTED}


def fnv1a_32(text: str) -> int:
    value = 2166136261
    for byte in text.encode():
        value = ((value ^ byte) * 16777619) % 2**32
    return value


# --------------------------------------------------------------------------- on_progress


def state(records: Iterable[StepRecord]) -> tuple:
    return tuple((r.name, r.phase, r.attempts) for r in records)


def test_on_progress_sees_each_state_change_then_the_final_records(tmp_path: Path) -> None:
    ok = container_template("ok", "print('ok')")
    bad = container_template("bad", "import sys; print('boom'); sys.exit(3)")
    bad["retryStrategy"] = {"limit": "1"}
    bye = container_template("bye", "print('bye')")
    tasks = [
        {"name": "a", "template": "ok"},
        {"name": "b", "template": "ok", "depends": "a"},
        {"name": "c", "template": "bad", "depends": "b"},
        {"name": "d", "template": "ok", "depends": "c"},
    ]
    manifest = assert_valid(workflow(tasks, [ok, bad, bye], onExit="bye"))
    calls: list[tuple[StepRecord, ...]] = []
    threads: set[int] = set()

    def record(records: tuple[StepRecord, ...]) -> None:
        threads.add(threading.get_ident())
        calls.append(records)

    result = run_workflow(
        manifest,
        project_path=tmp_path,
        log_dir=tmp_path / "logs",
        summary=False,
        progress=False,
        on_progress=record,
    )

    assert threads == {threading.get_ident()}  # called from the thread running the workflow
    assert all(isinstance(c, tuple) and all(isinstance(r, StepRecord) for r in c) for c in calls)
    assert calls[-1] == result.steps  # the last call: the final records, log tails included
    assert calls[-1][2].log_tail is not None and "boom" in calls[-1][2].log_tail
    changes = [state(c) for c in calls[:-1]]
    assert all(x != y for x, y in itertools.pairwise(changes)), "a call without a change"
    seen = {(name, phase, attempts) for s in changes for name, phase, attempts in s}
    # Every step's progress was seen, in order: a and b ran and succeeded before c started.
    for name in "abc":
        assert (name, StepPhase.RUNNING, 1) in seen
    assert ("c", StepPhase.RUNNING, 2) in seen  # its retry
    phases = [{n: p for n, p, _ in s} for s in changes]
    first_c = next(p for p in phases if p["c"] is not StepPhase.PENDING)
    assert first_c["a"] is first_c["b"] is StepPhase.SUCCEEDED
    assert ("d", StepPhase.OMITTED, 0) in seen
    # The exit handler shows up once the DAG is over, and runs.
    with_exit = [s for s in changes if any(n == "onExit" for n, _, _ in s)]
    assert with_exit and all(p in FINAL for s in with_exit for n, p, _ in s if n != "onExit")
    assert ("onExit", StepPhase.RUNNING, 1) in seen
    # Per step, attempts never go down and a final phase never changes.
    for name in ("a", "b", "c", "d", "onExit"):
        history = [(p, n) for s in changes for x, p, n in s if x == name]
        assert [n for _, n in history] == sorted(n for _, n in history)
        finals = [h for h in history if h[0] in FINAL]
        assert len(set(finals)) <= 1


def test_an_exception_in_on_progress_stops_the_run(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = "import os, sys, time\nopen(sys.argv[1], 'w').write(str(os.getpid()))\ntime.sleep(600)"
    sleepy = container_template("sleepy", code, str(pid_file))
    manifest = assert_valid(workflow([{"name": "s", "template": "sleepy"}], [sleepy]))

    def mirror(records: tuple[StepRecord, ...]) -> None:
        if any(r.phase is StepPhase.RUNNING for r in records):
            wait_until(pid_file.exists, "the step's start")
            raise RuntimeError("mirror broke")

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="mirror broke"):
        run_workflow(
            manifest,
            project_path=tmp_path,
            log_dir=tmp_path / "logs",
            summary=False,
            progress=False,
            termination_grace=0.5,
            on_progress=mirror,
        )
    assert time.monotonic() - started < HANG_GUARD_S  # stopped, not waited for (600 s)
    wait_for_exit(int(pid_file.read_text()), "the stopped step's end")


# --------------------------------------------------------------------------- the executor


class Recorder:
    """Wraps the server's ``update``: every status and log call, in order."""

    def __init__(self, update: WorkflowUpdater) -> None:
        self.inner = update
        self.events: list[tuple[str, Any]] = []

    def __call__(self, status: dict) -> None:
        self.events.append(("status", copy.deepcopy(status)))
        self.inner(status)

    def log(self, pod: str, lines: Any, container: str = "main") -> None:
        self.events.append(("log", pod))
        self.inner.log(pod, lines, container)

    def workflow(self) -> dict:
        return self.inner.workflow()


def submit(server: StubArgoServer, client: Any, project: Path, executor: LocalModeExecutor):
    recorders: list[Recorder] = []

    def recording(wf: dict, update: WorkflowUpdater) -> None:
        recorder = Recorder(update)
        recorders.append(recorder)
        executor(wf, recorder)  # type: ignore[arg-type]

    server.executor = recording
    manifest = build_manifest(BuildRequest(project_path=project, pipeline="data_processing"))
    created = client.create_workflow(manifest.manifest)
    name = created["metadata"]["name"]
    final = server.wait_for_phase(name)
    server.wait_idle()
    return manifest.manifest, created, final, recorders[0]


def test_status_is_shaped_as_argo_shapes_it(argo_server, argo_client, project: Path) -> None:
    update_config(project, nodes={"defaults": {"retry": {"limit": 1, "backoff": None}}})
    executor = use_local_mode(argo_server, project, shim=True, fail=["preprocess_companies_node"])
    manifest, created, final, recorder = submit(argo_server, argo_client, project, executor)
    name, uid = created["metadata"]["name"], created["metadata"]["uid"]
    status, nodes = final["status"], final["status"]["nodes"]

    assert status["phase"] == "Failed"
    assert status["message"] == "step 'preprocess-companies-node' failed"
    assert status["startedAt"] <= status["finishedAt"]
    assert status["progress"] == "4/4"  # 2 attempts + 1 + the exit handler
    assert executor.results[name].workflow_uid == uid  # {{workflow.uid}} from the server
    for node_id, node in nodes.items():
        expected = name if node["name"] == name else f"{name}-{fnv1a_32(node['name'])}"
        assert node_id == node["id"] == expected
    by_name = {n["name"]: n for n in nodes.values()}
    root = by_name[name]
    assert (root["type"], root["phase"], root["templateName"]) == (
        "DAG",
        "Failed",
        manifest["spec"]["entrypoint"],
    )
    tasks = ("preprocess-companies-node", "preprocess-shuttles-node")
    omitted = "create-model-input-table-node"
    assert sorted(root["children"]) == sorted(
        by_name[f"{name}.{t}"]["id"] for t in (*tasks, omitted)
    )
    companies = by_name[f"{name}.preprocess-companies-node"]
    assert companies["type"] == "Retry" and companies["phase"] == "Failed"
    assert companies["displayName"] == "preprocess-companies-node"
    templates = {t["name"]: t for t in manifest["spec"]["templates"]}
    tasks_of_dag = {t["name"]: t for t in templates[root["templateName"]]["dag"]["tasks"]}
    assert companies["templateName"] == tasks_of_dag["preprocess-companies-node"]["template"]
    assert companies["boundaryID"] == name
    # Argo reports the resolved inputs of what it runs: the shared template's `nodes`.
    companies_inputs = {"parameters": [{"name": "nodes", "value": "preprocess_companies_node"}]}
    assert companies["inputs"] == companies_inputs
    attempts = [nodes[c] for c in companies["children"]]
    assert [a["inputs"] for a in attempts] == [companies_inputs] * 2
    assert [a["name"] for a in attempts] == [
        f"{name}.preprocess-companies-node(0)",
        f"{name}.preprocess-companies-node(1)",
    ]
    assert [(a["type"], a["phase"], a["outputs"]["exitCode"]) for a in attempts] == [
        ("Pod", "Failed", "1")
    ] * 2
    shuttles = by_name[f"{name}.preprocess-shuttles-node"]
    assert (shuttles["type"], shuttles["phase"], len(shuttles["children"])) == (
        "Retry",
        "Succeeded",
        1,
    )
    skipped = by_name[f"{name}.{omitted}"]
    assert (skipped["type"], skipped["phase"]) == ("Skipped", "Omitted")
    assert "inputs" not in skipped  # Argo resolves no inputs for a task it does not run
    exit_node = by_name[f"{name}.onExit"]
    assert exit_node["displayName"] == "onExit"
    assert exit_node["templateName"] == manifest["spec"]["onExit"]
    assert exit_node["phase"] == "Succeeded"

    # Logs: one pod per attempt, named as Argo v2 names pods.
    pods = argo_server.log_pods(name)
    expected_pods = {
        f"{name}-{n['templateName']}-{fnv1a_32(n['name'])}"
        for n in nodes.values()
        if n["type"] == "Pod"
    }
    assert pods == expected_pods
    # Progress was reported as it happened, logs before the final phase.
    statuses = [e[1] for e in recorder.events if e[0] == "status"]
    assert statuses[0]["phase"] == "Running"
    running = [
        s
        for s in statuses
        if any(
            n.get("displayName") == "preprocess-shuttles-node" and n.get("phase") == "Running"
            for n in (s.get("nodes") or {}).values()
        )
    ]
    assert running, "no status showed a step running"
    final_index = next(i for i, e in enumerate(recorder.events) if e[1] == statuses[-1])
    last_log = max(i for i, e in enumerate(recorder.events) if e[0] == "log")
    assert statuses[-1]["phase"] == "Failed" and last_log < final_index


def test_without_retry_strategy_steps_are_pod_nodes(argo_server, argo_client, project) -> None:
    update_config(project, nodes={"defaults": {"retry": None}})
    executor = use_local_mode(argo_server, project, shim=True)
    _, created, final, _ = submit(argo_server, argo_client, project, executor)
    name = created["metadata"]["name"]
    steps = [n for n in final["status"]["nodes"].values() if n["name"] != name]
    assert {(n["displayName"], n["type"], n["phase"]) for n in steps} == {
        ("preprocess-companies-node", "Pod", "Succeeded"),
        ("preprocess-shuttles-node", "Pod", "Succeeded"),
        ("create-model-input-table-node", "Pod", "Succeeded"),
        ("onExit", "Pod", "Succeeded"),
    }
    pods = argo_server.log_pods(name)
    assert pods == {f"{name}-{n['templateName']}-{fnv1a_32(n['name'])}" for n in steps}
    assert final["status"]["phase"] == "Succeeded"


def test_a_workflow_local_mode_refuses_ends_in_error(argo_server, argo_client, tmp_path) -> None:
    executor = LocalModeExecutor(tmp_path, tmp_path / "work")
    argo_server.executor = executor
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "script-"},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {"name": "main", "script": {"image": "python:3.12", "source": "print(1)"}}
            ],
        },
    }
    name = argo_client.create_workflow(manifest)["metadata"]["name"]
    final = argo_server.wait_for_phase(name)
    assert final["status"]["phase"] == "Error"
    assert final["status"]["message"].startswith("local mode cannot run it: ")
    assert "script" in executor.errors[name]


def test_split_attempts() -> None:
    log = (
        "===== attempt 1/2 · 2030-01-01T00:00:00+00:00 =====\n"
        "$ python -m kedro_argo step --nodes a\n"
        "first\n"
        "===== attempt 1 Failed: exit code 1 (0.1s) =====\n"
        "===== attempt 2/2 · 2030-01-01T00:00:01+00:00 =====\n"
        "$ python -m kedro_argo step --nodes a\n"
        "$ printed by the step itself\n"
        "second\n"
        "===== attempt 2 Succeeded (0.1s) =====\n"
    )
    assert split_attempts(log) == {1: ["first"], 2: ["$ printed by the step itself", "second"]}
    assert split_attempts("") == {}
