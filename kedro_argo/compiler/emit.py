"""Plan → an Argo manifest dict. Pure and deterministic.

What every pod shares (image, pull policy, working directory, the run's environment) lives
once in ``spec.templateDefaults``. Each pod profile of the plan is one step template, shared by
its steps: a DAG task names the template and passes the step's Kedro nodes as the ``nodes``
input. Nested DAG levels are DAG templates of their own. Container commands are argument lists
(:mod:`kedro_argo.contract`): no shell, so no quoting bugs.

For a project using kedro-mlflow (``CompileInput.mlflow``) the workflow also has the
``mlflow-start`` template, run by the root's start task, and an exit handler that ends the
workflow's MLflow run (``mlflow-end``, or the exit pipeline's step); every pod gets
``KEDRO_ARGO_MLFLOW=true`` (see :mod:`kedro_argo.runtime.mlflow`).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from kedro_argo import argo, contract, naming
from kedro_argo.compiler.plan import DagLevel, Plan, StepTemplate
from kedro_argo.config import ArgoConfig, ArtifactRepositoryRef, NodeSettings, SecretRef
from kedro_argo.errors import CompileError

EXIT_TEMPLATE = "exit-handler"
#: The template creating the workflow's MLflow run (projects using kedro-mlflow).
MLFLOW_START_TEMPLATE = "mlflow-start"
#: Where a template says which registered pipeline its pods load, or what a nested DAG holds.
PIPELINE_ANNOTATION = "kedro.org/pipeline"
PART_ANNOTATION = "kedro.org/part"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kedro-argo"}

Kind = Literal["workflow", "template", "cron"]
NAME_LIMITS: Mapping[str, int] = {
    kind: argo.OBJECT_NAME_LIMITS[name] for kind, name in argo.KINDS.items()
}
GENERATE_NAME_BASE_LIMIT = argo.GENERATE_NAME_LIMIT - 1  # room for the "-" we append


@dataclass(frozen=True)
class CompileInput:
    """Everything the compiler needs, as plain data (built by :mod:`kedro_argo.compiler.build`)."""

    plan: Plan
    config: ArgoConfig
    project_name: str
    pipeline_name: str
    commit_id: str
    env: str | None = None
    exchanged_datasets: frozenset[str] = frozenset()
    #: Versioned datasets a step of this workflow saves: loaded at this run's version.
    pinned_datasets: tuple[str, ...] = ()
    exit_settings: NodeSettings = field(default_factory=NodeSettings)
    exposed_parameters: Mapping[str, str] = field(default_factory=dict)  # key -> default text
    fixed_parameters: Mapping[str, str] = field(default_factory=dict)  # key -> value text
    data_root_required: bool = True
    #: kedro-mlflow: one MLflow run for the workflow (the plan has the start task).
    mlflow: bool = False
    mlflow_settings: NodeSettings = field(default_factory=NodeSettings)  # start/end pods
    #: branches of the sweep (if the plan has one) running at once; ``None``: no limit
    sweep_parallelism: int | None = None
    #: --skip-unchanged: steps unchanged since an earlier successful run are not run again
    memoize: bool = False
    memo_max_age: int | None = None  # seconds


def compile_manifest(
    source: CompileInput, *, kind: Kind = "workflow", name: str | None = None
) -> dict[str, Any]:
    """Build the manifest for ``kind`` (``workflow``, ``template`` or ``cron``)."""
    if kind not in argo.KINDS:
        raise CompileError(f"Unknown kind '{kind}': use workflow, template or cron.")
    spec = build_workflow_spec(source)
    metadata = build_metadata(source, kind=kind, name=name)
    manifest: dict[str, Any] = {"apiVersion": argo.API_VERSION, "kind": argo.KINDS[kind]}
    manifest["metadata"] = metadata
    if kind == "cron":
        manifest["spec"] = build_cron_spec(source, spec, metadata)
    else:
        manifest["spec"] = spec
    return manifest


def build_metadata(source: CompileInput, *, kind: Kind, name: str | None) -> dict[str, Any]:
    cfg = source.config.workflow
    limit = NAME_LIMITS[kind]
    metadata: dict[str, Any] = {}
    explicit = name or cfg.name
    base = f"{source.project_name}-{source.pipeline_name.strip('_')}"
    if explicit:
        metadata["name"] = check_object_name(explicit, limit=limit, kind=argo.KINDS[kind])
    elif kind == "workflow":
        prefix = cfg.generate_name or base
        metadata["generateName"] = (
            naming.to_dns_name(prefix, max_length=GENERATE_NAME_BASE_LIMIT) + "-"
        )
    else:
        metadata["name"] = naming.to_dns_name(base, max_length=limit)
    if source.config.namespace:
        metadata["namespace"] = source.config.namespace
    metadata["labels"] = {
        **cfg.labels,
        **MANAGED_BY,
        "kedro.org/project": naming.to_label_value(source.project_name),
        "kedro.org/pipeline": naming.to_label_value(source.pipeline_name),
    }
    annotations = {
        **cfg.annotations,
        PIPELINE_ANNOTATION: source.pipeline_name,
        "kedro.org/commit": source.commit_id,
    }
    if source.env:
        annotations["kedro.org/env"] = source.env
    metadata["annotations"] = annotations
    return metadata


def check_object_name(name: str, *, limit: int, kind: str) -> str:
    """A user-given name is used as is or refused: silently changing it would surprise."""
    if len(name) > limit or not argo.DNS_LABEL_RE.fullmatch(name):
        raise CompileError(
            f"'{name}' is not a valid {kind} name: use at most {limit} lower-case letters, "
            "digits and '-', starting and ending with a letter or digit."
        )
    return name


def build_cron_spec(
    source: CompileInput, workflow_spec: dict[str, Any], metadata: Mapping[str, Any]
) -> dict[str, Any]:
    schedule = source.config.schedule
    if not schedule.cron:
        raise CompileError(
            "A CronWorkflow needs a schedule: set schedule.cron in argo.yml "
            "(e.g. '0 6 * * *') or pass --cron."
        )
    spec: dict[str, Any] = {"schedules": [schedule.cron]}
    if schedule.timezone:
        spec["timezone"] = schedule.timezone
    spec["concurrencyPolicy"] = schedule.concurrency_policy
    optional = {
        "startingDeadlineSeconds": schedule.starting_deadline_seconds,
        "suspend": schedule.suspend,
        "successfulJobsHistoryLimit": schedule.successful_jobs_history_limit,
        "failedJobsHistoryLimit": schedule.failed_jobs_history_limit,
    }
    spec.update({k: v for k, v in optional.items() if v is not None})
    spec["workflowMetadata"] = {"labels": dict(metadata["labels"])}
    spec["workflowSpec"] = workflow_spec
    return spec


def build_workflow_spec(source: CompileInput) -> dict[str, Any]:
    cfg = source.config
    spec: dict[str, Any] = {"entrypoint": source.plan.root.name}
    parameter_names = naming.to_parameter_names(source.exposed_parameters)
    if source.exposed_parameters:
        spec["arguments"] = {
            "parameters": [
                {"name": parameter_names[key], "value": value}
                for key, value in source.exposed_parameters.items()
            ]
        }
    if cfg.service_account:
        spec["serviceAccountName"] = cfg.service_account
    if cfg.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in cfg.image_pull_secrets]
    wf = cfg.workflow
    if wf.parallelism is not None:
        spec["parallelism"] = wf.parallelism
    if wf.active_deadline_seconds is not None:
        spec["activeDeadlineSeconds"] = wf.active_deadline_seconds
    if wf.ttl is not None:
        ttl = {
            "secondsAfterCompletion": wf.ttl.seconds_after_completion,
            "secondsAfterSuccess": wf.ttl.seconds_after_success,
            "secondsAfterFailure": wf.ttl.seconds_after_failure,
        }
        spec["ttlStrategy"] = {k: v for k, v in ttl.items() if v is not None}
    if wf.pod_gc is not None:
        spec["podGC"] = {"strategy": wf.pod_gc.strategy}
        if wf.pod_gc.delete_delay_duration:
            spec["podGC"]["deleteDelayDuration"] = wf.pod_gc.delete_delay_duration
    if wf.on_exit_pipeline or source.mlflow:
        spec["onExit"] = EXIT_TEMPLATE
    repository = cfg.ui.artifact_repository
    if isinstance(repository, ArtifactRepositoryRef) and any(
        t.result_artifacts for t in source.plan.templates
    ):
        spec["artifactRepositoryRef"] = {"configMap": repository.config_map, "key": repository.key}
    spec["templateDefaults"] = {"container": build_default_container(source)}

    param_args = build_parameter_args(source, parameter_names)
    branch_inputs = sweep_parameter_names(source.plan)
    templates = [build_dag_template(source, level, branch_inputs) for level in source.plan.dags]
    templates += [
        build_step_template(source, t, param_args, branch_inputs) for t in source.plan.templates
    ]
    if source.mlflow:
        templates.append(build_mlflow_template(source, contract.MLFLOW_START_COMMAND, param_args))
    if wf.on_exit_pipeline:
        templates.append(build_exit_template(source, wf.on_exit_pipeline, param_args))
    elif source.mlflow:
        templates.append(build_mlflow_template(source, contract.MLFLOW_END_COMMAND, param_args))
    spec["templates"] = templates
    return spec


def build_default_container(source: CompileInput) -> dict[str, Any]:
    """Image and the run's environment, once for every pod (see :mod:`kedro_argo.contract`)."""
    cfg = source.config
    if not cfg.image:
        raise CompileError(
            "No image set: add `image: <registry>/<repository>:<tag>` to argo.yml "
            "(the image with this project and kedro-argo installed)."
        )
    if not cfg.data.root and source.exchanged_datasets and source.data_root_required:
        shown = ", ".join(sorted(source.exchanged_datasets)[:5])
        more = len(source.exchanged_datasets) - 5
        raise CompileError(
            f"Pipeline '{source.pipeline_name}' passes {len(source.exchanged_datasets)} "
            f"in-memory dataset(s) between steps ({shown}{', …' if more > 0 else ''}): "
            "set data.root in argo.yml to s3://…, gs://… or a volume path mounted in every pod."
        )
    if not cfg.data.root and source.mlflow and source.data_root_required:
        raise CompileError(
            "The project uses kedro-mlflow, so every pod of the workflow logs into one MLflow "
            "run whose id is kept under data.root: set data.root in argo.yml to s3://…, gs://… "
            "or a volume path mounted in every pod."
        )
    env = contract.pod_environment_entries(
        contract.PodEnvironment(
            run_id="{{workflow.uid}}",
            workflow_name="{{workflow.name}}",
            created="{{workflow.creationTimestamp}}",
            commit_id=source.commit_id,
            pipeline=k8s_literal(source.pipeline_name),
            data_root=cfg.data.root,
            compression=cfg.data.compression,
            pin_versions=tuple(k8s_literal(ds) for ds in source.pinned_datasets),
            mlflow=source.mlflow,
            memoize=source.memoize,
            memo_max_age=source.memo_max_age,
        )
    )
    return {
        "image": cfg.image,
        "imagePullPolicy": cfg.image_pull_policy,
        "workingDir": cfg.project_dir,
        "env": env,
    }


def k8s_literal(text: str) -> str:
    """Kubernetes expands ``$(VAR)`` in container args and reduces ``$$`` to ``$``: doubling
    every ``$`` keeps user text (parameter values, names) exactly as written."""
    return text.replace("$", "$$")


def build_parameter_args(source: CompileInput, parameter_names: Mapping[str, str]) -> list[str]:
    """``key=value`` texts every step gets (``--param``): fixed ones, then exposed ones."""
    for key, value in {**source.fixed_parameters, **source.exposed_parameters}.items():
        if "{{" in value:
            raise CompileError(
                f"Parameter '{key}' has a value containing '{{{{', which Argo would read as a "
                "template expression: change the value or pass it another way."
            )
    pairs = [k8s_literal(f"{key}={value}") for key, value in source.fixed_parameters.items()]
    for key in source.exposed_parameters:
        pairs.append(f"{k8s_literal(key)}={{{{workflow.parameters.{parameter_names[key]}}}}}")
    return pairs


def sweep_parameter_names(plan: Plan) -> dict[str, str]:
    """Input parameters of the sweep's branch levels and steps: the branch label
    (:data:`~kedro_argo.contract.SWEEP_PARAMETER`) and one per swept key (its Argo-safe name,
    as for exposed parameters) → the key (``""`` for the label). Empty without a sweep."""
    if plan.sweep is None:
        return {}
    names = naming.to_parameter_names(plan.sweep.keys)
    return {contract.SWEEP_PARAMETER: "", **{names[k]: k for k in plan.sweep.keys}}


def sweep_items(source: CompileInput, branch_inputs: Mapping[str, str]) -> list[dict[str, str]]:
    """``withItems`` of the loop task: per branch, its label and the text of each value
    (read back by the pod exactly as ``--params`` would read it)."""
    sweep = source.plan.sweep
    assert sweep is not None
    by_key = {key: name for name, key in branch_inputs.items() if key}
    items = []
    for branch in sweep.branches:
        item = {contract.SWEEP_PARAMETER: branch.label}
        for key, value in sweep.assignments(branch).items():
            text = parameter_text(value)
            if "{{" in text:
                raise CompileError(
                    f"Sweep value {text!r} of '{key}' contains '{{{{', which Argo would read "
                    "as a template expression: sweep other values."
                )
            item[by_key[key]] = k8s_literal(text)
        items.append(item)
    return items


def build_dag_template(
    source: CompileInput, level: DagLevel, branch_inputs: Mapping[str, str]
) -> dict[str, Any]:
    """One DAG level: a task per step (its nodes as the template's input) or nested level. In
    a sweep branch every task also passes the branch's inputs down; the loop level's one task
    runs the branch level once per branch (``withItems``)."""
    plan = source.plan
    passed = [
        {"name": name, "value": f"{{{{inputs.parameters.{name}}}}}"} for name in branch_inputs
    ]
    tasks = []
    for task in level.tasks:
        entry: dict[str, Any] = {"name": task.name}
        parameters: list[dict[str, Any]] = []
        if task.step is not None:
            step = plan.step(task.step)
            entry["template"] = step.template
            parameters.append(
                {"name": contract.NODES_PARAMETER, "value": contract.format_nodes(step.nodes)}
            )
            if step.exports:
                parameters.append(
                    {"name": contract.EXPORTS_PARAMETER, "value": _export_text(step.exports)}
                )
            if step.shared:
                parameters.append(
                    {"name": contract.SHARED_PARAMETER, "value": _export_text(step.shared)}
                )
        elif task.dag is not None:
            entry["template"] = task.dag
        else:  # the start task
            entry["template"] = task.template
        if level.branch and task.template is None:
            parameters += passed
        if task.loop:
            parameters += [
                {"name": name, "value": f"{{{{item.{name}}}}}"} for name in branch_inputs
            ]
        if parameters:
            entry["arguments"] = {"parameters": parameters}
        if task.loop:
            entry["withItems"] = sweep_items(source, branch_inputs)
        if task.depends:
            entry["depends"] = argo.format_depends(task.depends)
        tasks.append(entry)
    template: dict[str, Any] = {"name": level.name}
    if level.branch:
        template["inputs"] = {"parameters": [{"name": name} for name in branch_inputs]}
    if level.label:
        template["metadata"] = {"annotations": {PART_ANNOTATION: level.label}}
    if any(t.loop for t in level.tasks) and source.sweep_parallelism is not None:
        template["parallelism"] = source.sweep_parallelism
    template["dag"] = {"tasks": tasks}
    return template


def _export_text(datasets: Sequence[str]) -> str:
    text = contract.format_exports(datasets)
    if "{{" in text:
        raise CompileError(
            f"Dataset names {list(datasets)} contain '{{{{', which Argo would read as a template "
            "expression: rename the dataset."
        )
    return k8s_literal(text)


def build_step_template(
    source: CompileInput,
    template: StepTemplate,
    param_pairs: Sequence[str],
    branch_inputs: Mapping[str, str],
) -> dict[str, Any]:
    """A shared step template: the pod profile, with the step's nodes as an input. A swept
    profile also takes the branch's label and values (and the step's shared inputs)."""
    pairs = list(param_pairs)
    if template.swept:
        pairs += [
            f"{k8s_literal(key)}={{{{inputs.parameters.{name}}}}}"
            for name, key in branch_inputs.items()
            if key
        ]
    call = contract.StepCall(
        pipeline=k8s_literal(template.pipeline),
        env=k8s_literal(source.env) if source.env else None,
        params=tuple(pairs),
    )
    args = contract.step_arguments(
        call,
        nodes_text=f"{{{{inputs.parameters.{contract.NODES_PARAMETER}}}}}",
        exports_text=(
            f"{{{{inputs.parameters.{contract.EXPORTS_PARAMETER}}}}}"
            if template.takes_exports
            else None
        ),
        sweep_text=(
            f"{{{{inputs.parameters.{contract.SWEEP_PARAMETER}}}}}" if template.swept else None
        ),
        shared_text=(
            f"{{{{inputs.parameters.{contract.SHARED_PARAMETER}}}}}"
            if template.takes_shared
            else None
        ),
        results_text=_results_text(template),
    )
    inputs: list[dict[str, Any]] = [{"name": contract.NODES_PARAMETER}]
    if template.takes_exports:
        inputs.append({"name": contract.EXPORTS_PARAMETER, "default": "[]"})
    if template.takes_shared:
        inputs.append({"name": contract.SHARED_PARAMETER, "default": "[]"})
    if template.swept:
        inputs += [{"name": name} for name in branch_inputs]
    manifest_template: dict[str, Any] = {
        "name": template.name,
        "inputs": {"parameters": inputs},
        "metadata": {"annotations": {PIPELINE_ANNOTATION: template.pipeline}},
    }
    outputs = build_result_outputs(template)
    if outputs:
        manifest_template["outputs"] = outputs
    container = {"command": list(contract.POD_COMMAND), "args": args}
    return _apply_settings(manifest_template, container, template.settings)


def _results_text(template: StepTemplate) -> str | None:
    if not template.result_parameters and not template.result_artifacts:
        return None
    text = contract.format_results(template.result_parameters, template.result_artifacts)
    if "{{" in text:
        raise CompileError(
            f"Dataset names in argo.yml's ui ({text}) contain '{{{{', which Argo would read as "
            "a template expression: rename the dataset."
        )
    return k8s_literal(text)


def build_result_outputs(template: StepTemplate) -> dict[str, Any]:
    """The step's results as Argo outputs: parameters read from the JSON the runtime writes
    (empty when the step failed before saving), artifacts from the copied file, kept as it is
    (no tarball) so that the UI can show it."""
    outputs: dict[str, Any] = {}
    if template.result_parameters:
        outputs["parameters"] = [
            {
                "name": contract.result_name(ds),
                "valueFrom": {"path": contract.result_path("parameters", ds), "default": ""},
            }
            for ds in template.result_parameters
        ]
    if template.result_artifacts:
        outputs["artifacts"] = [
            {
                "name": contract.result_name(ds),
                "path": contract.result_path("artifacts", ds),
                "archive": {"none": {}},
                "optional": True,
            }
            for ds in template.result_artifacts
        ]
    return outputs


def build_exit_template(
    source: CompileInput, pipeline: str, param_pairs: Sequence[str]
) -> dict[str, Any]:
    call = contract.StepCall(
        pipeline=k8s_literal(pipeline),
        env=k8s_literal(source.env) if source.env else None,
        params=tuple(param_pairs),
    )
    container = {
        "command": list(contract.POD_COMMAND),
        "args": contract.step_arguments(call),
        "env": [{"name": contract.WORKFLOW_STATUS_ENV, "value": "{{workflow.status}}"}],
    }
    template: dict[str, Any] = {
        "name": EXIT_TEMPLATE,
        "metadata": {"annotations": {PIPELINE_ANNOTATION: pipeline}},
    }
    return _apply_settings(template, container, source.exit_settings)


def build_mlflow_template(
    source: CompileInput, command: str, param_pairs: Sequence[str]
) -> dict[str, Any]:
    """``mlflow-start`` (the start task's template) or ``mlflow-end`` (the exit handler of a
    workflow with no exit pipeline): pods with the steps' default settings, Kedro
    configuration environment and parameters, so kedro-mlflow reads the same configuration."""
    call = contract.MlflowCall(
        command=command,
        env=k8s_literal(source.env) if source.env else None,
        params=tuple(param_pairs),
    )
    container: dict[str, Any] = {
        "command": list(contract.POD_COMMAND),
        "args": contract.mlflow_arguments(call),
    }
    if command == contract.MLFLOW_END_COMMAND:
        container["env"] = [{"name": contract.WORKFLOW_STATUS_ENV, "value": "{{workflow.status}}"}]
        name = EXIT_TEMPLATE
    else:
        name = MLFLOW_START_TEMPLATE
    return _apply_settings({"name": name}, container, source.mlflow_settings)


def _apply_settings(
    template: dict[str, Any], container: dict[str, Any], settings: NodeSettings
) -> dict[str, Any]:
    """Turn resolved node settings into template and container fields."""
    if settings.env:
        env = list(container.get("env", []))
        names = {e["name"] for e in env}
        env += [_env_var(k, v) for k, v in sorted(settings.env.items()) if k not in names]
        container["env"] = env
    resources = _resources(settings)
    if resources:
        container["resources"] = resources
    if settings.volumes:
        container["volumeMounts"] = [
            {
                k: v
                for k, v in {
                    "name": vol.name,
                    "mountPath": vol.mount_path,
                    "readOnly": vol.read_only,
                    "subPath": vol.sub_path,
                }.items()
                if v is not None
            }
            for vol in settings.volumes
        ]
    template["container"] = container
    if settings.volumes:
        template["volumes"] = [{"name": v.name, **v.source} for v in settings.volumes]
    if settings.retry is not None and settings.retry.limit is not None:
        template["retryStrategy"] = _retry_strategy(settings)
    elif settings.retry is not None and (settings.retry.policy or settings.retry.backoff):
        raise CompileError(
            f"Template '{template['name']}': retry is set without retry.limit in argo.yml, "
            "which Argo would read as 'retry forever': set nodes.<level>.retry.limit."
        )
    if settings.timeout:
        template["timeout"] = settings.timeout
    if settings.node_selector:
        template["nodeSelector"] = dict(sorted(settings.node_selector.items()))
    if settings.tolerations:
        template["tolerations"] = [t.model_dump(exclude_none=True) for t in settings.tolerations]
    if settings.affinity:
        template["affinity"] = settings.affinity
    if settings.pod_spec_patch:
        template["podSpecPatch"] = json.dumps(
            settings.pod_spec_patch, sort_keys=True, separators=(",", ":")
        )
    return template


def _env_var(name: str, value: str | SecretRef) -> dict[str, Any]:
    if isinstance(value, SecretRef):
        ref: dict[str, Any] = {"name": value.secret, "key": value.key}
        if value.optional is not None:
            ref["optional"] = value.optional
        return {"name": name, "valueFrom": {"secretKeyRef": ref}}
    return {"name": name, "value": value}


def _resources(settings: NodeSettings) -> dict[str, Any]:
    res = settings.resources
    if res is None:
        return {}
    requests = {k: v for k, v in {"cpu": res.cpu, "memory": res.memory}.items() if v}
    limits = {k: v for k, v in {"cpu": res.cpu_limit, "memory": res.memory_limit}.items() if v}
    if res.gpu:
        limits[res.gpu_resource] = str(res.gpu)
    out: dict[str, Any] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def _retry_strategy(settings: NodeSettings) -> dict[str, Any]:
    retry = settings.retry
    assert retry is not None and retry.limit is not None
    strategy: dict[str, Any] = {"limit": str(retry.limit)}
    if retry.policy:
        strategy["retryPolicy"] = retry.policy
    if retry.backoff is not None:
        backoff = {
            "duration": retry.backoff.duration,
            "factor": None if retry.backoff.factor is None else str(retry.backoff.factor),
            "maxDuration": retry.backoff.max_duration,
        }
        strategy["backoff"] = {k: v for k, v in backoff.items() if v is not None}
    return strategy


def parameter_text(value: Any) -> str:
    """A Kedro parameter value as the text ``--param=key=<text>`` parses back to in the pod.

    The first candidate the pod's own parser (:func:`kedro_argo.contract.parse_params`) reads
    back as ``value`` wins: the plain text of a string; YAML's ``.inf`` / ``.nan`` for
    non-finite floats; else JSON, non-ASCII kept as is (an emoji must not become a surrogate
    pair, which YAML refuses) but characters YAML cannot hold escaped.
    """
    candidates: list[str] = []
    if isinstance(value, str):
        candidates.append(value)
    if isinstance(value, float) and not math.isfinite(value):
        candidates.append(".nan" if math.isnan(value) else ("-.inf" if value < 0 else ".inf"))
    with contextlib.suppress(TypeError, ValueError):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        candidates.append(_YAML_UNPRINTABLE.sub(_escape_for_yaml, text))
    for text in candidates:
        if _reads_back(text, value):
            return text
    raise CompileError(
        f"Parameter value {value!r} cannot be passed to a pod as text that reads back the same: "
        "pass it another way (e.g. in a file the nodes read)."
    )


# YAML's printable set (tab, newlines, #x20-#x7E, #xA0-#xD7FF, #xE000-#xFFFD, astral), but
# NEL (#x85), which YAML 1.1 reads as a line break.
_YAML_UNPRINTABLE = re.compile(
    "[^\\t\\n\\r\\x20-\\x7e\\xa0-\\ud7ff\\ue000-\\ufffd\\U00010000-\\U0010ffff]"
)


def _escape_for_yaml(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _reads_back(text: str, value: Any) -> bool:
    try:
        parsed = contract.parse_params([f"k={text}"])["k"]
    except Exception:
        return False
    if isinstance(value, float) and math.isnan(value):
        return isinstance(parsed, float) and math.isnan(parsed)
    return parsed == value and type(parsed) is type(value)
