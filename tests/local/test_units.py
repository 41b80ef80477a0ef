"""Pure pieces of local mode: durations, depends, merges, expansions, the allow-list doc."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kedro_argo.durations import format_seconds, parse_argo_duration, parse_go_duration
from kedro_argo.errors import LocalRunError
from kedro_argo.local import plan_workflow
from kedro_argo.local import support as manifest_module
from kedro_argo.local.resolve import RetryPolicy, parse_depends
from kedro_argo.local.support import Honoured, Ignored, merge_template_defaults, strategic_merge
from kedro_argo.local.variables import Scope, expand_k8s, find_tags, substitute

from .helpers import py, workflow


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("1h30m", 5400),
        ("500ms", 0.5),
        ("1.5h", 5400),
        (".5s", 0.5),
        ("2m3.5s", 123.5),
        ("100us", 1e-4),
        ("0", 0),
        ("-1s", -1),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "90", "1d", "s", "1h 30m", "abc", "1.5"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_go_duration(text)


def test_argo_durations_default_to_seconds() -> None:
    assert parse_argo_duration("30") == 30
    assert parse_argo_duration(5) == 5
    assert parse_argo_duration("2m") == 120
    with pytest.raises(ValueError):
        parse_argo_duration("2 minutes")


def test_format_seconds() -> None:
    assert [format_seconds(x) for x in (None, 0.312, 12.44, 185, 3725)] == [
        "-",
        "0.31s",
        "12.4s",
        "3m05s",
        "1h02m",
    ]


def test_backoff_formula_follows_argo() -> None:
    policy = RetryPolicy(limit=5, backoff_duration=1.0, backoff_factor=2, backoff_cap=5.0)
    assert [policy.backoff_before(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]
    assert RetryPolicy(limit=1, backoff_duration=3.0).backoff_before(4) == 3  # no factor
    assert RetryPolicy(limit=1).backoff_before(1) == 0
    assert RetryPolicy(limit=1, policy="OnError").retries_errors()
    assert not RetryPolicy(limit=1, policy="OnFailure").retries_errors()


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("a", ["a"]),
        ("a && b-2", ["a", "b-2"]),
        ("(a && b) && (c)", ["a", "b", "c"]),
        ("a&&a", ["a"]),
    ],
)
def test_depends_with_names_and_and(expr: str, names: list[str]) -> None:
    assert parse_depends(expr, "here") == names


@pytest.mark.parametrize("expr", ["a || b", "!a", "a.Succeeded", "a &&", "(a", "a)", "a b", "&a"])
def test_depends_refusals(expr: str) -> None:
    with pytest.raises(LocalRunError, match="here"):
        parse_depends(expr, "here")


@pytest.mark.parametrize("expr", ["a &&", "(a", "("])
def test_incomplete_depends_says_what_is_missing(expr: str) -> None:
    with pytest.raises(LocalRunError, match=r"^here: the expression .* is incomplete \(a task"):
        parse_depends(expr, "here")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"timeout": "5x"}, r"'spec.templates\[1\].timeout' \(template 'work'\): bad timeout: "),
        ({"timeout": "-5s"}, r"\(template 'work'\): the timeout must not be negative, got '-5s'"),
        (
            {"retryStrategy": {"limit": "1", "backoff": {"duration": "soon"}}},
            r"retryStrategy.backoff.duration' \(template 'work'\): bad backoff duration: ",
        ),
    ],
)
def test_malformed_durations_name_the_field_and_the_problem(
    tmp_path: Path, fields: dict[str, Any], message: str
) -> None:
    manifest = workflow(
        [{"name": "a", "template": "work"}], [{"name": "work", "container": py("")}]
    )
    manifest["spec"]["templates"][1].update(fields)
    with pytest.raises(LocalRunError, match=message):
        plan_workflow(manifest, project_path=tmp_path)


def test_substitution_is_single_pass_and_strips_tags() -> None:
    scope = Scope({"workflow.name": "{{workflow.uid}}", "workflow.uid": "u"}, {"x": "1"})
    assert substitute("{{ workflow.name }}/{{inputs.parameters.x}}", scope, "w") == (
        "{{workflow.uid}}/1"
    )
    assert find_tags("a {{ b }} {{c}}") == ["b", "c"]
    with pytest.raises(LocalRunError, match="unterminated"):
        substitute("{{oops", scope, "w")
    with pytest.raises(LocalRunError, match="declares no input parameter 'y'"):
        substitute("{{inputs.parameters.y}}", scope, "w")
    exit_scope = Scope({"workflow.status": "Failed"}, exit_handler=True)
    assert substitute("{{workflow.status}}", exit_scope, "w") == "Failed"


def test_kubernetes_expansion() -> None:
    env = {"A": "1", "B": "x$(A)"}
    assert expand_k8s("$(A)-$(B)-$$(A)-$(C)-$-$x-$(", env) == "1-x$(A)-$(A)-$(C)-$-$x-$("


def test_strategic_merge_of_template_defaults() -> None:
    defaults = {
        "retryStrategy": {"limit": "2", "backoff": {"duration": "1s"}},
        "container": {
            "image": "img",
            "args": ["--default"],
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "resources": {"requests": {"cpu": "1"}},
        },
    }
    template = {
        "name": "t",
        "retryStrategy": {"backoff": {"factor": "2"}},
        "container": {
            "command": ["python"],
            "args": ["own"],
            "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
            "resources": {"requests": {"memory": "1Gi"}},
        },
    }
    merged = merge_template_defaults(template, defaults)
    assert merged["retryStrategy"] == {
        "limit": "2",
        "backoff": {"duration": "1s", "factor": "2"},
    }
    assert merged["container"]["args"] == ["own"]
    assert merged["container"]["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "3"},
        {"name": "C", "value": "4"},
    ]
    assert merged["container"]["resources"] == {"requests": {"cpu": "1", "memory": "1Gi"}}
    dag = merge_template_defaults({"name": "d", "dag": {"tasks": []}}, defaults)
    assert "container" not in dag and dag["retryStrategy"]["limit"] == "2"
    assert strategic_merge({"a": [1, 2]}, {"a": []}) == {"a": [1, 2]}  # omitempty


def _fields(rule: object, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(rule, Honoured):
        for name, sub in (rule.fields or {}).items():
            out.add(name)
            out |= _fields(sub)
        if rule.item is not None:
            out |= _fields(rule.item)
    return out


def test_module_docstring_documents_every_allowed_field() -> None:
    doc = manifest_module.__doc__ or ""
    documented = set(re.findall(r"``([A-Za-z.|]+)``", doc))
    words = {part for d in documented for part in re.split(r"[.|]", d)}
    rules = [
        manifest_module.WORKFLOW_SPEC,
        manifest_module.CRON_SPEC,
        manifest_module.METADATA,
    ]
    allowed = set().union(*(_fields(r) for r in rules))
    allowed -= {"apiVersion", "kind", "spec", "parameters", "tasks", "templates"}
    missing = sorted(name for name in allowed if name not in words)
    assert not missing, f"fields honoured or ignored but not in the module docstring: {missing}"
    ignored = {
        name for r in rules for name, sub in (r.fields or {}).items() if isinstance(sub, Ignored)
    }
    assert "podSpecPatch" in ignored and "templates" not in ignored
