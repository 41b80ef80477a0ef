"""kedro-argo's own offline validation (``kedro_argo.validation``, ``kedro argo validate``):
each rule on a hand-made manifest broken one way, valid baselines, the command line, the
shipped schemas and their refresh script; and, where the team's outside validator is checked
out beside the repository, agreement with it."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kedro_argo.validation import ARGO_VERSION, load_documents, validate_documents
from kedro_argo.validation.schema import CEL_RULES, _cel

from .validator import KEDRO, hera_problems, outside_problems

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "kedro_argo" / "validation" / "schemas"
GOLDEN = REPO / "tests" / "compile" / "golden"


def workflow() -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "demo-", "labels": {"team": "ml"}},
        "spec": {
            "entrypoint": "main",
            "arguments": {"parameters": [{"name": "lr", "value": "0.1"}]},
            "onExit": "bye",
            "templates": [
                {
                    "name": "main",
                    "dag": {
                        "tasks": [
                            {
                                "name": "a",
                                "template": "step",
                                "arguments": {"parameters": [{"name": "x", "value": "1"}]},
                            },
                            {
                                "name": "b",
                                "template": "step",
                                "depends": "a",
                                "arguments": {
                                    "parameters": [
                                        {"name": "x", "value": "{{tasks.a.outputs.result}}"}
                                    ]
                                },
                            },
                        ]
                    },
                },
                {
                    "name": "step",
                    "inputs": {"parameters": [{"name": "x"}]},
                    "container": {
                        "image": "alpine:3",
                        "command": ["echo"],
                        "args": ["{{inputs.parameters.x}}", "{{workflow.parameters.lr}}"],
                    },
                },
                {
                    "name": "bye",
                    "container": {"image": "alpine:3", "args": ["{{workflow.status}}"]},
                },
            ],
        },
    }


def errors(*docs: dict[str, Any], **options: Any) -> list[str]:
    found = validate_documents([("", i, d) for i, d in enumerate(docs)], **options)
    return [str(p) for p in found if p.problem.level == "error"]


def tasks(m: dict[str, Any]) -> list[dict[str, Any]]:
    return m["spec"]["templates"][0]["dag"]["tasks"]


def template(m: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in m["spec"]["templates"] if t["name"] == name)


def cron(m: dict[str, Any]) -> dict[str, Any]:
    spec = m.pop("spec")
    m["kind"] = "CronWorkflow"
    m["metadata"] = {"name": "nightly"}
    m["spec"] = {"schedules": ["0 6 * * *"], "workflowSpec": spec}
    return m


def set_(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(m: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = m
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    apply.__name__ = f"set {path}"
    return apply


BROKEN: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    # schema
    ("typo", set_("spec.paralelism", 2), "unknown field(s): 'paralelism'"),
    ("type", set_("spec.parallelism", "two"), "'two' is not of type 'integer'"),
    ("minimum", set_("spec.parallelism", 0), "less than the minimum of 1"),
    ("enum", set_("spec.podGC", {"strategy": "Sometimes"}), "'Sometimes' is not one of"),
    ("pattern", set_("spec.templates.1.name", "my_step"), "does not match"),
    # CEL rules of the CRDs
    (
        "two types",
        lambda m: template(m, "step").update(script={"image": "a", "source": "x"}),
        "at most one template type",
    ),
    (
        "timeout on a dag",
        lambda m: template(m, "main").update(timeout="1h"),
        "timeout cannot be applied to steps or dag templates",
    ),
    (
        "deadline on a dag",
        lambda m: template(m, "main").update(activeDeadlineSeconds=5),
        "activeDeadlineSeconds is only valid for leaf templates",
    ),
    (
        "depends and dependencies",
        lambda m: tasks(m)[1].update(dependencies=["a"]),
        "cannot use both 'depends' and 'dependencies'",
    ),
    (
        "continueOn with depends",
        lambda m: tasks(m)[1].update(continueOn={"failed": True}),
        "cannot use 'continueOn' when using 'depends'",
    ),
    (
        "digit task with depends",
        lambda m: (tasks(m)[0].update(name="1a"), tasks(m)[1].update(depends="1a")),
        "must not start with a digit",
    ),
    (
        "two artifact locations",
        lambda m: template(m, "step").update(
            outputs={
                "artifacts": [{"name": "o", "path": "/o", "s3": {"key": "k"}, "gcs": {"key": "k"}}]
            }
        ),
        "at most one artifact location can be specified",
    ),
    (
        "count and end",
        lambda m: tasks(m)[0].update(withSequence={"count": "2", "end": "3"}),
        "only one of count or end can be defined",
    ),
    # metadata
    ("no name", lambda m: m["metadata"].pop("generateName"), "needs a name or a generateName"),
    ("bad name", set_("metadata.name", "Demo_1"), "'Demo_1' is not a valid Workflow name"),
    ("bad label", set_("metadata.labels.team", "machine learning"), "Label 'team' has value"),
    ("bad label key", set_("metadata.labels", {"-x": "y"}), "is not a valid Kubernetes label"),
    # references
    ("unknown entrypoint", set_("spec.entrypoint", "nope"), "'nope' names no template"),
    ("unknown onExit", set_("spec.onExit", "cleanup"), "'cleanup' names no template"),
    ("no entrypoint", lambda m: m["spec"].pop("entrypoint"), "spec.entrypoint: is required"),
    (
        "unknown template",
        lambda m: tasks(m)[0].update(template="nope"),
        "uses unknown template 'nope'",
    ),
    (
        "duplicate template",
        lambda m: m["spec"]["templates"].append(copy.deepcopy(template(m, "bye"))),
        "Two templates are named 'bye'",
    ),
    # arguments and inputs
    (
        "parameter without value",
        lambda m: m["spec"]["arguments"]["parameters"][0].pop("value"),
        "workflow parameter 'lr' needs a value",
    ),
    (
        "input not passed",
        lambda m: tasks(m)[0].pop("arguments"),
        "does not pass input parameter 'x' of template 'step'",
    ),
    # templates
    (
        "no image",
        lambda m: template(m, "bye")["container"].pop("image"),
        "image: is required",
    ),
    (
        "parallelism on a container",
        lambda m: template(m, "step").update(parallelism=2),
        "parallelism applies to dag and steps templates only",
    ),
    ("no type", lambda m: template(m, "bye").pop("container"), "has no type"),
    # DAGs
    ("no tasks", set_("spec.templates.0.dag.tasks", []), "has no tasks"),
    (
        "201 tasks",
        set_(
            "spec.templates.0.dag.tasks",
            [{"name": f"t{i}", "template": "bye"} for i in range(201)],
        ),
        "201 tasks but Argo v4 accepts at most 200",
    ),
    (
        "duplicate task",
        lambda m: tasks(m)[1].update(name="a", depends=None) or tasks(m)[1].pop("depends"),
        "Two DAG tasks are named 'a'",
    ),
    (
        "unknown dependency",
        lambda m: tasks(m)[1].update(depends="a && ghost"),
        "depends on unknown task 'ghost'",
    ),
    ("cycle", lambda m: tasks(m)[0].update(depends="b"), "dependency cycle: a -> b -> a"),
    ("depends syntax", lambda m: tasks(m)[1].update(depends="a &&"), "is incomplete"),
    ("depends result", lambda m: tasks(m)[1].update(depends="a.Finished"), "unknown result"),
    # variables
    (
        "unknown input",
        set_("spec.templates.1.container.args.0", "{{inputs.parameters.y}}"),
        "declares no input parameter 'y'",
    ),
    (
        "unknown workflow parameter",
        set_("spec.templates.1.container.args.1", "{{workflow.parameters.batch}}"),
        "declares no parameter 'batch'",
    ),
    (
        "failures without an exit handler",
        lambda m: (
            m["spec"].pop("onExit"),
            template(m, "step")["container"]["args"].append("{{workflow.failures}}"),
        ),
        "only set for a workflow with an exit handler",
    ),
    (
        "unknown task output",
        set_("spec.templates.0.dag.tasks.1.arguments.parameters.0.value", "{{tasks.z.id}}"),
        "no task 'z' in this template",
    ),
    # size
    (
        "over 1 MiB",
        set_("spec.templates.1.container.env", [{"name": "BLOB", "value": "x" * 1_100_000}]),
        "Argo refuses workflows over 1024 KiB",
    ),
]

CRON_BROKEN: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("no schedule", set_("spec.schedules", []), "needs at least one schedule"),
    ("bad schedule", set_("spec.schedules", ["61 * * * *"]), "spec.schedules[0]"),
    ("bad timezone", set_("spec.timezone", "Mars/Olympus"), "spec.timezone"),
    ("long name", set_("metadata.name", "c" * 53), "at most 52 characters"),
]


def test_the_valid_baselines_pass() -> None:
    assert errors(workflow()) == []
    assert errors(cron(workflow())) == []
    assert hera_problems(workflow()) == []


@pytest.mark.parametrize(("breakage", "fragment"), [pytest.param(b, f, id=i) for i, b, f in BROKEN])
def test_each_rule_finds_what_it_should(
    breakage: Callable[[dict[str, Any]], Any], fragment: str
) -> None:
    manifest = workflow()
    breakage(manifest)
    found = errors(manifest)
    assert any(fragment in line for line in found), found


@pytest.mark.parametrize(
    ("breakage", "fragment"), [pytest.param(b, f, id=i) for i, b, f in CRON_BROKEN]
)
def test_cron_rules(breakage: Callable[[dict[str, Any]], Any], fragment: str) -> None:
    manifest = cron(workflow())
    breakage(manifest)
    found = errors(manifest)
    assert any(fragment in line for line in found), found


def test_unresolved_references_are_warnings_unless_strict() -> None:
    manifest = workflow()
    tasks(manifest)[0].pop("template")
    tasks(manifest)[0]["templateRef"] = {"name": "library", "template": "step"}
    assert errors(manifest) == []
    assert any(
        "unknown WorkflowTemplate 'library'" in e for e in errors(manifest, strict_refs=True)
    )
    library = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": "library"},
        "spec": {"templates": [copy.deepcopy(template(manifest, "step"))]},
    }
    assert errors(manifest, library, strict_refs=True) == []
    tasks(manifest)[0]["templateRef"]["template"] = "other"
    assert any("has no template 'other'" in e for e in errors(manifest, library))


def test_a_workflow_template_needs_argument_values_only_to_be_submitted() -> None:
    manifest = workflow()
    manifest["kind"] = "WorkflowTemplate"
    manifest["metadata"] = {"name": "demo"}
    manifest["spec"]["arguments"]["parameters"][0].pop("value")
    assert errors(manifest) == []
    assert any("needs a value" in e for e in errors(manifest, submit=True))


def test_every_cel_rule_of_the_shipped_schemas_is_implemented() -> None:
    for kind in ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow"):
        schema = json.loads((SCHEMAS / f"{kind}.strict.json").read_text())
        rules = cel_rules(schema)
        assert rules and rules <= set(CEL_RULES), sorted(rules - set(CEL_RULES))


def cel_rules(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {r["rule"] for r in node.get("x-kubernetes-validations", [])}
        return found.union(*(cel_rules(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(cel_rules(v) for v in node))
    return set()


def test_an_unknown_cel_rule_is_reported_not_skipped() -> None:
    schema = {"x-kubernetes-validations": [{"rule": "self.size() < 3", "message": "short"}]}
    (found,) = _cel(schema, [1, 2, 3], "spec")
    assert found.level == "warning" and "does not check: self.size() < 3" in found.message


def test_the_shipped_schemas_say_where_they_come_from() -> None:
    readme = (SCHEMAS / "README.md").read_text()
    assert ARGO_VERSION in readme and "Apache" in readme
    assert "Apache License" in (SCHEMAS / "LICENSE-argo-workflows").read_text()
    for kind in ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow"):
        schema = json.loads((SCHEMAS / f"{kind}.strict.json").read_text())
        assert ARGO_VERSION in schema["$comment"]


# --------------------------------------------------------------------------- refresh script


def refresh_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "refresh_argo_schemas", REPO / "scripts" / "refresh_argo_schemas.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_refresh_script_makes_a_crd_strict(tmp_path: Path) -> None:
    refresh = refresh_module()
    crd = {
        "spec": {
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "dropped",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {
                                        "limit": {"x-kubernetes-int-or-string": True},
                                        "free": {
                                            "type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True,
                                            "properties": {"a": {"type": "string"}},
                                        },
                                        "labels": {
                                            "type": "object",
                                            "additionalProperties": {"type": "string"},
                                        },
                                        "tasks": {
                                            "type": "array",
                                            "maxItems": 200,
                                            "items": {"type": "string", "format": "x"},
                                            "x-kubernetes-validations": [
                                                {"rule": "true", "message": "m"}
                                            ],
                                        },
                                    },
                                }
                            },
                        }
                    },
                }
            ]
        }
    }
    schema = refresh.compile_crd(crd, source="test")
    spec = schema["properties"]["spec"]
    assert schema["additionalProperties"] is False and "description" not in schema
    assert spec["additionalProperties"] is False
    assert spec["properties"]["limit"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert "additionalProperties" not in spec["properties"]["free"]
    assert spec["properties"]["labels"]["additionalProperties"] == {"type": "string"}
    assert spec["properties"]["tasks"] == {
        "type": "array",
        "maxItems": 200,
        "items": {"type": "string"},
        "x-kubernetes-validations": [{"rule": "true", "message": "m"}],
    }
    # the script can rebuild the schemas from a folder of CRD files, offline
    folder = tmp_path / "crds"
    folder.mkdir()
    for plural in refresh.KINDS.values():
        (folder / f"argoproj.io_{plural}.yaml").write_text(yaml.safe_dump(crd))
    refresh.TARGET = tmp_path / "out"
    refresh.TARGET.mkdir()
    assert refresh.main(["v9.9.9", "--from", str(folder)]) == 0
    written = json.loads((refresh.TARGET / "Workflow.strict.json").read_text())
    assert "v9.9.9" in written["$comment"] and written["properties"] == schema["properties"]


def test_the_shipped_schemas_have_the_shape_the_script_writes() -> None:
    schema = json.loads((SCHEMAS / "Workflow.strict.json").read_text())
    kept = {*refresh_module().KEPT, "properties", "additionalProperties", "items", "anyOf"}
    kept |= {"x-kubernetes-validations", "$schema", "$comment"}

    def walk(node: Any, in_properties: bool = False) -> None:
        if isinstance(node, dict):
            if not in_properties:
                assert set(node) <= kept | {"rule", "message"}, set(node) - kept
                if "properties" in node:
                    assert node.get("additionalProperties") is False
            for key, value in node.items():
                walk(value, in_properties=key == "properties" and not in_properties)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)


# --------------------------------------------------------------------------- command line


def run_validate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KEDRO, "argo", "validate", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**__import__("os").environ, "KEDRO_DISABLE_TELEMETRY": "true"},
    )


def test_validate_command_one_line_per_problem(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(workflow()))
    bad_manifest = workflow()
    bad_manifest["spec"]["paralelism"] = 2
    tasks(bad_manifest)[1]["depends"] = "a && ghost"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump_all([workflow(), bad_manifest]))

    result = run_validate(str(good), cwd=tmp_path)  # outside any Kedro project
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(good) not in result.stdout  # (Kedro itself may log to stdout at start-up)
    assert "1 document(s): 0 error(s)" in result.stderr
    result = run_validate("-q", str(good), str(bad), cwd=tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith(str(tmp_path))]
    assert len(lines) == 2, lines
    assert all(line.startswith(f"{bad}#1 Workflow/demo-: ") for line in lines)
    assert any("unknown field(s): 'paralelism'" in line for line in lines)
    assert any("depends on unknown task 'ghost'" in line for line in lines)
    assert "Traceback" not in result.stderr


def test_validate_command_on_a_file_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("a: [")
    for name, fragment in (("missing.yaml", "cannot be read"), ("broken.yaml", "not valid YAML")):
        result = run_validate(str(tmp_path / name), cwd=tmp_path)
        assert result.returncode == 1
        assert f"Error: {tmp_path / name}: {fragment}" in result.stderr
        assert "Traceback" not in result.stderr


def test_load_documents_reads_every_document(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump_all([workflow(), cron(workflow())]))
    assert [(i, d["kind"]) for _, i, d in load_documents([path])] == [
        (0, "Workflow"),
        (1, "CronWorkflow"),
    ]


# --------------------------------------------------------------------------- outside check


@pytest.mark.parametrize(
    ("breakage", "fragment"),
    [
        pytest.param(b, f, id=i)
        for i, b, f in BROKEN
        # ours is stricter on size: Argo's controller refuses a Workflow object over 1 MiB
        # (MAX_WORKFLOW_SIZE); the outside validator errs only past etcd's 1.5 MiB
        if i != "over 1 MiB"
    ],
)
def test_the_outside_validator_agrees_on_each_broken_manifest(
    breakage: Callable[[dict[str, Any]], Any], fragment: str
) -> None:
    manifest = workflow()
    breakage(manifest)
    assert outside_problems(manifest), "the outside validator accepts what ours refuses"


def test_the_outside_validator_agrees_on_the_baselines_and_goldens() -> None:
    assert outside_problems(workflow()) == []
    docs = [yaml.safe_load(p.read_text()) for p in sorted(GOLDEN.glob("*.yaml"))]
    assert outside_problems(*docs) == []
    assert errors(*docs, strict_refs=True) == []


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
