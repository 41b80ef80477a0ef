"""Offline validation of Argo v4 manifests: what the API server (strict CRD schemas and their
CEL rules) and Argo's ``validate.go`` (references, names, DAGs, variables, cron, size) would
refuse, found without a cluster, one line per problem.

- :mod:`.schema`: the strict JSON schemas of Argo's CRDs (``schemas/``, Argo v4.1.2,
  Apache-2.0) and their CEL rules;
- :mod:`.lint`: Argo's own rules; ``compile`` runs these on everything it writes.

``kedro argo validate FILE…`` runs both on any manifest, ours or hand-edited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro_argo.validation.lint import Problem, check_manifest, lint, manifest_size

__all__ = [
    "DocumentProblem",
    "Problem",
    "check_manifest",
    "lint",
    "load_documents",
    "manifest_size",
    "validate_documents",
    "yaml_problem",
]

ARGO_VERSION = "v4.1.2"  # of the schemas in schemas/


@dataclass(frozen=True)
class DocumentProblem:
    """A problem of one document of one file (``document`` counts from 0)."""

    source: str
    document: int
    label: str  # Kind/name
    problem: Problem

    def __str__(self) -> str:
        where = f"{self.source}#{self.document}" if self.source else f"#{self.document}"
        level = "" if self.problem.level == "error" else "warning: "
        return f"{where} {self.label}: {level}{self.problem}"


def validate_documents(
    documents: Sequence[tuple[str, int, Mapping[str, Any]]],
    *,
    submit: bool = False,
    strict_refs: bool = False,
) -> list[DocumentProblem]:
    """Validate ``(source, index, document)`` triples together: WorkflowTemplates among them
    resolve the others' ``workflowTemplateRef`` / ``templateRef`` (as ``argo lint --offline``
    does with the files it is given)."""
    from kedro_argo.validation.schema import schema_problems

    registry = {
        (str(doc.get("kind")), str((doc.get("metadata") or {}).get("name"))): doc
        for _, _, doc in documents
        if isinstance(doc, Mapping)
    }
    found: list[DocumentProblem] = []
    for source, index, doc in documents:
        if not isinstance(doc, Mapping):
            found.append(
                DocumentProblem(source, index, "?", Problem("", "a manifest must be a mapping"))
            )
            continue
        meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
        label = f"{doc.get('kind')}/{meta.get('name') or meta.get('generateName') or '?'}"
        problems = schema_problems(doc)
        if not any(p.path == "kind" for p in problems):
            problems += lint(doc, registry=registry, submit=submit, strict_refs=strict_refs)
        found += [DocumentProblem(source, index, label, p) for p in _unique(problems)]
    return found


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    """The schema, the CEL rules and the linter may say the same thing once each."""
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        key = (p.path, p.message.rstrip(".").lower())
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def load_documents(paths: Iterable[str | Path]) -> list[tuple[str, int, Any]]:
    """Every YAML/JSON document of every file (``-`` is stdin). ``ValueError`` naming the file
    for one that cannot be read or parsed."""
    import sys

    import yaml

    out: list[tuple[str, int, Any]] = []
    for path in paths:
        name = str(path)
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"{name}: cannot be read: {exc.strerror or exc}") from None
        try:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as exc:
            raise ValueError(f"{name}: not valid YAML: {yaml_problem(exc)}") from None
        out += [(name, i, d) for i, d in enumerate(docs)]
    return out


def yaml_problem(exc: Exception) -> str:
    """PyYAML's multi-line error as one line: what is wrong and where (1-based line, column)."""
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if not problem:
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    return f"{problem}{where}"
