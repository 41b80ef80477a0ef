"""One preprocessing node feeding two report nodes. ``preprocessed_shuttles`` is not in the
catalog: on Argo (a pod per node) it travels between the pods through argo.yml's
``data.root``; in ``kedro argo run-local``, through ``data.local_root``."""

from kedro.pipeline import Pipeline, node

from .nodes import cheapest_seats, preprocess_shuttles, summarise_prices


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                func=preprocess_shuttles,
                inputs=["shuttles", "params:min_passenger_capacity"],
                outputs="preprocessed_shuttles",  # undeclared: in memory, exchanged
                name="preprocess_shuttles_node",
            ),
            node(
                func=summarise_prices,
                inputs=["preprocessed_shuttles", "params:price_decimals"],
                outputs="price_summary",  # declared JSON file
                name="summarise_prices_node",
            ),
            node(
                func=cheapest_seats,
                inputs=["preprocessed_shuttles", "params:cheapest_top_n"],
                outputs="cheapest_seats",  # declared JSON file
                name="cheapest_seats_node",
            ),
        ]
    )
