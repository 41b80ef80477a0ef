"""``reporting``: reads the metrics files and the model input table."""

from kedro.pipeline import Pipeline, node

from .nodes import compare_models, summarise_prices, write_report_banner


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                func=compare_models,
                inputs=[
                    "active_modelling_pipeline_metrics",
                    "candidate_modelling_pipeline_metrics",
                ],
                outputs="model_comparison",
                name="compare_models_node",
            ),
            # Deliberately unnamed: Kedro names it ``summarise_prices__<sha256[:8]>``.
            node(
                func=summarise_prices,
                inputs=["model_input_table", "params:reporting.price_decimals"],
                outputs="shuttle_price_summary",
            ),
            # Cheap start-up benchmark node: one tiny parameter -> one tiny text file.
            node(
                func=write_report_banner,
                inputs="params:reporting.title",
                outputs="report_banner",
                name="write_report_banner_node",
                tags=["benchmark"],
            ),
        ]
    )
