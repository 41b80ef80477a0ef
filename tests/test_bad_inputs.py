"""The bad-input battery: every command and every argo.yml section, as a new user would err.

Each row is one case: the command line, the argo.yml change, files or environment it needs,
the exit code, a fragment of the one message the user must see. Nothing may be written: the
project tree (where every path on these command lines points) is compared byte for byte before
and after. The two tests at the end keep the table complete: a command option that takes a
value, or an argo.yml key, without a row here fails the suite, so nothing ships without its
bad-input cases.

Commands run in-process (``kedro argo …`` through click with the metadata Kedro passes, the pod
entrypoint through its ``main``), which keeps some hundred and thirty cases at seconds.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kedro_argo.cli import argo
from kedro_argo.config import ArgoConfig

from .compile.support import assert_clean_error, cli_runner, set_compile_env
from .sample_project import copy_project, update_config

ERROR = "error"  # one `Error: …` line on stderr (a click usage error adds its usage lines)
OUTPUT = "output"  # problem lines on stdout (validate), exit 1
POD = "pod"  # the pod entrypoint: one `kedro-argo: …` line on stderr


@dataclass(frozen=True)
class Case:
    id: str
    command: tuple[str, ...]
    fragment: str
    exit_code: int = 1
    config: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)  # written before the run
    expect: str = ERROR

    @property
    def name(self) -> str:
        return self.command[0]


def row(id: str, command: str, fragment: str, exit_code: int = 1, **extra: Any) -> Any:
    return pytest.param(Case(id, tuple(shlex.split(command)), fragment, exit_code, **extra), id=id)


# A port nothing listens on (bound, never listening) for an unreachable server.
_closed = socket.socket()
_closed.bind(("127.0.0.1", 0))
DEAD = f"127.0.0.1:{_closed.getsockname()[1]}"
NO_CLUSTER = {"ARGO_SERVER": "", "KUBECONFIG": "/nonexistent/kubeconfig"}
UNREACHABLE = {"ARGO_SERVER": f"http://{DEAD}"}
KUBECONFIG = {"env": {"ARGO_SERVER": "", "KUBECONFIG": "kubeconfig"}, "files": {"kubeconfig": ""}}
NO_SUCH = "Kedro environment 'prod' does not exist"
NOT_REGISTERED = "Pipeline 'nope' is not registered"
BAD_PARAMS = "must contain a key and a value"
NOT_AN_IMAGE = "is not a container image reference"
WORKFLOW = (
    "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: x-}\n"
    "spec:\n  entrypoint: main\n  templates:\n  - name: main\n"
    "    container: {image: 'busybox:1', command: [echo, hi]}\n"
)
BROKEN = WORKFLOW.replace("entrypoint: main", "entrypoint: nowhere")
REF = (
    "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: x-}\n"
    "spec:\n  workflowTemplateRef: {name: nowhere}\n"
)
NEEDS_VALUE = (
    WORKFLOW.replace("kind: Workflow", "kind: WorkflowTemplate")
    .replace("metadata: {generateName: x-}", "metadata: {name: t}")
    .replace("  entrypoint: main\n", "  entrypoint: main\n  arguments: {parameters: [{name: p}]}\n")
)
POD_MANIFEST = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n"

# fmt: off
COMMAND_LINE = [
    # -- compile
    row("compile-unknown-pipeline", "compile -p nope -o out/m.yaml", NOT_REGISTERED),
    row("compile-unknown-env", "compile --env prod -o out/m.yaml", NO_SUCH),
    row("compile-output-is-directory", "compile -o conf", "Cannot write conf: it is a directory"),
    row("compile-output-in-proc", "compile -o /proc/kedro-argo/x.yaml",
        "Cannot write /proc/kedro-argo/x.yaml"),
    row("compile-unknown-kind", "compile --kind job", "Invalid value for '--kind'", 2),
    row("compile-params-without-value", "compile --params model_options", BAD_PARAMS, 2),
    row("compile-params-interpolation", "compile --params 'model_options.test_size=${x}'",
        "parameters cannot be loaded: Interpolation key 'x' not found",
        config={"parameters": ["model_options.test_size"]}),
    row("compile-invalid-name", "compile --kind template --name Bad_Name",
        "'Bad_Name' is not a valid WorkflowTemplate name"),
    row("compile-invalid-cron", "compile --kind cron --cron '61 * * * *'",
        "Cron schedule '61 * * * *'"),
    row("compile-cron-without-kind", "compile --cron '0 6 * * *'", "add --kind cron", 2),
    row("compile-unknown-grouping", "compile --group-by pods", "--group-by"),
    row("compile-bad-image", "compile --image 'Not An Image'", NOT_AN_IMAGE, 2),
    row("compile-sweep-without-values", "compile --sweep alpha", "must look like KEY=VALUE1", 2),
    row("compile-sweep-unknown-parameter", "compile --sweep nope=1,2",
        "Sweep of 'nope': the project has no such parameter"),
    row("compile-zero-max-parallel", "compile --sweep reporting.title=a,b --max-parallel 0",
        "0 is not in the range", 2),
    # -- init
    row("init-existing-config", "init", "already exists: use --force"),
    row("init-bad-image", "init --force --image UPPER/Case:1", NOT_AN_IMAGE, 2),
    row("init-dockerfile-bad-project-dir", "init --with-dockerfile", "project_dir",
        config={"project_dir": "relative/dir"}),
    # -- run-local
    row("run-local-unknown-pipeline", "run-local -p nope", NOT_REGISTERED),
    row("run-local-unknown-env", "run-local -e prod", NO_SUCH),
    row("run-local-params-without-value", "run-local --params x", BAD_PARAMS, 2),
    row("run-local-missing-manifest", "run-local --manifest missing.yaml",
        "'missing.yaml' does not exist", 2),
    row("run-local-manifest-not-yaml", "run-local --manifest bad.yaml", "is not valid YAML",
        files={"bad.yaml": "kind: [unclosed\n"}),
    row("run-local-manifest-not-argo", "run-local --manifest pod.yaml",
        "holds no Workflow, WorkflowTemplate or CronWorkflow (documents: #0 Pod)",
        files={"pod.yaml": POD_MANIFEST}),
    row("run-local-zero-parallelism", "run-local --parallelism 0", "0 is not in the range", 2),
    row("run-local-data-root-is-a-file", "run-local --data-root README.md",
        "Data root README.md is not a folder"),
    row("run-local-argument-without-value", "run-local --argument p",
        "'p' must look like NAME=VALUE", 2),
    row("run-local-unknown-argument", "run-local --argument nope=1", "unknown workflow parameter"),
    row("run-local-group-by-with-manifest", "run-local --manifest wf.yaml --group-by memory",
        "--group-by applies when compiling", 2, files={"wf.yaml": WORKFLOW}),
    row("run-local-sweep-with-manifest", "run-local --manifest wf.yaml --sweep a=1,2",
        "--sweep and --max-parallel apply when compiling", 2, files={"wf.yaml": WORKFLOW}),
    row("run-local-sweep-twice", "run-local --sweep a=1 --sweep a=2", "is swept twice", 2),
    row("run-local-max-parallel-not-a-number", "run-local --max-parallel many",
        "'many' is not a valid integer", 2),
    row("run-local-skip-unchanged-with-manifest", "run-local --manifest wf.yaml --skip-unchanged",
        "--skip-unchanged applies when compiling", 2, files={"wf.yaml": WORKFLOW}),
    row("run-local-resume-unknown-run", "run-local --resume nope",
        "No local run 'nope' to resume"),
    row("run-local-resume-with-manifest", "run-local --resume r --manifest wf.yaml",
        "--resume runs the earlier run again as it was; --manifest cannot change it", 2,
        files={"wf.yaml": WORKFLOW}),
    # -- validate
    row("validate-missing-file", "validate missing.yaml", "missing.yaml: cannot be read"),
    row("validate-not-yaml", "validate bad.yaml", "bad.yaml: not valid YAML",
        files={"bad.yaml": "a: [\n"}),
    row("validate-invalid-manifest", "validate wf.yaml", "nowhere", files={"wf.yaml": BROKEN},
        expect=OUTPUT),
    row("validate-strict-refs", "validate --strict-refs wf.yaml", "nowhere",
        files={"wf.yaml": REF}, expect=OUTPUT),
    row("validate-submit-needs-values", "validate --submit t.yaml", "'p'",
        files={"t.yaml": NEEDS_VALUE}, expect=OUTPUT),
    # -- the commands that talk to the Argo Server or the Kubernetes API
    row("run-once-no-cluster", "run-once", "No Argo Server and no kubeconfig", env=NO_CLUSTER),
    row("run-once-unreachable", "run-once", DEAD, env=UNREACHABLE),
    row("run-once-unknown-pipeline", "run-once -p nope", NOT_REGISTERED, env=NO_CLUSTER),
    row("run-once-unknown-env", "run-once -e prod", NO_SUCH, env=NO_CLUSTER),
    row("run-once-bad-params", "run-once --params x", BAD_PARAMS, 2),
    row("run-once-unknown-grouping", "run-once --group-by x:y", "--group-by", env=NO_CLUSTER),
    row("run-once-bad-image", "run-once --image 'a b'", NOT_AN_IMAGE, 2),
    row("run-once-sweep-unused", "run-once --sweep reporting.price_decimals=1,2 -p data_processing",
        "No node of pipeline 'data_processing' loads", env=NO_CLUSTER),
    row("run-once-negative-max-parallel", "run-once --max-parallel -1", "is not in the range", 2),
    row("run-once-unknown-context", "run-once --context nowhere", "nowhere", **KUBECONFIG),
    row("schedule-invalid-cron", "schedule --cron 'every day'", "Cron schedule 'every day'",
        env=NO_CLUSTER),
    row("schedule-invalid-timezone", "schedule --cron '0 6 * * *' --timezone Mars/Base",
        "Timezone 'Mars/Base' is not an IANA timezone", env=NO_CLUSTER),
    row("schedule-invalid-name", f"schedule --cron '0 6 * * *' --name {'n' * 60}",
        "is not a valid CronWorkflow name", env=NO_CLUSTER),
    row("schedule-unknown-pipeline", "schedule -p nope --cron '0 6 * * *'", NOT_REGISTERED,
        env=NO_CLUSTER),
    row("schedule-unknown-env", "schedule -e prod", NO_SUCH, env=NO_CLUSTER),
    row("schedule-bad-params", "schedule --params x", BAD_PARAMS, 2),
    row("schedule-delete-unreachable", "schedule --delete nightly", DEAD, env=UNREACHABLE),
    row("schedule-unknown-grouping", "schedule --group-by tag: --cron '0 6 * * *'", "--group-by",
        env=NO_CLUSTER),
    row("schedule-bad-image", "schedule --image 'a b'", NOT_AN_IMAGE, 2),
    row("schedule-sweep-not-a-list", "schedule --sweep 'a=[1, 2'", "not a YAML list", 2),
    row("schedule-zero-max-parallel", "schedule --max-parallel 0", "is not in the range", 2),
    row("schedule-unknown-context", "schedule --list --context nowhere", "nowhere", **KUBECONFIG),
    row("upload-invalid-name", "upload --name Bad_Name",
        "'Bad_Name' is not a valid WorkflowTemplate name", env=NO_CLUSTER),
    row("upload-unknown-pipeline", "upload -p nope", NOT_REGISTERED, env=NO_CLUSTER),
    row("upload-unknown-env", "upload -e prod", NO_SUCH, env=NO_CLUSTER),
    row("upload-bad-params", "upload --params x", BAD_PARAMS, 2),
    row("upload-unknown-grouping", "upload --group-by namespace:0", "--group-by", env=NO_CLUSTER),
    row("upload-bad-image", "upload --image 'a b'", NOT_AN_IMAGE, 2),
    row("upload-sweep-clashing-output", "upload --sweep active_modelling_pipeline.model_options."
        "random_state=1,2", "Every branch of the sweep would write the same file",
        env=NO_CLUSTER),
    row("upload-zero-max-parallel", "upload --max-parallel 0", "is not in the range", 2),
    row("upload-unreachable", "upload", DEAD, env=UNREACHABLE),
    row("upload-unknown-context", "upload --context nowhere", "nowhere", **KUBECONFIG),
    row("list-no-cluster", "list", "No Argo Server and no kubeconfig", env=NO_CLUSTER),
    row("list-unknown-env", "list -e prod", NO_SUCH, env=NO_CLUSTER),
    row("list-unknown-context", "list --context nowhere", "nowhere", **KUBECONFIG),
    row("resume-unreachable", "resume wf-1", DEAD, env=UNREACHABLE),
    row("resume-no-cluster", "resume wf-1", "No Argo Server and no kubeconfig", env=NO_CLUSTER),
    row("resume-unknown-env", "resume wf-1 -e prod", NO_SUCH, env=NO_CLUSTER),
    row("resume-unknown-context", "resume wf-1 --context nowhere", "nowhere", **KUBECONFIG),
    row("resume-bad-poll-interval", "resume wf-1 --poll-interval soon", "is not a valid float",
        2, env=NO_CLUSTER),
    row("status-unreachable", "status wf-1", DEAD, env=UNREACHABLE),
    row("status-unknown-env", "status wf-1 -e prod", NO_SUCH, env=NO_CLUSTER),
    row("status-unknown-context", "status wf-1 --context nowhere", "nowhere", **KUBECONFIG),
    row("logs-unreachable", "logs wf-1 --step split", DEAD, env=UNREACHABLE),
    row("logs-unknown-env", "logs wf-1 -e prod", NO_SUCH, env=NO_CLUSTER),
    row("logs-unknown-context", "logs wf-1 --context nowhere", "nowhere", **KUBECONFIG),
    row("ui-no-server", "ui", "ARGO_SERVER", env=NO_CLUSTER),
    row("ui-unknown-env", "ui -e prod", NO_SUCH, env=NO_CLUSTER),
    row("server-url-not-a-url", "list", "ARGO_SERVER must be host:port or an http(s):// URL",
        env={"ARGO_SERVER": "ftp://argo"}),
    row("server-insecure-not-a-bool", "list", "must be true or false",
        env={"ARGO_SERVER": f"http://{DEAD}", "ARGO_INSECURE_SKIP_VERIFY": "maybe"}),
    # -- the pod entrypoint (python -m kedro_argo step …)
    row("step-no-arguments", "step", "--pipeline", 2, expect=POD),
    row("step-unknown-flag", "step --pipeline=__default__ --nodez=a", "unexpected argument", 2,
        expect=POD),
    row("step-flag-twice", "step --pipeline=a --pipeline=b", "given twice", 2, expect=POD),
    row("step-bad-param", "step --pipeline=__default__ --param=novalue",
        "must look like key=value", 2, expect=POD),
    row("step-outside-a-workflow", "step --pipeline=__default__",
        "this command runs inside an Argo workflow", 2, expect=POD),
]


def config_row(id: str, fragment: str, **config: Any) -> Any:
    return row(f"argo-yml-{id}", "compile", fragment, config=config)


def at(key: str) -> str:
    return f"conf/base/argo.yml: {key}: "


CONFIGURATION = [
    config_row("image", at("image"), image=["a"]),
    config_row("image-reference", at("image"), image="a b"),
    config_row("image-pull-policy", at("image_pull_policy"), image_pull_policy="Later"),
    config_row("image-pull-secrets", at("image_pull_secrets.0"), image_pull_secrets=["A_B"]),
    config_row("namespace", at("namespace"), namespace="Team A"),
    config_row("service-account", at("service_account"), service_account="sa/x"),
    config_row("project-dir", at("project_dir"), project_dir="relative"),
    config_row("server", at("server"), server="https://argo"),
    config_row("server-mode", at("server.mode"), server={"mode": "kubectl"}),
    config_row("server-url", at("server.url"), server={"url": "ftp://argo"}),
    config_row("server-namespace", at("server.namespace"), server={"namespace": "A"}),
    config_row("server-context", at("server.context"), server={"context": ["a"]}),
    config_row("data", at("data"), data="s3://bucket"),
    config_row("data-root", at("data.root"), data={"root": "http://bucket"}),
    config_row("data-local-root", at("data.local_root"), data={"local_root": 3}),
    config_row("data-compression", at("data.compression"), data={"compression": "gz"}),
    config_row("workflow", at("workflow"), workflow=[1]),
    config_row("workflow-name", at("workflow.name"), workflow={"name": "A_B"}),
    config_row("workflow-generate-name", at("workflow.generate_name"),
               workflow={"generate_name": ["x"]}),
    config_row("workflow-labels", at("workflow.labels"), workflow={"labels": ["a"]}),
    config_row("workflow-annotations", at("workflow.annotations"),
               workflow={"annotations": "a=b"}),
    config_row("workflow-ttl", at("workflow.ttl.seconds_after_completion"),
               workflow={"ttl": {"seconds_after_completion": -1}}),
    config_row("workflow-pod-gc", at("workflow.pod_gc.strategy"),
               workflow={"pod_gc": {"strategy": "Never"}}),
    config_row("workflow-parallelism-int64", at("workflow.parallelism"),
               workflow={"parallelism": 9223372036854775808}),
    config_row("workflow-parallelism-float", at("workflow.parallelism"),
               workflow={"parallelism": 1e30}),
    config_row("workflow-active-deadline", at("workflow.active_deadline_seconds"),
               workflow={"active_deadline_seconds": True}),
    config_row("workflow-on-exit-pipeline", "'nope'", workflow={"on_exit_pipeline": "nope"}),
    config_row("nodes", at("nodes"), nodes=["defaults"]),
    config_row("nodes-defaults-resources", at("nodes.defaults.resources.cpu"),
               nodes={"defaults": {"resources": {"cpu": "lots"}}}),
    config_row("nodes-defaults-retry", at("nodes.defaults.retry.limit"),
               nodes={"defaults": {"retry": {"limit": -1}}}),
    config_row("nodes-defaults-timeout", at("nodes.defaults.timeout"),
               nodes={"defaults": {"timeout": "a while"}}),
    config_row("nodes-defaults-node-selector", at("nodes.defaults.node_selector"),
               nodes={"defaults": {"node_selector": ["gpu"]}}),
    config_row("nodes-defaults-tolerations", at("nodes.defaults.tolerations.0.operator"),
               nodes={"defaults": {"tolerations": [{"operator": "Sometimes"}]}}),
    config_row("nodes-defaults-affinity", at("nodes.defaults.affinity"),
               nodes={"defaults": {"affinity": "anywhere"}}),
    config_row("nodes-defaults-env", at("nodes.defaults.env"),
               nodes={"defaults": {"env": {"1X": "a"}}}),
    config_row("nodes-defaults-env-secret", at("nodes.defaults.env.TOKEN.key"),
               nodes={"defaults": {"env": {"TOKEN": {"secret": "s"}}}}),
    config_row("nodes-defaults-volumes", at("nodes.defaults.volumes.0.mount_path"),
               nodes={"defaults": {"volumes": [{"name": "v", "source": {}}]}}),
    config_row("nodes-defaults-pod-spec-patch", at("nodes.defaults.pod_spec_patch"),
               nodes={"defaults": {"pod_spec_patch": "[1]"}}),
    config_row("nodes-tags", at("nodes.tags.gpu.resources.gpu"),
               nodes={"tags": {"gpu": {"resources": {"gpu": "one"}}}}),
    config_row("nodes-names", at("nodes.names.split_data_node.retry.policy"),
               nodes={"names": {"split_data_node": {"retry": {"policy": "Often"}}}}),
    config_row("nodes-names-unknown-node", "typo_node", nodes={"names": {"typo_node": {}}}),
    config_row("parameters", at("parameters"), parameters="model_options"),
    config_row("parameters-unknown", "model_options.nope", parameters=["model_options.nope"]),
    config_row("schedule", at("schedule"), schedule="daily"),
    config_row("schedule-cron", at("schedule.cron"), schedule={"cron": "daily"}),
    config_row("schedule-timezone", at("schedule.timezone"),
               schedule={"cron": "0 6 * * *", "timezone": "Moon"}),
    config_row("schedule-concurrency-policy", at("schedule.concurrency_policy"),
               schedule={"concurrency_policy": "Never"}),
    config_row("schedule-starting-deadline", at("schedule.starting_deadline_seconds"),
               schedule={"starting_deadline_seconds": -1}),
    config_row("schedule-suspend", at("schedule.suspend"), schedule={"suspend": "no"}),
    config_row("schedule-successful-history", at("schedule.successful_jobs_history_limit"),
               schedule={"successful_jobs_history_limit": 2**40}),
    config_row("schedule-failed-history", at("schedule.failed_jobs_history_limit"),
               schedule={"failed_jobs_history_limit": -3}),
    config_row("grouping", at("grouping"), grouping="pods"),
    config_row("sweeps", at("sweeps"), sweeps=["alpha"]),
    config_row("sweeps-parameters", at("sweeps.parameters"), sweeps={"parameters": {"a": []}}),
    config_row("sweeps-parameters-key", at("sweeps.parameters"),
               sweeps={"parameters": {"params:a": [1]}}),
    config_row("sweeps-max-parallel", at("sweeps.max_parallel"), sweeps={"max_parallel": 0}),
    config_row("ui", at("ui"), ui=["metrics"]),
    config_row("ui-parameters-twice", at("ui.parameters"),
               ui={"parameters": ["active_modelling_pipeline_metrics"] * 2}),
    config_row("ui-artifacts-empty-name", at("ui.artifacts"), ui={"artifacts": [""]}),
    config_row("ui-artifact-repository", at("ui.artifact_repository"),
               ui={"artifact_repository": "s3"}),
    config_row("ui-artifact-in-memory", "ui.artifacts: preprocessed_companies stay(s) in memory",
               ui={"artifacts": ["preprocessed_companies"], "artifact_repository": "default"}),
    config_row("memoize", at("memoize"), memoize=True),
    config_row("memoize-enabled", at("memoize.enabled"), memoize={"enabled": "yes"}),
    config_row("memoize-max-age", at("memoize.max_age"), memoize={"max_age": "a week"}),
    config_row("unknown-section", "conf/base/argo.yml: imagee: unknown key", imagee="x"),
]
# fmt: on

# Options with no value of their own to get wrong (flags), or hidden test knobs.
NO_BAD_VALUE = {"--help", "--poll-interval", "--progress", "--no-progress"}


# --------------------------------------------------------------------------- running a case


def _tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    set_compile_env(monkeypatch)
    for name in ("ARGO_SERVER", "ARGO_TOKEN", "ARGO_NAMESPACE", "KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)
    # Connection retries back off for seconds: keep the retries, skip the waiting.
    monkeypatch.setattr("kedro_argo.server.transport.RetryTransport._pause", lambda *a: 0.0)
    project = copy_project(tmp_path / "spaceflights")
    monkeypatch.chdir(project)
    return project


def _run(
    case: Case, project: Path, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> tuple[int, str, str]:
    if case.expect == POD:
        from kedro_argo.runtime.entrypoint import main

        for name in list(os.environ):
            if name.startswith("KEDRO_ARGO_"):
                monkeypatch.delenv(name)
        capfd.readouterr()
        code = main(list(case.command))
        out, err = capfd.readouterr()
        return code, out, err
    from kedro.framework.startup import bootstrap_project

    from kedro_argo.cli import commands

    result = cli_runner().invoke(commands, ["argo", *case.command], obj=bootstrap_project(project))
    if not isinstance(result.exception, SystemExit) and result.exception is not None:
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("case", COMMAND_LINE + CONFIGURATION)
def test_bad_input_is_one_clear_line_and_writes_nothing(
    case: Case, project: Path, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    if case.config:
        update_config(project, **case.config)
    for name, text in case.files.items():
        (project / name).write_text(text)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    before = _tree(project)

    code, out, err = _run(case, project, monkeypatch, capfd)

    assert code == case.exit_code, f"exit {code}, expected {case.exit_code}:\n{out}\n{err}"
    if case.expect == ERROR:
        message = assert_clean_error(code, out, err, case.fragment)
        assert "\n" not in message.strip()
    elif case.expect == POD:
        lines = [line for line in err.splitlines() if line.startswith("kedro-argo: ")]
        assert len(lines) == 1 and case.fragment in lines[0], err
        assert "Traceback" not in err, err
    else:
        assert case.fragment in out, out
        assert "Traceback" not in out + err, out + err
    assert _tree(project) == before, "a failed command must not write or change any file"


# --------------------------------------------------------------------------- completeness


def test_every_option_that_takes_a_value_has_a_bad_input_case() -> None:
    covered = {
        (c.name, arg.split("=")[0]) for p in COMMAND_LINE for c in p.values for arg in c.command
    }
    missing = []
    for name, command in sorted(argo.commands.items()):
        if command.hidden:
            continue
        if not any(p.values[0].name == name for p in COMMAND_LINE):
            missing.append(f"kedro argo {name}: no case at all")
        for option in command.params:
            if option.opts[0] in NO_BAD_VALUE or getattr(option, "is_flag", False):
                continue
            if option.param_type_name == "argument":
                continue
            if not any((name, opt) in covered for opt in option.opts):
                missing.append(f"kedro argo {name} {option.opts[0]}")
    assert not missing, "add bad-input cases for:\n" + "\n".join(missing)


def test_every_argo_yml_section_has_a_bad_input_case() -> None:
    written = set()
    for param in CONFIGURATION:
        config = param.values[0].config
        for key, value in config.items():
            written.add(key)
            if isinstance(value, Mapping):
                written.update(f"{key}.{sub}" for sub in value)
                for sub, inner in value.items():
                    if key == "nodes" and sub == "defaults" and isinstance(inner, Mapping):
                        written.update(f"nodes.defaults.{leaf}" for leaf in inner)
    from kedro_argo import config as model

    sections = set(ArgoConfig.model_fields)
    for name, section in (
        ("server", model.ServerConfig),
        ("data", model.DataConfig),
        ("workflow", model.WorkflowConfig),
        ("schedule", model.ScheduleConfig),
        ("nodes", model.NodesConfig),
        ("sweeps", model.SweepsConfig),
        ("ui", model.UiConfig),
        ("memoize", model.MemoizeConfig),
    ):
        sections.update(f"{name}.{key}" for key in section.model_fields)
    sections.update(f"nodes.defaults.{key}" for key in model.NodeSettings.model_fields)
    missing = sorted(sections - written)
    assert not missing, "add bad-input cases for argo.yml keys:\n" + "\n".join(missing)
