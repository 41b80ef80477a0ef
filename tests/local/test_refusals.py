"""Local mode refuses, before running anything, what it cannot honour, naming the field.

Every manifest here is one Argo accepts (checked with the offline validator): the refusals are
local mode's limits, not invalid input. Nothing here starts a process.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kedro_argo.errors import LocalRunError
from kedro_argo.local import plan_workflow, run_workflow

from .helpers import assert_valid, py, workflow

Manifest = dict[str, Any]


def base() -> Manifest:
    """main: a -> b, both running template 'work'; plus an unused template 'spare'."""
    return workflow(
        [{"name": "a", "template": "work"}, {"name": "b", "template": "work", "depends": "a"}],
        [
            {"name": "work", "container": py("pass")},
            {"name": "spare", "container": py("pass")},
        ],
    )


def spec(m: Manifest) -> dict[str, Any]:
    return m["spec"]


def tmpl(m: Manifest, i: int) -> dict[str, Any]:
    return m["spec"]["templates"][i]


def task(m: Manifest, i: int) -> dict[str, Any]:
    return m["spec"]["templates"][0]["dag"]["tasks"][i]


def refused(m: Manifest, tmp_path: Path, **kwargs: Any) -> str:
    """The refusal message for a manifest Argo accepts."""
    assert_valid(m)
    with pytest.raises(LocalRunError) as info:
        plan_workflow(m, project_path=tmp_path, **kwargs)
    return str(info.value)


def _set(
    target: Callable[[Manifest], dict[str, Any]], /, **fields: Any
) -> Callable[[Manifest], None]:
    def mutate(m: Manifest) -> None:
        target(m).update(copy.deepcopy(fields))

    return mutate


def _replace_spare(body: dict[str, Any]) -> Callable[[Manifest], None]:
    def mutate(m: Manifest) -> None:
        m["spec"]["templates"][2] = {"name": "spare", **copy.deepcopy(body)}

    return mutate


def _container(**fields: Any) -> Callable[[Manifest], None]:
    return _set(lambda m: tmpl(m, 1)["container"], **fields)


VOLUME = [{"name": "v", "emptyDir": {}}]
ONE_CONTAINER = {"name": "main", "image": "i", "command": ["true"]}

UNSUPPORTED: dict[str, tuple[Callable[[Manifest], None], str]] = {
    "steps": (
        _replace_spare({"steps": [[{"name": "s", "template": "work"}]]}),
        "'spec.templates[2].steps' (template 'spare'): only container and dag templates",
    ),
    "script": (
        _replace_spare({"script": {"image": "i", "command": ["python"], "source": "print(1)"}}),
        "'spec.templates[2].script' (template 'spare'): only container and dag templates",
    ),
    "resource": (
        _replace_spare(
            {"resource": {"action": "create", "manifest": "apiVersion: v1\nkind: ConfigMap\n"}}
        ),
        "'spec.templates[2].resource'",
    ),
    "suspend template": (_replace_spare({"suspend": {}}), "'spec.templates[2].suspend'"),
    "http": (_replace_spare({"http": {"url": "https://example.com"}}), "'spec.templates[2].http'"),
    "plugin": (_replace_spare({"plugin": {"hello": {}}}), "'spec.templates[2].plugin'"),
    "containerSet": (
        _replace_spare({"containerSet": {"containers": [ONE_CONTAINER]}}),
        "'spec.templates[2].containerSet'",
    ),
    "data": (
        _replace_spare(
            {
                "data": {
                    "source": {"artifactPaths": {"name": "p", "s3": {"key": "k"}}},
                    "transformation": [{"expression": "true"}],
                }
            }
        ),
        "'spec.templates[2].data'",
    ),
    "withParam": (
        _set(lambda m: task(m, 0), withParam="[1, 2]"),
        "'spec.templates[0].dag.tasks[0].withParam' (template 'main'): withParam/withSequence",
    ),
    "withSequence": (
        _set(lambda m: task(m, 0), withSequence={"count": "2"}),
        "'spec.templates[0].dag.tasks[0].withSequence' (template 'main'): withParam/withSequence",
    ),
    "when": (_set(lambda m: task(m, 1), when="1 == 1"), "'spec.templates[0].dag.tasks[1].when'"),
    "continueOn": (
        lambda m: (
            task(m, 1).pop("depends"),
            task(m, 1).update(dependencies=["a"]),
            task(m, 0).update(continueOn={"failed": True}),
        ),
        "dag.tasks[0].continueOn'",
    ),
    "task onExit": (_set(lambda m: task(m, 0), onExit="spare"), "dag.tasks[0].onExit'"),
    "task hooks": (
        _set(lambda m: task(m, 0), hooks={"exit": {"template": "spare"}}),
        "dag.tasks[0].hooks'",
    ),
    "workflow hooks": (_set(spec, hooks={"exit": {"template": "spare"}}), "'spec.hooks'"),
    "memoize": (
        _set(
            lambda m: tmpl(m, 1),
            memoize={"key": "k", "maxAge": "1h", "cache": {"configMap": {"name": "c"}}},
        ),
        "'spec.templates[1].memoize' (template 'work')",
    ),
    "workflow synchronization": (
        _set(spec, synchronization={"mutexes": [{"name": "m"}]}),
        "'spec.synchronization'",
    ),
    "template synchronization": (
        _set(
            lambda m: tmpl(m, 1),
            synchronization={"semaphores": [{"configMapKeyRef": {"name": "c", "key": "k"}}]},
        ),
        "'spec.templates[1].synchronization'",
    ),
    "volumeClaimTemplates": (
        _set(
            spec,
            volumeClaimTemplates=[
                {
                    "metadata": {"name": "w"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
        ),
        "'spec.volumeClaimTemplates'",
    ),
    "workflow volumes": (_set(spec, volumes=VOLUME), "'spec.volumes': volumes"),
    "template volumes": (_set(lambda m: tmpl(m, 1), volumes=VOLUME), "'spec.templates[1].volumes'"),
    "volumeMounts": (
        lambda m: (
            spec(m).update(volumes=copy.deepcopy(VOLUME)),
            tmpl(m, 1)["container"].update(volumeMounts=[{"name": "v", "mountPath": "/data"}]),
        ),
        "'spec.templates[1].container.volumeMounts'",
    ),
    "initContainers": (
        _set(lambda m: tmpl(m, 1), initContainers=[{**ONE_CONTAINER, "name": "init"}]),
        "'spec.templates[1].initContainers'",
    ),
    "sidecars": (
        _set(lambda m: tmpl(m, 1), sidecars=[{**ONE_CONTAINER, "name": "side"}]),
        "'spec.templates[1].sidecars'",
    ),
    "output parameters from another task": (
        _set(
            lambda m: tmpl(m, 1),
            outputs={"parameters": [{"name": "o", "valueFrom": {"parameter": "x"}}]},
        ),
        "'spec.templates[1].outputs.parameters[0].valueFrom.parameter'",
    ),
    "output artifacts to a bucket": (
        _set(
            lambda m: tmpl(m, 1),
            outputs={"artifacts": [{"name": "o", "path": "/tmp/o", "s3": {"key": "k"}}]},
        ),
        "'spec.templates[1].outputs.artifacts[0].s3'",
    ),
    "input artifacts": (
        _set(
            lambda m: tmpl(m, 1),
            inputs={"artifacts": [{"name": "a", "path": "/tmp/a", "raw": {"data": "x"}}]},
        ),
        "'spec.templates[1].inputs.artifacts'",
    ),
    "templateRef": (
        lambda m: (
            task(m, 0).update({"templateRef": {"name": "lib", "template": "x"}})
            or task(m, 0).pop("template")
        ),
        "'spec.templates[0].dag.tasks[0].templateRef'",
    ),
    "envFrom": (_container(envFrom=[{"configMapRef": {"name": "c"}}]), "container.envFrom'"),
    "env from a ConfigMap": (
        _container(
            env=[{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]
        ),
        "'spec.templates[1].container.env[0].valueFrom.configMapKeyRef'",
    ),
    "retry expression": (
        _set(lambda m: tmpl(m, 1), retryStrategy={"limit": "1", "expression": "true"}),
        "'spec.templates[1].retryStrategy.expression'",
    ),
    "workflow retryStrategy": (_set(spec, retryStrategy={"limit": "1"}), "'spec.retryStrategy'"),
    "parameter from a ConfigMap": (
        _set(
            spec,
            arguments={
                "parameters": [
                    {"name": "p", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}
                ]
            },
        ),
        "'spec.arguments.parameters[0].valueFrom'",
    ),
    "dag target": (
        _set(lambda m: tmpl(m, 0)["dag"], target="a"),
        "'spec.templates[0].dag.target'",
    ),
    "suspended workflow": (_set(spec, suspend=True), "'spec.suspend': only 'false'"),
    "shutdown": (_set(spec, shutdown="Stop"), "'spec.shutdown'"),
    "inline template": (
        lambda m: (
            task(m, 0).update({"inline": {"container": {"image": "i", "command": ["x"]}}})
            or task(m, 0).pop("template")
        ),
        "'spec.templates[0].dag.tasks[0].inline'",
    ),
    "no command": (
        lambda m: tmpl(m, 1)["container"].pop("command"),
        "'spec.templates[1].container.command' (template 'work'): not set",
    ),
    "dag retryStrategy": (
        _set(lambda m: tmpl(m, 0), retryStrategy={"limit": "1"}),
        "'spec.templates[0].retryStrategy' (template 'main'): retryStrategy on a dag template",
    ),
}


@pytest.mark.parametrize("case", UNSUPPORTED, ids=list(UNSUPPORTED))
def test_unsupported_features_are_refused_naming_the_field(tmp_path: Path, case: str) -> None:
    mutate, expected = UNSUPPORTED[case]
    m = base()
    mutate(m)
    message = refused(m, tmp_path)
    assert message.startswith("local mode cannot run"), message
    assert expected in message


def test_workflow_template_ref_is_refused(tmp_path: Path) -> None:
    m = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "t-"},
        "spec": {"workflowTemplateRef": {"name": "library"}},
    }
    assert "'spec.workflowTemplateRef': references to other WorkflowTemplates" in refused(
        m, tmp_path
    )


def test_all_refusals_are_listed_at_once(tmp_path: Path) -> None:
    m = base()
    task(m, 0)["withParam"] = "[1]"
    tmpl(m, 2)["memoize"] = {"key": "k", "maxAge": "1h", "cache": {"configMap": {"name": "c"}}}
    message = refused(m, tmp_path)
    assert "withParam" in message and "memoize" in message
    assert message.count("\n  - ") == 2


def test_refusals_in_a_cron_workflow_name_the_workflow_spec_path(tmp_path: Path) -> None:
    m = workflow([{"name": "a", "template": "s"}], [], kind="CronWorkflow")
    m["spec"]["workflowSpec"]["templates"].append(
        {"name": "s", "script": {"image": "i", "command": ["python"], "source": "1"}}
    )
    assert "'spec.workflowSpec.templates[1].script'" in refused(m, tmp_path)


def test_template_defaults_retry_strategy_reaching_the_dag_is_refused(tmp_path: Path) -> None:
    m = base()
    spec(m)["templateDefaults"]["retryStrategy"] = {"limit": "1"}
    assert "retryStrategy on a dag template" in refused(m, tmp_path)


def test_cluster_only_fields_are_accepted(tmp_path: Path) -> None:
    m = base()
    spec(m).update(
        serviceAccountName="runner",
        imagePullSecrets=[{"name": "regcred"}],
        nodeSelector={"pool": "cpu"},
        tolerations=[{"key": "k", "operator": "Exists"}],
        podGC={"strategy": "OnPodSuccess"},
        ttlStrategy={"secondsAfterSuccess": 60},
        podMetadata={"labels": {"a": "b"}},
        podSpecPatch='{"terminationGracePeriodSeconds": 5}',
        securityContext={"runAsNonRoot": True},
        suspend=False,
    )
    m["metadata"].update(labels={"team": "ds"}, annotations={"note": "x"}, namespace="ml")
    tmpl(m, 1).update(
        metadata={"annotations": {"kedro.org/node": "n"}},
        nodeSelector={"pool": "gpu"},
        podSpecPatch='{"priorityClassName": "high"}',
    )
    tmpl(m, 1)["container"].update(
        imagePullPolicy="IfNotPresent",
        workingDir="/home/kedro_docker",
        resources={"requests": {"cpu": "1", "memory": "1Gi"}},
        securityContext={"runAsUser": 1000},
    )
    plan = plan_workflow(assert_valid(m), project_path=tmp_path)
    assert [s.name for s in plan.steps] == ["a", "b"]
    assert plan.namespace == "ml"


# --------------------------------------------------------------------------- depends


@pytest.mark.parametrize(
    "expr", ["a || b", "!a", "a.Failed", "a.Succeeded", "(a && b) || b", "a.Errored"]
)
def test_depends_beyond_names_joined_by_and_is_refused(tmp_path: Path, expr: str) -> None:
    m = base()
    tasks = tmpl(m, 0)["dag"]["tasks"]
    tasks[1]["depends"] = "a"
    tasks.append({"name": "c", "template": "work", "depends": expr})
    message = refused(m, tmp_path)
    assert "'spec.templates[0].dag.tasks[2]' (template 'main') depends" in message
    assert "only task names joined by '&&'" in message


# --------------------------------------------------------------------------- variables


@pytest.mark.parametrize(
    ("arg", "why"),
    [
        ("{{pod.name}}", "local mode resolves only"),
        ("{{workflow.duration}}", "local mode resolves only"),
        ("{{retries}}", "local mode resolves only"),
        ("{{workflow.creationTimestamp.Y}}", "local mode resolves only"),
        ("{{=sprig.upper('x')}}", "expression tags"),
        ("{{workflow.status}}", "only available in the exit handler"),
    ],
)
def test_unresolvable_variables_are_refused_naming_template_and_variable(
    tmp_path: Path, arg: str, why: str
) -> None:
    m = base()
    tmpl(m, 1)["container"]["args"] = ["x", arg]
    message = refused(m, tmp_path)
    tag = arg[2:-2]
    assert "'spec.templates[1].container.args[1]' (template 'work')" in message
    assert f"cannot resolve {{{{{tag}}}}}" in message
    assert why in message


def test_unknown_parameter_override_lists_the_valid_names(tmp_path: Path) -> None:
    m = base()
    spec(m)["arguments"] = {
        "parameters": [{"name": "alpha", "value": "1"}, {"name": "beta", "value": "2"}]
    }
    message = refused(m, tmp_path, parameters={"gamma": "3"})
    assert "unknown workflow parameter 'gamma'" in message
    assert "valid names: alpha, beta" in message


def test_parameter_without_value_needs_an_override(tmp_path: Path) -> None:
    m = workflow([{"name": "a", "template": "work"}], [{"name": "work", "container": py("pass")}])
    m["kind"] = "WorkflowTemplate"
    m["metadata"] = {"name": "lib"}
    spec(m)["arguments"] = {"parameters": [{"name": "env", "enum": ["dev", "prod"]}]}
    assert "parameter 'env' has no value" in refused(m, tmp_path)
    assert "not one of ['dev', 'prod']" in refused(m, tmp_path, parameters={"env": "qa"})
    plan = plan_workflow(m, project_path=tmp_path, parameters={"env": "prod"})
    assert plan.parameters == {"env": "prod"}


# --------------------------------------------------------------------------- env


def _secret_manifest(optional: bool | None = None) -> Manifest:
    m = base()
    ref: dict[str, Any] = {"name": "creds", "key": "token"}
    if optional is not None:
        ref["optional"] = optional
    tmpl(m, 1)["container"]["env"] = [{"name": "API_TOKEN", "valueFrom": {"secretKeyRef": ref}}]
    return m


def test_missing_secret_is_refused_naming_variable_and_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("API_TOKEN", raising=False)
    message = refused(_secret_manifest(), tmp_path)
    assert "API_TOKEN" in message and "'creds'" in message and "'token'" in message
    assert "set API_TOKEN in the local environment" in message
    # an optional secret that is missing leaves the variable unset, as in Kubernetes
    plan = plan_workflow(assert_valid(_secret_manifest(True)), project_path=tmp_path)
    assert "API_TOKEN" not in plan.steps[0].env
    # override_env counts as the local environment too
    plan = plan_workflow(
        _secret_manifest(), project_path=tmp_path, override_env={"API_TOKEN": "t0ken"}
    )
    assert plan.step_env(plan.steps[0])["API_TOKEN"] == "t0ken"
    assert "t0ken" not in repr(plan) + repr(plan.steps[0])


def test_template_defaults_env_merges_by_name_and_env_layers(tmp_path: Path) -> None:
    m = base()
    defaults = spec(m)["templateDefaults"]["container"]
    defaults["env"] = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    defaults["args"] = ["--from-defaults"]
    tmpl(m, 1)["container"]["env"] = [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]
    tmpl(m, 1)["container"]["args"] = ["own"]
    tmpl(m, 2)["container"].pop("args")
    plan = plan_workflow(
        assert_valid(m),
        project_path=tmp_path,
        extra_env={"A": "extra", "D": "extra"},
        override_env={"C": "override"},
    )
    step = plan.steps[0]
    assert list(step.env.items()) == [("A", "1"), ("B", "3"), ("C", "4")]
    env = plan.step_env(step)
    assert (env["A"], env["B"], env["C"], env["D"]) == ("1", "3", "override", "extra")
    assert step.argv[-1] == "own"  # lists other than env are replaced, not merged
    spare = plan_workflow(_entry(m, "spare"), project_path=tmp_path).steps[0]
    assert spare.argv[-1] == "--from-defaults"


def _entry(m: Manifest, template: str) -> Manifest:
    m = copy.deepcopy(m)
    spec(m)["entrypoint"] = template
    return assert_valid(m)


def test_python_command_uses_the_given_interpreter(tmp_path: Path) -> None:
    plan = plan_workflow(assert_valid(base()), project_path=tmp_path, python_executable="/venv/py")
    assert plan.steps[0].argv[:2] == ("/venv/py", "-S")


def test_bad_project_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LocalRunError, match="is not a directory"):
        run_workflow(base(), project_path=tmp_path / "nope", log_dir=tmp_path / "logs")
