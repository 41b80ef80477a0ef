"""``kedro_argo.testing``: a workflow compiled and run through local mode from Python, its
steps' status, duration and log, and loaders for what it produced; in this process or a child
one, several times in one process, whatever the current directory.

The mini projects run a step in about a second; each project has a package name of its own
(the tests that share one do so on purpose)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kedro_argo.errors import ProjectError
from kedro_argo.testing import DatasetNotProducedError, StepPhase, WorkflowPhase, run_locally

from .mini_project import write_project
from .sample_project import base_env, copy_project, update_config

pytestmark = pytest.mark.slow

CHAIN_NODES = """\
def double(x):
    return x * 2


def add(a, b):
    return a + b
"""

CHAIN = """\
return {
    "__default__": Pipeline(
        [
            node(double, "params:x", "doubled", name="double_node"),
            node(add, ["doubled", "params:y"], "result", name="add_node"),
        ]
    )
}
"""

#: ``result`` is declared and versioned: each run saves its own version, and loads it back.
CHAIN_CATALOG = {
    "result": {"type": "pickle.PickleDataset", "filepath": "data/result.pkl", "versioned": True}
}


def chain_project(root: Path, package: str) -> Path:
    return write_project(
        root,
        package=package,
        registry=CHAIN,
        nodes=CHAIN_NODES,
        catalog=CHAIN_CATALOG,
        parameters={"x": 2, "y": 3},
    )


@pytest.fixture(scope="module", autouse=True)
def _no_telemetry() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
        yield


def test_a_run_reports_its_steps_and_loads_what_it_produced(tmp_path: Path) -> None:
    project = chain_project(tmp_path / "project", "testing_api_chain")
    # compiled here whatever ran before in this worker (another project may be configured)
    run = run_locally(project, workdir=tmp_path / "runs", isolate=False)
    run.assert_succeeded()
    assert run.succeeded and run.phase is WorkflowPhase.SUCCEEDED and not run.isolated
    assert list(run.steps) == ["double-node", "add-node"]
    for step in run.steps.values():
        assert step.status == "Succeeded" and step.succeeded
        assert (step.attempts, step.exit_code) == (1, 0)
        assert step.duration is not None and step.duration > 0
        assert step.log_path is not None and step.log_path.is_relative_to(run.folder)
    add = run.steps["add-node"]
    assert add.nodes == ("add_node",) and add.outputs == {"result"}
    assert "Running node: add_node" in add.log and "attempt 1 Succeeded" in add.log_tail(3)
    assert run.step_of("add_node") is add
    with pytest.raises(KeyError, match=r"runs node 'nope' \(nodes: add_node, double_node\)"):
        run.step_of("nope")
    assert "double-node" in run.summary and run.name in run.summary
    assert run.produced == {"doubled", "result"}
    assert (run.load("doubled"), run.load("result")) == (4, 7)  # the data root; the catalog
    for name in ("nope", "params:x"):
        with pytest.raises(DatasetNotProducedError) as caught:
            run.load(name)
        assert str(caught.value) == (
            f"Dataset '{name}' is not an output of any node of workflow {run.name} "
            "(pipeline '__default__'); the run produced: doubled, result."
        )
    # nothing in the project but the catalog's own files
    assert not (project / ".kedro-argo").exists()
    assert Path(run.data_root).is_relative_to(run.folder)

    # Again with other parameters: still compiled here (nothing changed), and each run loads
    # the version of the versioned dataset it saved, not the latest.
    other = run_locally(project, params={"x": 5}, workdir=tmp_path / "runs")
    assert not other.isolated, other.isolated_because
    assert (other.load("doubled"), other.load("result")) == (10, 13)
    assert run.load("result") == 7
    versions = sorted(p.name for p in (project / "data" / "result.pkl").iterdir())
    assert versions == sorted([run.save_version, other.save_version])


def test_group_by_memory_runs_fewer_steps_with_the_same_outputs(tmp_path: Path) -> None:
    project = chain_project(tmp_path / "project", "testing_api_grouped")
    run = run_locally(project, group_by="memory", workdir=tmp_path).assert_succeeded()
    [step] = run.steps.values()
    assert step.nodes == ("double_node", "add_node") and run.grouping == "memory"
    assert run.load("result") == 7  # as apart (above)
    with pytest.raises(DatasetNotProducedError, match=r"'doubled' .* stayed in memory inside"):
        run.load("doubled")


def test_params_in_a_child_process_leave_this_process_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain_project(tmp_path / "project", "testing_api_child")
    monkeypatch.chdir(tmp_path)  # a relative project path; the steps run in the project
    run = run_locally("project", params={"y": 10}, isolate=True, workdir="runs")
    run.assert_succeeded()
    assert run.isolated and run.isolated_because == "isolate=True"
    assert (run.load("doubled"), run.load("result")) == (4, 14)  # "result": from a child too
    assert not [m for m in sys.modules if m.startswith("testing_api_child")]
    assert not list(run.folder.glob("*.job")), "the child's files are removed once read"


FAILING_NODES = """\
def make(x):
    return x + 1


def boom(value):
    raise RuntimeError(f"exploded on purpose with {value}")


def after(value):
    return value
"""

FAILING = """\
return {
    "__default__": Pipeline(
        [
            node(make, "params:x", "made", name="make_node"),
            node(boom, "made", "boomed", name="boom_node"),
            node(after, "boomed", "final", name="after_node"),
        ]
    )
}
"""


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("failing")
    return write_project(
        root / "project",
        package="testing_api_failing",
        registry=FAILING,
        nodes=FAILING_NODES,
        parameters={"x": 1},
    )


def test_a_failing_node_fails_its_step_and_assert_succeeded_says_why(
    failing: Path, tmp_path: Path
) -> None:
    run = run_locally(failing, workdir=tmp_path)
    assert not run.succeeded and run.phase is WorkflowPhase.FAILED
    boom, after = run.steps["boom-node"], run.steps["after-node"]
    assert (boom.status, boom.attempts, boom.exit_code) == (StepPhase.FAILED, 1, 1)
    assert "RuntimeError: exploded on purpose with 2" in boom.log
    assert (after.status, after.attempts, after.log) == (StepPhase.OMITTED, 0, "")
    assert run.failed_steps == (boom,)
    assert run.step_of("make_node").succeeded

    with pytest.raises(AssertionError) as caught:
        run.assert_succeeded()
    report = str(caught.value)
    assert report.startswith(f"workflow {run.name} Failed: step 'boom-node' failed")
    assert "step boom-node (boom_node) failed after 1 attempt(s), exit code 1" in report
    assert "  | kedro-argo: step failed: RuntimeError: exploded on purpose with 2" in report
    assert report.endswith("omitted: after-node")

    assert run.load("made") == 2
    with pytest.raises(DatasetNotProducedError) as not_produced:
        run.load("boomed")
    assert str(not_produced.value) == (
        "Dataset 'boomed' was not produced: step 'boom-node' (which runs node 'boom_node') "
        "failed; the run produced: made."
    )


@pytest.mark.parametrize("isolate", [False, True])
def test_what_stops_a_run_before_it_starts_raises_the_commands_error(
    failing: Path, tmp_path: Path, isolate: bool
) -> None:
    with pytest.raises(ProjectError, match=r"^Pipeline 'nope' is not registered \(available"):
        run_locally(failing, pipeline="nope", workdir=tmp_path, isolate=isolate)


TWIN = """\
return {{"__default__": Pipeline([node(lambda: "{word}", None, "{word}", name="say_{word}")])}}
"""


def test_same_package_elsewhere_or_changed_code_compiles_in_a_child(tmp_path: Path) -> None:
    """Kedro keeps a project's modules imported: a copy with the same package name, or the
    project after its code changed, must not be compiled from the stale modules."""
    first = write_project(
        tmp_path / "a", package="testing_api_twin", registry=TWIN.format(word="a")
    )
    run = run_locally(first, workdir=tmp_path / "runs", isolate=False).assert_succeeded()
    assert run.load("a") == "a"

    copy = write_project(
        tmp_path / "b", package="testing_api_twin", registry=TWIN.format(word="bb")
    )
    run = run_locally(copy, workdir=tmp_path / "runs").assert_succeeded()
    assert run.isolated and "is imported from" in (run.isolated_because or "")
    assert run.step_of("say_bb").outputs == {"bb"} and run.load("bb") == "bb"

    registry = first / "src" / "testing_api_twin" / "pipeline_registry.py"
    registry.write_text(registry.read_text().replace('"a"', '"ccc"').replace("say_a", "say_ccc"))
    run = run_locally(first, workdir=tmp_path / "runs").assert_succeeded()
    assert run.isolated and "changed since" in (run.isolated_because or "")
    assert run.load("ccc") == "ccc"


SWEPT = """\
return {
    "__default__": Pipeline(
        [
            node(double, "params:x", "doubled", name="double_node"),
            node(add, ["doubled", "params:y"], "total", name="add_node"),
            node(double, "total", "report", name="report_node"),
        ]
    )
}
"""


def test_a_sweep_tells_its_branches_apart(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "project",
        package="testing_api_sweep",
        registry=SWEPT,
        nodes=CHAIN_NODES,
        catalog={  # declared inside the branches: its path varies by branch
            "report": {"type": "json.JSONDataset", "filepath": "data/${argo:sweep}/report.json"}
        },
        parameters={"x": 2, "y": 3},
    )
    run = run_locally(
        project, sweeps={"y": [10, 20]}, max_parallel=1, workdir=tmp_path / "runs"
    ).assert_succeeded()
    assert run.branches == ("y-10", "y-20")
    shared = run.step_of("double_node")
    assert shared.branch is None and shared.attempts == 1  # upstream of the sweep: once
    with pytest.raises(KeyError, match="ran in every branch"):
        run.step_of("add_node")
    assert {run.step_of("add_node", branch=b).branch for b in run.branches} == set(run.branches)
    assert run.step_of("double_node", branch="y-20") is shared
    # each branch's data: in memory (the branch's prefix) and declared (${argo:sweep})
    assert [run.load("total", branch=b) for b in run.branches] == [14, 24]
    assert [run.load("report", branch=b) for b in run.branches] == [28, 48]
    assert (project / "data/y-10/report.json").is_file()
    assert run.load("doubled") == run.load("doubled", branch="y-10") == 4  # shared: once
    with pytest.raises(ValueError, match="saved in each branch of the sweep: pass branch="):
        run.load("total")
    with pytest.raises(ValueError, match="no branch 'y-30'"):
        run.load("total", branch="y-30")


def test_on_the_sample_project(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "spaceflights")
    update_config(project, ui={"parameters": ["model_input_table"]})
    run = run_locally(
        project, pipeline="data_processing", group_by="memory", workdir=tmp_path / "runs"
    )
    run.assert_succeeded()
    [step, exit_handler] = run.steps.values()
    assert step.nodes == (
        "preprocess_companies_node",
        "preprocess_shuttles_node",
        "create_model_input_table_node",
    )
    assert run.step_of("record_workflow_status_node") is exit_handler
    assert exit_handler.exit_handler and exit_handler.name == "onExit"
    table = run.load("model_input_table")  # versioned CSV, at this run's version
    assert len(table) > 0 and "price" in table.columns
    assert (project / "data/03_primary/model_input_table.csv" / str(run.save_version)).is_dir()
    assert run.load("run_status") == {"status": "Succeeded"}  # saved by the exit handler
    # argo.yml's ui: the step's results (a data frame is shown as JSON of its columns)
    shown = step.results["model_input_table"]
    assert set(shown) == set(table.columns) and len(shown["price"]) == len(table)
    for name in ("preprocessed_companies", "preprocessed_shuttles"):  # free; a MemoryDataset
        with pytest.raises(DatasetNotProducedError, match="grouping memory"):
            run.load(name)


def test_the_sample_projects_own_workflow_test_passes(tmp_path: Path) -> None:
    """examples/spaceflights/tests/test_workflow.py, run as the sample's README says, on a
    copy (the repository's own suite collects tests/ only)."""
    project = copy_project(tmp_path / "spaceflights")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_workflow.py"],
        cwd=project,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
