"""`kedro argo init --with-dockerfile --with-github-actions`: which files it writes, what it
reads from an existing argo.yml, and that it never overwrites a file without --force."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kedro_argo import __version__
from kedro_argo.errors import ConfigError
from kedro_argo.scaffold import (
    CONFIG_PATH,
    DOCKERFILE_PATH,
    DOCKERIGNORE_PATH,
    WORKFLOW_PATH,
    init_project,
)

from ..compile.support import assert_cli_error, invoke, update_config
from ..sample_project import copy_project

ALL_FLAGS = ("--with-dockerfile", "--with-github-actions")
EXTRAS = (DOCKERFILE_PATH, DOCKERIGNORE_PATH, WORKFLOW_PATH)
SENTINEL = "# the user's own file\n"


@pytest.fixture(autouse=True)
def plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    monkeypatch.delenv("KEDRO_ENV", raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the sample project: it has an argo.yml (image on ghcr.io, data root on s3)."""
    return copy_project(tmp_path / "spaceflights")


@pytest.fixture
def bare_project(project: Path) -> Path:
    (project / CONFIG_PATH).unlink()
    return project


def workflow_env(project: Path) -> dict[str, str]:
    return yaml.safe_load((project / WORKFLOW_PATH).read_text())["env"]


def test_a_bare_project_gets_every_file(bare_project: Path) -> None:
    result = invoke(bare_project, "init", *ALL_FLAGS, "--image", "ghcr.io/acme/flights:3")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "Wrote conf/base/argo.yml, Dockerfile, .dockerignore, .github/workflows/kedro-argo.yml."
    )
    assert "REGISTRY_USERNAME, REGISTRY_PASSWORD, ARGO_SERVER, ARGO_TOKEN" in result.stdout
    config = yaml.safe_load((bare_project / CONFIG_PATH).read_text())
    assert config["image"] == "ghcr.io/acme/flights:3"
    dockerfile = (bare_project / DOCKERFILE_PATH).read_text()
    assert "\nWORKDIR /home/kedro_docker\n" in dockerfile
    assert f'"kedro-argo=={__version__}"' in dockerfile  # no data root yet: no extra
    assert workflow_env(bare_project)["IMAGE_REPOSITORY"] == "ghcr.io/acme/flights"


def test_plain_init_writes_argo_yml_only(bare_project: Path) -> None:
    assert invoke(bare_project, "init").exit_code == 0
    for path in EXTRAS:
        assert not (bare_project / path).exists()


def test_the_extras_read_an_existing_argo_yml_and_keep_it(project: Path) -> None:
    update_config(project, project_dir="/opt/flights", image="registry.example.com/t/f:9")
    before = (project / CONFIG_PATH).read_bytes()
    result = invoke(project, "init", *ALL_FLAGS)
    assert result.exit_code == 0, result.output
    assert "Wrote Dockerfile, .dockerignore, .github/workflows/kedro-argo.yml." in result.stdout
    assert "Kept conf/base/argo.yml" in result.stdout
    assert (project / CONFIG_PATH).read_bytes() == before
    dockerfile = (project / DOCKERFILE_PATH).read_text()
    assert "\nWORKDIR /opt/flights\n" in dockerfile
    assert f'"kedro-argo[s3]=={__version__}"' in dockerfile  # the sample's s3:// data root
    assert workflow_env(project) == {
        "IMAGE_REPOSITORY": "registry.example.com/t/f",
        "REGISTRY": "registry.example.com",
        "KEDRO_DISABLE_TELEMETRY": "true",
    }


def test_the_extras_follow_a_conf_local_overlay_as_compile_does(project: Path) -> None:
    local = project / "conf" / "local" / "argo.yml"
    local.write_text("project_dir: /srv/app\n")
    assert invoke(project, "init", "--with-dockerfile").exit_code == 0
    assert "\nWORKDIR /srv/app\n" in (project / DOCKERFILE_PATH).read_text()


@pytest.mark.parametrize(
    ("flags", "existing"),
    [
        ((), CONFIG_PATH),
        (("--with-dockerfile",), DOCKERFILE_PATH),
        (("--with-dockerfile",), DOCKERIGNORE_PATH),
        (("--with-github-actions",), WORKFLOW_PATH),
        (ALL_FLAGS, WORKFLOW_PATH),
    ],
    ids=["argo.yml", "Dockerfile", ".dockerignore", "workflow", "workflow-with-both-flags"],
)
def test_init_never_overwrites_without_force(
    project: Path, flags: tuple[str, ...], existing: Path
) -> None:
    target = project / existing
    target.parent.mkdir(parents=True, exist_ok=True)
    if existing != CONFIG_PATH:
        target.write_text(SENTINEL)
    before = target.read_bytes()
    result = invoke(project, "init", *flags)
    assert_cli_error(result, f"{existing} already exists", "--force")
    assert target.read_bytes() == before
    for other in EXTRAS:  # a refusal writes nothing at all
        if other != existing:
            assert not (project / other).exists(), other


def test_several_existing_files_are_named_in_one_line(project: Path) -> None:
    for path in (DOCKERFILE_PATH, DOCKERIGNORE_PATH):
        (project / path).write_text(SENTINEL)
    result = invoke(project, "init", *ALL_FLAGS)
    assert_cli_error(result, "Dockerfile, .dockerignore already exist", "--force")
    assert not (project / WORKFLOW_PATH).exists()


def test_force_overwrites_the_extras_and_still_keeps_argo_yml(project: Path) -> None:
    before = (project / CONFIG_PATH).read_bytes()
    for path in EXTRAS:
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(SENTINEL)
    result = invoke(project, "init", "--force", *ALL_FLAGS)
    assert result.exit_code == 0, result.output
    for path in EXTRAS:
        assert (project / path).read_text() != SENTINEL, path
    assert (project / CONFIG_PATH).read_bytes() == before


def test_a_project_dir_unfit_for_a_workdir_is_one_error_line(project: Path) -> None:
    update_config(project, project_dir="/home/my project")
    result = invoke(project, "init", "--with-dockerfile")
    assert_cli_error(result, "conf/base/argo.yml: project_dir '/home/my project'", "WORKDIR")
    assert not (project / DOCKERFILE_PATH).exists()


def test_an_existing_image_that_would_break_the_workflow_is_one_error_line(
    project: Path,
) -> None:
    update_config(project, image='ghcr.io/a/b:1" x')
    result = invoke(project, "init", "--with-github-actions")
    assert_cli_error(result, "conf/base/argo.yml: image: 'ghcr.io/a/b:1\" x' is not a container")
    assert not (project / WORKFLOW_PATH).exists()


@pytest.mark.parametrize("name", ["two\nlines", "tab\there", "   "])
def test_a_project_name_that_could_add_lines_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="must be one line of printable text"):
        init_project(tmp_path, project_name=name, package_name="demo", dockerfile=True)
    assert not list(tmp_path.iterdir())
