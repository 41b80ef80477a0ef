"""Fixtures for the cluster-command tests: the stand-in Argo Server and a project copy.

The stand-in (``tests/argo_server.py``) is started per test with a distinctive token and no
executor: a test that wants its workflows to run sets ``argo_server.executor`` (see
``local_executor.py``). ``argo_env`` points the ``ARGO_*`` variables at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..argo_server import StubArgoServer, argo_client, argo_env
from .helpers import TOKEN, Cli, copy_project, prepare_env

__all__ = ["argo_client", "argo_env"]


@pytest.fixture
def argo_server() -> Iterator[StubArgoServer]:
    """The stand-in Argo Server (namespace ``argo``), with :data:`TOKEN`; nothing runs."""
    with StubArgoServer(token=TOKEN, executor=None) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs before any other fixture of a test: nothing from the caller's shell leaks in."""
    prepare_env(monkeypatch)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of examples/spaceflights, the current directory for the test."""
    copy = copy_project(tmp_path / "spaceflights")
    monkeypatch.chdir(copy)
    return copy


@pytest.fixture
def cli(project: Path) -> Cli:
    """``kedro argo …`` in-process (click's CliRunner) in the project copy."""
    return Cli(project)
