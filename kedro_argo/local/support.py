"""Reading an Argo manifest for local mode, and deciding whether local mode can honour it.

Local mode refuses, before anything runs, every field it can neither honour nor safely ignore.
The decision is an explicit allow-list (:data:`WORKFLOW_SPEC`, :data:`TEMPLATE`, ...): each field
is either *honoured* (local mode does what Argo would do with it), *ignored* because it only
concerns the cluster (scheduling, images, pod shape, bookkeeping), or refused with a message that
names the field path, e.g. ``local mode cannot run 'spec.templates[3].script' (template 'x'):
only container and dag templates can run locally``.

Honoured fields
    Workflow ``spec``: ``entrypoint``, ``arguments.parameters`` (``name``, ``value``,
    ``default``, ``enum``, ``description``), ``templates``, ``templateDefaults``,
    ``parallelism``, ``activeDeadlineSeconds``, ``onExit``; ``suspend`` only when false.
    Template: ``name``, ``container``, ``dag``, ``inputs.parameters`` (``name``, ``value``,
    ``default``, ``enum``, ``description``), ``retryStrategy`` (``limit``, ``retryPolicy``,
    ``backoff.duration|factor|cap|maxDuration``), ``timeout``, ``activeDeadlineSeconds``,
    ``parallelism`` (dag templates), ``outputs`` read from a file: ``parameters`` (``name``,
    ``description``, ``valueFrom.path``, ``valueFrom.default``) and ``artifacts`` (``name``,
    ``path``, ``optional``; ``archive`` is ignored: a local artifact stays a file in the log
    folder). A path under ``/tmp/kedro-argo/results`` is the step's own results folder
    (``KEDRO_ARGO_RESULTS_DIR``), so parallel steps never share one.
    Container: ``command``, ``args``, ``env`` (``name`` and ``value``, or
    ``valueFrom.secretKeyRef`` (``name``, ``key``, ``optional``) read from the local
    environment variable of the same name), ``workingDir`` (replaced by the local project root).
    DAG: ``tasks`` (``name``, ``template``, ``arguments.parameters``, ``depends`` made of task
    names joined by ``&&``, ``dependencies``), ``failFast``.
    CronWorkflow: ``spec.workflowSpec``. Metadata: ``name``, ``generateName``, ``namespace``.

Ignored: they only concern the cluster
    Workflow ``spec``: ``serviceAccountName``, ``automountServiceAccountToken``, ``executor``,
    ``imagePullSecrets``, ``nodeSelector``, ``tolerations``, ``affinity``, ``securityContext``,
    ``podGC``, ``ttlStrategy``, ``podMetadata``, ``podSpecPatch``, ``podPriorityClassName``,
    ``schedulerName``, ``podDisruptionBudget``, ``workflowMetadata``, ``archiveLogs``,
    ``artifactRepositoryRef``, ``metrics``.
    Template: ``metadata`` (labels, annotations), ``nodeSelector``, ``tolerations``,
    ``affinity``, ``securityContext``, ``serviceAccountName``, ``automountServiceAccountToken``,
    ``executor``, ``podSpecPatch``, ``priorityClassName``, ``schedulerName``, ``metrics``,
    ``retryStrategy.affinity``.
    Container: ``name``, ``image``, ``imagePullPolicy``, ``resources``, ``securityContext``.
    Metadata: ``labels``, ``annotations`` and what the API server fills in (``uid``,
    ``resourceVersion``, ``generation``, ``creationTimestamp``, ``managedFields``); a top-level
    ``status`` (from a previous run). CronWorkflow scheduling: ``schedules``, ``schedule``,
    ``timezone``, ``concurrencyPolicy``, ``startingDeadlineSeconds``, ``suspend``,
    ``successfulJobsHistoryLimit``, ``failedJobsHistoryLimit``, ``stopStrategy``, ``when``,
    ``workflowMetadata`` (a local run happens once, now).

Everything else is refused: steps, script, resource, suspend, http, plugin, containerSet and data
templates; ``withParam``/``withSequence`` (``withItems`` loops run, an item per child),
``when``, ``continueOn``, task ``onExit``,
``hooks``, ``memoize``, ``synchronization``, ``volumes``, ``volumeMounts``,
``volumeClaimTemplates``, ``initContainers``, ``sidecars``, outputs from anything but a
file path, input artifacts and artifact locations,
``workflowTemplateRef``, ``templateRef``, ``envFrom``, other ``valueFrom`` sources,
``retryStrategy.expression``, ``dag.target``, workflow-level ``retryStrategy``, ``shutdown``, ...
All templates are checked, used or not.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kedro_argo.argo import API_VERSION, TEMPLATE_TYPES, WORKFLOW_KINDS
from kedro_argo.errors import LocalRunError

__all__ = [
    "WORKFLOW_KINDS",
    "LoadedWorkflow",
    "check_supported",
    "load_manifest",
    "merge_template_defaults",
    "strategic_merge",
    "workflow_of",
]


# --------------------------------------------------------------------------- loading


def load_manifest(path: str | Path) -> dict[str, Any]:
    """Read a Workflow, WorkflowTemplate or CronWorkflow from a YAML (or JSON) file.

    A multi-document file is accepted when exactly one of its documents is one of these kinds;
    otherwise :class:`LocalRunError` says which documents were found.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise LocalRunError(f"cannot read manifest {str(p)!r}: {exc.strerror or exc}") from exc
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        from kedro_argo.validation import yaml_problem

        raise LocalRunError(f"manifest {str(p)!r} is not valid YAML: {yaml_problem(exc)}") from None
    if not docs:
        raise LocalRunError(f"manifest {str(p)!r} is empty")
    found = [d for d in docs if isinstance(d, dict) and d.get("kind") in WORKFLOW_KINDS]
    if len(found) == 1:
        return found[0]
    kinds = ", ".join(
        f"#{i} {d.get('kind', '?')}" if isinstance(d, dict) else f"#{i} {type(d).__name__}"
        for i, d in enumerate(docs)
    )
    if not found:
        raise LocalRunError(
            f"manifest {str(p)!r} holds no Workflow, WorkflowTemplate or CronWorkflow "
            f"(documents: {kinds})"
        )
    raise LocalRunError(
        f"manifest {str(p)!r} holds {len(found)} workflow documents ({kinds}); local mode runs "
        "one: put it in its own file"
    )


@dataclass(frozen=True)
class LoadedWorkflow:
    """The parts of a manifest local mode works from."""

    kind: str
    metadata: dict[str, Any]
    spec: dict[str, Any]
    spec_path: str  # "spec" or "spec.workflowSpec": prefix of field paths in messages


def workflow_of(manifest: Mapping[str, Any]) -> LoadedWorkflow:
    """Kind, metadata and the workflow spec (``spec.workflowSpec`` for a CronWorkflow)."""
    if not isinstance(manifest, Mapping):
        raise LocalRunError(f"a manifest must be a mapping, not {type(manifest).__name__}")
    kind = manifest.get("kind")
    if kind not in WORKFLOW_KINDS:
        raise LocalRunError(
            f"local mode runs a Workflow, WorkflowTemplate or CronWorkflow, not kind {kind!r}"
        )
    if manifest.get("apiVersion") != API_VERSION:
        raise LocalRunError(
            f"apiVersion must be {API_VERSION!r}, not {manifest.get('apiVersion')!r}"
        )
    metadata = manifest.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise LocalRunError("'metadata' must be a mapping")
    spec = manifest.get("spec")
    if not isinstance(spec, Mapping):
        raise LocalRunError("'spec' must be a mapping")
    spec_path = "spec"
    if kind == "CronWorkflow":
        spec = spec.get("workflowSpec")
        spec_path = "spec.workflowSpec"
        if not isinstance(spec, Mapping):
            raise LocalRunError("'spec.workflowSpec' of the CronWorkflow must be a mapping")
    return LoadedWorkflow(str(kind), dict(metadata), dict(spec), spec_path)


# --------------------------------------------------------------------------- allow-list


@dataclass(frozen=True)
class Honoured:
    """A field local mode honours; ``fields`` (for a mapping) or ``item`` (for a list) recurse."""

    fields: Mapping[str, Any] | None = None
    item: Any = None
    falsy_only: bool = False  # honoured only when false/empty (e.g. spec.suspend)


@dataclass(frozen=True)
class Ignored:
    """A field that only concerns the cluster: not looked into."""

    why: str


@dataclass(frozen=True)
class Refused:
    """A known field local mode cannot honour, with the reason shown to the user."""

    why: str


H = Honoured()
CLUSTER = Ignored("cluster-only")
SCHEDULING = Ignored("scheduling: a local run happens once, now")

ONLY_CONTAINER_DAG = Refused("only container and dag templates can run locally")
LOOPS = Refused("withParam/withSequence loops are not supported locally (withItems is)")
VOLUMES = Refused("volumes cannot be mounted locally")
ARTIFACTS = Refused(
    "artifacts are not supported locally (outputs read from a file path are; input artifacts "
    "and artifact locations are not)"
)
EXTRA_CONTAINERS = Refused("only the main container runs locally; there is no pod to share")
REFS = Refused(
    "references to other WorkflowTemplates cannot be resolved locally; run a manifest that "
    "contains the templates themselves"
)
SYNC = Refused("mutexes and semaphores (synchronization) are not supported locally")

# Reasons for known fields wherever they appear (used when a field is not in an allow-list).
KNOWN_REFUSALS: dict[str, Refused] = {
    "steps": ONLY_CONTAINER_DAG,
    "script": ONLY_CONTAINER_DAG,
    "resource": ONLY_CONTAINER_DAG,
    "suspend": ONLY_CONTAINER_DAG,
    "http": ONLY_CONTAINER_DAG,
    "plugin": ONLY_CONTAINER_DAG,
    "containerSet": ONLY_CONTAINER_DAG,
    "data": ONLY_CONTAINER_DAG,
    "withParam": LOOPS,
    "withSequence": LOOPS,
    "when": Refused("conditional tasks ('when') are not supported locally"),
    "continueOn": Refused("'continueOn' is not supported locally"),
    "onExit": Refused("task-level exit handlers are not supported locally (spec.onExit is)"),
    "hooks": Refused("lifecycle hooks are not supported locally"),
    "memoize": Refused("memoization is not supported locally"),
    "synchronization": SYNC,
    "volumes": VOLUMES,
    "volumeMounts": VOLUMES,
    "volumeDevices": VOLUMES,
    "volumeClaimTemplates": VOLUMES,
    "volumeClaimGC": VOLUMES,
    "initContainers": EXTRA_CONTAINERS,
    "sidecars": EXTRA_CONTAINERS,
    "artifacts": ARTIFACTS,
    "archiveLocation": ARTIFACTS,
    "artifactGC": ARTIFACTS,
    "workflowTemplateRef": REFS,
    "templateRef": REFS,
    "inline": Refused("inline templates are not supported locally; name a template instead"),
    "envFrom": Refused("'envFrom' (ConfigMaps/Secrets) cannot be resolved locally"),
    "expression": Refused("retry expressions are not supported locally"),
    "target": Refused("'dag.target' is not supported locally"),
    "shutdown": Refused("a workflow being shut down cannot run"),
    "retryStrategy": Refused("a workflow-level retryStrategy is not supported locally"),
    "valueFrom": Refused("only literal values are supported locally (and outputs from a path)"),
    "globalName": Refused("global outputs are not supported locally"),
    "podPriority": Refused("removed in Argo v4"),
}

PARAMETER = Honoured(
    fields={"name": H, "value": H, "default": H, "enum": H, "description": H},
)
ARGUMENTS = Honoured(fields={"parameters": Honoured(item=PARAMETER)})

SECRET_KEY_REF = Honoured(fields={"name": H, "key": H, "optional": H})
ENV_VAR = Honoured(
    fields={
        "name": H,
        "value": H,
        "valueFrom": Honoured(fields={"secretKeyRef": SECRET_KEY_REF}),
    }
)
CONTAINER = Honoured(
    fields={
        "command": H,
        "args": H,
        "env": Honoured(item=ENV_VAR),
        "workingDir": Ignored("replaced by the local project root"),
        "name": CLUSTER,
        "image": CLUSTER,
        "imagePullPolicy": CLUSTER,
        "resources": CLUSTER,
        "securityContext": CLUSTER,
    }
)
RETRY_STRATEGY = Honoured(
    fields={
        "limit": H,
        "retryPolicy": H,
        "backoff": Honoured(
            fields={"duration": H, "factor": H, "cap": H, "maxDuration": H},
        ),
        "affinity": CLUSTER,
    }
)
DAG_TASK = Honoured(
    fields={
        "name": H,
        "template": H,
        "arguments": ARGUMENTS,
        "depends": H,
        "dependencies": H,
        "withItems": H,
    }
)
DAG = Honoured(fields={"tasks": Honoured(item=DAG_TASK), "failFast": H})
OUTPUTS = Honoured(
    fields={
        "parameters": Honoured(
            item=Honoured(
                fields={
                    "name": H,
                    "description": H,
                    "valueFrom": Honoured(fields={"path": H, "default": H}),
                }
            )
        ),
        "artifacts": Honoured(
            item=Honoured(
                fields={
                    "name": H,
                    "path": H,
                    "optional": H,
                    "archive": Ignored("a local step's artifact stays a file"),
                }
            )
        ),
    }
)
TEMPLATE = Honoured(
    fields={
        "name": H,
        "container": CONTAINER,
        "outputs": OUTPUTS,
        "dag": DAG,
        "inputs": Honoured(fields={"parameters": Honoured(item=PARAMETER)}),
        "retryStrategy": RETRY_STRATEGY,
        "timeout": H,
        "activeDeadlineSeconds": H,
        "parallelism": H,
        "metadata": CLUSTER,
        "nodeSelector": CLUSTER,
        "tolerations": CLUSTER,
        "affinity": CLUSTER,
        "securityContext": CLUSTER,
        "serviceAccountName": CLUSTER,
        "automountServiceAccountToken": CLUSTER,
        "executor": CLUSTER,
        "podSpecPatch": CLUSTER,
        "priorityClassName": CLUSTER,
        "schedulerName": CLUSTER,
        "metrics": CLUSTER,
    }
)
WORKFLOW_SPEC = Honoured(
    fields={
        "entrypoint": H,
        "arguments": ARGUMENTS,
        "templates": Honoured(item=TEMPLATE),
        "templateDefaults": TEMPLATE,
        "parallelism": H,
        "activeDeadlineSeconds": H,
        "onExit": H,
        "suspend": Honoured(falsy_only=True),
        "serviceAccountName": CLUSTER,
        "automountServiceAccountToken": CLUSTER,
        "executor": CLUSTER,
        "imagePullSecrets": CLUSTER,
        "nodeSelector": CLUSTER,
        "tolerations": CLUSTER,
        "affinity": CLUSTER,
        "securityContext": CLUSTER,
        "podGC": CLUSTER,
        "ttlStrategy": CLUSTER,
        "podMetadata": CLUSTER,
        "podSpecPatch": CLUSTER,
        "podPriorityClassName": CLUSTER,
        "schedulerName": CLUSTER,
        "podDisruptionBudget": CLUSTER,
        "workflowMetadata": CLUSTER,
        "archiveLogs": CLUSTER,
        "artifactRepositoryRef": CLUSTER,
        "metrics": CLUSTER,
    }
)
CRON_SPEC = Honoured(
    fields={
        "workflowSpec": WORKFLOW_SPEC,
        "schedules": SCHEDULING,
        "schedule": SCHEDULING,
        "timezone": SCHEDULING,
        "concurrencyPolicy": SCHEDULING,
        "startingDeadlineSeconds": SCHEDULING,
        "suspend": SCHEDULING,
        "successfulJobsHistoryLimit": SCHEDULING,
        "failedJobsHistoryLimit": SCHEDULING,
        "stopStrategy": SCHEDULING,
        "when": SCHEDULING,
        "workflowMetadata": SCHEDULING,
    }
)
BOOKKEEPING = Ignored("object bookkeeping")
METADATA = Honoured(
    fields={
        "name": H,
        "generateName": H,
        "namespace": H,
        "labels": CLUSTER,
        "annotations": CLUSTER,
        "uid": BOOKKEEPING,
        "resourceVersion": BOOKKEEPING,
        "generation": BOOKKEEPING,
        "creationTimestamp": BOOKKEEPING,
        "managedFields": BOOKKEEPING,
    }
)


def _document_rule(kind: str) -> Honoured:
    return Honoured(
        fields={
            "apiVersion": H,
            "kind": H,
            "metadata": METADATA,
            "spec": CRON_SPEC if kind == "CronWorkflow" else WORKFLOW_SPEC,
            "status": Ignored("status of a previous run"),
        }
    )


def _walk(value: Any, rule: Honoured, path: str, where: str, out: list[str]) -> None:
    if rule.falsy_only:
        if value:
            out.append(f"'{path}'{where}: only 'false' can run locally")
        return
    if rule.fields is not None:
        if value is None:
            return
        if not isinstance(value, Mapping):
            out.append(f"'{path}'{where}: expected a mapping, got {type(value).__name__}")
            return
        for key, sub in value.items():
            sub_rule = rule.fields.get(key)
            sub_path = f"{path}.{key}"
            if sub_rule is None:
                reason = KNOWN_REFUSALS.get(key, Refused("this field is not supported locally"))
                out.append(f"'{sub_path}'{where}: {reason.why}")
            elif isinstance(sub_rule, Refused):
                out.append(f"'{sub_path}'{where}: {sub_rule.why}")
            elif isinstance(sub_rule, Honoured):
                _walk(sub, sub_rule, sub_path, where, out)
    elif rule.item is not None:
        if value is None:
            return
        if not isinstance(value, list):
            out.append(f"'{path}'{where}: expected a list, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _walk(item, rule.item, f"{path}[{i}]", where, out)


def check_supported(manifest: Mapping[str, Any]) -> None:
    """Raise :class:`LocalRunError` listing every field local mode cannot honour."""
    loaded = workflow_of(manifest)
    problems: list[str] = []
    rule = _document_rule(loaded.kind)
    assert rule.fields is not None
    # Walk templates one by one so messages name the template too.
    for key, value in manifest.items():
        sub_rule = rule.fields.get(key)
        if sub_rule is None:
            problems.append(f"'{key}': this field is not supported locally")
        elif isinstance(sub_rule, Honoured) and key != "spec":
            _walk(value, sub_rule, key, "", problems)
    spec_rule = WORKFLOW_SPEC
    if loaded.kind == "CronWorkflow":
        outer = {k: v for k, v in manifest["spec"].items() if k != "workflowSpec"}
        _walk(outer, CRON_SPEC, "spec", "", problems)
    assert spec_rule.fields is not None
    for key, value in loaded.spec.items():
        path = f"{loaded.spec_path}.{key}"
        sub_rule = spec_rule.fields.get(key)
        if key == "templates" and isinstance(value, list):
            for i, tmpl in enumerate(value):
                name = tmpl.get("name") if isinstance(tmpl, Mapping) else None
                where = f" (template {name!r})" if name else ""
                _walk(tmpl, TEMPLATE, f"{path}[{i}]", where, problems)
        elif sub_rule is None:
            reason = KNOWN_REFUSALS.get(key, Refused("this field is not supported locally"))
            problems.append(f"'{path}': {reason.why}")
        elif isinstance(sub_rule, Refused):
            problems.append(f"'{path}': {sub_rule.why}")
        elif isinstance(sub_rule, Honoured):
            _walk(value, sub_rule, path, "", problems)
    if problems:
        raise LocalRunError(refusal_message(problems))


def refusal_message(problems: list[str]) -> str:
    """One refusal per line; a single one reads as a sentence."""
    if len(problems) == 1:
        return f"local mode cannot run {problems[0]}"
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"local mode cannot run this manifest:\n{lines}"


# --------------------------------------------------------------------------- templateDefaults

# Lists Kubernetes merges by a key in a strategic merge patch (the rest are replaced).
_MERGE_KEYS: dict[tuple[str, ...], str] = {
    ("container", "env"): "name",
    ("container", "ports"): "containerPort",
    ("container", "volumeMounts"): "mountPath",
    ("volumes",): "name",
}


def _empty(value: Any) -> bool:
    # Go's `omitempty` drops these when Argo serialises the template before merging.
    return value is None or (isinstance(value, (list, dict, str)) and not value)


def strategic_merge(base: Any, patch: Any, path: tuple[str, ...] = ()) -> Any:
    """Kubernetes strategic merge of ``patch`` onto ``base`` (both plain data).

    Mappings merge key by key; lists named in the merge-key table merge item by item on that
    key (base order, patched items updated in place, new items appended); other lists and
    scalars are replaced. Empty values in the patch count as absent (Go ``omitempty``).
    """
    if isinstance(base, Mapping) and isinstance(patch, Mapping):
        out = copy.deepcopy(dict(base))
        for key, value in patch.items():
            if _empty(value):
                continue
            out[key] = strategic_merge(out.get(key), value, (*path, key))
        return out
    key = _MERGE_KEYS.get(path)
    if key is not None and isinstance(base, list) and isinstance(patch, list):
        out_list = copy.deepcopy(base)
        index = {item.get(key): i for i, item in enumerate(out_list) if isinstance(item, Mapping)}
        for item in patch:
            k = item.get(key) if isinstance(item, Mapping) else None
            if k is not None and k in index:
                out_list[index[k]] = strategic_merge(out_list[index[k]], item, ())
            else:
                out_list.append(copy.deepcopy(item))
        return out_list
    return copy.deepcopy(patch)


def merge_template_defaults(
    template: Mapping[str, Any], defaults: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``template`` with ``spec.templateDefaults`` merged in, as Argo's controller does it.

    The template is the patch and wins; the template keeps its own type, so a dag template does
    not gain the defaults' ``container``.
    """
    if not defaults:
        return copy.deepcopy(dict(template))
    merged = strategic_merge(defaults, template)
    own_types = [t for t in TEMPLATE_TYPES if t in template]
    if own_types:
        for t in TEMPLATE_TYPES:
            if t not in own_types:
                merged.pop(t, None)
    return merged
