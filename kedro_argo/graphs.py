"""Small, deterministic graph algorithms shared by planning, checks and local mode.

Graphs are ``{vertex: parents}`` mappings (an edge runs from each parent to the vertex), the
shape every caller already has: a Kedro node and the producers of its inputs, a DAG task and
its ``depends``. Results never depend on hash order: ties follow the mapping's order.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

__all__ = [
    "find_cycle",
    "strongly_connected_components",
    "topological_order",
    "weakly_connected_components",
]

V = TypeVar("V", bound=Hashable)


def find_cycle(parents: Mapping[V, Iterable[V]]) -> list[V]:
    """A cycle as ``[v0, v1, ..., v0]`` in data-flow order (each vertex a parent of the next),
    starting at its earliest vertex in mapping order; ``[]`` when the graph is acyclic.

    Parents that are not keys of the mapping are ignored (outside the graph).
    """
    order = {v: i for i, v in enumerate(parents)}
    stuck = _unplaceable(parents, order)
    if not stuck:
        return []
    # Every stuck vertex has a stuck parent, so walking parents must revisit a vertex.
    current = min(stuck, key=order.__getitem__)
    walk: list[V] = []
    seen: dict[V, int] = {}
    while current not in seen:
        seen[current] = len(walk)
        walk.append(current)
        current = min((p for p in parents[current] if p in stuck), key=order.__getitem__)
    cycle = walk[seen[current] :]
    cycle.reverse()  # a parent walk runs against the data flow
    first = min(range(len(cycle)), key=lambda i: order[cycle[i]])
    cycle = cycle[first:] + cycle[:first]
    return [*cycle, cycle[0]]


def _unplaceable(parents: Mapping[V, Iterable[V]], order: Mapping[V, int]) -> set[V]:
    """Vertices Kahn's algorithm cannot place: those on, or downstream of, a cycle."""
    waiting = {v: 0 for v in parents}
    children: dict[V, list[V]] = {v: [] for v in parents}
    for v, ps in parents.items():
        for p in set(ps):
            if p in children:
                children[p].append(v)
                waiting[v] += 1
    ready = [v for v, count in waiting.items() if count == 0]
    while ready:
        v = ready.pop()
        for child in children[v]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return {v for v, count in waiting.items() if count > 0}


def topological_order(parents: Mapping[V, Iterable[V]]) -> list[V]:
    """Vertices so that parents come first; among ready vertices, mapping order wins (so an
    order that is already topological comes back unchanged). ``ValueError`` on a cycle."""
    order = {v: i for i, v in enumerate(parents)}
    vertices = list(parents)
    children: dict[V, list[V]] = {v: [] for v in vertices}
    waiting = {v: 0 for v in vertices}
    for v, ps in parents.items():
        for p in set(ps):
            if p in children:
                children[p].append(v)
                waiting[v] += 1
    ready = [order[v] for v in vertices if waiting[v] == 0]
    heapq.heapify(ready)
    out: list[V] = []
    while ready:
        v = vertices[heapq.heappop(ready)]
        out.append(v)
        for child in children[v]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, order[child])
    if len(out) < len(vertices):
        raise ValueError(f"cycle: {find_cycle(parents)}")
    return out


def strongly_connected_components(parents: Mapping[V, Iterable[V]]) -> list[list[V]]:
    """Tarjan's algorithm, iterative. Components in topological order of the condensation
    (a component's parents' components come first); vertices inside one in mapping order."""
    order = {v: i for i, v in enumerate(parents)}
    children: dict[V, list[V]] = {v: [] for v in parents}
    for v, ps in parents.items():
        for p in ps:
            if p in children:
                children[p].append(v)
    index: dict[V, int] = {}
    low: dict[V, int] = {}
    on_stack: set[V] = set()
    stack: list[V] = []
    found: list[list[V]] = []
    counter = 0
    for root in parents:
        if root in index:
            continue
        work: list[tuple[V, int]] = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            kids = children[v]
            if i < len(kids):
                work.append((v, i + 1))
                w = kids[i]
                if w not in index:
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
            if low[v] == index[v]:
                component: list[V] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                found.append(sorted(component, key=order.__getitem__))
    # Tarjan emits components in reverse topological order of the condensation (on the
    # children graph, sinks first); a stable topological sort of the condensation follows.
    found.reverse()
    component_of = {v: k for k, comp in enumerate(found) for v in comp}
    condensed: dict[int, set[int]] = {k: set() for k in range(len(found))}
    for v, ps in parents.items():
        for p in ps:
            if p in component_of and component_of[p] != component_of[v]:
                condensed[component_of[v]].add(component_of[p])
    # Order components by their earliest vertex where the dependencies allow it.
    keyed = sorted(range(len(found)), key=lambda k: order[found[k][0]])
    ranked = {k: {j: None for j in condensed[k]} for k in keyed}
    return [found[k] for k in topological_order(ranked)]


def weakly_connected_components(
    vertices: Sequence[V], parents: Mapping[V, Iterable[V]]
) -> list[list[V]]:
    """Groups of ``vertices`` linked by edges in either direction (edges leaving ``vertices``
    are ignored); each group in ``vertices`` order, groups by their first vertex."""
    position = {v: i for i, v in enumerate(vertices)}
    root = list(range(len(vertices)))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for v in vertices:
        for p in parents.get(v, ()):
            if p in position:
                a, b = find(position[v]), find(position[p])
                if a != b:
                    root[max(a, b)] = min(a, b)
    groups: dict[int, list[V]] = {}
    for i, v in enumerate(vertices):
        groups.setdefault(find(i), []).append(v)
    return list(groups.values())
