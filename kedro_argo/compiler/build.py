"""The compile pipeline in one place: project facts → groups → plan → manifest → checks.

CLI commands (compile, run-local, run-once, schedule, upload) all call :func:`build_manifest`,
so every path to a cluster goes through the same grouping, planning and checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
from kedro_argo.config import (
    ArgoConfig,
    GroupBy,
    merge_group_settings,
    parse_group_by,
    resolve_node_settings,
    settings_resolver,
)
from kedro_argo.cron import check_cron, check_timezone
from kedro_argo.errors import CompileError, ConfigError
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
        )
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
    resolve = settings_resolver(config.nodes)
    settings = {n.name: resolve(n.name, facts.node_tags.get(n.name, ())) for n in facts.nodes}
    exit_pipeline = config.workflow.on_exit_pipeline
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
    )
    manifest = compile_manifest(source, kind=request.kind, name=request.name)
    size = manifest_size(manifest)
    check_size(size, plan, grouping)
    check_manifest(manifest, size=size)
    notes = merge_notes(groups) + ((MLFLOW_NOTE,) if facts.mlflow else ())
    return Built(manifest=manifest, facts=facts, plan=plan, grouping=grouping, notes=notes)


MLFLOW_NOTE = (
    "kedro-mlflow: one MLflow run spans the workflow (created by its mlflow-start task, "
    "ended by its exit handler); see docs/mlflow.md"
)


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
