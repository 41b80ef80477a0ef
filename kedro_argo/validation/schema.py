"""The strict JSON schemas of Argo v4's CRDs, and the CRDs' CEL rules, checked offline.

The schemas in ``schemas/`` are Argo Workflows' *full* CRDs (``manifests/base/crds/full``)
made strict: every object with properties rejects unknown ones (the API server would drop them
silently, hiding typos), int-or-string fields accept both. ``scripts/refresh_argo_schemas.py``
rebuilds them for another Argo version. The CRDs also carry ``x-kubernetes-validations`` (CEL)
rules, which the API server enforces; they are few and simple, so each is implemented here
(:data:`CEL_RULES`, keyed by the rule's text) rather than pulling in a CEL interpreter. A rule
a refreshed schema brings that is not implemented is reported, never silently skipped.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from importlib.resources import files
from typing import Any

from kedro_argo import argo
from kedro_argo.validation.lint import Problem

__all__ = ["CEL_RULES", "KINDS_WITH_SCHEMA", "schema_problems"]

KINDS_WITH_SCHEMA = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")


@functools.cache
def _schema(kind: str) -> dict[str, Any]:
    text = files("kedro_argo.validation").joinpath(f"schemas/{kind}.strict.json").read_text()
    return json.loads(text)


@functools.cache
def _validator(kind: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_schema(kind))


def schema_problems(document: Mapping[str, Any]) -> list[Problem]:
    """Schema violations and CEL rule violations of one document of a known kind."""
    kind = document.get("kind")
    if kind not in KINDS_WITH_SCHEMA:
        return [Problem("kind", f"{kind!r} is not one of {', '.join(KINDS_WITH_SCHEMA)}")]
    found = []
    for error in sorted(
        _validator(kind).iter_errors(document), key=lambda e: list(map(str, e.absolute_path))
    ):
        found.append(Problem(_path(error.absolute_path), _message(error)))
    found += list(_cel(_schema(kind), document, ""))
    return found


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error: Any) -> str:
    if error.validator == "additionalProperties" and "(" in error.message:
        return "unknown field(s): " + error.message.rsplit("(", 1)[-1].rstrip(")")
    text = error.message
    return text if len(text) <= 300 else text[:297] + "..."


# --------------------------------------------------------------------------- CEL rules


def _has(value: Any, key: str) -> bool:
    return isinstance(value, Mapping) and key in value


def _count(value: Any, keys: tuple[str, ...]) -> int:
    return sum(_has(value, k) for k in keys)


def _templates(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


CEL_RULES: Mapping[str, Callable[[Any], bool]] = {
    "(has(self.s3) ? 1 : 0) + (has(self.git) ? 1 : 0) + (has(self.http) ? 1 : 0) + "
    "(has(self.artifactory) ? 1 : 0) + (has(self.hdfs) ? 1 : 0) + (has(self.raw) ? 1 : 0) + "
    "(has(self.oss) ? 1 : 0) + (has(self.gcs) ? 1 : 0) + (has(self.azure) ? 1 : 0) + "
    "(has(self.plugin) ? 1 : 0) <= 1": lambda v: _count(v, argo.ARTIFACT_LOCATIONS) <= 1,
    "!has(self.realtime) || !self.realtime || !self.value.contains('resourcesDuration.')": (
        lambda v: (
            not (_has(v, "realtime") and v["realtime"])
            or "resourcesDuration." not in str(v.get("value", ""))
        )
    ),
    "!has(self.depends) || !has(self.dependencies)": (
        lambda v: not (_has(v, "depends") and _has(v, "dependencies"))
    ),
    "!has(self.depends) || !has(self.continueOn)": (
        lambda v: not (_has(v, "depends") and _has(v, "continueOn"))
    ),
    "!(has(self.depends) || has(self.dependencies)) || !self.name.matches('^[0-9]')": (
        lambda v: (
            not (_has(v, "depends") or _has(v, "dependencies"))
            or not str(v.get("name", ""))[:1].isdigit()
        )
    ),
    "!(has(self.count) && has(self.end))": lambda v: not (_has(v, "count") and _has(v, "end")),
    "(has(self.manifest) && !has(self.manifestFrom)) || (!has(self.manifest) && "
    "has(self.manifestFrom)) || (!has(self.manifest) && !has(self.manifestFrom))": (
        lambda v: not (_has(v, "manifest") and _has(v, "manifestFrom"))
    ),
    "self.all(t, (has(t.container) ? 1 : 0) + (has(t.script) ? 1 : 0) + (has(t.dag) ? 1 : 0) + "
    "(has(t.steps) ? 1 : 0) + (has(t.resource) ? 1 : 0) + (has(t.suspend) ? 1 : 0) + "
    "(has(t.containerSet) ? 1 : 0) + (has(t.data) ? 1 : 0) + (has(t.http) ? 1 : 0) + "
    "(has(t.plugin) ? 1 : 0) <= 1)": lambda v: all(
        _count(t, argo.TEMPLATE_TYPES) <= 1 for t in _templates(v)
    ),
    'self.all(t, !(has(t.timeout) && t.timeout != "" && (has(t.steps) || has(t.dag))))': (
        lambda v: all(
            not (_has(t, "timeout") and t["timeout"] != "" and (_has(t, "steps") or _has(t, "dag")))
            for t in _templates(v)
        )
    ),
    "self.all(t, !(has(t.activeDeadlineSeconds) && (has(t.steps) || has(t.dag))))": (
        lambda v: all(
            not (_has(t, "activeDeadlineSeconds") and (_has(t, "steps") or _has(t, "dag")))
            for t in _templates(v)
        )
    ),
}


def _cel(schema: Mapping[str, Any], value: Any, path: str) -> Iterator[Problem]:
    """Walk the value along its schema; evaluate the rules where the schema carries them."""
    for rule in schema.get("x-kubernetes-validations") or []:
        check = CEL_RULES.get(rule.get("rule", ""))
        if check is None:
            yield Problem(
                path,
                f"the schema has a CEL rule kedro-argo does not check: {rule.get('rule')}",
                "warning",
            )
        elif not check(value):
            yield Problem(path, str(rule.get("message") or rule.get("rule")))
    if isinstance(value, Mapping):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key, extra if isinstance(extra, Mapping) else None)
            if isinstance(sub, Mapping):
                yield from _cel(sub, item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            yield from _cel(schema["items"], item, f"{path}[{i}]")
    for branch in schema.get("allOf") or []:
        yield from _cel(branch, value, path)
