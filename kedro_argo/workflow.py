"""The compile pipeline in one place: project facts → plan → manifest → checks.

CLI commands (compile, run-local, run-once, schedule, upload) all call :func:`build_manifest`,
so every path to a cluster goes through the same checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro_argo.compiler import (
    RESERVED_TEMPLATE_NAMES,
    CompileInput,
    Kind,
    compile_manifest,
    parameter_text,
)
from kedro_argo.config import ArgoConfig
from kedro_argo.cron import check_cron, check_timezone
from kedro_argo.errors import ConfigError
from kedro_argo.manifest import check_manifest
from kedro_argo.plan import Plan, build_plan
from kedro_argo.project import ProjectFacts, load_project


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
    for_local: bool = False  # local mode supplies its own data root


@dataclass(frozen=True)
class Built:
    manifest: dict[str, Any]
    facts: ProjectFacts
    plan: Plan


def build_manifest(request: BuildRequest) -> Built:
    facts = load_project(
        request.project_path,
        pipeline_name=request.pipeline,
        env=request.env,
        runtime_params=request.runtime_params,
    )
    return build_from_facts(facts, request)


def build_from_facts(facts: ProjectFacts, request: BuildRequest) -> Built:
    """Pure part of :func:`build_manifest` (tests feed it hand-made facts)."""
    config = with_schedule(facts.config, cron=request.cron, timezone=request.timezone)
    if request.kind == "cron" and config.schedule.cron:
        check_cron(config.schedule.cron)
    if request.kind == "cron" and config.schedule.timezone:
        check_timezone(config.schedule.timezone)
    check_config_references(facts, config)
    plan = build_plan(
        facts.nodes,
        registered=facts.step_hosts or facts.registered,
        reserved_names=RESERVED_TEMPLATE_NAMES,
    )
    exposed = {key: parameter_text(lookup(facts.parameters, key)) for key in config.parameters}
    fixed = {
        key: parameter_text(value)
        for key, value in flatten(facts.runtime_params).items()
        if key not in exposed
    }
    source = CompileInput(
        plan=plan,
        config=config,
        project_name=facts.project_name,
        pipeline_name=facts.pipeline_name,
        commit_id=facts.commit_id,
        env=facts.env,
        node_tags=facts.node_tags,
        exit_nodes=tuple(sorted(facts.registered.get(config.workflow.on_exit_pipeline or "", ()))),
        exchanged_datasets=facts.exchanged_datasets,
        versioned_datasets=facts.versioned_datasets,
        exposed_parameters=exposed,
        fixed_parameters=fixed,
        data_root_required=not request.for_local,
    )
    manifest = compile_manifest(source, kind=request.kind, name=request.name)
    check_manifest(manifest)
    return Built(manifest=manifest, facts=facts, plan=plan)


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
