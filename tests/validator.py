"""Run the shared offline Argo v4 validator (``../shared/argo/validate.py``) on manifests.

The validator is an independent oracle: it is not part of kedro-argo, it lives in a checkout
beside the repository (CI checks it out at ``../shared``). It is imported as a module once per
process, so validating a manifest costs milliseconds instead of a Python start-up.
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

VALIDATE_PY = Path(__file__).resolve().parents[1].parent / "shared/argo/validate.py"
ALL_LAYERS = frozenset({"schema", "cel", "meta", "lint", "size"})


def validator_path() -> Path:
    """The validator's path, or a test failure that says how to get it."""
    if not VALIDATE_PY.is_file():
        pytest.fail(
            f"The Argo validator is missing: expected {VALIDATE_PY}. Check out the shared "
            "repository beside this one (../shared, as CI does) to run these tests.",
            pytrace=False,
        )
    return VALIDATE_PY


@functools.lru_cache(maxsize=1)
def _load(path: Path) -> ModuleType:
    name = "_kedro_argo_tests_validate"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    except Exception:
        sys.modules.pop(name, None)
        raise
    return module


def validator_module() -> ModuleType:
    return _load(validator_path())


def problems(
    *manifests: Mapping[str, Any],
    submit: bool = False,
    strict_refs: bool = False,
    layers: Iterable[str] = ALL_LAYERS,
) -> list[str]:
    """Error findings (warnings ignored) for manifests validated together, as text lines.

    Manifests given together resolve each other's ``workflowTemplateRef`` (as the CLI does
    for documents passed in one invocation). ``layers`` may leave out ``cel`` for very large
    manifests: CEL rules are per template and cost ~3 ms each in cel-python.
    """
    module = validator_module()
    docs = [dict(m) for m in manifests]
    registry = {(d.get("kind"), (d.get("metadata") or {}).get("name")): d for d in docs}
    out: list[str] = []
    for doc in docs:
        meta = doc.get("metadata") or {}
        label = f"{doc.get('kind')}/{meta.get('name') or meta.get('generateName')}"
        findings = module.validate_document(doc, registry, set(layers), submit, strict_refs)
        out += [f"{label}: {f}" for f in findings if f.level == "error"]
    return out


def assert_valid(
    *manifests: Mapping[str, Any],
    submit: bool = False,
    strict_refs: bool = False,
    layers: Iterable[str] = ALL_LAYERS,
) -> None:
    found = problems(*manifests, submit=submit, strict_refs=strict_refs, layers=layers)
    assert not found, "The Argo validator rejects the manifest:\n" + "\n".join(found)


def run_cli(paths: Iterable[str | Path], *flags: str) -> subprocess.CompletedProcess[str]:
    """The validator's own command line (``-q`` plus ``flags``) on files."""
    return subprocess.run(
        [sys.executable, str(validator_path()), "-q", *flags, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
