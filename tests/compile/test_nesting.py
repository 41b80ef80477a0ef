"""Large pipelines: nested DAG levels, Argo's caps, and the flattened task graph.

Random DAGs of three shapes — wide (many independent chains and fan-outs), deep (long chains
with skips) and diamond-rich (fork / join) — of 50 … 2,000 nodes, plus pipelines built from
independent parts or from namespaces that are modules, compile to manifests that Argo accepts
(the shared validator), under 1 MiB, with every Kedro node named by exactly one task.

The flattened graph is computed here from the manifest dict alone (a leaf task waits for the
leaves under the sibling tasks it depends on, plus whatever its enclosing tasks wait for) and
compared with Kedro's data edges, computed from the nodes alone:

(a) sound: a step waits (transitively) for every step saving what it loads — also checked on
    :meth:`Plan.waits_for`;
(b) no invented edge: a ``depends`` between two sibling tasks is backed by a Kedro edge from
    a step under the dependency to a step under the dependent (and, conversely, every such
    pair of siblings has its ``depends``);
(c) within a level, the dependencies between two step tasks are exactly Kedro's edges;
(d) up to 200 steps (one level) the flattened graph is Kedro's graph;
(e) independent parts of at most 200 nodes each, or namespaces that are modules, wait for
    nothing Kedro does not (equal transitive closures).

Bit sets (Python ints indexed by leaf) keep the 2,000-node checks fast.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kedro_argo import argo
from kedro_argo.compiler.build import Built
from kedro_argo.compiler.facts import NodeSpec
from kedro_argo.errors import CompileError
from kedro_argo.validation.lint import check_manifest

from ..validator import assert_valid, warm_up
from .support import build_facts, facts, task_nodes, wf_spec

LIMIT = 200
BIG = settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SMALL = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True, scope="module")
def _validator_loaded() -> None:
    """Load the validators before Hypothesis starts."""
    warm_up()


# --------------------------------------------------------------------------- random pipelines


class Maker:
    """Nodes in topological order: each saves one dataset named after it."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.nodes: list[NodeSpec] = []

    def add(self, parents: Sequence[str], name: str | None = None, space: str | None = None) -> str:
        name = name or f"{self.prefix}_step_{len(self.nodes):04d}"
        inputs = tuple(dict.fromkeys(f"{p}:out" for p in parents)) or ("raw_input",)
        self.nodes.append(NodeSpec(name, inputs, (f"{name}:out",), frozenset(), space))
        return name


def wide(count: int, rng: random.Random) -> list[NodeSpec]:
    """Many small independent trees: chains and fan-outs."""
    make = Maker("wide")
    while len(make.nodes) < count:
        members: list[str] = []
        for _ in range(min(count - len(make.nodes), rng.randint(1, 40))):
            parent = (
                rng.choice(members[-3:] if rng.random() < 0.5 else members) if members else None
            )
            members.append(make.add([parent] if parent else []))
    return make.nodes


def deep(count: int, rng: random.Random) -> list[NodeSpec]:
    """One to three long chains with skip edges and a few links between the chains."""
    make = Maker("deep")
    lines: list[list[str]] = [[] for _ in range(rng.randint(1, 3))]
    for _ in range(count):
        line = rng.choice(lines)
        parents = line[-1:]
        if len(line) > 3 and rng.random() < 0.2:
            parents.append(line[-rng.randint(2, min(10, len(line)))])
        other = rng.choice(lines)
        if other is not line and other and rng.random() < 0.05:
            parents.append(other[-1])
        line.append(make.add(parents))
    return make.nodes


def diamonds(count: int, rng: random.Random) -> list[NodeSpec]:
    """Strands of fork / join diamonds (2-6 branches of 1-3 nodes), sometimes crossing."""
    make = Maker("diamond")
    heads: list[str | None] = [None] * rng.randint(1, 4)
    while len(make.nodes) < count:
        strand = rng.randrange(len(heads))
        ends = []
        for _ in range(rng.randint(2, 6)):
            tip = heads[strand]
            for _ in range(rng.randint(1, 3)):
                if len(make.nodes) >= count - 1:
                    break
                tip = make.add([tip] if tip else [])
            ends.append(tip)
        if len(make.nodes) >= count:
            break
        cross = heads[rng.randrange(len(heads))] if rng.random() < 0.1 else None
        heads[strand] = make.add([e for e in [*ends, cross] if e])
    return make.nodes


SHAPES: dict[str, Callable[[int, random.Random], list[NodeSpec]]] = {
    "wide": wide,
    "deep": deep,
    "diamond": diamonds,
}


def parts(count: int, rng: random.Random) -> list[NodeSpec]:
    """Independent parts of at most 200 nodes, each of a random shape."""
    nodes: list[NodeSpec] = []
    k = 0
    while len(nodes) < count:
        size = min(count - len(nodes), rng.randint(1, LIMIT))
        shape = rng.choice(list(SHAPES))
        part = SHAPES[shape](size, rng)
        for n in part:
            inputs = tuple(f"part{k}.{d}" for d in n.inputs)
            outputs = tuple(f"part{k}.{d}" for d in n.outputs)
            nodes.append(NodeSpec(f"part{k}.{n.name}", inputs, outputs))
        k += 1
    return nodes


def module_dag(size: int, rng: random.Random) -> list[list[int]]:
    """Parents of ``size`` vertices with a single source (0) and a single sink (last)."""
    parents: list[list[int]] = [[]]
    for i in range(1, size):
        parents.append(sorted(set(rng.sample(range(i), min(i, rng.randint(1, 3))))))
    if size > 1:
        has_child = {p for ps in parents for p in ps}
        parents[-1] = sorted(set(parents[-1]) | {i for i in range(size - 1) if i not in has_child})
    return parents


def modules(count: int, rng: random.Random, tops: int | None = None) -> list[NodeSpec]:
    """Namespaces that are modules: each has one entry node that every other node of it
    descends from and one exit node that descends from all of them; edges between
    namespaces run from an exit to an entry. Top namespaces over 200 nodes hold sub-namespaces
    (``top.sub``) that are modules too; no namespace at the deepest level exceeds 200 nodes."""
    make = Maker("mod")
    tops = tops or rng.randint(2, 12)
    sizes = [count // tops + (1 if k < count % tops else 0) for k in range(tops)]

    def leaf(space: str, size: int, entry_inputs: list[str]) -> tuple[str, str]:
        names: list[str] = []
        for i, ps in enumerate(module_dag(size, rng)):
            inputs = [names[p] for p in ps] + (entry_inputs if i == 0 else [])
            names.append(make.add(inputs, name=f"{space}.step_{i:03d}", space=space))
        return names[0], names[-1]

    def composite(
        spaces: list[str], sizes: list[int], entry_inputs: list[str], build: Callable[..., Any]
    ) -> tuple[str, str]:
        exits: list[str] = []
        entry = ""
        for k, ps in enumerate(module_dag(len(spaces), rng)):
            first, last = build(spaces[k], sizes[k], [exits[p] for p in ps] or entry_inputs)
            entry = entry or first
            exits.append(last)
        return entry, exits[-1]

    def top(space: str, size: int, entry_inputs: list[str]) -> tuple[str, str]:
        if size <= LIMIT:
            return leaf(space, size, entry_inputs)
        subs = -(-size // rng.randint(60, LIMIT))
        sub_sizes = [size // subs + (1 if k < size % subs else 0) for k in range(subs)]
        return composite([f"{space}.sub{k}" for k in range(subs)], sub_sizes, entry_inputs, leaf)

    composite([f"top{k}" for k in range(tops)], sizes, [], top)
    return make.nodes


# --------------------------------------------------------------------------- the flattened graph


def bits(value: int) -> Iterator[int]:
    while value:
        low = value & -value
        yield low.bit_length() - 1
        value ^= low


@dataclass
class Flattened:
    """Leaf (step) tasks of the manifest and what each waits for, from the dict alone."""

    leaves: list[tuple[str, ...]] = field(default_factory=list)  # the Kedro nodes of each
    names: list[str] = field(default_factory=list)  # task names
    waits: list[int] = field(default_factory=list)  # direct waits (bit sets of leaves)
    levels: dict[str, list[tuple[str, int, int, bool]]] = field(default_factory=dict)
    # per DAG template: (task, leaves under it, leaves under the siblings it depends on,
    # whether it is a leaf)

    def closure(self) -> list[int]:
        return closure(self.waits)

    def named(self, leaves: int) -> list[str]:
        """Task names of (the first few) leaves in a bit set, for messages."""
        return [self.names[i] for i in list(bits(leaves))[:5]]


def flatten(manifest: Mapping[str, Any]) -> Flattened:
    spec = wf_spec(manifest)
    templates = {t["name"]: t for t in spec["templates"]}
    dags = {name: t["dag"]["tasks"] for name, t in templates.items() if "dag" in t}
    out = Flattened()
    under: dict[str, int] = {}
    uses: Counter[str] = Counter()

    def collect(dag: str) -> int:
        total = 0
        for task in dags[dag]:
            if task["template"] in dags:
                uses[task["template"]] += 1
                total |= collect(task["template"])
            else:
                under[f"{dag}/{task['name']}"] = 1 << len(out.leaves)
                total |= 1 << len(out.leaves)
                out.leaves.append(tuple(task_nodes(task)))
                out.names.append(task["name"])
                out.waits.append(0)
        under[dag] = total
        return total

    root = spec["entrypoint"]
    collect(root)
    assert uses[root] == 0 and all(uses[d] == 1 for d in dags if d != root), (
        "every nested DAG template runs exactly once"
    )

    def task_under(dag: str, task: Mapping[str, Any]) -> int:
        return (
            under[task["template"]] if task["template"] in dags else under[f"{dag}/{task['name']}"]
        )

    def visit(dag: str, inherited: int) -> None:
        tasks = {t["name"]: t for t in dags[dag]}
        rows = []
        for task in dags[dag]:
            depends = [d.strip() for d in str(task.get("depends") or "").split("&&") if d.strip()]
            assert set(depends) <= set(tasks) - {task["name"]}, (dag, task["name"], depends)
            before = 0
            for name in depends:
                before |= task_under(dag, tasks[name])
            mine = task_under(dag, task)
            is_leaf = task["template"] not in dags
            rows.append((task["name"], mine, before, is_leaf))
            if is_leaf:
                out.waits[mine.bit_length() - 1] = inherited | before
            else:
                visit(task["template"], inherited | before)
        out.levels[dag] = rows

    visit(root, 0)
    return out


def closure(parents: list[int]) -> list[int]:
    """Transitive closure of a DAG given as bit sets of parents (fails on a cycle)."""
    done = [0] * len(parents)
    finished = 0
    for start in range(len(parents)):
        if finished >> start & 1:
            continue
        stack, path = [start], 1 << start
        while stack:
            v = stack[-1]
            pending = parents[v] & ~finished
            if pending:
                assert not pending & path, "the flattened graph has a cycle"
                p = pending.bit_length() - 1
                stack.append(p)
                path |= 1 << p
                continue
            total = rest = parents[v]
            while rest:  # a parent already implied by another one adds nothing
                p = rest.bit_length() - 1
                total |= done[p]
                rest &= ~(done[p] | 1 << p)
            done[v] = total
            finished |= 1 << v
            path &= ~(1 << v)
            stack.pop()
    return done


def kedro_edges(nodes: Sequence[NodeSpec], leaf_of: Mapping[str, int], count: int) -> list[int]:
    """Per leaf, the leaves saving what its nodes load (Kedro's data edges between steps)."""
    producer = {ds.split("@")[0]: n.name for n in nodes for ds in n.outputs}
    parents = [0] * count
    for n in nodes:
        for ds in n.inputs:
            source = producer.get(ds.split("@")[0])
            if source is not None and leaf_of[source] != leaf_of[n.name]:
                parents[leaf_of[n.name]] |= 1 << leaf_of[source]
    return parents


# --------------------------------------------------------------------------- the checks


def compact_size(manifest: Mapping[str, Any]) -> int:
    """Bytes of the compact JSON the API server stores (what Argo's 1 MiB counts)."""
    return len(json.dumps(manifest, separators=(",", ":")).encode())


def check_large(
    built: Built,
    nodes: Sequence[NodeSpec],
    *,
    validate: bool = True,
    exact_closure: bool = False,
    with_waits_for: bool | None = None,
) -> Flattened:
    manifest, plan = built.manifest, built.plan
    check_manifest(manifest)
    if validate:
        assert_valid(manifest)
    size = compact_size(manifest)
    assert size < argo.MAX_OBJECT_BYTES, f"{size} B"
    spec = wf_spec(manifest)
    assert len(spec["templates"]) <= argo.MAX_TEMPLATES
    for template in spec["templates"]:
        if "dag" in template:
            assert len(template["dag"]["tasks"]) <= argo.MAX_DAG_TASKS, template["name"]

    flat = flatten(manifest)
    # every Kedro node is named by exactly one task, and a step runs its nodes in Kedro order
    named = Counter(n for leaf in flat.leaves for n in leaf)
    assert set(named) == {n.name for n in nodes}
    assert set(named.values()) == {1}, [n for n, k in named.items() if k > 1][:5]
    position = {n.name: i for i, n in enumerate(nodes)}
    for leaf in flat.leaves:
        assert list(leaf) == sorted(leaf, key=position.__getitem__)
    assert sorted(flat.names) == sorted(s.name for s in plan.steps)

    leaf_of = {n: i for i, leaf in enumerate(flat.leaves) for n in leaf}
    kedro = kedro_edges(nodes, leaf_of, len(flat.leaves))
    children = [0] * len(kedro)
    for v, ps in enumerate(kedro):
        for p in bits(ps):
            children[p] |= 1 << v

    # a step depends on exactly the steps saving what it loads
    index = {name: i for i, name in enumerate(flat.names)}
    for step in plan.steps:
        assert sum(1 << index[d] for d in step.depends) == kedro[index[step.name]], step.name

    # (a) sound: each Kedro edge is waited for (directly, as the plan writes it, or at least
    # transitively)
    lazy: list[int] = []
    for v, ps in enumerate(kedro):
        missing = ps & ~flat.waits[v]
        if missing:
            lazy = lazy or flat.closure()
            assert missing & ~lazy[v] == 0, f"{flat.names[v]} does not wait for its inputs"

    # (b) + (c): siblings depend on each other exactly when a Kedro edge joins them
    for dag, rows in flat.levels.items():
        feeds = {}  # per task: the leaves loading what the leaves under it save
        for name, mine, _, _ in rows:
            feeds[name] = 0
            for s in bits(mine):
                feeds[name] |= children[s]
        for name, mine, before, _ in rows:
            expected = 0
            for other, theirs, _, _ in rows:
                if other != name and feeds[other] & mine:
                    expected |= theirs
            invented = before & ~expected
            assert not invented, f"{dag}/{name} waits for unrelated {flat.named(invented)}"
            assert before == expected, f"{dag}/{name} misses {flat.named(expected & ~before)}"
        leaf_rows = [(name, mine, before) for name, mine, before, is_leaf in rows if is_leaf]
        siblings = 0
        for _, mine, _ in leaf_rows:
            siblings |= mine
        for name, mine, before in leaf_rows:
            v = mine.bit_length() - 1
            assert before & siblings == kedro[v] & siblings, f"{dag}/{name}: not Kedro's edges"

    # (d) a single level: the flattened graph is Kedro's graph
    if len(plan.steps) <= LIMIT:
        assert len(plan.dags) == 1
        assert flat.waits == kedro

    # the plan's own flattening agrees with the manifest's (it is quadratic: mid sizes only)
    if with_waits_for is None:
        with_waits_for = len(plan.steps) <= 600
    if with_waits_for:
        full = lazy or flat.closure()
        waits = plan.waits_for()
        for name, before in waits.items():
            assert sum(1 << index[b] for b in before) == full[index[name]], name

    # (e) nothing is waited for that Kedro does not imply
    if exact_closure:
        assert (lazy or flat.closure()) == closure(kedro), "some step waits needlessly"
    return flat


# --------------------------------------------------------------------------- property tests


#: Hypothesis favours small integers: one band per order of size keeps the big ones drawn.
BANDS = [(50, 400), (401, 1000), (1001, 2000)]


@pytest.mark.parametrize(("low", "high"), BANDS, ids=[f"{a}-{b}" for a, b in BANDS])
def test_random_dags_compile_within_argo_limits_with_the_kedro_graph(low: int, high: int) -> None:
    @BIG
    @given(st.sampled_from(list(SHAPES)), st.integers(low, high), st.integers(0, 2**32))
    def check(shape: str, count: int, seed: int) -> None:
        nodes = SHAPES[shape](count, random.Random(seed))
        assert len(nodes) == count
        check_large(build_facts(facts(nodes)), nodes)

    check()


@SMALL
@given(st.sampled_from(list(SHAPES)), st.integers(50, LIMIT), st.integers(0, 2**32))
def test_up_to_200_steps_the_flattened_graph_is_kedros(shape: str, count: int, seed: int) -> None:
    nodes = SHAPES[shape](count, random.Random(seed))
    flat = check_large(build_facts(facts(nodes)), nodes, validate=count % 2 == 0)
    assert len(flat.leaves) == count


NESTED_BANDS = [(201, 900), (901, 2000)]


@pytest.mark.parametrize(("low", "high"), NESTED_BANDS, ids=[f"{a}-{b}" for a, b in NESTED_BANDS])
def test_independent_parts_wait_for_nothing_extra(low: int, high: int) -> None:
    @BIG
    @given(st.integers(low, high), st.integers(0, 2**32))
    def check(count: int, seed: int) -> None:
        nodes = parts(count, random.Random(seed))
        built = build_facts(facts(nodes))
        assert len(built.plan.dags) > 1
        check_large(built, nodes, validate=False, exact_closure=True)

    check()


@pytest.mark.parametrize(("low", "high"), NESTED_BANDS, ids=[f"{a}-{b}" for a, b in NESTED_BANDS])
def test_namespaces_that_are_modules_wait_for_nothing_extra(low: int, high: int) -> None:
    @BIG
    @given(st.integers(low, high), st.integers(2, 12), st.integers(0, 2**32))
    def check(count: int, tops: int, seed: int) -> None:
        nodes = modules(count, random.Random(seed), tops)
        built = build_facts(facts(nodes))
        assert len(built.plan.dags) > 1
        check_large(built, nodes, validate=False, exact_closure=True)

    check()


def test_nested_namespaces_that_are_modules_wait_for_nothing_extra() -> None:
    nodes = modules(2000, random.Random(11), tops=3)  # tops of ~667 nodes: sub-namespaces
    built = build_facts(facts(nodes))
    depth_two = [d for d in built.plan.dags if d.label.count(".") == 1]
    assert depth_two, [d.label for d in built.plan.dags]
    check_large(built, nodes, exact_closure=True)


def test_the_flattening_check_catches_invented_and_missing_waits() -> None:
    """The checks above are real: a ``depends`` removed or added in a nested level fails."""
    nodes = deep(400, random.Random(1))
    built = build_facts(facts(nodes))
    check_large(built, nodes, validate=False)

    def mutated(change: Callable[[list[dict[str, Any]]], None]) -> Built:
        manifest = copy.deepcopy(built.manifest)
        level = next(
            t
            for t in wf_spec(manifest)["templates"]
            if "dag" in t and t["name"] != "kedro-pipeline" and len(t["dag"]["tasks"]) > 2
        )
        change(level["dag"]["tasks"])
        return dataclasses.replace(built, manifest=manifest)

    def drop(tasks: list[dict[str, Any]]) -> None:
        next(t for t in tasks if t.get("depends")).pop("depends")

    def invent(tasks: list[dict[str, Any]]) -> None:
        target = tasks[-1]  # tasks come in topological order: an earlier one makes no cycle
        deps = [d for d in str(target.get("depends") or "").split(" && ") if d]
        extra = next(t["name"] for t in tasks[:-1] if t["name"] not in deps)
        target["depends"] = " && ".join([*deps, extra])

    for change in (drop, invent):
        with pytest.raises(AssertionError):
            check_large(mutated(change), nodes, validate=False, with_waits_for=False)


@pytest.mark.parametrize("grouping", ["memory", "tag"])
@pytest.mark.parametrize("seed", [0, 1])
def test_grouped_random_dags_keep_the_kedro_graph(grouping: str, seed: int) -> None:
    rng = random.Random(seed)
    nodes = diamonds(1500, rng) if seed else deep(1500, rng)
    # some datasets persisted (memory groups stay small), some nodes tagged into groups
    exchanged = frozenset(ds for n in nodes for ds in n.outputs if rng.random() < 0.4)
    tagged = [
        NodeSpec(n.name, n.inputs, n.outputs, frozenset({f"group.g{i // 7}"}))
        if rng.random() < 0.5
        else n
        for i, n in enumerate(nodes)
    ]
    built = build_facts(facts(tagged, exchanged_datasets=exchanged), group_by=grouping)
    assert LIMIT < len(built.plan.steps) < len(nodes)  # grouped, and still nested
    check_large(built, tagged, validate=seed == 0)


# --------------------------------------------------------------------------- fixed large cases


@pytest.mark.parametrize("shape", list(SHAPES))
def test_2000_nodes_without_grouping_fit_and_stay_traceable(shape: str) -> None:
    nodes = SHAPES[shape](2000, random.Random(2000))
    assert len(nodes) == 2000
    built = build_facts(facts(nodes))
    assert len(built.plan.steps) == 2000
    check_large(built, nodes)
    size = compact_size(built.manifest)
    assert size / len(nodes) <= 300, f"{size / len(nodes):.0f} B per node"


def namespaced(count: int, spaces: int, rng: random.Random) -> list[NodeSpec]:
    """``spaces`` namespaces of diamond-rich nodes, each namespace fed by the previous one."""
    nodes: list[NodeSpec] = []
    previous: tuple[str, ...] = ()
    for k in range(spaces):
        space = f"space_{k:03d}"
        for n in diamonds(count // spaces, rng):
            inputs = tuple(f"{space}.{d}" for d in n.inputs if d != "raw_input") or previous
            nodes.append(
                NodeSpec(
                    f"{space}.{n.name}",
                    inputs or ("raw_input",),
                    tuple(f"{space}.{d}" for d in n.outputs),
                    frozenset({f"group.{space}"}),
                    space,
                )
            )
        previous = nodes[-1].outputs
    return nodes


@pytest.mark.parametrize("grouping", ["namespace", "tag"])
def test_10000_nodes_with_grouping_are_valid_and_under_1_mib(grouping: str) -> None:
    nodes = namespaced(10_000, 100, random.Random(10))
    assert len(nodes) == 10_000
    built = build_facts(facts(nodes), group_by=grouping)
    assert len(built.plan.steps) == 100
    check_large(built, nodes, validate=grouping == "namespace")


def test_10000_nodes_with_many_small_groups_nest_and_fit() -> None:
    rng = random.Random(7)
    nodes = deep(10_000, rng)
    # every fifth dataset is persisted: memory groups of about five nodes, ~2,000 steps
    exchanged = frozenset(n.outputs[0] for i, n in enumerate(nodes) if i % 5)
    built = build_facts(facts(nodes, exchanged_datasets=exchanged), group_by="memory")
    assert LIMIT < len(built.plan.steps) < 4000
    assert len(built.plan.dags) > 1
    check_large(built, nodes, with_waits_for=False)


# --------------------------------------------------------------------------- what cannot fit


def one_line(error: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(error.value)
    assert "\n" not in message, message
    return message


def test_thousands_of_pod_profiles_are_refused_with_the_way_out() -> None:
    nodes = wide(300, random.Random(3))
    config = {
        "image": "i:1",
        "data": {"root": "s3://b/r"},
        "nodes": {
            "names": {n.name: {"resources": {"cpu": f"{i + 1}m"}} for i, n in enumerate(nodes)}
        },
    }
    with pytest.raises(CompileError) as info:
        build_facts(facts(nodes, config))
    message = one_line(info)
    assert "200-template limit" in message
    assert "300 steps" in message and "300 distinct pod profiles" in message
    assert "grouping: none" in message
    assert "--group-by" in message


def test_the_way_out_of_too_many_profiles_works() -> None:
    nodes = [
        NodeSpec(n.name, n.inputs, n.outputs, frozenset({f"group.g{i % 10}"}))
        for i, n in enumerate(wide(300, random.Random(3)))
    ]
    config = {
        "image": "i:1",
        "data": {"root": "s3://b/r"},
        "nodes": {
            "names": {n.name: {"resources": {"cpu": f"{i + 1}m"}} for i, n in enumerate(nodes)}
        },
    }
    built = build_facts(facts(nodes, config, exchanged_datasets=frozenset()), group_by="tag")
    assert len(built.plan.templates) <= 10
    check_large(built, nodes)


def test_10000_ungrouped_nodes_are_refused_with_the_figures_and_the_way_out() -> None:
    nodes = wide(10_000, random.Random(4))
    with pytest.raises(CompileError) as info:
        build_facts(facts(nodes))
    message = one_line(info)
    assert "KiB" in message and "1024 KiB" in message
    assert "10000 steps" in message and "10000 nodes" in message
    assert "grouping: none" in message
    assert "--group-by" in message
