"""``kedro_argo.server.connect``: which backend ``server.mode``, ``--context`` and the
environment choose (no request is sent by choosing)."""

from __future__ import annotations

import pytest

from kedro_argo.config import parse_config
from kedro_argo.errors import ArgoServerError, ConfigError
from kedro_argo.server import connect
from kedro_argo.server.argo_api import ArgoServerBackend
from kedro_argo.server.kube import KubernetesBackend

from ..kube_server import StubKubeServer


def config(**server):
    return parse_config({"image": "registry.example.com/p:1", "server": server}, source="argo.yml")


@pytest.fixture(scope="module")
def kube():
    with StubKubeServer() as server:
        yield server


@pytest.fixture
def env(kube, tmp_path):
    path = kube.write_kubeconfig(tmp_path / "kubeconfig", extra_contexts={"other": "team-o"})
    return {"KUBECONFIG": str(path)}


def test_auto_uses_the_argo_server_when_one_is_set(env):
    with connect(config(), env={**env, "ARGO_SERVER": "argo.example.com:2746"}) as backend:
        assert isinstance(backend, ArgoServerBackend)
        assert backend.settings.host == "argo.example.com:2746"
    with connect(config(url="https://argo.example.com"), env=env) as backend:
        assert isinstance(backend, ArgoServerBackend)


def test_auto_uses_the_kubeconfig_without_an_argo_server(env, kube):
    with connect(config(), env=env) as backend:
        assert isinstance(backend, KubernetesBackend)
        assert (backend.context.name, backend.namespace) == ("stand-in", "argo")
        assert backend.peer.address == kube.url
    assert kube.requests == []  # choosing sends nothing


def test_kubernetes_mode_ignores_argo_server(env):
    with connect(
        config(mode="kubernetes"), env={**env, "ARGO_SERVER": "argo.example.com:2746"}
    ) as backend:
        assert isinstance(backend, KubernetesBackend)


def test_argo_server_mode_without_a_server_says_how_to_set_one(env):
    with pytest.raises(ArgoServerError) as err:
        connect(config(mode="argo-server"), env=env)
    message = str(err.value)
    assert message.startswith("server.mode is argo-server but no Argo Server is configured")
    assert "ARGO_SERVER=host:port" in message and "server.url" in message


def test_context_selects_a_kubeconfig_context_and_beats_server_context(env):
    with connect(config(context="other"), env=env) as backend:
        assert (backend.context.name, backend.namespace) == ("other", "team-o")
    with connect(config(context="other"), context="stand-in", env=env) as backend:
        assert backend.context.name == "stand-in"
    with connect(config(namespace="pinned"), context="other", env=env) as backend:
        assert backend.namespace == "pinned"  # argo.yml's namespace wins over the context's


def test_context_with_the_argo_server_is_an_error(env):
    with pytest.raises(ArgoServerError) as err:
        connect(config(), context="other", env={**env, "ARGO_SERVER": "h:1"})
    assert str(err.value).startswith(
        "--context selects a kubeconfig context, but the Argo Server at h:1 is used "
        "(ARGO_SERVER is set)"
    )
    assert "server.mode: kubernetes" in str(err.value)
    # server.context only matters in kubeconfig mode: no error with the Argo Server
    with connect(config(context="other"), env={**env, "ARGO_SERVER": "h:1"}) as backend:
        assert isinstance(backend, ArgoServerBackend)


def test_no_server_and_no_kubeconfig(tmp_path):
    with pytest.raises(ArgoServerError) as err:
        connect(config(), env={"KUBECONFIG": str(tmp_path / "none")})
    assert str(err.value).startswith("No Argo Server and no kubeconfig: set ARGO_SERVER")


def test_an_unknown_mode_is_a_config_error():
    with pytest.raises(ConfigError, match=r"server\.mode"):
        config(mode="kubectl")
