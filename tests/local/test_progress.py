"""What a local run shows (``kedro_argo.local.progress``): grouped steps by their Kedro nodes."""

from __future__ import annotations

import io
import re
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console

from kedro_argo.local import LocalRunResult, StepPhase, StepRecord, WorkflowPhase, summary_table
from kedro_argo.local.progress import ProgressView, print_summary
from kedro_argo.local.resolve import iter_steps, plan_workflow

from .helpers import assert_valid, container_template, workflow

START = datetime(2030, 1, 1, tzinfo=timezone.utc)


def record(name: str, template: str, phase: StepPhase, *nodes: str, **extra) -> StepRecord:
    ran = phase is not StepPhase.OMITTED
    return StepRecord(
        name=name,
        template=template,
        phase=phase,
        attempts=1 if ran else 0,
        started_at=START if ran else None,
        finished_at=START if ran else None,
        duration=2.5 if ran else None,
        exit_code=(1 if phase is StepPhase.FAILED else 0) if ran else None,
        log_path=Path(f"/logs/{name}.log") if ran else None,
        kedro_nodes=nodes,
        **extra,
    )


STEPS = (
    record(
        "create-model-input-table-node",
        "step-data-processing",
        StepPhase.SUCCEEDED,
        "preprocess_companies_node",
        "preprocess_shuttles_node",
        "create_model_input_table_node",
    ),
    record(
        "modelling",
        "step-data-science",
        StepPhase.FAILED,
        "active_modelling_pipeline.split_data_node",
        "active_modelling_pipeline.train_model_node",
        message="exit code 1",
        log_tail="ValueError: exploded",
    ),
    record("compare-models-node", "step-reporting", StepPhase.OMITTED, "compare_models_node"),
    record("echo", "plain-container", StepPhase.SUCCEEDED),  # not a kedro-argo step
    record("onExit", "exit-handler", StepPhase.SUCCEEDED, "all of pipeline notify"),
)


def result(steps: tuple[StepRecord, ...] = STEPS) -> LocalRunResult:
    return LocalRunResult(
        phase=WorkflowPhase.FAILED,
        message="step 'modelling' failed",
        workflow_name="spaceflights-abcde",
        workflow_uid="uid",
        started_at=START,
        finished_at=START,
        duration=10.0,
        steps=steps,
        log_dir=Path("/logs"),
        parallelism=2,
    )


def rows(text: str) -> dict[str, list[str]]:
    """A rich table's body rows, keyed by their first cell."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)[1:-1]]
        if cells and cells[0]:
            out[cells[0]] = cells
    return out


def render(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=250, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_summary_shows_each_steps_kedro_nodes() -> None:
    table = rows(render(summary_table(result())))
    assert table["step"][:3] == ["step", "Kedro nodes", "phase"]
    grouped = table["create-model-input-table-node"]
    assert grouped[1:3] == [
        "preprocess_companies_node, preprocess_shuttles_node, create_model_input_table_node",
        "done",
    ]
    assert table["modelling"][1:3] == [
        "active_modelling_pipeline.split_data_node, active_modelling_pipeline.train_model_node",
        "failed",
    ]
    assert table["compare-models-node"][1:3] == ["compare_models_node", "omitted"]
    assert table["onExit"][1] == "all of pipeline notify"
    assert table["echo"][1] == "plain-container"  # no Kedro nodes: its template


def test_printed_summary_names_the_failed_grouped_step_and_its_log_tail() -> None:
    console = Console(file=io.StringIO(), width=250, color_system=None)
    print_summary(console, result())
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "active_modelling_pipeline.train_model_node" in out
    assert "modelling: last lines of /logs/modelling.log" in out
    assert "ValueError: exploded" in out


def test_live_view_counts_the_nodes_of_a_grouped_step() -> None:
    console = Console(file=io.StringIO(), width=250, color_system=None)
    view = ProgressView(console, lambda: STEPS, live=False, title="run")
    lines = render(view.render()).splitlines()  # no borders: the step name starts a line
    first_cells = [line.split("  ")[0] for line in lines]
    assert "create-model-input-table-node (3 nodes)" in first_cells
    assert "modelling (2 nodes)" in first_cells
    assert "compare-models-node" in first_cells  # one node: the step name alone


def test_planned_steps_know_the_kedro_nodes_their_task_passes_the_shared_template(
    tmp_path: Path,
) -> None:
    """The nodes come from the task's ``nodes`` argument, read with the pod's own parser."""
    step = {
        "name": "step-data-science",
        "inputs": {"parameters": [{"name": "nodes"}]},
        "container": {
            "command": ["python", "-m", "kedro_argo"],
            "args": ["step", "--pipeline=data_science", "--nodes={{inputs.parameters.nodes}}"],
        },
    }
    exit_handler = {
        "name": "exit-handler",
        "container": {"command": ["python", "-m", "kedro_argo"], "args": ["step", "--pipeline=n"]},
    }
    other = container_template("other", "print('not ours')", "--nodes=x")
    tasks = [
        {
            "name": "modelling",
            "template": "step-data-science",
            "arguments": {"parameters": [{"name": "nodes", "value": "ns.split,ns.train"}]},
        },
        {
            "name": "evaluate",
            "template": "step-data-science",
            "arguments": {"parameters": [{"name": "nodes", "value": "ns.evaluate"}]},
            "depends": "modelling",
        },
        {"name": "other", "template": "other"},
    ]
    manifest = assert_valid(workflow(tasks, [step, exit_handler, other], onExit="exit-handler"))
    plan = plan_workflow(manifest, project_path=tmp_path)
    assert {s.name: s.kedro_nodes for s in plan.steps} == {
        "modelling": ("ns.split", "ns.train"),
        "evaluate": ("ns.evaluate",),
        "other": (),
    }
    [exit_step] = iter_steps(plan.exit_handler("Succeeded"))
    assert exit_step.kedro_nodes == ("all of pipeline n",)
