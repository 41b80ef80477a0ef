"""In-pod runtime behaviours beyond data exchange: the ``argo`` resolver with no settings.py
edit, opting out with DISABLE_HOOKS_FOR_PLUGINS, and one save version per workflow run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.sample_project import base_env, copy_project, kedro

pytestmark = pytest.mark.slow
BANNER = ["--pipeline=reporting", "--nodes=write_report_banner_node"]


def step(project: Path, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kedro_argo", "step", *args],
        cwd=project,
        env=base_env(**env),
        capture_output=True,
        text=True,
    )


def use_resolvers(project: Path) -> None:
    """Put ``${argo:run_id}`` in a catalog path and ``${argo:commit_id}`` in a parameter."""
    catalog = project / "conf/base/catalog.yml"
    text = catalog.read_text().replace(
        "filepath: data/08_reporting/report_banner.txt",
        "filepath: data/08_reporting/${argo:run_id}/report_banner.txt",
    )
    catalog.write_text(text)
    params = project / "conf/base/parameters.yml"
    params.write_text(
        params.read_text().replace(
            "title: Spaceflights shuttle price models", 'title: "Built from ${argo:commit_id}"'
        )
    )


def test_resolvers_read_the_workflow_env_in_a_pod(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "p")
    use_resolvers(project)
    result = step(
        project,
        BANNER,
        KEDRO_ARGO_RUN_ID="run-123",
        KEDRO_ARGO_COMMIT_ID="deadbeef",
        KEDRO_ARGO_DATA_ROOT=str(tmp_path / "store"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    banner = project / "data/08_reporting/run-123/report_banner.txt"
    assert banner.read_text() == "Built from deadbeef\n"


def test_resolvers_fall_back_locally_so_kedro_run_still_works(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "p")
    use_resolvers(project)
    kedro(project, "run", "--nodes", "write_report_banner_node")
    written = list((project / "data/08_reporting").glob("*/report_banner.txt"))
    assert len(written) == 1
    run_id = written[0].parent.name
    assert run_id[:4].isdigit() and run_id.endswith("Z")  # Kedro's timestamp format
    assert written[0].read_text() == "Built from unknown\n"  # not a git checkout


def test_disabling_the_plugin_hooks_disables_the_resolver(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "p")
    settings = project / "src/spaceflights/settings.py"
    settings.write_text(settings.read_text() + '\nDISABLE_HOOKS_FOR_PLUGINS = ("kedro-argo",)\n')
    kedro(project, "run", "--nodes", "write_report_banner_node")  # untouched project: works
    assert (project / "data/08_reporting/report_banner.txt").exists()
    use_resolvers(project)
    result = kedro(project, "run", "--nodes", "write_report_banner_node", check=False)
    assert result.returncode != 0
    assert "argo" in (result.stdout + result.stderr)


def test_steps_of_one_run_share_one_save_version_even_when_runs_overlap(tmp_path: Path) -> None:
    """Run A saves model_input_table, then run B saves a newer version; A's downstream step
    must still load A's version (Kedro alone would load the latest, B's)."""
    project = copy_project(tmp_path / "p")
    store = str(tmp_path / "store")
    make_table = ["--pipeline=data_processing"]
    runs = {"a": "2030-01-01T00:00:00Z", "b": "2030-01-01T00:05:00Z"}
    for run_id, created in runs.items():
        env = {"KEDRO_ARGO_RUN_ID": run_id, "KEDRO_ARGO_DATA_ROOT": store}
        result = step(project, make_table, KEDRO_ARGO_WORKFLOW_CREATED=created, **env)
        assert result.returncode == 0, result.stderr[-2000:]
    versions = sorted((project / "data/03_primary/model_input_table.csv").iterdir())
    assert [v.name[:19] for v in versions] == ["2030-01-01T00.00.00", "2030-01-01T00.05.00"]
    newest = versions[-1] / "model_input_table.csv"
    newest.write_text("not,the,table\n1,2,3\n")  # run B's version: unusable by run A

    split = ["--pipeline=data_science", "--nodes=active_modelling_pipeline.split_data_node"]
    env_a = {"KEDRO_ARGO_RUN_ID": "a", "KEDRO_ARGO_DATA_ROOT": store}
    pinned = step(
        project,
        split,
        KEDRO_ARGO_WORKFLOW_CREATED=runs["a"],
        KEDRO_ARGO_PIN_VERSIONS='["model_input_table"]',
        **env_a,
    )
    assert pinned.returncode == 0, pinned.stderr[-2000:]
    unpinned = step(project, split, KEDRO_ARGO_WORKFLOW_CREATED=runs["a"], **env_a)
    assert unpinned.returncode == 1  # what pinning prevents: the latest (B's) table is loaded


def test_a_retried_step_can_save_its_versioned_output_again(tmp_path: Path) -> None:
    """A retry saves at the same pinned version: what the failed attempt left is replaced."""
    project = copy_project(tmp_path / "p")
    env = {
        "KEDRO_ARGO_RUN_ID": "r",
        "KEDRO_ARGO_DATA_ROOT": str(tmp_path / "store"),
        "KEDRO_ARGO_WORKFLOW_CREATED": "2030-01-01T00:00:00Z",
    }
    for attempt in (1, 2):
        result = step(project, ["--pipeline=data_processing"], **env)
        assert result.returncode == 0, f"attempt {attempt}: {result.stderr[-2000:]}"
    versions = list((project / "data/03_primary/model_input_table.csv").iterdir())
    assert len(versions) == 1
