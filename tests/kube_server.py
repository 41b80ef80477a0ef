"""A stand-in Kubernetes API server for tests: real HTTP(S) on 127.0.0.1, objects in memory.

Serves what kubeconfig mode (``kedro_argo/server/kube.py``) uses, the way the API server does:

* Argo's custom objects, ``/apis/argoproj.io/v1alpha1/namespaces/<ns>/<plural>[/<name>]``
  (plurals ``workflows``, ``workflowtemplates``, ``cronworkflows``): create (``generateName``,
  ``dryRun=All``, ``fieldValidation``), get, replace, list (``labelSelector``,
  ``fieldSelector=metadata.name=…``), delete, and the watch API (``?watch=true``: JSON lines
  ``{"type": ADDED|MODIFIED|DELETED|ERROR, "object": …}``, from ``resourceVersion`` on, ended
  after ``timeoutSeconds``). Objects are stored by (namespace, plural, name) with ``uid``,
  ``resourceVersion``, ``generation`` and ``creationTimestamp`` like Kubernetes; a duplicate
  create is 409 AlreadyExists, a replace with a stale (or without a) ``resourceVersion`` is
  409 Conflict (422 Invalid); a create in a namespace that does not exist is 404.
* Pods of workflows (label ``workflows.argoproj.io/workflow``): list, and their logs
  (``/api/v1/namespaces/<ns>/pods/<pod>/log?container=main``, text).
* ``Authorization: Bearer <token>`` or 401; ``forbidden`` (verb, resource[, namespace]) pairs
  answer 403 with the API server's RBAC message; errors are ``Status`` objects.
* With ``validate``, a posted manifest is checked against Argo's CRD schemas (the offline
  validator's schema layer, what full CRDs make the API server check): an unknown field is
  400 ``strict decoding error`` under ``fieldValidation=Strict`` (accepted otherwise), any
  other schema error 422 Invalid.

Like Argo's controller, an *executor* makes created Workflows progress (the same interface as
:class:`~tests.argo_server.StubArgoServer`'s, so :class:`~tests.argo_server.DagExecutor` and
``tests/cluster/local_executor.py``'s :class:`LocalModeExecutor` work unchanged):
``executor(workflow, update)`` runs in a thread; ``update(status)`` merges ``status`` (``nodes``
per node id), bumps ``resourceVersion`` and notifies watchers; ``update.log(pod, lines)``
creates the pod (labelled with the workflow) and appends to its log.

Requests are recorded (:attr:`StubKubeServer.requests`) with the Authorization value replaced
by ``<redacted>``; ``fail``/``drop``/``delay`` inject faults, ``watch_status`` /
``watch_error`` / ``stream_limit`` shape the watch. :meth:`StubKubeServer.write_kubeconfig`
writes a kubeconfig (a token user) pointing at the server.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import queue
import random
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from .argo_server import (
    FINAL_PHASES,
    HANG_GUARD_S,
    Fault,
    RecordedRequest,
    WorkflowGone,
    _Drop,
    _Handler,
    _HTTPServer,
    _peer_closed,
    labels_match,
    load_validator,
    now,
)

DEFAULT_TOKEN = "stub-kube-token-4b1e9d"
DEFAULT_NAMESPACE = "argo"
DEFAULT_USER = "kedro-argo-test"
GROUP = "argoproj.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
PLURALS = {
    "workflows": "Workflow",
    "workflowtemplates": "WorkflowTemplate",
    "cronworkflows": "CronWorkflow",
}
PLURAL_OF = {kind: plural for plural, kind in PLURALS.items()}
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
_NO_RESOURCE = "the server could not find the requested resource"
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' generateName alphabet
_LABEL_PHASE = "workflows.argoproj.io/phase"
_LABEL_COMPLETED = "workflows.argoproj.io/completed"
_CUSTOM = re.compile(
    rf"^/apis/{re.escape(API_VERSION)}/namespaces/(?P<ns>[^/]+)/(?P<plural>[^/]+)"
    r"(?:/(?P<name>[^/]+))?$"
)
_PODS = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods(?:/(?P<name>[^/]+)(?P<log>/log)?)?$")

Executor = Callable[[dict, Any], None]


def status_body(code: int, reason: str, message: str, details: Mapping | None = None) -> dict:
    """A Kubernetes ``Status`` (what the API server answers with an error)."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": dict(details or {}),
        "code": code,
    }


class KubeError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: Mapping | None = None):
        super().__init__(message)
        self.body = status_body(code, reason, message, details)
        self.code = code


def _not_found(plural: str, name: str, group: str = GROUP) -> KubeError:
    resource = f"{plural}.{group}" if group else plural
    details = {"name": name, "group": group, "kind": plural}
    return KubeError(404, "NotFound", f'{resource} "{name}" not found', details)


def _field_selector_name(selector: str) -> str | None:
    for part in (selector or "").split(","):
        key, _, value = part.partition("=")
        if key.strip() == "metadata.name":
            return value.strip().lstrip("=")
    return None


@dataclass
class _Watcher:
    namespace: str
    plural: str
    name: str | None
    selector: str | None
    queue: queue.Queue = field(default_factory=queue.Queue)

    def wants(self, plural: str, obj: Mapping) -> bool:
        md = obj.get("metadata") or {}
        if plural != self.plural or md.get("namespace") != self.namespace:
            return False
        if self.name and md.get("name") != self.name:
            return False
        return labels_match(md.get("labels"), self.selector)


class KubeWorkflowUpdater:
    """The ``update`` callable given to executors (see the module docstring)."""

    def __init__(self, server: StubKubeServer, namespace: str, name: str) -> None:
        self.server, self.namespace, self.name = server, namespace, name

    def __call__(self, status: Mapping[str, Any]) -> None:
        self.server._update_status(self.namespace, self.name, status)

    def log(self, pod_name: str, lines: str | Iterable[str], container: str = "main") -> None:
        self.server.add_log(
            self.name, pod_name, lines, namespace=self.namespace, container=container
        )

    def workflow(self) -> dict:
        wf = self.server.get("Workflow", self.name, self.namespace)
        if wf is None or self.server.stopping:
            raise WorkflowGone(self.name)
        return wf

    @property
    def shutdown(self) -> str | None:
        return (self.workflow().get("spec") or {}).get("shutdown") or None

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less: until the workflow is stopped or the server stops."""
        server = self.server
        end = time.monotonic() + seconds
        with server._lock:
            while not server.stopping:
                wf = server._objects.get((self.namespace, "workflows"), {}).get(self.name)
                left = end - time.monotonic()
                if wf is None or (wf.get("spec") or {}).get("shutdown") or left <= 0:
                    return
                server._changed.wait(left)


class StubKubeServer:
    """A stand-in Kubernetes API server (see the module docstring).

    ``token``: the accepted bearer token (``None``: no authentication). ``namespaces``: those
    that exist (``None``: any). ``forbidden``: ``(verb, resource)`` or ``(verb, resource,
    namespace)`` the user may not do (resource: ``workflows``, ``pods``, ``pods/log``…).
    ``executor``: how created workflows progress (``None``: they do not). ``tls``: ``(cert,
    key)`` to serve HTTPS.
    """

    def __init__(
        self,
        *,
        token: str | None = DEFAULT_TOKEN,
        namespaces: Iterable[str] | None = (DEFAULT_NAMESPACE,),
        forbidden: Iterable[tuple[str, ...]] = (),
        executor: Executor | None = None,
        validate: bool = True,
        tls: tuple[Any, Any] | None = None,
        user: str = DEFAULT_USER,
    ) -> None:
        self.token = token
        self.namespaces = None if namespaces is None else set(namespaces)
        self.forbidden = {tuple(f) for f in forbidden}
        self.executor = executor
        self.validate = validate
        self.tls = tls
        self.user = user
        self.watch_status: int | None = None
        self.watch_error: dict | None = None
        self.stream_limit: int | None = None
        self.waiting_pods: set[str] = set()
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._objects: dict[tuple[str, str], dict[str, dict]] = {}
        self._pods: dict[str, dict[str, dict]] = {}
        self._logs: dict[tuple[str, str, str], list[str]] = {}
        self._version = 5000
        self._watchers: list[_Watcher] = []
        self._threads: dict[tuple[str, str], threading.Thread] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._dir: tempfile.TemporaryDirectory | None = None
        self.stopping = False

    # -- lifecycle
    def start(self) -> StubKubeServer:
        import ssl

        if self.validate:
            load_validator()
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.stub = self  # type: ignore[assignment]  # _Handler calls stub._handle(handler)
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            httpd.ssl_context = ctx
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        self._dir = tempfile.TemporaryDirectory(prefix="stub-kube-")
        return self

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            self.stopping = True
            for w in self._watchers:
                w.queue.put(None)
            self._changed.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        for t in list(self._threads.values()):
            t.join(timeout=5)
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> StubKubeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    # -- kubeconfig
    def write_kubeconfig(
        self,
        path: str | Path | None = None,
        *,
        context: str = "stand-in",
        namespace: str | None = DEFAULT_NAMESPACE,
        token: str | None = None,
        ca_file: str | Path | None = None,
        insecure: bool = False,
        current: bool = True,
        extra_contexts: Mapping[str, str | None] = {},
    ) -> Path:
        """A kubeconfig for this server: cluster ``stand-in``, user :data:`DEFAULT_USER` with
        ``token`` (default: the server's), context ``context`` (and ``extra_contexts``: name →
        namespace, same cluster and user). Written to ``path``, default a file of the
        server's own temporary folder (outside any project)."""
        cluster: dict[str, Any] = {"server": self.url}
        if ca_file is not None:
            cluster["certificate-authority-data"] = base64.b64encode(
                Path(ca_file).read_bytes()
            ).decode()
        if insecure:
            cluster["insecure-skip-tls-verify"] = True
        contexts = {context: namespace, **extra_contexts}
        doc: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "stand-in", "cluster": cluster}],
            "users": [{"name": self.user, "user": {"token": token or self.token or "none"}}],
            "contexts": [
                {
                    "name": name,
                    "context": {
                        "cluster": "stand-in",
                        "user": self.user,
                        **({"namespace": ns} if ns else {}),
                    },
                }
                for name, ns in contexts.items()
            ],
        }
        if current:
            doc["current-context"] = context
        if path is None:
            assert self._dir is not None, "server not started"
            path = Path(self._dir.name) / f"kubeconfig-{uuid.uuid4().hex[:8]}"
        target = Path(path)
        target.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return target

    def backend(self, *, kubeconfig: str | Path | None = None, **kwargs: Any):
        """A ``KubernetesBackend`` through a kubeconfig for this server: short backoff; the
        request timeout is only a hang guard unless given."""
        from kedro_argo.server.kube import KubernetesBackend

        path = kubeconfig or self.write_kubeconfig()
        kwargs.setdefault("timeout", HANG_GUARD_S)
        kwargs.setdefault("backoff", 0.01)
        kwargs.setdefault("stream_timeout", HANG_GUARD_S)
        return KubernetesBackend.from_kubeconfig({"KUBECONFIG": str(path)}, **kwargs)

    # -- knobs
    def fail(
        self,
        status: int = 503,
        times: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        body: Any = None,
    ) -> Fault:
        """Answer ``status`` to the next ``times`` matching requests (``times=-1``: always)."""
        return self._add_fault(Fault("status", times, method, path, status=status, body=body))

    def drop(
        self,
        times: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        after: bool = False,
    ) -> Fault:
        """Close the connection without an answer; ``after=True``: after doing the work."""
        return self._add_fault(Fault("drop_after" if after else "drop", times, method, path))

    def delay(
        self, seconds: float, times: int = 1, *, method: str | None = None, path: str | None = None
    ) -> Fault:
        """Wait ``seconds`` before answering (cut short when the server stops)."""
        return self._add_fault(Fault("delay", times, method, path, seconds=seconds))

    def _add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    # -- inspection and seeding
    def requests_to(
        self, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method.upper())
                and (path is None or re.search(path, r.path))
            ]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        with self._lock:
            bucket = self._objects.get((namespace or DEFAULT_NAMESPACE, PLURAL_OF[kind]), {})
            obj = bucket.get(name)
            return copy.deepcopy(obj) if obj is not None else None

    def objects(self, kind: str, namespace: str | None = None) -> list[dict]:
        with self._lock:
            bucket = self._objects.get((namespace or DEFAULT_NAMESPACE, PLURAL_OF[kind]), {})
            return copy.deepcopy(list(bucket.values()))

    @property
    def workflows(self) -> list[dict]:
        return self.objects("Workflow")

    def put(self, obj: dict, namespace: str | None = None) -> dict:
        """Store an object as is (no validation, no executor); returns the stored copy."""
        ns = namespace or (obj.get("metadata") or {}).get("namespace") or DEFAULT_NAMESPACE
        plural = PLURAL_OF[obj["kind"]]
        with self._lock:
            stored = self._stamp(copy.deepcopy(obj), plural, ns)
            self._objects.setdefault((ns, plural), {})[stored["metadata"]["name"]] = stored
            self._notify("ADDED", plural, stored)
            return copy.deepcopy(stored)

    def touch(self, kind: str, name: str, namespace: str | None = None) -> dict:
        """Bump an object's resourceVersion (as if someone else updated it)."""
        ns = namespace or DEFAULT_NAMESPACE
        plural = PLURAL_OF[kind]
        with self._lock:
            obj = self._objects.get((ns, plural), {})[name]
            obj["metadata"]["resourceVersion"] = self._next_version()
            obj["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
            self._notify("MODIFIED", plural, obj)
            return copy.deepcopy(obj)

    def delete(self, kind: str, name: str, namespace: str | None = None) -> None:
        """Delete an object as if through the API (watchers get a DELETED event)."""
        with self._lock:
            self._delete(namespace or DEFAULT_NAMESPACE, PLURAL_OF[kind], name)

    def add_log(
        self,
        workflow: str,
        pod: str,
        lines: str | Iterable[str],
        *,
        namespace: str | None = None,
        container: str = "main",
    ) -> None:
        """Append log lines of ``pod`` (created, labelled with ``workflow``, if new)."""
        if isinstance(lines, str):
            lines = lines.splitlines()
        ns = namespace or DEFAULT_NAMESPACE
        with self._lock:
            pods = self._pods.setdefault(ns, {})
            if pod not in pods:
                stamp = now()
                pods[pod] = {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": pod,
                        "namespace": ns,
                        "uid": str(uuid.uuid4()),
                        "labels": {WORKFLOW_LABEL: workflow},
                        "creationTimestamp": stamp,
                        "resourceVersion": self._next_version(),
                    },
                    "status": {"phase": "Succeeded", "startTime": stamp},
                }
            self._logs.setdefault((ns, pod, container), []).extend(str(x) for x in lines)
            self._changed.notify_all()

    def log_pods(self, workflow: str, namespace: str | None = None) -> set[str]:
        """The pods of ``workflow`` (those that logged something)."""
        with self._lock:
            pods = self._pods.get(namespace or DEFAULT_NAMESPACE, {}).values()
            return {
                p["metadata"]["name"]
                for p in pods
                if p["metadata"]["labels"].get(WORKFLOW_LABEL) == workflow
            }

    def wait_for_watcher(
        self, name: str, timeout: float = HANG_GUARD_S, namespace: str | None = None
    ) -> None:
        """Block until a watch of workflow ``name`` is open."""
        ns = namespace or DEFAULT_NAMESPACE
        end = time.monotonic() + timeout
        with self._lock:
            while not any(w.namespace == ns and w.name == name for w in self._watchers):
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"nobody watches workflow {name} after {timeout} s")
                self._changed.wait(left)

    def wait_idle(self, timeout: float = HANG_GUARD_S) -> None:
        """Wait for all executor threads to finish."""
        end = time.monotonic() + timeout
        for t in list(self._threads.values()):
            t.join(max(0.0, end - time.monotonic()))
            if t.is_alive():
                raise TimeoutError(f"executor thread {t.name} still running after {timeout} s")

    def wait_for_phase(
        self,
        name: str,
        phases: Iterable[str] = FINAL_PHASES,
        timeout: float = HANG_GUARD_S,
        namespace: str | None = None,
    ) -> dict:
        """Block until the stored workflow reaches one of ``phases``; return it."""
        wanted = set(phases)
        end = time.monotonic() + timeout
        with self._lock:
            while True:
                wf = self._objects.get((namespace or DEFAULT_NAMESPACE, "workflows"), {}).get(name)
                if wf is not None and (wf.get("status") or {}).get("phase", "") in wanted:
                    return copy.deepcopy(wf)
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"workflow {name} not in {sorted(wanted)} after {timeout} s")
                self._changed.wait(min(left, 0.1))

    # -- internals: store
    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    def _stamp(self, obj: dict, plural: str, ns: str) -> dict:
        md = obj.setdefault("metadata", {})
        if not md.get("name"):
            md["name"] = self._generate_name(plural, ns, md.get("generateName") or "")
        md["namespace"] = ns
        md["uid"] = str(uuid.uuid4())
        md["resourceVersion"] = self._next_version()
        md["creationTimestamp"] = now()
        md["generation"] = 1
        return obj

    def _generate_name(self, plural: str, ns: str, prefix: str) -> str:
        prefix = prefix[:58]
        existing = self._objects.get((ns, plural), {})
        while True:
            name = prefix + "".join(random.choice(_NAME_CHARS) for _ in range(5))
            if name not in existing:
                return name

    def _notify(self, event: str, plural: str, obj: dict) -> None:
        for w in self._watchers:
            if w.wants(plural, obj):
                w.queue.put({"type": event, "object": copy.deepcopy(obj)})
        self._changed.notify_all()

    def _delete(self, ns: str, plural: str, name: str) -> dict:
        obj = self._objects.get((ns, plural), {}).pop(name, None)
        if obj is None:
            raise _not_found(plural, name)
        obj["metadata"]["resourceVersion"] = self._next_version()
        if plural == "workflows":  # its pods go with it (owner references)
            pods = self._pods.get(ns, {})
            owned = [p for p, o in pods.items() if o["metadata"]["labels"][WORKFLOW_LABEL] == name]
            for pod in owned:
                del pods[pod]
                for key in [k for k in self._logs if k[:2] == (ns, pod)]:
                    del self._logs[key]
        self._notify("DELETED", plural, obj)
        return obj

    def _update_status(self, ns: str, name: str, status: Mapping[str, Any]) -> None:
        with self._lock:
            wf = self._objects.get((ns, "workflows"), {}).get(name)
            if wf is None or self.stopping:
                raise WorkflowGone(name)
            st = wf.setdefault("status", {})
            for key, value in status.items():
                if key == "nodes":
                    nodes = st.setdefault("nodes", {})
                    for nid, node in (value or {}).items():
                        merged = nodes.setdefault(nid, {})
                        for k, v in node.items():
                            if v is None:
                                merged.pop(k, None)
                            else:
                                merged[k] = copy.deepcopy(v)
                elif value is None:
                    st.pop(key, None)
                else:
                    st[key] = copy.deepcopy(value)
            labels = wf["metadata"].setdefault("labels", {})
            if st.get("phase"):
                labels[_LABEL_PHASE] = st["phase"]
                labels[_LABEL_COMPLETED] = "true" if st["phase"] in FINAL_PHASES else "false"
            wf["metadata"]["resourceVersion"] = self._next_version()
            self._notify("MODIFIED", "workflows", wf)

    def _launch(self, ns: str, name: str) -> None:
        executor = self.executor
        if executor is None:
            return
        workflow = copy.deepcopy(self._objects[(ns, "workflows")][name])
        updater = KubeWorkflowUpdater(self, ns, name)

        def run() -> None:
            try:
                executor(workflow, updater)
            except WorkflowGone:
                pass
            except Exception as exc:
                with contextlib.suppress(WorkflowGone):
                    updater(
                        {
                            "phase": "Error",
                            "finishedAt": now(),
                            "message": f"executor failed: {type(exc).__name__}: {exc}",
                        }
                    )

        thread = threading.Thread(target=run, name=f"stub-kube-executor-{name}", daemon=True)
        thread.start()
        self._threads[(ns, name)] = thread

    # -- internals: HTTP
    def _handle(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        path = unquote(split.path)
        query = parse_qs(split.query, keep_blank_values=True)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        header = h.headers.get("Authorization")
        if self.token is None:
            auth = "not-required"
        elif header is None:
            auth = "missing"
        else:
            auth = "ok" if header == f"Bearer {self.token}" else "wrong"
        headers = {
            k: ("<redacted>" if k.lower() == "authorization" else v) for k, v in h.headers.items()
        }
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            self.requests.append(RecordedRequest(h.command, path, query, headers, body, raw, auth))
            delays = [f for f in self.faults if f.kind == "delay" and f.matches(h.command, path)]
            for f in delays:
                f.times -= 1 if f.times > 0 else 0
            fault = next(
                (f for f in self.faults if f.kind != "delay" and f.matches(h.command, path)), None
            )
            if fault is not None and fault.times > 0:
                fault.times -= 1
        for f in delays:
            self._stopped.wait(f.seconds)
        if fault is not None and fault.kind == "drop":
            raise _Drop()
        if fault is not None and fault.kind == "status":
            h.send_json(
                fault.status,
                fault.body
                if fault.body is not None
                else status_body(fault.status, "Injected", f"stub: injected {fault.status}"),
            )
            return
        try:
            if auth in ("missing", "wrong"):
                raise KubeError(401, "Unauthorized", "Unauthorized")
            if raw and body is None:
                raise KubeError(400, "BadRequest", "the request body is not valid JSON")

            def one(key: str) -> str:
                return (query.get(key) or [""])[0]

            m = _CUSTOM.match(path)
            if m:
                result = self._custom(h, m["ns"], m["plural"], m["name"], one, body)
            else:
                p = _PODS.match(path)
                if not p:
                    raise KubeError(404, "NotFound", _NO_RESOURCE)
                result = self._pods_route(h, p["ns"], p["name"], bool(p["log"]), one)
            if fault is not None and fault.kind == "drop_after":
                raise _Drop()
            if isinstance(result, tuple):
                code, obj = result
                h.send_json(code, obj)
        except KubeError as err:
            h.send_json(err.code, err.body)

    def _check_allowed(
        self, verb: str, resource: str, group: str, ns: str, name: str | None
    ) -> None:
        if (verb, resource) in self.forbidden or (verb, resource, ns) in self.forbidden:
            full = f"{resource}.{group}" if group and "/" not in resource else resource
            subject = f'{full} "{name}"' if name else full
            raise KubeError(
                403,
                "Forbidden",
                f'{subject} is forbidden: User "{self.user}" cannot {verb} resource '
                f'"{resource}" in API group "{group}" in the namespace "{ns}"',
                {"name": name or "", "group": group, "kind": resource},
            )

    def _custom(self, h: _Handler, ns: str, plural: str, name: str | None, one, body) -> Any:
        if plural not in PLURALS:
            raise KubeError(404, "NotFound", _NO_RESOURCE)
        method = h.command
        watch = one("watch") in ("true", "1")
        verb = {
            "GET": "watch" if watch else ("get" if name else "list"),
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete",
        }.get(method, method.lower())
        self._check_allowed(verb, plural, GROUP, ns, name)
        if method == "GET" and name is None and watch:
            self._watch(h, ns, plural, one)
            return None
        if method == "GET" and name is None:
            return 200, self._list(ns, plural, one)
        if method == "POST" and name is None:
            return 201, self._create(ns, plural, body, one)
        if name is None:
            raise KubeError(405, "MethodNotAllowed", f"{method} is not supported on a collection")
        with self._lock:
            if method == "GET":
                obj = self._objects.get((ns, plural), {}).get(name)
                if obj is None:
                    raise _not_found(plural, name)
                return 200, copy.deepcopy(obj)
            if method == "PUT":
                return 200, self._replace(ns, plural, name, body, one)
            if method == "DELETE":
                obj = self._delete(ns, plural, name)
                return 200, copy.deepcopy(obj)
        raise KubeError(405, "MethodNotAllowed", f"{method} is not supported here")

    def _checked(self, plural: str, obj: Any, ns: str, one) -> dict:
        kind = PLURALS[plural]
        if not isinstance(obj, dict):
            raise KubeError(400, "BadRequest", "the request body must be an object")
        if obj.get("apiVersion") != API_VERSION or obj.get("kind") != kind:
            raise KubeError(
                400,
                "BadRequest",
                f"the API version in the data ({obj.get('apiVersion')}) and kind "
                f"({obj.get('kind')}) do not match {API_VERSION} {kind}",
            )
        md = obj.setdefault("metadata", {})
        if md.get("namespace") and md["namespace"] != ns:
            raise KubeError(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on the "
                "request",
            )
        validator = load_validator() if self.validate else None
        if validator is not None:
            for finding in validator.validate_document(obj, {}, {"schema"}, False, True):
                if finding.level != "error":
                    continue
                if "unknown field" in finding.message:
                    if one("fieldValidation") == "Strict":
                        raise KubeError(
                            400,
                            "BadRequest",
                            f"strict decoding error: {finding.path}: {finding.message}",
                        )
                    continue
                label = md.get("name") or md.get("generateName") or ""
                raise KubeError(
                    422,
                    "Invalid",
                    f'{kind}.{GROUP} "{label}" is invalid: {finding.path}: {finding.message}',
                    {"name": label, "group": GROUP, "kind": kind},
                )
        return obj

    def _create(self, ns: str, plural: str, body: Any, one) -> dict:
        if self.namespaces is not None and ns not in self.namespaces:
            raise KubeError(
                404, "NotFound", f'namespaces "{ns}" not found', {"name": ns, "kind": "namespaces"}
            )
        obj = self._checked(plural, copy.deepcopy(body), ns, one)
        md = obj["metadata"]
        if not md.get("name") and not md.get("generateName"):
            raise KubeError(
                422,
                "Invalid",
                f'{PLURALS[plural]}.{GROUP} "" is invalid: metadata.name: '
                "Required value: name or generateName is required",
            )
        with self._lock:
            name = md.get("name")
            if name and name in self._objects.get((ns, plural), {}):
                raise KubeError(
                    409,
                    "AlreadyExists",
                    f'{plural}.{GROUP} "{name}" already exists',
                    {"name": name, "group": GROUP, "kind": plural},
                )
            stored = self._stamp(obj, plural, ns)
            if one("dryRun") == "All":
                return copy.deepcopy(stored)
            self._objects.setdefault((ns, plural), {})[stored["metadata"]["name"]] = stored
            self._notify("ADDED", plural, stored)
            if plural == "workflows":
                self._launch(ns, stored["metadata"]["name"])
            return copy.deepcopy(stored)

    def _replace(self, ns: str, plural: str, name: str, body: Any, one) -> dict:
        obj = self._checked(plural, copy.deepcopy(body), ns, one)
        md = obj["metadata"]
        if md.get("name", name) != name:
            raise KubeError(
                400,
                "BadRequest",
                f"the name of the object ({md.get('name')}) does not match "
                f"the name on the URL ({name})",
            )
        current = self._objects.get((ns, plural), {}).get(name)
        if current is None:
            raise _not_found(plural, name)
        version = md.get("resourceVersion")
        if not version:
            raise KubeError(
                422,
                "Invalid",
                f'{PLURALS[plural]}.{GROUP} "{name}" is invalid: metadata.resourceVersion: '
                "Invalid value: 0x0: must be specified for an update",
            )
        if str(version) != current["metadata"]["resourceVersion"]:
            raise KubeError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {plural}.{GROUP} "{name}": the object has '
                "been modified; please apply your changes to the latest version and try again",
                {"name": name, "group": GROUP, "kind": plural},
            )
        cm = current["metadata"]
        md.update(
            name=name,
            namespace=ns,
            uid=cm["uid"],
            creationTimestamp=cm["creationTimestamp"],
            generation=cm.get("generation", 1) + 1,
            resourceVersion=self._next_version(),
        )
        if "status" in current and "status" not in obj:
            obj["status"] = current["status"]  # a CRD's status is not replaced by PUT
        self._objects[(ns, plural)][name] = obj
        self._notify("MODIFIED", plural, obj)
        return copy.deepcopy(obj)

    def _list(self, ns: str, plural: str, one) -> dict:
        selector = one("labelSelector")
        wanted = _field_selector_name(one("fieldSelector"))
        with self._lock:
            items = [
                copy.deepcopy(o)
                for o in self._objects.get((ns, plural), {}).values()
                if labels_match((o.get("metadata") or {}).get("labels"), selector)
                and (wanted is None or o["metadata"]["name"] == wanted)
            ]
            version = str(self._version)
        return {
            "apiVersion": API_VERSION,
            "kind": f"{PLURALS[plural]}List",
            "metadata": {"resourceVersion": version},
            "items": items,
        }

    def _watch(self, h: _Handler, ns: str, plural: str, one) -> None:
        if self.watch_status:
            status = self.watch_status
            raise KubeError(status, "MethodNotAllowed", f"stub: watch answers {status}")
        name = _field_selector_name(one("fieldSelector"))
        watcher = _Watcher(ns, plural, name, one("labelSelector") or None)
        since = one("resourceVersion")
        seconds = float(one("timeoutSeconds") or 1800)
        with self._lock:
            if self.stopping:
                raise KubeError(503, "ServiceUnavailable", "stub: stopping")
            self._watchers.append(watcher)
            self._changed.notify_all()
            for obj in self._objects.get((ns, plural), {}).values():
                if not watcher.wants(plural, obj):
                    continue
                if since in ("", "0"):
                    watcher.queue.put({"type": "ADDED", "object": copy.deepcopy(obj)})
                elif int(obj["metadata"]["resourceVersion"]) > int(since):
                    watcher.queue.put({"type": "MODIFIED", "object": copy.deepcopy(obj)})
        h.start_chunked("application/json")
        end = time.monotonic() + seconds
        sent = 0
        try:
            if self.watch_error is not None:
                h.chunk((json.dumps({"type": "ERROR", "object": self.watch_error}) + "\n").encode())
                return
            while not self.stopping and time.monotonic() < end:
                if self.stream_limit is not None and sent >= self.stream_limit:
                    break
                try:
                    event = watcher.queue.get(timeout=0.05)
                except queue.Empty:
                    if _peer_closed(h.connection):
                        break
                    continue
                if event is None:
                    break
                h.chunk((json.dumps(event) + "\n").encode())
                sent += 1
        finally:
            with self._lock:
                if watcher in self._watchers:
                    self._watchers.remove(watcher)
            h.end_chunked()

    def _pods_route(self, h: _Handler, ns: str, name: str | None, log: bool, one) -> Any:
        if h.command != "GET":
            raise KubeError(405, "MethodNotAllowed", f"{h.command} is not supported on pods")
        resource = "pods/log" if log else "pods"
        self._check_allowed("get" if name else "list", resource, "", ns, name)
        with self._lock:
            pods = self._pods.get(ns, {})
            if name is None:
                selector = one("labelSelector")
                items = [
                    copy.deepcopy(p)
                    for p in pods.values()
                    if labels_match(p["metadata"].get("labels"), selector)
                ]
                return 200, {
                    "apiVersion": "v1",
                    "kind": "PodList",
                    "metadata": {"resourceVersion": str(self._version)},
                    "items": items,
                }
            if name not in pods:
                raise _not_found("pods", name, group="")
            if not log:
                return 200, copy.deepcopy(pods[name])
            container = one("container") or "main"
            if name in self.waiting_pods:
                raise KubeError(
                    400,
                    "BadRequest",
                    f'container "{container}" in pod "{name}" is waiting to start: '
                    "ContainerCreating",
                )
            lines = list(self._logs.get((ns, name, container), []))
        text = "".join(f"{line}\n" for line in lines)
        h.send_bytes(200, text.encode(), "text/plain")
        return None
