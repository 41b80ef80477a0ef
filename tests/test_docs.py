"""The reference pages are generated from the code: the committed ones must be current."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_argo.docgen import PAGES

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("page", sorted(PAGES))
def test_generated_reference_page_is_current(page: str) -> None:
    assert (DOCS / page).read_text(encoding="utf-8") == PAGES[page](), (
        f"docs/{page} is stale: run `make docs` and commit the result"
    )


def test_cli_reference_lists_every_visible_command() -> None:
    from kedro_argo.cli import argo

    page = PAGES["cli.md"]()
    for name, command in argo.commands.items():
        if not command.hidden:
            assert f"## `kedro argo {name}`" in page
