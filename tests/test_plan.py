"""Tests for kedro_argo.compiler.plan: data dependencies, order, names, pipeline choice,
shared step templates."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_argo.argo import ARGO_NAME_RE
from kedro_argo.compiler.facts import NodeSpec
from kedro_argo.compiler.grouping import Group
from kedro_argo.compiler.plan import Plan, Step, StepTemplate, build_plan
from kedro_argo.config import NodeSettings
from kedro_argo.errors import CompileError

FAST = settings(max_examples=200, deadline=None)

hostile_text = st.one_of(
    st.sampled_from(
        ["", "a_b", "a.b", "A-B", "123", "main", "🚀", "ns.node@v1", "x" * 300, "données", "a b"]
    ),
    st.text(max_size=20),
    st.text(alphabet="aB_.-@ 7é🚀", max_size=10),
)


def node(name: str, inputs: list[str] | tuple[str, ...] = (), outputs=()) -> NodeSpec:
    return NodeSpec(name, tuple(inputs), tuple(outputs), frozenset(), None)


def everything(nodes: list[NodeSpec]) -> dict[str, frozenset[str]]:
    return {"__default__": frozenset(n.name for n in nodes)}


@dataclass
class Dag:
    nodes: list[NodeSpec]
    external: list[str]


@st.composite
def dags(draw: st.DrawFn, max_nodes: int = 20) -> Dag:
    """Nodes in a valid topological order: inputs come from earlier nodes or from outside."""
    count = draw(st.integers(1, max_nodes))
    names = draw(st.lists(hostile_text, min_size=count, max_size=count, unique=True))
    # Each dataset is saved by at most one node: hand out names from a pool of unique ones
    # (unique up to transcoding too: `a@x` and `a@y` are one dataset to Kedro).
    pool = iter(
        draw(st.lists(hostile_text, unique_by=lambda ds: ds.split("@")[0], max_size=3 * max_nodes))
    )
    spare = (f"\x00spare-{k}" for k in range(10**6))

    def fresh_dataset() -> str:
        ds = next(pool, None)
        return next(spare) if ds is None else ds

    external = [fresh_dataset() for _ in range(draw(st.integers(0, 4)))]
    available = list(external)
    nodes = []
    for name in names:
        inputs = (
            draw(st.lists(st.sampled_from(available), unique=True, max_size=4)) if available else []
        )
        outputs = [fresh_dataset() for _ in range(draw(st.integers(0, 3)))]
        available.extend(outputs)
        tags = frozenset(draw(st.lists(st.sampled_from(["a", "b"]), max_size=2)))
        namespace = draw(st.sampled_from([None, "ns"]))
        nodes.append(NodeSpec(name, tuple(inputs), tuple(outputs), tags, namespace))
    return Dag(nodes, external)


def data_deps(nodes: list[NodeSpec]) -> list[set[int]]:
    """Independent oracle: i depends on j iff an input of i is an output of j (compared
    without the transcoding suffix, as Kedro does)."""

    def bases(names: tuple[str, ...]) -> set[str]:
        return {name.partition("@")[0] for name in names}

    return [
        {j for j, other in enumerate(nodes) if bases(n.inputs) & bases(other.outputs)}
        for n in nodes
    ]


def reachable(deps: list[set[int]], start: int, goal: int) -> bool:
    """Whether ``goal`` transitively depends on ``start``."""
    stack, seen = [goal], set()
    while stack:
        current = stack.pop()
        if current == start:
            return True
        if current not in seen:
            seen.add(current)
            stack.extend(deps[current])
    return False


# ---------------------------------------------------------------- dependencies and order


def host(plan: Plan, step: Step) -> str:
    return plan.template(step.template).pipeline


@FAST
@given(dag=dags())
def test_dependencies_are_exactly_the_data_edges(dag: Dag) -> None:
    nodes = dag.nodes
    plan = build_plan(nodes, hosts=everything(nodes))

    assert [s.nodes for s in plan.steps] == [(n.name,) for n in nodes]
    names = [s.name for s in plan.steps]
    assert len(set(names)) == len(names)
    for name in names:
        assert ARGO_NAME_RE.fullmatch(name)
        assert len(name) <= 63
        assert not name[0].isdigit()

    expected = data_deps(nodes)
    for i, step in enumerate(plan.steps):
        assert step.depends == tuple(sorted(step.depends))
        assert set(step.depends) == {names[j] for j in expected[i]}
        assert len(step.depends) == len(expected[i])
        assert all(names.index(dep) < i for dep in step.depends), "not topological"
        assert step.inputs == frozenset(nodes[i].inputs)
        assert step.outputs == frozenset(nodes[i].outputs)
        assert host(plan, step) == "__default__"
        assert plan.step(step.name) is step
    # one pod profile (same pipeline, no settings): one shared template
    assert len(plan.templates) == 1

    producer = {ds: names[i] for i, n in enumerate(nodes) for ds in n.outputs}
    consumed = {ds for n in nodes for ds in n.inputs}
    assert dict(plan.producers) == producer
    for ds in consumed | set(producer) | {"never-mentioned"}:
        assert plan.produced_by(ds) == producer.get(ds)
    assert plan.external_inputs() == frozenset(consumed - set(producer))
    assert plan.external_inputs() <= set(dag.external)

    assert build_plan(nodes, hosts=everything(nodes)) == plan  # deterministic


def test_small_pipeline_example() -> None:
    nodes = [
        node("preprocess_companies_node", ["companies"], ["preprocessed_companies"]),
        node("preprocess_shuttles_node", ["shuttles"], ["preprocessed_shuttles"]),
        node(
            "create_model_input_table_node",
            ["preprocessed_shuttles", "preprocessed_companies", "reviews"],
            ["model_input_table"],
        ),
        node(
            "split_data_node",
            ["model_input_table", "params:model_options"],
            ["X_train", "X_test", "y_train", "y_test"],
        ),
        node("train_model_node", ["X_train", "y_train"], ["regressor"]),
        node("evaluate_model_node", ["regressor", "X_test", "y_test"], []),
    ]
    plan = build_plan(nodes, hosts=everything(nodes))
    assert [(s.name, s.depends) for s in plan.steps] == [
        ("preprocess-companies-node", ()),
        ("preprocess-shuttles-node", ()),
        (
            "create-model-input-table-node",
            ("preprocess-companies-node", "preprocess-shuttles-node"),
        ),
        ("split-data-node", ("create-model-input-table-node",)),
        ("train-model-node", ("split-data-node",)),
        # not transitively reduced: split-data-node is also a direct data parent
        ("evaluate-model-node", ("split-data-node", "train-model-node")),
    ]
    assert plan.external_inputs() == {"companies", "shuttles", "reviews", "params:model_options"}
    assert plan.produced_by("regressor") == "train-model-node"
    assert plan.produced_by("companies") is None


def test_colliding_node_names() -> None:
    nodes = [node("kedro-pipeline", [], ["a"]), node("a_b", ["a"], ["b"]), node("a.b", ["b"], [])]
    plan = build_plan(nodes, hosts=everything(nodes))
    names = [s.name for s in plan.steps]
    assert names[0] == "kedro-pipeline"  # task names live apart from template names
    assert names[1].startswith("a-b-") and names[2].startswith("a-b-")
    assert plan.steps[2].depends == (names[1],)
    assert all(t.name not in {"kedro-pipeline", "exit-handler"} for t in plan.templates)


def test_large_chain_is_fast_enough() -> None:
    nodes = [node(f"n{i}", [f"d{i - 1}"] if i else [], [f"d{i}"]) for i in range(3000)]
    plan = build_plan(nodes, hosts=everything(nodes))
    assert plan.steps[-1].depends == ("n2998",)
    assert plan.external_inputs() == frozenset()


# ---------------------------------------------------------------- cycles and order


def test_cycle_is_reported_in_data_flow_order() -> None:
    nodes = [node("a", ["z"], ["x"]), node("b", ["x"], ["y"]), node("c", ["y"], ["z"])]
    with pytest.raises(CompileError, match=r"cycle: 'a' -> 'b' -> 'c' -> 'a'"):
        build_plan(nodes, hosts=everything(nodes))


def test_cycle_after_acyclic_prefix() -> None:
    nodes = [
        node("start", [], ["s"]),
        node("p", ["s", "r"], ["q"]),
        node("q", ["q"], ["r"]),  # consumes its input's producer output: p <-> q
    ]
    with pytest.raises(CompileError, match=r"cycle: 'p' -> 'q' -> 'p'"):
        build_plan(nodes, hosts=everything(nodes))


def test_self_loop_is_a_cycle() -> None:
    nodes = [node("a", ["x"], ["x"])]
    with pytest.raises(CompileError, match=r"cycle: 'a' -> 'a'"):
        build_plan(nodes, hosts=everything(nodes))


def test_non_topological_order_is_rejected() -> None:
    nodes = [node("consumer", ["x"], []), node("producer", [], ["x"])]
    with pytest.raises(CompileError, match=r"not in topological order.*'consumer'.*'producer'"):
        build_plan(nodes, hosts=everything(nodes))


@FAST
@given(dag=dags(max_nodes=12), data=st.data())
def test_back_edges_are_rejected(dag: Dag, data: st.DataObject) -> None:
    """Make an earlier node consume a later node's output: a cycle iff the later one depends
    (transitively) on the earlier one, otherwise merely a non-topological order."""
    nodes = list(dag.nodes)
    if len(nodes) < 2:
        nodes.append(node("extra-node-\x00", [], []))
    i = data.draw(st.integers(0, len(nodes) - 2))
    j = data.draw(st.integers(i + 1, len(nodes) - 1))
    is_cycle = reachable(data_deps(nodes), i, j)
    loop = "\x00loop-dataset"
    nodes[j] = NodeSpec(
        nodes[j].name, nodes[j].inputs, (*nodes[j].outputs, loop), frozenset(), None
    )
    nodes[i] = NodeSpec(
        nodes[i].name, (*nodes[i].inputs, loop), nodes[i].outputs, frozenset(), None
    )
    with pytest.raises(CompileError) as info:
        build_plan(nodes, hosts=everything(nodes))
    message = str(info.value)
    assert ("cycle" in message) == is_cycle, message
    assert ("not in topological order" in message) == (not is_cycle), message


# ---------------------------------------------------------------- bad facts


def test_empty_pipeline_is_rejected() -> None:
    with pytest.raises(CompileError, match="no nodes"):
        build_plan([], hosts={"__default__": frozenset()})


def test_duplicate_node_names_are_rejected() -> None:
    nodes = [node("a", [], ["x"]), node("a", [], ["y"])]
    with pytest.raises(CompileError, match="Two nodes are named 'a'"):
        build_plan(nodes, hosts=everything(nodes))


def test_dataset_saved_twice_is_rejected() -> None:
    nodes = [node("a", [], ["x"]), node("b", [], ["x"])]
    with pytest.raises(CompileError, match="'x' is saved by both node 'a' and node 'b'"):
        build_plan(nodes, hosts=everything(nodes))


def test_plan_invariants_are_checked() -> None:
    t = (StepTemplate("step-p", "p"),)
    a = Step("a", "a", ("a",), "step-p", (), frozenset(), frozenset({"x"}))
    b = Step("b", "b", ("b",), "step-p", ("a",), frozenset({"x"}), frozenset())
    assert Plan((a, b), t, ()).produced_by("x") == "a"
    with pytest.raises(ValueError, match="do not precede"):
        Plan((b, a), t, ())
    with pytest.raises(ValueError, match="Duplicate step name"):
        Plan((a, a), t, ())
    with pytest.raises(ValueError, match="produced by both"):
        Plan((a, Step("c", "c", ("c",), "step-p", (), frozenset(), frozenset({"x"}))), t, ())
    with pytest.raises(ValueError, match="unknown template"):
        Plan((a,), (StepTemplate("other", "p"),), ())


# ---------------------------------------------------------------- pipeline choice


def choose(
    registered: dict[str, set[str]], node_name: str = "n", compiled: str = "__default__"
) -> str:
    nodes = [node(node_name)]
    reg = {k: frozenset(v) for k, v in registered.items()}
    plan = build_plan(nodes, hosts=reg, compiled_pipeline=compiled)
    return host(plan, plan.steps[0])


def test_smallest_containing_pipeline_wins() -> None:
    assert choose({"__default__": {"n", "m", "o"}, "big": {"n", "m"}, "small": {"n"}}) == "small"
    assert choose({"__default__": {"n", "m", "o"}, "other": {"m"}}) == "__default__"


def test_ties_go_alphabetically_and_never_to_default() -> None:
    assert choose({"b": {"n", "x"}, "a": {"n", "y"}, "__default__": {"n", "z"}}) == "a"
    # "__default__" sorts before lower-case names and after upper-case ones; it still loses
    assert choose({"__default__": {"n"}, "zeta": {"n"}}) == "zeta"
    assert choose({"__default__": {"n"}, "Zeta": {"n"}, "alpha": {"n"}}) == "Zeta"
    assert choose({"__default__": {"n"}, "smaller_but_missing": set()}) == "__default__"


def test_node_no_pipeline_hosts_runs_from_the_compiled_pipeline() -> None:
    """A registered pipeline that remaps a node's datasets does not host it (the facts leave
    the node out of that pipeline's hosts); the compiled pipeline always runs its own nodes."""
    assert choose({"__default__": {"m"}}, compiled="training") == "training"
    assert choose({}, compiled="training") == "training"


@FAST
@given(dag=dags(max_nodes=10), data=st.data())
def test_pipeline_choice_property(dag: Dag, data: st.DataObject) -> None:
    nodes = dag.nodes
    all_names = [n.name for n in nodes]
    pipe_names = data.draw(
        st.lists(st.sampled_from(["a", "b", "Z", "_x", "data_science", "~"]), unique=True)
    )
    registered = {"__default__": frozenset(all_names)}
    for p in pipe_names:
        registered[p] = frozenset(data.draw(st.lists(st.sampled_from(all_names), unique=True)))
    plan = build_plan(nodes, hosts=registered)
    for step in plan.steps:
        (name,) = step.nodes
        containing = [p for p, members in registered.items() if name in members]
        smallest = min(len(registered[p]) for p in containing)
        tied = sorted(p for p in containing if len(registered[p]) == smallest)
        named = [p for p in tied if p != "__default__"]
        assert host(plan, step) == (named[0] if named else "__default__")
    # one shared template per host pipeline in use
    assert sorted(t.pipeline for t in plan.templates) == sorted({host(plan, s) for s in plan.steps})


def test_transcoded_datasets_are_one_dataset_for_dependencies() -> None:
    """``df@pandas`` saved by one node and ``df@spark`` loaded by another: Kedro orders them,
    so must the DAG."""
    nodes = [
        NodeSpec("load", ("raw",), ("df@pandas",)),
        NodeSpec("use", ("df@spark",), ("out",)),
    ]
    plan = build_plan(nodes, hosts={"__default__": frozenset({"load", "use"})})
    assert {s.name: s.depends for s in plan.steps} == {"load": (), "use": ("load",)}
    with pytest.raises(CompileError, match="not in topological order"):
        build_plan(nodes[::-1], hosts={"__default__": frozenset({"load", "use"})})


# ---------------------------------------------------------------- groups, profiles, exports


def group(label: str, *names: str) -> Group:
    return Group(label, names)


def test_steps_of_one_profile_share_one_template() -> None:
    nodes = [node("a", [], ["x"]), node("b", ["x"], ["y"]), node("c", ["y"], []), node("d")]
    big = NodeSettings.model_validate({"resources": {"cpu": 4}})
    plan = build_plan(
        nodes,
        hosts={"__default__": frozenset("abcd"), "small": frozenset("ab")},
        node_settings={"c": big},
    )
    by_step = {s.nodes[0]: plan.template(s.template) for s in plan.steps}
    assert by_step["a"] is by_step["b"] and by_step["a"].pipeline == "small"
    assert by_step["c"].pipeline == "__default__" and by_step["c"].settings == big
    assert by_step["d"].pipeline == "__default__" and by_step["d"] is not by_step["c"]
    assert len(plan.templates) == 3
    assert [t.name for t in plan.templates] == [
        "step-small",
        "step-default-4a2c30b9",
        "step-default",
    ]


def test_exports_are_internal_outputs_also_wanted_elsewhere() -> None:
    nodes = [
        node("a", ["raw"], ["x", "kept"]),
        node("b", ["x", "kept"], ["y"]),
        node("c", ["x"], ["z"]),  # another pod loads x
    ]
    plan = build_plan(
        nodes,
        hosts=everything(nodes),
        groups=[group("ab", "a", "b"), group("c", "c")],
        exchanged={"x", "kept", "y", "z"},
    )
    ab, c = plan.steps
    assert ab.nodes == ("a", "b") and ab.exports == ("x",)
    assert ab.inputs == {"raw"} and c.inputs == {"x"} and c.depends == ("ab",)
    assert plan.template(ab.template).takes_exports


def test_memory_only_dataset_crossing_pods_is_refused() -> None:
    nodes = [node("make", [], ["conn"]), node("use", ["conn"], [])]
    with pytest.raises(CompileError) as info:
        build_plan(nodes, hosts=everything(nodes), memory_only={"conn"})
    message = str(info.value)
    for fragment in ("'conn'", "'make'", "'use'", "--group-by memory"):
        assert fragment in message
    plan = build_plan(
        nodes, hosts=everything(nodes), memory_only={"conn"}, groups=[group("g", "make", "use")]
    )
    assert [s.nodes for s in plan.steps] == [("make", "use")]


def test_a_group_is_hosted_where_all_its_nodes_run_as_compiled() -> None:
    nodes = [node("a", [], ["x"]), node("b", ["x"], [])]
    hosts = {"__default__": frozenset("ab"), "pa": frozenset("a"), "pb": frozenset("b")}
    plan = build_plan(nodes, hosts=hosts, groups=[group("ab", "a", "b")])
    assert host(plan, plan.steps[0]) == "__default__"
    plan = build_plan(nodes, hosts=hosts)
    assert [host(plan, s) for s in plan.steps] == ["pa", "pb"]


def test_stored_datasets_are_what_crosses_a_pod_or_leaves_the_last_one() -> None:
    """Plan.stored: what the pods' runtime swaps for the data root (inputs from other pods,
    outputs no node of the same pod loads, exports), among the exchanged datasets only."""
    from kedro_argo.compiler.facts import NodeSpec
    from kedro_argo.compiler.grouping import Group
    from kedro_argo.compiler.plan import build_plan

    nodes = (
        NodeSpec("a", inputs=("raw",), outputs=("m1",)),
        NodeSpec("b", inputs=("m1",), outputs=("m2", "f1")),
        NodeSpec("c", inputs=("m2",), outputs=("m3",)),
        NodeSpec("d", inputs=("m1", "m3"), outputs=("end",)),
    )
    exchanged = {"m1", "m2", "m3", "end"}
    hosts = {"__default__": frozenset(n.name for n in nodes)}
    each = build_plan(nodes, hosts=hosts, compiled_pipeline="__default__", exchanged=exchanged)
    assert each.stored == {"m1", "m2", "m3", "end"}
    grouped = build_plan(
        nodes,
        hosts=hosts,
        compiled_pipeline="__default__",
        exchanged=exchanged,
        groups=[Group("ab", ("a", "b")), Group("cd", ("c", "d"))],
    )
    # m1: loaded in ab and wanted by d (an export); m2 crosses; m3 stays in cd; end is free
    assert grouped.stored == {"m1", "m2", "end"}
    one = build_plan(
        nodes,
        hosts=hosts,
        compiled_pipeline="__default__",
        exchanged=exchanged,
        groups=[Group("all", ("a", "b", "c", "d"))],
    )
    assert one.stored == {"end"}
