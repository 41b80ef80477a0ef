"""A stand-in Argo Server for tests: real HTTP on 127.0.0.1, objects in memory.

Serves the ``/api/v1`` paths of the Argo Server API (``kedro_argo/server/argo_api.py`` uses a few
of them; the others keep the stand-in faithful for tests of the Argo API itself): workflows
(create, lint, submit, get, list, delete, retry, resubmit, stop, terminate, suspend, resume,
logs), the ``workflow-events`` watch stream (NDJSON, or SSE when asked with
``Accept: text/event-stream``), workflow templates and cron workflows (CRUD, lint, suspend,
resume). It checks ``Authorization: Bearer <token>``, keeps ``metadata.uid`` /
``resourceVersion`` like Kubernetes (stale update → 409, duplicate create → 409,
``generateName`` → 5 random characters) and validates every posted manifest with
kedro-argo's own offline validation of Argo v4 (``kedro_argo.validation``: the CRD schemas,
their CEL rules and Argo's lint rules; 400 ``{"code": 3, "message": <first error>}``).
Unlike the real server, which silently drops unknown fields, it rejects them (the schema
layer), so compiler typos surface in tests.

Workflows progress through a pluggable *executor*: ``executor(workflow, update)`` runs in a
background thread after a create/submit/resubmit/retry; ``workflow`` is a copy with the spec of a
referenced WorkflowTemplate merged in; ``update(status_dict)`` merges ``status`` fields (``nodes``
merged per node id), bumps ``resourceVersion`` and pushes a MODIFIED event to watchers.
``update.log(pod_name, lines)`` records log lines, ``update.shutdown`` is ``"Stop"`` /
``"Terminate"`` after a stop/terminate request, ``update.workflow()`` is the stored object.
:class:`DagExecutor` (``succeed_all()``, ``fail_task(name)``) walks DAG/steps templates in
dependency order without running anything.

Usage::

    with StubArgoServer(executor=fail_task("train")) as server:
        client = server.client()                  # ArgoServerBackend for it (short backoff)
        server.fail(503, times=2, method="GET")   # fault injection
        ...
        server.requests                           # RecordedRequest list (no token value)

Fixtures (register them in tests/conftest.py like the others:
``from .argo_server import argo_client, argo_env, argo_server``):
``argo_server`` (a started server), ``argo_client`` (a backend for it), ``argo_env`` (the
``ARGO_*`` variables set with monkeypatch, returns them).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
import queue
import random
import re
import select
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

DEFAULT_TOKEN = "stub-argo-token-7f3a9c"
#: Seconds before a wait for the stand-in (a request, a phase, idle executors) gives up: a hang
#: guard only, never a measure of speed, so generous for a busy machine.
HANG_GUARD_S = 300.0
DEFAULT_NAMESPACE = "argo"
FINAL_PHASES = ("Succeeded", "Failed", "Error")
KINDS = ("Workflow", "WorkflowTemplate", "CronWorkflow")
_SEGMENT_KIND = {
    "workflows": "Workflow",
    "workflow-templates": "WorkflowTemplate",
    "cron-workflows": "CronWorkflow",
}
_SEGMENT_OF = {kind: seg for seg, kind in _SEGMENT_KIND.items()}
_BODY_KEY = {"Workflow": "workflow", "WorkflowTemplate": "template", "CronWorkflow": "cronWorkflow"}
_RESOURCE = {
    "Workflow": "workflows.argoproj.io",
    "WorkflowTemplate": "workflowtemplates.argoproj.io",
    "CronWorkflow": "cronworkflows.argoproj.io",
}
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' generateName alphabet
_DEFAULT = object()
_LABEL_PHASE = "workflows.argoproj.io/phase"
_LABEL_COMPLETED = "workflows.argoproj.io/completed"


# ----------------------------------------------------------------------------- validation
@dataclass(frozen=True)
class Finding:
    level: str
    layer: str  # "schema" (structure and CEL rules) or "lint" (Argo's validate.go rules)
    path: str
    message: str


class Validator:
    """``kedro_argo.validation`` behind the small interface the stand-ins use."""

    def validate_document(
        self,
        doc: Mapping[str, Any],
        registry: Mapping[tuple, Mapping[str, Any]],
        layers: set[str],
        submit: bool,
        strict_refs: bool = False,
    ) -> list[Finding]:
        from kedro_argo.validation.lint import lint
        from kedro_argo.validation.schema import schema_problems

        out: list[Finding] = []
        if layers & {"schema", "cel"}:
            out += [Finding(p.level, "schema", p.path, p.message) for p in schema_problems(doc)]
        if layers & {"lint", "meta", "size"} and not any(f.layer == "schema" for f in out):
            found = lint(doc, registry=registry, submit=submit, strict_refs=strict_refs)
            out += [Finding(p.level, "lint", p.path, p.message) for p in found]
        return out


@functools.lru_cache(maxsize=1)
def load_validator() -> Validator:
    """The validator every posted manifest goes through (always available)."""
    return Validator()


_VALIDATE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def warm_validator() -> None:
    """Load the validator and build its per-kind schema and CEL caches now, once per process,
    so that no request pays for it (a client would count it against its timeout)."""
    workflow_spec = {
        "entrypoint": "main",
        "templates": [{"name": "main", "container": {"image": "busybox"}}],
    }
    for kind in KINDS:
        spec: dict[str, Any] = dict(workflow_spec)
        if kind == "CronWorkflow":
            spec = {"schedules": ["0 * * * *"], "workflowSpec": workflow_spec}
        doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": kind, "metadata": {"name": "warm-up"}}
        first_error({**doc, "spec": spec}, {})


def first_error(doc: dict, registry: Mapping[tuple, dict], *, submit: bool = False) -> str | None:
    """The validator's first error for ``doc`` (``None``: valid or no validator available)."""
    validator = load_validator()
    if validator is None:
        return None
    layers = {"schema", "cel", "meta", "lint", "size"}
    with _VALIDATE_LOCK:
        findings = validator.validate_document(doc, dict(registry), layers, submit, True)
    for f in findings:
        if f.level == "error":
            if f.layer == "lint" or f.path in ("", "<root>"):
                return f.message
            return f"{f.path}: {f.message}"
    return None


# ----------------------------------------------------------------------------- helpers
def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class HttpError(Exception):
    """An error answer ``{"code": grpc code, "message": ...}``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class WorkflowGone(Exception):
    """The workflow an executor works on was deleted, or the server stopped."""


def _not_found(kind: str, name: str) -> HttpError:
    return HttpError(404, 5, f'{_RESOURCE[kind]} "{name}" not found')


def parse_label_selector(selector: str) -> list[tuple[str, str, set[str]]]:
    """Kubernetes label selector → ``[(key, op, values)]`` (ops ``= != in notin exists !``)."""
    reqs: list[tuple[str, str, set[str]]] = []
    for part in re.split(r",(?![^()]*\))", selector or ""):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$", part)
        if m:
            values = {v.strip() for v in m.group(3).split(",") if v.strip()}
            reqs.append((m.group(1), m.group(2), values))
        elif "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append((k.strip(), "!=", {v.strip()}))
        elif "=" in part:
            k, v = re.split(r"==?", part, maxsplit=1)
            reqs.append((k.strip(), "=", {v.strip()}))
        elif part.startswith("!"):
            reqs.append((part[1:].strip(), "!", set()))
        else:
            reqs.append((part, "exists", set()))
    return reqs


def labels_match(labels: Mapping[str, str] | None, selector: str | None) -> bool:
    labels = labels or {}
    for key, op, values in parse_label_selector(selector or ""):
        present = key in labels
        value = labels.get(key)
        ok = {
            "=": present and value in values,
            "in": present and value in values,
            "!=": not present or value not in values,
            "notin": not present or value not in values,
            "exists": present,
            "!": not present,
        }[op]
        if not ok:
            return False
    return True


def filter_fields(obj: Any, spec: str | None) -> Any:
    """Argo's ``fields=a.b,c`` (keep only) / ``fields=-a.b`` (drop) on a JSON value."""
    if not spec:
        return obj
    paths = [p.strip() for p in spec.split(",") if p.strip()]
    include = [p.split(".") for p in paths if not p.startswith("-")]
    exclude = [p[1:].split(".") for p in paths if p.startswith("-")]
    if include:
        obj = _keep(obj, include)
    for path in exclude:
        _drop(obj, path)
    return obj


def _keep(node: Any, paths: list[list[str]]) -> Any:
    if isinstance(node, list):
        return [_keep(x, paths) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key in dict.fromkeys(p[0] for p in paths):
        if key not in node:
            continue
        rests = [p[1:] for p in paths if p[0] == key]
        out[key] = node[key] if any(not r for r in rests) else _keep(node[key], rests)
    return out


def _drop(node: Any, path: list[str]) -> None:
    if isinstance(node, list):
        for x in node:
            _drop(x, path)
    elif isinstance(node, dict) and path and path[0] in node:
        if len(path) == 1:
            del node[path[0]]
        else:
            _drop(node[path[0]], path[1:])


def _parse_params(items: Iterable[str] | None) -> list[tuple[str, str]]:
    out = []
    for item in items or []:
        if "=" not in str(item):
            raise HttpError(
                400, 3, f'expected parameter of the form: NAME=VALUE. Received: "{item}"'
            )
        k, v = str(item).split("=", 1)
        out.append((k, v))
    return out


def _override_params(spec: dict, params: list[tuple[str, str]]) -> None:
    if not params:
        return
    plist = spec.setdefault("arguments", {}).setdefault("parameters", [])
    for k, v in params:
        for p in plist:
            if p.get("name") == k:
                p["value"] = v
                p.pop("valueFrom", None)
                break
        else:
            plist.append({"name": k, "value": v})


def _merge_arguments(base: dict | None, over: dict | None) -> dict:
    out = copy.deepcopy(base or {})
    for key, items in (over or {}).items():
        if key not in ("parameters", "artifacts"):
            out[key] = copy.deepcopy(items)
            continue
        current = out.setdefault(key, [])
        for item in items or []:
            for i, existing in enumerate(current):
                if existing.get("name") == item.get("name"):
                    current[i] = {**existing, **copy.deepcopy(item)}
                    break
            else:
                current.append(copy.deepcopy(item))
    return out


# ----------------------------------------------------------------------------- records, faults
@dataclass
class RecordedRequest:
    """One request as received; the Authorization value is replaced by ``<redacted>``."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    auth: str  # "ok" | "missing" | "wrong" | "not-required"

    def text(self) -> str:
        """Everything recorded, as text (for "the token never appears" checks)."""
        return " ".join(
            [
                self.method,
                self.path,
                json.dumps(self.query),
                json.dumps(self.headers),
                self.raw_body.decode("utf-8", "replace"),
            ]
        )


@dataclass
class Fault:
    kind: str  # "status" | "drop" | "drop_after" | "delay"
    times: int
    method: str | None = None
    path: str | None = None  # regex searched in the path (base href stripped)
    status: int = 503
    seconds: float = 0.0
    body: Any = None

    def matches(self, method: str, path: str) -> bool:
        if self.times == 0:
            return False
        if self.method and self.method.upper() != method:
            return False
        return not (self.path and not re.search(self.path, path))


@dataclass
class _Watcher:
    namespace: str
    name: str | None
    selector: str | None
    queue: queue.Queue = field(default_factory=queue.Queue)

    def wants(self, obj: dict) -> bool:
        md = obj.get("metadata") or {}
        if md.get("namespace") != self.namespace:
            return False
        if self.name and md.get("name") != self.name:
            return False
        return labels_match(md.get("labels"), self.selector)


def _peer_closed(sock: Any) -> bool:
    """True when the client closed a (plain TCP) connection; TLS sockets: unknown, False."""
    if isinstance(sock, ssl.SSLSocket):
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


class _Drop(Exception):
    """Close the connection without answering."""


# ----------------------------------------------------------------------------- executors
class WorkflowUpdater:
    """The ``update`` callable given to executors (see the module docstring)."""

    def __init__(self, server: StubArgoServer, namespace: str, name: str) -> None:
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
        """Wait ``seconds`` (a pod's run time), or less: until a stop or terminate request for
        this workflow, or until the server stops."""
        server = self.server
        end = time.monotonic() + seconds
        with server._lock:
            while not server.stopping:
                wf = server._objects["Workflow"].get(self.namespace, {}).get(self.name)
                left = end - time.monotonic()
                if wf is None or (wf.get("spec") or {}).get("shutdown") or left <= 0:
                    return
                server._changed.wait(left)


Executor = Callable[[dict, WorkflowUpdater], None]


def _node_id(wf_name: str, path: str) -> str:
    return f"{wf_name}-{zlib.crc32(path.encode()):d}"


def _task_deps(task: Mapping[str, Any]) -> list[str]:
    if task.get("depends"):
        names = re.findall(r"([A-Za-z0-9][-A-Za-z0-9]*)(?:\.[A-Za-z]+)?", str(task["depends"]))
        return list(dict.fromkeys(names))
    return list(task.get("dependencies") or [])


_RESULT_PHASES = {
    "Succeeded": {"Succeeded"},
    "Failed": {"Failed"},
    "Errored": {"Error"},
    "Skipped": {"Skipped"},
    "Omitted": {"Omitted"},
    "Daemoned": set(),
    "AnySucceeded": {"Succeeded"},
    "AllFailed": {"Failed"},
}


def _depends_ok(task: Mapping[str, Any], phases: Mapping[str, str]) -> bool:
    """Evaluate ``depends`` (or ``dependencies``) against finished task phases."""
    if not task.get("depends"):
        return all(
            phases.get(d) in ("Succeeded", "Skipped") for d in task.get("dependencies") or []
        )
    expr = []
    for tok in re.findall(
        r"&&|\|\||!|\(|\)|[A-Za-z0-9][-A-Za-z0-9]*(?:\.[A-Za-z]+)?", str(task["depends"])
    ):
        if tok in ("&&", "||", "!", "(", ")"):
            expr.append({"&&": " and ", "||": " or ", "!": " not "}.get(tok, tok))
            continue
        name, _, result = tok.partition(".")
        allowed = _RESULT_PHASES.get(result) if result else {"Succeeded", "Skipped"}
        expr.append(str(phases.get(name) in (allowed or set())))
    try:
        return bool(eval("".join(expr) or "True", {"__builtins__": {}}, {}))
    except SyntaxError:
        return False


class DagExecutor:
    """Walks the entrypoint (DAG, steps or a single pod) without running anything.

    Pods take ``delay`` seconds; tasks/templates named in ``fail`` fail (``message``). Tasks
    whose ``depends`` is not met are Omitted. On a retry, nodes that already Succeeded are kept.
    Each pod logs one line (``log=True``). ``stop``/``terminate`` end it as Failed.
    """

    def __init__(
        self,
        fail: Iterable[str] = (),
        *,
        delay: float = 0.0,
        log: bool = True,
        message: str = "Error (exit code 1)",
    ) -> None:
        self.fail = set(fail)
        self.delay = delay
        self.log = log
        self.message = message

    def __call__(self, workflow: dict, update: WorkflowUpdater) -> None:
        run = _DagRun(self, workflow, update)
        run.run()


class _Stopped(Exception):
    pass


class _DagRun:
    def __init__(self, ex: DagExecutor, wf: dict, update: WorkflowUpdater) -> None:
        self.ex, self.wf, self.update = ex, wf, update
        self.name = wf["metadata"]["name"]
        self.spec = wf.get("spec") or {}
        self.templates = {t.get("name"): t for t in self.spec.get("templates") or []}
        self.previous = (wf.get("status") or {}).get("nodes") or {}
        self.pods_total = 0
        self.pods_done = 0

    def node(self, nid: str, **fields: Any) -> None:
        self.update({"nodes": {nid: {"id": nid, **fields}}, "progress": self.progress()})

    def progress(self) -> str:
        return f"{self.pods_done}/{max(self.pods_total, self.pods_done)}"

    def run(self) -> None:
        entry = self.spec.get("entrypoint")
        started = now()
        self.update({"phase": "Running", "startedAt": started, "message": None})
        phase, message = "Succeeded", None
        try:
            phase = self.template(
                self.templates.get(entry) or {}, entry, self.name, self.name, None
            )
            if phase != "Succeeded":
                message = f"child '{self.name}' failed"
            on_exit = self.spec.get("onExit")
            if on_exit and on_exit in self.templates:
                exit_phase = self.template(
                    self.templates[on_exit], on_exit, f"{self.name}.onExit", "onExit", None
                )
                if exit_phase != "Succeeded" and phase == "Succeeded":
                    phase, message = "Failed", "exit handler failed"
        except _Stopped as stop:
            phase, message = "Failed", f"Stopped with strategy '{stop}'"
        self.update(
            {
                "phase": phase,
                "finishedAt": now(),
                "message": message,
                "progress": self.progress(),
            }
        )

    def check_shutdown(self) -> None:
        shutdown = self.update.shutdown
        if shutdown:
            raise _Stopped(shutdown)

    def template(
        self, tmpl: Mapping, tmpl_name: str, node_name: str, display: str, boundary: str | None
    ) -> str:
        nid = self.name if node_name == self.name else _node_id(self.name, node_name)
        base = {
            "name": node_name,
            "displayName": display,
            "templateName": tmpl_name,
            "boundaryID": boundary,
        }
        if "dag" in tmpl:
            return self.dag(tmpl, nid, node_name, base)
        if "steps" in tmpl:
            return self.steps(tmpl, nid, node_name, base)
        if "suspend" in tmpl:
            self.node(
                nid, **base, type="Suspend", phase="Succeeded", startedAt=now(), finishedAt=now()
            )
            return "Succeeded"
        return self.pod(tmpl, nid, base)

    def pod(self, tmpl: Mapping, nid: str, base: dict) -> str:
        if (self.previous.get(nid) or {}).get("phase") == "Succeeded":
            return "Succeeded"
        self.check_shutdown()
        self.pods_total += 1
        pod = f"{self.name}-{base['templateName']}-{nid.rsplit('-', 1)[-1]}"
        self.node(nid, **base, type="Pod", phase="Running", startedAt=now(), finishedAt=None)
        if self.ex.log:
            container = tmpl.get("container") or tmpl.get("script") or {}
            cmd = " ".join(
                str(x) for x in (container.get("command") or []) + (container.get("args") or [])
            )
            self.update.log(pod, [f"stub: {base['displayName']} started", f"stub: {cmd}".rstrip()])
        if self.ex.delay:
            self.update.sleep(self.ex.delay)
        failed = base["displayName"] in self.ex.fail or base["templateName"] in self.ex.fail
        phase = "Failed" if failed else "Succeeded"
        self.pods_done += 1
        extra = (
            {"message": self.ex.message, "outputs": {"exitCode": "1"}}
            if failed
            else {"outputs": {"exitCode": "0"}}
        )
        self.node(nid, **base, type="Pod", phase=phase, finishedAt=now(), **extra)
        return phase

    def dag(self, tmpl: Mapping, nid: str, node_name: str, base: dict) -> str:
        self.node(nid, **base, type="DAG", phase="Running", startedAt=now())
        tasks = list((tmpl.get("dag") or {}).get("tasks") or [])
        by_name = {t["name"]: t for t in tasks}
        order = _topological([t["name"] for t in tasks], {t["name"]: _task_deps(t) for t in tasks})
        phases: dict[str, str] = {}
        children = []
        for tname in order:
            task = by_name[tname]
            child_name = f"{node_name}.{tname}"
            cid = _node_id(self.name, child_name)
            children.append(cid)
            if not _depends_ok(task, phases):
                phases[tname] = "Omitted"
                self.node(
                    cid,
                    name=child_name,
                    displayName=tname,
                    templateName=task.get("template") or "",
                    boundaryID=nid,
                    type="Skipped",
                    phase="Omitted",
                    message="omitted: depends condition not met",
                    startedAt=now(),
                    finishedAt=now(),
                )
                continue
            phases[tname] = self.call(task, child_name, tname, nid)
        handled = {
            d
            for t in tasks
            for d in re.findall(
                r"([A-Za-z0-9][-A-Za-z0-9]*)\.(?:Failed|Errored|AllFailed)",
                str(t.get("depends") or ""),
            )
        }
        handled |= {t["name"] for t in tasks if t.get("continueOn")}
        bad = [n for n, p in phases.items() if p in ("Failed", "Error") and n not in handled]
        phase = "Failed" if bad else "Succeeded"
        self.node(nid, **base, type="DAG", phase=phase, finishedAt=now(), children=children)
        return phase

    def steps(self, tmpl: Mapping, nid: str, node_name: str, base: dict) -> str:
        self.node(nid, **base, type="Steps", phase="Running", startedAt=now())
        phase = "Succeeded"
        children = []
        for i, group in enumerate(tmpl.get("steps") or []):
            for step in group or []:
                child_name = f"{node_name}[{i}].{step['name']}"
                children.append(_node_id(self.name, child_name))
                if self.call(step, child_name, step["name"], nid) != "Succeeded" and not step.get(
                    "continueOn"
                ):
                    phase = "Failed"
            if phase != "Succeeded":
                break
        self.node(nid, **base, type="Steps", phase=phase, finishedAt=now(), children=children)
        return phase

    def call(self, holder: Mapping, node_name: str, display: str, boundary: str) -> str:
        items = holder.get("withItems")
        if isinstance(items, list) and items:
            gid = _node_id(self.name, node_name)
            self.node(
                gid,
                name=node_name,
                displayName=display,
                type="TaskGroup",
                phase="Running",
                boundaryID=boundary,
                startedAt=now(),
            )
            phases = [
                self.call(
                    {k: v for k, v in holder.items() if k != "withItems"},
                    f"{node_name}({i}:{json.dumps(item) if not isinstance(item, str) else item})",
                    f"{display}({i})",
                    boundary,
                )
                for i, item in enumerate(items)
            ]
            phase = "Succeeded" if all(p == "Succeeded" for p in phases) else "Failed"
            self.node(
                gid,
                name=node_name,
                displayName=display,
                type="TaskGroup",
                phase=phase,
                boundaryID=boundary,
                finishedAt=now(),
            )
            return phase
        if holder.get("inline"):
            return self.template(holder["inline"], display, node_name, display, boundary)
        if holder.get("templateRef"):
            ref = holder["templateRef"]
            return self.pod(
                {},
                _node_id(self.name, node_name),
                {
                    "name": node_name,
                    "displayName": display,
                    "templateName": str(ref.get("template") or "ref"),
                    "boundaryID": boundary,
                },
            )
        tname = holder.get("template") or ""
        return self.template(self.templates.get(tname) or {}, tname, node_name, display, boundary)


def _topological(names: list[str], deps: Mapping[str, list[str]]) -> list[str]:
    done: list[str] = []
    remaining = list(names)
    while remaining:
        ready = [n for n in remaining if all(d in done or d not in names for d in deps.get(n, []))]
        if not ready:  # a cycle: the validator should have refused it
            ready = remaining[:1]
        for n in ready:
            done.append(n)
            remaining.remove(n)
    return done


def succeed_all(delay: float = 0.0) -> DagExecutor:
    """Every pod succeeds, in dependency order."""
    return DagExecutor(delay=delay)


def fail_task(*names: str, delay: float = 0.0, message: str = "Error (exit code 1)") -> DagExecutor:
    """The tasks (or templates) ``names`` fail; their dependants are Omitted."""
    return DagExecutor(names, delay=delay, message=message)


# ----------------------------------------------------------------------------- TLS
def make_self_signed_cert(directory: str | os.PathLike[str]) -> tuple[Path, Path] | None:
    """A cert+key for 127.0.0.1/localhost (``cryptography`` or the openssl CLI), or None."""
    directory = Path(directory)
    cert, key = directory / "stub-cert.pem", directory / "stub-key.pem"
    try:
        import ipaddress
        from datetime import timedelta

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        pkey = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        t0 = datetime.now(timezone.utc) - timedelta(minutes=5)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(pkey.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(t0)
            .not_valid_after(t0 + timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(pkey, hashes.SHA256())
        )
        cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(
            pkey.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert, key
    except ImportError:
        pass
    openssl = shutil.which("openssl")
    if not openssl:
        return None
    result = subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        capture_output=True,
        check=False,
        timeout=30,
    )
    return (cert, key) if result.returncode == 0 else None


# ----------------------------------------------------------------------------- HTTP plumbing
class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    stub: StubArgoServer
    ssl_context: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(5)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            tls.settimeout(None)
            super().finish_request(tls, client_address)
        finally:
            with contextlib.suppress(OSError):
                tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "StubArgoServer/1.0"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _dispatch(self) -> None:
        try:
            self.server.stub._handle(self)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError, _Drop):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    # -- writing
    def send_json(self, status: int, obj: Any) -> None:
        self.send_bytes(status, json.dumps(obj).encode(), "application/json")

    def send_bytes(self, status: int, data: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def start_chunked(self, ctype: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.flush()

    def chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    def end_chunked(self) -> None:
        with contextlib.suppress(OSError):
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p), h)
    for m, p, h in [
        ("GET", r"^/api/v1/workflow-events/(?P<ns>[^/]+)$", "watch"),
        ("POST", r"^/api/v1/workflows/(?P<ns>[^/]+)/lint$", "lint"),
        ("POST", r"^/api/v1/workflows/(?P<ns>[^/]+)/submit$", "submit"),
        ("GET", r"^/api/v1/workflows/(?P<ns>[^/]+)/(?P<name>[^/]+)/log$", "logs"),
        ("GET", r"^/api/v1/workflows/(?P<ns>[^/]+)/(?P<name>[^/]+)/(?P<pod>[^/]+)/log$", "logs"),
        (
            "PUT",
            r"^/api/v1/workflows/(?P<ns>[^/]+)/(?P<name>[^/]+)/"
            r"(?P<action>retry|resubmit|stop|terminate|suspend|resume)$",
            "wf_action",
        ),
        (
            "POST",
            r"^/api/v1/(?P<seg>workflow-templates|cron-workflows)/(?P<ns>[^/]+)/lint$",
            "lint",
        ),
        (
            "PUT",
            r"^/api/v1/cron-workflows/(?P<ns>[^/]+)/(?P<name>[^/]+)/(?P<action>suspend|resume)$",
            "cron_action",
        ),
        (
            "GET",
            r"^/api/v1/(?P<seg>workflows|workflow-templates|cron-workflows)/(?P<ns>[^/]+)$",
            "list",
        ),
        (
            "POST",
            r"^/api/v1/(?P<seg>workflows|workflow-templates|cron-workflows)/(?P<ns>[^/]+)$",
            "create",
        ),
        (
            "GET",
            r"^/api/v1/(?P<seg>workflows|workflow-templates|cron-workflows)/(?P<ns>[^/]+)/(?P<name>[^/]+)$",
            "get",
        ),
        (
            "DELETE",
            r"^/api/v1/(?P<seg>workflows|workflow-templates|cron-workflows)/(?P<ns>[^/]+)/(?P<name>[^/]+)$",
            "delete",
        ),
        (
            "PUT",
            r"^/api/v1/(?P<seg>workflow-templates|cron-workflows)/(?P<ns>[^/]+)/(?P<name>[^/]+)$",
            "update",
        ),
    ]
]


# ----------------------------------------------------------------------------- the server
class StubArgoServer:
    """A stand-in Argo Server (see the module docstring).

    ``token``: the accepted bearer token (``None``: no auth). ``namespaces``: the namespaces
    that exist (``None``: any); others answer 404. ``forbidden_namespaces`` answer 403.
    ``executor``: how workflows progress (default :func:`succeed_all`; ``None``: they stay
    Pending). ``validate``: run the
    offline validator on posted manifests. ``tls``: ``(certfile, keyfile)`` to serve HTTPS.
    ``base_href``: a path prefix (like ``ARGO_BASE_HREF`` behind an ingress).

    Knobs (all thread-safe, settable while running): :meth:`fail`, :meth:`drop`, :meth:`delay`,
    ``events_status`` (e.g. 404/501: the events endpoint answers that), ``events_error`` (a dict
    sent as ``{"error": ...}`` line, then the stream closes), ``stream_limit`` (close each event
    stream after that many events), ``keepalive_interval`` (SSE ``:`` comments), ``executor``.
    """

    def __init__(
        self,
        *,
        token: str | None = DEFAULT_TOKEN,
        namespaces: Iterable[str] | None = (DEFAULT_NAMESPACE,),
        forbidden_namespaces: Iterable[str] = (),
        executor: Executor | object | None = _DEFAULT,
        validate: bool = True,
        tls: tuple[str | os.PathLike[str], str | os.PathLike[str]] | None = None,
        base_href: str = "",
        keepalive_interval: float = 15.0,
    ) -> None:
        self.token = token
        self.namespaces = None if namespaces is None else set(namespaces)
        self.default_namespace = (
            sorted(self.namespaces)[0] if self.namespaces else DEFAULT_NAMESPACE
        )
        if namespaces is not None and DEFAULT_NAMESPACE in self.namespaces:
            self.default_namespace = DEFAULT_NAMESPACE
        self.forbidden_namespaces = set(forbidden_namespaces)
        self.executor: Executor | None = succeed_all() if executor is _DEFAULT else executor  # type: ignore[assignment]
        self.validate = validate
        self.tls = tls
        self.base_href = "/" + base_href.strip("/") if base_href.strip("/") else ""
        self.keepalive_interval = keepalive_interval
        self.events_status: int | None = None
        self.events_error: dict | None = None
        self.stream_limit: int | None = None
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._objects: dict[str, dict[str, dict[str, dict]]] = {k: {} for k in KINDS}
        self._logs: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        self._version = 1000
        self._watchers: list[_Watcher] = []
        self._threads: dict[tuple[str, str], threading.Thread] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.stopping = False
        self._stopped = threading.Event()

    # -- lifecycle
    def start(self) -> StubArgoServer:
        """Listen, and return once ready: the socket accepts connections (they queue until
        the serving thread takes them) and the validator is loaded and warm."""
        if self.validate:
            warm_validator()
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.stub = self
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            httpd.ssl_context = ctx
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()  # ends injected delays at once
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

    def __enter__(self) -> StubArgoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>`` (the ``ARGO_SERVER`` value)."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.address}{self.base_href}"

    def env(self, **overrides: str) -> dict[str, str]:
        """``ARGO_*`` variables pointing at this server (``overrides`` win)."""
        env = {
            "ARGO_SERVER": self.address,
            "ARGO_SECURE": "true" if self.tls else "false",
            "ARGO_NAMESPACE": self.default_namespace,
            "ARGO_BASE_HREF": self.base_href,
        }
        if self.token:
            env["ARGO_TOKEN"] = f"Bearer {self.token}"
        env.update(overrides)
        return env

    def client(
        self, *, namespace: str | None = None, env: Mapping[str, str] | None = None, **kwargs: Any
    ):
        """An ``ArgoServerBackend`` for this server: short backoff; the request timeout is only
        a hang guard (:data:`HANG_GUARD_S`) unless given."""
        from kedro_argo.server.argo_api import ArgoServerBackend, ConnectionSettings

        settings = ConnectionSettings.from_env(dict(self.env(), **(env or {})), namespace=namespace)
        kwargs.setdefault("timeout", HANG_GUARD_S)
        kwargs.setdefault("backoff", 0.01)
        kwargs.setdefault("stream_timeout", HANG_GUARD_S)  # silence never forces a re-check
        kwargs.setdefault("trust_env", False)  # no proxy between the tests and 127.0.0.1
        return ArgoServerBackend(settings, **kwargs)

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
        """Wait ``seconds`` before answering the next ``times`` matching requests (a slow
        server; cut short when the server stops)."""
        return self._add_fault(Fault("delay", times, method, path, seconds=seconds))

    def _add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    # -- inspection and seeding
    def requests_to(
        self, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests with that method and a path matching the regex ``path``."""
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
            obj = self._objects[kind].get(namespace or self.default_namespace, {}).get(name)
            return copy.deepcopy(obj) if obj is not None else None

    def objects(self, kind: str, namespace: str | None = None) -> list[dict]:
        with self._lock:
            return copy.deepcopy(
                list(self._objects[kind].get(namespace or self.default_namespace, {}).values())
            )

    @property
    def workflows(self) -> list[dict]:
        return self.objects("Workflow")

    def put(self, obj: dict, namespace: str | None = None) -> dict:
        """Store an object as is (no validation, no executor); returns the stored copy."""
        ns = namespace or (obj.get("metadata") or {}).get("namespace") or self.default_namespace
        with self._lock:
            stored = self._stamp(copy.deepcopy(obj), obj["kind"], ns)
            self._objects[obj["kind"]].setdefault(ns, {})[stored["metadata"]["name"]] = stored
            self._notify("ADDED", stored)
            return copy.deepcopy(stored)

    def delete(self, kind: str, name: str, namespace: str | None = None) -> None:
        """Delete an object as if through the API (watchers get a DELETED event)."""
        self._h_delete(
            None,
            {"seg": _SEGMENT_OF[kind], "ns": namespace or self.default_namespace, "name": name},
            {},
            {},
        )

    def touch(self, kind: str, name: str, namespace: str | None = None) -> dict:
        """Bump an object's resourceVersion (as if someone else updated it)."""
        ns = namespace or self.default_namespace
        with self._lock:
            obj = self._objects[kind].get(ns, {}).get(name)
            if obj is None:
                raise KeyError(name)
            obj["metadata"]["resourceVersion"] = self._next_version()
            obj["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
            self._notify("MODIFIED", obj)
            return copy.deepcopy(obj)

    def add_log(
        self,
        name: str,
        pod: str,
        lines: str | Iterable[str],
        *,
        namespace: str | None = None,
        container: str = "main",
    ) -> None:
        """Record log lines of ``pod`` (a workflow's pod) for the log endpoints."""
        if isinstance(lines, str):
            lines = lines.splitlines()
        with self._lock:
            bucket = self._logs.setdefault((namespace or self.default_namespace, name), [])
            bucket.extend((pod, container, str(line)) for line in lines)
            self._changed.notify_all()

    def log_pods(self, name: str, namespace: str | None = None) -> set[str]:
        """The pods of workflow ``name`` that logged something."""
        with self._lock:
            return {
                pod for pod, _, _ in self._logs.get((namespace or self.default_namespace, name), [])
            }

    def wait_for_watcher(
        self, name: str, timeout: float = HANG_GUARD_S, namespace: str | None = None
    ) -> None:
        """Block until a workflow-events stream watching workflow ``name`` is open (so an
        event about it now reaches the watcher)."""
        ns = namespace or self.default_namespace
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
        phases = set(phases)
        end = time.monotonic() + timeout
        with self._lock:
            while True:
                wf = (
                    self._objects["Workflow"].get(namespace or self.default_namespace, {}).get(name)
                )
                if wf is not None and (wf.get("status") or {}).get("phase", "") in phases:
                    return copy.deepcopy(wf)
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"workflow {name} not in {sorted(phases)} after {timeout} s")
                self._changed.wait(min(left, 0.1))

    # -- internals: store
    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    def _stamp(self, obj: dict, kind: str, ns: str) -> dict:
        obj.setdefault("apiVersion", "argoproj.io/v1alpha1")
        obj["kind"] = kind
        md = obj.setdefault("metadata", {})
        if not md.get("name"):
            md["name"] = self._generate_name(kind, ns, md.get("generateName") or f"{kind.lower()}-")
        md["namespace"] = ns
        md.setdefault("uid", str(uuid.uuid4()))
        md["resourceVersion"] = self._next_version()
        md.setdefault("creationTimestamp", now())
        md.setdefault("generation", 1)
        if kind == "Workflow":
            md.setdefault("labels", {})[_LABEL_COMPLETED] = "false"
            obj.setdefault("status", {})
        return obj

    def _generate_name(self, kind: str, ns: str, prefix: str) -> str:
        prefix = prefix[:58]
        existing = self._objects[kind].get(ns, {})
        while True:
            name = prefix + "".join(random.choice(_NAME_CHARS) for _ in range(5))
            if name not in existing:
                return name

    def _registry(self, ns: str) -> dict[tuple, dict]:
        return {
            ("WorkflowTemplate", name): tpl
            for name, tpl in self._objects["WorkflowTemplate"].get(ns, {}).items()
        }

    def _check(self, kind: str, obj: dict, ns: str, *, submit: bool = False) -> None:
        if not self.validate:
            return
        err = first_error(obj, self._registry(ns), submit=submit)
        if err:
            raise HttpError(400, 3, err)

    def _notify(self, kind_of_event: str, obj: dict) -> None:
        if obj.get("kind") == "Workflow":
            for w in self._watchers:
                if w.wants(obj):
                    w.queue.put({"type": kind_of_event, "object": copy.deepcopy(obj)})
        self._changed.notify_all()

    def _update_status(self, ns: str, name: str, status: Mapping[str, Any]) -> None:
        with self._lock:
            wf = self._objects["Workflow"].get(ns, {}).get(name)
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
            self._notify("MODIFIED", wf)

    def _effective(self, wf: dict, ns: str) -> dict:
        """The workflow with its WorkflowTemplate's spec merged in (``workflowTemplateRef``)."""
        wf = copy.deepcopy(wf)
        spec = wf.get("spec") or {}
        ref = spec.get("workflowTemplateRef")
        if not ref:
            return wf
        tpl = self._objects["WorkflowTemplate"].get(ns, {}).get(ref.get("name"))
        if tpl is None:
            raise _not_found("WorkflowTemplate", ref.get("name"))
        merged = copy.deepcopy(tpl.get("spec") or {})
        for key, value in spec.items():
            if key == "workflowTemplateRef":
                continue
            if key == "arguments":
                merged["arguments"] = _merge_arguments(merged.get("arguments"), value)
            else:
                merged[key] = copy.deepcopy(value)
        wf["spec"] = merged
        return wf

    def _launch(self, ns: str, name: str) -> None:
        executor = self.executor
        wf = self._objects["Workflow"][ns][name]
        if executor is None:
            return
        effective = self._effective(wf, ns)
        if (wf.get("spec") or {}).get("workflowTemplateRef"):
            wf.setdefault("status", {})["storedWorkflowTemplateSpec"] = copy.deepcopy(
                effective["spec"]
            )
        updater = WorkflowUpdater(self, ns, name)

        def run() -> None:
            try:
                executor(effective, updater)
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

        thread = threading.Thread(target=run, name=f"stub-executor-{name}", daemon=True)
        thread.start()  # before it is listed: stop() may join it from another thread at once
        self._threads[(ns, name)] = thread

    # -- internals: HTTP
    def _handle(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        path = unquote(split.path)
        query = parse_qs(split.query, keep_blank_values=True)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        header_auth = h.headers.get("Authorization")
        if self.token is None:
            auth = "not-required"
        elif header_auth is None:
            auth = "missing"
        else:
            auth = "ok" if header_auth == f"Bearer {self.token}" else "wrong"
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
            self._stopped.wait(f.seconds)  # a slow server; answers early only when stopping
        if fault is not None and fault.kind == "drop":
            raise _Drop()
        if fault is not None and fault.kind == "status":
            h.send_json(
                fault.status,
                fault.body
                if fault.body is not None
                else {"code": 14, "message": f"stub: injected HTTP {fault.status}"},
            )
            return
        try:
            if self.base_href:
                if not (path == self.base_href or path.startswith(self.base_href + "/")):
                    h.send_bytes(404, b"404 page not found\n", "text/plain; charset=utf-8")
                    return
                path = path[len(self.base_href) :]
            if raw and body is None:
                raise HttpError(400, 3, "invalid JSON in request body")
            if auth in ("missing", "wrong"):
                raise HttpError(
                    401,
                    16,
                    "token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/",
                )
            for method, pattern, handler in _ROUTES:
                m = pattern.match(path)
                if m and method == h.command:
                    params = m.groupdict()
                    ns = params["ns"]
                    if ns in self.forbidden_namespaces:
                        raise HttpError(
                            403,
                            7,
                            f"{_RESOURCE[_SEGMENT_KIND[params.get('seg') or 'workflows']]} "
                            f'is forbidden: User "system:serviceaccount:argo:stub" cannot access '
                            f'resources in the namespace "{ns}"',
                        )
                    if self.namespaces is not None and ns not in self.namespaces:
                        raise HttpError(404, 5, f'namespaces "{ns}" not found')
                    if h.command in ("POST", "PUT"):
                        if not isinstance(body, dict):
                            raise HttpError(400, 3, "request body must be a JSON object")
                        if body.get("namespace") != ns:
                            raise HttpError(
                                400,
                                3,
                                f"the request body must repeat the namespace {ns!r} "
                                f"(got {body.get('namespace')!r})",
                            )
                    result = getattr(self, f"_h_{handler}")(h, params, query, body or {})
                    if fault is not None and fault.kind == "drop_after":
                        raise _Drop()
                    if result is not None:
                        h.send_json(200, result)
                    return
            known = any(p.match(path) for _, p, _ in _ROUTES)
            if known:
                raise HttpError(405, 12, f"method {h.command} not allowed")
            h.send_bytes(404, b"404 page not found\n", "text/plain; charset=utf-8")
        except HttpError as err:
            h.send_json(err.status, {"code": err.code, "message": err.message})

    # -- handlers: generic
    def _kind(self, params: Mapping[str, str]) -> str:
        return _SEGMENT_KIND[params.get("seg") or "workflows"]

    def _body_obj(self, kind: str, body: Mapping[str, Any]) -> dict:
        obj = body.get(_BODY_KEY[kind])
        if not isinstance(obj, dict):
            raise HttpError(400, 3, f"request body needs {_BODY_KEY[kind]!r}")
        obj = copy.deepcopy(obj)
        obj.setdefault("apiVersion", "argoproj.io/v1alpha1")
        obj.setdefault("kind", kind)
        if obj["kind"] != kind:
            raise HttpError(400, 3, f"kind {obj['kind']!r} sent to the {kind} endpoint")
        obj.setdefault("metadata", {})
        return obj

    def _h_list(self, h, params, query, body) -> dict:
        kind, ns = self._kind(params), params["ns"]
        selector = (query.get("listOptions.labelSelector") or [""])[0]
        with self._lock:
            items = [
                copy.deepcopy(o)
                for o in sorted(
                    self._objects[kind].get(ns, {}).values(),
                    key=lambda o: o["metadata"]["creationTimestamp"],
                    reverse=True,
                )
                if labels_match((o.get("metadata") or {}).get("labels"), selector)
            ]
            version = str(self._version)
        result = {"metadata": {"resourceVersion": version}, "items": items or None}
        return filter_fields(result, (query.get("fields") or [""])[0])

    def _h_get(self, h, params, query, body) -> dict:
        kind = self._kind(params)
        obj = self.get(kind, params["name"], params["ns"])
        if obj is None:
            raise _not_found(kind, params["name"])
        return filter_fields(obj, (query.get("fields") or [""])[0])

    def _h_delete(self, h, params, query, body) -> dict:
        kind, ns, name = self._kind(params), params["ns"], params["name"]
        with self._lock:
            obj = self._objects[kind].get(ns, {}).pop(name, None)
            if obj is None:
                raise _not_found(kind, name)
            self._logs.pop((ns, name), None)
            self._notify("DELETED", obj)
        return {}

    def _h_lint(self, h, params, query, body) -> dict:
        kind, ns = self._kind(params), params["ns"]
        obj = self._body_obj(kind, body)
        self._check(kind, obj, ns)
        obj["metadata"].setdefault("namespace", ns)
        return obj

    def _h_create(self, h, params, query, body) -> dict:
        kind, ns = self._kind(params), params["ns"]
        obj = self._body_obj(kind, body)
        md = obj["metadata"]
        if md.get("namespace") and md["namespace"] != ns:
            raise HttpError(
                400,
                3,
                "the namespace of the provided object does not match the namespace sent on "
                "the request",
            )
        dry_run = "All" in ((body.get("createOptions") or {}).get("dryRun") or []) or bool(
            body.get("serverDryRun")
        )
        self._check(kind, obj, ns)
        with self._lock:
            if kind == "Workflow":
                ref = ((obj.get("spec") or {}).get("workflowTemplateRef") or {}).get("name")
                if ref and ref not in self._objects["WorkflowTemplate"].get(ns, {}):
                    raise _not_found("WorkflowTemplate", ref)
            name = md.get("name")
            if name and name in self._objects[kind].get(ns, {}):
                raise HttpError(409, 6, f'{_RESOURCE[kind]} "{name}" already exists')
            stored = self._stamp(obj, kind, ns)
            if dry_run:
                return stored
            self._objects[kind].setdefault(ns, {})[stored["metadata"]["name"]] = stored
            self._notify("ADDED", stored)
            if kind == "Workflow":
                self._launch(ns, stored["metadata"]["name"])
            return copy.deepcopy(stored)

    def _h_update(self, h, params, query, body) -> dict:
        kind, ns, name = self._kind(params), params["ns"], params["name"]
        obj = self._body_obj(kind, body)
        md = obj["metadata"]
        if md.get("name", name) != name:
            raise HttpError(
                400, 3, f"metadata.name {md.get('name')!r} does not match the path {name!r}"
            )
        md["name"] = name
        self._check(kind, obj, ns)
        with self._lock:
            current = self._objects[kind].get(ns, {}).get(name)
            if current is None:
                raise _not_found(kind, name)
            version = md.get("resourceVersion")
            if not version:
                raise HttpError(
                    400,
                    3,
                    f'{_RESOURCE[kind]} "{name}" is invalid: metadata.resourceVersion: Invalid '
                    "value: 0x0: must be specified for an update",
                )
            if str(version) != current["metadata"]["resourceVersion"]:
                raise HttpError(
                    409,
                    10,
                    f'Operation cannot be fulfilled on {_RESOURCE[kind]} "{name}": the object has '
                    "been modified; please apply your changes to the latest version and try again",
                )
            cm = current["metadata"]
            md.update(
                namespace=ns,
                uid=cm["uid"],
                creationTimestamp=cm["creationTimestamp"],
                generation=cm.get("generation", 1) + 1,
                resourceVersion=self._next_version(),
            )
            self._objects[kind][ns][name] = obj
            self._notify("MODIFIED", obj)
            return copy.deepcopy(obj)

    # -- handlers: workflows
    def _h_submit(self, h, params, query, body) -> dict:
        ns = params["ns"]
        kind, name = body.get("resourceKind"), body.get("resourceName")
        opts = body.get("submitOptions") or {}
        if kind not in ("WorkflowTemplate", "CronWorkflow", "ClusterWorkflowTemplate"):
            raise HttpError(400, 3, f"resourceKind {kind!r} is not supported")
        if kind == "ClusterWorkflowTemplate":
            raise _not_found("WorkflowTemplate", f"{name} (cluster)")
        with self._lock:
            source = self._objects[kind].get(ns, {}).get(name)
            if source is None:
                raise _not_found(kind, name)
            source = copy.deepcopy(source)
        params_list = _parse_params(opts.get("parameters"))
        labels = {}
        for part in str(opts.get("labels") or "").split(","):
            if "=" in part:
                k, v = part.split("=", 1)
                labels[k.strip()] = v.strip()
        if kind == "WorkflowTemplate":
            spec: dict = {"workflowTemplateRef": {"name": name}}
            labels["workflows.argoproj.io/workflow-template"] = name
        else:
            spec = copy.deepcopy((source.get("spec") or {}).get("workflowSpec") or {})
            labels["workflows.argoproj.io/cron-workflow"] = name
        _override_params(spec, params_list)
        wf = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {"generateName": opts.get("generateName") or f"{name}-", "labels": labels},
            "spec": spec,
        }
        if opts.get("entryPoint"):
            spec["entrypoint"] = opts["entryPoint"]
        if kind == "WorkflowTemplate":
            effective = self._effective(wf, ns)
            self._check("Workflow", effective, ns, submit=True)
        else:
            self._check("Workflow", wf, ns, submit=True)
        with self._lock:
            stored = self._stamp(wf, "Workflow", ns)
            if opts.get("serverDryRun") or opts.get("dryRun"):
                return stored
            self._objects["Workflow"].setdefault(ns, {})[stored["metadata"]["name"]] = stored
            self._notify("ADDED", stored)
            self._launch(ns, stored["metadata"]["name"])
            return copy.deepcopy(stored)

    def _h_wf_action(self, h, params, query, body) -> dict:
        ns, name, action = params["ns"], params["name"], params["action"]
        with self._lock:
            wf = self._objects["Workflow"].get(ns, {}).get(name)
            if wf is None:
                raise _not_found("Workflow", name)
            phase = (wf.get("status") or {}).get("phase", "")
            spec = wf.setdefault("spec", {})
            if action == "retry":
                if phase not in ("Failed", "Error"):
                    raise HttpError(400, 9, "workflow must be Failed/Error to retry")
                keep = ("Succeeded",) if not body.get("restartSuccessful") else ()
                nodes = wf["status"].get("nodes") or {}
                wf["status"]["nodes"] = {
                    k: v
                    for k, v in nodes.items()
                    if v.get("phase") in keep and v.get("type") == "Pod"
                }
                for key in ("finishedAt", "message"):
                    wf["status"].pop(key, None)
                wf["status"]["phase"] = "Running"
                spec.pop("shutdown", None)
                _override_params(spec, _parse_params(body.get("parameters")))
                wf["metadata"]["labels"][_LABEL_COMPLETED] = "false"
                wf["metadata"]["resourceVersion"] = self._next_version()
                self._notify("MODIFIED", wf)
                self._launch(ns, name)
                return copy.deepcopy(wf)
            if action == "resubmit":
                new_spec = copy.deepcopy(spec)
                new_spec.pop("shutdown", None)
                _override_params(new_spec, _parse_params(body.get("parameters")))
                labels = {
                    k: v
                    for k, v in (wf["metadata"].get("labels") or {}).items()
                    if not k.startswith("workflows.argoproj.io/") or "template" in k or "cron" in k
                }
                labels["workflows.argoproj.io/resubmitted-from-workflow"] = name
                new = {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Workflow",
                    "metadata": {"generateName": f"{name}-", "labels": labels},
                    "spec": new_spec,
                }
                stored = self._stamp(new, "Workflow", ns)
                self._objects["Workflow"][ns][stored["metadata"]["name"]] = stored
                self._notify("ADDED", stored)
                self._launch(ns, stored["metadata"]["name"])
                return copy.deepcopy(stored)
            if action in ("stop", "terminate"):
                if phase in FINAL_PHASES:
                    raise HttpError(400, 9, "cannot shutdown a completed workflow")
                strategy = "Stop" if action == "stop" else "Terminate"
                spec["shutdown"] = strategy
                wf["metadata"]["resourceVersion"] = self._next_version()
                running = self._threads.get((ns, name))
                if running is None or not running.is_alive():  # nobody progresses it: end it now
                    wf.setdefault("status", {}).update(
                        phase="Failed",
                        finishedAt=now(),
                        message=f"Stopped with strategy '{strategy}'",
                    )
                    wf["metadata"]["labels"][_LABEL_PHASE] = "Failed"
                    wf["metadata"]["labels"][_LABEL_COMPLETED] = "true"
                self._notify("MODIFIED", wf)
                return copy.deepcopy(wf)
            # suspend / resume
            spec["suspend"] = action == "suspend"
            if not spec["suspend"]:
                spec.pop("suspend")
            wf["metadata"]["resourceVersion"] = self._next_version()
            self._notify("MODIFIED", wf)
            return copy.deepcopy(wf)

    def _h_cron_action(self, h, params, query, body) -> dict:
        ns, name, action = params["ns"], params["name"], params["action"]
        with self._lock:
            cron = self._objects["CronWorkflow"].get(ns, {}).get(name)
            if cron is None:
                raise _not_found("CronWorkflow", name)
            cron.setdefault("spec", {})["suspend"] = action == "suspend"
            cron["metadata"]["resourceVersion"] = self._next_version()
            return copy.deepcopy(cron)

    # -- handlers: streams
    def _h_watch(self, h, params, query, body) -> None:
        ns = params["ns"]
        if self.events_status:
            raise HttpError(
                self.events_status,
                12 if self.events_status == 501 else 5,
                f"stub: workflow-events answer {self.events_status}",
            )
        name = None
        for sel in (query.get("listOptions.fieldSelector") or [""])[0].split(","):
            key, _, value = sel.partition("=")
            if key.strip() == "metadata.name":
                name = value.strip().lstrip("=")
        watcher = _Watcher(ns, name, (query.get("listOptions.labelSelector") or [""])[0] or None)
        fields = (query.get("fields") or [""])[0]
        sse = "text/event-stream" in (h.headers.get("Accept") or "")
        initial = not (query.get("listOptions.resourceVersion") or [""])[0]
        with self._lock:
            if self.stopping:
                raise HttpError(503, 14, "stub: stopping")
            self._watchers.append(watcher)
            self._changed.notify_all()  # see wait_for_watcher()
            if initial:
                for obj in self._objects["Workflow"].get(ns, {}).values():
                    if watcher.wants(obj):
                        watcher.queue.put({"type": "ADDED", "object": copy.deepcopy(obj)})
        h.start_chunked("text/event-stream" if sse else "application/json")
        sent = 0
        last_write = time.monotonic()

        def emit(message: dict) -> None:
            data = json.dumps(filter_fields(message, fields))
            h.chunk((f"data: {data}\n\n" if sse else data + "\n").encode())

        try:
            if self.events_error is not None:
                emit({"error": self.events_error})
                return
            while not self.stopping:
                try:
                    event = watcher.queue.get(timeout=0.05)
                except queue.Empty:
                    if _peer_closed(h.connection):
                        break
                    if sse and time.monotonic() - last_write >= self.keepalive_interval:
                        h.chunk(b": keep-alive\n\n")
                        last_write = time.monotonic()
                    continue
                if event is None:
                    break
                emit({"result": event})
                last_write = time.monotonic()
                sent += 1
                if self.stream_limit is not None and sent >= self.stream_limit:
                    break
        finally:
            with self._lock:
                if watcher in self._watchers:
                    self._watchers.remove(watcher)
            h.end_chunked()
        return None

    def _h_logs(self, h, params, query, body) -> None:
        ns, name = params["ns"], params["name"]
        pod = params.get("pod") or (query.get("podName") or [""])[0] or None
        container = (query.get("logOptions.container") or ["main"])[0] or "main"
        follow = (query.get("logOptions.follow") or ["false"])[0] == "true"
        grep = (query.get("grep") or [""])[0]
        with self._lock:
            if name not in self._objects["Workflow"].get(ns, {}):
                raise _not_found("Workflow", name)
        sse = "text/event-stream" in (h.headers.get("Accept") or "")
        h.start_chunked("text/event-stream" if sse else "application/json")
        position = 0
        try:
            while True:
                with self._lock:
                    entries = self._logs.get((ns, name), [])
                    batch = entries[position:]
                    position = len(entries)
                    wf = self._objects["Workflow"].get(ns, {}).get(name)
                    done = (
                        wf is None
                        or (wf.get("status") or {}).get("phase") in FINAL_PHASES
                        or self.stopping
                    )
                for p, c, line in batch:
                    if (pod and p != pod) or c != container or (grep and not re.search(grep, line)):
                        continue
                    data = json.dumps({"result": {"content": line, "podName": p}})
                    h.chunk((f"data: {data}\n\n" if sse else data + "\n").encode())
                if not follow or (done and not batch):
                    break
                with self._lock:
                    self._changed.wait(0.05)
        finally:
            h.end_chunked()
        return None


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture
def argo_server() -> Iterator[StubArgoServer]:
    """A started :class:`StubArgoServer` (default token, namespace ``argo``, DAG executor)."""
    with StubArgoServer() as server:
        yield server


@pytest.fixture
def argo_client(argo_server: StubArgoServer):
    """An ``ArgoServerBackend`` for ``argo_server`` (10 ms backoff; timeouts only as hang
    guards)."""
    client = argo_server.client()
    yield client
    client.close()


@pytest.fixture
def argo_env(argo_server: StubArgoServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Set the ``ARGO_*`` variables for ``argo_server``; returns them."""
    for var in (
        "ARGO_SERVER",
        "ARGO_TOKEN",
        "ARGO_NAMESPACE",
        "ARGO_SECURE",
        "ARGO_INSECURE_SKIP_VERIFY",
        "ARGO_BASE_HREF",
        "ARGO_HTTP1",
    ):
        monkeypatch.delenv(var, raising=False)
    env = argo_server.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
