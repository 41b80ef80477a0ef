"""The configuration reference is generated from the model: it must be current."""

from __future__ import annotations

from pathlib import Path

from kedro_argo.docgen import generate

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_configuration_reference_is_generated_from_the_model() -> None:
    assert DOC.read_text(encoding="utf-8") == generate(), "run `make docs` and commit the result"
