"""Validating every manifest the tests produce, twice and independently:

1. kedro-argo's own offline validation (``kedro_argo.validation``): Argo v4.1.2's strict CRD
   schemas and their CEL rules, and Argo's own ``validate.go`` rules;
2. Hera's generated models of Argo's API (``hera.workflows.models``, a separate project's
   reading of Argo's OpenAPI spec) parse the manifest.

Neither needs anything beside this repository. Where the team's outside validator
(``../shared/argo/validate.py``) is checked out beside it, :func:`outside_problems` also runs
it; tests that use it skip when it is absent.
"""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kedro_argo.validation import validate_documents

OUTSIDE_VALIDATOR = Path(__file__).resolve().parents[1].parent / "shared/argo/validate.py"
ALL_LAYERS = frozenset({"schema", "lint", "hera"})
KEDRO = str(Path(sys.executable).with_name("kedro"))


@functools.cache
def _hera_models() -> dict[str, Any]:
    from hera.workflows import models

    return {
        "Workflow": models.Workflow,
        "WorkflowTemplate": models.WorkflowTemplate,
        "ClusterWorkflowTemplate": models.ClusterWorkflowTemplate,
        "CronWorkflow": models.CronWorkflow,
    }


def hera_problems(manifest: Mapping[str, Any]) -> list[str]:
    """Hera's parse of the manifest (its models ignore unknown fields: the schema catches
    those; it checks types and required fields its own way)."""
    from pydantic import ValidationError

    model = _hera_models().get(str(manifest.get("kind")))
    if model is None:
        return [f"hera: unknown kind {manifest.get('kind')!r}"]
    try:
        model.model_validate(dict(manifest))
    except ValidationError as exc:
        return [f"hera: {error['loc']}: {error['msg']}" for error in exc.errors()]
    return []


def problems(
    *manifests: Mapping[str, Any],
    submit: bool = False,
    strict_refs: bool = False,
    layers: Iterable[str] = ALL_LAYERS,
) -> list[str]:
    """Errors (warnings ignored) for manifests validated together, as text lines; manifests
    given together resolve each other's ``workflowTemplateRef`` / ``templateRef``."""
    layers = set(layers)
    docs = [("", i, dict(m)) for i, m in enumerate(manifests)]
    out = []
    if layers & {"schema", "lint"}:
        out += [
            str(p)
            for p in validate_documents(docs, submit=submit, strict_refs=strict_refs)
            if p.problem.level == "error"
        ]
    if "hera" in layers:
        out += [line for m in manifests for line in hera_problems(m)]
    return out


def assert_valid(
    *manifests: Mapping[str, Any],
    submit: bool = False,
    strict_refs: bool = False,
    layers: Iterable[str] = ALL_LAYERS,
) -> None:
    found = problems(*manifests, submit=submit, strict_refs=strict_refs, layers=layers)
    assert not found, "The manifest is not valid for Argo:\n" + "\n".join(found)


def run_cli(paths: Iterable[str | Path], *flags: str) -> subprocess.CompletedProcess[str]:
    """``kedro argo validate`` on files, as a user runs it."""
    return subprocess.run(
        [KEDRO, "argo", "validate", *flags, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
    )


# --------------------------------------------------------------------------- outside check


@functools.cache
def _outside() -> ModuleType | None:
    if not OUTSIDE_VALIDATOR.is_file():
        return None
    name = "_kedro_argo_tests_outside_validator"
    spec = importlib.util.spec_from_file_location(name, OUTSIDE_VALIDATOR)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        sys.modules.pop(name, None)
        return None
    return module


def outside_problems(*manifests: Mapping[str, Any], submit: bool = False) -> list[str]:
    """Errors the team's outside validator finds (skips the test when it is not beside the
    repository: the project never needs it)."""
    module = _outside()
    if module is None:
        pytest.skip(f"the outside validator is not checked out at {OUTSIDE_VALIDATOR}")
    docs = [dict(m) for m in manifests]
    registry = {(d.get("kind"), (d.get("metadata") or {}).get("name")): d for d in docs}
    layers = {"schema", "cel", "meta", "lint", "size"}
    out: list[str] = []
    for doc in docs:
        findings = module.validate_document(doc, registry, layers, submit, False)
        out += [str(f) for f in findings if f.level == "error"]
    return out


def warm_up() -> None:
    """Load Hera's models and the schemas once, before a property test starts timing."""
    _hera_models()
    problems({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {}})
