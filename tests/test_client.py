"""The Argo Server backend (kedro_argo.server.argo_api, with its transport, failure table and
watcher) against the stand-in Argo Server (tests/argo_server.py)."""

from __future__ import annotations

import copy
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from kedro_argo.errors import ArgoServerError, KedroArgoError
from kedro_argo.server import watch
from kedro_argo.server.argo_api import ArgoServerBackend, ConnectionSettings, iter_messages
from kedro_argo.server.backend import KINDS

# tests/ is a package or a sys.path entry depending on whether tests/__init__.py exists.
if __package__:
    from .argo_server import (
        DEFAULT_TOKEN,
        HANG_GUARD_S,
        StubArgoServer,
        fail_task,
        load_validator,
        make_self_signed_cert,
        succeed_all,
    )
else:
    from argo_server import (
        DEFAULT_TOKEN,
        HANG_GUARD_S,
        StubArgoServer,
        fail_task,
        load_validator,
        make_self_signed_cert,
        succeed_all,
    )

NS = "argo"
STEP = 0.03  # executor delay per pod: slow enough to watch, fast enough for CI
WAIT = HANG_GUARD_S  # a wait's timeout: a hang guard, never a measure of speed


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
                {
                    "name": "node",
                    "container": {
                        "image": "python:3.12",
                        "command": ["python", "-m", "kedro_argo"],
                    },
                },
            ],
        },
    }


def template(name: str = "demo-tpl") -> dict:
    wf = workflow()
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": name},
        "spec": {
            **wf["spec"],
            "arguments": {"parameters": [{"name": "env", "value": "base"}]},
        },
    }


def cron(name: str = "demo-cron") -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": {"name": name},
        "spec": {"schedules": ["0 3 * * *"], "workflowSpec": workflow()["spec"]},
    }


@pytest.fixture
def server() -> Iterator[StubArgoServer]:
    with StubArgoServer(executor=succeed_all(STEP)) as s:
        yield s


@pytest.fixture
def client(server: StubArgoServer) -> Iterator[ArgoServerBackend]:
    c = server.client()
    yield c
    c.close()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ----------------------------------------------------------------------------- settings
def test_settings_defaults():
    s = ConnectionSettings.from_env({"ARGO_SERVER": "argo.example.com:2746"})
    assert s.namespace == "argo"
    assert s.token is None
    assert s.secure is True and s.insecure_skip_verify is False
    assert s.base_url == "https://argo.example.com:2746"


def test_settings_all_variables():
    env = {
        "ARGO_SERVER": "localhost:2746",
        "ARGO_TOKEN": "Bearer abc.def",
        "ARGO_NAMESPACE": "team",
        "ARGO_SECURE": "false",
        "ARGO_INSECURE_SKIP_VERIFY": "true",
        "ARGO_BASE_HREF": "argo/",
        "ARGO_HTTP1": "true",
    }
    s = ConnectionSettings.from_env(env)
    assert s.token == "Bearer abc.def"
    assert s.namespace == "team"
    assert s.insecure_skip_verify is True
    assert s.base_url == "http://localhost:2746/argo"
    assert ArgoServerBackend(s).ui_url("wf-1") == "http://localhost:2746/argo/workflows/team/wf-1"
    assert ArgoServerBackend(s).ui_url() == "http://localhost:2746/argo/workflows/team"
    assert ArgoServerBackend(s).link("wf-1") == "http://localhost:2746/argo/workflows/team/wf-1"


@pytest.mark.parametrize(
    ("raw", "header"),
    [
        ("abc.def.ghi", "Bearer abc.def.ghi"),
        ("v2:token", "Bearer v2:token"),
        ("Bearer abc", "Bearer abc"),
        ("Basic dXNlcjpwdw==", "Basic dXNlcjpwdw=="),
        ("  abc \n", "Bearer abc"),
        ("", None),
    ],
)
def test_settings_token_scheme(raw, header):
    s = ConnectionSettings.from_env({"ARGO_SERVER": "h:1", "ARGO_TOKEN": raw})
    assert s.token == header


@pytest.mark.parametrize(
    ("server", "secure", "url"),
    [
        ("http://h:1", "true", "http://h:1"),  # the scheme wins over ARGO_SECURE
        ("https://h:1/", "false", "https://h:1"),
        ("https://h:1/prefix", "true", "https://h:1/prefix/base"),
        ("h:1", "true", "https://h:1/base"),
        ("h:1", "0", "http://h:1/base"),
    ],
)
def test_settings_scheme_and_base_href(server, secure, url):
    env = {"ARGO_SERVER": server, "ARGO_SECURE": secure}
    if "/prefix" in server or server == "h:1":
        env["ARGO_BASE_HREF"] = "/base/"
    assert ConnectionSettings.from_env(env).base_url == url


def test_settings_explicit_arguments_beat_env():
    env = {"ARGO_SERVER": "env:1", "ARGO_NAMESPACE": "env-ns"}
    s = ConnectionSettings.from_env(env, server="cfg:2", namespace="cfg-ns")
    assert (s.server, s.namespace) == ("cfg:2", "cfg-ns")
    s = ConnectionSettings.from_env(env, server=None, namespace=None)
    assert (s.server, s.namespace) == ("env:1", "env-ns")


def test_settings_missing_server():
    with pytest.raises(ArgoServerError) as err:
        ConnectionSettings.from_env({"ARGO_TOKEN": "x"})
    assert "ARGO_SERVER" in str(err.value) and "argo.yml" in str(err.value)
    assert isinstance(err.value, KedroArgoError)


@pytest.mark.parametrize("bad", [{"ARGO_SECURE": "maybe"}, {"ARGO_SERVER": "ftp://h:1"}])
def test_settings_invalid_values(bad):
    with pytest.raises(ArgoServerError, match="ARGO_S"):
        ConnectionSettings.from_env({"ARGO_SERVER": "h:1", **bad})


def test_settings_from_os_environ(monkeypatch):
    monkeypatch.setenv("ARGO_SERVER", "osenv:9")
    monkeypatch.setenv("ARGO_NAMESPACE", "osns")
    s = ConnectionSettings.from_env()
    assert (s.server, s.namespace) == ("osenv:9", "osns")


def test_repr_never_shows_token():
    secret = "eyJhbGciOi.super-secret-token"
    s = ConnectionSettings.from_env({"ARGO_SERVER": "h:1", "ARGO_TOKEN": secret})
    c = ArgoServerBackend(s)
    for text in (repr(s), str(s), repr(c), str(c)):
        assert secret not in text
    assert "token=<set>" in repr(s)


# ----------------------------------------------------------------------------- token hygiene
def test_token_never_in_errors_logs_or_requests(server, caplog):
    caplog.set_level(logging.DEBUG)
    client = server.client(retries=1)
    # a server that echoes the token in its error message: the client scrubs it
    server.fail(500, body={"code": 13, "message": f"bad header Bearer {DEFAULT_TOKEN}"})
    errors = []
    for call in (
        lambda: client.get_workflow("nope"),
        lambda: client.get_workflow("missing"),
        lambda: client.create_workflow({"kind": "Workflow", "metadata": {"name": "x"}}),
        lambda: client.delete("Workflow", "missing"),
    ):
        with pytest.raises(ArgoServerError) as err:
            call()
        errors.append(str(err.value))
    created = client.create_workflow(workflow())
    client.wait_for_workflow(created["metadata"]["name"], poll_interval=0.05)
    list(client.workflow_logs(created["metadata"]["name"]))
    assert "***" in errors[0]
    for text in [*errors, caplog.text, *(r.text() for r in server.requests)]:
        assert DEFAULT_TOKEN not in text
    # ... and it was sent on every request
    assert {r.auth for r in server.requests} == {"ok"}
    assert all(r.headers.get("Authorization") == "<redacted>" for r in server.requests)


# ----------------------------------------------------------------------------- round trips
def test_create_get_list_delete(client, server):
    created = client.create_workflow(workflow())
    name = created["metadata"]["name"]
    assert name.startswith("demo-") and len(name) == len("demo-") + 5
    assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
    got = client.get_workflow(name)
    assert got["metadata"]["uid"] == created["metadata"]["uid"]
    listed = client.list("Workflow", "app=kedro-argo")
    assert [w["metadata"]["name"] for w in listed] == [name]
    assert client.list("Workflow", "app=other") == []  # Argo's `"items": null` → []
    get = server.requests_to("GET", rf"^/api/v1/workflows/{NS}$")[0]
    assert get.query["listOptions.labelSelector"] == ["app=kedro-argo"]
    client.delete("Workflow", name)
    assert server.get("Workflow", name) is None
    with pytest.raises(ArgoServerError, match=rf'Workflow "{name}" not found in namespace'):
        client.get_workflow(name)


def test_every_body_repeats_namespace(client, server):
    client.create_workflow(workflow())
    client.upsert(template())
    client.upsert(template())
    client.upsert(cron())
    sent = [r for r in server.requests if r.method in ("POST", "PUT")]
    assert [r.method for r in sent] == ["POST", "POST", "PUT", "POST"]
    assert all(r.body["namespace"] == NS for r in sent)


def test_invalid_manifest_gives_argos_message(client, server):
    validator = load_validator()
    bad = workflow(tasks=[{"name": "a", "template": "node", "depends": "ghost"}])
    expected = next(
        f.message
        for f in validator.validate_document(
            bad, {}, {"schema", "cel", "meta", "lint", "size"}, False, True
        )
        if f.level == "error"
    )
    with pytest.raises(ArgoServerError) as err:
        client.create_workflow(bad)
    assert err.value.status == 400
    assert expected in str(err.value)
    assert "\n" not in str(err.value)
    typo = workflow()
    typo["spec"]["entrypiont"] = "main"
    with pytest.raises(ArgoServerError, match="entrypiont"):
        client.create_workflow(typo)
    assert server.workflows == []


def test_dry_run_stores_nothing(client, server):
    answer = client.create_workflow(workflow("dry"), dry_run=True)
    assert answer["metadata"]["name"] == "dry"
    assert server.workflows == []
    assert server.requests_to("POST")[0].body["createOptions"] == {"dryRun": ["All"]}


def test_duplicate_create_is_a_clear_409(client):
    client.create_workflow(workflow("twice"))
    with pytest.raises(ArgoServerError) as err:
        client.create_workflow(workflow("twice"))
    assert err.value.status == 409
    assert 'Workflow "twice" already exists in namespace' in str(err.value)


def test_create_referring_to_a_missing_template(client, server):
    ref = {**workflow(), "spec": {"workflowTemplateRef": {"name": "ghost"}}}
    with pytest.raises(ArgoServerError, match="ghost"):
        client.create_workflow(ref)  # the validator's (400) or the store's (404) answer
    server.validate = False
    with pytest.raises(ArgoServerError, match=r'Cannot create Workflow "demo-".*"ghost" not found'):
        client.create_workflow(ref)


# ----------------------------------------------------------------------------- upserts
def test_upsert_workflow_template_create_then_update(client, server):
    first = client.upsert(template())
    assert [r.method for r in server.requests] == ["GET", "POST"]
    server.clear_requests()
    changed = template()
    changed["spec"]["arguments"]["parameters"][0]["value"] = "changed"
    second = client.upsert(changed)
    assert [r.method for r in server.requests] == ["GET", "PUT"]
    put = server.requests[-1].body
    assert put["template"]["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert "resourceVersion" not in changed["metadata"]  # the caller's dict is not modified
    assert second["metadata"]["uid"] == first["metadata"]["uid"]
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    stored = server.get("WorkflowTemplate", "demo-tpl")
    assert stored["spec"]["arguments"]["parameters"][0]["value"] == "changed"
    # idempotent: the same upsert again is one more update, not an error
    client.upsert(changed)
    assert [t["metadata"]["name"] for t in client.list("WorkflowTemplate")] == ["demo-tpl"]


def test_update_with_stale_resource_version_is_409(client):
    kind = KINDS["WorkflowTemplate"]
    created = client.create(kind, template())
    fresh = client.replace(kind, created)
    assert fresh["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    with pytest.raises(ArgoServerError) as err:
        client.replace(kind, created)  # stale
    assert err.value.status == 409
    assert "changed concurrently" in str(err.value) and "demo-tpl" in str(err.value)


def racing(client, server, times: int) -> None:
    """Someone else updates demo-tpl right after each of the next ``times`` reads."""
    real = client.current_version
    left = [times]

    def read_then_race(*args, **kwargs):
        answer = real(*args, **kwargs)
        if left[0]:
            left[0] -= 1
            server.touch("WorkflowTemplate", "demo-tpl")
        return answer

    client.current_version = read_then_race


def test_upsert_retries_once_after_a_concurrent_change(client, server):
    client.upsert(template())
    racing(client, server, times=1)
    server.clear_requests()
    saved = client.upsert(template())
    assert [r.method for r in server.requests] == ["GET", "PUT", "GET", "PUT"]  # 409, then ok
    assert (
        saved["metadata"]["resourceVersion"]
        == server.get("WorkflowTemplate", "demo-tpl")["metadata"]["resourceVersion"]
    )


def test_upsert_concurrent_changes_twice_is_a_clear_409(client, server):
    client.upsert(template())
    racing(client, server, times=2)
    with pytest.raises(ArgoServerError) as err:
        client.upsert(template())
    assert err.value.status == 409
    assert "changed concurrently between read and update twice" in str(err.value)


def test_upsert_of_an_object_created_meanwhile_updates_it(client, server):
    real = client.current_version

    def missing_then_created(kind, name):
        client.current_version = real
        server.put(template())  # someone else creates it between our read and our create
        raise client.error(f'WorkflowTemplate "{name}" not found in namespace (404)', 404)

    client.current_version = missing_then_created
    client.upsert(template())
    assert [r.method for r in server.requests] == ["POST", "GET", "PUT"]  # 409, read, update
    assert len(server.objects("WorkflowTemplate")) == 1


def test_upsert_refuses_other_kinds(client):
    with pytest.raises(ArgoServerError, match="only WorkflowTemplate and CronWorkflow"):
        client.upsert(workflow("w"))


def test_cron_workflows(client, server):
    created = client.upsert(cron())
    assert created["metadata"]["name"] == "demo-cron"
    updated = client.upsert({**cron(), "spec": {**cron()["spec"], "timezone": "UTC"}})
    assert updated["spec"]["timezone"] == "UTC"
    assert server.get("CronWorkflow", "demo-cron")["spec"]["timezone"] == "UTC"
    assert len(client.list("CronWorkflow")) == 1
    client.delete("CronWorkflow", "demo-cron")
    assert client.list("CronWorkflow") == []
    with pytest.raises(ArgoServerError, match='CronWorkflow "demo-cron" not found'):
        client.delete("CronWorkflow", "demo-cron")


# ----------------------------------------------------------------------------- watch / wait
@pytest.mark.parametrize("fmt", ["sse", "ndjson"])
def test_wait_until_succeeded(client, server, fmt):
    client.stream_format = fmt
    name = client.create_workflow(workflow())["metadata"]["name"]
    seen = []
    final = client.wait_for_workflow(name, on_update=seen.append, poll_interval=5, timeout=WAIT)
    assert final["status"]["phase"] == "Succeeded"
    pods = [n for n in final["status"]["nodes"].values() if n["type"] == "Pod"]
    assert sorted(n["displayName"] for n in pods) == ["report", "split", "train"]
    assert all(n["phase"] == "Succeeded" for n in pods)
    assert len(seen) >= 3  # progress was reported, not just the end
    versions = [int(w["metadata"]["resourceVersion"]) for w in seen]
    assert versions == sorted(set(versions))
    watch = server.requests_to("GET", "workflow-events")
    assert len(watch) == 1
    assert watch[0].query["listOptions.fieldSelector"] == [f"metadata.name={name}"]
    expected = "text/event-stream" if fmt == "sse" else "application/json"
    assert watch[0].headers["Accept"] == expected
    # the stream, not polling (poll_interval=5 s would have made this slow)
    assert len(server.requests_to("GET", rf"/workflows/{NS}/{name}$")) <= 2


def test_wait_until_failed(client, server):
    server.executor = fail_task("train", delay=STEP)
    name = client.create_workflow(workflow())["metadata"]["name"]
    final = client.wait_for_workflow(name, poll_interval=5, timeout=WAIT)
    assert final["status"]["phase"] == "Failed"
    by_name = {n["displayName"]: n for n in final["status"]["nodes"].values()}
    assert by_name["split"]["phase"] == "Succeeded"
    assert by_name["train"]["phase"] == "Failed"
    assert by_name["report"]["phase"] == "Omitted"


@pytest.mark.parametrize("status", [404, 501])
def test_falls_back_to_polling(client, server, status):
    server.events_status = status
    server.executor = succeed_all(0.1)
    name = client.create_workflow(workflow())["metadata"]["name"]
    final = client.wait_for_workflow(name, poll_interval=0.02, timeout=WAIT)
    assert final["status"]["phase"] == "Succeeded"
    assert len(server.requests_to("GET", "workflow-events")) == 1  # tried once, then polled
    assert len(server.requests_to("GET", rf"/workflows/{NS}/{name}$")) >= 3


def test_stream_error_line_and_reconnects(client, server):
    server.events_error = {"grpc_code": 14, "http_code": 503, "message": "transport is closing"}
    name = client.create_workflow(workflow())["metadata"]["name"]
    final = client.wait_for_workflow(name, poll_interval=0.02, timeout=WAIT)
    assert final["status"]["phase"] == "Succeeded"
    # streams that close after each event: reconnect and still see the end
    server.events_error = None
    server.stream_limit = 1
    name = client.create_workflow(workflow())["metadata"]["name"]
    assert client.wait_for_workflow(name, poll_interval=0.02, timeout=WAIT)["status"]["phase"] == (
        "Succeeded"
    )


def test_watch_yields_events_and_stops(client, server):
    server.executor = succeed_all(STEP)
    name = client.create_workflow(workflow())["metadata"]["name"]
    events = list(watch.watch_workflow(client, name, poll_interval=5))
    assert events[0]["type"] == "ADDED"
    assert {e["type"] for e in events[1:]} <= {"ADDED", "MODIFIED"}
    assert events[-1]["object"]["status"]["phase"] == "Succeeded"
    assert all(e["object"]["status"].get("phase") not in ("Succeeded",) for e in events[:-1])


def test_wait_timeout(server):
    server.executor = None  # never progresses
    client = server.client(stream_timeout=120)
    name = client.create_workflow(workflow())["metadata"]["name"]
    t0 = time.monotonic()
    with pytest.raises(ArgoServerError, match=r"did not finish within 0.3 s \(phase: Pending\)"):
        client.wait_for_workflow(name, poll_interval=0.05, timeout=0.3)
    assert time.monotonic() - t0 < 60  # its own deadline ended the silent stream, not 120 s


def test_watch_deleted_workflow(server):
    server.executor = None
    client = server.client()
    name = client.create_workflow(workflow())["metadata"]["name"]

    def delete_once_watched() -> None:
        server.wait_for_watcher(name)
        server.delete("Workflow", name)

    deleter = threading.Thread(target=delete_once_watched, daemon=True)
    deleter.start()
    with pytest.raises(ArgoServerError, match="was deleted"):
        client.wait_for_workflow(name, poll_interval=5)
    deleter.join()


def test_wait_for_missing_workflow(client):
    with pytest.raises(ArgoServerError, match='Workflow "ghost" not found'):
        client.wait_for_workflow("ghost")


# ----------------------------------------------------------------------------- logs
def test_logs(client, server):
    name = client.create_workflow(workflow())["metadata"]["name"]
    client.wait_for_workflow(name, poll_interval=0.05)
    lines = list(client.workflow_logs(name))
    assert [ln for ln in lines if ln.endswith("started")] == [
        "stub: split started",
        "stub: train started",
        "stub: report started",
    ]
    server.add_log(name, "pod-x", ["hello", "world"])
    server.add_log(name, "pod-x", ["sidecar"], container="wait")
    assert list(client.workflow_logs(name, "pod-x")) == ["hello", "world"]  # main only
    client.stream_format = "ndjson"
    assert list(client.workflow_logs(name, "pod-x")) == ["hello", "world"]
    with pytest.raises(ArgoServerError, match='Workflow "ghost" not found'):
        list(client.workflow_logs("ghost"))


def test_iter_messages_sse_and_ndjson():
    lines = [
        ": keep-alive",
        "",
        'data: {"result": {"a": 1}}',
        "",
        "event: message",
        'data: {"result":',
        'data:  {"b": 2}}',
        "",
        '{"result": {"c": 3}}',
        '{"error": {"message": "boom"}}',
    ]
    assert list(iter_messages(lines)) == [
        {"result": {"a": 1}},
        {"result": {"b": 2}},
        {"result": {"c": 3}},
        {"error": {"message": "boom"}},
    ]


# ----------------------------------------------------------------------------- retries
def test_get_retried_on_503(client, server):
    client.create_workflow(workflow("w1"))
    server.clear_requests()
    server.fail(503, times=2, method="GET")
    assert client.get_workflow("w1")["metadata"]["name"] == "w1"
    assert len(server.requests_to("GET")) == 3


def test_retries_are_bounded(server):
    client = server.client(retries=2)
    server.fail(503, times=-1, method="GET")
    with pytest.raises(ArgoServerError) as err:
        client.list("Workflow")
    assert err.value.status == 503
    assert len(server.requests_to("GET")) == 3  # 1 + 2 retries


def test_dropped_connection_retried_for_get(client, server):
    client.create_workflow(workflow("w1"))
    server.drop(times=1, method="GET")
    assert client.get_workflow("w1")["metadata"]["name"] == "w1"
    assert len(server.requests_to("GET")) == 2


def test_dry_run_posts_are_retried(client, server):
    server.fail(504, times=1, method="POST")
    client.create_workflow(workflow("dry"), dry_run=True)
    assert len(server.requests_to("POST")) == 2


@pytest.mark.parametrize("status", [502, 503, 504])
def test_create_not_retried_on_5xx(client, server, status):
    server.fail(status, times=1, method="POST")
    with pytest.raises(ArgoServerError) as err:
        client.create_workflow(workflow())
    assert err.value.status == status
    assert "may or may not have taken effect" in str(err.value)
    assert len(server.requests_to("POST")) == 1


def test_create_not_retried_when_answer_lost(client, server):
    server.drop(times=1, method="POST", after=True)  # created, but the answer never arrives
    with pytest.raises(ArgoServerError, match="may or may not have taken effect"):
        client.create_workflow(workflow())
    assert len(server.requests_to("POST")) == 1
    assert len(server.workflows) == 1  # no duplicate


def test_create_retried_when_connect_fails(server):
    attempts = []
    real = httpx.HTTPTransport()

    class FlakyConnect(httpx.BaseTransport):
        def handle_request(self, request):
            attempts.append(request.method)
            if len(attempts) == 1:
                raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
            return real.handle_request(request)

    client = server.client(transport=FlakyConnect())
    created = client.create_workflow(workflow())
    assert created["metadata"]["name"]
    assert attempts == ["POST", "POST"]
    assert len(server.requests_to("POST")) == 1  # only the second reached the server


# ----------------------------------------------------------------------------- failures
def test_unreachable_server_one_clear_line(caplog):
    port = closed_port()
    settings = ConnectionSettings.from_env(
        {"ARGO_SERVER": f"127.0.0.1:{port}", "ARGO_SECURE": "false", "ARGO_TOKEN": "sekret-tok"}
    )
    client = ArgoServerBackend(settings, retries=2, backoff=0.01, timeout=60)
    caplog.set_level(logging.DEBUG)
    t0 = time.monotonic()
    with pytest.raises(ArgoServerError) as err:
        client.list("Workflow")
    msg = str(err.value)
    assert "\n" not in msg
    assert f"127.0.0.1:{port}" in msg
    assert "ARGO_SERVER" in msg and "port-forward" in msg
    assert "refused" in msg.lower()
    assert "sekret-tok" not in msg and "sekret-tok" not in caplog.text
    assert time.monotonic() - t0 < 30  # refused at once: no waiting out the 60 s timeout
    with pytest.raises(ArgoServerError, match="Cannot reach"):
        client.create_workflow(workflow())


def test_401_mentions_argo_token(server):
    no_token = server.client(env={"ARGO_TOKEN": ""})
    with pytest.raises(ArgoServerError) as err:
        no_token.list("Workflow")
    assert err.value.status == 401
    assert "ARGO_TOKEN is not set" in str(err.value)
    assert "kubectl create token" in str(err.value) and "argo auth token" in str(err.value)
    wrong = server.client(env={"ARGO_TOKEN": "Bearer wrong-token"})
    with pytest.raises(ArgoServerError, match="ARGO_TOKEN was rejected") as err:
        wrong.create_workflow(workflow())
    assert "wrong-token" not in str(err.value)
    assert [r.auth for r in server.requests] == ["missing", "wrong"]


def test_403_and_unknown_namespace():
    with StubArgoServer(namespaces=["argo", "locked"], forbidden_namespaces=["locked"]) as s:
        with pytest.raises(ArgoServerError) as err:
            s.client(namespace="locked").list("Workflow")
        assert err.value.status == 403
        assert "'locked'" in str(err.value) and "RBAC" in str(err.value)
        with pytest.raises(ArgoServerError) as err:
            s.client(namespace="nowhere").create_workflow(workflow())
        assert err.value.status == 404
        assert "Namespace 'nowhere' not found" in str(err.value)


def test_read_timeout_is_not_retried(server):
    client = server.client(timeout=0.3)
    server.delay(HANG_GUARD_S, times=1, method="GET")  # answers only when the server stops
    with pytest.raises(ArgoServerError, match=r"within 0.3 s \(timeout\)"):
        client.list("Workflow")  # gave up at its own timeout (the answer never comes)
    assert len(server.requests_to("GET")) == 1


def test_create_timeout_says_check_before_retrying(server):
    client = server.client(timeout=0.3)
    server.delay(HANG_GUARD_S, times=1, method="POST")  # answers only when the server stops
    with pytest.raises(ArgoServerError, match="may or may not have taken effect"):
        client.create_workflow(workflow())
    assert len(server.requests_to("POST")) == 1


def test_base_href():
    with StubArgoServer(base_href="/argo") as s:
        assert s.client(env={"ARGO_BASE_HREF": "argo/"}).list("Workflow") == []
        with pytest.raises(ArgoServerError, match="ARGO_BASE_HREF") as err:
            s.client(env={"ARGO_BASE_HREF": ""}).list("Workflow")
        assert err.value.status == 404


def test_tls_verification(tmp_path):
    pair = make_self_signed_cert(tmp_path)
    if pair is None:
        pytest.skip("neither cryptography nor openssl available")
    with StubArgoServer(tls=pair) as s:
        secure = s.client()
        assert secure.base_url.startswith("https://")
        with pytest.raises(ArgoServerError) as err:
            secure.list("Workflow")
        msg = str(err.value)
        assert "TLS certificate verification failed" in msg
        assert "ARGO_INSECURE_SKIP_VERIFY=true" in msg and "insecure" in msg
        assert len(s.requests) == 0  # the token never left the client
        skip = s.client(env={"ARGO_INSECURE_SKIP_VERIFY": "true"})
        assert skip.list("Workflow") == []
        ctx = ssl.create_default_context(cafile=str(pair[0]))
        assert s.client(verify=ctx).list("Workflow") == []


# ----------------------------------------------------------------------------- stub sanity
def test_stub_generate_name_and_versions(server):
    wf = copy.deepcopy(workflow())
    a = server.put(wf)
    b = server.put(wf)
    assert a["metadata"]["name"] != b["metadata"]["name"]
    assert int(b["metadata"]["resourceVersion"]) > int(a["metadata"]["resourceVersion"])


def test_custom_executor_api(client, server):
    def executor(wf, update):
        assert wf["spec"]["entrypoint"] == "main"
        update({"phase": "Running", "nodes": {"n1": {"displayName": "split", "phase": "Running"}}})
        update.log("pod-1", ["line 1", "line 2"])
        update({"nodes": {"n1": {"phase": "Succeeded"}}})
        update({"phase": "Succeeded", "finishedAt": "2030-01-01T00:00:00Z"})

    server.executor = executor
    name = client.create_workflow(workflow())["metadata"]["name"]
    final = client.wait_for_workflow(name, poll_interval=0.05, timeout=WAIT)
    assert final["status"]["nodes"]["n1"] == {"displayName": "split", "phase": "Succeeded"}
    assert final["metadata"]["labels"]["workflows.argoproj.io/completed"] == "true"
    assert list(client.workflow_logs(name, "pod-1")) == ["line 1", "line 2"]

    def broken(wf, update):
        raise RuntimeError("boom")

    server.executor = broken
    name = client.create_workflow(workflow())["metadata"]["name"]
    final = client.wait_for_workflow(name, poll_interval=0.05, timeout=WAIT)
    assert final["status"]["phase"] == "Error"
    assert "boom" in final["status"]["message"]


def test_https_client_against_http_server(server):
    client = server.client(env={"ARGO_SECURE": "true"})
    with pytest.raises(ArgoServerError, match="ARGO_SECURE=false"):
        client.list("Workflow")
