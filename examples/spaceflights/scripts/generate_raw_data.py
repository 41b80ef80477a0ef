"""Regenerate the small, fake spaceflights raw inputs in ``data/01_raw``.

The data is deterministic (stdlib ``random.Random`` with a fixed seed, no numpy or
pandas) so re-running this script reproduces the committed CSV files byte for byte::

    python scripts/generate_raw_data.py

Prices are a noisy linear function of the shuttle, company and review features, so
the linear regression in the ``data_science`` pipeline has something to find.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

SEED = 20240501
N_COMPANIES = 40
N_SHUTTLES = 240
RAW_DIR = Path(__file__).resolve().parents[1] / "data" / "01_raw"

LOCATIONS = ["Mars", "Moon", "Europa", "Titan", "Ganymede", "Callisto", "Io", "Ceres"]
SHUTTLE_TYPES = ["Type V5", "Type F5", "Type A1", "Type C2"]
ENGINE_TYPES = ["Quantum", "Plasma", "Nuclear"]
ENGINE_VENDORS = ["ThetaBase Services", "Banks, Wood and Phillips", "Orbital Dynamics"]
POLICIES = ["strict", "moderate", "flexible"]


def _tf(rng: random.Random, p_true: float) -> str:
    return "t" if rng.random() < p_true else "f"


def _maybe(rng: random.Random, value: str, p_missing: float) -> str:
    return "" if rng.random() < p_missing else value


def _write(name: str, header: list[str], rows: list[list[object]]) -> None:
    path = RAW_DIR / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    rng = random.Random(SEED)
    RAW_DIR.mkdir(parents=True, exist_ok=True)

    companies = []
    company_truth = {}
    for i in range(N_COMPANIES):
        company_id = 30000 + i * 7
        rating = rng.randint(55, 100)
        iata = _tf(rng, 0.6)
        company_truth[company_id] = (rating, iata == "t")
        companies.append(
            [
                company_id,
                _maybe(rng, f"{rating}%", 0.08),
                rng.choice(LOCATIONS),
                f"{float(rng.randint(1, 12))}",
                iata,
            ]
        )

    shuttles = []
    reviews = []
    for i in range(N_SHUTTLES):
        shuttle_id = 60000 + i * 3
        company_id = rng.choice(list(company_truth))
        rating, iata = company_truth[company_id]
        engines = rng.randint(1, 4)
        capacity = rng.randint(1, 10)
        crew = rng.randint(1, 6)
        d_check = rng.random() < 0.5
        moon = rng.random() < 0.4
        review_rating = rng.randint(60, 100)
        price = (
            250.0
            + 180.0 * engines
            + 95.0 * capacity
            + 60.0 * crew
            + 150.0 * d_check
            + 220.0 * moon
            + 120.0 * iata
            + 4.0 * rating
            + 3.0 * review_rating
            + rng.gauss(0.0, 80.0)
        )
        shuttles.append(
            [
                shuttle_id,
                rng.choice(LOCATIONS),
                rng.choice(SHUTTLE_TYPES),
                rng.choice(ENGINE_TYPES),
                rng.choice(ENGINE_VENDORS),
                _maybe(rng, f"{float(engines)}", 0.04),
                capacity,
                rng.choice(POLICIES),
                _maybe(rng, f"{float(crew)}", 0.04),
                "t" if d_check else "f",
                "t" if moon else "f",
                f"${max(price, 100.0):,.2f}",
                company_id,
            ]
        )
        if rng.random() < 0.9:  # some shuttles have no reviews yet
            reviews.append(
                [
                    shuttle_id,
                    _maybe(rng, f"{float(review_rating)}", 0.05),
                    *(f"{float(rng.randint(5, 10))}" for _ in range(6)),
                    rng.randint(1, 250),
                    f"{rng.uniform(0.1, 9.0):.2f}",
                ]
            )

    _write(
        "companies.csv",
        ["id", "company_rating", "company_location", "total_fleet_count", "iata_approved"],
        companies,
    )
    _write(
        "shuttles.csv",
        [
            "id",
            "shuttle_location",
            "shuttle_type",
            "engine_type",
            "engine_vendor",
            "engines",
            "passenger_capacity",
            "cancellation_policy",
            "crew",
            "d_check_complete",
            "moon_clearance_complete",
            "price",
            "company_id",
        ],
        shuttles,
    )
    _write(
        "reviews.csv",
        [
            "shuttle_id",
            "review_scores_rating",
            "review_scores_comfort",
            "review_scores_amenities",
            "review_scores_trip",
            "review_scores_crew",
            "review_scores_location",
            "review_scores_price",
            "number_of_reviews",
            "reviews_per_month",
        ],
        reviews,
    )


if __name__ == "__main__":
    main()
