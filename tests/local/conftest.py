"""Fixtures for local-mode tests."""

from __future__ import annotations

import pytest

from .helpers import VALIDATOR_PATH


@pytest.fixture(scope="session", autouse=True)
def _validator_present() -> None:
    if not VALIDATOR_PATH.is_file():
        pytest.fail(f"Argo validator not found at {VALIDATOR_PATH} (set ARGO_VALIDATOR)")
