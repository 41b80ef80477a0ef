"""Local mode runs manifests as Argo would: order, parallelism, retries, failures, deadlines.

Steps are tiny ``python -S -c`` programs writing marker files (see ``helpers``); assertions are
on outcomes and orderings, never on precise durations.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from kedro_argo.errors import LocalRunError
from kedro_argo.local import (
    StepPhase,
    WorkflowPhase,
    load_manifest,
    plan_workflow,
    run_workflow,
)

from .helpers import (
    AWAIT,
    CONCURRENCY,
    DUMP,
    FLAKY,
    GRANDCHILD_NOTES_SIGTERM,
    HANG_GUARD_S,
    LEAVE_BACKGROUND,
    MARK,
    assert_valid,
    container_template,
    py,
    run_local,
    spawn_and_sleep,
    times,
    wait_for_exit,
    wait_until,
    workflow,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="process groups are POSIX")

MARK_TEMPLATE = {
    "name": "mark",
    "inputs": {"parameters": [{"name": "id"}, {"name": "sleep", "default": "0"}]},
    "container": py(MARK, "{{inputs.parameters.id}}", "{{inputs.parameters.sleep}}"),
}

CONC_TEMPLATE = {
    "name": "conc",
    "inputs": {"parameters": [{"name": "id"}, {"name": "want", "default": "1"}]},
    "container": py(CONCURRENCY, "{{inputs.parameters.id}}", "{{inputs.parameters.want}}"),
}
AWAIT_TEMPLATE = {  # marks like MARK_TEMPLATE, around waiting for <text> in <file>
    "name": "await",
    "inputs": {"parameters": [{"name": "id"}, {"name": "file"}, {"name": "text"}]},
    "container": py(
        AWAIT,
        "{{inputs.parameters.id}}",
        "{{inputs.parameters.file}}",
        "{{inputs.parameters.text}}",
    ),
}


def mark_task(name: str, sleep: str = "0", **task: object) -> dict[str, object]:
    params = [{"name": "id", "value": name}, {"name": "sleep", "value": sleep}]
    return {"name": name, "template": "mark", "arguments": {"parameters": params}, **task}


def await_task(name: str, file: Path, text: str = "", **task: object) -> dict[str, object]:
    """A task that runs until ``file`` holds ``text`` (a state, not a duration)."""
    params = [
        {"name": "id", "value": name},
        {"name": "file", "value": str(file)},
        {"name": "text", "value": text},
    ]
    return {"name": name, "template": "await", "arguments": {"parameters": params}, **task}


# --------------------------------------------------------------------------- order


def test_a_task_starts_only_after_its_parents_finished(tmp_path: Path) -> None:
    tasks = [
        await_task("a", tmp_path / "marks" / "lone.start"),  # runs until "lone" started
        mark_task("b", "0.1", depends="a"),
        mark_task("c", "0.15", depends="a"),
        mark_task("d", depends="b && c"),
        mark_task("e", depends="(d)"),
        mark_task("lone", "0.1"),
    ]
    run = run_local(workflow(tasks, [MARK_TEMPLATE, AWAIT_TEMPLATE], parallelism=4), tmp_path)
    assert run.result.phase is WorkflowPhase.SUCCEEDED, run.output
    assert [s.name for s in run.result.steps] == ["a", "b", "c", "d", "e", "lone"]
    assert all(s.phase is StepPhase.SUCCEEDED and s.attempts == 1 for s in run.result.steps)
    for child, parents in {"b": "a", "c": "a", "d": "bc", "e": "d"}.items():
        for parent in parents:
            assert times(run.marks, child)[0] >= times(run.marks, parent)[1], (child, parent)
    # independent tasks do overlap: "lone" started before "a" ended
    assert times(run.marks, "lone")[0] < times(run.marks, "a")[1]


def test_nested_dag_runs_as_one_task_with_its_own_inputs(tmp_path: Path) -> None:
    inner = {
        "name": "inner",
        "inputs": {"parameters": [{"name": "prefix"}]},
        "dag": {
            "tasks": [
                mark_task("x", "0.1")
                | {
                    "arguments": {
                        "parameters": [
                            {"name": "id", "value": "{{inputs.parameters.prefix}}-x"},
                            {"name": "sleep", "value": "0.1"},
                        ]
                    }
                },
                mark_task("y", depends="x")
                | {
                    "arguments": {
                        "parameters": [
                            {"name": "id", "value": "{{inputs.parameters.prefix}}-y"},
                        ]
                    }
                },
            ]
        },
    }
    tasks = [
        mark_task("a", "0.1"),
        {
            "name": "grp",
            "template": "inner",
            "depends": "a",
            "arguments": {"parameters": [{"name": "prefix", "value": "g"}]},
        },
        mark_task("after", depends="grp"),
    ]
    run = run_local(workflow(tasks, [MARK_TEMPLATE, inner]), tmp_path)
    assert run.result.phase is WorkflowPhase.SUCCEEDED, run.output
    assert [s.name for s in run.result.steps] == ["a", "grp.x", "grp.y", "after"]
    assert times(run.marks, "g-x")[0] >= times(run.marks, "a")[1]
    assert times(run.marks, "g-y")[0] >= times(run.marks, "g-x")[1]
    assert times(run.marks, "after")[0] >= times(run.marks, "g-y")[1]
    assert (tmp_path / "logs" / "grp.x.log").is_file()


def test_an_entrypoint_container_template_runs_alone(tmp_path: Path) -> None:
    manifest = workflow([], [container_template("solo", MARK, "solo")])
    manifest["spec"]["templates"].pop(0)
    manifest["spec"]["entrypoint"] = "solo"
    run = run_local(manifest, tmp_path)
    assert run.result.phase is WorkflowPhase.SUCCEEDED
    assert [s.name for s in run.result.steps] == ["solo"]
    assert (run.marks / "solo.end").is_file()


# --------------------------------------------------------------------------- parallelism


@pytest.mark.parametrize(("spec_limit", "override", "expected"), [(2, None, 2), (3, 1, 1)])
def test_parallelism_caps_concurrent_steps(
    tmp_path: Path, spec_limit: int, override: int | None, expected: int
) -> None:
    tasks = [
        {
            "name": f"t{i}",
            "template": "conc",
            "arguments": {  # each waits until `expected` run at once, then looks for more
                "parameters": [
                    {"name": "id", "value": f"t{i}"},
                    {"name": "want", "value": str(expected)},
                ]
            },
        }
        for i in range(4)
    ]
    run = run_local(
        workflow(tasks, [CONC_TEMPLATE], parallelism=spec_limit), tmp_path, parallelism=override
    )
    assert run.result.phase is WorkflowPhase.SUCCEEDED, run.output
    assert run.result.parallelism == expected
    seen = [int((run.marks / f"t{i}.max").read_text()) for i in range(4)]
    assert max(seen) == expected


def test_default_parallelism_is_the_cpu_count(tmp_path: Path) -> None:
    run = run_local(workflow([mark_task("a")], [MARK_TEMPLATE]), tmp_path)
    assert run.result.parallelism == (os.cpu_count() or 1)


def test_dag_template_parallelism_limits_its_subtree(tmp_path: Path) -> None:
    inner = {
        "name": "inner",
        "parallelism": 1,
        "dag": {
            "tasks": [
                {
                    "name": f"t{i}",
                    "template": "conc",
                    "arguments": {"parameters": [{"name": "id", "value": f"t{i}"}]},
                }
                for i in range(3)
            ]
        },
    }
    run = run_local(
        workflow([{"name": "grp", "template": "inner"}], [inner, CONC_TEMPLATE], parallelism=3),
        tmp_path,
    )
    assert run.result.phase is WorkflowPhase.SUCCEEDED, run.output
    assert max(int((run.marks / f"t{i}.max").read_text()) for i in range(3)) == 1


# --------------------------------------------------------------------------- retries


def flaky_template(retry: dict[str, object], fails: int) -> dict[str, object]:
    return {
        "name": "flaky",
        "retryStrategy": retry,
        "container": py(FLAKY, "flaky", str(fails)),
    }


def test_retries_until_success_with_backoff_between_attempts(tmp_path: Path) -> None:
    retry = {
        "limit": "3",
        "retryPolicy": "OnFailure",
        "backoff": {"duration": "100ms", "factor": "2"},
    }
    tasks = [{"name": "f", "template": "flaky"}, mark_task("after", depends="f")]
    run = run_local(workflow(tasks, [flaky_template(retry, fails=2), MARK_TEMPLATE]), tmp_path)
    assert run.result.phase is WorkflowPhase.SUCCEEDED, run.output
    step = run.result.step("f")
    assert step.attempts == 3
    assert [a.phase for a in step.attempt_history] == [
        StepPhase.FAILED,
        StepPhase.FAILED,
        StepPhase.SUCCEEDED,
    ]
    starts = [float(t) for t in (run.marks / "flaky.times").read_text().split()]
    assert len(starts) == 3
    # backoff really waited: 100ms before the 1st retry, 200ms before the 2nd
    assert starts[1] - starts[0] >= 0.1
    assert starts[2] - starts[1] >= 0.2
    log = (tmp_path / "logs" / "f.log").read_text()
    assert [int(n) for n in re.findall(r"===== attempt (\d)/4 ", log)] == [1, 2, 3]
    assert (run.marks / "after.end").is_file()


@pytest.mark.parametrize("policy", ["Always", "OnFailure", "OnError", "OnTransientError"])
def test_retry_limit_counts_retries_after_the_first_attempt(tmp_path: Path, policy: str) -> None:
    retry = {"limit": 1, "retryPolicy": policy}
    run = run_local(
        workflow([{"name": "f", "template": "flaky"}], [flaky_template(retry, 9)]), tmp_path
    )
    step = run.result.step("f")
    assert run.result.phase is WorkflowPhase.FAILED
    assert (step.phase, step.attempts, step.exit_code) == (StepPhase.FAILED, 2, 1)
    assert "no retries left" in step.message


def test_backoff_cap_and_max_duration(tmp_path: Path) -> None:
    capped = {"limit": "2", "backoff": {"duration": "100ms", "factor": "600", "cap": "150ms"}}
    bounded = {"limit": "5", "backoff": {"duration": "1s", "maxDuration": "300ms"}}
    manifest = workflow(
        [{"name": "capped", "template": "flaky"}, {"name": "bounded", "template": "bounded"}],
        [
            flaky_template(capped, 9),
            {"name": "bounded", "retryStrategy": bounded, "container": py(FLAKY, "b", "9")},
        ],
        parallelism=2,
    )
    run = run_local(manifest, tmp_path)
    starts = [float(t) for t in (run.marks / "flaky.times").read_text().split()]
    assert len(starts) == 3
    assert 0.15 <= starts[2] - starts[1] < 30  # the 150ms cap, not 100ms * 600
    bounded_step = run.result.step("bounded")
    assert bounded_step.attempts == 1  # a 1s backoff would end past maxDuration
    assert "maxDuration" in bounded_step.message


def test_a_command_that_cannot_start_is_an_error(tmp_path: Path) -> None:
    template = {
        "name": "missing",
        "retryStrategy": {"limit": "2"},  # OnFailure does not retry errors
        "container": {"command": ["kedro-argo-no-such-command-xyz"]},
    }
    run = run_local(workflow([{"name": "m", "template": "missing"}], [template]), tmp_path)
    step = run.result.step("m")
    assert run.result.phase is WorkflowPhase.ERROR
    assert (step.phase, step.attempts) == (StepPhase.ERROR, 1)
    assert "cannot start" in step.message
    assert "cannot start" in (tmp_path / "logs" / "m.log").read_text()


# --------------------------------------------------------------------------- failures


EXIT_HANDLER = {
    "name": "exit-handler",
    "container": py(
        "import os,sys; open(os.path.join(os.environ['MARKS'],'status'),'w')"
        ".write(sys.argv[1]+'\\n'+sys.argv[2])",
        "{{workflow.status}}",
        "{{workflow.failures}}",
    ),
}


@pytest.mark.parametrize("fail_fast", [True, False])
def test_a_failure_omits_downstream_lets_siblings_finish_and_runs_the_exit_handler(
    tmp_path: Path, fail_fast: bool
) -> None:
    tasks = [
        mark_task("a"),
        {"name": "b", "template": "boom", "depends": "a"},
        mark_task("c", depends="b"),
        mark_task("e", depends="c"),
        # running until b's failure is recorded: still running when b fails
        await_task("d", tmp_path / "logs" / "b.log", "===== attempt 1 Failed", depends="a"),
        mark_task("f", depends="d"),  # would start after b failed
    ]
    boom = container_template("boom", "import sys; print('boom'); sys.exit(3)")
    manifest = workflow(
        tasks,
        [MARK_TEMPLATE, AWAIT_TEMPLATE, boom, EXIT_HANDLER],
        parallelism=4,
        onExit="exit-handler",
    )
    manifest["spec"]["templates"][0]["dag"]["failFast"] = fail_fast
    run = run_local(manifest, tmp_path)
    phases = {s.name: s.phase for s in run.result.steps}
    assert run.result.phase is WorkflowPhase.FAILED
    assert phases["b"] is StepPhase.FAILED and run.result.step("b").exit_code == 3
    assert phases["c"] is phases["e"] is StepPhase.OMITTED
    assert not (run.marks / "c.start").exists() and not (run.marks / "e.start").exists()
    assert "upstream 'b' failed" in run.result.step("c").message
    assert phases["d"] is StepPhase.SUCCEEDED and (run.marks / "d.end").is_file()
    if fail_fast:
        assert phases["f"] is StepPhase.OMITTED and not (run.marks / "f.start").exists()
        assert "failFast" in run.result.step("f").message
    else:
        assert phases["f"] is StepPhase.SUCCEEDED
    status, failures = (run.marks / "status").read_text().split("\n", 1)
    assert status == "Failed"
    assert [f["displayName"] for f in json.loads(failures)] == ["b"]
    exit_step = run.result.step("onExit")
    assert exit_step.exit_handler and exit_step.phase is StepPhase.SUCCEEDED
    assert run.result.failed_steps == (run.result.step("b"),)


def test_exit_handler_sees_success_and_its_failure_fails_the_run(tmp_path: Path) -> None:
    notify = {
        "name": "notify",
        "dag": {"tasks": [{"name": "send", "template": "send"}]},
    }
    send = container_template(
        "send",
        "import os,sys; open(os.path.join(os.environ['MARKS'],'status'),'w').write(sys.argv[1]);"
        "sys.exit(1)",
        "{{workflow.status}}",
    )
    manifest = workflow([mark_task("a")], [MARK_TEMPLATE, notify, send], onExit="notify")
    run = run_local(manifest, tmp_path)
    assert (run.marks / "status").read_text() == "Succeeded"
    assert run.result.step("a").phase is StepPhase.SUCCEEDED
    assert run.result.step("onExit.send").phase is StepPhase.FAILED
    assert run.result.phase is WorkflowPhase.FAILED
    assert "exit handler" in run.result.message


# --------------------------------------------------------------------------- deadlines


@posix_only
def test_timeout_kills_the_process_group_and_counts_as_a_failed_attempt(tmp_path: Path) -> None:
    template = {
        "name": "sleepy",
        "timeout": "300ms",
        "retryStrategy": {"limit": "1"},
        "container": spawn_and_sleep("sleepy"),
    }
    started = time.monotonic()
    run = run_local(
        workflow([{"name": "s", "template": "sleepy"}], [template]),
        tmp_path,
        termination_grace=1.0,
    )
    assert time.monotonic() - started < HANG_GUARD_S  # killed: its grandchild sleeps 600 s
    step = run.result.step("s")
    assert run.result.phase is WorkflowPhase.FAILED
    assert (step.phase, step.attempts) == (StepPhase.FAILED, 2)
    assert all("timeout 0.30s" in a.message for a in step.attempt_history)
    assert step.exit_code == 128 + 15  # SIGTERM
    pids = [int(p) for p in (run.marks / "sleepy.pid").read_text().split()]
    assert len(pids) == 2
    for pid in pids:
        wait_for_exit(pid, "the grandchild's end (the kill of its process group)")


class StopTheRun(Exception):
    """Raised by an on_progress callback: local mode stops every step, as on Ctrl-C."""


@posix_only
def test_stopping_a_step_signals_its_whole_process_group(tmp_path: Path) -> None:
    # Argo's executor forwards SIGTERM to the main process's group: grandchildren see it too.
    # The run is stopped (as Ctrl-C would) once the grandchild listens for SIGTERM.
    template = {"name": "sleepy", "container": py(GRANDCHILD_NOTES_SIGTERM, "g")}
    manifest = assert_valid(workflow([{"name": "s", "template": "sleepy"}], [template]))
    marks = tmp_path / "marks"
    marks.mkdir()
    ready = marks / "g.term.ready"

    def stop_once_listening(records) -> None:  # type: ignore[no-untyped-def]
        if any(r.phase is StepPhase.RUNNING for r in records):
            wait_until(ready.exists, "the grandchild's start")
            raise StopTheRun

    with pytest.raises(StopTheRun):
        run_workflow(
            manifest,
            project_path=tmp_path,
            log_dir=tmp_path / "logs",
            summary=False,
            progress=False,
            extra_env={"MARKS": str(marks)},
            termination_grace=HANG_GUARD_S,  # it ends on SIGTERM: no SIGKILL may cut it short
            on_progress=stop_once_listening,
        )
    assert (marks / "g.term").exists(), "the grandchild never received SIGTERM"


@posix_only
def test_what_a_finished_step_leaves_running_is_killed(tmp_path: Path) -> None:
    template = {"name": "leaver", "container": py(LEAVE_BACKGROUND, "bg")}
    run = run_local(workflow([{"name": "s", "template": "leaver"}], [template]), tmp_path)
    assert run.result.phase is WorkflowPhase.SUCCEEDED
    pid = int((run.marks / "bg.pid").read_text())
    wait_for_exit(pid, "the end of what the step left behind (it sleeps 600 s)")


def test_template_active_deadline_seconds_kills_the_step(tmp_path: Path) -> None:
    template = {
        "name": "sleepy",
        "activeDeadlineSeconds": 1,
        "container": py("import time; time.sleep(600)"),
    }
    started = time.monotonic()
    run = run_local(workflow([{"name": "s", "template": "sleepy"}], [template]), tmp_path)
    assert time.monotonic() - started < HANG_GUARD_S  # not 600 s
    step = run.result.step("s")
    assert step.phase is StepPhase.FAILED
    assert "activeDeadlineSeconds" in step.message


def test_workflow_deadline_stops_everything_then_runs_the_exit_handler(tmp_path: Path) -> None:
    sleepy = {
        "name": "sleepy",
        "retryStrategy": {"limit": "3"},
        "container": py("import time; time.sleep(600)"),
    }
    waiting = {  # fails at once, then sits in a long backoff when the deadline passes
        "name": "flaky",
        "retryStrategy": {"limit": "3", "backoff": {"duration": "600s"}},
        "container": py(FLAKY, "w", "9"),
    }
    tasks = [
        {"name": "s", "template": "sleepy"},
        mark_task("after", depends="s"),
        {"name": "w", "template": "flaky"},
    ]
    manifest = workflow(
        tasks,
        [sleepy, MARK_TEMPLATE, EXIT_HANDLER, waiting],
        activeDeadlineSeconds=1,
        onExit="exit-handler",
        parallelism=2,
    )
    started = time.monotonic()
    run = run_local(manifest, tmp_path)
    assert time.monotonic() - started < HANG_GUARD_S  # not the 600 s sleep or backoff
    assert run.result.phase is WorkflowPhase.FAILED
    assert "activeDeadlineSeconds" in run.result.message
    s = run.result.step("s")
    assert (s.phase, s.attempts) == (StepPhase.FAILED, 1)  # no retry past the deadline
    assert run.result.step("after").phase is StepPhase.OMITTED
    w = run.result.step("w")
    assert (w.phase, w.attempts) == (StepPhase.FAILED, 1)
    assert "not retried" in w.message
    assert (run.marks / "status").read_text().startswith("Failed")


# --------------------------------------------------------------------------- variables, env


def test_variables_parameters_inputs_and_env_reach_the_process(tmp_path: Path) -> None:
    dump = {
        "name": "dump",
        "inputs": {"parameters": [{"name": "i1"}, {"name": "i2", "default": "dflt"}]},
        "container": {
            **py(
                DUMP,
                "dump",
                "{{workflow.uid}}",
                "{{ workflow.name }}",
                "{{workflow.namespace}}",
                "{{workflow.creationTimestamp}}",
                "{{workflow.parameters.p1}}",
                "{{workflow.parameters.p2}}",
                "{{inputs.parameters.i1}}",
                "{{inputs.parameters.i2}}",
                "$(FROM_ENV)",
                "$$(FROM_ENV)",
                "$(UNKNOWN_VAR)",
            ),
            "env": [
                {"name": "FROM_ENV", "value": "uid={{workflow.uid}}"},
                {"name": "SHARED", "value": "template"},
            ],
            "workingDir": "/home/kedro_docker",
        },
    }
    task = {
        "name": "d",
        "template": "dump",
        "arguments": {"parameters": [{"name": "i1", "value": "p1 is {{workflow.parameters.p1}}"}]},
    }
    manifest = workflow(
        [task],
        [dump],
        arguments={"parameters": [{"name": "p1", "value": "0.2"}, {"name": "p2", "value": "x"}]},
    )
    manifest["spec"]["templateDefaults"]["container"]["env"] = [
        {"name": "SHARED", "value": "defaults"},
        {"name": "KEDRO_ARGO_RUN_ID", "value": "{{workflow.uid}}"},
    ]
    run = run_local(
        manifest,
        tmp_path,
        parameters={"p2": "override"},
        workflow_uid="1234-uid",
        extra_env={"SHARED": "extra", "ONLY_EXTRA": "e"},
    )
    assert run.result.phase is WorkflowPhase.SUCCEEDED, run.output
    seen = json.loads((run.marks / "dump.json").read_text())
    uid, name, ns, created, p1, p2, i1, i2, k8s, escaped, unknown = seen["argv"]
    assert uid == "1234-uid"
    assert re.fullmatch(r"t-[bcdfghjklmnpqrstvwxz2456789]{5}", name)
    assert name == run.result.workflow_name
    assert ns == "local"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created)
    assert (p1, p2, i1, i2) == ("0.2", "override", "p1 is 0.2", "dflt")
    assert (k8s, escaped, unknown) == ("uid=1234-uid", "$(FROM_ENV)", "$(UNKNOWN_VAR)")
    env = seen["env"]
    assert env["SHARED"] == "template"  # template env > templateDefaults env > extra_env
    assert env["KEDRO_ARGO_RUN_ID"] == "1234-uid"
    assert env["ONLY_EXTRA"] == "e"
    assert Path(seen["cwd"]) == (tmp_path / "project").resolve()


def test_secret_env_comes_from_the_local_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = {
        "name": "dump",
        "container": {
            **py(DUMP, "dump", "$(API_TOKEN)"),
            "env": [
                {
                    "name": "API_TOKEN",
                    "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}},
                }
            ],
        },
    }
    manifest = workflow([{"name": "d", "template": "dump"}], [dump])
    monkeypatch.setenv("API_TOKEN", "s3cr3t-value")
    run = run_local(manifest, tmp_path)
    seen = json.loads((run.marks / "dump.json").read_text())
    assert seen["env"]["API_TOKEN"] == "s3cr3t-value"
    assert seen["argv"] == ["s3cr3t-value"]
    # never shown: not in the log's command line, not in the console output
    assert "s3cr3t" not in (tmp_path / "logs" / "d.log").read_text()
    assert "s3cr3t" not in run.output


# --------------------------------------------------------------------------- inputs


def _single_step(kind: str) -> dict[str, object]:
    return workflow([mark_task("only")], [MARK_TEMPLATE], kind=kind)


@pytest.mark.parametrize(
    ("kind", "name_pattern"),
    [
        ("WorkflowTemplate", r"t-[bcdfghjklmnpqrstvwxz2456789]{5}"),
        ("CronWorkflow", r"t-\d{10}"),
    ],
)
def test_workflow_template_and_cron_workflow_files_run(
    tmp_path: Path, kind: str, name_pattern: str
) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(assert_valid(_single_step(kind))))
    manifest = load_manifest(path)
    assert manifest["kind"] == kind
    run = run_local(manifest, tmp_path)
    assert run.result.phase is WorkflowPhase.SUCCEEDED
    assert re.fullmatch(name_pattern, run.result.workflow_name)
    assert (run.marks / "only.end").is_file()


def test_multi_document_files(tmp_path: Path) -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    wf = assert_valid(_single_step("Workflow"))
    one = tmp_path / "one.yaml"
    one.write_text(yaml.safe_dump_all([config_map, wf]))
    assert load_manifest(one)["kind"] == "Workflow"
    two = tmp_path / "two.yaml"
    two.write_text(yaml.safe_dump_all([wf, assert_valid(_single_step("WorkflowTemplate"))]))
    with pytest.raises(LocalRunError, match=r"holds 2 workflow documents"):
        load_manifest(two)
    none = tmp_path / "none.yaml"
    none.write_text(yaml.safe_dump_all([config_map]))
    with pytest.raises(LocalRunError, match=r"holds no Workflow, WorkflowTemplate or CronWorkflow"):
        load_manifest(none)
    with pytest.raises(LocalRunError, match=r"cannot read manifest"):
        load_manifest(tmp_path / "missing.yaml")


# --------------------------------------------------------------------------- logs and output


def test_logs_are_written_and_a_failed_steps_tail_is_reported(tmp_path: Path) -> None:
    noisy = container_template(
        "noisy", "import sys\nfor i in range(1, 101): print('line', i)\nsys.exit(2)"
    )
    manifest = workflow(
        [mark_task("ok"), {"name": "noisy", "template": "noisy"}], [MARK_TEMPLATE, noisy]
    )
    run = run_local(manifest, tmp_path)
    ok, failed = run.result.step("ok"), run.result.step("noisy")
    assert ok.log_path == tmp_path / "logs" / "ok.log" and ok.log_path.is_file()
    assert ok.log_tail is None
    log = failed.log_path.read_text()
    assert "line 1\n" in log and "line 100\n" in log
    assert "===== attempt 1 Failed: exit code 2" in log
    assert failed.log_tail is not None
    tail = failed.log_tail.splitlines()
    assert len(tail) == 30
    assert "line 100" in tail and "line 50" not in tail
    assert "line 100" in run.output and "line 50\n" not in run.output
    assert "noisy" in run.output and "Failed" in run.output


def test_live_progress_on_a_terminal(tmp_path: Path) -> None:
    screen = tmp_path / "screen.txt"
    with screen.open("w") as out:
        console = Console(file=out, force_terminal=True, width=120, height=20)
        # "a" runs until the live table showed it running
        manifest = workflow([await_task("a", screen, "running")], [AWAIT_TEMPLATE])
        run = run_local(manifest, tmp_path, console=console, progress=None)
    assert run.result.phase is WorkflowPhase.SUCCEEDED
    assert run.result.step("a").duration < HANG_GUARD_S  # it saw the table, did not give up
    text = screen.read_text()
    assert "running" in text  # the live table was drawn while "a" ran
    assert "Succeeded" in text  # then the summary


def test_plan_only_checks_without_running(tmp_path: Path) -> None:
    manifest = assert_valid(workflow([mark_task("a")], [MARK_TEMPLATE]))
    plan = plan_workflow(manifest, project_path=tmp_path)
    assert [s.name for s in plan.steps] == ["a"]
    assert re.fullmatch(r"[0-9a-f-]{36}", plan.workflow_uid)
    assert not list(tmp_path.iterdir())  # nothing ran, nothing written
    with pytest.raises(LocalRunError, match="parallelism must be at least 1"):
        run_workflow(manifest, project_path=tmp_path, log_dir=tmp_path / "l", parallelism=0)
