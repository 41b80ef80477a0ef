"""``kedro argo compile`` with platform hooks installed: what they change, in which order,
how they are disabled, and how a broken hook fails (one line naming it, nothing written).

Everything runs in-process on the sample project except two real ``kedro`` children, which
find the hooks through ``PYTHONPATH`` as they would after ``pip install``.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from kedro_argo.compiler.build import BuildRequest, build_manifest
from kedro_argo.manifest_hooks import DISABLE_ENV, HookContext, HookSelection, workflow_spec
from kedro_argo.output import to_yaml
from kedro_argo.validation import validate_documents

from ..compile.support import (
    COMMIT,
    GOLDEN_CRON,
    KINDS,
    assert_clean_error,
    assert_cli_error,
    invoke,
    kedro_env,
    run_kedro,
)
from .platform import (
    APPLIED,
    MIRROR,
    RESOURCES,
    SECURITY,
    SIDECAR,
    install,
    install_acme,
    install_broken,
    named,
)

IMAGE = "ghcr.io/example/spaceflights:1.0.0"  # the sample's argo.yml


def kind_args(kind: str) -> list[str]:
    return ["--kind", kind, *(["--cron", GOLDEN_CRON] if kind == "cron" else [])]


def compile_to(project: Path, target: Path, *args: str) -> Any:
    return invoke(project, "compile", "-o", str(target), *args)


def unhooked(project: Path, kind: str) -> dict[str, Any]:
    """The manifest compile makes with no hook at all."""
    request = BuildRequest(
        project_path=project,
        kind=kind,  # type: ignore[arg-type]
        cron=GOLDEN_CRON if kind == "cron" else None,
        manifest_hooks=HookSelection(),
    )
    return build_manifest(request).manifest


def context(kind: str, *, for_local: bool = False) -> HookContext:
    return HookContext(
        kind=kind,  # type: ignore[arg-type]
        project_name="spaceflights",
        pipeline_name="__default__",
        env=None,
        namespace=None,
        image=IMAGE,
        commit_id=COMMIT,
        for_local=for_local,
    )


def by_hand(manifest: dict[str, Any], kind: str) -> dict[str, Any]:
    """Acme's hooks applied directly, in entry-point name order."""
    hooks = importlib.import_module("acme_platform.hooks")
    for function in (hooks.defaults, hooks.labels, hooks.registry, hooks.security):
        result = function(manifest, context(kind))
        manifest = manifest if result is None else result
    return manifest


# --------------------------------------------------------------------------- what hooks change


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_gets_the_platforms_labels_security_defaults_and_mirror(
    kind: str, sample_project: Path, site: Path, tmp_path: Path
) -> None:
    install_acme(site)
    target = tmp_path / f"{kind}.yaml"

    result = compile_to(sample_project, target, *kind_args(kind))

    assert result.exit_code == 0, result.output
    assert APPLIED in result.stderr.splitlines()
    text = target.read_text()
    manifest = yaml.safe_load(text)
    # Byte for byte what the hooks make of the manifest compile makes without them: the hooks
    # got this context, ran in name order, and nothing else changed.
    assert text == to_yaml(by_hand(unhooked(sample_project, kind), kind))

    labels = manifest["metadata"]["labels"]
    assert labels["platform.acme.io/tier"] == "batch"
    assert labels["platform.acme.io/kind"] == kind
    assert json.loads(manifest["metadata"]["annotations"]["platform.acme.io/context"]) == {
        "kind": kind,
        "project_name": "spaceflights",
        "pipeline_name": "__default__",
        "env": None,
        "namespace": None,
        "image": IMAGE,
        "commit_id": COMMIT,
        "for_local": False,
    }
    if kind == "cron":
        assert manifest["spec"]["workflowMetadata"]["labels"]["platform.acme.io/tier"] == "batch"
    spec = workflow_spec(manifest)
    assert spec["securityContext"] == SECURITY
    defaults = spec["templateDefaults"]["container"]
    assert defaults["resources"] == RESOURCES
    assert {"name": "ACME_PLATFORM", "value": f"{kind}:cluster"} in defaults["env"]
    assert defaults["image"] == MIRROR + IMAGE
    pods = [t for t in spec["templates"] if "container" in t]
    assert pods
    assert all(t["sidecars"] == [{**SIDECAR, "image": MIRROR + SIDECAR["image"]}] for t in pods)
    # Argo's strict schemas and rules accept what the hooks made.
    errors = [p for p in validate_documents([("", 0, manifest)]) if p.problem.level == "error"]
    assert errors == []


def test_two_compiles_are_byte_identical_and_a_kedro_child_finds_the_installed_hooks(
    sample_project: Path, site: Path, tmp_path: Path
) -> None:
    install_acme(site)
    first, second, child = (tmp_path / f"{n}.yaml" for n in ("first", "second", "child"))
    assert compile_to(sample_project, first).exit_code == 0
    assert compile_to(sample_project, second).exit_code == 0

    paths = [str(site), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = kedro_env(PYTHONPATH=os.pathsep.join(paths))
    env["PYTHONHASHSEED"] = "random"  # nothing may depend on set or dict-of-hash order
    done = run_kedro(sample_project, "argo", "compile", "-o", str(child), env=env)

    assert done.returncode == 0, done.stderr
    assert APPLIED in done.stderr.splitlines()
    assert first.read_bytes() == second.read_bytes() == child.read_bytes()
    assert MIRROR + IMAGE in child.read_text()


def test_hooks_run_in_entry_point_name_order_each_on_the_previous_result(
    sample_project: Path, site: Path, tmp_path: Path
) -> None:
    trail = """\
        def {name}(manifest, context):
            annotations = manifest["metadata"]["annotations"]
            seen = annotations.get("acme.io/trail")
            assert seen == {expect!r}, seen
            annotations["acme.io/trail"] = ",".join(filter(None, [seen, "{name}"]))
            return {returns}
    """
    # Installed in the other order, from distributions whose names sort the other way.
    install(
        site,
        "zeta-platform",
        {"zeta_platform.py": trail.format(name="a_first", expect=None, returns="dict(manifest)")},
        {"a-first": "zeta_platform:a_first"},
    )
    install(
        site,
        "alpha-platform",
        {"alpha_platform.py": trail.format(name="b_second", expect="a_first", returns="None")},
        {"b-second": "alpha_platform:b_second"},
    )
    target = tmp_path / "wf.yaml"

    result = compile_to(sample_project, target)

    assert result.exit_code == 0, result.output
    manifest = yaml.safe_load(target.read_text())
    assert manifest["metadata"]["annotations"]["acme.io/trail"] == "a_first,b_second"
    assert (
        "Note: manifest hooks applied, in this order: 'a-first' (zeta_platform:a_first), "
        "'b-second' (alpha_platform:b_second)"
    ) in result.stderr.splitlines()


# --------------------------------------------------------------------------- disabling


def test_all_disables_every_hook(
    sample_project: Path, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_acme(site)
    monkeypatch.setenv(DISABLE_ENV, "all")
    target = tmp_path / "wf.yaml"

    result = compile_to(sample_project, target)

    assert result.exit_code == 0, result.output
    assert target.read_text() == to_yaml(unhooked(sample_project, "workflow"))
    notes = [line for line in result.stderr.splitlines() if line.startswith("Note: ")]
    assert notes == [
        f"Note: manifest hooks disabled by {DISABLE_ENV}: "
        + named("acme-defaults", "acme-labels", "acme-registry", "acme-security")
    ]


def test_named_hooks_are_disabled_and_an_unknown_name_is_noted(
    sample_project: Path, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_acme(site)
    monkeypatch.setenv(DISABLE_ENV, " acme-registry, acme-lables ,acme-security")
    target = tmp_path / "wf.yaml"

    result = compile_to(sample_project, target)

    assert result.exit_code == 0, result.output
    manifest = yaml.safe_load(target.read_text())
    spec = workflow_spec(manifest)
    assert spec["templateDefaults"]["container"]["image"] == IMAGE  # registry: off
    assert "securityContext" not in spec  # security: off
    assert spec["templateDefaults"]["container"]["resources"] == RESOURCES  # defaults: on
    assert manifest["metadata"]["labels"]["platform.acme.io/tier"] == "batch"  # labels: on
    notes = [line for line in result.stderr.splitlines() if line.startswith("Note: ")]
    assert notes == [
        "Note: manifest hooks applied, in this order: " + named("acme-defaults", "acme-labels"),
        f"Note: manifest hooks disabled by {DISABLE_ENV}: "
        + named("acme-registry", "acme-security"),
        f"Note: {DISABLE_ENV} names 'acme-lables', which no installed manifest hook is called "
        "(entry-point group kedro_argo.manifest_hooks)",
    ]


def test_a_disabled_hook_is_not_even_imported(
    sample_project: Path, site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_broken(site, "acme-sdk", "acme_broken.unimportable:apply")
    target = tmp_path / "wf.yaml"
    failed = compile_to(sample_project, target)
    assert_cli_error(failed, "Manifest hook 'acme-sdk' (acme_broken.unimportable:apply)")

    monkeypatch.setenv(DISABLE_ENV, "acme-sdk")
    result = compile_to(sample_project, target)

    assert result.exit_code == 0, result.output
    assert target.read_text() == to_yaml(unhooked(sample_project, "workflow"))


# --------------------------------------------------------------------------- broken hooks

BROKEN = [
    pytest.param(
        "explode",
        "raised KeyError at ",
        "acme_broken/hooks.py:5: 'owner'",
        id="raises",
    ),
    pytest.param(
        "wrong_type",
        "returned a list, not a manifest mapping: return the manifest dict it was given "
        "(changed) or a new one, or None after changing it in place.",
        None,
        id="returns-a-list",
    ),
    pytest.param(
        "bad_label",
        "produced an invalid manifest: metadata.labels.platform.acme.io/team: Label "
        "'platform.acme.io/team' has value 'data science!'",
        None,
        id="invalid-manifest",
    ),
    pytest.param(
        "retype",
        "produced an invalid manifest: apiVersion/kind is v1/Pod, not the "
        "argoproj.io/v1alpha1/Workflow it was given",
        None,
        id="changes-the-kind",
    ),
    pytest.param(
        "unplain",
        "produced an invalid manifest: metadata.annotations.platform.acme.io/teams is a set, "
        "not plain data (dict, list, str, int, float, bool or None).",
        None,
        id="not-plain-data",
    ),
    pytest.param(
        "mislabelled",
        "produced an invalid manifest: metadata.labels is a list, not a mapping of strings.",
        None,
        id="labels-not-a-mapping",
    ),
    pytest.param(
        "misshapen",  # the rules expect the schema's shape: the schema says where it is not
        "produced an invalid manifest: spec.arguments: ['--tier=batch'] is not of type 'object'.",
        None,
        id="misshapen",
    ),
    pytest.param(
        "NOT_CALLABLE",
        "is not callable but a dict: point the entry point at a function hook(manifest, context).",
        None,
        id="not-callable",
    ),
]


@pytest.mark.parametrize(("attr", "fragment", "tail"), BROKEN)
def test_a_broken_hook_is_one_line_naming_it_and_nothing_is_written(
    attr: str, fragment: str, tail: str | None, sample_project: Path, site: Path, tmp_path: Path
) -> None:
    install_broken(site, "acme-broken", f"acme_broken.hooks:{attr}")
    target = tmp_path / "wf.yaml"

    result = compile_to(sample_project, target)

    message = assert_cli_error(result, f"Manifest hook 'acme-broken' (acme_broken.hooks:{attr}) ")
    assert fragment in message
    if tail is not None:
        assert message.endswith(tail), message
    assert not target.exists()
    assert list(tmp_path.iterdir()) == [site]


def test_a_hook_that_cannot_be_imported_names_itself_and_the_way_out(
    sample_project: Path, site: Path, tmp_path: Path
) -> None:
    install_broken(site, "acme-sdk", "acme_broken.unimportable:apply")
    target = tmp_path / "wf.yaml"

    message = assert_cli_error(compile_to(sample_project, target))

    assert message == (
        "Error: Manifest hook 'acme-sdk' (acme_broken.unimportable:apply) cannot be loaded: "
        "ImportError: acme_broken.unimportable needs acme-sdk>=3 (fix or reinstall the package "
        f"that provides it, or set {DISABLE_ENV}=acme-sdk to go on without it)."
    )
    assert not target.exists()


def test_the_compilers_own_errors_are_not_blamed_on_a_hook(tmp_path: Path, site: Path) -> None:
    from ..sample_project import copy_project, update_config

    project = copy_project(tmp_path / "spaceflights")
    update_config(project, workflow={"labels": {"team": "data science!"}})
    install_acme(site)

    message = assert_cli_error(compile_to(project, tmp_path / "wf.yaml"), "metadata.labels.team")

    assert "Manifest hook" not in message


def test_a_kedro_child_with_a_raising_hook_prints_one_line_and_writes_nothing(
    sample_project: Path, site: Path, tmp_path: Path
) -> None:
    install_broken(site, "acme-broken", "acme_broken.hooks:explode")
    target = tmp_path / "wf.yaml"
    env = kedro_env(PYTHONPATH=str(site))

    done = run_kedro(sample_project, "argo", "compile", "-o", str(target), env=env)

    message = assert_clean_error(
        done.returncode,
        done.stdout,
        done.stderr,
        "Error: Manifest hook 'acme-broken' (acme_broken.hooks:explode) raised KeyError at ",
    )
    assert message.endswith("acme_broken/hooks.py:5: 'owner'"), message
    assert done.returncode == 1
    assert not target.exists()
