"""Random small DAGs with hostile (but Kedro-legal) names always compile to a manifest that
Argo accepts, whose DAG edges are exactly the data dependencies, whatever the grouping."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kedro_argo.compiler.facts import NodeSpec
from kedro_argo.output import to_yaml
from kedro_argo.validation.lint import check_manifest, task_dependencies

from ..validator import assert_valid, warm_up
from .support import (
    arg_values,
    build_facts,
    dag_tasks,
    default_env,
    facts,
    step_tasks,
    step_templates,
    task_nodes,
    templates,
)

# Kedro accepts node names and tags matching re.match(r"[\w\.-]+$"), unicode \w included
# (and, through `$`, one trailing newline).
NAME_ALPHABET = "abzAZ09_.-éßΩ中"
node_names = st.one_of(
    st.text(NAME_ALPHABET, min_size=1, max_size=12),
    st.sampled_from(
        [
            "kedro-pipeline",  # the compiler's own DAG template name
            "exit-handler",  # ... and its exit template name
            "kedro_pipeline",
            "Exit.Handler",
            "1st_node",
            "n" * 80,
            "a.b",
            "a_b",
            "a-b",
            "A.B",
            "_",
            ".",
            "trailing_newline\n",
        ]
    ),
)
dataset_names = st.one_of(
    st.text("abXY09_.@: -é", min_size=1, max_size=10),
    st.sampled_from(["params:x", "parameters", "ns.model@pickle", "a b", "~", "x" * 100]),
)
TAGS = ("gpu", "big.mem", "fast-lane", "τ")
PARAMETERS: dict[str, Any] = {
    "lr": 0.01,
    "model": {"alpha": [1, 2], "name": "yes"},
    "a-b": "with spaces and: colons",
    "ä": None,
    "template_text": "it's, {fine} $(HOME) $$ 100%",
}
PARAMETER_KEYS = ("lr", "model.alpha", "model.name", "a-b", "ä", "template_text")


@dataclass
class Case:
    nodes: tuple[NodeSpec, ...]
    config: dict[str, Any]
    registered: dict[str, frozenset[str]]
    exchanged: frozenset[str]
    versioned: frozenset[str]
    runtime_params: dict[str, Any]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    count = draw(st.integers(1, 10))
    names = draw(st.lists(node_names, min_size=count, max_size=count, unique=True))
    # Unique up to transcoding: `x@a` and `x@b` are one dataset to Kedro (one producer only).
    datasets = iter(
        draw(st.lists(dataset_names, min_size=40, max_size=40, unique_by=lambda d: d.split("@")[0]))
    )
    external = [next(datasets) for _ in range(3)]
    produced: list[str] = []
    nodes = []
    for name in names:
        inputs = draw(st.lists(st.sampled_from(external + produced), max_size=4, unique=True))
        outputs = [next(datasets) for _ in range(draw(st.integers(0, 3)))]
        tags = draw(st.frozensets(st.sampled_from(TAGS), max_size=2))
        nodes.append(NodeSpec(name, tuple(inputs), tuple(outputs), tags, None))
        produced += outputs
    all_names = frozenset(names)
    registered = {"__default__": all_names}
    part = draw(st.frozensets(st.sampled_from(names), max_size=count))
    if part:
        registered["part"] = part
    config: dict[str, Any] = {
        "image": "registry.example.com/demo:1",
        "data": {"root": "s3://bucket/prefix"},
        "parameters": draw(st.lists(st.sampled_from(PARAMETER_KEYS), unique=True, max_size=3)),
        "nodes": {
            "defaults": {"resources": {"cpu": 1}, "retry": {"limit": 1}},
            "tags": {
                tag: {"timeout": f"{i + 1}m", "env": {"TAG": tag}}
                for i, tag in enumerate(draw(st.permutations(TAGS)))
                if draw(st.booleans())
            },
        },
    }
    if draw(st.booleans()):
        config["workflow"] = {"on_exit_pipeline": "alerts"}
        registered["alerts"] = frozenset({"alert"})
    exchanged = draw(st.frozensets(st.sampled_from(produced))) if produced else frozenset()
    return Case(
        nodes=tuple(nodes),
        config=config,
        registered=registered,
        exchanged=exchanged,
        versioned=draw(st.frozensets(st.sampled_from(external + produced))),
        runtime_params=draw(st.sampled_from([{}, {"lr": 0.5}, {"model": {"name": "no"}}])),
    )


@pytest.fixture(autouse=True, scope="module")
def _validator_loaded() -> None:
    """Load the validators before Hypothesis starts."""
    warm_up()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_random_dag_compiles_to_a_valid_manifest_with_exact_dependencies(case: Case) -> None:
    project_facts = facts(
        case.nodes,
        case.config,
        registered=case.registered,
        all_tags=frozenset(TAGS),
        exchanged_datasets=case.exchanged,
        versioned_datasets=case.versioned,
        parameters=PARAMETERS,
        runtime_params=case.runtime_params,
    )
    built = build_facts(project_facts)
    manifest = built.manifest
    check_manifest(manifest)
    assert_valid(manifest)

    steps = step_templates(manifest)
    assert set(steps) == {n.name for n in case.nodes}, "one step per node, named in its task"
    task_of = {name: task["name"] for name, task in step_tasks(manifest).items()}
    producer = {ds: n.name for n in case.nodes for ds in n.outputs}
    tasks = dag_tasks(manifest)
    assert set(tasks) == set(task_of.values())
    pins = json.loads(default_env(manifest).get("KEDRO_ARGO_PIN_VERSIONS", "[]"))
    assert set(pins) == {ds for ds in case.versioned if ds in producer}
    for n in case.nodes:
        expected = {task_of[producer[ds]] for ds in n.inputs if ds in producer}
        assert set(task_dependencies(tasks[task_of[n.name]])) == expected, n.name
        assert task_nodes(tasks[task_of[n.name]]) == [n.name]
        args = steps[n.name]["container"]["args"]
        assert arg_values(args, "--nodes") == ["{{inputs.parameters.nodes}}"]
        (pipeline,) = arg_values(args, "--pipeline")
        assert n.name in case.registered[pipeline]
        smaller = [p for p, members in case.registered.items() if n.name in members]
        assert len(case.registered[pipeline]) == min(len(case.registered[p]) for p in smaller)
    # one step template per pod profile: never more templates than steps, never two
    # templates with the same pipeline and settings
    profiles = [
        (t["container"]["args"], t.get("timeout"), json.dumps(t["container"].get("env")))
        for t in templates(manifest).values()
        if "container" in t and t["name"] != "exit-handler"
    ]
    assert len(profiles) == len({json.dumps(p, default=str) for p in profiles})

    assert to_yaml(build_facts(project_facts).manifest) == to_yaml(manifest)
