"""When the Argo Server cannot be used: one clear ``Error: …`` line, exit 1, no traceback.

Each case checks what reached the server too (e.g. a create answered 503 is sent once only).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..argo_server import StubArgoServer, make_self_signed_cert
from .helpers import TOKEN, assert_clean_error, closed_port, update_config

RUN = ("run-once", "--pipeline", "data_processing")
CREATE = r"^/api/v1/workflows/argo$"


def use(server: StubArgoServer, mp: pytest.MonkeyPatch, **overrides: str) -> None:
    for key, value in server.env(**overrides).items():
        mp.setenv(key, value)


def test_unreachable_server(monkeypatch, cli):
    port = closed_port()
    monkeypatch.setenv("ARGO_SERVER", f"127.0.0.1:{port}")
    monkeypatch.setenv("ARGO_SECURE", "false")
    monkeypatch.setenv("ARGO_TOKEN", f"Bearer {TOKEN}")
    message = assert_clean_error(cli(*RUN), f"Cannot reach the Argo Server at 127.0.0.1:{port}")
    assert "ARGO_SERVER" in message
    assert TOKEN not in cli.all_output()


def test_tls_verification_failure(monkeypatch, cli, tmp_path: Path):
    pair = make_self_signed_cert(tmp_path)
    if pair is None:
        pytest.skip("neither cryptography nor openssl can make a certificate")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with StubArgoServer(token=TOKEN, tls=pair, executor=None) as server:
        use(server, monkeypatch)  # ARGO_SECURE=true, verification on
        result = cli(*RUN)
        assert server.requests == []  # the token never left: no request got through
    message = assert_clean_error(result, "TLS certificate verification failed")
    assert "ARGO_INSECURE_SKIP_VERIFY" in message
    assert TOKEN not in cli.all_output()


@pytest.mark.parametrize(
    ("token", "fragment"),
    [
        ("Bearer not-the-token", "the token in ARGO_TOKEN was rejected"),
        (None, "ARGO_TOKEN is not set"),
    ],
    ids=["wrong-token", "no-token"],
)
@pytest.mark.parametrize(
    "args",
    [
        RUN,
        ("upload", "--pipeline", "data_processing"),
        ("schedule", "--cron", "0 6 * * *"),
        ("schedule", "--list"),
        ("list",),
        ("status", "some-run"),
        ("logs", "some-run"),
        ("logs", "some-run", "--step", "x"),
    ],
    ids=[
        "run-once",
        "upload",
        "schedule",
        "schedule-list",
        "list",
        "status",
        "logs",
        "logs-step",
    ],
)
def test_401_says_what_to_do_about_argo_token(argo_server, monkeypatch, cli, args, token, fragment):
    use(argo_server, monkeypatch)
    if token is None:
        monkeypatch.delenv("ARGO_TOKEN")
    else:
        monkeypatch.setenv("ARGO_TOKEN", token)
    message = assert_clean_error(cli(*args), "401 Unauthorized", fragment, "export ARGO_TOKEN=")
    assert "not-the-token" not in message
    assert all(r.auth in ("wrong", "missing") for r in argo_server.requests)
    assert len(argo_server.requests) == 1  # a 401 is not retried


def test_403_forbidden_namespace(monkeypatch, cli):
    with StubArgoServer(
        token=TOKEN, namespaces=("argo", "restricted"), forbidden_namespaces=("restricted",)
    ) as server:
        use(server, monkeypatch, ARGO_NAMESPACE="restricted")
        result = cli(*RUN)
    assert_clean_error(
        result, "in namespace 'restricted' (403 Forbidden)", "lacks RBAC permissions"
    )


def test_unknown_namespace(argo_server, monkeypatch, cli):
    use(argo_server, monkeypatch, ARGO_NAMESPACE="nowhere")
    assert_clean_error(cli(*RUN), "Namespace 'nowhere' not found on the Argo Server (404)")
    assert argo_server.workflows == []


def test_conflict_on_create_of_a_fixed_name(argo_server, monkeypatch, project, cli):
    update_config(project, workflow={"name": "spaceflights-nightly"})
    existing = argo_server.put(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {"name": "spaceflights-nightly"},
            "spec": {"entrypoint": "x"},
        }
    )
    use(argo_server, monkeypatch)
    assert_clean_error(
        cli(*RUN),
        "Workflow \"spaceflights-nightly\" already exists in namespace 'argo' (409 Conflict)",
    )
    assert len(argo_server.requests_to("POST")) == 1
    [kept] = argo_server.workflows
    assert kept["metadata"]["uid"] == existing["metadata"]["uid"]


def test_a_manifest_the_server_rejects_shows_argos_message(argo_server, monkeypatch, cli):
    argo_message = (
        "templates.kedro-pipeline.tasks.preprocess-companies-node templates."
        "preprocess-companies-node.retryStrategy.limit must be >= 0 (got -1)"
    )
    argo_server.fail(400, method="POST", path=CREATE, body={"code": 3, "message": argo_message})
    use(argo_server, monkeypatch)
    message = assert_clean_error(cli(*RUN), "Argo Server rejected Workflow")
    assert message.endswith(f"(400): {argo_message}")
    assert argo_server.workflows == []


def test_the_stand_in_rejects_an_invalid_manifest_with_the_validators_message(
    argo_server, monkeypatch, cli
):
    """Not a fault knob: the stand-in's own validation refuses a (forced) bad create."""
    use(argo_server, monkeypatch)
    from kedro_argo.server.argo_api import ArgoServerBackend

    original = ArgoServerBackend.create_workflow

    def create_broken(self, wf, **kwargs):
        broken = {**wf, "spec": {**wf["spec"], "entrypoint": "no-such-template"}}
        return original(self, broken, **kwargs)

    monkeypatch.setattr(ArgoServerBackend, "create_workflow", create_broken)
    message = assert_clean_error(cli(*RUN), "Argo Server rejected Workflow", "(400): ")
    assert "no-such-template" in message


def test_transient_503_on_create_is_not_retried(argo_server, monkeypatch, cli):
    argo_server.fail(503, times=-1, method="POST", path=CREATE)
    use(argo_server, monkeypatch)
    assert_clean_error(
        cli(*RUN),
        "(HTTP 503)",
        "the request may or may not have taken effect: check with `argo list` before trying again",
    )
    assert len(argo_server.requests_to("POST", CREATE)) == 1
    assert argo_server.workflows == []
