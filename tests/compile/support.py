"""Helpers for the compile tests: project copies, argo.yml edits, hand-made facts, CLI calls."""

from __future__ import annotations

import copy
import subprocess
import sys
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from pydantic import BaseModel

from kedro_argo.compiler.build import BuildRequest, Built, build_from_facts, build_manifest
from kedro_argo.compiler.facts import NodeSpec, ProjectFacts
from kedro_argo.config import ArgoConfig, parse_config

from ..sample_project import base_env
from ..sample_project import update_config as update_config  # re-exported for the tests

COMMIT = "0123abc"
KEDRO = str(Path(sys.executable).with_name("kedro"))
GOLDEN = Path(__file__).resolve().parent / "golden"
CONFIG = Path("conf/base/argo.yml")
KINDS = ("workflow", "template", "cron")
GOLDEN_CRON = "0 6 * * *"


def set_compile_env(mp: pytest.MonkeyPatch) -> None:
    mp.setenv("KEDRO_ARGO_COMMIT_ID", COMMIT)  # git state of the checkout must not matter
    mp.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    mp.delenv("KEDRO_ENV", raising=False)


# --------------------------------------------------------------------------- argo.yml


def read_config(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / CONFIG).read_text()) or {}


def write_config(project: Path, config: Mapping[str, Any] | str, env: str = "base") -> Path:
    target = project / "conf" / env / "argo.yml"
    target.parent.mkdir(parents=True, exist_ok=True)
    text = config if isinstance(config, str) else yaml.safe_dump(dict(config), sort_keys=False)
    target.write_text(text)
    return target


def deep_update(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def build(project: Path, **request: Any) -> Built:
    return build_manifest(BuildRequest(project_path=project, **request))


# --------------------------------------------------------------------------- hand-made facts


def node(
    name: str, inputs: Sequence[str] = (), outputs: Sequence[str] = (), tags: Sequence[str] = ()
) -> NodeSpec:
    return NodeSpec(name, tuple(inputs), tuple(outputs), frozenset(tags), None)


def chain(count: int, prefix: str = "node") -> tuple[NodeSpec, ...]:
    """``count`` nodes, each loading the previous one's output."""
    return tuple(
        node(f"{prefix}_{i}", [f"ds_{i - 1}"] if i else ["raw"], [f"ds_{i}"]) for i in range(count)
    )


def facts(
    nodes: Sequence[NodeSpec],
    config: Mapping[str, Any] | ArgoConfig | None = None,
    **overrides: Any,
) -> ProjectFacts:
    """Facts of an imaginary project holding ``nodes`` (all in ``__default__``)."""
    if config is None:
        config = {"image": "registry.example.com/demo:1", "data": {"root": "s3://bucket/run"}}
    if not isinstance(config, ArgoConfig):
        config = parse_config(config, source="argo.yml")
    nodes = tuple(nodes)
    fields: dict[str, Any] = {
        "project_path": Path("/nonexistent/demo"),
        "project_name": "demo",
        "package_name": "demo",
        "env": None,
        "pipeline_name": "__default__",
        "nodes": nodes,
        "registered": {"__default__": frozenset(n.name for n in nodes)},
        "all_tags": frozenset(t for n in nodes for t in n.tags),
        "node_tags": {n.name: frozenset(n.tags) for n in nodes},
        "exchanged_datasets": frozenset(ds for n in nodes for ds in n.outputs),
        "versioned_datasets": frozenset(),
        "parameters": {},
        "runtime_params": {},
        "commit_id": COMMIT,
        "config": config,
    }
    fields.update(overrides)
    return ProjectFacts(**fields)


def build_facts(project_facts: ProjectFacts, **request: Any) -> Built:
    return build_from_facts(
        project_facts, BuildRequest(project_path=Path("/nonexistent"), **request)
    )


# --------------------------------------------------------------------------- manifest access


def wf_spec(manifest: Mapping[str, Any]) -> dict[str, Any]:
    spec = manifest["spec"]
    return spec["workflowSpec"] if manifest["kind"] == "CronWorkflow" else spec


def templates(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in wf_spec(manifest)["templates"]}


def all_tasks(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every DAG task of every DAG level."""
    return [
        task for t in wf_spec(manifest)["templates"] if "dag" in t for task in t["dag"]["tasks"]
    ]


def task_nodes(task: Mapping[str, Any]) -> list[str]:
    """The Kedro nodes a DAG task passes its step template (none for a nested DAG)."""
    for parameter in (task.get("arguments") or {}).get("parameters") or []:
        if parameter["name"] == "nodes":
            return parameter["value"].split(",")
    return []


def step_templates(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Kedro node name → the (shared) step template its task uses."""
    by_name = templates(manifest)
    return {
        node: by_name[task["template"]] for task in all_tasks(manifest) for node in task_nodes(task)
    }


def step_tasks(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Kedro node name → the DAG task that runs it."""
    return {node: task for task in all_tasks(manifest) for node in task_nodes(task)}


def default_env(manifest: Mapping[str, Any]) -> dict[str, str]:
    container = wf_spec(manifest)["templateDefaults"]["container"]
    return {e["name"]: e["value"] for e in container["env"]}


def dag_tasks(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    spec = wf_spec(manifest)
    dag = templates(manifest)[spec["entrypoint"]]["dag"]
    return {t["name"]: t for t in dag["tasks"]}


def arg_values(args: Sequence[str], flag: str) -> list[str]:
    """Values of ``--flag=value`` items (the pod contract's form)."""
    prefix = f"{flag}="
    return [a[len(prefix) :] for a in args if a.startswith(prefix)]


# --------------------------------------------------------------------------- the config model


def models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """Every pydantic model inside an annotation (``X | None``, ``dict[str, X]``, ``list[X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from models_in(arg)


def is_plain_nesting(annotation: Any) -> bool:
    """``Model`` or ``Model | None``: the field only groups the sub-model's own keys."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return len(args) == 1 and is_plain_nesting(args[0])
    return False


def model_fields(root: type[BaseModel] = ArgoConfig) -> dict[str, tuple[type[BaseModel], str]]:
    """``"Model.field"`` → (model, field) for every field of every model reachable from root."""
    out: dict[str, tuple[type[BaseModel], str]] = {}
    seen: set[type[BaseModel]] = set()
    todo = [root]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            out[f"{model.__name__}.{name}"] = (model, name)
            todo.extend(models_in(info.annotation))
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- command line


def kedro_env(**extra: str) -> dict[str, str]:
    env = base_env(KEDRO_ARGO_COMMIT_ID=COMMIT)
    env.pop("KEDRO_ENV", None)
    env.update(extra)
    return env


def run_kedro(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real ``kedro`` command line, as a user runs it."""
    return subprocess.run(
        [KEDRO, *args],
        cwd=cwd,
        env=dict(env) if env is not None else kedro_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def invoke(project: Path | None, *args: str) -> Result:
    """``kedro argo <args>`` in-process, with the metadata Kedro would pass (None: no project)."""
    from kedro.framework.startup import bootstrap_project

    from kedro_argo.cli import commands

    metadata = bootstrap_project(project) if project is not None else None
    return cli_runner().invoke(commands, ["argo", *args], obj=metadata)


def assert_clean_error(
    exit_code: int, stdout: str, stderr: str, *fragments: str, error_lines: int = 1
) -> str:
    """A user error: non-zero exit, ``Error: …`` on stderr, no traceback. Returns the message."""
    output = stdout + stderr
    assert exit_code != 0, f"expected a failure, got exit 0:\n{output}"
    assert "Traceback" not in output, output
    lines = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, f"expected one 'Error: ' line on stderr, got:\n{stderr}"
    start = stderr.splitlines().index(lines[0])
    message = "\n".join(stderr.splitlines()[start : start + error_lines])
    tail = [line for line in stderr.splitlines()[start + error_lines :] if line.strip()]
    assert not tail, f"unexpected output after the error:\n{stderr}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def assert_cli_error(result: Result, *fragments: str) -> str:
    """:func:`assert_clean_error` for a CliRunner result (a ClickException, not a crash)."""
    assert isinstance(result.exception, SystemExit), (
        f"crashed with {result.exception!r}:\n{result.output}"
    )
    return assert_clean_error(result.exit_code, result.stdout, result.stderr, *fragments)


def cli_runner() -> CliRunner:
    """stderr kept apart from stdout: the default from click 8.2, opt-in before."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()
