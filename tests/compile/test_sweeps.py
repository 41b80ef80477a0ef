"""Parameter sweeps at compile time: which nodes fan out, what the manifest looks like, what
every branch's pods read back, and what compile refuses (docs/sweeps.md)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_argo import contract
from kedro_argo.compiler.facts import NodeSpec
from kedro_argo.compiler.plan import SWEEP_BRANCH_DAG, SWEEP_LOOP_DAG
from kedro_argo.compiler.sweeps import build_sweep, parse_sweep_options, swept_nodes
from kedro_argo.errors import CompileError
from kedro_argo.local.variables import Scope, substitute
from kedro_argo.output import to_yaml

from ..test_contract import resolved_args, workflow_globals
from ..validator import assert_valid
from .support import build, build_facts, facts, node, templates

NODES = [
    node("prep", ["raw"], ["clean"]),
    node("split", ["clean", "params:model_options"], ["train", "test"]),
    node("fit", ["train", "params:alpha"], ["model"]),
    node("score", ["model", "test"], ["metrics"]),
    node("report", ["metrics"], ["report"]),
    node("summarise", ["clean"], ["summary"]),
]
PARAMETERS = {"model_options": {"test_size": 0.2, "seed": 1}, "alpha": 1.0, "beta": "x"}
GRID = {"alpha": [0.1, 1.0], "model_options.test_size": [0.2, 0.3]}


def project(**overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "parameters": PARAMETERS,
        "exchanged_datasets": frozenset({"clean", "train", "test", "model", "metrics"}),
        "branch_varying_datasets": frozenset({"report"}),
    }
    fields.update(overrides)
    return facts(NODES, **fields)


# --------------------------------------------------------------------------- fan-out


def test_the_nodes_using_a_swept_parameter_and_all_downstream_fan_out() -> None:
    assert swept_nodes(NODES, ["alpha"]) == {"fit", "score", "report"}
    assert swept_nodes(NODES, ["model_options.test_size"]) == {"split", "fit", "score", "report"}
    # a node loading a parent or a child of the key uses it too; `parameters` uses everything
    with_all = [*NODES, node("everything", ["parameters"], ["all"])]
    assert "everything" in swept_nodes(with_all, ["beta"])
    child = [node("child", ["params:model_options.test_size.x"], ["y"])]
    assert swept_nodes(child, ["model_options.test_size"]) == {"child"}
    assert swept_nodes(NODES, ["gamma"]) == frozenset()


@st.composite
def pipelines(draw: Any) -> tuple[list[NodeSpec], list[str]]:
    count = draw(st.integers(1, 12))
    keys = ["a", "b", "c"]
    nodes = []
    for i in range(count):
        inputs = [f"d{j}" for j in range(i) if draw(st.booleans()) and draw(st.booleans())]
        inputs += [f"params:{k}" for k in keys if draw(st.integers(0, 5)) == 0]
        nodes.append(node(f"n{i}", inputs or ["raw"], [f"d{i}"]))
    swept_keys = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=2, unique=True))
    return nodes, swept_keys


@settings(max_examples=150, deadline=None)
@given(pipelines())
def test_the_swept_set_is_exactly_the_users_of_the_keys_and_what_follows(
    case: tuple[list[NodeSpec], list[str]],
) -> None:
    nodes, keys = case
    swept = swept_nodes(nodes, keys)
    produced_by = {ds: n.name for n in nodes for ds in n.outputs}
    for n in nodes:
        direct = any(ds in {f"params:{k}" for k in keys} for ds in n.inputs)
        downstream = any(produced_by.get(ds) in swept for ds in n.inputs)
        assert (n.name in swept) == (direct or downstream), n.name


# --------------------------------------------------------------------------- the grid


def test_options_and_grid() -> None:
    options = parse_sweep_options(["alpha=0.1,1", "model_options.test_size=[0.2, 0.3]"])
    assert options == {"alpha": [0.1, 1], "model_options.test_size": [0.2, 0.3]}
    sweep = build_sweep(options)
    assert sweep is not None
    assert [b.label for b in sweep.branches] == [
        "alpha-0.1_test_size-0.2",
        "alpha-0.1_test_size-0.3",
        "alpha-1_test_size-0.2",
        "alpha-1_test_size-0.3",
    ]
    assert sweep.assignments(sweep.branches[3]) == {"alpha": 1, "model_options.test_size": 0.3}
    # same last segment: longer names keep labels apart; odd values become safe labels
    clash = build_sweep({"a.size": [1], "b.size": ["x/y z"]})
    assert clash is not None and clash.branches[0].label == "a.size-1_b.size-x-y-z"


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["alpha"], "must look like KEY=VALUE1,VALUE2"),
        (["alpha="], "must look like KEY=VALUE1,VALUE2"),
        (["alpha=1", "alpha=2"], "is swept twice"),
        (["alpha=[1, 2"], "not a YAML list"),
    ],
)
def test_bad_sweep_options(options: list[str], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_sweep_options(options)


def test_values_twice_or_too_many_branches_are_refused() -> None:
    with pytest.raises(CompileError, match="lists 1 more than once"):
        build_sweep({"alpha": [1, 1]})
    with pytest.raises(CompileError, match="makes 1024 branches"):
        build_sweep({f"k{i}": [1, 2] for i in range(10)})


# --------------------------------------------------------------------------- the manifest


def test_a_sweep_compiles_to_a_loop_over_a_branch_dag() -> None:
    built = build_facts(project(), sweeps=GRID, max_parallel=2)
    manifest = built.manifest
    assert_valid(manifest)
    by_name = templates(manifest)
    root = by_name["kedro-pipeline"]["dag"]["tasks"]
    assert [t["name"] for t in root] == ["prep", "summarise", "sweep"]
    assert root[2] == {"name": "sweep", "template": SWEEP_LOOP_DAG, "depends": "prep"}
    loop = by_name[SWEEP_LOOP_DAG]
    assert loop["parallelism"] == 2
    (task,) = loop["dag"]["tasks"]
    assert task["template"] == SWEEP_BRANCH_DAG
    assert [item[contract.SWEEP_PARAMETER] for item in task["withItems"]] == [
        b.label for b in built.plan.sweep.branches
    ]
    branch = by_name[SWEEP_BRANCH_DAG]
    assert [p["name"] for p in branch["inputs"]["parameters"]] == [
        contract.SWEEP_PARAMETER,
        "alpha",
        "model_options__test_size",
    ]
    assert [t["name"] for t in branch["dag"]["tasks"]] == ["split", "fit", "score", "report"]
    assert {t["template"] for t in branch["dag"]["tasks"]} == {"sweep-step-default"}
    # the deterministic output: same input, byte-identical YAML
    assert to_yaml(build_facts(project(), sweeps=GRID, max_parallel=2).manifest) == to_yaml(
        manifest
    )


def branch_calls(manifest: Mapping[str, Any]) -> dict[str, dict[str, contract.StepCall]]:
    """Per branch label: every swept step task → what its pod reads back, resolved as Argo and
    the kubelet would (loop item → branch inputs → step inputs → container args)."""
    by_name = templates(manifest)
    (loop_task,) = by_name[SWEEP_LOOP_DAG]["dag"]["tasks"]
    out: dict[str, dict[str, contract.StepCall]] = {}
    for item in loop_task["withItems"]:
        item_scope = Scope(
            workflow_globals(manifest), item={f"item.{k}": v for k, v in item.items()}
        )
        branch_inputs = {
            p["name"]: substitute(p["value"], item_scope, "loop")
            for p in loop_task["arguments"]["parameters"]
        }
        calls = {}
        for task in by_name[SWEEP_BRANCH_DAG]["dag"]["tasks"]:
            scope = Scope(workflow_globals(manifest), branch_inputs)
            step = by_name[task["template"]]
            inputs = {
                p["name"]: p["default"] for p in step["inputs"]["parameters"] if "default" in p
            }
            inputs.update(
                {
                    p["name"]: substitute(p["value"], scope, task["name"])
                    for p in task["arguments"]["parameters"]
                }
            )
            calls[task["name"]] = contract.parse_step_arguments(
                resolved_args(step, inputs, manifest)
            )
        out[item[contract.SWEEP_PARAMETER]] = calls
    return out


HOSTILE = ["a,b", "$(HOME) costs $5", "'quoted' \"too\"", "--nodes=x", "0.30", "yes", "é 名前"]


def test_every_branch_pod_reads_back_its_own_values_label_and_shared_inputs() -> None:
    sweep = {"alpha": [0.1, 2], "beta": HOSTILE}
    nodes = [*NODES, node("use_beta", ["clean", "params:beta"], ["beta_out"])]
    facts_ = facts(
        nodes,
        parameters=PARAMETERS,
        exchanged_datasets=frozenset({"clean", "train", "test", "model", "metrics", "beta_out"}),
        branch_varying_datasets=frozenset({"report"}),
    )
    built = build_facts(facts_, sweeps=sweep)
    assert_valid(built.manifest)
    plan_sweep = built.plan.sweep
    assert plan_sweep is not None
    calls = branch_calls(built.manifest)
    assert len(calls) == 2 * len(HOSTILE)
    for branch in plan_sweep.branches:
        values = plan_sweep.assignments(branch)
        for name, call in calls[branch.label].items():
            assert call.sweep == branch.label
            read = contract.parse_params(call.params)
            assert read["alpha"] == values["alpha"], name
            assert read["beta"] == values["beta"], name
            assert call.shared == built.plan.step(name).shared
    assert calls[plan_sweep.branches[0].label]["use-beta"].shared == ("clean",)
    assert calls[plan_sweep.branches[0].label]["fit"].shared == ("train",)  # split is shared
    assert calls[plan_sweep.branches[0].label]["report"].shared == ()


def test_groups_across_the_sweep_boundary_are_split() -> None:
    built = build_facts(project(), sweeps={"alpha": [1, 2]}, group_by="memory")
    assert_valid(built.manifest)
    swept = {s.label: s.nodes for s in built.plan.steps if s.swept}
    shared = {s.label: s.nodes for s in built.plan.steps if not s.swept}
    assert {n for ns in swept.values() for n in ns} == {"fit", "score", "report"}
    assert {n for ns in shared.values() for n in ns} == {"prep", "split", "summarise"}
    assert any(label.endswith("-sweep") for label in swept)


def test_a_large_branch_nests_like_any_level() -> None:
    chain_nodes = [node("source", ["params:alpha"], ["d0"])]
    chain_nodes += [node(f"n{i}", [f"d{i}"], [f"d{i + 1}"]) for i in range(450)]
    facts_ = facts(chain_nodes, parameters={"alpha": 1})
    built = build_facts(facts_, sweeps={"alpha": [1, 2, 3]})
    assert_valid(built.manifest)
    branch_levels = [d for d in built.plan.dags if d.branch]
    assert len(branch_levels) > 1
    assert all(len(d.tasks) <= 200 for d in built.plan.dags)
    for level in branch_levels:
        manifest_level = templates(built.manifest)[level.name]
        assert contract.SWEEP_PARAMETER in {
            p["name"] for p in manifest_level["inputs"]["parameters"]
        }


def test_without_a_sweep_nothing_changes() -> None:
    plain = build_facts(project())
    empty = build_facts(project(), sweeps={})
    assert to_yaml(plain.manifest) == to_yaml(empty.manifest)
    assert SWEEP_LOOP_DAG not in templates(plain.manifest)


@pytest.mark.parametrize(
    ("sweeps", "overrides", "request_", "fragment"),
    [
        ({"gamma": [1]}, {}, {}, "Sweep of 'gamma': the project has no such parameter"),
        ({"beta": [1, 2]}, {}, {}, "No node of pipeline '__default__' loads 'beta'"),
        (
            {"alpha": [1, 2]},
            {"runtime_params": {"alpha": 3}},
            {},
            "'alpha' is also set by --params",
        ),
        (
            {"model_options.test_size": [1, 2]},
            {"runtime_params": {"model_options": {"seed": 3}}},
            {},
            None,  # a sibling key set by --params is fine
        ),
        (
            {"alpha": [1, 2]},
            {"branch_varying_datasets": frozenset()},
            {},
            "Every branch of the sweep would write the same file for report",
        ),
        (
            {"alpha": [1, 2]},
            {"branch_varying_datasets": frozenset(), "versioned_datasets": frozenset({"report"})},
            {},
            None,  # a versioned output gets a save version per branch
        ),
        ({"alpha": ["{{workflow.name}}"]}, {}, {}, "contains '{{'"),
    ],
)
def test_what_a_sweep_refuses(
    sweeps: dict[str, list[Any]],
    overrides: dict[str, Any],
    request_: dict[str, Any],
    fragment: str | None,
) -> None:
    facts_ = project(**overrides)
    if fragment is None:
        assert_valid(build_facts(facts_, sweeps=sweeps, **request_).manifest)
        return
    with pytest.raises(CompileError, match=None) as info:
        build_facts(facts_, sweeps=sweeps, **request_)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_an_exposed_swept_parameter_is_refused() -> None:
    config = {
        "image": "registry.example.com/demo:1",
        "data": {"root": "s3://bucket/run"},
        "parameters": ["alpha"],
    }
    facts_ = dataclasses.replace(project(), config=facts(NODES, config).config)
    with pytest.raises(CompileError, match=r"'alpha' is also exposed in argo\.yml's parameters"):
        build_facts(facts_, sweeps={"alpha": [1, 2]})


def test_argo_yml_sweeps_apply_and_the_flag_replaces_them() -> None:
    config = {
        "image": "registry.example.com/demo:1",
        "data": {"root": "s3://bucket/run"},
        "sweeps": {"parameters": {"alpha": [1, 2, 3]}, "max_parallel": 4},
    }
    facts_ = dataclasses.replace(project(), config=facts(NODES, config).config)
    from_file = build_facts(facts_)
    assert from_file.plan.sweep is not None and len(from_file.plan.sweep.branches) == 3
    assert templates(from_file.manifest)[SWEEP_LOOP_DAG]["parallelism"] == 4
    flag = build_facts(facts_, sweeps={"model_options.test_size": [0.1, 0.2]}, max_parallel=1)
    assert flag.plan.sweep is not None and flag.plan.sweep.keys == ("model_options.test_size",)
    assert templates(flag.manifest)[SWEEP_LOOP_DAG]["parallelism"] == 1


def test_the_waits_of_every_step_follow_the_data() -> None:
    built = build_facts(project(), sweeps=GRID)
    waits = built.plan.waits_for()
    assert waits["split"] == {"prep"}
    assert waits["report"] >= {"score", "fit", "split", "prep"}
    assert "summarise" not in waits["report"]


def test_a_dataset_saved_once_cannot_name_the_branch_in_its_path() -> None:
    facts_ = project(branch_varying_datasets=frozenset({"report", "train"}))
    with pytest.raises(CompileError) as info:
        build_facts(facts_, sweeps={"alpha": [1, 2]})
    assert str(info.value).startswith("Saved once by nodes the branches share, train must not")


CANDIDATE = {"candidate_modelling_pipeline.model_options.test_size": [0.2, 0.3, 0.4]}


def test_the_sample_sweeps_the_candidate_model_with_its_sweep_environment(
    sample_project: Path,
) -> None:
    built = build(sample_project, env="sweep", sweeps=CANDIDATE)
    assert_valid(built.manifest)
    swept = {n for s in built.plan.steps if s.swept for n in s.nodes}
    assert swept == {
        "candidate_modelling_pipeline.split_data_node",
        "candidate_modelling_pipeline.train_model_node",
        "candidate_modelling_pipeline.evaluate_model_node",
        "compare_models_node",
    }
    with pytest.raises(CompileError, match="Every branch of the sweep would write the same file"):
        build(sample_project, sweeps=CANDIDATE)
