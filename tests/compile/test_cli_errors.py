"""User mistakes on the command line: one `Error: …` line, exit 1, no traceback, no file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from kedro_argo.compiler import build as workflow
from kedro_argo.errors import ConfigError, ManifestError

from ..validator import outside_problems, problems
from .support import (
    CONFIG,
    assert_clean_error,
    assert_cli_error,
    build_facts,
    facts,
    invoke,
    node,
    run_kedro,
    update_config,
)

AVAILABLE = "(available: __default__, data_processing, data_science, notify, reporting)"


def no_change(project: Path) -> None:
    pass


def remove_config(project: Path) -> None:
    (project / CONFIG).unlink()


def unknown_key(project: Path) -> None:
    update_config(project, workflow={"labelz": {"a": "b"}})


def wrong_type(project: Path) -> None:
    update_config(project, workflow={"parallelism": "lots"})


def no_image(project: Path) -> None:
    update_config(project, image=None)


def no_data_root(project: Path) -> None:
    update_config(project, data={"root": None})


def no_schedule(project: Path) -> None:
    update_config(project, schedule={"cron": None})


ERRORS: list[tuple[str, Callable[[Path], None], list[str], list[str]]] = [
    (
        "unknown-pipeline",
        no_change,
        ["--pipeline", "data_sciense"],
        ["Pipeline 'data_sciense' is not registered", AVAILABLE],
    ),
    ("missing-argo-yml", remove_config, [], ["No argo.yml found", "run `kedro argo init`"]),
    (
        "unknown-key",
        unknown_key,
        [],
        [f"{CONFIG}: workflow.labelz: unknown key (allowed: active_deadline_seconds, annotations"],
    ),
    ("wrong-type", wrong_type, [], [f"{CONFIG}: workflow.parallelism: ", "integer"]),
    ("missing-image", no_image, [], ["No image set", "image:"]),
    (
        "missing-data-root",
        no_data_root,
        [],
        ["passes 10 in-memory dataset(s)", "active_modelling_pipeline.X_test, ", "set data.root"],
    ),
    (
        "uppercase-name",
        no_change,
        ["--kind", "template", "--name", "Spaceflights_Nightly"],
        ["'Spaceflights_Nightly' is not a valid WorkflowTemplate name", "at most 63"],
    ),
    (
        "name-too-long",
        no_change,
        ["--name", "x" * 64],
        ["is not a valid Workflow name", "at most 63"],
    ),
    (
        "cron-name-too-long",
        no_change,
        ["--kind", "cron", "--cron", "0 6 * * *", "--name", "c" * 53],
        ["is not a valid CronWorkflow name", "at most 52"],
    ),
    (
        "cron-without-schedule",
        no_schedule,
        ["--kind", "cron"],
        ["A CronWorkflow needs a schedule", "schedule.cron", "--cron"],
    ),
    (
        "unknown-kind",
        no_change,
        ["--kind", "job"],
        ["Invalid value for '--kind'"],
    ),
]


@pytest.mark.parametrize(
    ("setup", "args", "fragments"),
    [pytest.param(s, a, f, id=i) for i, s, a, f in ERRORS],
)
def test_compile_error_is_one_clean_line(
    project: Path, setup: Callable[[Path], None], args: list[str], fragments: list[str]
) -> None:
    setup(project)
    out = project / "out" / "wf.yaml"
    result = invoke(project, "compile", "-o", str(out), *args)
    assert_cli_error(result, *fragments)
    assert not out.parent.exists() or not any(out.parent.iterdir()), "nothing may be written"


def test_outside_a_project_the_error_is_ours(tmp_path: Path) -> None:
    result = invoke(None, "compile", "-o", str(tmp_path / "wf.yaml"))
    assert_cli_error(result, "Not inside a Kedro project", "[tool.kedro]")
    assert not list(tmp_path.iterdir())


def test_pipeline_without_exchanged_data_needs_no_data_root(project: Path) -> None:
    no_data_root(project)
    out = project / "notify.yaml"
    result = invoke(project, "compile", "--pipeline", "notify", "-o", str(out))
    assert result.exit_code == 0, result.output
    manifest = yaml.safe_load(out.read_text())
    env = manifest["spec"]["templateDefaults"]["container"]["env"]
    assert "KEDRO_ARGO_DATA_ROOT" not in {e["name"] for e in env}
    assert not problems(manifest)


def test_existing_output_is_kept_when_compile_fails(project: Path) -> None:
    out = project / "wf.yaml"
    out.write_text("previous\n")
    no_image(project)
    assert_cli_error(invoke(project, "compile", "-o", str(out)), "No image set")
    assert out.read_text() == "previous\n"


def test_valid_name_with_double_hyphen_is_accepted(project: Path) -> None:
    out = project / "tpl.yaml"
    result = invoke(
        project, "compile", "--kind", "template", "--name", "nightly--v2", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(out.read_text())["metadata"]["name"] == "nightly--v2"


def test_invalid_cron_schedule_is_refused(project: Path) -> None:
    out = project / "cron.yaml"
    result = invoke(project, "compile", "--kind", "cron", "--cron", "61 * * * *", "-o", str(out))
    assert_cli_error(result, "Cron schedule '61 * * * *'", "minute")
    assert not out.exists()


def test_invalid_timezone_is_refused(project: Path) -> None:
    update_config(project, schedule={"cron": "0 6 * * *", "timezone": "Mars/Olympus_Mons"})
    out = project / "cron.yaml"
    result = invoke(project, "compile", "--kind", "cron", "-o", str(out))
    assert_cli_error(result, "Timezone 'Mars/Olympus_Mons' is not an IANA timezone")
    assert not out.exists()


def cron_verdicts(expression: str, monkeypatch: pytest.MonkeyPatch) -> tuple[bool, bool]:
    """(kedro-argo accepts, the outside validator accepts the manifest built without our
    check): an independent reading of Argo's cron rules (robfig/cron)."""
    import kedro_argo.cron

    project_facts = facts([node("n", ["a"], ["b"])])
    try:
        build_facts(project_facts, kind="cron", cron=expression)
        ours = True
    except (ConfigError, ManifestError):
        ours = False
    monkeypatch.setattr(workflow, "check_cron", lambda text: text)
    monkeypatch.setattr(kedro_argo.cron, "check_cron", lambda text: text)
    manifest = build_facts(project_facts, kind="cron", cron=expression).manifest
    return ours, not outside_problems(manifest)


@pytest.mark.parametrize(
    "expression",
    [
        "0 6 * * *",
        "*/15 * * * *",
        "0 9-17 * * MON-FRI",
        "0 0 1 JAN *",
        "@daily",
        "@every 90m",
        "61 * * * *",
        "0 24 * * *",
        "0 0 0 * *",
        "0 0 32 * *",
        "0 6 * * 8",
        "*/0 * * * *",
        "* * * *",
        "0 6 * * * *",
        "@reboot",
        "every day",
    ],
)
def test_cron_check_agrees_with_argo(expression: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ours, argo = cron_verdicts(expression, monkeypatch)
    assert ours == argo


@pytest.mark.parametrize("expression", ["5-1 * * * *", "0 6 * * 7"], ids=["range", "dow-7"])
def test_cron_refuses_what_robfig_refuses(expression: str) -> None:
    with pytest.raises(ConfigError, match="Cron schedule"):
        build_facts(facts([node("n", ["a"], ["b"])]), kind="cron", cron=expression)


# --------------------------------------------------------------------------- real processes


def test_kedro_outside_a_project(tmp_path: Path) -> None:
    result = run_kedro(tmp_path, "argo", "compile")
    assert_clean_error(
        result.returncode, result.stdout, result.stderr, "Error: Not inside a Kedro project"
    )
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("inside", [True, False], ids=["in-a-project", "outside"])
def test_kedro_help_lists_argo_once(inside: bool, project: Path, tmp_path: Path) -> None:
    result = run_kedro(project if inside else tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    listed = [line for line in result.stdout.splitlines() if line.split()[:1] == ["argo"]]
    assert len(listed) == 1, result.stdout


def test_kedro_group_by_flag_is_checked(project: Path) -> None:
    result = run_kedro(project, "argo", "compile", "--group-by", "tag:", "-o", "wf.yaml")
    assert_clean_error(
        result.returncode, result.stdout, result.stderr, "--group-by: 'tag:'", "tag prefix"
    )
    assert not (project / "wf.yaml").exists()


def test_kedro_unknown_pipeline(project: Path) -> None:
    result = run_kedro(project, "argo", "compile", "-p", "nope", "-o", "wf.yaml")
    assert_clean_error(
        result.returncode,
        result.stdout,
        result.stderr,
        "Pipeline 'nope' is not registered",
        AVAILABLE,
    )
    assert not (project / "wf.yaml").exists()


def test_kedro_config_error(project: Path) -> None:
    update_config(project, nodes={"defaults": {"resources": {"cpu": "lots"}}})
    result = run_kedro(project, "argo", "compile", "-o", "wf.yaml")
    assert_clean_error(
        result.returncode,
        result.stdout,
        result.stderr,
        f"{CONFIG}: nodes.defaults.resources.cpu: 'lots' is not a Kubernetes quantity",
    )
    assert not (project / "wf.yaml").exists()


# --------------------------------------------------------------------------- output paths


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("/proc/kedro-argo-test.yaml", "Cannot write /proc/kedro-argo-test.yaml"),
        ("/sys/kedro-argo-test.yaml", "Cannot write /sys/kedro-argo-test.yaml"),
        ("a-directory", "it is a directory"),
    ],
    ids=["proc", "sys", "directory"],
)
def test_unwritable_output_is_one_line_and_leaves_nothing(
    project: Path, target: str, reason: str
) -> None:
    (project / "a-directory").mkdir()
    before = sorted(p.name for p in project.iterdir())
    result = invoke(project, "compile", "-o", str(project / target))
    assert_cli_error(result, reason)
    assert sorted(p.name for p in project.iterdir()) == before
    assert not list((project / "a-directory").iterdir())


def test_unwritable_parent_leaves_no_temporary_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a non-root user a read-only folder refuses the temporary file; root bypasses file
    modes, so the refusal is injected where the OS would raise it."""
    import os

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    out = project / "out"
    out.mkdir()
    result = invoke(project, "compile", "-o", str(out / "wf.yaml"))
    assert_cli_error(result, f"Cannot write {out / 'wf.yaml'}: permission denied")
    assert not list(out.iterdir())


def test_cron_without_kind_cron_is_refused(project: Path) -> None:
    result = invoke(project, "compile", "--cron", "0 6 * * *", "-o", "wf.yaml")
    assert_cli_error(result, "--cron", "--kind cron")
    assert not (project / "wf.yaml").exists()


# --------------------------------------------------------------------------- --image


def test_image_flag_overrides_argo_yml(project: Path) -> None:
    target = project / "wf.yaml"
    result = invoke(
        project, "compile", "--image", "ghcr.io/acme/spaceflights:0a1b2c3", "-o", str(target)
    )
    assert result.exit_code == 0, result.output
    manifest = yaml.safe_load(target.read_text())
    image = manifest["spec"]["templateDefaults"]["container"]["image"]
    assert image == "ghcr.io/acme/spaceflights:0a1b2c3"


@pytest.mark.parametrize("command", ["compile", "run-once", "schedule", "upload"])
def test_bad_image_flag_is_one_line(project: Path, command: str) -> None:
    result = invoke(project, command, "--image", "not an image: {x}")
    assert result.exit_code != 0
    assert "is not a container image reference" in result.stderr
    assert "Traceback" not in result.output


def test_grouping_that_keeps_every_in_memory_dataset_in_a_pod_needs_no_data_root(
    project: Path,
) -> None:
    """--group-by memory puts the sample's 10 in-memory datasets inside pods: nothing goes
    through data.root, so none is needed (and none is put in the pods' environment)."""
    no_data_root(project)
    out = project / "wf.yaml"
    result = invoke(project, "compile", "--group-by", "memory", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "0 dataset(s) passed between steps" in result.stderr
    manifest = yaml.safe_load(out.read_text())
    env = manifest["spec"]["templateDefaults"]["container"]["env"]
    assert "KEDRO_ARGO_DATA_ROOT" not in {e["name"] for e in env}
    assert not problems(manifest)
    # without grouping the same datasets cross pods, and the error counts them
    assert_cli_error(invoke(project, "compile", "-o", str(out)), "passes 10 in-memory dataset(s)")
