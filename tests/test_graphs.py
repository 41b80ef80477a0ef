"""Tests for kedro_argo.graphs: cycles, topological order, strongly / weakly connected components.

Graphs are ``{vertex: parents}`` mappings. Every property test checks the function against a
small, independent oracle written here from the definitions (reachability by depth-first
search, "the first ready vertex in mapping order", undirected search), never against another
function of the module.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kedro_argo.graphs import (
    find_cycle,
    strongly_connected_components,
    topological_order,
    weakly_connected_components,
)

PROPERTY = settings(max_examples=100, deadline=None)

# --------------------------------------------------------------------------- oracles


def reachable(parents: Mapping[Hashable, Iterable[Hashable]], start: Hashable) -> set[Hashable]:
    """Vertices reachable from ``start`` along data flow (parent → child) by one edge or more."""
    children: dict[Hashable, list[Hashable]] = {v: [] for v in parents}
    for v, ps in parents.items():
        for p in ps:
            if p in children:
                children[p].append(v)
    seen: set[Hashable] = set()
    todo = list(children[start])
    while todo:
        v = todo.pop()
        if v not in seen:
            seen.add(v)
            todo.extend(children[v])
    return seen


def is_cyclic(parents: Mapping[Hashable, Iterable[Hashable]]) -> bool:
    return any(v in reachable(parents, v) for v in parents)


def first_ready_order(parents: Mapping[Hashable, Iterable[Hashable]]) -> list[Hashable]:
    """Repeatedly take the first vertex in mapping order whose (inside) parents are placed."""
    placed: list[Hashable] = []
    done: set[Hashable] = set()
    while len(placed) < len(parents):
        v = next(
            v
            for v in parents
            if v not in done and all(p in done or p not in parents for p in parents[v])
        )
        placed.append(v)
        done.add(v)
    return placed


def undirected_components(
    vertices: list[Hashable], parents: Mapping[Hashable, Iterable[Hashable]]
) -> list[set[Hashable]]:
    inside = set(vertices)
    neighbours: dict[Hashable, set[Hashable]] = {v: set() for v in vertices}
    for v in vertices:
        for p in parents.get(v, ()):
            if p in inside:
                neighbours[v].add(p)
                neighbours[p].add(v)
    seen: set[Hashable] = set()
    out = []
    for v in vertices:
        if v in seen:
            continue
        part = {v}
        todo = [v]
        while todo:
            for w in neighbours[todo.pop()]:
                if w not in part:
                    part.add(w)
                    todo.append(w)
        seen |= part
        out.append(part)
    return out


# --------------------------------------------------------------------------- strategies


@st.composite
def graphs(draw: st.DrawFn, max_vertices: int = 9, outside: bool = True) -> dict[str, list[str]]:
    """Any directed graph (cycles, self loops, repeated parents), in a random mapping order;
    parents may name vertices outside the graph."""
    count = draw(st.integers(0, max_vertices))
    names = draw(st.permutations([f"v{i}" for i in range(count)]))
    pool = names + (["out1", "out2"] if outside else [])
    if not pool:
        return {}
    return {v: draw(st.lists(st.sampled_from(pool), max_size=4)) for v in names}


@st.composite
def dags(draw: st.DrawFn, max_vertices: int = 12) -> dict[str, list[str]]:
    """An acyclic graph whose mapping order is topological (parents among earlier vertices)."""
    count = draw(st.integers(0, max_vertices))
    names = [f"v{i}" for i in range(count)]
    out: dict[str, list[str]] = {}
    for i, v in enumerate(names):
        out[v] = draw(st.lists(st.sampled_from(names[:i]), max_size=3)) if i else []
    return out


@st.composite
def shuffled(draw: st.DrawFn, graph: st.SearchStrategy[dict[str, list[str]]]) -> dict:
    g = draw(graph)
    return {v: g[v] for v in draw(st.permutations(list(g)))}


# --------------------------------------------------------------------------- find_cycle


def assert_cycle_of(parents: Mapping[str, Iterable[str]], cycle: list[str]) -> None:
    """``cycle`` is a closed walk in data-flow order without repeats, from its earliest vertex."""
    assert len(cycle) >= 2 and cycle[0] == cycle[-1], cycle
    body = cycle[:-1]
    assert len(set(body)) == len(body), f"a vertex repeats in {cycle}"
    for parent, child in itertools.pairwise(cycle):
        assert parent in set(parents[child]), f"{parent} is not a parent of {child} in {cycle}"
    order = list(parents)
    assert cycle[0] == min(body, key=order.index), f"{cycle} does not start at its earliest vertex"


def test_find_cycle_of_an_acyclic_graph_is_empty() -> None:
    assert find_cycle({}) == []
    assert find_cycle({"a": [], "b": ["a"], "c": ["a", "b"]}) == []


def test_find_cycle_runs_in_data_flow_order() -> None:
    # a feeds b, b feeds c, c feeds a: parents point against the flow
    assert find_cycle({"a": ["c"], "b": ["a"], "c": ["b"]}) == ["a", "b", "c", "a"]


def test_find_cycle_starts_at_the_earliest_vertex_in_mapping_order() -> None:
    edges = {"a": ["c"], "b": ["a"], "c": ["b"]}
    for first in ("a", "b", "c"):
        reordered = {first: edges[first], **{v: ps for v, ps in edges.items() if v != first}}
        cycle = find_cycle(reordered)
        assert cycle[0] == cycle[-1] == first
        assert_cycle_of(reordered, cycle)


def test_find_cycle_is_deterministic_whatever_the_parent_order() -> None:
    one = find_cycle({"a": ["b", "c"], "b": ["a"], "c": ["a"]})
    two = find_cycle({"a": ["c", "b"], "b": ["a"], "c": ["a"]})
    assert one == two == ["a", "b", "a"]  # b comes before c in the mapping


def test_find_cycle_ignores_parents_outside_the_graph() -> None:
    assert find_cycle({"a": ["raw"], "b": ["a", "params:x"]}) == []
    assert find_cycle({"a": ["raw", "b"], "b": ["a", "ghost"]}) == ["a", "b", "a"]


def test_find_cycle_reports_a_self_loop() -> None:
    assert find_cycle({"a": [], "b": ["a", "b"]}) == ["b", "b"]


def test_find_cycle_skips_vertices_only_downstream_of_a_cycle() -> None:
    # d and e are stuck behind the cycle b <-> c but are not on it
    parents = {"d": ["c"], "e": ["d"], "a": [], "b": ["a", "c"], "c": ["b"]}
    cycle = find_cycle(parents)
    assert set(cycle) == {"b", "c"}
    assert_cycle_of(parents, cycle)


@PROPERTY
@given(graphs())
def test_find_cycle_finds_a_cycle_exactly_when_there_is_one(parents: dict[str, list[str]]) -> None:
    cycle = find_cycle(parents)
    assert bool(cycle) == is_cyclic(parents)
    if cycle:
        assert_cycle_of(parents, cycle)
        assert find_cycle(parents) == cycle  # deterministic


# --------------------------------------------------------------------------- topological_order


@PROPERTY
@given(dags())
def test_topological_order_keeps_an_order_that_already_is_topological(
    parents: dict[str, list[str]],
) -> None:
    assert topological_order(parents) == list(parents)


@PROPERTY
@given(shuffled(dags()))
def test_topological_order_puts_parents_first_and_prefers_mapping_order(
    parents: dict[str, list[str]],
) -> None:
    order = topological_order(parents)
    assert sorted(order) == sorted(parents)
    position = {v: i for i, v in enumerate(order)}
    for v, ps in parents.items():
        assert all(position[p] < position[v] for p in ps)
    assert order == first_ready_order(parents)


def test_topological_order_ignores_outside_and_repeated_parents() -> None:
    assert topological_order({"b": ["a", "a", "raw"], "a": ["raw"]}) == ["a", "b"]


@pytest.mark.parametrize(
    "parents",
    [{"a": ["a"]}, {"a": ["b"], "b": ["a"]}, {"x": [], "a": ["x", "c"], "b": ["a"], "c": ["b"]}],
)
def test_topological_order_raises_on_a_cycle(parents: dict[str, list[str]]) -> None:
    with pytest.raises(ValueError, match="cycle"):
        topological_order(parents)


@PROPERTY
@given(graphs())
def test_topological_order_raises_exactly_on_cyclic_graphs(parents: dict[str, list[str]]) -> None:
    if is_cyclic(parents):
        with pytest.raises(ValueError):
            topological_order(parents)
    else:
        assert topological_order(parents) == first_ready_order(parents)


# --------------------------------------------------------------------------- strongly connected


def test_scc_of_a_small_graph() -> None:
    # c <-> b form one component, fed by a, feeding d; e is alone
    parents = {"e": [], "d": ["b"], "c": ["b"], "b": ["a", "c"], "a": []}
    assert strongly_connected_components(parents) == [["e"], ["a"], ["c", "b"], ["d"]]


@PROPERTY
@given(dags())
def test_scc_of_a_topologically_ordered_dag_is_each_vertex_in_order(
    parents: dict[str, list[str]],
) -> None:
    assert strongly_connected_components(parents) == [[v] for v in parents]


@PROPERTY
@given(graphs())
def test_scc_matches_mutual_reachability(parents: dict[str, list[str]]) -> None:
    components = strongly_connected_components(parents)
    flat = [v for c in components for v in c]
    assert sorted(flat) == sorted(parents), "every vertex in exactly one component"
    reach = {v: reachable(parents, v) for v in parents}
    component_of = {v: k for k, c in enumerate(components) for v in c}
    for u in parents:
        for v in parents:
            same = u == v or (v in reach[u] and u in reach[v])
            assert (component_of[u] == component_of[v]) == same, (u, v)
    order = list(parents)
    for component in components:
        assert component == sorted(component, key=order.index), "mapping order inside"
    for v, ps in parents.items():  # the condensation order is topological
        for p in ps:
            if p in component_of:
                assert component_of[p] <= component_of[v], (p, v, components)


# --------------------------------------------------------------------------- weakly connected


def test_wcc_of_a_small_graph() -> None:
    vertices = ["a", "b", "c", "d", "e"]
    parents = {"c": ["a"], "e": ["d", "outside"], "b": []}
    assert weakly_connected_components(vertices, parents) == [["a", "c"], ["b"], ["d", "e"]]


def test_wcc_ignores_edges_leaving_the_vertices() -> None:
    # a and b share a parent x that is not among the vertices: they stay apart
    assert weakly_connected_components(["a", "b"], {"a": ["x"], "b": ["x"]}) == [["a"], ["b"]]


@PROPERTY
@given(graphs(), st.data())
def test_wcc_matches_undirected_search(parents: dict[str, list[str]], data: st.DataObject) -> None:
    vertices = data.draw(st.permutations(list(parents)))
    vertices = vertices[: data.draw(st.integers(0, len(vertices)))]  # a subset, own order
    groups = weakly_connected_components(vertices, parents)
    assert [set(g) for g in groups] == undirected_components(vertices, parents)
    for group in groups:
        assert group == [v for v in vertices if v in group], "vertices order inside"
    firsts = [vertices.index(g[0]) for g in groups]
    assert firsts == sorted(firsts), "groups by their first vertex"
