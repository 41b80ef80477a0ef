"""kedro_argo.server.failures: the one table from HTTP status to message, for both peers."""

from __future__ import annotations

import pytest

from kedro_argo.server import failures
from kedro_argo.server.argo_api import ConnectionSettings, peer
from kedro_argo.server.failures import BY_STATUS, Call, Peer

SECRET = "Bearer sekret-token-0042"
ARGO = peer(ConnectionSettings("argo.example.com:2746", token=SECRET))
KUBE = Peer(
    label="Kubernetes API server",
    address="https://10.0.0.1:6443",
    address_hint="is the server of context 'c' in the kubeconfig right?",
    reach_hint="is the cluster running?",
    unauthorized="the kubeconfig's credentials were rejected; refresh them",
    rbac_subject="The kubeconfig user 'u'",
    rbac_fix="check with `kubectl auth can-i {verb} {resource} -n {namespace}`",
    tls_hint="fix the CA",
    plain_http_hint="use http://",
    https_hint="use https://",
    check_hint="check with kubectl",
    secrets=lambda: [SECRET],
)
CREATE = Call("create", "Workflow", "run-", "team", "create", "workflows.argoproj.io", False)
GET = Call("get", "CronWorkflow", "nightly", "team", "get", "cronworkflows.argoproj.io")


def message(p: Peer, call: Call, status: int, text: str, **kw) -> str:
    error = failures.status_error(p, call, status, {"message": text}, **kw)
    assert error.status == status
    assert "\n" not in str(error)
    return str(error)


@pytest.mark.parametrize("p", [ARGO, KUBE], ids=["argo-server", "kubernetes"])
@pytest.mark.parametrize(
    ("status", "call", "expected"),
    [
        (401, CREATE, 'refused to create Workflow "run-" (401 Unauthorized): '),
        (403, CREATE, "refused to create Workflow \"run-\" in namespace 'team' (403 Forbidden)"),
        (404, GET, "CronWorkflow \"nightly\" not found in namespace 'team' (404): "),
        (409, CREATE, "Workflow \"run-\" already exists in namespace 'team' (409 Conflict)"),
        (409, GET, "was changed concurrently (409 Conflict)"),
        (400, CREATE, 'rejected Workflow "run-" (400): the message'),
        (422, CREATE, 'rejected Workflow "run-" (422): the message'),
        (500, GET, 'failed to get CronWorkflow "nightly" (HTTP 500): the message'),
    ],
)
def test_one_table_for_both_backends(p, status, call, expected):
    text = message(p, call, status, "the message")
    assert expected in text
    if status in BY_STATUS:
        assert text.count("the message") == 1


def test_401_and_403_hints_are_the_peers():
    assert "ARGO_TOKEN was rejected" in message(ARGO, GET, 401, "no")
    assert "export ARGO_TOKEN=" in message(ARGO, GET, 401, "no")
    kube = message(KUBE, CREATE, 403, "forbidden")
    assert "The kubeconfig user 'u' lacks RBAC permissions to create workflows.argoproj.io" in kube
    assert kube.endswith("check with `kubectl auth can-i create workflows.argoproj.io -n team`")
    argo = message(ARGO, CREATE, 403, "forbidden")
    assert "The service account behind ARGO_TOKEN lacks RBAC permissions to create" in argo


def test_a_5xx_to_a_create_may_have_taken_effect():
    assert message(KUBE, CREATE, 503, "busy").endswith(
        "the request may or may not have taken effect: check with kubectl"
    )
    assert "may or may not" not in message(KUBE, GET, 503, "busy")


def test_namespace_html_and_plain_text_answers():
    missing = failures.status_error(KUBE, CREATE, 404, {"message": 'namespaces "team" not found'})
    assert str(missing).startswith("Namespace 'team' not found on the Kubernetes API server (404)")
    assert failures.is_missing_namespace(missing)
    assert not failures.is_missing_namespace(
        failures.status_error(KUBE, GET, 404, {"message": "x"})
    )
    router = failures.status_error(ARGO, GET, 404, None, "404 page not found", path="/api/v1/x")
    assert str(router) == (
        "Argo Server at argo.example.com:2746 has no /api/v1/x (404: 404 page not found); is "
        "ARGO_SERVER / ARGO_BASE_HREF right?"
    )
    html = failures.status_error(KUBE, GET, 502, None, "<html>", content_type="text/html")
    assert "answered 502 with an HTML page to get CronWorkflow" in str(html)
    https = failures.status_error(
        KUBE, GET, 400, None, "Client sent an HTTP request to an HTTPS server."
    )
    assert str(https).startswith(
        "Kubernetes API server at https://10.0.0.1:6443 speaks HTTPS: use https://"
    )


def test_secrets_are_scrubbed_in_both_forms():
    text = message(KUBE, GET, 500, f"echo {SECRET} and sekret-token-0042")
    assert "sekret-token-0042" not in text and text.count("***") == 2
    assert "sekret" not in str(failures.unreachable(ARGO, f"refused ({SECRET})"))


def test_below_http():
    assert str(failures.unreachable(KUBE, "refused")) == (
        "Cannot reach the Kubernetes API server at https://10.0.0.1:6443 (refused); is the "
        "cluster running?"
    )
    assert "may speak plain HTTP; use http://" in str(
        failures.tls_failed(KUBE, "x", plain_http=True)
    )
    assert "fix the CA" in str(failures.tls_failed(KUBE, "x", plain_http=False))
    timeout = failures.timed_out(KUBE, "POST", "/p", 30, idempotent=False)
    assert "did not answer POST /p within 30 s (timeout); the request may or may not" in str(
        timeout
    )
    lost = failures.connection_lost(ARGO, "GET", "/p", "reset", idempotent=True)
    assert (
        str(lost)
        == "Connection to the Argo Server at argo.example.com:2746 failed during GET /p (reset)"
    )
