"""A workflow of a project using kedro-mlflow: the start task, the exit handler ending the run,
the flag every pod gets — and, without kedro-mlflow, not one byte of difference. Hand-made
facts (``mlflow=True``) and a real project compiled here, where kedro-mlflow is not installed."""

from __future__ import annotations

import dataclasses
import types
from pathlib import Path
from typing import Any

import pytest

from kedro_argo import argo, contract
from kedro_argo.compiler.build import MLFLOW_NOTE, BuildRequest, build_manifest
from kedro_argo.compiler.emit import EXIT_TEMPLATE, MLFLOW_START_TEMPLATE
from kedro_argo.compiler.plan import ROOT_DAG
from kedro_argo.compiler.project import uses_kedro_mlflow
from kedro_argo.errors import CompileError
from kedro_argo.output import to_yaml

from ..compile.support import (
    all_tasks,
    build_facts,
    dag_tasks,
    default_env,
    facts,
    node,
    set_compile_env,
    task_nodes,
    templates,
)
from ..mini_project import write_project
from ..validator import assert_valid

CONFIG: dict[str, Any] = {"image": "registry.example.com/demo:1", "data": {"root": "s3://b/run"}}


def diamond() -> list[Any]:
    """Two sources (one alone), a fork and a join."""
    return [
        node("load", ["raw"], ["a"]),
        node("left", ["a"], ["b"]),
        node("right", ["a"], ["c"]),
        node("join", ["b", "c"], ["d"]),
        node("alone", ["raw"], ["e"]),
    ]


def test_the_start_task_runs_first_and_the_sources_wait_for_it() -> None:
    plain = build_facts(facts(diamond(), CONFIG))
    built = build_facts(facts(diamond(), CONFIG, mlflow=True))
    tasks = dag_tasks(built.manifest)
    assert next(iter(tasks)) == "mlflow-start"
    assert tasks["mlflow-start"] == {"name": "mlflow-start", "template": MLFLOW_START_TEMPLATE}
    assert tasks["load"]["depends"] == tasks["alone"]["depends"] == "mlflow-start"
    # the other tasks wait for it through their dependencies, which do not change
    for name, task in dag_tasks(plain.manifest).items():
        if task.get("depends"):
            assert tasks[name]["depends"] == task["depends"]
    assert built.plan.waits_for() == plain.plan.waits_for()
    assert built.plan.steps == plain.plan.steps
    assert built.notes == (MLFLOW_NOTE,) and plain.notes == ()
    assert_valid(built.manifest)


def test_every_pod_knows_and_the_exit_handler_ends_the_run() -> None:
    built = build_facts(facts(diamond(), CONFIG, mlflow=True))
    spec = built.manifest["spec"]
    assert default_env(built.manifest)[contract.MLFLOW_ENV] == "true"
    assert spec["onExit"] == EXIT_TEMPLATE
    by_name = templates(built.manifest)
    start, end = by_name[MLFLOW_START_TEMPLATE], by_name[EXIT_TEMPLATE]
    assert start["container"]["args"] == [contract.MLFLOW_START_COMMAND]
    assert end["container"]["args"] == [contract.MLFLOW_END_COMMAND]
    assert end["container"]["env"] == [
        {"name": contract.WORKFLOW_STATUS_ENV, "value": "{{workflow.status}}"}
    ]
    assert [t["name"] for t in spec["templates"]][-2:] == [MLFLOW_START_TEMPLATE, EXIT_TEMPLATE]


def test_with_an_exit_pipeline_its_step_is_the_exit_handler() -> None:
    nodes = diamond()
    config = {**CONFIG, "workflow": {"on_exit_pipeline": "alerts"}}
    registered = {"__default__": frozenset(n.name for n in nodes), "alerts": frozenset({"alone"})}
    built = build_facts(facts(nodes, config, mlflow=True, registered=registered))
    end = templates(built.manifest)[EXIT_TEMPLATE]
    assert end["container"]["args"] == ["step", "--pipeline=alerts"]
    assert [t["name"] for t in built.manifest["spec"]["templates"]].count(EXIT_TEMPLATE) == 1
    assert_valid(built.manifest)


def test_the_start_and_end_pods_get_the_default_pod_settings() -> None:
    config = {
        **CONFIG,
        "nodes": {
            "defaults": {
                "resources": {"cpu": 1},
                "env": {"MLFLOW_TRACKING_TOKEN": {"secret": "mlflow", "key": "token"}},
            },
            "names": {"join": {"resources": {"cpu": 8}}},
        },
    }
    built = build_facts(facts(diamond(), config, mlflow=True))
    for name in (MLFLOW_START_TEMPLATE, EXIT_TEMPLATE):
        container = templates(built.manifest)[name]["container"]
        assert container["resources"] == {"requests": {"cpu": "1"}}
        assert {
            "name": "MLFLOW_TRACKING_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": "mlflow", "key": "token"}},
        } in container["env"]
    assert_valid(built.manifest)


def test_a_node_named_like_the_start_task_keeps_its_name() -> None:
    nodes = [node("mlflow-start", ["raw"], ["a"]), node("next", ["a"], ["b"])]
    built = build_facts(facts(nodes, CONFIG, mlflow=True))
    tasks = dag_tasks(built.manifest)
    assert task_nodes(tasks["mlflow-start"]) == ["mlflow-start"]
    (start,) = [t for t in tasks.values() if t["template"] == MLFLOW_START_TEMPLATE]
    assert start["name"] != "mlflow-start"
    assert tasks["mlflow-start"]["depends"] == start["name"]
    assert_valid(built.manifest)


def test_a_full_root_level_is_nested_to_make_room_for_the_start_task() -> None:
    nodes = [node(f"n{i}", ["raw"], [f"out{i}"]) for i in range(argo.MAX_DAG_TASKS)]
    plain = build_facts(facts(nodes, CONFIG))
    assert len(plain.plan.dags) == 1 and len(plain.plan.root.tasks) == argo.MAX_DAG_TASKS
    built = build_facts(facts(nodes, CONFIG, mlflow=True))
    root = built.plan.root
    assert root.name == ROOT_DAG and len(root.tasks) <= argo.MAX_DAG_TASKS
    assert root.tasks[0].template == MLFLOW_START_TEMPLATE
    assert all(t.depends == (root.tasks[0].name,) for t in root.tasks[1:])
    assert all(len(level.tasks) <= argo.MAX_DAG_TASKS for level in built.plan.dags)
    ran = sorted(n for task in all_tasks(built.manifest) for n in task_nodes(task))
    assert ran == sorted(n.name for n in nodes)
    assert_valid(built.manifest, layers={"schema", "meta", "lint", "size"})


def test_the_start_and_end_templates_count_towards_the_template_limit() -> None:
    nodes = [node(f"n{i}", ["raw"], [f"out{i}"]) for i in range(6)]
    config = {
        **CONFIG,
        "nodes": {"names": {n.name: {"resources": {"cpu": i + 1}} for i, n in enumerate(nodes)}},
    }
    project = facts(nodes, config, mlflow=True)
    from kedro_argo.compiler import build

    # 6 step templates + the root DAG + mlflow-start + the exit handler = 9
    assert len(build_facts(project).manifest["spec"]["templates"]) == 9
    original = build.build_plan

    def capped(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **{**kwargs, "max_templates": 8})

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(build, "build_plan", capped)
        with pytest.raises(CompileError, match="template limit"):
            build_facts(project)
        mp.setattr(build, "build_plan", lambda *a, **k: original(*a, **{**k, "max_templates": 9}))
        build_facts(project)


def test_a_cluster_workflow_needs_a_data_root_for_the_run_id() -> None:
    nodes = [node("only", ["raw"], ["out"])]
    config = {"image": "registry.example.com/demo:1"}
    project = facts(nodes, config, exchanged_datasets=frozenset(), mlflow=True)
    with pytest.raises(CompileError, match=r"kedro-mlflow.*data\.root"):
        build_facts(project)
    build_facts(project, for_local=True)  # local mode brings its own data root
    build_facts(dataclasses.replace(project, mlflow=False))  # as before


# --------------------------------------------------------------------------- detection


def session_with(*plugins: object) -> object:
    manager = types.SimpleNamespace(get_plugins=lambda: set(plugins))
    return types.SimpleNamespace(_hook_manager=manager)


def fake_hook(module: str) -> object:
    return type("MlflowHook", (), {"__module__": module})()


def test_kedro_mlflow_is_detected_by_the_hooks_the_session_runs() -> None:
    assert uses_kedro_mlflow(session_with(fake_hook("kedro_mlflow.framework.hooks.mlflow_hook")))
    assert uses_kedro_mlflow(session_with(types.ModuleType("kedro_mlflow.hooks")))
    assert not uses_kedro_mlflow(session_with(fake_hook("kedro_argo.runtime.hooks")))
    assert not uses_kedro_mlflow(session_with(fake_hook("kedro_mlflow_lookalike.hooks")))
    assert not uses_kedro_mlflow(session_with())
    subclass = type("ProjectHook", (type(fake_hook("kedro_mlflow.framework.hooks")),), {})
    assert uses_kedro_mlflow(session_with(subclass()))  # a project's own MlflowHook subclass


def test_without_kedro_mlflow_a_project_with_mlflow_yml_compiles_as_before(
    tmp_path: Path,
) -> None:
    """kedro-mlflow is not installed here: its configuration file alone changes nothing."""
    project = write_project(
        tmp_path / "tracked",
        package="tracked_demo",
        registry='return {"__default__": Pipeline([node(double, "params:x", "y", name="d")])}',
        nodes="def double(x):\n    return 2 * x\n",
        parameters={"x": 1},
        conf_files={"mlflow.yml": {"server": {"mlflow_tracking_uri": "sqlite:///mlflow.db"}}},
    )
    with pytest.MonkeyPatch.context() as mp:
        set_compile_env(mp)
        with_file = build_manifest(BuildRequest(project_path=project))
        (project / "conf/base/mlflow.yml").unlink()
        without = build_manifest(BuildRequest(project_path=project))
    assert with_file.facts.mlflow is False
    assert with_file.manifest == without.manifest
    text = to_yaml(with_file.manifest)
    assert "mlflow" not in text.lower() and with_file.notes == ()


@pytest.mark.parametrize("kind", ["workflow", "template", "cron"])
def test_every_kind_is_valid_and_runs_locally(kind: str, tmp_path: Path) -> None:
    from kedro_argo.local.resolve import plan_workflow

    built = build_facts(
        facts(diamond(), CONFIG, mlflow=True),
        kind=kind,
        cron="0 6 * * *" if kind == "cron" else None,
    )
    assert_valid(built.manifest)
    plan = plan_workflow(built.manifest, project_path=tmp_path, python_executable="python")
    first = plan.steps[0]
    assert first.name == "mlflow-start"
    assert first.argv[1:] == ("-m", "kedro_argo", contract.MLFLOW_START_COMMAND)
    assert first.env[contract.MLFLOW_ENV] == "true"
    assert {s.name: s.depends for s in plan.steps}["load"] == ("mlflow-start",)
    end = plan.exit_handler("Failed")
    assert end is not None and end.argv[3:] == (contract.MLFLOW_END_COMMAND,)
    assert end.env[contract.WORKFLOW_STATUS_ENV] == "Failed"
