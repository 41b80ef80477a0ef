"""Fixtures for the cluster-command tests: the stand-in Argo Server and a project copy.

The stand-in (``tests/argo_server.py``) is started per test with a distinctive token and no
executor: a test that wants its workflows to run sets ``argo_server.executor`` (see
``local_executor.py``). ``argo_env`` points the ``ARGO_*`` variables at it. The in-process
CLI's requests to it time out only after :data:`~tests.argo_server.HANG_GUARD_S`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..argo_server import HANG_GUARD_S, StubArgoServer, argo_client, argo_env
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


@pytest.fixture(autouse=True)
def _cli_waits_for_the_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's backend gives a server 30 s per request, right for a real Argo Server; the
    stand-in shares this process, and the machine, with the test: there the timeout is only a
    hang guard, and a busy machine must not trip it."""
    import kedro_argo.server as server

    connect = server.connect

    def patient(config, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("timeout", HANG_GUARD_S)
        return connect(config, **kwargs)

    monkeypatch.setattr(server, "connect", patient)


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
