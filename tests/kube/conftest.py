"""Fixtures for kubeconfig mode: the stand-in Kubernetes API server, a kubeconfig, a project.

The stand-in (``tests/kube_server.py``) is started per test with a distinctive token
(:data:`KUBE_TOKEN`) and no executor; a test that wants its workflows to run sets
``kube_server.executor`` (e.g. :func:`use_local_mode`). ``kubeconfig`` writes a kubeconfig for
it (outside the project copy) and points ``KUBECONFIG`` at it, with no ``ARGO_*`` set: the
commands run in kubeconfig mode (``server.mode: auto``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..argo_server import HANG_GUARD_S
from ..cluster.helpers import Cli, copy_project, prepare_env
from ..kube_server import StubKubeServer

KUBE_TOKEN = "kedro-argo-kubeconfig-secret-6d02f7aa"
"""The kubeconfig's token: distinctive, so any leak is found by a plain text search."""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing from the caller's shell leaks in (no ARGO_*, no kubeconfig)."""
    prepare_env(monkeypatch)


@pytest.fixture(autouse=True)
def _cli_waits_for_the_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in tests/cluster: the CLI's request timeout is only a hang guard here, and retries
    back off for milliseconds."""
    import kedro_argo.server as server

    connect = server.connect

    def patient(config, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("timeout", HANG_GUARD_S)
        kwargs.setdefault("backoff", 0.01)
        return connect(config, **kwargs)

    monkeypatch.setattr(server, "connect", patient)


@pytest.fixture
def kube_server() -> Iterator[StubKubeServer]:
    """The stand-in Kubernetes API server (namespace ``argo``), with :data:`KUBE_TOKEN`."""
    with StubKubeServer(token=KUBE_TOKEN) as server:
        yield server


@pytest.fixture
def kubeconfig(kube_server: StubKubeServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kubeconfig for ``kube_server`` (context ``stand-in``, namespace ``argo``, token user),
    as ``KUBECONFIG``."""
    path = kube_server.write_kubeconfig()
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of examples/spaceflights, the current directory for the test."""
    copy = copy_project(tmp_path / "spaceflights")
    monkeypatch.chdir(copy)
    return copy


@pytest.fixture
def cli(project: Path) -> Cli:
    """``kedro argo …`` in-process in the project copy."""
    return Cli(project)
