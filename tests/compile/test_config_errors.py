"""argo.yml mistakes fail at compile time with one line naming the file, the key and the fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from kedro_argo.config import (
    ArgoConfig,
    Backoff,
    DataConfig,
    Resources,
    ScheduleConfig,
    SecretRef,
    ServerConfig,
    TTLStrategy,
    Volume,
    parse_config,
)
from kedro_argo.errors import ConfigError

from .support import (
    arg_values,
    build,
    build_facts,
    default_env,
    facts,
    node,
    read_config,
    step_templates,
    update_config,
    write_config,
)

SOURCE = "conf/base/argo.yml"


def config_error(raw: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source=SOURCE)
    return str(info.value)


def allowed(model: type[BaseModel]) -> str:
    return ", ".join(sorted(model.model_fields))


UNKNOWN_KEYS = [
    ({"imag": "x"}, "imag", ArgoConfig),
    ({"server": {"token": "t"}}, "server.token", ServerConfig),
    ({"data": {"rooot": "s3://b"}}, "data.rooot", DataConfig),
    ({"workflow": {"ttl": {"seconds": 1}}}, "workflow.ttl.seconds", TTLStrategy),
    ({"schedule": {"timezon": "UTC"}}, "schedule.timezon", ScheduleConfig),
    (
        {"nodes": {"defaults": {"resources": {"cpus": 1}}}},
        "nodes.defaults.resources.cpus",
        Resources,
    ),
    (
        {"nodes": {"tags": {"gpu": {"retry": {"backoff": {"durations": "1s"}}}}}},
        "nodes.tags.gpu.retry.backoff.durations",
        Backoff,
    ),
    (
        {
            "nodes": {
                "names": {
                    "ns.my_node": {
                        "volumes": [
                            {"name": "v", "mount_path": "/v", "source": {}, "readonly": True}
                        ]
                    }
                }
            }
        },
        "nodes.names.ns.my_node.volumes.0.readonly",
        Volume,
    ),
    pytest.param(
        {"nodes": {"tags": {"retry": {"resources": {"cpus": 1}}}}},
        "nodes.tags.retry.resources.cpus",
        Resources,
        id="tag-named-like-a-field",
    ),
    pytest.param(
        {"nodes": {"names": {"env": {"resources": {"cpus": 1}}}}},
        "nodes.names.env.resources.cpus",
        Resources,
        id="node-named-like-a-field",
    ),
    pytest.param(
        {"nodes": {"defaults": {"env": {"TOKEN": {"secret": "s", "key": "k", "optonal": True}}}}},
        "nodes.defaults.env.TOKEN.optonal",
        SecretRef,
        id="secret-ref",
    ),
]


@pytest.mark.parametrize(("raw", "path", "model"), UNKNOWN_KEYS)
def test_unknown_key_is_one_line_with_file_path_and_allowed_keys(
    raw: dict[str, Any], path: str, model: type[BaseModel]
) -> None:
    message = config_error(raw)
    assert message == f"{SOURCE}: {path}: unknown key (allowed: {allowed(model)})"


def test_unknown_key_in_the_project_names_the_real_file(project: Path) -> None:
    update_config(project, nodes={"defaults": {"resources": {"cpus": 2}}})
    with pytest.raises(ConfigError) as info:
        build(project)
    assert str(info.value) == (
        f"{SOURCE}: nodes.defaults.resources.cpus: unknown key (allowed: {allowed(Resources)})"
    )


def test_every_problem_is_reported_once_per_line() -> None:
    message = config_error({"imag": "x", "workflow": {"parallelism": 0, "labelz": {}}})
    lines = message.splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"{SOURCE}: ") for line in lines)
    assert {line.split(": ")[1] for line in lines} == {
        "imag",
        "workflow.parallelism",
        "workflow.labelz",
    }


WRONG_VALUES = [
    ({"image": ["x"]}, "image", "valid string"),
    ({"image_pull_policy": "Sometimes"}, "image_pull_policy", "'Always', 'IfNotPresent'"),
    ({"workflow": {"parallelism": "many"}}, "workflow.parallelism", "valid integer"),
    ({"workflow": {"parallelism": 0}}, "workflow.parallelism", "greater than or equal to 1"),
    ({"workflow": {"labels": ["a"]}}, "workflow.labels", "valid dictionary"),
    (
        {"workflow": {"ttl": {"seconds_after_success": -1}}},
        "workflow.ttl.seconds_after_success",
        "greater than or equal to 0",
    ),
    ({"workflow": {"pod_gc": {"strategy": "Sometimes"}}}, "workflow.pod_gc.strategy", "OnPod"),
    ({"data": {"compression": "gzip"}}, "data.compression", "'none', 'zlib' or 'lz4'"),
    ({"parameters": "a.b"}, "parameters", "valid list"),
    ({"parameters": ["a", "b", "a"]}, "parameters", "listed more than once: a"),
    ({"schedule": {"concurrency_policy": "Never"}}, "schedule.concurrency_policy", "Forbid"),
    (
        {"nodes": {"defaults": {"resources": {"cpu": "2 cores"}}}},
        "nodes.defaults.resources.cpu",
        "'2 cores' is not a Kubernetes quantity",
    ),
    (
        {"nodes": {"defaults": {"resources": {"memory": True}}}},
        "nodes.defaults.resources.memory",
        "not a boolean",
    ),
    (
        {"nodes": {"defaults": {"resources": {"gpu": -1}}}},
        "nodes.defaults.resources.gpu",
        "greater than or equal to 0",
    ),
    (
        {"nodes": {"defaults": {"retry": {"limit": -1}}}},
        "nodes.defaults.retry.limit",
        "greater than or equal to 0",
    ),
    (
        {"nodes": {"defaults": {"retry": {"policy": "Sometimes"}}}},
        "nodes.defaults.retry.policy",
        "OnTransientError",
    ),
    (
        {"nodes": {"defaults": {"retry": {"backoff": {"factor": 0}}}}},
        "nodes.defaults.retry.backoff.factor",
        "greater than or equal to 1",
    ),
    ({"nodes": {"defaults": {"timeout": "1 hour"}}}, "nodes.defaults.timeout", "not a duration"),
    ({"nodes": {"defaults": {"timeout": -5}}}, "nodes.defaults.timeout", "cannot be negative"),
    (
        {"workflow": {"pod_gc": {"strategy": "OnPodSuccess", "delete_delay_duration": "soon"}}},
        "workflow.pod_gc.delete_delay_duration",
        "not a duration",
    ),
    (
        {"nodes": {"defaults": {"env": {"1BAD": "x"}}}},
        "nodes.defaults.env",
        "'1BAD' is not a valid environment variable name",
    ),
    (
        {"nodes": {"defaults": {"pod_spec_patch": "[1, 2]"}}},
        "nodes.defaults.pod_spec_patch",
        "must be a mapping",
    ),
    pytest.param(
        {"nodes": {"defaults": {"pod_spec_patch": "{a: ["}}},
        "nodes.defaults.pod_spec_patch",
        "not valid YAML/JSON",
        id="pod-spec-patch-bad-yaml",
    ),
    (
        {"nodes": {"defaults": {"volumes": [{"name": "v", "source": {}}]}}},
        "nodes.defaults.volumes.0.mount_path",
        "Field required",
    ),
    (
        {"workflow": {"name": "a", "generate_name": "b"}},
        "workflow",
        "set either 'name' or 'generate_name', not both",
    ),
]


@pytest.mark.parametrize(("raw", "path", "fragment"), WRONG_VALUES)
def test_wrong_value_is_one_line_naming_file_and_key(
    raw: dict[str, Any], path: str, fragment: str
) -> None:
    message = config_error(raw)
    assert len(message.splitlines()) == 1, message
    assert message.startswith(f"{SOURCE}: {path}: "), message
    assert fragment in message
    assert "pydantic" not in message


@pytest.mark.parametrize(
    "root", ["http://bucket/x", "hdfs://namenode/x", "relative/path", "data", "s3:/bucket"]
)
def test_bad_data_root_is_refused(root: str) -> None:
    message = config_error({"data": {"root": root}})
    assert message.startswith(f"{SOURCE}: data.root: '{root}'")
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize(
    ("root", "stored"),
    [
        ("s3://bucket/prefix/", "s3://bucket/prefix"),
        ("gs://bucket", "gs://bucket"),
        ("gcs://bucket/p", "gcs://bucket/p"),
        ("file:///mnt/x", "file:///mnt/x"),
        ("/mnt/shared/", "/mnt/shared"),
    ],
)
def test_good_data_root_is_accepted(root: str, stored: str) -> None:
    assert parse_config({"data": {"root": root}}, source=SOURCE).data.root == stored


@pytest.mark.parametrize(
    ("raw", "emitted"),
    [(90, "90s"), (1.5, "1.5s"), (0, "0s"), ("1h30m", "1h30m"), ("250ms", "250ms")],
)
def test_durations_accept_seconds_or_go_durations(raw: Any, emitted: str) -> None:
    config = {"image": "i:1", "data": {"root": "/d"}, "nodes": {"defaults": {"timeout": raw}}}
    (step,) = step_templates(
        build_facts(facts([node("n", ["a"], ["b"])], config)).manifest
    ).values()
    assert step["timeout"] == emitted


_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def go_duration_seconds(text: str) -> float:
    """What Go's time.ParseDuration accepts (without sign), in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"{text!r} is no Go duration"
    return sum(float(n) * _GO_UNITS[u] for n, u in parts)


@pytest.mark.parametrize(
    "settings",
    [
        {"nodes": {"defaults": {"timeout": 1234567}}},
        {"nodes": {"defaults": {"retry": {"limit": 1, "backoff": {"duration": 1234567}}}}},
        {"workflow": {"pod_gc": {"strategy": "OnPodSuccess", "delete_delay_duration": 1234567}}},
    ],
    ids=["timeout", "backoff", "pod-gc"],
)
def test_large_durations_in_seconds_stay_exact_go_durations(settings: dict[str, Any]) -> None:
    config = {"image": "i:1", "data": {"root": "/d"}, **settings}
    manifest = build_facts(facts([node("n", ["a"], ["b"])], config)).manifest
    (step,) = step_templates(manifest).values()
    emitted = (
        step.get("timeout")
        or step.get("retryStrategy", {}).get("backoff", {}).get("duration")
        or manifest["spec"]["podGC"]["deleteDelayDuration"]
    )
    assert go_duration_seconds(emitted) == 1234567


# --------------------------------------------------------------------------- references


REFERENCE_NODES = (node("prep", ["raw"], ["mid"], tags=["fast"]), node("train", ["mid"], ["m"]))


def reference_error(settings: dict[str, Any]) -> str:
    config = {"image": "i:1", "data": {"root": "/d"}, **settings}
    project_facts = facts(
        REFERENCE_NODES,
        config,
        registered={
            "__default__": frozenset({"prep", "train"}),
            "alerts": frozenset({"notify"}),
        },
        all_tags=frozenset({"fast", "exit"}),
        parameters={"model": {"alpha": 0.1}, "a.b": 1},
        config_files=(SOURCE,),
    )
    with pytest.raises(ConfigError) as info:
        build_facts(project_facts)
    return str(info.value)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"nodes": {"names": {"trian": {"timeout": "1m"}}}},
            "nodes.names.trian: no node of any registered pipeline is named so",
        ),
        (
            {"nodes": {"tags": {"fats": {"timeout": "1m"}}}},
            "nodes.tags.fats: no node of any registered pipeline has this tag",
        ),
        ({"parameters": ["model.beta"]}, "parameters: 'model.beta' is not a parameter"),
        ({"parameters": ["model.alpha.x"]}, "parameters: 'model.alpha.x' is not a parameter"),
        ({"parameters": ["nope"]}, "parameters: 'nope' is not a parameter"),
        (
            {"workflow": {"on_exit_pipeline": "alert"}},
            "workflow.on_exit_pipeline: 'alert' is not a registered pipeline "
            "(available: __default__, alerts)",
        ),
    ],
)
def test_unknown_reference_in_argo_yml_is_refused(settings: dict[str, Any], expected: str) -> None:
    message = reference_error(settings)
    assert message.splitlines() == [f"{SOURCE}: {message.split(': ', 1)[1]}"]
    assert expected in message


def test_references_that_exist_anywhere_are_accepted() -> None:
    config = {
        "image": "i:1",
        "data": {"root": "/d"},
        "nodes": {"names": {"notify": {"timeout": "1m"}}, "tags": {"exit": {"timeout": "2m"}}},
        "parameters": ["model.alpha", "a.b"],
        "workflow": {"on_exit_pipeline": "alerts"},
    }
    project_facts = facts(
        REFERENCE_NODES,
        config,
        registered={"__default__": frozenset({"prep", "train"}), "alerts": frozenset({"notify"})},
        all_tags=frozenset({"fast", "exit"}),
        parameters={"model": {"alpha": 0.1}, "a.b": 1},
    )
    manifest = build_facts(project_facts).manifest
    names = {p["name"] for p in manifest["spec"]["arguments"]["parameters"]}
    assert names == {"model__alpha", "a__b"}


def test_unknown_references_in_the_project_name_the_file(project: Path) -> None:
    update_config(
        project,
        nodes={"names": {"train_model_node": {"timeout": "1h"}}},  # needs its namespace
        parameters=["model_options.test_size"],
        workflow={"on_exit_pipeline": "notfy"},
    )
    with pytest.raises(ConfigError) as info:
        build(project)
    lines = str(info.value).splitlines()
    assert lines == [
        f"{SOURCE}: nodes.names.train_model_node: no node of any registered pipeline is named so",
        f"{SOURCE}: parameters: 'model_options.test_size' is not a parameter of this project",
        f"{SOURCE}: workflow.on_exit_pipeline: 'notfy' is not a registered pipeline "
        "(available: __default__, data_processing, data_science, notify, reporting)",
    ]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("image: [\n", "cannot be read"), ("- a\n- b\n", "cannot be read")],
)
def test_unreadable_argo_yml_is_a_config_error(project: Path, text: str, fragment: str) -> None:
    write_config(project, text)
    with pytest.raises(ConfigError) as info:
        build(project)
    assert str(info.value).startswith(f"{SOURCE}: {fragment}")


# --------------------------------------------------------------------------- --env overlays


def test_env_overlay_overrides_base_keys(project: Path, sample_built: dict[str, Any]) -> None:
    write_config(project, {"image": "registry.example.com/other:2"}, env="prod")
    built = build(project, env="prod")
    manifest = built.manifest
    assert built.facts.config_files == (SOURCE, "conf/prod/argo.yml")
    container = manifest["spec"]["templateDefaults"]["container"]
    assert container["image"] == "registry.example.com/other:2"
    assert manifest["metadata"]["annotations"]["kedro.org/env"] == "prod"
    for step in step_templates(manifest).values():
        assert arg_values(step["container"]["args"], "--env") == ["prod"]
    # everything not overridden still comes from conf/base
    base = sample_built["workflow"].manifest
    assert default_env(manifest) == default_env(base)
    assert manifest["spec"]["ttlStrategy"] == base["spec"]["ttlStrategy"]


def test_env_without_argo_yml_uses_base(project: Path) -> None:
    (project / "conf" / "staging").mkdir()
    manifest = build(project, env="staging").manifest
    image = manifest["spec"]["templateDefaults"]["container"]["image"]
    assert image == read_config(project)["image"]


def test_env_overlay_of_one_nested_key_keeps_the_rest_of_the_section(project: Path) -> None:
    write_config(project, {"data": {"compression": "zlib"}}, env="prod")
    env = default_env(build(project, env="prod").manifest)
    assert env["KEDRO_ARGO_COMPRESSION"] == "zlib"
    assert env["KEDRO_ARGO_DATA_ROOT"] == read_config(project)["data"]["root"]


def test_kedro_env_variable_is_compiled_into_the_manifest(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(project, {"image": "registry.example.com/other:2"}, env="prod")
    monkeypatch.setenv("KEDRO_ENV", "prod")
    manifest = build(project).manifest
    assert manifest["spec"]["templateDefaults"]["container"]["image"].endswith("other:2")
    for step in step_templates(manifest).values():
        assert arg_values(step["container"]["args"], "--env") == ["prod"]
