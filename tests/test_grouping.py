"""Grouping nodes into pods: the ``--group-by`` strategies, the cycle rule, the settings rule.

``group_nodes`` is checked on hand-made nodes; the property test checks the cycle rule against
an oracle computed from the definition (groups that reach each other through the quotient graph
are one pod); ``merge_group_settings`` is checked field by field; the end of the file compiles
hand-made facts with ``group_by=`` to see the choice reach the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_argo.compiler.build import BuildRequest, build_from_facts
from kedro_argo.compiler.facts import NodeSpec
from kedro_argo.compiler.grouping import Group, group_nodes
from kedro_argo.config import (
    DEFAULT_TAG_PREFIX,
    GroupBy,
    NodeSettings,
    merge_group_settings,
    parse_group_by,
)
from kedro_argo.errors import CompileError, ConfigError

from .compile.support import facts


def spec(
    name: str,
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
    *,
    tags: Sequence[str] = (),
    namespace: str | None = None,
) -> NodeSpec:
    return NodeSpec(name, tuple(inputs), tuple(outputs), frozenset(tags), namespace)


def as_sets(groups: Sequence[Group]) -> list[tuple[str, ...]]:
    return [g.nodes for g in groups]


NONE = GroupBy()
MEMORY = GroupBy("memory")


# --------------------------------------------------------------------------- strategies


def test_none_keeps_a_pod_per_node() -> None:
    nodes = [spec("a", [], ["x"]), spec("b", ["x"], ["y"]), spec("c", ["y"], [])]
    groups = group_nodes(nodes, NONE, in_memory={"x", "y"})
    assert groups == (Group("a", ("a",)), Group("b", ("b",)), Group("c", ("c",)))


def test_memory_joins_the_producer_and_consumers_of_an_in_memory_dataset() -> None:
    nodes = [
        spec("load", ["raw"], ["free"]),  # free (undeclared): in memory
        spec("clean", ["free"], ["declared_mem"]),  # declared MemoryDataset: in memory
        spec("features", ["declared_mem"], ["table"]),  # table is persisted
        spec("train", ["table"], ["model"]),
        spec("report", ["free"], ["summary"]),
    ]
    groups = group_nodes(nodes, MEMORY, in_memory={"free", "declared_mem"})
    assert as_sets(groups) == [("load", "clean", "features", "report"), ("train",)]
    assert groups[0].label == "report"  # a memory group is named after its last node
    assert groups[1] == Group("train", ("train",))


def test_memory_treats_transcoded_names_as_one_dataset() -> None:
    nodes = [
        spec("make", [], ["df@pandas"]),
        spec("use", ["df@spark"], ["out"]),
        spec("other", ["out"], []),
    ]
    groups = group_nodes(nodes, MEMORY, in_memory={"df@pandas"})
    assert as_sets(groups) == [("make", "use"), ("other",)]
    # the in-memory name may be the base or another transcoding of it
    assert group_nodes(nodes, MEMORY, in_memory={"df"}) == groups
    assert group_nodes(nodes, MEMORY, in_memory={"df@spark"}) == groups


def test_memory_leaves_persisted_datasets_between_pods() -> None:
    nodes = [spec("a", [], ["x"]), spec("b", ["x"], [])]
    assert as_sets(group_nodes(nodes, MEMORY, in_memory=())) == [("a",), ("b",)]


def namespaced() -> list[NodeSpec]:
    return [
        spec("a.b.one", [], ["1"], namespace="a.b"),
        spec("a.c.two", ["1"], ["2"], namespace="a.c"),
        spec("plain", ["2"], ["3"]),
        spec("a.b.three", ["3"], ["4"], namespace="a.b"),
        spec("d.four", ["4"], [], namespace="d"),
    ]


def test_namespace_groups_by_the_first_level() -> None:
    groups = group_nodes(namespaced(), GroupBy("namespace"))
    # a.b.one and a.b.three are in namespace a, but plain lies between them: a absorbs it
    assert [(g.label, g.nodes) for g in groups] == [
        ("a", ("a.b.one", "a.c.two", "plain", "a.b.three")),
        ("d", ("d.four",)),
    ]
    assert groups[0].joined == ("plain",)


def test_namespace_depth_cuts_deeper() -> None:
    nodes = [n for n in namespaced() if n.name != "plain"]
    nodes = [spec(n.name, n.inputs, n.outputs, namespace=n.namespace) for n in nodes]
    nodes[2] = spec("a.b.three", ["2"], ["4"], namespace="a.b")  # a.c.two feeds it directly
    groups = group_nodes(nodes, GroupBy("namespace", depth=2))
    # a.b = {one, three} with a.c.two between them: merged, labelled after the larger group
    assert [(g.label, g.nodes, g.joined) for g in groups] == [
        ("a.b", ("a.b.one", "a.c.two", "a.b.three"), ("a.c",)),
        ("d", ("d.four",), ()),
    ]
    independent = [
        spec("a.b.x", [], ["1"], namespace="a.b"),
        spec("a.c.y", [], ["2"], namespace="a.c"),
        spec("a.b.z", ["1"], [], namespace="a.b"),
    ]
    assert [
        (g.label, g.nodes) for g in group_nodes(independent, GroupBy("namespace", depth=2))
    ] == [
        ("a.b", ("a.b.x", "a.b.z")),
        ("a.c", ("a.c.y",)),
    ]
    assert [g.label for g in group_nodes(independent, GroupBy("namespace", depth=1))] == ["a"]


def test_tag_groups_with_the_default_prefix() -> None:
    assert DEFAULT_TAG_PREFIX == "group."
    nodes = [
        spec("a", [], ["x"], tags=["group.prep", "other"]),
        spec("b", ["x"], ["y"], tags=["group.prep"]),
        spec("c", ["y"], [], tags=["prep", "stage.prep"]),
    ]
    groups = group_nodes(nodes, parse_group_by("tag"))
    assert [(g.label, g.nodes) for g in groups] == [("prep", ("a", "b")), ("c", ("c",))]


def test_tag_groups_with_a_custom_prefix() -> None:
    nodes = [
        spec("a", [], ["x"], tags=["stage.one", "group.z"]),
        spec("b", ["x"], ["y"], tags=["group.z"]),
        spec("c", ["y"], [], tags=["stage.one"]),
    ]
    groups = group_nodes(nodes, parse_group_by("tag:stage."))
    assert [(g.label, g.nodes, g.joined) for g in groups] == [("one", ("a", "b", "c"), ("b",))]


def test_a_node_with_two_group_tags_is_refused_naming_node_and_tags() -> None:
    nodes = [spec("a", [], ["x"]), spec("train_model", ["x"], [], tags=["group.b", "group.a"])]
    with pytest.raises(CompileError) as info:
        group_nodes(nodes, GroupBy("tag"))
    message = str(info.value)
    assert "train_model" in message
    assert "group.a" in message and "group.b" in message


def test_a_group_tag_without_a_group_name_is_refused() -> None:
    with pytest.raises(CompileError, match=r"'group\.'"):
        group_nodes([spec("a", tags=["group."])], GroupBy("tag"))


# --------------------------------------------------------------------------- the cycle rule


def test_a_node_between_two_members_joins_their_group() -> None:
    # A →mem→ C and A → B → C: a pod {A, C} would wait for B, which waits for A.
    nodes = [
        spec("A", ["raw"], ["mem", "disk_a"]),
        spec("B", ["disk_a"], ["disk_b"]),
        spec("C", ["mem", "disk_b"], ["out"]),
    ]
    groups = group_nodes(nodes, MEMORY, in_memory={"mem"})
    assert groups == (Group("C", ("A", "B", "C"), joined=("B",)),)


def test_joined_is_empty_without_a_cycle_and_others_are_left_alone() -> None:
    nodes = [
        spec("A", ["raw"], ["mem"]),
        spec("side", ["raw"], ["s"]),
        spec("C", ["mem"], ["out"]),
        spec("after", ["out", "s"], []),
    ]
    groups = group_nodes(nodes, MEMORY, in_memory={"mem"})
    # groups come in the order of their first node
    assert groups == (
        Group("C", ("A", "C")),
        Group("side", ("side",)),
        Group("after", ("after",)),
    )


def reach(parents: dict[int, set[int]]) -> dict[int, set[int]]:
    """Vertices reachable from each vertex (one edge or more), by depth-first search."""
    children: dict[int, set[int]] = {v: set() for v in parents}
    for v, ps in parents.items():
        for p in ps:
            children[p].add(v)
    out = {}
    for v in parents:
        seen: set[int] = set()
        todo = list(children[v])
        while todo:
            w = todo.pop()
            if w not in seen:
                seen.add(w)
                todo.extend(children[w])
        out[v] = seen
    return out


@st.composite
def keyed_dags(draw: st.DrawFn) -> tuple[list[NodeSpec], list[str | None]]:
    """A random DAG in topological order, each node with a random group key (or none)."""
    count = draw(st.integers(1, 14))
    keys = draw(
        st.lists(st.sampled_from([None, None, "g0", "g1", "g2"]), min_size=count, max_size=count)
    )
    nodes = []
    for i in range(count):
        parents = draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True)) if i else []
        tags = [f"group.{keys[i]}"] if keys[i] else []
        nodes.append(spec(f"n{i}", [f"d{p}" for p in parents] or ["raw"], [f"d{i}"], tags=tags))
    return nodes, keys


@settings(max_examples=300, deadline=None)
@given(keyed_dags())
def test_contracted_groups_are_acyclic_and_minimal(
    case: tuple[list[NodeSpec], list[str | None]],
) -> None:
    nodes, keys = case
    groups = group_nodes(nodes, GroupBy("tag"))
    position = {n.name: i for i, n in enumerate(nodes)}
    # every node in exactly one group, in input order inside it
    flat = [n for g in groups for n in g.nodes]
    assert sorted(flat) == sorted(n.name for n in nodes) and len(flat) == len(nodes)
    for g in groups:
        assert list(g.nodes) == sorted(g.nodes, key=position.__getitem__)
    # the oracle: initial groups (a key, or a lone node); groups reaching each other merge
    initial: dict[object, set[int]] = {}
    for i, key in enumerate(keys):
        initial.setdefault(key if key is not None else ("alone", i), set()).add(i)
    blocks = list(initial.values())
    block_of = {i: k for k, b in enumerate(blocks) for i in b}
    node_parents = {i: {int(ds[1:]) for ds in n.inputs if ds != "raw"} for i, n in enumerate(nodes)}
    quotient = {
        k: {block_of[p] for i in b for p in node_parents[i]} - {k} for k, b in enumerate(blocks)
    }
    r = reach(quotient)
    expected = {
        frozenset(i for j, b in enumerate(blocks) if j == k or (j in r[k] and k in r[j]) for i in b)
        for k in range(len(blocks))
    }
    assert {frozenset(position[n] for n in g.nodes) for g in groups} == expected
    # the steps they become form a DAG, and the groups come in a topological order of it
    group_of = {position[n]: k for k, g in enumerate(groups) for n in g.nodes}
    for i, ps in node_parents.items():
        for p in ps:
            assert group_of[p] <= group_of[i], "a group comes after the groups it loads from"
    # joined names the original groups that were merged in, never the surviving label
    for g in groups:
        assert g.label not in g.joined
    assert len({g.label for g in groups}) == len(groups)


# --------------------------------------------------------------------------- settings rule


def ns(**fields: Any) -> NodeSettings:
    return NodeSettings.model_validate(fields)


def merged(*members: dict[str, Any]) -> NodeSettings:
    return merge_group_settings([(f"node_{k}", ns(**m)) for k, m in enumerate(members)])


def test_resources_take_the_largest_value_of_each_field() -> None:
    out = merged(
        {"resources": {"cpu": "500m", "memory": "2Gi", "gpu": 1}},
        {"resources": {"cpu": "1", "memory": "2000Mi", "cpu_limit": "2"}},
        {"resources": {"cpu": 0.75, "memory_limit": "3G", "gpu": 2}},
    )
    assert out.resources is not None
    assert out.resources.cpu == "1"  # 1 > 0.75 > 500m
    assert out.resources.memory == "2Gi"  # 2147483648 > 2097152000
    assert out.resources.cpu_limit == "2"
    assert out.resources.memory_limit == "3G"
    assert out.resources.gpu == 2


def test_resources_compare_quantities_not_texts() -> None:
    out = merged({"resources": {"memory": "900Mi"}}, {"resources": {"memory": "1Gi"}})
    assert out.resources is not None and out.resources.memory == "1Gi"
    out = merged({"resources": {"cpu": "1500m"}}, {"resources": {"cpu": "1"}})
    assert out.resources is not None and out.resources.cpu == "1500m"


def test_two_gpu_resources_conflict() -> None:
    with pytest.raises(CompileError, match=r"node_0.*node_1"):
        merged(
            {"resources": {"gpu": 1}},
            {"resources": {"gpu": 1, "gpu_resource": "amd.com/gpu"}},
        )


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        ({"env": {"A": "1"}}, {"env": {"A": "2"}}, "env.A"),
        ({"node_selector": {"pool": "cpu"}}, {"node_selector": {"pool": "gpu"}}, "node_selector"),
        (
            {"volumes": [{"name": "data", "mount_path": "/d", "source": {"emptyDir": {}}}]},
            {"volumes": [{"name": "data", "mount_path": "/other", "source": {"emptyDir": {}}}]},
            "volumes.data",
        ),
        (
            {"pod_spec_patch": {"securityContext": {"runAsUser": 1}}},
            {"pod_spec_patch": {"securityContext": {"runAsUser": 2}}},
            "pod_spec_patch",
        ),
        ({"affinity": {"nodeAffinity": {"x": 1}}}, {"affinity": {"podAffinity": {}}}, "affinity"),
    ],
)
def test_a_conflict_names_both_nodes(
    first: dict[str, Any], second: dict[str, Any], field: str
) -> None:
    with pytest.raises(CompileError) as info:
        merge_group_settings([("load_data", ns(**first)), ("train_model", ns(**second))])
    message = str(info.value)
    assert "'load_data'" in message and "'train_model'" in message
    assert field in message


def test_env_selectors_volumes_and_patches_are_united() -> None:
    volume_a = {"name": "a", "mount_path": "/a", "source": {"emptyDir": {}}}
    volume_b = {"name": "b", "mount_path": "/b", "source": {"emptyDir": {}}}
    out = merged(
        {
            "env": {"A": "1", "SAME": "x"},
            "node_selector": {"pool": "cpu"},
            "volumes": [volume_a],
            "pod_spec_patch": {"securityContext": {"runAsUser": 1}},
        },
        {
            "env": {"B": {"secret": "s", "key": "k"}, "SAME": "x"},
            "node_selector": {"zone": "a"},
            "volumes": [volume_b, volume_a],
            "pod_spec_patch": {"securityContext": {"fsGroup": 2}, "priority": 5},
        },
    )
    assert out.env is not None and set(out.env) == {"A", "SAME", "B"}
    assert out.node_selector == {"pool": "cpu", "zone": "a"}
    assert [v.name for v in out.volumes or []] == ["a", "b"]
    assert out.pod_spec_patch == {"securityContext": {"runAsUser": 1, "fsGroup": 2}, "priority": 5}


def test_tolerations_are_united_and_affinity_must_agree() -> None:
    gpu = {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}
    spot = {"key": "spot", "operator": "Equal", "value": "yes"}
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}
    out = merged(
        {"tolerations": [gpu], "affinity": affinity},
        {"tolerations": [spot, gpu], "affinity": affinity},
        {},
    )
    assert [t.key for t in out.tolerations or []] == ["gpu", "spot"]
    assert out.affinity == affinity


def test_retry_takes_the_largest_limit_with_that_nodes_policy_and_backoff() -> None:
    out = merged(
        {"retry": {"limit": 2, "policy": "Always"}},
        {"retry": {"limit": 5, "policy": "OnError", "backoff": {"duration": "10s", "factor": 2}}},
        {"retry": {"limit": 3, "policy": "OnFailure", "backoff": {"duration": "1s"}}},
        {},
    )
    assert out.retry is not None
    assert out.retry.limit == 5
    assert out.retry.policy == "OnError"
    assert out.retry.backoff is not None and out.retry.backoff.duration == "10s"
    assert out.retry.backoff.factor == 2


def test_retry_with_a_limit_wins_over_a_retry_without_one_in_any_order() -> None:
    without = {"retry": {"policy": "Always"}}
    with_limit = {"retry": {"limit": 2, "policy": "OnError"}}
    assert merged(with_limit, without).retry == ns(**with_limit).retry  # this order works
    assert merged(without, with_limit).retry == ns(**with_limit).retry


def test_timeout_is_the_sum_of_the_nodes_timeouts() -> None:
    assert merged({"timeout": "30s"}, {"timeout": "1m"}, {"timeout": 15}).timeout == "105s"
    assert merged({"timeout": "1h"}, {"timeout": "1h"}).timeout == "7200s"


def test_timeout_is_none_when_any_node_has_none() -> None:
    assert merged({"timeout": "30s"}, {}).timeout is None
    assert merged({}, {"timeout": "30s"}).timeout is None


def test_one_node_or_equal_settings_are_kept_as_they_are() -> None:
    settings_ = ns(resources={"cpu": "2"}, env={"A": "1"})
    assert merge_group_settings([("a", settings_)]) == settings_
    assert merge_group_settings([("a", settings_), ("b", settings_)]) == settings_
    assert merge_group_settings([]) == NodeSettings()


# --------------------------------------------------------------------------- --group-by texts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("none", GroupBy("none")),
        ("memory", GroupBy("memory")),
        (" memory ", GroupBy("memory")),
        ("namespace", GroupBy("namespace", depth=1)),
        ("namespace:1", GroupBy("namespace", depth=1)),
        ("namespace:3", GroupBy("namespace", depth=3)),
        ("tag", GroupBy("tag", prefix="group.")),
        ("tag:stage.", GroupBy("tag", prefix="stage.")),
        ("tag:pod-", GroupBy("tag", prefix="pod-")),
        (GroupBy("memory"), GroupBy("memory")),
    ],
)
def test_parse_group_by_accepts(text: Any, expected: GroupBy) -> None:
    assert parse_group_by(text) == expected
    assert parse_group_by(str(expected)) == expected  # str() writes what parse reads


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nodes",
        "Memory",
        "namespace:",
        "namespace:0",
        "namespace:-1",
        "namespace:x",
        "namespace:1.5",
        "tag:",
        "memory:1",
        "none:x",
        3,
        None,
        ["memory"],
    ],
)
def test_parse_group_by_refuses(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_group_by(text)


# --------------------------------------------------------------------------- compiling with it


def pipeline_in_namespaces() -> list[NodeSpec]:
    """Three namespaces of four chained nodes, the namespaces chained too."""
    nodes = []
    previous = "raw"
    for space in ("ingest", "features", "model"):
        for i in range(4):
            output = f"{space}.d{i}"
            nodes.append(spec(f"{space}.n{i}", [previous], [output], namespace=space))
            previous = output
    return nodes


def compile_(config: dict[str, Any] | None = None, group_by: str | None = None) -> Any:
    base = {"image": "i:1", "data": {"root": "s3://b/r"}}
    project = facts(pipeline_in_namespaces(), {**base, **(config or {})})
    return build_from_facts(project, BuildRequest(project_path=Path("/none"), group_by=group_by))


def test_group_by_gives_fewer_steps() -> None:
    assert len(compile_().plan.steps) == 12
    built = compile_(group_by="namespace")
    assert [s.label for s in built.plan.steps] == ["ingest", "features", "model"]
    assert built.plan.steps[0].nodes == tuple(f"ingest.n{i}" for i in range(4))
    assert built.grouping == GroupBy("namespace")
    # memory: every dataset is exchanged in memory (the default of the hand-made facts)
    assert len(compile_(group_by="memory").plan.steps) == 1


def test_group_by_flag_wins_over_argo_yml() -> None:
    assert len(compile_({"grouping": "namespace"}).plan.steps) == 3
    assert len(compile_({"grouping": "namespace"}, group_by="none").plan.steps) == 12
    assert len(compile_({"grouping": "none"}, group_by="namespace").plan.steps) == 3


def test_a_bad_group_by_flag_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--group-by"):
        compile_(group_by="by-magic")


def test_merged_groups_are_reported() -> None:
    nodes = [
        spec("A", ["raw"], ["mem", "disk_a"], tags=["group.g"]),
        spec("B", ["disk_a"], ["disk_b"]),
        spec("C", ["mem", "disk_b"], ["out"], tags=["group.g"]),
    ]
    built = build_from_facts(facts(nodes), BuildRequest(project_path=Path("/none"), group_by="tag"))
    assert [s.nodes for s in built.plan.steps] == [("A", "B", "C")]
    assert len(built.notes) == 1 and "'B'" in built.notes[0] and "'g'" in built.notes[0]


def test_a_groups_pod_gets_the_merged_settings_of_its_nodes() -> None:
    nodes = [
        spec("small", ["raw"], ["x"], tags=["group.g"]),
        spec("big", ["x"], ["y"], tags=["group.g"]),
    ]
    config = {
        "image": "i:1",
        "data": {"root": "s3://b/r"},
        "nodes": {
            "names": {
                "small": {"resources": {"cpu": "500m", "memory": "2Gi"}, "timeout": "30s"},
                "big": {"resources": {"cpu": "1", "memory": "2000Mi"}, "timeout": "1m"},
            }
        },
    }
    built = build_from_facts(
        facts(nodes, config), BuildRequest(project_path=Path("/none"), group_by="tag")
    )
    (step,) = built.plan.steps
    template = next(t for t in built.manifest["spec"]["templates"] if t["name"] == step.template)
    assert template["container"]["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"}}
    assert template["timeout"] == "90s"


@pytest.mark.parametrize(
    ("nodes", "grouping"),
    [
        (
            [
                spec("x", ["raw"], ["o1"], tags=["group.train"]),
                spec("y", ["o1"], ["o2"], tags=["group.train"]),
                spec("train", ["o2"], ["o3"]),
            ],
            "tag",
        ),
        (
            [spec("prep.x", ["raw"], ["o1"], namespace="prep"), spec("prep", ["o1"], ["o2"])],
            "namespace",
        ),
    ],
    ids=["tag", "namespace"],
)
def test_a_group_named_like_an_ungrouped_node_compiles(
    nodes: list[NodeSpec], grouping: str
) -> None:
    groups = group_nodes(nodes, parse_group_by(grouping))
    assert len({g.label for g in groups}) == len(groups) == 2
    built = build_from_facts(
        facts(nodes), BuildRequest(project_path=Path("/none"), group_by=grouping)
    )
    assert len(built.plan.steps) == 2
