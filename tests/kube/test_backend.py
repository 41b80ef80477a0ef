"""kedro_argo.server.kube (kubeconfig mode) against the stand-in Kubernetes API server."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest
from urllib3.exceptions import InsecureRequestWarning

from kedro_argo.errors import ArgoServerError
from kedro_argo.server import watch
from kedro_argo.server.backend import KINDS
from kedro_argo.server.kube import NO_CLUSTER, KubernetesBackend

from ..argo_server import HANG_GUARD_S, fail_task, make_self_signed_cert, succeed_all
from ..cluster.helpers import closed_port
from ..kube_server import WORKFLOW_LABEL, StubKubeServer

NS = "argo"
STEP = 0.03  # executor delay per pod: slow enough to watch, fast enough for CI
WF_PATH = rf"^/apis/argoproj.io/v1alpha1/namespaces/{NS}/workflows"
TOKEN = "kube-backend-test-token-91c3"


def workflow(name: str | None = None, *, generate: str = "demo-", tasks=None) -> dict:
    tasks = tasks or [
        {"name": "split", "template": "node"},
        {"name": "train", "template": "node", "depends": "split"},
        {"name": "report", "template": "node", "depends": "train"},
    ]
    meta = {"name": name} if name else {"generateName": generate}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {**meta, "labels": {"app": "kedro-argo"}},
        "spec": {
            "entrypoint": "main",
            "templates": [
                {"name": "main", "dag": {"tasks": tasks}},
                {"name": "node", "container": {"image": "python:3.12", "command": ["python"]}},
            ],
        },
    }


def template(name: str = "demo-tpl") -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": name},
        "spec": workflow()["spec"],
    }


def cron(name: str = "demo-cron") -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": {"name": name},
        "spec": {"schedules": ["0 3 * * *"], "workflowSpec": workflow()["spec"]},
    }


@pytest.fixture
def server():
    with StubKubeServer(token=TOKEN, executor=succeed_all(STEP)) as s:
        yield s


@pytest.fixture
def backend(server: StubKubeServer):
    b = server.backend()
    yield b
    b.close()


# ----------------------------------------------------------------------------- objects
def test_create_get_list_delete(backend, server):
    created = backend.create_workflow(workflow())
    name = created["metadata"]["name"]
    assert name.startswith("demo-") and len(name) == len("demo-") + 5  # generateName
    assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
    [post] = server.requests_to("POST", WF_PATH)
    assert post.query["fieldValidation"] == ["Strict"]
    assert post.body == workflow()  # the manifest exactly as given
    assert backend.get_workflow(name)["metadata"]["uid"] == created["metadata"]["uid"]
    assert [w["metadata"]["name"] for w in backend.list("Workflow", "app=kedro-argo")] == [name]
    assert backend.list("Workflow", "app=other") == []
    backend.delete("Workflow", name)
    assert server.get("Workflow", name) is None
    with pytest.raises(ArgoServerError) as err:
        backend.get_workflow(name)
    assert err.value.status == 404
    assert str(err.value) == (
        f"Workflow \"{name}\" not found in namespace 'argo' (404): "
        f'workflows.argoproj.io "{name}" not found'
    )
    assert {r.auth for r in server.requests} == {"ok"}


def test_dry_run_stores_nothing(backend, server):
    answer = backend.create_workflow(workflow("dry"), dry_run=True)
    assert answer["metadata"]["name"] == "dry"
    assert server.workflows == []
    assert server.requests_to("POST")[0].query["dryRun"] == ["All"]


def test_duplicate_create_is_a_clear_409(backend, server):
    server.executor = None
    backend.create_workflow(workflow("twice"))
    with pytest.raises(ArgoServerError) as err:
        backend.create_workflow(workflow("twice"))
    assert err.value.status == 409
    assert str(err.value).startswith(
        "Workflow \"twice\" already exists in namespace 'argo' (409 Conflict): "
    )
    assert len(server.requests_to("POST")) == 2  # a 409 is not retried


def test_unknown_field_is_refused_under_strict_validation(backend, server):
    typo = workflow()
    typo["spec"]["entrypiont"] = "main"
    with pytest.raises(ArgoServerError) as err:
        backend.create_workflow(typo)
    assert err.value.status == 400
    assert 'Kubernetes API server rejected Workflow "demo-" (400): strict decoding error' in str(
        err.value
    )
    assert "entrypiont" in str(err.value)
    assert server.workflows == []


def test_a_schema_violation_is_422_with_the_servers_message(backend, server):
    bad = workflow()
    bad["spec"]["templates"][1]["container"]["command"] = "python"  # must be a list
    with pytest.raises(ArgoServerError) as err:
        backend.create_workflow(bad)
    assert err.value.status == 422
    message = str(err.value)
    assert message.startswith('Kubernetes API server rejected Workflow "demo-" (422): ')
    assert 'Workflow.argoproj.io "demo-" is invalid: ' in message and "\n" not in message


def test_create_in_an_unknown_namespace():
    with (
        StubKubeServer(token=TOKEN) as s,
        s.backend(namespace="nowhere") as b,
        pytest.raises(ArgoServerError) as err,
    ):
        b.create_workflow(workflow())
    assert err.value.status == 404
    assert "Namespace 'nowhere' not found on the Kubernetes API server (404)" in str(err.value)


# ----------------------------------------------------------------------------- upserts
def test_upsert_creates_then_replaces_with_the_resource_version(backend, server):
    first = backend.upsert(template())
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in server.requests] == [
        ("GET", "demo-tpl"),  # 404
        ("POST", "workflowtemplates"),
    ]
    server.clear_requests()
    changed = template()
    changed["spec"]["entrypoint"] = "main"
    changed["spec"]["parallelism"] = 2
    second = backend.upsert(changed)
    assert [r.method for r in server.requests] == ["GET", "PUT"]
    put = server.requests[-1]
    assert put.body["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert put.query["fieldValidation"] == ["Strict"]
    assert "resourceVersion" not in changed["metadata"]  # the caller's dict is not modified
    assert second["metadata"]["uid"] == first["metadata"]["uid"]
    assert second["metadata"]["generation"] == 2
    assert server.get("WorkflowTemplate", "demo-tpl")["spec"]["parallelism"] == 2
    backend.upsert(changed)  # idempotent: one more update, no error, no duplicate
    assert [t["metadata"]["name"] for t in backend.list("WorkflowTemplate")] == ["demo-tpl"]


def racing(backend, server, times: int, kind: str = "WorkflowTemplate", name: str = "demo-tpl"):
    """Someone else updates the object right after each of the next ``times`` reads."""
    real = backend.current_version
    left = [times]

    def read_then_race(*args, **kwargs):
        answer = real(*args, **kwargs)
        if left[0]:
            left[0] -= 1
            server.touch(kind, name)
        return answer

    backend.current_version = read_then_race


def test_a_stale_resource_version_is_retried_once_with_a_fresh_read(backend, server):
    backend.upsert(cron())
    racing(backend, server, times=1, kind="CronWorkflow", name="demo-cron")
    server.clear_requests()
    changed = {**cron(), "spec": {**cron()["spec"], "timezone": "Europe/Paris"}}
    saved = backend.upsert(changed)
    assert [r.method for r in server.requests] == ["GET", "PUT", "GET", "PUT"]  # 409, then ok
    stored = server.get("CronWorkflow", "demo-cron")
    assert stored["spec"]["timezone"] == "Europe/Paris"
    assert saved["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]


def test_stale_twice_is_one_clear_error(backend, server):
    backend.upsert(template())
    racing(backend, server, times=2)
    with pytest.raises(ArgoServerError) as err:
        backend.upsert(template())
    assert err.value.status == 409
    assert str(err.value).startswith(
        "WorkflowTemplate \"demo-tpl\" in namespace 'argo' changed concurrently between read "
        "and update twice (409 Conflict, resourceVersion "
    )


def test_created_meanwhile_is_updated(backend, server):
    real = backend.current_version

    def missing_then_created(kind, name):
        backend.current_version = real
        server.put(template())  # someone else creates it between our read and our create
        raise backend.error(f'WorkflowTemplate "{name}" not found (404)', 404)

    backend.current_version = missing_then_created
    backend.upsert(template())
    assert [r.method for r in server.requests] == ["POST", "GET", "PUT"]  # 409, read, update
    assert len(server.objects("WorkflowTemplate")) == 1


def test_replace_without_or_with_a_stale_version(backend, server):
    kind = KINDS["WorkflowTemplate"]
    created = backend.create(kind, template())
    with pytest.raises(ArgoServerError) as err:
        backend.replace(kind, template())  # no resourceVersion
    assert err.value.status == 422 and "must be specified for an update" in str(err.value)
    backend.replace(kind, created)
    with pytest.raises(ArgoServerError) as err:
        backend.replace(kind, created)  # stale now
    assert err.value.status == 409
    assert "was changed concurrently (409 Conflict)" in str(err.value)


def test_delete_of_a_missing_object(backend):
    with pytest.raises(ArgoServerError, match=r"CronWorkflow \"ghost\" not found in namespace"):
        backend.delete("CronWorkflow", "ghost")


# ----------------------------------------------------------------------------- watch / wait
def test_wait_follows_the_run_through_the_watch_api(backend, server):
    name = backend.create_workflow(workflow())["metadata"]["name"]
    seen: list[dict] = []
    final = backend.wait_for_workflow(name, on_update=seen.append, poll_interval=5)
    assert final["status"]["phase"] == "Succeeded"
    pods = [n for n in final["status"]["nodes"].values() if n["type"] == "Pod"]
    assert sorted(n["displayName"] for n in pods) == ["report", "split", "train"]
    assert len(seen) >= 3  # progress, not just the end
    versions = [int(w["metadata"]["resourceVersion"]) for w in seen]
    assert versions == sorted(set(versions))
    [watch_request] = server.requests_to("GET", rf"{WF_PATH}$")
    assert watch_request.query["watch"] == ["true"]
    assert watch_request.query["fieldSelector"] == [f"metadata.name={name}"]
    assert watch_request.query["resourceVersion"] == [seen[0]["metadata"]["resourceVersion"]]
    assert int(watch_request.query["timeoutSeconds"][0]) >= 1
    # the stream, not polling (poll_interval=5 s would have made this slow)
    assert len(server.requests_to("GET", rf"{WF_PATH}/{name}$")) <= 2


def test_wait_until_failed(backend, server):
    server.executor = fail_task("train", delay=STEP)
    name = backend.create_workflow(workflow())["metadata"]["name"]
    final = backend.wait_for_workflow(name, poll_interval=5)
    by_name = {n["displayName"]: n["phase"] for n in final["status"]["nodes"].values()}
    assert final["status"]["phase"] == "Failed"
    assert (by_name["split"], by_name["train"], by_name["report"]) == (
        "Succeeded",
        "Failed",
        "Omitted",
    )


@pytest.mark.parametrize("status", [404, 405])
def test_falls_back_to_polling_without_the_watch_api(backend, server, status):
    server.watch_status = status
    server.executor = succeed_all(0.1)
    name = backend.create_workflow(workflow())["metadata"]["name"]
    final = backend.wait_for_workflow(name, poll_interval=0.02)
    assert final["status"]["phase"] == "Succeeded"
    assert len(server.requests_to("GET", rf"{WF_PATH}$")) == 1  # tried once, then polled
    assert len(server.requests_to("GET", rf"{WF_PATH}/{name}$")) >= 3


def test_an_error_event_or_a_closed_stream_reconnects_then_polls(backend, server):
    server.watch_error = {"kind": "Status", "code": 410, "message": "too old resource version"}
    name = backend.create_workflow(workflow())["metadata"]["name"]
    assert backend.wait_for_workflow(name, poll_interval=0.02)["status"]["phase"] == "Succeeded"
    server.watch_error = None
    server.stream_limit = 0  # every watch closes at once, with nothing in it
    server.executor = succeed_all(0.1)
    server.clear_requests()
    name = backend.create_workflow(workflow())["metadata"]["name"]
    assert backend.wait_for_workflow(name, poll_interval=0.02)["status"]["phase"] == "Succeeded"
    assert len(server.requests_to("GET", rf"{WF_PATH}$")) == watch.MAX_FAILURES


def test_streams_closing_after_each_event_still_see_the_end(backend, server):
    server.stream_limit = 1
    name = backend.create_workflow(workflow())["metadata"]["name"]
    assert backend.wait_for_workflow(name, poll_interval=5)["status"]["phase"] == "Succeeded"


def test_a_watched_workflow_that_is_deleted(backend, server):
    server.executor = None
    name = backend.create_workflow(workflow())["metadata"]["name"]

    def delete_once_watched() -> None:
        server.wait_for_watcher(name)
        server.delete("Workflow", name)

    deleter = threading.Thread(target=delete_once_watched, daemon=True)
    deleter.start()
    with pytest.raises(ArgoServerError, match="was deleted from namespace 'argo'"):
        backend.wait_for_workflow(name, poll_interval=5)
    deleter.join()


def test_wait_timeout(server):
    server.executor = None  # never progresses
    backend = server.backend(stream_timeout=120)
    name = backend.create_workflow(workflow())["metadata"]["name"]
    t0 = time.monotonic()
    with pytest.raises(ArgoServerError, match=r"did not finish within 1.5 s \(phase: Pending\)"):
        backend.wait_for_workflow(name, poll_interval=0.05, timeout=1.5)
    assert time.monotonic() - t0 < 60  # its own deadline ended the watch, not 120 s
    [request] = server.requests_to("GET", rf"{WF_PATH}$")
    assert request.query["timeoutSeconds"] == ["2"]


def test_wait_for_a_missing_workflow(backend):
    with pytest.raises(ArgoServerError, match='Workflow "ghost" not found'):
        backend.wait_for_workflow("ghost")


def test_offloaded_node_status_is_said(backend, server, caplog):
    offloaded = {"phase": "Running", "offloadNodeStatusVersion": "v1"}
    server.put({**workflow("big"), "status": offloaded})
    caplog.set_level(logging.WARNING, logger="kedro_argo")
    assert backend.get_workflow("big")["status"]["phase"] == "Running"
    assert "keeps its node status in Argo's database (offloaded)" in caplog.text


# ----------------------------------------------------------------------------- logs
def test_logs_of_every_pod_and_of_one(backend, server):
    name = backend.create_workflow(workflow())["metadata"]["name"]
    backend.wait_for_workflow(name, poll_interval=5)
    lines = list(backend.workflow_logs(name))  # pods by start time (seconds), then name
    assert sorted(ln for ln in lines if ln.endswith("started")) == [
        "stub: report started",
        "stub: split started",
        "stub: train started",
    ]
    pods = server.requests_to("GET", r"/pods$")[0]
    assert pods.query["labelSelector"] == [f"{WORKFLOW_LABEL}={name}"]
    server.add_log(name, "pod-x", ["hello", '{"json": true}'])
    server.add_log(name, "pod-x", ["sidecar"], container="wait")
    assert list(backend.workflow_logs(name, "pod-x")) == ["hello", '{"json": true}']  # main only
    assert server.requests_to("GET", r"/pods/pod-x/log$")[-1].query["container"] == ["main"]
    with pytest.raises(ArgoServerError, match='Workflow "ghost" not found'):
        list(backend.workflow_logs("ghost"))


def test_logs_of_a_pod_that_is_gone_or_not_started(backend, server, caplog):
    server.executor = None
    name = backend.create_workflow(workflow())["metadata"]["name"]
    with pytest.raises(ArgoServerError) as err:
        list(backend.workflow_logs(name, "gone-pod"))
    assert err.value.status == 404
    assert 'Pod "gone-pod" not found in namespace' in str(err.value)
    assert "podGC" in str(err.value)
    server.add_log(name, "a-started", ["ran"])
    server.add_log(name, "b-waiting", [])
    server.waiting_pods.add("b-waiting")
    caplog.set_level(logging.WARNING, logger="kedro_argo")
    assert list(backend.workflow_logs(name)) == ["ran"]  # the waiting pod is skipped
    assert "is waiting to start" in caplog.text


# ----------------------------------------------------------------------------- retries
def test_a_get_is_retried_on_503_and_on_a_dropped_connection(backend, server):
    server.executor = None
    backend.create_workflow(workflow("w1"))
    server.clear_requests()
    server.fail(503, times=2, method="GET")
    assert backend.get_workflow("w1")["metadata"]["name"] == "w1"
    assert len(server.requests_to("GET")) == 3
    server.clear_requests()
    server.drop(times=1, method="GET")
    assert backend.get_workflow("w1")["metadata"]["name"] == "w1"
    assert len(server.requests_to("GET")) == 2


def test_retries_are_bounded(server):
    backend = server.backend(retries=2)
    server.fail(503, times=-1, method="GET")
    with pytest.raises(ArgoServerError) as err:
        backend.list("Workflow")
    assert err.value.status == 503
    assert len(server.requests_to("GET")) == 3  # 1 + 2 retries


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_create_is_not_retried_on_5xx(backend, server, status):
    server.fail(status, times=1, method="POST")
    with pytest.raises(ArgoServerError) as err:
        backend.create_workflow(workflow())
    assert err.value.status == status
    assert str(err.value).endswith(
        "the request may or may not have taken effect: check with `kubectl -n argo get "
        "workflows` before trying again"
    )
    assert len(server.requests_to("POST")) == 1


def test_a_create_whose_answer_is_lost_is_not_sent_again(backend, server):
    server.executor = None
    server.drop(times=1, method="POST", after=True)  # created, but the answer never arrives
    with pytest.raises(ArgoServerError, match="may or may not have taken effect"):
        backend.create_workflow(workflow())
    assert len(server.requests_to("POST")) == 1
    assert len(server.workflows) == 1  # no duplicate


def test_a_read_timeout_is_not_retried(server):
    backend = server.backend(timeout=0.5)
    server.delay(HANG_GUARD_S, times=1, method="GET")  # answers only when the server stops
    with pytest.raises(ArgoServerError, match=r"did not answer GET .* within 0.5 s \(timeout\)"):
        backend.list("Workflow")
    assert len(server.requests_to("GET")) == 1


# ----------------------------------------------------------------------------- failures
def test_401_says_how_to_refresh_the_kubeconfigs_credentials(server):
    backend = server.backend(kubeconfig=server.write_kubeconfig(token="expired-token-7731"))
    with pytest.raises(ArgoServerError) as err:
        backend.create_workflow(workflow())
    message = str(err.value)
    assert err.value.status == 401
    assert message.startswith(
        'Kubernetes API server refused to create Workflow "demo-" (401 Unauthorized): the '
        "kubeconfig's credentials of context 'stand-in' (user 'kedro-argo-test') were rejected"
    )
    assert "kubectl auth whoami" in message and "expired-token-7731" not in message
    assert [r.auth for r in server.requests] == ["wrong"]  # a 401 is not retried


def test_403_names_the_verb_resource_and_namespace():
    with StubKubeServer(token=TOKEN, forbidden=[("create", "workflows")]) as s, s.backend() as b:
        with pytest.raises(ArgoServerError) as err:
            b.create_workflow(workflow())
        assert b.list("Workflow") == []  # listing is allowed
    message = str(err.value)
    assert err.value.status == 403
    assert message.startswith(
        "Kubernetes API server refused to create Workflow \"demo-\" in namespace 'argo' (403 "
        'Forbidden): workflows.argoproj.io is forbidden: User "kedro-argo-test" cannot '
        'create resource "workflows" in API group "argoproj.io" in the namespace "argo". The '
        "kubeconfig user 'kedro-argo-test' (context 'stand-in') lacks RBAC permissions to "
        "create workflows.argoproj.io there; "
    )
    assert message.endswith("`kubectl auth can-i create workflows.argoproj.io -n argo`")


def test_403_on_pod_logs():
    with StubKubeServer(token=TOKEN, forbidden=[("get", "pods/log")]) as s, s.backend() as b:
        s.add_log("wf", "wf-pod", ["x"])
        with pytest.raises(ArgoServerError) as err:
            list(b.workflow_logs("wf", "wf-pod"))
    assert "lacks RBAC permissions to get pods/log there" in str(err.value)
    assert "kubectl auth can-i get pods/log -n argo" in str(err.value)


def test_unreachable_api_server_is_one_line(tmp_path: Path, caplog):
    port = closed_port()
    with StubKubeServer(token=TOKEN) as s:
        config = s.write_kubeconfig(tmp_path / "kubeconfig")
        config.write_text(config.read_text().replace(f":{s.port}", f":{port}"))
    caplog.set_level(logging.DEBUG)
    backend = KubernetesBackend.from_kubeconfig(
        {"KUBECONFIG": str(config)}, retries=2, backoff=0.01, timeout=60
    )
    t0 = time.monotonic()
    with pytest.raises(ArgoServerError) as err:
        backend.list("Workflow")
    message = str(err.value)
    assert message.startswith(f"Cannot reach the Kubernetes API server at http://127.0.0.1:{port}")
    assert "refused" in message.lower() and "kubectl cluster-info" in message
    assert "\n" not in message and TOKEN not in message and TOKEN not in caplog.text
    assert time.monotonic() - t0 < 30  # refused at once: no waiting out the 60 s timeout


@pytest.fixture(scope="module")
def cert_pair(tmp_path_factory):
    pair = make_self_signed_cert(tmp_path_factory.mktemp("tls"))
    if pair is None:
        pytest.skip("neither cryptography nor openssl can make a certificate")
    return pair


def test_tls_is_verified_unless_the_kubeconfig_says_otherwise(cert_pair):
    with StubKubeServer(token=TOKEN, tls=cert_pair) as s:
        with pytest.raises(ArgoServerError) as err:
            s.backend().list("Workflow")
        message = str(err.value)
        assert message.startswith(
            f"TLS certificate verification failed for the Kubernetes API server at {s.url}"
        )
        assert "certificate-authority" in message and "insecure-skip-tls-verify" in message
        assert s.requests == []  # the token never left the client
        assert s.backend(kubeconfig=s.write_kubeconfig(ca_file=cert_pair[0])).list("Workflow") == []
        with pytest.warns(InsecureRequestWarning):  # urllib3 says so on every request
            assert s.backend(kubeconfig=s.write_kubeconfig(insecure=True)).list("Workflow") == []
        assert {r.auth for r in s.requests} == {"ok"}


def test_tls_to_a_plain_http_server(server, tmp_path):
    path = server.write_kubeconfig(tmp_path / "config")
    path.write_text(path.read_text().replace("http://", "https://"))
    with pytest.raises(ArgoServerError) as err:
        server.backend(kubeconfig=path, retries=0).list("Workflow")
    message = str(err.value)
    assert message.startswith("TLS handshake with the Kubernetes API server at https://127.0.0.1:")
    assert message.endswith(
        "the server may speak plain HTTP; if so use an http:// server URL in the kubeconfig"
    )


def test_the_token_is_scrubbed_from_errors_and_logs(server, caplog):
    caplog.set_level(logging.DEBUG)
    echo = {"kind": "Status", "code": 500, "message": f"bad header: Bearer {TOKEN}"}
    server.fail(500, times=1, method="GET", body=echo)
    backend = server.backend(retries=0)
    with pytest.raises(ArgoServerError) as err:
        backend.get_workflow("x")
    assert "bad header: ***" in str(err.value)
    assert TOKEN not in str(err.value) and TOKEN not in caplog.text
    assert any(r.getMessage().startswith("Kubernetes API request: GET") for r in caplog.records)
    assert all(
        {k.lower(): v for k, v in r.headers.items()}["authorization"] == "<redacted>"
        for r in server.requests
    )
    assert all(TOKEN not in r.text() for r in server.requests)
    assert TOKEN not in repr(backend)


# ----------------------------------------------------------------------------- the kubeconfig
def test_without_a_kubeconfig(tmp_path):
    with pytest.raises(ArgoServerError) as err:
        KubernetesBackend.from_kubeconfig({"KUBECONFIG": str(tmp_path / "none")})
    assert str(err.value) == NO_CLUSTER


def test_context_and_namespace_selection(server, tmp_path):
    path = server.write_kubeconfig(
        tmp_path / "config", namespace=None, extra_contexts={"team-b": "team-b"}
    )
    env = {"KUBECONFIG": str(path)}
    current = KubernetesBackend.from_kubeconfig(env)
    assert (current.context.name, current.namespace) == ("stand-in", "argo")  # default
    assert current.link("wf-1") == "kubectl -n argo get workflow wf-1"
    chosen = KubernetesBackend.from_kubeconfig(env, context="team-b")
    assert (chosen.context.name, chosen.namespace) == ("team-b", "team-b")  # the context's
    assert chosen.link("wf-1") == "kubectl --context team-b -n team-b get workflow wf-1"
    with_env = KubernetesBackend.from_kubeconfig({**env, "ARGO_NAMESPACE": "e"}, context="team-b")
    assert with_env.namespace == "e"
    explicit = KubernetesBackend.from_kubeconfig(
        {**env, "ARGO_NAMESPACE": "e"}, context="team-b", namespace="x"
    )
    assert explicit.namespace == "x"
    with pytest.raises(ArgoServerError) as err:
        KubernetesBackend.from_kubeconfig(env, context="prod")
    assert "Context 'prod' is not in the kubeconfig" in str(err.value)
    assert "(contexts: stand-in, team-b)" in str(err.value)


def test_a_kubeconfig_without_current_context_or_unreadable(server, tmp_path):
    path = server.write_kubeconfig(tmp_path / "config", current=False)
    with pytest.raises(ArgoServerError, match="has no current context: pass --context NAME"):
        KubernetesBackend.from_kubeconfig({"KUBECONFIG": str(path)})
    assert KubernetesBackend.from_kubeconfig({"KUBECONFIG": str(path)}, context="stand-in")
    path.write_text("clusters: [unclosed\n")
    with pytest.raises(ArgoServerError, match=f"Cannot read the kubeconfig {path}"):
        KubernetesBackend.from_kubeconfig({"KUBECONFIG": str(path)})


def test_kubeconfig_path_lists_merge_like_kubectl(server, tmp_path):
    first = server.write_kubeconfig(tmp_path / "a", context="a", current=False)
    second = server.write_kubeconfig(tmp_path / "b", context="b")
    env = {"KUBECONFIG": f"{tmp_path / 'missing'}:{first}:{second}"}
    backend = KubernetesBackend.from_kubeconfig(env)  # current context: from the second
    assert backend.context.name == "b"
    assert KubernetesBackend.from_kubeconfig(env, context="a").list("Workflow") == []


def test_the_ui_needs_the_argo_server(backend):
    with pytest.raises(ArgoServerError, match="The Argo UI needs the Argo Server"):
        backend.ui_url("x")
