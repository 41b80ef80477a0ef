"""Every key of argo.yml reaches the right manifest field, and per-node settings merge as
documented: defaults < tags (in argo.yml order) < node name."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kedro_argo.compiler.build import Built
from kedro_argo.compiler.sweeps import swept_nodes
from kedro_argo.config import parse_group_by
from kedro_argo.errors import KedroArgoError

from ..sample_project import copy_project
from ..validator import assert_valid
from .support import (
    all_tasks,
    arg_values,
    build,
    build_facts,
    default_env,
    facts,
    is_plain_nesting,
    model_fields,
    node,
    set_compile_env,
    step_templates,
    task_nodes,
    templates,
    update_config,
    wf_spec,
    write_config,
)

# Every field of the model set to a non-default value (YAML, as users write it).
FULL_CONFIG = """\
image: registry.example.com/team/spaceflights:2.0
image_pull_policy: Always
image_pull_secrets: [regcred, backup-cred]
namespace: ml-team
service_account: kedro-runner
project_dir: /app
server:
  url: https://argo.example.com:2746
  namespace: argo-server-ns
data:
  root: gs://bucket/prefix/
  local_root: .scratch/data
  compression: zlib
workflow:
  generate_name: nightly-
  labels: {team: ml, example.com/owner: alice}
  annotations: {example.com/ticket: JIRA-1}
  ttl:
    seconds_after_completion: 100
    seconds_after_success: 50
    seconds_after_failure: 200
  pod_gc:
    strategy: OnWorkflowSuccess
    delete_delay_duration: 10m
  parallelism: 3
  active_deadline_seconds: 7200
  on_exit_pipeline: notify
nodes:
  defaults:
    resources: {cpu: 1, memory: 2Gi, cpu_limit: 2.5, memory_limit: 4294967296}
    retry:
      limit: 2
      policy: OnError
      backoff: {duration: 10, factor: 3, max_duration: 5m}
    timeout: 90
    node_selector: {pool: batch, kubernetes.io/os: linux}
    tolerations:
      - {key: spot, operator: Exists, effect: NoSchedule}
      - {key: dedicated, operator: Equal, value: ml, effect: NoExecute, tolerationSeconds: 300}
    affinity:
      nodeAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
          - matchExpressions: [{key: zone, operator: In, values: [a, b]}]
    env:
      LOG_LEVEL: INFO
      DEBUG: true
      WORKERS: 4
      DB_PASSWORD: {secret: db-credentials, key: password, optional: true}
    volumes:
    - name: scratch
      mount_path: /scratch
      source: {emptyDir: {}}
      read_only: false
      sub_path: sub
    pod_spec_patch: {priorityClassName: high}
  tags:
    benchmark:
      resources: {gpu: 2, gpu_resource: amd.com/gpu, memory: 8Gi}
  names:
    compare_models_node:
      timeout: 1h30m
      pod_spec_patch: '{"terminationGracePeriodSeconds": 5}'
parameters:
  - active_modelling_pipeline.model_options.test_size
  - candidate_modelling_pipeline.model_options
  - reporting.title
schedule:
  cron: "*/15 * * * *"
  timezone: Europe/Paris
  concurrency_policy: Replace
  starting_deadline_seconds: 60
  suspend: true
  successful_jobs_history_limit: 5
  failed_jobs_history_limit: 2
"""

PLAIN_NODE = "preprocess_companies_node"  # defaults only
TAGGED_NODE = "write_report_banner_node"  # tag `benchmark`
NAMED_NODE = "compare_models_node"  # nodes.names


@dataclasses.dataclass(frozen=True)
class Compiled:
    wf: dict[str, Any]
    template: dict[str, Any]
    cron: dict[str, Any]
    named: dict[str, Any]  # workflow.name instead of generate_name
    built: Built

    def step(self, node_name: str) -> dict[str, Any]:
        return step_templates(self.wf)[node_name]

    def container(self, node_name: str) -> dict[str, Any]:
        return self.step(node_name)["container"]

    @property
    def spec(self) -> dict[str, Any]:
        return self.wf["spec"]


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compiled]:
    project = copy_project(tmp_path_factory.mktemp("full") / "spaceflights")
    write_config(project, FULL_CONFIG)
    with pytest.MonkeyPatch.context() as mp:
        set_compile_env(mp)
        built = build(project)
        template = build(project, kind="template").manifest
        cron = build(project, kind="cron").manifest
    named_config = built.facts.config.model_copy(
        update={
            "workflow": built.facts.config.workflow.model_copy(
                update={"name": "nightly-run", "generate_name": None}
            )
        }
    )
    named = build_facts(dataclasses.replace(built.facts, config=named_config)).manifest
    yield Compiled(built.manifest, template, cron, named, built)


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


NOT_IN_MANIFEST = "not in the manifest"

# "Model.field" -> check(compiled), or NOT_IN_MANIFEST for keys other commands use.
CHECKS: dict[str, Callable[[Compiled], None] | str] = {}


def check(*keys: str) -> Callable[[Callable[[Compiled], None]], Callable[[Compiled], None]]:
    def register(func: Callable[[Compiled], None]) -> Callable[[Compiled], None]:
        for key in keys:
            assert key not in CHECKS, key
            CHECKS[key] = func
        return func

    return register


CHECKS["ArgoConfig.server"] = NOT_IN_MANIFEST  # run-once / schedule / upload
CHECKS["ServerConfig.url"] = NOT_IN_MANIFEST
CHECKS["ServerConfig.namespace"] = NOT_IN_MANIFEST
CHECKS["ServerConfig.mode"] = NOT_IN_MANIFEST  # which backend the cluster commands use
CHECKS["ServerConfig.context"] = NOT_IN_MANIFEST
CHECKS["DataConfig.local_root"] = NOT_IN_MANIFEST  # run-local only


@check("ArgoConfig.image", "ArgoConfig.image_pull_policy", "ArgoConfig.project_dir")
def _container_defaults(c: Compiled) -> None:
    for manifest in (c.wf, c.template, c.cron):
        container = wf_spec(manifest)["templateDefaults"]["container"]
        assert container["image"] == "registry.example.com/team/spaceflights:2.0"
        assert container["imagePullPolicy"] == "Always"
        assert container["workingDir"] == "/app"


@check("ArgoConfig.image_pull_secrets")
def _pull_secrets(c: Compiled) -> None:
    assert c.spec["imagePullSecrets"] == [{"name": "regcred"}, {"name": "backup-cred"}]


@check("ArgoConfig.namespace")
def _namespace(c: Compiled) -> None:
    for manifest in (c.wf, c.template, c.cron, c.named):
        assert manifest["metadata"]["namespace"] == "ml-team"


@check("ArgoConfig.service_account")
def _service_account(c: Compiled) -> None:
    assert c.spec["serviceAccountName"] == "kedro-runner"


@check("DataConfig.root", "DataConfig.compression")
def _data(c: Compiled) -> None:
    env = default_env(c.wf)
    assert env["KEDRO_ARGO_DATA_ROOT"] == "gs://bucket/prefix"  # trailing slash dropped
    assert env["KEDRO_ARGO_COMPRESSION"] == "zlib"


@check("WorkflowConfig.name")
def _name(c: Compiled) -> None:
    assert c.named["metadata"]["name"] == "nightly-run"
    assert "generateName" not in c.named["metadata"]


@check("WorkflowConfig.generate_name")
def _generate_name(c: Compiled) -> None:
    assert c.wf["metadata"]["generateName"] == "nightly-"
    assert "name" not in c.wf["metadata"]


@check("WorkflowConfig.labels")
def _labels(c: Compiled) -> None:
    for labels in (
        c.wf["metadata"]["labels"],
        c.template["metadata"]["labels"],
        c.cron["metadata"]["labels"],
        c.cron["spec"]["workflowMetadata"]["labels"],
    ):
        assert labels["team"] == "ml"
        assert labels["example.com/owner"] == "alice"
        assert labels["app.kubernetes.io/managed-by"] == "kedro-argo"


@check("WorkflowConfig.annotations")
def _annotations(c: Compiled) -> None:
    for manifest in (c.wf, c.template, c.cron):
        assert manifest["metadata"]["annotations"]["example.com/ticket"] == "JIRA-1"


@check(
    "WorkflowConfig.ttl",
    "TTLStrategy.seconds_after_completion",
    "TTLStrategy.seconds_after_success",
    "TTLStrategy.seconds_after_failure",
)
def _ttl(c: Compiled) -> None:
    assert c.spec["ttlStrategy"] == {
        "secondsAfterCompletion": 100,
        "secondsAfterSuccess": 50,
        "secondsAfterFailure": 200,
    }


@check("WorkflowConfig.pod_gc", "PodGC.strategy", "PodGC.delete_delay_duration")
def _pod_gc(c: Compiled) -> None:
    assert c.spec["podGC"] == {"strategy": "OnWorkflowSuccess", "deleteDelayDuration": "10m"}


@check("WorkflowConfig.parallelism", "WorkflowConfig.active_deadline_seconds")
def _limits(c: Compiled) -> None:
    assert c.spec["parallelism"] == 3
    assert c.spec["activeDeadlineSeconds"] == 7200


@check("WorkflowConfig.on_exit_pipeline")
def _on_exit(c: Compiled) -> None:
    exit_template = templates(c.wf)[c.spec["onExit"]]
    args = exit_template["container"]["args"]
    assert arg_values(args, "--pipeline") == ["notify"]
    assert "--nodes" not in args
    assert env_of(exit_template["container"])["KEDRO_ARGO_WORKFLOW_STATUS"] == (
        "{{workflow.status}}"
    )


@check("NodesConfig.defaults", "NodeSettings.resources", "Resources.cpu", "Resources.memory")
def _requests(c: Compiled) -> None:
    resources = c.container(PLAIN_NODE)["resources"]
    assert resources["requests"] == {"cpu": "1", "memory": "2Gi"}


@check("Resources.cpu_limit", "Resources.memory_limit")
def _limits_resources(c: Compiled) -> None:
    assert c.container(PLAIN_NODE)["resources"]["limits"] == {
        "cpu": "2.5",
        "memory": "4294967296",
    }


@check("NodesConfig.tags", "Resources.gpu", "Resources.gpu_resource")
def _gpu(c: Compiled) -> None:
    resources = c.container(TAGGED_NODE)["resources"]
    assert resources["limits"] == {"cpu": "2.5", "memory": "4294967296", "amd.com/gpu": "2"}
    assert resources["requests"] == {"cpu": "1", "memory": "8Gi"}
    assert "amd.com/gpu" not in c.container(PLAIN_NODE)["resources"]["limits"]


@check("NodeSettings.retry", "Retry.limit", "Retry.policy", "Retry.backoff")
def _retry(c: Compiled) -> None:
    strategy = c.step(PLAIN_NODE)["retryStrategy"]
    assert strategy["limit"] == "2"
    assert strategy["retryPolicy"] == "OnError"


@check("Backoff.duration", "Backoff.factor", "Backoff.max_duration")
def _backoff(c: Compiled) -> None:
    backoff = c.step(PLAIN_NODE)["retryStrategy"]["backoff"]
    assert backoff == {"duration": "10s", "factor": "3", "maxDuration": "5m"}


@check("NodeSettings.timeout", "NodesConfig.names")
def _timeout(c: Compiled) -> None:
    assert c.step(PLAIN_NODE)["timeout"] == "90s"
    assert c.step(NAMED_NODE)["timeout"] == "1h30m"


@check("NodeSettings.node_selector")
def _node_selector(c: Compiled) -> None:
    assert c.step(PLAIN_NODE)["nodeSelector"] == {"kubernetes.io/os": "linux", "pool": "batch"}


@check(
    "NodeSettings.tolerations",
    "Toleration.key",
    "Toleration.operator",
    "Toleration.value",
    "Toleration.effect",
    "Toleration.tolerationSeconds",
)
def _tolerations(c: Compiled) -> None:
    assert c.step(PLAIN_NODE)["tolerations"] == [
        {"key": "spot", "operator": "Exists", "effect": "NoSchedule"},
        {
            "key": "dedicated",
            "operator": "Equal",
            "value": "ml",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
    ]


@check("NodeSettings.affinity")
def _affinity(c: Compiled) -> None:
    terms = c.step(PLAIN_NODE)["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert terms == [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}
    ]


@check("NodeSettings.env", "SecretRef.secret", "SecretRef.key", "SecretRef.optional")
def _env(c: Compiled) -> None:
    env = c.container(PLAIN_NODE)["env"]
    assert env == [
        {
            "name": "DB_PASSWORD",
            "valueFrom": {
                "secretKeyRef": {"name": "db-credentials", "key": "password", "optional": True}
            },
        },
        {"name": "DEBUG", "value": "true"},
        {"name": "LOG_LEVEL", "value": "INFO"},
        {"name": "WORKERS", "value": "4"},
    ]


@check(
    "NodeSettings.volumes",
    "Volume.name",
    "Volume.mount_path",
    "Volume.source",
    "Volume.read_only",
    "Volume.sub_path",
)
def _volumes(c: Compiled) -> None:
    step = c.step(PLAIN_NODE)
    assert step["volumes"] == [{"name": "scratch", "emptyDir": {}}]
    assert step["container"]["volumeMounts"] == [
        {"name": "scratch", "mountPath": "/scratch", "readOnly": False, "subPath": "sub"}
    ]


@check("NodeSettings.pod_spec_patch")
def _pod_spec_patch(c: Compiled) -> None:
    assert json.loads(c.step(PLAIN_NODE)["podSpecPatch"]) == {"priorityClassName": "high"}
    assert json.loads(c.step(NAMED_NODE)["podSpecPatch"]) == {
        "priorityClassName": "high",
        "terminationGracePeriodSeconds": 5,
    }


@check("ArgoConfig.parameters")
def _parameters(c: Compiled) -> None:
    params = {p["name"]: p["value"] for p in c.spec["arguments"]["parameters"]}
    assert params == {
        "active_modelling_pipeline__model_options__test_size": "0.2",
        "candidate_modelling_pipeline__model_options": json.dumps(
            {
                "features": ["engines", "passenger_capacity", "crew", "review_scores_rating"],
                "random_state": 8,
                "test_size": 0.3,
            },
            sort_keys=True,
            separators=(",", ":"),
        ),
        "reporting__title": "Spaceflights shuttle price models",
    }
    for name, step in step_templates(c.wf).items():
        assert arg_values(step["container"]["args"], "--param") == [
            "active_modelling_pipeline.model_options.test_size="
            "{{workflow.parameters.active_modelling_pipeline__model_options__test_size}}",
            "candidate_modelling_pipeline.model_options="
            "{{workflow.parameters.candidate_modelling_pipeline__model_options}}",
            "reporting.title={{workflow.parameters.reporting__title}}",
        ], name


@check(
    "ScheduleConfig.cron",
    "ScheduleConfig.timezone",
    "ScheduleConfig.concurrency_policy",
    "ScheduleConfig.starting_deadline_seconds",
    "ScheduleConfig.suspend",
    "ScheduleConfig.successful_jobs_history_limit",
    "ScheduleConfig.failed_jobs_history_limit",
)
def _schedule(c: Compiled) -> None:
    spec = c.cron["spec"]
    assert spec["schedules"] == ["*/15 * * * *"]
    assert spec["timezone"] == "Europe/Paris"
    assert spec["concurrencyPolicy"] == "Replace"
    assert spec["startingDeadlineSeconds"] == 60
    assert spec["suspend"] is True
    assert spec["successfulJobsHistoryLimit"] == 5
    assert spec["failedJobsHistoryLimit"] == 2
    assert spec["workflowSpec"] == c.spec


@check("ArgoConfig.grouping")
def _grouping(c: Compiled) -> None:
    """``grouping:`` in argo.yml groups nodes (the flag, when given, wins: test_grouping)."""
    config = c.built.facts.config.model_copy(update={"grouping": parse_group_by("memory")})
    built = build_facts(dataclasses.replace(c.built.facts, config=config))
    assert str(built.grouping) == "memory"
    assert len(built.plan.steps) < len(c.built.plan.steps)
    (task,) = [t for t in all_tasks(built.manifest) if PLAIN_NODE in task_nodes(t)]
    assert task_nodes(task) == [
        "preprocess_companies_node",
        "preprocess_shuttles_node",
        "create_model_input_table_node",
    ]
    # a pod running three nodes may take the sum of their timeouts (90 s each by default)
    assert templates(built.manifest)[task["template"]]["timeout"] == "270s"


@check("ArgoConfig.sweeps", "SweepsConfig.parameters", "SweepsConfig.max_parallel")
def _sweeps(c: Compiled) -> None:
    """``sweeps:`` fans the nodes using the swept parameter out, ``max_parallel`` branches at
    a time (what the sweep compiles to in detail: tests/compile/test_sweeps.py)."""
    key = "candidate_modelling_pipeline.model_options.test_size"
    config = c.built.facts.config.model_copy(
        update={
            "parameters": [],  # a swept parameter cannot also be exposed
            "sweeps": c.built.facts.config.sweeps.model_copy(
                update={"parameters": {key: [0.2, 0.4]}, "max_parallel": 3}
            ),
        }
    )
    fanned = swept_nodes(c.built.facts.nodes, [key])
    facts = dataclasses.replace(
        c.built.facts,
        config=config,
        # as if every output of a branch named ${argo:sweep} (the shared ones must not)
        branch_varying_datasets=frozenset(
            ds for n in c.built.facts.nodes if n.name in fanned for ds in n.outputs
        ),
    )
    built = build_facts(facts)
    loop = templates(built.manifest)["kedro-sweep"]
    assert loop["parallelism"] == 3
    (task,) = loop["dag"]["tasks"]
    values = [item[name] for item in task["withItems"] for name in item if name != "kedro-sweep"]
    assert values == ["0.2", "0.4"]
    swept = {n for s in built.plan.steps if s.swept for n in s.nodes}
    assert "candidate_modelling_pipeline.split_data_node" in swept
    assert not any(n.startswith("active_modelling_pipeline.") for n in swept)


@check(
    "ArgoConfig.ui",
    "UiConfig.parameters",
    "UiConfig.artifacts",
    "UiConfig.artifact_repository",
    "ArtifactRepositoryRef.config_map",
    "ArtifactRepositoryRef.key",
)
def _ui(c: Compiled) -> None:
    """``ui:`` makes the saving step's template declare the results as outputs (the pod
    writes them where the outputs read them), on a template of that step's own; the
    repository reference reaches the spec (details: tests/compile/test_results.py)."""
    ui = type(c.built.facts.config.ui).model_validate(
        {
            "parameters": ["active_modelling_pipeline_metrics"],
            "artifacts": ["model_comparison"],
            "artifact_repository": {"config_map": "team-repos", "key": "minio"},
        }
    )
    config = c.built.facts.config.model_copy(update={"ui": ui})
    built = build_facts(dataclasses.replace(c.built.facts, config=config))
    spec = built.manifest["spec"]
    assert spec["artifactRepositoryRef"] == {"configMap": "team-repos", "key": "minio"}
    by_name = templates(built.manifest)
    [metrics] = [t for t in by_name.values() if "parameters" in (t.get("outputs") or {})]
    assert metrics["outputs"]["parameters"] == [
        {
            "name": "active_modelling_pipeline_metrics",
            "valueFrom": {
                "path": "/tmp/kedro-argo/results/parameters/active_modelling_pipeline_metrics",
                "default": "",
            },
        }
    ]
    assert (
        '--results={"artifacts":[],"parameters":["active_modelling_pipeline_metrics"]}'
        in (metrics["container"]["args"])
    )
    [report] = [t for t in by_name.values() if "artifacts" in (t.get("outputs") or {})]
    assert report["outputs"]["artifacts"][0]["name"] == "model_comparison"
    users = [s for s in built.plan.steps if s.template in (metrics["name"], report["name"])]
    assert len(users) == 2  # each results template serves its one step


@check("ArgoConfig.memoize", "MemoizeConfig.enabled", "MemoizeConfig.max_age")
def _memoize(c: Compiled) -> None:
    """``memoize:`` tells every pod to skip a step unchanged since an earlier successful run
    (its cache entries valid for ``max_age``); what the pods do with it:
    tests/e2e/test_memoize.py."""
    memo = type(c.built.facts.config.memoize).model_validate({"enabled": True, "max_age": "2h"})
    config = c.built.facts.config.model_copy(update={"memoize": memo})
    built = build_facts(dataclasses.replace(c.built.facts, config=config))
    env = default_env(built.manifest)
    assert env["KEDRO_ARGO_MEMOIZE"] == "true"
    assert env["KEDRO_ARGO_MEMO_MAX_AGE"] == "7200"
    assert "KEDRO_ARGO_MEMOIZE" not in default_env(c.built.manifest)
    # --skip-unchanged / --no-skip-unchanged win over argo.yml
    off = build_facts(dataclasses.replace(c.built.facts, config=config), skip_unchanged=False)
    assert "KEDRO_ARGO_MEMOIZE" not in default_env(off.manifest)


def keys_to_check() -> list[str]:
    """Every field except those that only group a sub-model's own (checked) keys."""
    return [
        key
        for key, (model, field) in model_fields().items()
        if not is_plain_nesting(model.model_fields[field].annotation) or key in CHECKS
    ]


def test_every_model_field_has_a_check() -> None:
    missing = sorted(set(keys_to_check()) - set(CHECKS))
    assert not missing, f"add a check (or NOT_IN_MANIFEST) for: {missing}"
    stale = sorted(set(CHECKS) - set(model_fields()))
    assert not stale, f"checks for fields the model no longer has: {stale}"


@pytest.mark.parametrize("key", sorted(k for k, v in CHECKS.items() if v != NOT_IN_MANIFEST))
def test_config_key_reaches_the_manifest(key: str, full: Compiled) -> None:
    checker = CHECKS[key]
    assert callable(checker)
    checker(full)


def test_manifest_only_keys_stay_out(full: Compiled) -> None:
    text = json.dumps([full.wf, full.template, full.cron])
    for value in ("argo.example.com", "argo-server-ns", ".scratch/data"):
        assert value not in text


def test_full_config_manifests_pass_the_validator(full: Compiled) -> None:
    assert_valid(full.wf)
    assert_valid(full.template, submit=True)
    assert_valid(full.cron)
    assert_valid(full.named)


# --------------------------------------------------------------------------- precedence

TAG_A = {
    "resources": {"memory": "2Gi"},
    "timeout": "20m",
    "env": {"A": "tag-a"},
    "tolerations": [{"key": "a", "operator": "Exists"}],
}
TAG_B = {
    "resources": {"memory": "3Gi", "cpu_limit": 4},
    "timeout": "30m",
    "env": {"B": "tag-b"},
    "node_selector": {"pool": "b"},
    "retry": {"limit": 5},
}
PRECEDENCE_NODES = (
    node("both_tags", ["raw"], ["x1"], tags=["b", "a"]),
    node("tag_b", ["x1"], ["x2"], tags=["b"]),
    node("untagged", ["x2"], ["x3"]),
    node("named", ["x3"], ["x4"], tags=["a"]),
)


def precedence_config(tag_order: tuple[str, ...]) -> dict[str, Any]:
    tags = {"a": TAG_A, "b": TAG_B}
    return {
        "image": "img:1",
        "data": {"root": "/mnt/data"},
        "nodes": {
            "defaults": {
                "resources": {"cpu": 1, "memory": "1Gi"},
                "timeout": "10m",
                "env": {"A": "default", "B": "default"},
                "tolerations": [{"key": "default", "operator": "Exists"}],
                "node_selector": {"pool": "default", "os": "linux"},
                "retry": {"limit": 1, "policy": "OnFailure", "backoff": {"duration": "5s"}},
                "pod_spec_patch": {"priorityClassName": "low", "hostNetwork": False},
            },
            "tags": {name: tags[name] for name in tag_order},
            "names": {
                "named": {
                    "timeout": "40m",
                    "resources": {"cpu": "8"},
                    "env": {"A": "name"},
                    "pod_spec_patch": {"priorityClassName": "high"},
                }
            },
        },
    }


def compiled_steps(tag_order: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    built = build_facts(facts(PRECEDENCE_NODES, precedence_config(tag_order)))
    assert_valid(built.manifest)
    return step_templates(built.manifest)


def test_defaults_apply_to_untagged_nodes() -> None:
    step = compiled_steps(("a", "b"))["untagged"]
    assert step["timeout"] == "10m"
    assert step["container"]["resources"] == {"requests": {"cpu": "1", "memory": "1Gi"}}
    assert env_of(step["container"]) == {"A": "default", "B": "default"}
    assert step["retryStrategy"] == {
        "limit": "1",
        "retryPolicy": "OnFailure",
        "backoff": {"duration": "5s"},
    }


@pytest.mark.parametrize(
    ("tag_order", "memory", "timeout"), [(("a", "b"), "3Gi", "30m"), (("b", "a"), "2Gi", "20m")]
)
def test_later_tag_in_argo_yml_wins(tag_order: tuple[str, ...], memory: str, timeout: str) -> None:
    step = compiled_steps(tag_order)["both_tags"]
    assert step["timeout"] == timeout
    # resources merge key by key: cpu from defaults, cpu_limit from tag b, memory from the winner
    assert step["container"]["resources"] == {
        "requests": {"cpu": "1", "memory": memory},
        "limits": {"cpu": "4"},
    }
    # env and node_selector merge key by key; tolerations are replaced whole
    assert env_of(step["container"]) == {"A": "tag-a", "B": "tag-b"}
    assert step["nodeSelector"] == {"os": "linux", "pool": "b"}
    assert step["tolerations"] == [{"key": "a", "operator": "Exists"}]
    # retry merges recursively: the limit from tag b, policy and backoff from defaults
    assert step["retryStrategy"] == {
        "limit": "5",
        "retryPolicy": "OnFailure",
        "backoff": {"duration": "5s"},
    }


def test_node_name_beats_tags_and_defaults() -> None:
    for order in (("a", "b"), ("b", "a")):
        step = compiled_steps(order)["named"]
        assert step["timeout"] == "40m"
        assert step["container"]["resources"] == {"requests": {"cpu": "8", "memory": "2Gi"}}
        assert env_of(step["container"]) == {"A": "name", "B": "default"}
        assert json.loads(step["podSpecPatch"]) == {
            "hostNetwork": False,
            "priorityClassName": "high",
        }


def test_tag_settings_do_not_leak_to_other_nodes() -> None:
    step = compiled_steps(("a", "b"))["tag_b"]
    assert step["timeout"] == "30m"
    assert env_of(step["container"]) == {"A": "default", "B": "tag-b"}
    assert step["tolerations"] == [{"key": "default", "operator": "Exists"}]


@pytest.mark.parametrize(
    ("raw", "emitted"),
    [(2, "2"), ("2", "2"), (0.5, "0.5"), ("500m", "500m"), (1073741824, "1073741824")],
)
def test_quantities_accepted_as_int_or_str_and_emitted_as_strings(raw: Any, emitted: str) -> None:
    config = {
        "image": "img:1",
        "data": {"root": "/mnt/data"},
        "nodes": {"defaults": {"resources": {"cpu": raw, "memory_limit": raw}}},
    }
    (step,) = step_templates(
        build_facts(facts([node("n", ["a"], ["b"])], config)).manifest
    ).values()
    resources = step["container"]["resources"]
    assert resources == {"requests": {"cpu": emitted}, "limits": {"memory": emitted}}


def test_runtime_param_with_argo_syntax_is_refused_or_kept_literal() -> None:
    project_facts = facts(
        [node("n", ["a"], ["b"])],
        {"image": "i:1", "data": {"root": "/d"}},
        parameters={"prompt": "x"},
        runtime_params={"prompt": "Hello {{workflow.bogus}}"},
    )
    try:
        manifest = build_facts(project_facts).manifest
    except KedroArgoError:
        return  # a clean refusal is fine
    assert_valid(manifest)


def test_exit_handler_gets_the_settings_of_its_nodes(project: Path) -> None:
    update_config(
        project,
        nodes={
            "names": {"record_workflow_status_node": {"timeout": "5m"}},
            "tags": {"exit_handler": {"resources": {"memory": "512Mi"}}},
        },
    )
    exit_template = templates(build(project).manifest)["exit-handler"]
    assert exit_template.get("timeout") == "5m"
    assert exit_template["container"]["resources"]["requests"]["memory"] == "512Mi"
