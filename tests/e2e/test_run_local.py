"""`kedro argo run-local` end to end on the sample project: the compiled manifest runs step by
step, intermediate data on a local path, moto S3 or fake GCS, and the declared outputs equal
`kedro run`'s; failures are retried as configured, stop downstream steps, run the exit
handler; timeouts are enforced; unsupported manifests are refused."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from kedro.framework.startup import bootstrap_project

from kedro_argo.cli import commands
from kedro_argo.local.run import LocalRequest, run_local
from tests.sample_project import (
    KEDRO,
    base_env,
    copy_project,
    declared_outputs,
    kedro,
    update_config,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = copy_project(tmp_path_factory.mktemp("ref") / "spaceflights")
    kedro(project, "run")
    kedro(project, "run", "--pipeline", "notify")  # --pipelines is Kedro >= 1.2
    return declared_outputs(project)


#: --group-by → the pods a run of the sample starts (the exit handler included) and whether
#: intermediate objects go to the data root. memory: every intermediate of the sample is
#: memory-linked (free or MemoryDataset), so none leaves its pod; tag: see tag_groups().
GROUPINGS = {
    "none": (13, True),
    "memory": (7, False),
    "namespace": (9, True),
    "tag": (6, False),
}


def tag_groups(project: Path) -> None:
    """Tag data_processing's nodes ``group.prep`` and both modelling namespaces' nodes
    ``group.modelling`` (reporting's stay alone)."""
    for pipeline, group in (("data_processing", "prep"), ("data_science", "modelling")):
        path = project / "src/spaceflights/pipelines" / pipeline / "pipeline.py"
        path.write_text(
            path.read_text() + "\n\n_untagged = create_pipeline\n\n\n"
            "def create_pipeline(**kwargs) -> Pipeline:\n"
            f"    return Pipeline(_untagged(**kwargs), tags='group.{group}')\n"
        )


@pytest.mark.parametrize("group_by", list(GROUPINGS))
def test_embedded_default_needs_no_server_and_matches_kedro_run(
    tmp_path: Path, reference_outputs: dict[str, Any], group_by: str
) -> None:
    project = copy_project(tmp_path / "spaceflights")
    if group_by == "tag":
        tag_groups(project)
    result = subprocess.run(
        [KEDRO, "argo", "run-local", "--no-progress", "--group-by", group_by],
        cwd=project,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "succeeded" in result.stderr.lower()
    outputs = declared_outputs(project)
    assert outputs.pop("08_reporting/run_status.json") == {"status": "Succeeded"}
    reference = dict(reference_outputs)
    reference.pop("08_reporting/run_status.json")
    assert outputs == reference
    pods, exchanges = GROUPINGS[group_by]
    state = project / ".kedro-argo"
    assert (state / ".gitignore").read_text().strip().endswith("*")
    stored = [p for p in (state / "data").rglob("*") if p.is_file()]
    if exchanges:
        assert "preprocessed_companies" in {p.name for p in stored}, "should sit in .kedro-argo"
    else:
        assert stored == [], "memory-linked intermediates must stay in their pod"
    logs = list((state / "logs").rglob("*.log"))
    assert len(logs) == pods


#: A pipeline passing a live resource between nodes, in memory (an undeclared dataset). Kedro
#: hands free datasets over by deepcopy (a bare threading.Lock would fail even `kedro run`);
#: like many client objects, this one copies as itself, but it cannot be pickled.
CONNECTION_PIPELINE = """\
import threading

from kedro.pipeline import Pipeline, node


class Connection:
    def __init__(self):
        self.lock = threading.Lock()

    def __deepcopy__(self, memo):
        return self


def connect():
    return Connection()


def use(connection):
    with connection.lock:
        return None


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(connect, None, "live_connection", name="connect_node"),
            node(use, "live_connection", None, name="use_connection_node"),
        ]
    )
"""


def run_local_cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``kedro argo run-local`` in a process of its own: a project changed by a test must
    not stay imported in this one (the next test's copy has the same package name)."""
    return subprocess.run(
        [KEDRO, "argo", "run-local", "--no-progress", *args],
        cwd=project,
        env=base_env(COLUMNS="250"),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_an_unpicklable_intermediate_fails_its_step_unless_grouped_by_memory(
    tmp_path: Path,
) -> None:
    project = copy_project(tmp_path / "spaceflights")
    package = project / "src/spaceflights/pipelines/connection"
    package.mkdir()
    (package / "__init__.py").write_text(CONNECTION_PIPELINE)
    update_config(project, workflow={"on_exit_pipeline": None}, nodes={"defaults": {"retry": None}})

    apart = run_local_cli(project, "-p", "connection")
    assert apart.returncode == 1, apart.stderr[-3000:]
    # The summary, then the failed step's log tail with the pod's one-line error.
    rows = {line.split("│")[1].strip(): line for line in apart.stderr.splitlines() if "│" in line}
    assert re.search(r"│ failed +│ +1 │", rows["connect-node"]), rows
    assert re.search(r"│ omitted +│ +0 │", rows["use-connection-node"]), rows
    tail = apart.stderr.split("connect-node: last lines of", 1)[1]
    [line] = [x for x in tail.splitlines() if x.startswith("kedro-argo: step failed: ")] or [tail]
    for fragment in ("'live_connection'", "cannot be pickled", "'connect_node'"):
        assert fragment in line, line
    assert "'use_connection_node'" in line and "--group-by memory" in line, line
    assert "Traceback" not in tail  # one clear line, even where Kedro wraps dataset errors

    together = run_local_cli(project, "-p", "connection", "--group-by", "memory")
    assert together.returncode == 0, together.stderr[-3000:]
    [row] = [line for line in together.stderr.splitlines() if "connect_node" in line]
    assert re.search(r"│ connect_node, use_connection_node +│ done +│ +1 │", row), row


@pytest.mark.parametrize("store", ["s3", "gcs"])
def test_object_stores_match_kedro_run(
    tmp_path: Path, store: str, request: pytest.FixtureRequest, reference_outputs: dict[str, Any]
) -> None:
    root = request.getfixturevalue(f"{store}_bucket")
    project = copy_project(tmp_path / "spaceflights")
    result = run_local(
        LocalRequest(project_path=project, data_root=f"{root}intermediate", progress=False)
    )
    assert result.succeeded, [(s.name, s.log_tail) for s in result.failed_steps]
    outputs = declared_outputs(project)
    outputs.pop("08_reporting/run_status.json")
    reference = dict(reference_outputs)
    reference.pop("08_reporting/run_status.json")
    assert outputs == reference

    import fsspec

    fs, path = fsspec.core.url_to_fs(f"{root}intermediate/{result.workflow_uid}")
    fs.invalidate_cache()
    assert "preprocessed_companies" in {Path(p).name for p in fs.ls(path)}


def test_failing_node_is_retried_then_fails_the_run_and_the_exit_handler_runs(
    tmp_path: Path,
) -> None:
    project = copy_project(tmp_path / "spaceflights")
    nodes = project / "src/spaceflights/pipelines/data_processing/nodes.py"
    nodes.write_text(
        nodes.read_text()
        + "\n\ndef _broken(*args, **kwargs):\n    raise RuntimeError('table builder exploded')\n\n"
        "create_model_input_table = _broken\n"
    )
    update_config(
        project,
        nodes={
            "names": {
                "create_model_input_table_node": {
                    "retry": {"limit": 1, "backoff": {"duration": "100ms"}}
                }
            }
        },
    )
    result = run_local(LocalRequest(project_path=project, progress=False))
    assert not result.succeeded
    failed = result.step("create-model-input-table-node")
    assert failed.attempts == 2
    assert "table builder exploded" in (failed.log_tail or "")
    for downstream in ("active-modelling-pipeline-split-data-node", "compare-models-node"):
        assert result.step(downstream).phase.value == "Omitted"
        assert result.step(downstream).attempts == 0
    status = json.loads((project / "data/08_reporting/run_status.json").read_text())
    assert status == {"status": "Failed"}

    runner = CliRunner()
    cli = runner.invoke(
        commands,
        ["argo", "run-local", "-p", "data_processing", "--no-progress"],
        obj=bootstrap_project(project),
        catch_exceptions=False,
    )
    assert cli.exit_code == 1
    assert "Traceback" not in cli.output


def test_timeout_is_enforced(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "spaceflights")
    nodes = project / "src/spaceflights/pipelines/data_processing/nodes.py"
    nodes.write_text(
        nodes.read_text() + "\n\nimport time as _time\n\n_real = preprocess_shuttles\n\n"
        "def preprocess_shuttles(*args, **kwargs):\n    _time.sleep(600)\n"
        "    return _real(*args, **kwargs)\n"
    )
    update_config(
        project,
        nodes={"names": {"preprocess_shuttles_node": {"timeout": "4s", "retry": {"limit": 0}}}},
        workflow={"on_exit_pipeline": None},
    )
    result = run_local(
        LocalRequest(project_path=project, pipeline="data_processing", progress=False)
    )
    assert not result.succeeded
    step = result.step("preprocess-shuttles-node")
    assert step.phase.value == "Failed"
    assert step.attempts == 1
    assert "timeout 4.00s" in step.message, step.message
    assert step.duration is not None and step.duration < 300  # killed, not its 600 s sleep
    assert result.step("create-model-input-table-node").phase.value == "Omitted"


def test_unsupported_manifest_feature_is_refused_before_running(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "spaceflights")
    obj = bootstrap_project(project)
    runner = CliRunner()
    out = tmp_path / "wf.yaml"
    compiled = runner.invoke(commands, ["argo", "compile", "-p", "notify", "-o", str(out)], obj=obj)
    assert compiled.exit_code == 0, compiled.output
    manifest = yaml.safe_load(out.read_text())
    manifest["spec"]["templates"][0]["dag"]["tasks"][0]["withParam"] = "[1, 2]"
    out.write_text(yaml.safe_dump(manifest))
    result = runner.invoke(commands, ["argo", "run-local", "--manifest", str(out)], obj=obj)
    assert result.exit_code == 1
    assert "withParam" in result.output
    assert "Traceback" not in result.output
    assert not (project / "data/08_reporting/run_status.json").exists()
