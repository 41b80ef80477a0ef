"""Nodes of the ``shuttles`` pipeline: plain Python (no dataframe library to install)."""

from __future__ import annotations

from typing import Any

Shuttle = dict[str, Any]


def preprocess_shuttles(shuttles: list[Shuttle], min_capacity: int) -> list[Shuttle]:
    """Prices such as ``"$1,325.00"`` become numbers; shuttles seating fewer than
    ``min_capacity`` passengers are dropped. Sorted by id, so every run is identical."""
    rows = [
        {**shuttle, "price": float(str(shuttle["price"]).lstrip("$").replace(",", ""))}
        for shuttle in shuttles
        if shuttle["passenger_capacity"] >= min_capacity
    ]
    return sorted(rows, key=lambda row: row["id"])


def summarise_prices(shuttles: list[Shuttle], decimals: int) -> dict[str, dict[str, Any]]:
    """Count and mean / min / max price per shuttle type."""
    by_type: dict[str, list[float]] = {}
    for shuttle in shuttles:
        by_type.setdefault(shuttle["shuttle_type"], []).append(shuttle["price"])
    return {
        kind: {
            "shuttles": len(prices),
            "mean_price": round(sum(prices) / len(prices), decimals),
            "min_price": round(min(prices), decimals),
            "max_price": round(max(prices), decimals),
        }
        for kind, prices in sorted(by_type.items())
    }


def cheapest_seats(shuttles: list[Shuttle], top_n: int) -> list[Shuttle]:
    """The ``top_n`` shuttles with the lowest price per passenger seat."""
    ranked = sorted(shuttles, key=lambda row: (row["price"] / row["passenger_capacity"], row["id"]))
    return [
        {
            "id": row["id"],
            "shuttle_type": row["shuttle_type"],
            "price_per_seat": round(row["price"] / row["passenger_capacity"], 2),
        }
        for row in ranked[:top_n]
    ]
