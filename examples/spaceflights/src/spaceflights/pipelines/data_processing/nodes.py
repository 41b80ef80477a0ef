"""Nodes of the ``data_processing`` pipeline (pandas only)."""

from __future__ import annotations

import pandas as pd


def _is_true(x: pd.Series) -> pd.Series:
    return x == "t"


def _parse_percentage(x: pd.Series) -> pd.Series:
    return x.str.replace("%", "", regex=False).astype(float) / 100


def _parse_money(x: pd.Series) -> pd.Series:
    return x.str.replace("$", "", regex=False).str.replace(",", "", regex=False).astype(float)


def preprocess_companies(companies: pd.DataFrame) -> pd.DataFrame:
    """Parse the ``iata_approved`` flag and the ``company_rating`` percentage."""
    companies = companies.copy()
    companies["iata_approved"] = _is_true(companies["iata_approved"])
    companies["company_rating"] = _parse_percentage(companies["company_rating"])
    return companies.sort_values("id", ignore_index=True)


def preprocess_shuttles(shuttles: pd.DataFrame) -> pd.DataFrame:
    """Parse the check flags and the ``price`` string (``"$1,325.00"``)."""
    shuttles = shuttles.copy()
    shuttles["d_check_complete"] = _is_true(shuttles["d_check_complete"])
    shuttles["moon_clearance_complete"] = _is_true(shuttles["moon_clearance_complete"])
    shuttles["price"] = _parse_money(shuttles["price"])
    return shuttles.sort_values("id", ignore_index=True)


def create_model_input_table(
    shuttles: pd.DataFrame, companies: pd.DataFrame, reviews: pd.DataFrame
) -> pd.DataFrame:
    """Join shuttles, reviews and companies; drop incomplete rows; sort by shuttle."""
    rated_shuttles = shuttles.merge(reviews, left_on="id", right_on="shuttle_id")
    rated_shuttles = rated_shuttles.drop(columns="id")
    table = rated_shuttles.merge(
        companies, left_on="company_id", right_on="id", suffixes=("", "_company")
    )
    table = table.drop(columns="id").dropna()
    columns = ["shuttle_id"] + [c for c in table.columns if c != "shuttle_id"]
    return table[columns].sort_values("shuttle_id", ignore_index=True)
