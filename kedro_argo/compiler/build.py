"""The compile pipeline in one place: project facts → groups → plan → manifest → platform
hooks → checks.

CLI commands (compile, run-local, run-once, schedule, upload) all call :func:`build_manifest`,
so every path to a cluster goes through the same grouping, planning and checks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kedro_argo import argo
from kedro_argo.compiler.emit import (
    MLFLOW_START_TEMPLATE,
    CompileInput,
    Kind,
    compile_manifest,
    parameter_text,
)
from kedro_argo.compiler.facts import ProjectFacts, transcoding_base
from kedro_argo.compiler.grouping import Group, group_nodes
from kedro_argo.compiler.plan import Plan, build_plan
from kedro_argo.compiler.project import load_project
from kedro_argo.compiler.results import choose_results
from kedro_argo.compiler.sweeps import Sweep, build_sweep, swept_nodes
from kedro_argo.config import (
    ArgoConfig,
    GroupBy,
    merge_group_settings,
    parse_group_by,
    resolve_node_settings,
    settings_resolver,
)
from kedro_argo.cron import check_cron, check_timezone
from kedro_argo.durations import parse_argo_duration
from kedro_argo.errors import CompileError, ConfigError
from kedro_argo.manifest_hooks import HookContext, HookSelection, apply_hooks, installed_hooks
from kedro_argo.output import garbage_collector_paused
from kedro_argo.validation.lint import check_manifest, manifest_size


@dataclass(frozen=True)
class BuildRequest:
    project_path: Path
    pipeline: str = "__default__"
    env: str | None = None
    kind: Kind = "workflow"
    runtime_params: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    cron: str | None = None
    timezone: str | None = None
    group_by: str | None = None  # --group-by; None: argo.yml's grouping
    image: str | None = None  # --image; None: argo.yml's image
    for_local: bool = False  # local mode supplies its own data root
    # Platform hooks to apply; None: build_manifest finds the installed ones (build_from_facts,
    # the pure part, applies none).
    manifest_hooks: HookSelection | None = None
    sweeps: Mapping[str, Sequence[Any]] | None = None  # --sweep; None: argo.yml's sweeps
    max_parallel: int | None = None  # --max-parallel; None: argo.yml's sweeps.max_parallel
    skip_unchanged: bool | None = None  # --skip-unchanged; None: argo.yml's memoize.enabled


@dataclass(frozen=True)
class Built:
    manifest: dict[str, Any]
    facts: ProjectFacts
    plan: Plan
    grouping: GroupBy = field(default_factory=GroupBy)
    notes: tuple[str, ...] = ()  # what the user should know (groups merged to stay acyclic)


def build_manifest(request: BuildRequest) -> Built:
    """Load the project and compile it. The cyclic garbage collector waits until the end:
    building a big project's pipelines and its plan makes hundreds of thousands of objects
    that all stay alive, which it would otherwise scan again and again (~10% of the time)."""
    with garbage_collector_paused():
        facts = load_project(
            request.project_path,
            pipeline_name=request.pipeline,
            env=request.env,
            runtime_params=request.runtime_params,
            with_parameters=bool(request.sweeps),
        )
        if request.manifest_hooks is None:  # which hooks are installed: I/O, done here
            request = replace(request, manifest_hooks=installed_hooks())
        return build_from_facts(facts, request)


def build_from_facts(facts: ProjectFacts, request: BuildRequest) -> Built:
    """Pure part of :func:`build_manifest` (tests feed it hand-made facts)."""
    with garbage_collector_paused():
        return _build(facts, request)


def _build(facts: ProjectFacts, request: BuildRequest) -> Built:
    config = with_schedule(facts.config, cron=request.cron, timezone=request.timezone)
    if request.image is not None:
        config = config.model_copy(update={"image": request.image})
    if request.kind == "cron" and config.schedule.cron:
        check_cron(config.schedule.cron)
    if request.kind == "cron" and config.schedule.timezone:
        check_timezone(config.schedule.timezone)
    check_config_references(facts, config)
    grouping = choose_grouping(request.group_by, config)
    groups = group_nodes(facts.nodes, grouping, in_memory=facts.exchanged_datasets)
    sweep = build_sweep(
        dict(request.sweeps) if request.sweeps is not None else config.sweeps.parameters
    )
    swept: frozenset[str] = frozenset()
    if sweep is not None:
        swept = check_sweep(facts, config, sweep)
        groups = split_groups(groups, swept)
    resolve = settings_resolver(config.nodes)
    settings = {n.name: resolve(n.name, facts.node_tags.get(n.name, ())) for n in facts.nodes}
    exit_pipeline = config.workflow.on_exit_pipeline
    results = choose_results(facts, config, for_local=request.for_local)
    memoize = (
        request.skip_unchanged if request.skip_unchanged is not None else config.memoize.enabled
    )
    if memoize and not config.data.root and not request.for_local:
        raise CompileError(
            "--skip-unchanged (memoize.enabled) keeps its cache of step outputs under data.root: "
            "set data.root in argo.yml to s3://…, gs://… or a volume path mounted in every pod."
        )
    plan = build_plan(
        facts.nodes,
        hosts=facts.hosts(),
        compiled_pipeline=facts.pipeline_name,
        groups=groups,
        node_settings=settings,
        exchanged=facts.exchanged_datasets,
        memory_only=facts.memory_only_datasets,
        extra_templates=1 if exit_pipeline or facts.mlflow else 0,
        grouping_hint=str(grouping),
        start_template=MLFLOW_START_TEMPLATE if facts.mlflow else None,
        sweep=sweep,
        swept=swept,
        result_parameters=results.parameters,
        result_artifacts=results.artifacts,
    )
    exit_nodes = sorted(facts.registered.get(exit_pipeline or "", ()))
    exit_settings = merge_group_settings(
        [
            (n, resolve_node_settings(config.nodes, n, facts.node_tags.get(n, ())))
            for n in exit_nodes
        ]
    )
    exposed = {key: parameter_text(lookup(facts.parameters, key)) for key in config.parameters}
    fixed = {
        key: parameter_text(value)
        for key, value in flatten(facts.runtime_params).items()
        if key not in exposed
    }
    produced = {transcoding_base(ds) for step in plan.steps for ds in step.outputs}
    source = CompileInput(
        plan=plan,
        config=config,
        project_name=facts.project_name,
        pipeline_name=facts.pipeline_name,
        commit_id=facts.commit_id,
        env=facts.env,
        exchanged_datasets=plan.stored,
        pinned_datasets=tuple(
            sorted(ds for ds in facts.versioned_datasets if transcoding_base(ds) in produced)
        ),
        exit_settings=exit_settings,
        exposed_parameters=exposed,
        fixed_parameters=fixed,
        data_root_required=not request.for_local,
        mlflow=facts.mlflow,
        mlflow_settings=config.nodes.defaults,
        sweep_parallelism=(
            request.max_parallel if request.max_parallel is not None else config.sweeps.max_parallel
        ),
        memoize=memoize,
        memo_max_age=(
            math.ceil(parse_argo_duration(config.memoize.max_age))
            if memoize and config.memoize.max_age is not None
            else None
        ),
    )
    manifest = compile_manifest(source, kind=request.kind, name=request.name)

    def check(candidate: dict[str, Any]) -> None:
        size = manifest_size(candidate)
        check_size(size, plan, grouping)
        check_manifest(candidate, size=size)

    hooks = request.manifest_hooks or HookSelection()
    context = HookContext(
        kind=request.kind,
        project_name=facts.project_name,
        pipeline_name=facts.pipeline_name,
        env=facts.env,
        namespace=config.server.namespace or config.namespace,
        image=config.image or "",
        commit_id=facts.commit_id,
        for_local=request.for_local,
    )
    manifest = apply_hooks(manifest, hooks.hooks, context, check=check)
    notes = (
        merge_notes(groups)
        + results.notes
        + ((MLFLOW_NOTE,) if facts.mlflow else ())
        + hooks.notes()
    )
    return Built(manifest=manifest, facts=facts, plan=plan, grouping=grouping, notes=notes)


MLFLOW_NOTE = (
    "kedro-mlflow: one MLflow run spans the workflow (created by its mlflow-start task, "
    "ended by its exit handler); see docs/mlflow.md"
)


def check_sweep(facts: ProjectFacts, config: ArgoConfig, sweep: Sweep) -> frozenset[str]:
    """The nodes the sweep fans out; refuses a sweep that cannot do what it says: a key that
    is no parameter, that no node loads, that is also exposed or set by ``--params``, or a
    declared output of a branch that every branch would overwrite."""
    fixed = set(flatten(facts.runtime_params))
    for key in sweep.keys:
        try:
            lookup(facts.parameters, key)
        except KeyError:
            raise CompileError(
                f"Sweep of '{key}': the project has no such parameter (sweep a key of its "
                "parameters, as --params names them)."
            ) from None
        for other, where in [(k, "exposed in argo.yml's parameters") for k in config.parameters] + [
            (k, "set by --params") for k in fixed
        ]:
            if other == key or other.startswith(key + ".") or key.startswith(other + "."):
                raise CompileError(
                    f"Sweep of '{key}': '{other}' is also {where}; a swept parameter takes "
                    "its values from the sweep only."
                )
    swept = swept_nodes(facts.nodes, sweep.keys)
    if not swept:
        raise CompileError(
            f"No node of pipeline '{facts.pipeline_name}' loads "
            f"{', '.join(repr(k) for k in sweep.keys)} (as params:… or parameters): the sweep "
            "would run the same thing in every branch."
        )
    outputs = {ds for n in facts.nodes if n.name in swept for ds in n.outputs}
    clashing = sorted(
        ds
        for ds in outputs
        if ds not in facts.exchanged_datasets
        and ds not in facts.versioned_datasets
        and ds not in facts.branch_varying_datasets
        and not ds.startswith("params:")
    )
    if clashing:
        raise CompileError(
            f"Every branch of the sweep would write the same file for {', '.join(clashing)}: "
            "put ${argo:sweep} in its path in the catalog (e.g. "
            "data/07_model_output/${argo:sweep}/model.pkl) or make it versioned."
        )
    saved_by = {ds: n.name for n in facts.nodes for ds in n.outputs}
    misread = sorted(
        {
            ds
            for n in facts.nodes
            if n.name in swept
            for ds in n.inputs
            if ds in facts.branch_varying_datasets and saved_by.get(ds, n.name) not in swept
        }
    )
    if misread:
        raise CompileError(
            f"Saved once by nodes the branches share, {', '.join(misread)} must not name "
            "${argo:sweep} in its path (the branches loading it would read their own label): "
            "give it a path without ${argo:sweep} (a catalog entry of its own where a dataset "
            "factory covers it)."
        )
    return swept


def split_groups(groups: Sequence[Group], swept: frozenset[str]) -> tuple[Group, ...]:
    """A group that holds swept and shared nodes becomes two: the shared nodes run once, the
    swept ones once per branch (``<label>-sweep``). Shared groups come first (no shared node
    depends on a swept one), each part in its former order."""
    shared: list[Group] = []
    branch: list[Group] = []
    for group in groups:
        inside = tuple(n for n in group.nodes if n in swept)
        if not inside:
            shared.append(group)
        elif len(inside) == len(group.nodes):
            branch.append(group)
        else:
            shared.append(replace(group, nodes=tuple(n for n in group.nodes if n not in swept)))
            branch.append(Group(f"{group.label}-sweep", inside))
    return (*shared, *branch)


def choose_grouping(flag: str | None, config: ArgoConfig) -> GroupBy:
    """``--group-by`` wins over ``grouping:`` in argo.yml."""
    if flag is None:
        return config.grouping
    try:
        return parse_group_by(flag)
    except ValueError as exc:
        raise ConfigError(f"--group-by: {exc}") from None


def check_size(size: int, plan: Plan, grouping: GroupBy) -> None:
    """Refuse a manifest over Argo's object limit with the figures and the way out."""
    if size <= argo.MAX_OBJECT_BYTES:
        return
    nodes = sum(len(s.nodes) for s in plan.steps)
    raise CompileError(
        f"The workflow would be {size / 1024:.0f} KiB ({len(plan.steps)} steps for {nodes} "
        f"nodes, {size / len(plan.steps):.0f} B per step, grouping: {grouping}) but Argo "
        f"accepts at most {argo.MAX_OBJECT_BYTES // 1024} KiB: group nodes into fewer pods "
        "(--group-by memory|namespace|tag[:PREFIX]), or expose fewer parameters."
    )


def merge_notes(groups: tuple[Group, ...]) -> tuple[str, ...]:
    return tuple(
        f"grouping: {', '.join(repr(label) for label in g.joined)} joined step '{g.label}' "
        "(they lie between its nodes; separate pods would wait for each other in a circle)"
        for g in groups
        if g.joined
    )


def with_schedule(config: ArgoConfig, *, cron: str | None, timezone: str | None) -> ArgoConfig:
    update = {k: v for k, v in {"cron": cron, "timezone": timezone}.items() if v is not None}
    if not update:
        return config
    return config.model_copy(update={"schedule": config.schedule.model_copy(update=update)})


def check_config_references(facts: ProjectFacts, config: ArgoConfig) -> None:
    """Names in argo.yml must exist in the project: a typo must not silently do nothing."""
    source = " + ".join(facts.config_files) or "argo.yml"
    all_nodes = frozenset().union(*facts.registered.values())
    problems = []
    for name in config.nodes.names:
        if name not in all_nodes:
            problems.append(f"nodes.names.{name}: no node of any registered pipeline is named so")
    for tag in config.nodes.tags:
        if tag not in facts.all_tags:
            problems.append(f"nodes.tags.{tag}: no node of any registered pipeline has this tag")
    for key in config.parameters:
        try:
            lookup(facts.parameters, key)
        except KeyError:
            problems.append(f"parameters: '{key}' is not a parameter of this project")
    exit_pipeline = config.workflow.on_exit_pipeline
    if exit_pipeline and exit_pipeline not in facts.registered:
        problems.append(
            f"workflow.on_exit_pipeline: '{exit_pipeline}' is not a registered pipeline "
            f"(available: {', '.join(sorted(facts.registered))})"
        )
    if problems:
        raise ConfigError("\n".join(f"{source}: {p}" for p in problems))


def lookup(parameters: Mapping[str, Any], key: str) -> Any:
    """``a.b.c`` → ``parameters['a']['b']['c']`` (a top-level key may itself hold dots)."""
    if key in parameters:
        return parameters[key]
    head, dot, rest = key.partition(".")
    if dot and isinstance(parameters.get(head), Mapping):
        return lookup(parameters[head], rest)
    raise KeyError(key)


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested runtime params → dotted keys, the form ``--param`` takes."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{dotted}."))
        else:
            out[dotted] = value
    return out
