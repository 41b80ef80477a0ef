"""The sample project compiles to exactly the committed manifests, every time, on any path.

Regenerate the golden files after an intended change with
``KEDRO_ARGO_REGEN_GOLDEN=1 python -m pytest tests/compile/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
import yaml

from kedro_argo.compiler.build import Built
from kedro_argo.output import to_yaml

from ..validator import assert_valid, run_cli
from .support import GOLDEN, GOLDEN_CRON, KINDS, build, invoke, kedro_env, run_kedro

REGENERATE = os.environ.get("KEDRO_ARGO_REGEN_GOLDEN") == "1"
EXPECTED_KIND = {"workflow": "Workflow", "template": "WorkflowTemplate", "cron": "CronWorkflow"}


def golden_path(kind: str) -> Path:
    return GOLDEN / f"{kind}.yaml"


def golden_text(kind: str) -> str:
    path = golden_path(kind)
    if not path.is_file():
        pytest.fail(f"{path} is missing: run with KEDRO_ARGO_REGEN_GOLDEN=1 once", pytrace=False)
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", KINDS)
def test_sample_project_matches_golden(kind: str, sample_built: dict[str, Built]) -> None:
    text = to_yaml(sample_built[kind].manifest)
    path = golden_path(kind)
    if REGENERATE:
        if os.environ.get("CI"):
            pytest.fail("KEDRO_ARGO_REGEN_GOLDEN must never be set in CI", pytrace=False)
        path.write_text(text, encoding="utf-8")
        pytest.skip(f"regenerated {path.name}: review the diff before committing")
    expected = golden_text(kind)
    if text != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"golden/{path.name}",
                "compiled",
            )
        )
        pytest.fail(
            f"The compiled {kind} differs from golden/{path.name} (if intended, regenerate "
            f"with KEDRO_ARGO_REGEN_GOLDEN=1):\n{diff}",
            pytrace=False,
        )


@pytest.mark.parametrize("kind", KINDS)
def test_golden_is_a_valid_argo_manifest(kind: str) -> None:
    manifest = yaml.safe_load(golden_text(kind))
    assert manifest["kind"] == EXPECTED_KIND[kind]
    # A WorkflowTemplate must be submittable as is: every parameter has a value.
    assert_valid(manifest, submit=kind == "template")


def test_goldens_pass_the_validator_command_line() -> None:
    paths = [golden_path(kind) for kind in KINDS]
    for path in paths:
        golden_text(path.stem)
    result = run_cli(paths, "--strict-refs")
    assert result.returncode == 0, result.stdout + result.stderr


def test_golden_cron_uses_the_requested_schedule(sample_built: dict[str, Built]) -> None:
    spec = sample_built["cron"].manifest["spec"]
    assert spec["schedules"] == [GOLDEN_CRON]
    assert spec["workflowSpec"] == sample_built["workflow"].manifest["spec"]


def test_compiling_again_gives_identical_yaml(
    sample_project: Path, sample_built: dict[str, Built]
) -> None:
    again = build(sample_project, kind="template")
    assert to_yaml(again.manifest) == to_yaml(sample_built["template"].manifest)


def test_project_location_does_not_matter(project: Path, sample_built: dict[str, Built]) -> None:
    assert to_yaml(build(project).manifest) == to_yaml(sample_built["workflow"].manifest)


def test_cli_in_a_fresh_process_writes_the_same_bytes(project: Path) -> None:
    """A different process (and hash seed) through the real `kedro` command line."""
    out = project / "out" / "wf.yaml"
    result = run_kedro(
        project, "argo", "compile", "-o", str(out), env=kedro_env(PYTHONHASHSEED="4242")
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert out.read_bytes() == golden_text("workflow").encode("utf-8")
    assert "Traceback" not in result.stderr
    assert f"Wrote {out}: Workflow with 12 steps" in result.stderr
    assert list(out.parent.iterdir()) == [out], "no temporary files left behind"


def test_output_dash_writes_only_yaml_to_stdout(project: Path) -> None:
    result = run_kedro(project, "argo", "compile", "-o", "-", "--kind", "template")
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load(result.stdout)  # a single document, nothing else
    assert manifest["kind"] == "WorkflowTemplate"
    assert result.stdout == golden_text("template")
    assert "INFO" in result.stderr, "Kedro's logs go to stderr"
    assert not (project / "argo-workflow-template.yaml").exists()


@pytest.mark.parametrize(
    ("kind", "default"),
    [
        ("workflow", "argo-workflow.yaml"),
        ("template", "argo-workflow-template.yaml"),
        ("cron", "argo-cron-workflow.yaml"),
    ],
)
def test_default_output_file_per_kind(
    kind: str, default: str, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    args = ["--kind", kind] + (["--cron", GOLDEN_CRON] if kind == "cron" else [])
    result = invoke(project, "compile", *args)
    assert result.exit_code == 0, result.output
    assert [p.name for p in cwd.iterdir()] == [default]
    assert (cwd / default).read_text(encoding="utf-8") == golden_text(kind)
    assert result.stdout.count("apiVersion") == 0, "YAML goes to the file only"
