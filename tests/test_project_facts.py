"""What compile learns from a real Kedro project, in edge cases a reviewer found."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kedro.pipeline import Pipeline, node

from kedro_argo.compiler.build import BuildRequest, build_manifest
from kedro_argo.compiler.project import step_hosts
from kedro_argo.gitinfo import commit_id
from tests.sample_project import base_env, copy_project


def identity(x: object) -> object:
    return x


def test_a_pipeline_that_remaps_a_node_cannot_host_it() -> None:
    base = Pipeline([node(identity, "raw", "out", name="n")])
    default = Pipeline(base, outputs={"out": "final"})
    hosts = step_hosts(default, {"base": base, "__default__": default})
    assert hosts == {"base": frozenset(), "__default__": frozenset({"n"})}


def test_compile_does_not_need_every_dataset_package(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "p")
    catalog = project / "conf/base/catalog.yml"
    catalog.write_text(
        catalog.read_text().replace(
            "companies:\n  type: pandas.CSVDataset", "companies:\n  type: spark.SparkDataset", 1
        )
    )
    built = build_manifest(BuildRequest(project_path=project))
    assert "model_input_table" in built.facts.versioned_datasets
    assert "companies" not in built.facts.exchanged_datasets


def test_untracked_files_do_not_make_the_commit_dirty(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q")
    (repo / "a.txt").write_text("a")
    git("add", "a.txt")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    clean = commit_id(repo)
    (repo / "argo-workflow.yaml").write_text("kind: Workflow\n")
    assert commit_id(repo) == clean and not clean.endswith("-dirty")
    (repo / "a.txt").write_text("changed")
    assert commit_id(repo) == f"{clean}-dirty"


def argo_config_in_a_fresh_process(project: Path, expression: str) -> str:
    """Kedro caches the project's modules and settings per process: edited copies of the
    sample must be read in a process of their own."""
    code = (
        "import sys; from pathlib import Path; "
        "from kedro_argo.compiler.project import load_argo_config;"
        f"print(load_argo_config(Path(sys.argv[1])).{expression})"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(project)], capture_output=True, text=True, env=base_env()
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_config_follows_the_projects_base_env(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "p")
    (project / "conf/base").rename(project / "conf/common")
    settings = project / "src/spaceflights/settings.py"
    settings.write_text(settings.read_text().replace('"base_env": "base"', '"base_env": "common"'))
    assert argo_config_in_a_fresh_process(project, "image") == "ghcr.io/example/spaceflights:1.0.0"


def test_server_commands_read_argo_yml_without_the_pipelines(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "p")
    registry = project / "src/spaceflights/pipeline_registry.py"
    registry.write_text(
        registry.read_text().replace(
            "    pipelines = find_pipelines(raise_errors=True)\n",
            "    raise RuntimeError('pipelines must not be loaded')\n",
        )
    )
    root = argo_config_in_a_fresh_process(project, "data.root")
    assert root == "s3://spaceflights-argo/intermediate"
