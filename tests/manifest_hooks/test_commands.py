"""Every command that builds a manifest applies the same hooks: ``run-once``, ``upload`` and
``schedule`` send the stand-in Argo Server exactly what ``compile`` writes for that kind, a
broken hook stops them before any request, and ``run-local`` runs the hooked manifest (a
variable a hook adds is seen inside the step's process; the cluster-only sidecar is left out
for local mode, which would refuse it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..argo_server import HANG_GUARD_S, StubArgoServer, argo_env
from ..cluster.helpers import TOKEN, Cli, assert_clean_error, describe
from ..compile.support import GOLDEN_CRON
from ..mini_project import write_project
from .platform import APPLIED, MIRROR, install_acme, install_broken

__all__ = ["argo_env"]


@pytest.fixture
def argo_server() -> Iterator[StubArgoServer]:
    with StubArgoServer(token=TOKEN, executor=None) as server:
        yield server


@pytest.fixture(autouse=True)
def _patient_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in shares this process: its timeout is only a hang guard (as tests/cluster)."""
    import kedro_argo.server as server

    connect = server.connect

    def patient(config, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("timeout", HANG_GUARD_S)
        return connect(config, **kwargs)

    monkeypatch.setattr(server, "connect", patient)


def sent(server: StubArgoServer) -> dict[str, Any]:
    """The one manifest the command created on the server, as it was sent."""
    [post] = server.requests_to("POST")
    [manifest] = [v for v in post.body.values() if isinstance(v, dict) and "apiVersion" in v]
    return manifest


COMMANDS = [
    pytest.param(["run-once"], "workflow", id="run-once"),
    pytest.param(["upload"], "template", id="upload"),
    pytest.param(["schedule", "--cron", GOLDEN_CRON], "cron", id="schedule"),
]


@pytest.mark.usefixtures("argo_env")
@pytest.mark.parametrize(("command", "kind"), COMMANDS)
def test_the_server_gets_what_compile_writes(
    command: list[str],
    kind: str,
    argo_server: StubArgoServer,
    sample_project: Path,
    site: Path,
    tmp_path: Path,
) -> None:
    install_acme(site)
    cli = Cli(sample_project)
    target = tmp_path / "compiled.yaml"
    cron = ["--cron", GOLDEN_CRON] if kind == "cron" else []
    cli.ok("compile", "--kind", kind, *cron, "-o", str(target))

    result = cli.ok(*command)

    assert APPLIED in result.stderr.splitlines()
    manifest = sent(argo_server)
    assert manifest == yaml.safe_load(target.read_text())
    assert manifest["metadata"]["labels"]["platform.acme.io/kind"] == kind
    assert MIRROR in str(manifest)


@pytest.mark.usefixtures("argo_env")
@pytest.mark.parametrize("command", [c.values[0] for c in COMMANDS], ids=lambda c: c[0])
def test_a_broken_hook_stops_the_command_before_any_request(
    command: list[str], argo_server: StubArgoServer, sample_project: Path, site: Path
) -> None:
    install_broken(site, "acme-broken", "acme_broken.hooks:bad_label")

    result = Cli(sample_project)(*command)

    assert_clean_error(
        result,
        "Manifest hook 'acme-broken' (acme_broken.hooks:bad_label) produced an invalid manifest: "
        "metadata.labels.platform.acme.io/team: ",
    )
    assert argo_server.requests == []


NODES = """\
import os
from pathlib import Path


def probe(x):
    Path("platform.txt").write_text(os.environ.get("ACME_PLATFORM", "<unset>"))
    return x
"""
REGISTRY = """\
return {"__default__": Pipeline([node(probe, "params:x", "probed", name="probe")])}
"""


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "probe", package="hookprobe", registry=REGISTRY, nodes=NODES, parameters={"x": 1}
    )


def test_run_local_runs_the_hooked_manifest(mini: Path, site: Path, tmp_path: Path) -> None:
    install_acme(site)
    cli = Cli(mini)
    compiled = tmp_path / "compiled.yaml"
    cli.ok("compile", "-o", str(compiled))
    templates = yaml.safe_load(compiled.read_text())["spec"]["templates"]
    assert any("sidecars" in t for t in templates)  # on the cluster: the platform's sidecar

    result = cli("run-local", "--no-progress")

    assert result.exit_code == 0, describe(result)
    assert APPLIED in result.stderr.splitlines()
    assert (mini / "platform.txt").read_text() == "workflow:local"


def test_run_local_with_a_broken_hook_runs_nothing(mini: Path, site: Path) -> None:
    install_broken(site, "acme-broken", "acme_broken.hooks:explode")

    result = Cli(mini)("run-local", "--no-progress")

    assert_clean_error(result, "Manifest hook 'acme-broken' (acme_broken.hooks:explode) raised ")
    assert not (mini / ".kedro-argo").exists()
    assert not (mini / "platform.txt").exists()
