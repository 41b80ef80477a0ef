"""The workflow kedro-argo compiles from this project, run on this machine before it reaches a
cluster: one process per step, as the pods would run it (kedro_argo.testing).

    cd examples/spaceflights && python -m pytest tests/test_workflow.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kedro_argo.testing import WorkflowRun, run_locally

PROJECT = Path(__file__).resolve().parents[1]
DATA_PROCESSING = (
    "preprocess_companies_node",
    "preprocess_shuttles_node",
    "create_model_input_table_node",
)


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> WorkflowRun:
    """data_processing with the nodes that share in-memory data in one pod."""
    run = run_locally(
        PROJECT,
        pipeline="data_processing",
        group_by="memory",
        workdir=tmp_path_factory.mktemp("grouped"),
    )
    return run.assert_succeeded()


def test_data_processing_runs_in_one_pod(grouped: WorkflowRun) -> None:
    [step] = [s for s in grouped.steps.values() if not s.exit_handler]
    assert set(step.nodes) == set(DATA_PROCESSING)
    assert step.attempts == 1
    assert grouped.step_of("preprocess_shuttles_node") is step


def test_model_input_table_has_a_row_per_reviewed_shuttle(grouped: WorkflowRun) -> None:
    table = grouped.load("model_input_table")  # the version this run saved
    assert len(table) > 0
    assert {"shuttle_id", "price", "company_rating"} <= set(table.columns)
    assert table["shuttle_id"].is_unique


def test_grouping_changes_the_pods_not_the_results(grouped: WorkflowRun, tmp_path: Path) -> None:
    apart = run_locally(PROJECT, pipeline="data_processing", workdir=tmp_path).assert_succeeded()
    assert [s.nodes for s in apart.steps.values() if not s.exit_handler] == [
        (node,) for node in DATA_PROCESSING
    ]
    pd.testing.assert_frame_equal(
        apart.load("model_input_table"), grouped.load("model_input_table")
    )
    # apart, the preprocessed tables travelled between pods through the data root
    assert len(apart.load("preprocessed_companies")) > 0
