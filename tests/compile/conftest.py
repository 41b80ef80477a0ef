"""Fixtures for the compile tests.

The sample project is copied once per session (never used in place) and compiled in-process;
tests that change configuration get their own function-scoped copy. Environment variables
are set per test (or inside a fixture and undone at once) so nothing leaks into other tests
of the same xdist worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kedro_argo.compiler.build import Built

from ..sample_project import copy_project
from .support import GOLDEN_CRON, KINDS, build, set_compile_env


@pytest.fixture(autouse=True)
def compile_env(monkeypatch: pytest.MonkeyPatch) -> None:
    set_compile_env(monkeypatch)


@pytest.fixture(scope="session")
def sample_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only copy of examples/spaceflights shared by the session (do not modify)."""
    return copy_project(tmp_path_factory.mktemp("sample") / "spaceflights")


@pytest.fixture(scope="session")
def sample_built(sample_project: Path) -> dict[str, Built]:
    """The sample project compiled once per kind (what the golden files hold)."""
    with pytest.MonkeyPatch.context() as mp:
        set_compile_env(mp)
        return {
            kind: build(sample_project, kind=kind, cron=GOLDEN_CRON if kind == "cron" else None)
            for kind in KINDS
        }


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A fresh copy of the sample project that the test may change."""
    yield copy_project(tmp_path / "spaceflights")
