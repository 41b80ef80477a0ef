"""The Dockerfile and .dockerignore `kedro argo init --with-dockerfile` writes: hadolint finds
nothing, the dependency layer comes before the source, the user is not root, the WORKDIR is
argo.yml's project_dir."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kedro_argo import __version__
from kedro_argo.config import ArgoConfig, parse_config
from kedro_argo.errors import ConfigError
from kedro_argo.scaffold import (
    default_base_image,
    kedro_argo_requirement,
    render_dockerfile,
    render_dockerignore,
)

from .tools import hadolint


def config(**values: Any) -> ArgoConfig:
    return parse_config({"image": "registry.example.com/team/demo:1", **values}, source="argo.yml")


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


CASES = {
    "defaults": {},
    "custom-project-dir": {"project_dir": "/opt/flights/app"},
    "gcs-and-lz4": {"data": {"root": "gs://bucket/runs", "compression": "lz4"}},
}


@pytest.mark.parametrize("values", CASES.values(), ids=CASES.keys())
def test_hadolint_reports_nothing(values: dict[str, Any], tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(render_dockerfile(config(**values), project_name="demo", source="x"))
    assert hadolint(dockerfile, tmp_path) == []


def test_layers_dependencies_before_source_non_root_user() -> None:
    steps = instructions(
        render_dockerfile(config(project_dir="/opt/flights"), project_name="demo", source="x")
    )
    kinds = [kind for kind, _ in steps]
    assert steps[0] == ("ARG", f"BASE_IMAGE={default_base_image()}")
    assert steps[1] == ("FROM", "${BASE_IMAGE}")
    assert ("WORKDIR", "/opt/flights") in steps
    env = " ".join(args for kind, args in steps if kind == "ENV")
    assert "KEDRO_DISABLE_TELEMETRY=true" in env.split()
    copies = [args for kind, args in steps if kind == "COPY"]
    assert copies == ["requirements.txt ./", "--chown=${KEDRO_UID}:${KEDRO_GID} . ."]
    first_copy, source_copy = (steps.index(("COPY", c)) for c in copies)
    deps = next(i for i, (k, a) in enumerate(steps) if k == "RUN" and "-r requirements.txt" in a)
    assert first_copy < deps < source_copy, "dependencies must be installed before the source"
    assert kinds.index("WORKDIR") < first_copy
    project_install = next(i for i, (k, a) in enumerate(steps) if k == "RUN" and "--no-deps ." in a)
    assert project_install > source_copy
    assert steps[-1] == ("USER", "${KEDRO_UID}:${KEDRO_GID}")  # numeric: runAsNonRoot works
    assert ("ARG", "KEDRO_UID=999") in steps
    useradd = next(a for k, a in steps if k == "RUN" and "useradd" in a)
    assert '-d "/opt/flights"' in useradd and '-u "${KEDRO_UID}"' in useradd


def test_kedro_argo_is_pinned_with_the_extras_the_config_needs() -> None:
    assert kedro_argo_requirement(config()) == f"kedro-argo=={__version__}"
    s3 = config(data={"root": "s3://bucket/runs"})
    assert kedro_argo_requirement(s3) == f"kedro-argo[s3]=={__version__}"
    both = config(data={"root": "gs://bucket/runs", "compression": "lz4"})
    assert kedro_argo_requirement(both) == f"kedro-argo[gcs,lz4]=={__version__}"
    text = render_dockerfile(both, project_name="demo", source="x")
    assert f'-r requirements.txt "kedro-argo[gcs,lz4]=={__version__}"' in text


@pytest.mark.parametrize("project_dir", ["relative/dir", "/", "/home/my project", "/a/../b", "$X"])
def test_a_project_dir_that_cannot_be_a_workdir_is_refused(project_dir: str) -> None:
    # relative ones already fail in the config model; the rest on the WORKDIR rule
    refused = r"cannot be the image's WORKDIR|must be an absolute path in the image"
    with pytest.raises(ConfigError, match=refused) as raised:
        render_dockerfile(config(project_dir=project_dir), project_name="demo", source="argo.yml")
    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith("argo.yml: project_dir")


def test_dockerignore_keeps_secrets_state_and_outputs_out() -> None:
    lines = {
        line
        for line in render_dockerignore(project_name="demo").splitlines()
        if line and not line.startswith("#")
    }
    for pattern in (".git", ".venv", ".kedro-argo", "conf/local/**", "conf/**/*credentials*"):
        assert pattern in lines
    # outputs out, the folder layout and raw inputs in (the pods write and read there)
    assert {"data/**", "!data/**/.gitkeep", "!data/01_raw/**"} <= lines
