"""``data_science``: one modular pipeline instantiated in two namespaces.

Node and dataset names get the namespace prefix, e.g.
``active_modelling_pipeline.train_model_node`` writing
``active_modelling_pipeline.regressor`` (matched by the ``{namespace}.regressor``
catalog factory). ``model_input_table`` is shared, not prefixed, and ``metrics`` is
exposed as ``<namespace>_metrics`` (factory ``{namespace}_metrics``) for the
``reporting`` pipeline, which therefore never has to name a dotted dataset.
"""

from kedro.pipeline import Pipeline, node

from .nodes import evaluate_model, split_data, train_model

NAMESPACES = ("active_modelling_pipeline", "candidate_modelling_pipeline")


def create_pipeline(**kwargs) -> Pipeline:
    base = Pipeline(
        [
            node(
                func=split_data,
                inputs=["model_input_table", "params:model_options"],
                outputs=["X_train", "X_test", "y_train", "y_test"],  # free
                name="split_data_node",
            ),
            node(
                func=train_model,
                inputs=["X_train", "y_train"],
                outputs="regressor",
                name="train_model_node",
            ),
            node(
                func=evaluate_model,
                inputs=["regressor", "X_test", "y_test"],
                outputs="metrics",
                name="evaluate_model_node",
            ),
        ]
    )
    return sum(
        (
            Pipeline(
                base,
                inputs="model_input_table",
                outputs={"metrics": f"{namespace}_metrics"},
                namespace=namespace,
            )
            for namespace in NAMESPACES
        ),
        Pipeline([]),
    )
