"""Applying hooks, without a Kedro project: hand-made facts through ``build_from_facts`` (the
pure part of the build, which applies only the hooks it is given) and ``installed_hooks`` (the
one function that looks at what is installed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kedro_argo.compiler.build import BuildRequest, build_from_facts
from kedro_argo.errors import ManifestError
from kedro_argo.manifest_hooks import (
    DISABLE_ENV,
    HookContext,
    HookSelection,
    ManifestHook,
    ManifestHookError,
    apply_hooks,
    installed_hooks,
    workflow_spec,
)

from ..compile.support import COMMIT, chain, facts
from .platform import install, install_acme

CONFIG = {
    "image": "registry.example.com/demo:1",
    "data": {"root": "s3://bucket/run"},
    "namespace": "team-a",
    "schedule": {"cron": "0 6 * * *"},
}


def recording(seen: list[tuple[dict[str, Any], HookContext]]) -> ManifestHook:
    def hook(manifest: dict[str, Any], context: HookContext) -> None:
        seen.append((manifest, context))

    return ManifestHook("record", "tests:record", hook)


def build(hooks: tuple[ManifestHook, ...] | None, config: dict[str, Any] = CONFIG, **request: Any):
    selection = None if hooks is None else HookSelection(hooks)
    return build_from_facts(
        facts(chain(3), config, env="staging"),
        BuildRequest(project_path=Path("/nonexistent"), manifest_hooks=selection, **request),
    )


@pytest.mark.parametrize("kind", ["workflow", "template", "cron"])
@pytest.mark.parametrize("for_local", [False, True])
def test_the_context_says_what_is_compiled(kind: str, for_local: bool) -> None:
    seen: list[tuple[dict[str, Any], HookContext]] = []

    built = build((recording(seen),), kind=kind, for_local=for_local, image="reg.example/x:2")

    [(manifest, context)] = seen
    assert manifest is built.manifest  # changed in place (None returned): the same object
    assert context == HookContext(
        kind=kind,  # type: ignore[arg-type]
        project_name="demo",
        pipeline_name="__default__",
        env="staging",
        namespace="team-a",
        image="reg.example/x:2",
        commit_id=COMMIT,
        for_local=for_local,
    )
    with pytest.raises(AttributeError):
        context.kind = "cron"  # type: ignore[misc]  # frozen


def test_server_namespace_is_the_one_the_context_names() -> None:
    seen: list[tuple[dict[str, Any], HookContext]] = []
    build((recording(seen),), {**CONFIG, "server": {"namespace": "argo-jobs"}})
    assert seen[0][1].namespace == "argo-jobs"


def test_a_hook_gets_a_tree_of_plain_data_with_no_shared_parts() -> None:
    seen: list[tuple[dict[str, Any], HookContext]] = []
    build((recording(seen),), kind="cron")
    ids: set[int] = set()

    def walk(value: Any) -> None:
        if isinstance(value, (dict, list)):
            assert id(value) not in ids, "a part of the manifest appears twice"
            ids.add(id(value))
            for item in value.values() if isinstance(value, dict) else value:
                walk(item)
        else:
            assert type(value) in (str, int, float, bool, type(None))

    walk(seen[0][0])
    assert workflow_spec(seen[0][0]) is seen[0][0]["spec"]["workflowSpec"]


def test_the_pure_part_applies_no_installed_hook(site: Path) -> None:
    install_acme(site)
    assert [h.name for h in installed_hooks().hooks] == [
        "acme-defaults",
        "acme-labels",
        "acme-registry",
        "acme-security",
    ]
    assert build(None).manifest == build(()).manifest


def test_a_returned_manifest_replaces_the_given_one_and_the_next_hook_sees_it() -> None:
    def relabel(manifest: dict[str, Any], context: HookContext) -> dict[str, Any]:
        metadata = {**manifest["metadata"], "labels": {**manifest["metadata"]["labels"], "a": "1"}}
        return {**manifest, "metadata": metadata}

    seen: list[tuple[dict[str, Any], HookContext]] = []
    built = build((ManifestHook("a", "m:relabel", relabel), recording(seen)))

    assert built.manifest["metadata"]["labels"]["a"] == "1"
    assert seen[0][0] is built.manifest
    assert built.notes == (
        "manifest hooks applied, in this order: 'a' (m:relabel), 'record' (tests:record)",
    )


def test_without_hooks_the_manifest_is_checked_once_and_returned_as_is() -> None:
    checked: list[dict[str, Any]] = []
    manifest = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow"}
    context = HookContext("workflow", "p", "__default__", None, None, "i", "c")
    assert apply_hooks(manifest, (), context, check=checked.append) is manifest
    assert checked == [manifest]


def test_each_result_is_checked_and_an_error_names_the_hook() -> None:
    def check(manifest: dict[str, Any]) -> None:
        if manifest.get("bad"):
            raise ManifestError("spec: something Argo refuses.")

    def spoil(manifest: dict[str, Any], context: HookContext) -> None:
        manifest["bad"] = True

    hooks = (
        ManifestHook("fine", "m:fine", lambda m, c: None),
        ManifestHook("spoil", "m:spoil", spoil),
        ManifestHook("never", "m:never", lambda m, c: pytest.fail("ran after an invalid result")),
    )
    context = HookContext("workflow", "p", "__default__", None, None, "i", "c")
    with pytest.raises(ManifestHookError) as raised:
        manifest = {"apiVersion": "v", "kind": "Workflow", "metadata": {}, "spec": {}}
        apply_hooks(manifest, hooks, context, check=check)
    assert str(raised.value) == (
        "Manifest hook 'spoil' (m:spoil) produced an invalid manifest: spec: something Argo "
        "refuses."
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (float("nan"), "metadata.annotations.x is nan, which JSON cannot hold."),
        ((1, 2), "metadata.annotations.x is a tuple, not plain data"),
        ({1: "a"}, "metadata.annotations.x has the key 1 (an int): keys are strings."),
        (["ok", b"bytes"], "metadata.annotations.x[1] is a bytes, not plain data"),
    ],
)
def test_a_result_that_is_not_plain_data_says_where(value: Any, problem: str) -> None:
    def spoil(manifest: dict[str, Any], context: HookContext) -> None:
        manifest["metadata"]["annotations"]["x"] = value

    with pytest.raises(ManifestHookError, match="produced an invalid manifest: ") as raised:
        build((ManifestHook("spoil", "m:spoil", spoil),))
    assert problem in str(raised.value)


def test_a_cycle_is_refused_not_walked_forever() -> None:
    def loop(manifest: dict[str, Any], context: HookContext) -> None:
        manifest["metadata"]["annotations"]["self"] = manifest["metadata"]  # type: ignore[assignment]

    with pytest.raises(
        ManifestHookError,
        match=r"metadata.annotations.self is one of the parts that hold it \(a cycle\)",
    ):
        build((ManifestHook("loop", "m:loop", loop),))


def test_a_multi_line_exception_message_stays_one_line() -> None:
    def explode(manifest: dict[str, Any], context: HookContext) -> None:
        raise RuntimeError("\n\nfirst line\nsecond line")

    with pytest.raises(ManifestHookError) as raised:
        build((ManifestHook("boom", "m:explode", explode),))
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("Manifest hook 'boom' (m:explode) raised RuntimeError at ")
    assert message.endswith(": first line")


@pytest.mark.parametrize(
    ("value", "everything", "names"),
    [
        ("", False, set()),
        ("all", True, set()),
        (" ALL ", True, set()),
        ("a, b ,,c", False, {"a", "b", "c"}),
    ],
)
def test_the_disabling_variable(value: str, everything: bool, names: set[str], site: Path) -> None:
    install(
        site, "x-platform", {"x_platform.py": "def a(m, c):\n    pass\n"}, {"a": "x_platform:a"}
    )
    selection = installed_hooks({DISABLE_ENV: value})
    disabled = everything or "a" in names
    assert [h.name for h in selection.hooks] == ([] if disabled else ["a"])
    assert selection.disabled == (("'a' (x_platform:a)",) if disabled else ())
    assert set(selection.unknown) == names - {"a"}
