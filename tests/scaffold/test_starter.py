"""`kedro new --starter argo-spaceflights`: found through the kedro.starters entry point,
works offline, and the project it creates has argo.yml, the Dockerfile and the workflow in
place and runs `kedro argo run-local` and `kedro argo compile` right away.

One project is created per module (``kedro new`` in a child process, as a user runs it); the
tests that follow only read it, except run-local, which writes under data/ and .kedro-argo/.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from kedro_argo import __version__
from kedro_argo.config import parse_config
from kedro_argo.errors import ConfigError
from kedro_argo.scaffold import (
    CONFIG_PATH,
    DOCKERFILE_PATH,
    DOCKERIGNORE_PATH,
    WORKFLOW_PATH,
    finish_starter_project,
    render_dockerfile,
    render_workflow,
    starter_template_path,
)
from kedro_argo.starter import STARTER_ALIAS

from ..sample_project import KEDRO, SAMPLE, base_env, kedro
from ..validator import assert_valid
from .tools import check_workflow_schema, hadolint

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
STARTER = TEMPLATES / "starter"
PROJECT_TEMPLATE = STARTER / "{{ cookiecutter.repo_name }}"
PACKAGE = "{{ cookiecutter.python_package }}"

# Starter files derived from examples/spaceflights: the example's text with the package name
# replaced. When one of them drifts, copy the example's file over the starter's and replace
# `spaceflights` with `{{ cookiecutter.python_package }}`.
DERIVED = {
    "gitignore": ".gitignore",
    "conf/logging.yml": "conf/logging.yml",
    f"src/{PACKAGE}/__main__.py": "src/spaceflights/__main__.py",
}


def new_env(tmp: Path) -> dict[str, str]:
    """Cookiecutter's replay files and clones go to the test's folder, not ~/."""
    config = tmp / "cookiecutter.yaml"
    config.write_text(
        yaml.safe_dump(
            {"cookiecutters_dir": str(tmp / "cookiecutters"), "replay_dir": str(tmp / "replay")}
        )
    )
    return base_env(COOKIECUTTER_CONFIG=str(config))


def kedro_new(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KEDRO, "new", "--starter", STARTER_ALIAS, "--telemetry", "no", *args],
        cwd=cwd,
        env=new_env(cwd),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def created(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The project `kedro new --starter argo-spaceflights --name "Argo Demo"` creates, and
    what the command printed."""
    where = tmp_path_factory.mktemp("starter")
    result = kedro_new(where, "--name", "Argo Demo")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return where / "argo-demo", output


@pytest.fixture(scope="module")
def starter_project(created: tuple[Path, str]) -> Path:
    return created[0]


def test_kedro_finds_the_starter_through_the_entry_point() -> None:
    from kedro.framework.cli.starters import _get_starters_dict

    spec = _get_starters_dict()[STARTER_ALIAS]
    assert spec.origin == "kedro_argo"
    assert starter_template_path() == spec.template_path
    shipped = Path(spec.template_path) / "cookiecutter.json"  # the package data, installed
    assert shipped.read_text() == (STARTER / "cookiecutter.json").read_text()


def test_the_project_has_argo_yml_dockerfile_and_workflow(created: tuple[Path, str]) -> None:
    project, output = created
    for path in (CONFIG_PATH, DOCKERFILE_PATH, DOCKERIGNORE_PATH, WORKFLOW_PATH):
        assert (project / path).is_file(), path
    assert (project / ".gitignore").is_file() and not (project / "gitignore").exists()
    assert (project / "conf" / "local" / ".gitkeep").is_file()
    assert (project / "data" / "08_reporting" / ".gitkeep").is_file()
    assert (project / ".telemetry").read_text() == "consent: false"
    assert "Wrote conf/base/argo.yml, Dockerfile, .dockerignore" in output
    metadata = (project / "pyproject.toml").read_text()
    assert 'package_name = "argo_demo"' in metadata and 'project_name = "Argo Demo"' in metadata


def test_nothing_is_left_unrendered(starter_project: Path) -> None:
    checked = 0
    for path in sorted(starter_project.rglob("*")):
        relative = path.relative_to(starter_project)
        if not path.is_file() or relative.parts[0] == ".kedro-argo" or path.suffix == ".pyc":
            continue
        text = path.read_text()
        if relative == WORKFLOW_PATH:
            text = re.sub(r"\$\{\{[^}]*\}\}", "", text)  # GitHub's own expressions
        assert "{{" not in text and "{%" not in text, relative
        checked += 1
    assert checked >= 20


def test_argo_yml_validates_and_the_scaffolds_match_init(starter_project: Path) -> None:
    text = (starter_project / CONFIG_PATH).read_text()
    config = parse_config(yaml.safe_load(text), source="argo.yml")
    assert config.image == "argo-demo:latest"
    assert config.data.root == "s3://argo-demo-argo/intermediate"
    assert config.data.local_root == ".kedro-argo/data"
    assert (starter_project / DOCKERFILE_PATH).read_text() == render_dockerfile(
        config, project_name="Argo Demo", source="x"
    )
    assert (starter_project / WORKFLOW_PATH).read_text() == render_workflow(
        config, project_name="Argo Demo"
    )


def test_its_dockerfile_and_workflow_pass_the_linters(
    starter_project: Path, tmp_path: Path
) -> None:
    assert hadolint(starter_project / DOCKERFILE_PATH, tmp_path) == []
    result = check_workflow_schema(starter_project / WORKFLOW_PATH)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_runs_locally_right_after_creation(starter_project: Path) -> None:
    result = kedro(starter_project, "argo", "run-local", "--no-progress")
    assert "succeeded" in result.stdout + result.stderr
    reports = starter_project / "data" / "08_reporting"
    summary = json.loads((reports / "price_summary.json").read_text())
    assert summary["Type F5"] == {
        "shuttles": 3,
        "mean_price": 2127.18,
        "min_price": 1899.99,
        "max_price": 2346.14,
    }
    cheapest = json.loads((reports / "cheapest_seats.json").read_text())
    assert [row["id"] for row in cheapest] == [60012, 60018, 60009]
    # the undeclared intermediate went through the local data root, under the run's prefix
    exchanged = list((starter_project / ".kedro-argo" / "data").glob("*/preprocessed_shuttles"))
    assert len(exchanged) == 1


def test_it_compiles_to_a_valid_manifest(starter_project: Path, tmp_path: Path) -> None:
    target = tmp_path / "workflow.yaml"
    kedro(starter_project, "argo", "compile", "-o", str(target))
    manifest = yaml.safe_load(target.read_text())
    assert_valid(manifest)
    (dag,) = [t["dag"] for t in manifest["spec"]["templates"] if "dag" in t]
    assert len(dag["tasks"]) == 3  # a pod per node: one preprocessing step, two reports
    container = manifest["spec"]["templateDefaults"]["container"]
    assert container["image"] == "argo-demo:latest"


def test_image_and_data_root_come_from_a_kedro_new_config_file(tmp_path: Path) -> None:
    config = tmp_path / "new.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "project_name": "Flights",
                "output_dir": str(tmp_path),
                "image": "ghcr.io/acme/flights:0.1",
                "data_root": "gs://acme-runs/flights",
            }
        )
    )
    result = kedro_new(tmp_path, "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    project = tmp_path / "flights"
    argo = yaml.safe_load((project / CONFIG_PATH).read_text())
    assert argo["image"] == "ghcr.io/acme/flights:0.1"
    assert argo["data"]["root"] == "gs://acme-runs/flights"
    assert f'"kedro-argo[gcs]=={__version__}"' in (project / DOCKERFILE_PATH).read_text()
    env = yaml.safe_load((project / WORKFLOW_PATH).read_text())["env"]
    assert env["IMAGE_REPOSITORY"] == "ghcr.io/acme/flights"


def test_the_hook_refuses_bad_values_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a container image reference") as raised:
        finish_starter_project(
            tmp_path, project_name="x", package_name="x", image="a b", data_root=None
        )
    assert "\n" not in str(raised.value)
    with pytest.raises(ConfigError, match="data root"):
        finish_starter_project(
            tmp_path, project_name="x", package_name="x", image="a:1", data_root="s3://b/x y"
        )
    assert not (tmp_path / CONFIG_PATH).exists()


@pytest.mark.parametrize("starter_file", DERIVED, ids=DERIVED.values())
def test_derived_files_match_the_example(starter_file: str) -> None:
    example = (SAMPLE / DERIVED[starter_file]).read_text()
    expected = example.replace("spaceflights", PACKAGE)
    assert (PROJECT_TEMPLATE / starter_file).read_text() == expected, (
        f"templates/starter/.../{starter_file} drifted from examples/spaceflights/"
        f"{DERIVED[starter_file]}: copy it over, replacing 'spaceflights' with {PACKAGE!r}"
    )


def test_templates_hold_no_dotfiles() -> None:
    """setuptools' package-data globs skip dotfiles: they would be missing from the wheel
    (the starter's hook creates .gitignore and the .gitkeep files instead)."""
    hidden = [
        str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob(".*") if "__pycache__" not in p.parts
    ]
    assert not hidden
