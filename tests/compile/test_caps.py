"""Argo's hard limits (200 templates / DAG tasks, 1 MiB) and the pre-submit manifest checks."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from kedro_argo import argo
from kedro_argo.compiler import build as workflow
from kedro_argo.errors import CompileError, ManifestError
from kedro_argo.validation.lint import check_manifest, manifest_size

from ..validator import assert_valid, problems
from .support import all_tasks, build_facts, chain, facts, node, task_nodes, templates


def layered(count: int, width: int = 10) -> list[Any]:
    """``count`` nodes in layers of ``width``: node i loads node (i - width)'s output."""
    return [
        node(f"n{i}", [f"o{i - width}" if i >= width else "raw"], [f"o{i}"]) for i in range(count)
    ]


def test_150_nodes_compile_and_validate() -> None:
    built = build_facts(facts(layered(150)))
    assert len(built.plan.steps) == 150
    assert len(built.plan.dags) == 1
    assert_valid(built.manifest)


def unchecked(project_facts: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The manifest the compiler would emit if the final checks were skipped."""
    monkeypatch.setattr(workflow, "check_manifest", lambda manifest, **kwargs: None)
    monkeypatch.setattr(workflow, "check_size", lambda *args: None)
    try:
        return build_facts(project_facts).manifest
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("count", [199, 200, 201, 450])
@pytest.mark.parametrize("exit_handler", [False, True])
def test_any_count_fits_the_caps_and_argo_agrees(
    count: int, exit_handler: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to 200 steps the root DAG holds them all; beyond, steps nest in DAG templates of
    their own, and Argo accepts the manifest either way."""
    nodes = layered(count, width=50)
    config: dict[str, Any] = {"image": "i:1", "data": {"root": "/d"}}
    registered = {"__default__": frozenset(n.name for n in nodes)}
    if exit_handler:
        config["workflow"] = {"on_exit_pipeline": "alerts"}
        registered["alerts"] = frozenset({"alert"})
    manifest = unchecked(facts(nodes, config, registered=registered), monkeypatch)
    assert not problems(manifest)
    check_manifest(manifest)
    dags = [t for t in templates(manifest).values() if "dag" in t]
    assert all(len(t["dag"]["tasks"]) <= argo.MAX_DAG_TASKS for t in dags)
    assert (len(dags) == 1) == (count <= argo.MAX_DAG_TASKS)
    assert sorted(n for task in all_tasks(manifest) for n in task_nodes(task)) == sorted(
        n.name for n in nodes
    )


def test_thousands_of_pod_profiles_are_refused_with_the_figures_and_the_way_out() -> None:
    nodes = layered(300)
    config = {
        "image": "i:1",
        "data": {"root": "/d"},
        "nodes": {
            "names": {n.name: {"resources": {"cpu": f"{i + 1}m"}} for i, n in enumerate(nodes)}
        },
    }
    with pytest.raises(CompileError) as info:
        build_facts(facts(nodes, config))
    message = str(info.value)
    assert "\n" not in message
    for fragment in ("200-template limit", "300 steps", "300 distinct pod profiles", "--group-by"):
        assert fragment in message, message


def test_manifest_over_1_mib_is_refused_with_the_figures() -> None:
    config = {"image": "i:1", "data": {"root": "/d"}, "parameters": ["blob"]}
    project_facts = facts(chain(3), config, parameters={"blob": "x" * argo.MAX_OBJECT_BYTES})
    with pytest.raises(CompileError) as info:
        build_facts(project_facts)
    message = str(info.value)
    assert "1024 KiB" in message and "3 steps" in message and "--group-by" in message


def test_manifest_just_under_1_mib_passes() -> None:
    config = {"image": "i:1", "data": {"root": "/d"}, "parameters": ["blob"]}
    blob = "x" * (argo.MAX_OBJECT_BYTES - 20_000)
    built = build_facts(facts(chain(3), config, parameters={"blob": blob}))
    assert_valid(built.manifest)


def test_runtime_params_are_written_once_per_step_template_not_per_step() -> None:
    """A --params value is in the shared step template's args: 60 steps × 20 kB of params is
    20 kB once (the peers copy parameters into every step and hit the size limit)."""
    built = build_facts(facts(chain(60), runtime_params={"note": "y" * 20_000}))
    assert len(built.plan.templates) == 1
    assert 20_000 < manifest_size(built.manifest) < 40_000


# --------------------------------------------------------------------------- hand-made dicts


def hand_made() -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "demo-", "labels": {"team": "ml"}},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {
                    "name": "main",
                    "dag": {
                        "tasks": [
                            {"name": "a", "template": "step"},
                            {"name": "b", "template": "step", "depends": "a"},
                            {"name": "c", "template": "step", "depends": "a && b"},
                        ]
                    },
                },
                {"name": "step", "container": {"image": "alpine:3", "command": ["true"]}},
            ],
        },
    }


def tasks(m: dict[str, Any]) -> list[dict[str, Any]]:
    return m["spec"]["templates"][0]["dag"]["tasks"]


def cycle(m: dict[str, Any]) -> None:
    tasks(m)[0]["depends"] = "c"


def self_cycle(m: dict[str, Any]) -> None:
    tasks(m)[1]["depends"] = "b"


def cycle_via_dependencies(m: dict[str, Any]) -> None:
    for task in tasks(m):
        task.pop("depends", None)
    tasks(m)[0]["dependencies"] = ["b"]
    tasks(m)[1]["dependencies"] = ["a"]


def unknown_dependency(m: dict[str, Any]) -> None:
    tasks(m)[2]["depends"] = "a && ghost"


def duplicate_task(m: dict[str, Any]) -> None:
    tasks(m)[2]["name"] = "b"
    tasks(m)[2].pop("depends")


def duplicate_template(m: dict[str, Any]) -> None:
    m["spec"]["templates"].append(copy.deepcopy(m["spec"]["templates"][1]))


def unknown_template(m: dict[str, Any]) -> None:
    tasks(m)[1]["template"] = "nope"


def unknown_entrypoint(m: dict[str, Any]) -> None:
    m["spec"]["entrypoint"] = "nope"


def unknown_on_exit(m: dict[str, Any]) -> None:
    m["spec"]["onExit"] = "cleanup"


def digit_task(m: dict[str, Any]) -> None:
    tasks(m)[0]["name"] = "1a"
    tasks(m)[1]["depends"] = "1a"
    tasks(m)[2]["depends"] = "1a && b"


def bad_template_name(m: dict[str, Any]) -> None:
    m["spec"]["templates"][1]["name"] = "my_step"
    for task in tasks(m):
        task["template"] = "my_step"


def empty_dag(m: dict[str, Any]) -> None:
    m["spec"]["templates"][0]["dag"]["tasks"] = []


def no_name(m: dict[str, Any]) -> None:
    m["metadata"].pop("generateName")


def long_cron_name(m: dict[str, Any]) -> None:
    spec = m.pop("spec")
    m["kind"] = "CronWorkflow"
    m["metadata"] = {"name": "c" * 53}
    m["spec"] = {"schedules": ["0 6 * * *"], "workflowSpec": spec}


def bad_label(m: dict[str, Any]) -> None:
    m["metadata"]["labels"]["team"] = "machine learning"


def too_many_tasks(m: dict[str, Any]) -> None:
    tasks(m)[:] = [{"name": f"t{i}", "template": "step"} for i in range(201)]


BROKEN: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (cycle, "dependency cycle: a -> c -> a"),
    (self_cycle, "dependency cycle: b -> b"),
    (cycle_via_dependencies, "dependency cycle"),
    (unknown_dependency, "DAG task 'c' depends on unknown task 'ghost'"),
    (duplicate_task, "Two DAG tasks are named 'b'"),
    (duplicate_template, "Two templates are named 'step'"),
    (unknown_template, "DAG task 'b' uses unknown template 'nope'"),
    (unknown_entrypoint, "spec.entrypoint: 'nope' names no template"),
    (unknown_on_exit, "spec.onExit: 'cleanup' names no template"),
    (digit_task, "'1a' must not start with a digit"),
    (bad_template_name, "'my_step' is not a valid template name"),
    (empty_dag, "has no tasks"),
    (no_name, "needs a name or a generateName"),
    (long_cron_name, "not a valid CronWorkflow name (at most 52"),
    (bad_label, "Label 'team' has value 'machine learning'"),
    (too_many_tasks, "201 tasks but Argo v4 accepts at most 200"),
]


def test_hand_made_baseline_is_valid() -> None:
    check_manifest(hand_made())
    assert_valid(hand_made())


@pytest.mark.parametrize(
    ("breakage", "fragment"), [pytest.param(b, f, id=b.__name__) for b, f in BROKEN]
)
def test_check_manifest_refuses_what_argo_refuses(
    breakage: Callable[[dict[str, Any]], None], fragment: str
) -> None:
    manifest = hand_made()
    breakage(manifest)
    assert problems(manifest), "the broken manifest must be invalid for Argo too"
    with pytest.raises(ManifestError) as info:
        check_manifest(manifest)
    assert fragment in str(info.value)


def test_nodes_in_parallel_share_no_dependencies() -> None:
    """Wide fan-out/fan-in within the cap: every task depends only on its data producers."""
    fan = [node("source", ["raw"], ["s"])]
    fan += [node(f"w{i}", ["s"], [f"o{i}"]) for i in range(100)]
    fan += [node("sink", [f"o{i}" for i in range(100)], ["final"])]
    built = build_facts(facts(fan))
    dag = built.manifest["spec"]["templates"][0]["dag"]["tasks"]
    by_name = {t["name"]: t for t in dag}
    assert by_name["w42"]["depends"] == "source"
    assert by_name["sink"]["depends"] == " && ".join(sorted(f"w{i}" for i in range(100)))
    assert_valid(built.manifest)
