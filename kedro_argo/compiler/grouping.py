"""Kedro nodes → groups of nodes that share one pod (a step). Pure.

Strategies (``--group-by``): ``none`` keeps a pod per node; ``memory`` puts nodes linked by an
in-memory dataset (undeclared, or declared ``MemoryDataset``) in one pod, so that object never
leaves the process; ``namespace[:DEPTH]`` groups the nodes of one Kedro namespace (its first
DEPTH levels); ``tag[:PREFIX]`` groups the nodes tagged ``PREFIX<group>``.

Grouping never creates a cycle between steps. Contracting a group can: with ``A →mem→ C`` and
``A → B → C``, a step {A, C} would need B's output before it starts and B would need A's. Such
cycles are **merged**: every node (or group) on a path between two members of a group joins
that group, so the plan always runs. :attr:`Group.joined` records who joined, and the compiler
reports it. (Refusing instead would make a strategy fail on pipelines it describes well.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kedro_argo.compiler.facts import NodeSpec, transcoding_base
from kedro_argo.config import GroupBy
from kedro_argo.errors import CompileError
from kedro_argo.graphs import strongly_connected_components, weakly_connected_components

__all__ = ["Group", "group_nodes"]


@dataclass(frozen=True)
class Group:
    """Nodes run by one pod, in Kedro's topological order."""

    label: str  # the Kedro-side name of the step: a node name, a namespace, a tag's group
    nodes: tuple[str, ...]
    joined: tuple[str, ...] = ()  # labels of groups merged in to keep the steps acyclic


def group_nodes(
    nodes: Sequence[NodeSpec], grouping: GroupBy, *, in_memory: Iterable[str] = ()
) -> tuple[Group, ...]:
    """Group ``nodes`` (Kedro's topological order) by ``grouping``; groups in a topological
    order of the steps they become. ``in_memory``: datasets that live in process memory."""
    if grouping.kind == "none":  # a pod per node: nothing to contract, nothing to merge
        return tuple(Group(node.name, (node.name,)) for node in nodes)
    keys = _keys(nodes, grouping, frozenset(in_memory))
    order: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if key is not None:
            order.setdefault(key, []).append(i)
    # One initial group per key (labelled by the key) or per ungrouped node, in first-node order.
    initial: list[tuple[str, list[int]]] = []
    seen: set[str] = set()
    for i, key in enumerate(keys):
        if key is None:
            initial.append((nodes[i].name, [i]))
        elif key not in seen:
            seen.add(key)
            initial.append((_label(key, grouping, [nodes[j] for j in order[key]]), order[key]))
    group_of = {i: g for g, (_, members) in enumerate(initial) for i in members}
    producer = {transcoding_base(ds): i for i, node in enumerate(nodes) for ds in node.outputs}
    parents: dict[int, set[int]] = {g: set() for g in range(len(initial))}
    for i, node in enumerate(nodes):
        for ds in node.inputs:
            j = producer.get(transcoding_base(ds))
            if j is not None and group_of[j] != group_of[i]:
                parents[group_of[i]].add(group_of[j])
    groups: list[Group] = []
    taken: set[str] = set()
    for component in strongly_connected_components(parents):
        members = sorted(i for g in component for i in initial[g][1])
        label = _merged_label(component, initial)
        joined = tuple(initial[g][0] for g in component if initial[g][0] != label)
        groups.append(Group(_unique(label, taken), tuple(nodes[i].name for i in members), joined))
    return tuple(groups)


def _unique(label: str, taken: set[str]) -> str:
    """A group may be named like a node outside it (tag ``group.train`` and a node ``train``):
    the later one gets ``~2``, ``~3``... so every step has a name of its own."""
    candidate, k = label, 1
    while candidate in taken:
        k += 1
        candidate = f"{label}~{k}"
    taken.add(candidate)
    return candidate


def _merged_label(component: list[int], initial: list[tuple[str, list[int]]]) -> str:
    """A merged group keeps the label of its largest original group (the first on a tie)."""
    return initial[max(component, key=lambda g: (len(initial[g][1]), -g))][0]


def _keys(
    nodes: Sequence[NodeSpec], grouping: GroupBy, in_memory: frozenset[str]
) -> list[str | None]:
    """The group key of each node; ``None`` keeps a node alone."""
    if grouping.kind == "none":
        return [None] * len(nodes)
    if grouping.kind == "namespace":
        return [
            ".".join(node.namespace.split(".")[: grouping.depth]) if node.namespace else None
            for node in nodes
        ]
    if grouping.kind == "tag":
        return [_tag_key(node, grouping.prefix) for node in nodes]
    return _memory_keys(nodes, in_memory)


def _tag_key(node: NodeSpec, prefix: str) -> str | None:
    groups = sorted(tag[len(prefix) :] for tag in node.tags if tag.startswith(prefix))
    if len(groups) > 1:
        raise CompileError(
            f"Node '{node.name}' has tags for {len(groups)} groups "
            f"({', '.join(prefix + g for g in groups)}): a node can be in one group only; "
            "remove all but one of these tags."
        )
    if groups and not groups[0]:
        raise CompileError(
            f"Node '{node.name}' has the tag '{prefix}' with no group name after the prefix: "
            f"tag it '{prefix}<group>'."
        )
    return groups[0] if groups else None


def _memory_keys(nodes: Sequence[NodeSpec], in_memory: frozenset[str]) -> list[str | None]:
    """Nodes joined by an in-memory dataset (its producer and every consumer) share a key."""
    memory = {transcoding_base(ds) for ds in in_memory}
    producer = {
        transcoding_base(ds): i
        for i, node in enumerate(nodes)
        for ds in node.outputs
        if transcoding_base(ds) in memory
    }
    links = {
        i: [producer[b] for ds in node.inputs if (b := transcoding_base(ds)) in producer]
        for i, node in enumerate(nodes)
    }
    keys: list[str | None] = [None] * len(nodes)
    for linked in weakly_connected_components(list(range(len(nodes))), links):
        if len(linked) > 1:  # keyed by its first node's name: unique, so keys never collide
            for i in linked:
                keys[i] = nodes[linked[0]].name
    return keys


def _label(key: str, grouping: GroupBy, members: Sequence[NodeSpec]) -> str:
    """A memory group is named after its last node (what the group produces); namespace and
    tag groups after the namespace or the tag's group name."""
    if grouping.kind == "memory":
        return members[-1].name
    return key
