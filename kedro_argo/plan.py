"""Pipeline facts -> steps (one Argo DAG task each) with their data dependencies.

The plan is the one place that decides which Kedro nodes run in which pod, what each pod
waits for and which registered pipeline it loads. It is pure and deterministic so the
compiler, the checks and the in-pod runtime all derive the same picture from the same facts.
Dependencies are exactly Kedro's data edges (an input of one step is an output of another):
no transitive reduction, no extra edges, so Argo never starts a step before its data exists.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from kedro_argo.errors import CompileError
from kedro_argo.naming import to_argo_names

__all__ = ["DEFAULT_PIPELINE", "NodeSpec", "Plan", "Step", "build_plan"]

DEFAULT_PIPELINE = "__default__"


@dataclass(frozen=True)
class NodeSpec:
    """A Kedro node reduced to the facts planning needs (no Kedro objects cross this line)."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    tags: frozenset[str] = frozenset()
    namespace: str | None = None


@dataclass(frozen=True)
class Step:
    """One Argo DAG task: a pod that runs ``nodes`` from registered pipeline ``pipeline``.

    ``inputs`` are the datasets the step loads (consumed by its nodes, not produced inside
    the step); ``outputs`` are all datasets its nodes save.
    """

    name: str  # Argo template / DAG-task name
    nodes: tuple[str, ...]  # Kedro node names, in pipeline order
    pipeline: str  # registered pipeline the pod loads
    depends: tuple[str, ...]  # Argo names of upstream steps, sorted
    inputs: frozenset[str]
    outputs: frozenset[str]


@dataclass(frozen=True)
class Plan:
    """Steps in a deterministic topological order, plus the dataset lookups built on them."""

    steps: tuple[Step, ...]
    _by_name: Mapping[str, Step] = field(init=False, repr=False, compare=False, hash=False)
    _producers: Mapping[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # Invariants the compiler relies on; a violation is a bug in whoever built the plan.
        by_name: dict[str, Step] = {}
        producers: dict[str, str] = {}
        for step in self.steps:
            if step.name in by_name:
                raise ValueError(f"Duplicate step name {step.name!r}")
            unknown = [dep for dep in step.depends if dep not in by_name]
            if unknown:
                raise ValueError(f"Step {step.name!r} depends on {unknown} which do not precede it")
            for dataset in step.outputs:
                if dataset in producers:
                    raise ValueError(
                        f"Dataset {dataset!r} is produced by both {producers[dataset]!r} "
                        f"and {step.name!r}"
                    )
                producers[dataset] = step.name
            by_name[step.name] = step
        object.__setattr__(self, "_by_name", MappingProxyType(by_name))
        object.__setattr__(self, "_producers", MappingProxyType(producers))

    @property
    def producers(self) -> Mapping[str, str]:
        """Dataset name -> name of the step that saves it (read-only)."""
        return self._producers

    def produced_by(self, dataset: str) -> str | None:
        """Name of the step that saves ``dataset``, or ``None`` if it comes from outside."""
        return self._producers.get(dataset)

    def external_inputs(self) -> frozenset[str]:
        """Datasets some step loads but no step saves (raw data, ``params:*``, ...)."""
        consumed = frozenset().union(*(step.inputs for step in self.steps))
        return frozenset(ds for ds in consumed if ds not in self._producers)

    def step(self, name: str) -> Step:
        """The step called ``name`` (``KeyError`` if there is none)."""
        return self._by_name[name]


def build_plan(
    nodes: Sequence[NodeSpec],
    *,
    registered: Mapping[str, frozenset[str]],
    reserved_names: Collection[str] = (),
    max_name_length: int = 63,
) -> Plan:
    """Turn nodes (in Kedro's topological order) into a :class:`Plan`, one step per node.

    ``registered`` maps each registered pipeline name to its node names; every step runs in
    the smallest registered pipeline containing all its nodes. Argo step names avoid
    ``reserved_names`` (the compiler's own template names). Raises :class:`CompileError` for
    an empty pipeline, duplicate node names, a dataset saved by two nodes, a cycle, nodes not
    in topological order, or a node that no registered pipeline contains.
    """
    nodes = tuple(nodes)
    if not nodes:
        raise CompileError(
            "The pipeline has no nodes, so there is nothing to compile. "
            "Check the pipeline name and any node/tag filters."
        )
    _check_nodes(nodes)
    _check_topological(nodes)

    # One step per node for now; everything below works on groups so grouping can slot in.
    groups: list[tuple[NodeSpec, ...]] = [(node,) for node in nodes]
    sources = [_name_source(group) for group in groups]
    argo_names = to_argo_names(sources, max_length=max_name_length, reserved=reserved_names)
    chooser = _PipelineChooser(registered)

    producers: dict[str, str] = {}
    steps: list[Step] = []
    for group, source in zip(groups, sources, strict=True):
        name = argo_names[source]
        outputs = frozenset(ds for node in group for ds in node.outputs)
        inputs = frozenset(ds for node in group for ds in node.inputs) - outputs
        depends = sorted(
            {producers[key] for key in map(transcoding_base, inputs) if key in producers}
        )
        node_names = tuple(node.name for node in group)
        steps.append(
            Step(
                name=name,
                nodes=node_names,
                pipeline=chooser.choose(node_names),
                depends=tuple(depends),
                inputs=inputs,
                outputs=outputs,
            )
        )
        producers.update(dict.fromkeys(map(transcoding_base, outputs), name))
    return Plan(tuple(steps))


def transcoding_base(dataset: str) -> str:
    """``df@pandas`` and ``df@spark`` are one dataset to Kedro (transcoding): same base."""
    return dataset.split("@", 1)[0]


def _name_source(group: tuple[NodeSpec, ...]) -> str:
    """The text a step's Argo name is derived from (node names never contain commas)."""
    return ",".join(node.name for node in group)


def _check_nodes(nodes: tuple[NodeSpec, ...]) -> None:
    """Kedro guarantees these for a real pipeline; hand-made facts may not."""
    seen: set[str] = set()
    producer: dict[str, str] = {}
    for node in nodes:
        if node.name in seen:
            raise CompileError(f"Two nodes are named {node.name!r}; node names must be unique.")
        seen.add(node.name)
        for dataset in node.outputs:
            if dataset in producer:
                raise CompileError(
                    f"Dataset {dataset!r} is saved by both node {producer[dataset]!r} and node "
                    f"{node.name!r}; each dataset must be saved by exactly one node."
                )
            producer[dataset] = node.name


def _check_topological(nodes: tuple[NodeSpec, ...]) -> None:
    """Raise unless ``nodes`` is acyclic and already in topological order.

    Kahn's algorithm with ties broken by input position reproduces the input order exactly
    when that order is topological, so any difference pinpoints the problem.
    """
    index_of_output = {
        transcoding_base(ds): i for i, node in enumerate(nodes) for ds in node.outputs
    }
    predecessors: list[set[int]] = [
        {
            index_of_output[key]
            for key in map(transcoding_base, node.inputs)
            if key in index_of_output
        }
        for node in nodes
    ]
    successors: list[list[int]] = [[] for _ in nodes]
    for i, preds in enumerate(predecessors):
        for p in preds:
            successors[p].append(i)

    waiting = [len(preds) for preds in predecessors]
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for s in successors[i]:
            waiting[s] -= 1
            if waiting[s] == 0:
                heapq.heappush(ready, s)

    if len(order) < len(nodes):
        cycle = _find_cycle(predecessors, [count > 0 for count in waiting])
        path = " -> ".join(repr(nodes[i].name) for i in cycle)
        raise CompileError(
            f"The pipeline has a cycle: {path} (each node saves an input of the "
            "next). Break the cycle by renaming one of the datasets involved."
        )
    for position, i in enumerate(order):
        if i != position:
            # Node ``position`` was not ready in input order: it loads a later node's output.
            node = nodes[position]
            late = min(
                (index_of_output[transcoding_base(ds)], ds)
                for ds in node.inputs
                if index_of_output.get(transcoding_base(ds), -1) > position
            )
            raise CompileError(
                f"Nodes are not in topological order: node {node.name!r} comes before node "
                f"{nodes[late[0]].name!r}, which saves its input {late[1]!r}. Pass the nodes "
                "in the order Pipeline.nodes gives them."
            )


def _find_cycle(predecessors: list[set[int]], stuck: list[bool]) -> list[int]:
    """A cycle among the nodes Kahn's algorithm could not place, in data-flow order,
    starting from its earliest node.

    Every stuck node has a stuck predecessor, so walking predecessors must revisit a node.
    """
    start = min(i for i, flag in enumerate(stuck) if flag)
    walk: list[int] = []
    seen: dict[int, int] = {}
    current = start
    while current not in seen:
        seen[current] = len(walk)
        walk.append(current)
        current = min(p for p in predecessors[current] if stuck[p])
    cycle = walk[seen[current] :]
    cycle.reverse()  # predecessor walk -> data-flow order
    first = cycle.index(min(cycle))  # start at the earliest node, for a stable message
    cycle = cycle[first:] + cycle[:first]
    return [*cycle, cycle[0]]


class _PipelineChooser:
    """Picks the smallest registered pipeline containing given nodes, so pods import little."""

    def __init__(self, registered: Mapping[str, frozenset[str]]) -> None:
        # Fewest nodes first; on equal size any named pipeline beats __default__; then name.
        self._candidates = sorted(
            ((len(members), name == DEFAULT_PIPELINE, name, frozenset(members)))
            for name, members in registered.items()
        )
        self._cache: dict[tuple[str, ...], str] = {}

    def choose(self, node_names: tuple[str, ...]) -> str:
        if node_names not in self._cache:
            self._cache[node_names] = self._choose(node_names)
        return self._cache[node_names]

    def _choose(self, node_names: tuple[str, ...]) -> str:
        wanted = frozenset(node_names)
        for _size, _is_default, name, members in self._candidates:
            if wanted <= members:
                return name
        missing = sorted(node for node in wanted if not any(node in c[3] for c in self._candidates))
        if missing:
            raise CompileError(
                f"Node {missing[0]!r} is in no registered pipeline, so no pod could load it. "
                "Add it to a pipeline returned by register_pipelines() (e.g. __default__)."
            )
        raise CompileError(  # pragma: no cover - only reachable once steps group nodes
            f"No registered pipeline contains all of the nodes {sorted(wanted)}; register one "
            "that does, or do not group these nodes into one step."
        )
