"""Nodes, grouped → the plan tree: steps, shared step templates and nested DAG levels. Pure.

The plan is the one model of a compiled workflow:

* a **step** is one pod: one or more Kedro nodes run in Kedro's topological order, with the
  datasets it loads and saves and the steps whose outputs it needs;
* a **step template** is one pod profile — the registered pipeline the pod loads plus the
  resolved pod settings — shared by every step with that profile; a step's nodes reach the
  template as an input parameter;
* a **DAG level** is one DAG template of at most ``MAX_DAG_TASKS`` tasks. Where a level would
  hold more, its steps are gathered into nested DAG templates (see :func:`nest_steps`);
* a root level may also hold a **start task** running a template of its own before any step
  (the workflow's MLflow run is created there, see :mod:`kedro_argo.runtime.mlflow`);
* a **sweep** (:mod:`kedro_argo.compiler.sweeps`) puts the swept steps in a subtree of their
  own: the root's ``sweep`` task runs the loop level :data:`SWEEP_LOOP_DAG`, whose one task runs
  the branch level :data:`SWEEP_BRANCH_DAG` once per branch (Argo's ``withItems``); the levels
  of that subtree take the branch's label and values as inputs, passed down to the steps.

Dependencies are Kedro's data edges: a step waits for exactly the steps that save what it loads.
A task of a DAG waits for a sibling task exactly when some step under the first loads what some
step under the second saves — no edge is invented. Argo cannot express a dependency between tasks
of different DAG templates, so where steps must be nested a step may also wait for steps it
does not need; :func:`nest_steps` keeps independent parts apart to avoid that (see the
large-pipelines how-to for what is exact and what is not).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Union

from kedro_argo import argo
from kedro_argo.compiler.facts import DEFAULT_PIPELINE, NodeSpec, transcoding_base
from kedro_argo.compiler.grouping import Group
from kedro_argo.compiler.sweeps import Sweep
from kedro_argo.config import NodeSettings, merge_group_settings
from kedro_argo.errors import CompileError
from kedro_argo.graphs import find_cycle, strongly_connected_components, topological_order
from kedro_argo.graphs import weakly_connected_components as _components
from kedro_argo.naming import to_argo_name, to_argo_names

__all__ = [
    "ROOT_DAG",
    "SWEEP_BRANCH_DAG",
    "SWEEP_LOOP_DAG",
    "DagLevel",
    "DagTask",
    "Plan",
    "Step",
    "StepTemplate",
    "build_plan",
    "nest_steps",
]

#: The entrypoint DAG template; nested ones are ``kedro-pipeline-<part>``.
ROOT_DAG = "kedro-pipeline"
#: A sweep's loop level (one task, once per branch) and each branch's DAG; nested levels of a
#: branch are ``kedro-sweep-branch-<part>``.
SWEEP_LOOP_DAG = "kedro-sweep"
SWEEP_BRANCH_DAG = "kedro-sweep-branch"
SWEEP_TASK = "sweep"
#: Template names the plan never gives a step template.
RESERVED_TEMPLATES = (ROOT_DAG, "exit-handler", SWEEP_LOOP_DAG, SWEEP_BRANCH_DAG)
STEP_TEMPLATE_PREFIX = "step-"
SWEEP_STEP_TEMPLATE_PREFIX = "sweep-step-"
STEP_NAME_LIMIT = 63


@dataclass(frozen=True)
class Step:
    """One pod: ``nodes`` of the registered pipeline its template loads."""

    name: str  # DAG-task name, unique in the workflow
    label: str  # the Kedro-side name: the node's, or the group's
    nodes: tuple[str, ...]  # Kedro node names, in Kedro's topological order
    template: str  # name of its StepTemplate
    depends: tuple[str, ...]  # names of the steps that save what it loads, sorted
    inputs: frozenset[str]  # datasets its nodes load that its nodes do not save
    outputs: frozenset[str]  # every dataset its nodes save
    exports: tuple[str, ...] = ()  # exchanged outputs its own nodes load too, wanted elsewhere
    swept: bool = False  # runs once per branch of the sweep
    #: a swept step's inputs saved by shared (not swept) steps: read from the run, not the branch
    shared: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepTemplate:
    """A pod profile shared by steps: what pipeline the pod loads and how the pod looks."""

    name: str
    pipeline: str
    settings: NodeSettings = field(default_factory=NodeSettings, compare=False)
    takes_exports: bool = False  # some step of this profile exports datasets
    swept: bool = False  # its steps run in a branch of the sweep (they take its values)
    takes_shared: bool = False  # some step of this profile reads shared inputs in a branch
    #: datasets its step saves that the Argo UI shows (argo.yml's ``ui``): a template with
    #: results is its step's own, so that no other step is expected to write them
    result_parameters: tuple[str, ...] = ()
    result_artifacts: tuple[str, ...] = ()


@dataclass(frozen=True)
class DagTask:
    """A task of a DAG level: a step, a nested DAG level, or the start task (a template of
    its own, no Kedro nodes)."""

    name: str
    depends: tuple[str, ...] = ()  # sibling task names, sorted
    step: str | None = None
    dag: str | None = None  # template name of the nested DagLevel
    template: str | None = None  # the start task's template
    loop: bool = False  # runs its DagLevel once per branch of the sweep


@dataclass(frozen=True)
class DagLevel:
    """One DAG template; the first level of a plan is the workflow's entrypoint."""

    name: str
    label: str  # what it holds, for people: a namespace, or "part-<n>"
    tasks: tuple[DagTask, ...]
    branch: bool = False  # in a sweep branch: takes the branch's label and values as inputs


@dataclass(frozen=True)
class Plan:
    """Steps in topological order, the step templates they use, and the DAG levels."""

    steps: tuple[Step, ...]
    templates: tuple[StepTemplate, ...]
    dags: tuple[DagLevel, ...]  # the root first
    sweep: Sweep | None = None
    #: exchanged datasets some pod reads from or writes to the data root (the rest stay in a
    #: pod's memory, as grouping arranged)
    stored: frozenset[str] = frozenset()
    _by_name: Mapping[str, Step] = field(init=False, repr=False, compare=False, hash=False)
    _producers: Mapping[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # Invariants everything downstream relies on; a violation is a bug in the planner.
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
        templates = {t.name for t in self.templates}
        for step in self.steps:
            if step.template not in templates:
                raise ValueError(f"Step {step.name!r} uses unknown template {step.template!r}")
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

    def template(self, name: str) -> StepTemplate:
        return next(t for t in self.templates if t.name == name)

    @property
    def root(self) -> DagLevel:
        return self.dags[0]

    def waits_for(self) -> dict[str, frozenset[str]]:
        """Every step → the steps it waits for once the DAG levels are flattened: those it
        depends on in its own level, and everything under the tasks its enclosing tasks
        depend on. It always includes the transitive closure of :attr:`Step.depends`.
        (Sets are bit masks over step positions: a 2,000-step plan takes milliseconds.)"""
        bit = {s.name: 1 << i for i, s in enumerate(self.steps)}
        dags = {d.name: d for d in self.dags}
        below: dict[str, int] = {}

        def steps_under(task: DagTask) -> int:
            if task.step is not None:
                return bit[task.step]
            if task.dag is None:  # the start task runs no step
                return 0
            if task.dag not in below:
                mask = 0
                for inner in dags[task.dag].tasks:
                    mask |= steps_under(inner)
                below[task.dag] = mask
            return below[task.dag]

        direct = dict.fromkeys(bit, 0)

        def visit(level: DagLevel, inherited: int) -> None:
            tasks = {t.name: t for t in level.tasks}
            for task in level.tasks:
                before = inherited
                for dependency in task.depends:
                    before |= steps_under(tasks[dependency])
                if task.step is not None:
                    direct[task.step] |= before
                elif task.dag is not None:
                    visit(dags[task.dag], before)

        visit(self.root, 0)
        names = [s.name for s in self.steps]
        parents = {n: [m for k, m in enumerate(names) if direct[n] >> k & 1] for n in names}
        closure: dict[str, int] = {}
        for name in topological_order(parents):  # what a step waits for is settled first
            mask = direct[name]
            for before in parents[name]:
                mask |= closure[before]
            closure[name] = mask
        return {n: frozenset(m for k, m in enumerate(names) if closure[n] >> k & 1) for n in names}


# --------------------------------------------------------------------------- building


def build_plan(
    nodes: Sequence[NodeSpec],
    *,
    hosts: Mapping[str, frozenset[str]],
    compiled_pipeline: str = DEFAULT_PIPELINE,
    groups: Sequence[Group] | None = None,
    node_settings: Mapping[str, NodeSettings] | None = None,
    exchanged: Collection[str] = (),
    memory_only: Collection[str] = (),
    extra_templates: int = 0,
    max_dag_tasks: int = argo.MAX_DAG_TASKS,
    max_templates: int = argo.MAX_TEMPLATES,
    grouping_hint: str = "none",
    start_template: str | None = None,
    sweep: Sweep | None = None,
    swept: Collection[str] = (),
    result_parameters: Collection[str] = (),
    result_artifacts: Collection[str] = (),
) -> Plan:
    """Turn ``nodes`` (Kedro's topological order) and their ``groups`` into a :class:`Plan`.

    ``hosts`` maps each registered pipeline to the nodes a pod may run from it (same datasets
    as in the compiled pipeline); every step runs from the smallest pipeline hosting all its
    nodes, else from ``compiled_pipeline``. ``node_settings`` are each node's resolved pod
    settings (merged per step). ``exchanged``: datasets steps pass through the object store;
    ``memory_only``: declared datasets that cannot leave their process. ``extra_templates``
    (the exit handler) count towards ``max_templates``. ``grouping_hint`` names the grouping
    used, for messages. ``start_template``: a template every root task waits for, run by a
    start task of the root level (one template more, one task less for the steps per level).
    ``sweep`` and ``swept`` (the node names that run once per branch, see
    :func:`~kedro_argo.compiler.sweeps.swept_nodes`; no group may mix them with others) put
    those steps in the sweep's subtree. ``result_parameters`` / ``result_artifacts``: datasets
    shown in the Argo UI, on the template of the step that saves them.
    Raises :class:`CompileError` for what cannot run or cannot fit.
    """
    nodes = tuple(nodes)
    if not nodes:
        raise CompileError(
            "The pipeline has no nodes, so there is nothing to compile. "
            "Check the pipeline name and any node/tag filters."
        )
    _check_nodes(nodes)
    _check_topological(nodes)
    by_name = {node.name: node for node in nodes}
    if groups is None:
        groups = [Group(node.name, (node.name,)) for node in nodes]
    _check_groups(groups, nodes)
    swept = frozenset(swept) if sweep is not None else frozenset()
    for group in groups:
        inside = {n in swept for n in group.nodes}
        if len(inside) > 1:
            raise ValueError(f"Group {group.label!r} mixes swept and shared nodes")

    step_names = to_argo_names([g.label for g in groups], max_length=STEP_NAME_LIMIT)
    # transcoding bases, once per dataset name (looked up tens of thousands of times below)
    base = {ds: transcoding_base(ds) for n in nodes for ds in (*n.inputs, *n.outputs)}
    producer_node = {base[ds]: n.name for n in nodes for ds in n.outputs}
    consumers: dict[str, list[str]] = {}
    for node in nodes:
        for ds in node.inputs:
            consumers.setdefault(base[ds], []).append(node.name)
    step_of_node = {name: step_names[g.label] for g in groups for name in g.nodes}
    exchanged_bases = {transcoding_base(ds) for ds in exchanged}
    _check_memory_only(memory_only, producer_node, consumers, step_of_node)

    chooser = _PipelineChooser(hosts, compiled_pipeline)
    settings_of = _settings_merger(node_settings)
    drafts: list[tuple[Group, str, frozenset[str], frozenset[str], tuple[str, ...]]] = []
    # what the pods' runtime swaps for the data root: a step's inputs, its free outputs (not
    # loaded by its own nodes) and its exports, where exchanged
    stored: set[str] = set()
    for group in groups:
        name = step_names[group.label]
        if len(group.nodes) == 1:  # a node never loads its own output: nothing to export
            (node,) = (by_name[group.nodes[0]],)
            drafts.append((group, name, frozenset(node.inputs), frozenset(node.outputs), ()))
            stored.update(ds for ds in (*node.inputs, *node.outputs) if base[ds] in exchanged_bases)
            continue
        members = [by_name[n] for n in group.nodes]
        outputs = frozenset(ds for n in members for ds in n.outputs)
        produced = {base[ds] for ds in outputs}
        inputs = frozenset(ds for n in members for ds in n.inputs if base[ds] not in produced)
        used_inside = {base[ds] for n in members for ds in n.inputs}
        exports = tuple(
            sorted(
                ds
                for ds in outputs
                if (b := base[ds]) in exchanged_bases
                and b in used_inside
                and any(step_of_node[c] != name for c in consumers.get(b, ()))
            )
        )
        drafts.append((group, name, inputs, outputs, exports))
        free = (ds for ds in outputs if base[ds] not in used_inside)
        stored.update(ds for ds in (*inputs, *free) if base[ds] in exchanged_bases)
        stored.update(exports)

    producer_step = {base[ds]: name for _, name, _, outputs, _ in drafts for ds in outputs}
    swept_steps = {name for group, name, _, _, _ in drafts if group.nodes[0] in swept}
    shared_of = [
        tuple(
            sorted(
                ds
                for ds in inputs
                if (b := base[ds]) in producer_step and producer_step[b] not in swept_steps
            )
        )
        if name in swept_steps
        else ()
        for _, name, inputs, _, _ in drafts
    ]
    wanted = (frozenset(result_parameters), frozenset(result_artifacts))
    results_of = [
        (tuple(sorted(outputs & wanted[0])), tuple(sorted(outputs & wanted[1])))
        if wanted[0] or wanted[1]
        else ((), ())
        for _, _, _, outputs, _ in drafts
    ]
    profiles: dict[_ProfileKey, list[int]] = {}
    profile_settings: dict[_ProfileKey, NodeSettings] = {}
    # settings objects are shared by many steps: serialise each once (the entry keeps the
    # object alive, so its id cannot be reused by another object meanwhile)
    serialised: dict[int, tuple[NodeSettings, str]] = {}
    for k, (group, name, _, _, _) in enumerate(drafts):
        settings = settings_of(group.nodes)
        if id(settings) not in serialised:
            serialised[id(settings)] = (settings, _settings_key(settings))
        key = (
            chooser.choose(group.nodes),
            serialised[id(settings)][1],
            name in swept_steps,
            results_of[k],
        )
        profiles.setdefault(key, []).append(k)
        profile_settings[key] = settings
    template_names = _template_names(list(profiles), {k: len(v) for k, v in profiles.items()})
    templates = tuple(
        StepTemplate(
            name=template_names[key],
            pipeline=key[0],
            settings=profile_settings[key],
            takes_exports=any(drafts[k][4] for k in members),
            swept=key[2],
            takes_shared=any(shared_of[k] for k in members),
            result_parameters=key[3][0],
            result_artifacts=key[3][1],
        )
        for key, members in profiles.items()
    )
    template_of = {k: template_names[key] for key, members in profiles.items() for k in members}
    steps = tuple(
        Step(
            name=name,
            label=group.label,
            nodes=group.nodes,
            template=template_of[k],
            depends=tuple(
                sorted({producer_step[b] for ds in inputs if (b := base[ds]) in producer_step})
            ),
            inputs=inputs,
            outputs=outputs,
            exports=exports,
            swept=name in swept_steps,
            shared=shared_of[k],
        )
        for k, (group, name, inputs, outputs, exports) in enumerate(drafts)
    )
    budget = max_templates - len(templates) - extra_templates - 1  # the root DAG
    root_tasks = max_dag_tasks
    if start_template is not None:  # its own template; its task takes a place in the root
        budget -= 1
        root_tasks -= 1
    if sweep is None:
        dags = nest_steps(steps, nodes=by_name, max_tasks=root_tasks, max_levels=budget)
    else:
        dags = _nest_with_sweep(
            steps, nodes=by_name, max_tasks=max_dag_tasks, root_tasks=root_tasks, budget=budget
        )
    if dags is None:
        raise CompileError(
            f"The workflow cannot fit Argo's {max_templates}-template limit: {len(steps)} steps "
            f"(grouping: {grouping_hint}) use {len(templates)} distinct pod profiles and need "
            f"nested DAG templates beyond that: group nodes into fewer pods (--group-by "
            "memory|namespace|tag[:PREFIX]) or give fewer nodes pod settings of their own."
        )
    if start_template is not None:
        dags = with_start_task(dags, start_template)
    return Plan(steps=steps, templates=templates, dags=dags, sweep=sweep, stored=frozenset(stored))


def _nest_with_sweep(
    steps: Sequence[Step],
    *,
    nodes: Mapping[str, NodeSpec],
    max_tasks: int,
    root_tasks: int,
    budget: int,
) -> tuple[DagLevel, ...] | None:
    """The shared steps nested under the root (one place kept for the ``sweep`` task), the
    loop level, and the swept steps nested under the branch level."""
    shared = [s for s in steps if not s.swept]
    branch = [
        replace(s, depends=tuple(d for d in s.depends if d in {t.name for t in steps if t.swept}))
        for s in steps
        if s.swept
    ]
    budget -= 2  # the loop level and the branch level
    levels = nest_steps(shared, nodes=nodes, max_tasks=root_tasks - 1, max_levels=budget)
    if levels is None:
        return None
    inner = nest_steps(
        branch,
        nodes=nodes,
        max_tasks=max_tasks,
        max_levels=budget - (len(levels) - 1),
        root=SWEEP_BRANCH_DAG,
    )
    if inner is None:
        return None
    root, *nested = levels
    # the sweep waits for the root tasks under which its shared inputs are saved
    dag_of = {d.name: d for d in levels}
    needed = {d for s in steps if s.swept for d in s.depends if d not in {b.name for b in branch}}

    def holds(task: DagTask) -> bool:
        if task.step is not None:
            return task.step in needed
        if task.dag is None:
            return False
        return any(holds(t) for t in dag_of[task.dag].tasks)

    names = {t.name for t in root.tasks}
    sweep_task = next(iter(to_argo_names([SWEEP_TASK], reserved=names).values()))
    depends = tuple(sorted(t.name for t in root.tasks if holds(t)))
    root = replace(root, tasks=(*root.tasks, DagTask(sweep_task, depends, dag=SWEEP_LOOP_DAG)))
    loop = DagLevel(SWEEP_LOOP_DAG, "sweep", (DagTask("branch", dag=SWEEP_BRANCH_DAG, loop=True),))
    return (root, *nested, loop, *(replace(level, branch=True) for level in inner))


def with_start_task(dags: tuple[DagLevel, ...], template: str) -> tuple[DagLevel, ...]:
    """``dags`` with a first root task running ``template`` (named after it unless a task
    has that name), which every root task without dependencies waits for: the others wait
    for it through those."""
    root = dags[0]
    name = to_argo_name(template, max_length=STEP_NAME_LIMIT, reserved={t.name for t in root.tasks})
    tasks = [DagTask(name, template=template)]
    tasks += [task if task.depends else replace(task, depends=(name,)) for task in root.tasks]
    return (replace(root, tasks=tuple(tasks)), *dags[1:])


def _check_groups(groups: Sequence[Group], nodes: tuple[NodeSpec, ...]) -> None:
    """Every node in exactly one group; labels unique (a bug in the grouping otherwise)."""
    names = [n for g in groups for n in g.nodes]
    if sorted(names) != sorted(node.name for node in nodes):
        raise ValueError("groups must cover every node exactly once")
    labels = [g.label for g in groups]
    if len(set(labels)) != len(labels):
        raise ValueError(f"group labels must be unique: {labels}")


def _check_memory_only(
    memory_only: Collection[str],
    producer: Mapping[str, str],
    consumers: Mapping[str, list[str]],
    step_of_node: Mapping[str, str],
) -> None:
    """A dataset that exists only in process memory cannot cross from one pod to another."""
    for dataset in sorted(memory_only):
        base = transcoding_base(dataset)
        source = producer.get(base)
        if source is None:
            continue
        away = [c for c in consumers.get(base, ()) if step_of_node[c] != step_of_node[source]]
        if away:
            raise CompileError(
                f"Dataset '{dataset}' lives only in process memory (its catalog type cannot be "
                f"pickled between pods) but node '{source}' saves it and node '{away[0]}' loads "
                "it in another pod: group them into one pod with --group-by memory (or tag both "
                "with the same group. tag and use --group-by tag), or declare the dataset as a "
                "file or a plain MemoryDataset."
            )


def _settings_merger(
    node_settings: Mapping[str, NodeSettings] | None,
) -> Callable[[Sequence[str]], NodeSettings]:
    empty = NodeSettings()

    def merge(names: Sequence[str]) -> NodeSettings:
        if node_settings is None:
            return empty
        return merge_group_settings([(n, node_settings.get(n, empty)) for n in names])

    return merge


def _settings_key(settings: NodeSettings) -> str:
    return json.dumps(settings.model_dump(mode="json", exclude_none=True), sort_keys=True)


#: A pod profile: host pipeline, settings (as JSON), swept, results (parameters, artifacts).
_ProfileKey = tuple[str, str, bool, tuple[tuple[str, ...], tuple[str, ...]]]


def _template_names(
    profiles: list[_ProfileKey], uses: Mapping[_ProfileKey, int]
) -> dict[_ProfileKey, str]:
    """``step-<pipeline>`` (``sweep-step-<pipeline>`` in a sweep) for each pipeline's main
    profile; its other profiles get a short hash of their settings (and results), so names
    stay put when unrelated steps change."""
    main: dict[tuple[str, bool], _ProfileKey] = {}
    for key in profiles:  # most used; on a tie the plainest (fewest settings), then the first
        best = main.get((key[0], key[2]))
        rank = (uses[key], not (key[3][0] or key[3][1]), -len(key[1]))
        if best is None or rank > (uses[best], not (best[3][0] or best[3][1]), -len(best[1])):
            main[(key[0], key[2])] = key
    sources = {}
    for key in profiles:
        prefix = SWEEP_STEP_TEMPLATE_PREFIX if key[2] else STEP_TEMPLATE_PREFIX
        text = f"{prefix}{key[0]}"
        if main[(key[0], key[2])] != key:
            source = key[1] if not (key[3][0] or key[3][1]) else key[1] + json.dumps(key[3])
            text += "-" + hashlib.sha256(source.encode()).hexdigest()[:8]
        sources[key] = text
    names = to_argo_names(sources.values(), max_length=STEP_NAME_LIMIT, reserved=RESERVED_TEMPLATES)
    return {key: names[text] for key, text in sources.items()}


# --------------------------------------------------------------------------- DAG levels


@dataclass
class _Branch:
    """A nested DAG level under construction: the steps under it and its direct children."""

    steps: list[int]
    children: list[_Child]


_Child = Union[int, _Branch]  # noqa: UP007 (a runtime alias on Python 3.10)


def nest_steps(
    steps: Sequence[Step],
    *,
    nodes: Mapping[str, NodeSpec],
    max_tasks: int = argo.MAX_DAG_TASKS,
    max_levels: int = argo.MAX_TEMPLATES - 1,
    root: str = ROOT_DAG,
) -> tuple[DagLevel, ...] | None:
    """The DAG levels for ``steps`` (topological order): a root holding at most ``max_tasks``
    tasks, nesting as needed, and at most ``max_levels`` nested levels (``None`` if that
    cannot be done).

    Where steps must be nested, parts that are independent of each other (weakly connected
    components), then Kedro namespaces (when grouping them keeps the levels acyclic), become
    nested levels, so a step never waits for an unrelated part. What is left is cut into bands
    of consecutive topological layers: a step then waits for the whole band before its own,
    but the longest chain of waits stays Kedro's longest path. If the structured nesting needs
    more levels than allowed, banding alone (the fewest levels) is used.
    """
    index = {s.name: i for i, s in enumerate(steps)}
    parents = [{index[d] for d in s.depends} for s in steps]
    spaces = [_common_namespace(nodes[n].namespace for n in s.nodes) for s in steps]
    everything = list(range(len(steps)))
    for structured in (True, False):
        nester = _Nester(parents, spaces, max_tasks, structured)
        top = nester.level(everything, depth=1)
        if nester.branches <= max_levels:
            return _levels(steps, parents, spaces, top, root)
    return None


def _common_namespace(namespaces: Iterable[str | None]) -> tuple[str, ...]:
    """The namespace path all of a step's nodes share (``()`` when there is none)."""
    paths = [tuple(ns.split(".")) if ns else () for ns in namespaces]
    common = paths[0] if paths else ()
    for path in paths[1:]:
        k = 0
        while k < min(len(common), len(path)) and common[k] == path[k]:
            k += 1
        common = common[:k]
    return common


class _Nester:
    def __init__(
        self,
        parents: list[set[int]],
        spaces: list[tuple[str, ...]],
        cap: int,
        structured: bool,
    ) -> None:
        self.parents = parents
        self.spaces = spaces
        self.cap = cap
        self.structured = structured
        self.branches = 0

    def level(self, members: list[int], depth: int) -> list[_Child]:
        """Children of one DAG level holding ``members`` (at most ``cap`` of them)."""
        if len(members) <= self.cap:
            return list(members)
        blocks, next_depth = self._split(members, depth)
        children: list[_Child] = [
            b[0] if len(b) == 1 else self._branch(b, self.level(b, next_depth)) for b in blocks
        ]
        while len(children) > self.cap:
            children = self._band_children(children)
        return children

    def _branch(self, steps: list[int], children: list[_Child]) -> _Branch:
        self.branches += 1
        return _Branch(sorted(steps), children)

    def _split(self, members: list[int], depth: int) -> tuple[list[list[int]], int]:
        """At least two blocks whose quotient graph is acyclic, each smaller than members."""
        if self.structured:
            inside = set(members)
            graph = {m: [p for p in self.parents[m] if p in inside] for m in members}
            parts = _components(members, graph)
            if len(parts) > 1:
                return self._pack(parts), depth
            deepest = max(len(self.spaces[m]) for m in members)
            for d in range(depth, deepest + 1):
                blocks = self._namespace_blocks(members, d)
                if blocks is not None:
                    return blocks, d + 1
        return self._bands(members), depth

    def _pack(self, parts: list[list[int]]) -> list[list[int]]:
        """Independent parts, packed in order into blocks of at most ``cap`` steps (a bigger
        part is a block of its own): blocks share no edge, so nothing waits needlessly."""
        blocks: list[list[int]] = []
        current: list[int] = []
        for part in parts:
            if len(part) > self.cap:
                blocks.append(sorted(part))
                continue
            if len(current) + len(part) > self.cap:
                blocks.append(sorted(current))
                current = []
            current += part
        if current:
            blocks.append(sorted(current))
        return blocks

    def _namespace_blocks(self, members: list[int], depth: int) -> list[list[int]] | None:
        """Steps of one namespace (its first ``depth`` levels) as a block, the rest alone;
        blocks that would wait for each other in a circle are merged. ``None`` if that gives
        no useful split."""
        key = {m: self.spaces[m][:depth] if len(self.spaces[m]) >= depth else None for m in members}
        clusters: dict[object, list[int]] = {}
        for m in members:
            clusters.setdefault(key[m] if key[m] is not None else ("#", m), []).append(m)
        if len(clusters) < 2 or all(len(c) == 1 for c in clusters.values()):
            return None
        blocks = list(clusters.values())
        block_of = {m: k for k, b in enumerate(blocks) for m in b}
        graph = {
            k: {block_of[p] for m in b for p in self.parents[m] if p in block_of} - {k}
            for k, b in enumerate(blocks)
        }
        merged = [
            sorted(m for k in comp for m in blocks[k])
            for comp in strongly_connected_components(graph)
        ]
        if len(merged) < 2:
            return None
        return merged

    def _bands(self, members: list[int]) -> list[list[int]]:
        """Consecutive topological layers, packed into blocks of at most ``cap`` steps; a
        layer wider than that is cut into blocks of its own, which never wait for each other."""
        layers = _layers(members, self.parents)
        blocks: list[list[int]] = []
        current: list[int] = []
        for layer in layers:
            if len(layer) > self.cap:
                if current:
                    blocks.append(current)
                    current = []
                blocks += [layer[k : k + self.cap] for k in range(0, len(layer), self.cap)]
            elif len(current) + len(layer) > self.cap:
                blocks.append(current)
                current = list(layer)
            else:
                current += layer
        if current:
            blocks.append(current)
        return [sorted(b) for b in blocks]

    def _band_children(self, children: list[_Child]) -> list[_Child]:
        """Too many children for one level: gather consecutive layers of them into branches."""
        owner = {s: k for k, child in enumerate(children) for s in _steps_of(child)}
        graph = [
            {owner[p] for s in _steps_of(child) for p in self.parents[s] if p in owner} - {k}
            for k, child in enumerate(children)
        ]
        layers = _layers(list(range(len(children))), graph)
        out: list[_Child] = []
        current: list[int] = []

        def close() -> None:
            if len(current) == 1:
                out.append(children[current[0]])
            elif current:
                group = [children[k] for k in sorted(current)]
                out.append(self._branch([s for c in group for s in _steps_of(c)], group))

        for layer in layers:
            for start in range(0, len(layer), self.cap):
                chunk = layer[start : start + self.cap]
                if len(current) + len(chunk) > self.cap or len(chunk) == self.cap:
                    close()
                    current = []
                current += chunk
        close()
        return out


def _steps_of(child: _Child) -> list[int]:
    return [child] if isinstance(child, int) else child.steps


def _layers(members: list[int], parents: Sequence[set[int]]) -> list[list[int]]:
    """``members`` by their longest path from a source within ``members`` (ASAP layers)."""
    inside = set(members)
    depth: dict[int, int] = {}
    for m in sorted(members):  # members are in topological order by index
        depth[m] = 1 + max((depth[p] for p in parents[m] if p in inside), default=-1)
    layers: dict[int, list[int]] = {}
    for m in sorted(members):
        layers.setdefault(depth[m], []).append(m)
    return [layers[k] for k in sorted(layers)]


def _levels(
    steps: Sequence[Step],
    parents: list[set[int]],
    spaces: list[tuple[str, ...]],
    top: list[_Child],
    root: str = ROOT_DAG,
) -> tuple[DagLevel, ...]:
    """Name the branches and write each level's tasks with their sibling dependencies."""
    branches: list[_Branch] = []

    def collect(children: list[_Child]) -> None:
        for child in children:
            if isinstance(child, _Branch):
                branches.append(child)
                collect(child.children)

    collect(top)
    labels: list[str] = []
    seen: dict[str, int] = {}
    for k, branch in enumerate(branches, 1):
        common = _common_namespace(".".join(spaces[s]) or None for s in branch.steps)
        base = ".".join(common) if common else f"part-{k}"
        seen[base] = seen.get(base, 0) + 1
        labels.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    task_names = to_argo_names(labels, max_length=STEP_NAME_LIMIT, reserved={s.name for s in steps})
    name_of = {id(b): task_names[label] for b, label in zip(branches, labels, strict=True)}
    label_of = {id(b): label for b, label in zip(branches, labels, strict=True)}

    def task_name(child: _Child) -> str:
        return steps[child].name if isinstance(child, int) else name_of[id(child)]

    def level(name: str, label: str, children: list[_Child]) -> DagLevel:
        owner = {s: k for k, child in enumerate(children) for s in _steps_of(child)}
        tasks = []
        for k, child in enumerate(children):
            needed = {owner[p] for s in _steps_of(child) for p in parents[s] if p in owner} - {k}
            depends = tuple(sorted(task_name(children[j]) for j in needed))
            if isinstance(child, int):
                tasks.append(DagTask(steps[child].name, depends, step=steps[child].name))
            else:
                tasks.append(
                    DagTask(name_of[id(child)], depends, dag=f"{root}-{name_of[id(child)]}")
                )
        return DagLevel(name, label, tuple(tasks))

    out = [level(root, "", top)]
    out += [level(f"{root}-{name_of[id(b)]}", label_of[id(b)], b.children) for b in branches]
    return tuple(out)


# --------------------------------------------------------------------------- node checks


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
    """Raise unless ``nodes`` is acyclic and already in topological order."""
    index_of_output = {
        transcoding_base(ds): i for i, node in enumerate(nodes) for ds in node.outputs
    }
    parents = {
        i: [
            index_of_output[b]
            for ds in node.inputs
            if (b := transcoding_base(ds)) in index_of_output
        ]
        for i, node in enumerate(nodes)
    }
    if all(p < i for i, found in parents.items() for p in found):
        return  # every input is saved earlier: in order, hence acyclic (Kedro's own order)
    cycle = find_cycle(parents)
    if cycle:
        path = " -> ".join(repr(nodes[i].name) for i in cycle)
        raise CompileError(
            f"The pipeline has a cycle: {path} (each node saves an input of the "
            "next). Break the cycle by renaming one of the datasets involved."
        )
    for position, node in enumerate(nodes):
        late = [
            (index_of_output[b], ds)
            for ds in node.inputs
            if index_of_output.get(b := transcoding_base(ds), -1) > position
        ]
        if late:
            later, dataset = min(late)
            raise CompileError(
                f"Nodes are not in topological order: node {node.name!r} comes before node "
                f"{nodes[later].name!r}, which saves its input {dataset!r}. Pass the nodes "
                "in the order Pipeline.nodes gives them."
            )


class _PipelineChooser:
    """Picks the smallest registered pipeline able to run given nodes, so pods import little;
    the compiled pipeline itself when none is (it always runs its own nodes as compiled)."""

    def __init__(self, hosts: Mapping[str, frozenset[str]], compiled: str) -> None:
        # Fewest nodes first; on equal size any named pipeline beats __default__; then name.
        self._candidates = sorted(
            (len(members), name == DEFAULT_PIPELINE, name, frozenset(members))
            for name, members in hosts.items()
        )
        self._compiled = compiled
        self._cache: dict[tuple[str, ...], str] = {}

    def choose(self, node_names: tuple[str, ...]) -> str:
        if node_names not in self._cache:
            wanted = frozenset(node_names)
            self._cache[node_names] = next(
                (name for _, _, name, members in self._candidates if wanted <= members),
                self._compiled,
            )
        return self._cache[node_names]
