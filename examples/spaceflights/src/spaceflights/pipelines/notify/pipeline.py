"""``notify``: one node, no inputs; suitable as an Argo ``onExit`` handler."""

from kedro.pipeline import Pipeline, node

from .nodes import record_workflow_status


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                func=record_workflow_status,
                inputs=None,
                outputs="run_status",
                name="record_workflow_status_node",
                tags=["exit_handler"],
            ),
        ]
    )
