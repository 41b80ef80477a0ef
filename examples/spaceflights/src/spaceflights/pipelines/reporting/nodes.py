"""Nodes of the ``reporting`` pipeline (pandas only)."""

from __future__ import annotations

from typing import Any

import pandas as pd


def compare_models(
    active_metrics: dict[str, Any], candidate_metrics: dict[str, Any]
) -> pd.DataFrame:
    """One row per model, best R^2 first."""
    rows = [
        {"model": "active_modelling_pipeline", **active_metrics},
        {"model": "candidate_modelling_pipeline", **candidate_metrics},
    ]
    table = pd.DataFrame(rows).sort_values(["r2_score", "model"], ascending=[False, True])
    table.insert(1, "rank", range(1, len(table) + 1))
    return table.reset_index(drop=True)


def summarise_prices(model_input_table: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """Count and price statistics per shuttle type."""
    return (
        model_input_table.groupby("shuttle_type", sort=True)["price"]
        .agg(shuttles="count", mean_price="mean", min_price="min", max_price="max")
        .round(decimals)
        .reset_index()
    )


def write_report_banner(title: str) -> str:
    """Trivially cheap (start-up benchmark): one tiny parameter -> one tiny text file."""
    return f"{title}\n"
