"""The Kubernetes API through the user's kubeconfig: Argo's custom resources, directly.

Like the ``argo`` CLI when no Argo Server is configured: the kubeconfig's current context (or
``--context`` / ``server.context``) is used with the official ``kubernetes`` client, which
handles its credentials (token, client certificate, exec plugins) and TLS (verified unless the
kubeconfig says ``insecure-skip-tls-verify``). Workflows, WorkflowTemplates and CronWorkflows
(group ``argoproj.io``, version ``v1alpha1``) are created, read, replaced, listed and deleted
as custom objects (``fieldValidation=Strict``); a workflow is followed with the watch API
(``?watch=true&fieldSelector=metadata.name=<name>``, from the version last read), with the
polling fallback of :mod:`kedro_argo.server.watch`; logs are the ``main`` container's logs of
the pods labelled ``workflows.argoproj.io/workflow=<name>``.

What the Argo Server adds and this mode lacks: Argo's own validation on create (the API
server only checks the CRD's schema), ``submit`` from a template, retry / resubmit, archived
workflows and logs, the UI. See docs/cluster.md.

Retries follow :mod:`kedro_argo.server.transport`'s rule (urllib3's ``Retry``: connect failures
always, 429/502/503/504 and dropped connections for idempotent methods only, never a create).
Every failure is one line through :mod:`kedro_argo.server.failures`; the kubeconfig's
credentials never appear in an error or a log record.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from urllib3 import exceptions as http
from urllib3.util.retry import Retry

from kedro_argo import __version__
from kedro_argo.errors import ArgoServerError
from kedro_argo.server import failures
from kedro_argo.server.backend import GROUP, KINDS, VERSION, Kind, ObjectsBase
from kedro_argo.server.failures import Call, Peer
from kedro_argo.server.transport import MAX_BACKOFF, RETRY_STATUSES, proxy_for
from kedro_argo.server.watch import StreamFailed, StreamIdle

log = logging.getLogger(__name__)

__all__ = ["KubeContext", "KubernetesBackend", "kubeconfig_files", "read_contexts"]

DEFAULT_NAMESPACE = "argo"
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
MAIN_CONTAINER = "main"
_WATCH_GRACE = 5.0  # the server ends a watch at timeoutSeconds; the client waits this longer
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Loggers a kubernetes Configuration resets to WARNING when it is created (debug=False).
_CLIENT_LOGGERS = ("client", "urllib3")

NO_CLUSTER = (
    "No Argo Server and no kubeconfig: set ARGO_SERVER=host:port (or server.url in argo.yml) "
    "to use the Argo Server, or point KUBECONFIG at a kubeconfig (default ~/.kube/config) to "
    "use the Kubernetes API"
)


def kubeconfig_files(env: Mapping[str, str]) -> list[str]:
    """The kubeconfig files ``kubectl`` would read: ``KUBECONFIG`` (a path list) or
    ``~/.kube/config``; only those that exist."""
    raw = env.get("KUBECONFIG") or str(Path("~", ".kube", "config"))
    paths = [str(Path(p).expanduser()) for p in raw.split(os.pathsep) if p.strip()]
    return [p for p in dict.fromkeys(paths) if Path(p).is_file()]


@dataclass(frozen=True)
class KubeContext:
    """One kubeconfig context, as the messages name it."""

    name: str
    cluster: str | None
    user: str | None
    namespace: str | None


def read_contexts(files: list[str]) -> tuple[dict[str, KubeContext], str | None]:
    """The contexts of the kubeconfig files (the first file defining a name wins, as in
    ``kubectl``) and the current context (the first file setting one)."""
    import yaml

    contexts: dict[str, KubeContext] = {}
    current: str | None = None
    for path in files:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            reason = failures.one_line(getattr(exc, "problem", None) or exc, 200)
            raise ArgoServerError(f"Cannot read the kubeconfig {path}: {reason}") from None
        if not isinstance(data, dict):
            raise ArgoServerError(f"The kubeconfig {path} is not a kubeconfig (not a mapping)")
        current = current or data.get("current-context") or None
        for item in data.get("contexts") or []:
            if isinstance(item, dict) and item.get("name") and item["name"] not in contexts:
                spec = item.get("context") or {}
                contexts[item["name"]] = KubeContext(
                    item["name"], spec.get("cluster"), spec.get("user"), spec.get("namespace")
                )
    return contexts, current


@contextlib.contextmanager
def _logger_levels_kept() -> Iterator[None]:
    """Creating a kubernetes ``Configuration`` sets the ``urllib3`` logger to WARNING: keep
    whatever the user (or Kedro's logging.yml) configured."""
    loggers = [logging.getLogger(name) for name in _CLIENT_LOGGERS]
    levels = [lg.level for lg in loggers]
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


class _Retry(Retry):
    """urllib3's ``Retry``, except for read timeouts: the caller already waited its timeout."""

    def increment(self, *args: Any, **kwargs: Any) -> Retry:
        error = kwargs.get("error", args[3] if len(args) > 3 else None)
        if isinstance(error, http.ReadTimeoutError):
            raise error
        return super().increment(*args, **kwargs)


def _retry(retries: int, backoff: float) -> Retry:
    """urllib3's ``Retry`` holding the transport rule (see the module docstring)."""
    return _Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,  # TLS failures and the like are not transient
        redirect=0,
        allowed_methods=_IDEMPOTENT_METHODS,  # read errors and statuses: idempotent only
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff,
        backoff_max=MAX_BACKOFF,
        backoff_jitter=backoff / 4,
        respect_retry_after_header=True,
        raise_on_status=False,  # the last answer is returned, then worded like any other
        raise_on_redirect=False,
    )


def _lines(response: Any) -> Iterator[bytes]:
    """The lines of a streamed answer, as they arrive."""
    pending = b""
    for chunk in response.stream(amt=None, decode_content=True):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if line.strip():
                yield line
    if pending.strip():
        yield pending


class KubernetesBackend(ObjectsBase):
    """Argo's custom resources through the Kubernetes API (see the module docstring).

    ``api_client`` is a configured ``kubernetes.client.ApiClient``; ``context`` the kubeconfig
    context it came from (for messages), ``explicit_context`` whether it was chosen by name
    (then the ``kubectl`` commands the messages suggest carry ``--context``).
    """

    def __init__(
        self,
        api_client: Any,
        *,
        namespace: str,
        context: KubeContext | None = None,
        explicit_context: bool = False,
        timeout: float = 30.0,
        stream_timeout: float = 60.0,
        backoff: float = 0.5,
    ) -> None:
        from kubernetes import client

        self.api = api_client
        self.namespace = namespace
        self.context = context
        self.timeout = float(timeout)
        self.stream_timeout = float(stream_timeout)
        self.backoff = max(0.0, float(backoff))
        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)
        self._context_flag = f" --context {context.name}" if context and explicit_context else ""
        self.peer = self._peer()

    @classmethod
    def from_kubeconfig(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        context: str | None = None,
        namespace: str | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        **kwargs: Any,
    ) -> KubernetesBackend:
        """The backend for a kubeconfig context (``context``, else the current one).

        Namespace: ``namespace`` (argo.yml) > ``ARGO_NAMESPACE`` > the context's > ``argo``.
        """
        env = os.environ if env is None else env
        files = kubeconfig_files(env)
        if not files:
            raise ArgoServerError(NO_CLUSTER)
        contexts, current = read_contexts(files)
        where = f"the kubeconfig ({os.pathsep.join(files)})"
        known = ", ".join(sorted(contexts)) or "none"
        chosen = context or current
        if not chosen:
            raise ArgoServerError(
                f"{where} has no current context: pass --context NAME or set server.context "
                f"in argo.yml (contexts: {known})"
            )
        if chosen not in contexts:
            raise ArgoServerError(
                f"Context {chosen!r} is not in {where} (contexts: {known}); see "
                "`kubectl config get-contexts`"
            )
        picked = contexts[chosen]
        from kubernetes import client, config

        with _logger_levels_kept():
            configuration = client.Configuration()
            try:
                config.load_kube_config(
                    config_file=os.pathsep.join(files),
                    context=chosen,
                    client_configuration=configuration,
                    persist_config=False,
                )
            except config.ConfigException as exc:
                raise ArgoServerError(
                    f"Cannot use context {chosen!r} of {where}: {failures.one_line(exc, 300)}"
                ) from None
            configuration.retries = _retry(retries, backoff)
            if not configuration.proxy:
                configuration.proxy = proxy_for(configuration.host)
            api_client = client.ApiClient(configuration)
        api_client.user_agent = f"kedro-argo/{__version__}"
        namespace = (
            (namespace or "").strip()
            or (env.get("ARGO_NAMESPACE") or "").strip()
            or picked.namespace
            or DEFAULT_NAMESPACE
        )
        return cls(
            api_client,
            namespace=namespace,
            context=picked,
            explicit_context=context is not None,
            backoff=backoff,
            **kwargs,
        )

    def __repr__(self) -> str:
        name = self.context.name if self.context else None
        return f"KubernetesBackend(context={name!r}, namespace={self.namespace!r})"

    def close(self) -> None:
        self.api.close()

    def error(self, message: str, status: int | None = None) -> ArgoServerError:
        return self.peer.error(message, status)

    # ------------------------------------------------------------------ plumbing
    def _secrets(self) -> list[str]:
        configuration = self.api.configuration
        found = [str(v) for v in (configuration.api_key or {}).values() if v]
        password = getattr(configuration, "password", None)
        return [*found, password] if password else found

    def _peer(self) -> Peer:
        ctx = self.context
        name = ctx.name if ctx else "?"
        user = ctx.user if ctx and ctx.user else "?"
        flag = self._context_flag
        braces = flag.replace("{", "{{").replace("}", "}}")
        return Peer(
            label="Kubernetes API server",
            address=self.api.configuration.host,
            address_hint=f"is the server of context {name!r} in the kubeconfig right?",
            reach_hint=f"is the cluster running and reachable (`kubectl{flag} cluster-info`)?",
            unauthorized=(
                f"the kubeconfig's credentials of context {name!r} (user {user!r}) were "
                "rejected (expired or revoked?): refresh them the way your cluster issues them "
                "(e.g. `gcloud container clusters get-credentials`, `aws eks "
                "update-kubeconfig`, `az aks get-credentials`, a new token), then check with "
                f"`kubectl{flag} auth whoami`"
            ),
            rbac_subject=f"The kubeconfig user {user!r} (context {name!r})",
            rbac_fix=(
                "ask for a Role (or ClusterRole) that grants it, and check with `kubectl"
                f"{braces} auth can-i {{verb}} {{resource}} -n {{namespace}}`"
            ),
            tls_hint=(
                "Fix certificate-authority / certificate-authority-data of the cluster of "
                f"context {name!r} in the kubeconfig (insecure-skip-tls-verify: true turns "
                "verification off: insecure, the credentials go to whoever answers)"
            ),
            plain_http_hint="if so use an http:// server URL in the kubeconfig",
            https_hint="use an https:// server URL in the kubeconfig",
            check_hint=(
                f"check with `kubectl{flag} -n {self.namespace} get workflows` before trying again"
            ),
            secrets=self._secrets,
        )

    def _path(self, plural: str, name: str | None = None) -> str:
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{self.namespace}/{plural}"
        return f"{base}/{name}" if name else base

    def _call(self, action: str, kind: Kind, name: str | None, verb: str, **kw: Any) -> Call:
        return Call(action, kind.name, name, self.namespace, verb, kind.resource, **kw)

    def _send(
        self,
        call: Call,
        method: str,
        path: str,
        operation: Callable[..., Any],
        *args: Any,
        read_timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run one client operation; the raw (streamed) urllib3 answer, or the plugin's error."""
        from kubernetes.client.exceptions import ApiException
        from kubernetes.config import ConfigException

        kwargs["_preload_content"] = False
        kwargs["_request_timeout"] = (self.timeout, read_timeout or self.timeout)
        log.debug("Kubernetes API request: %s %s", method, path)
        try:
            return operation(*args, **kwargs)
        except ApiException as exc:
            if not exc.status:  # the client's own wrapping of a TLS failure
                raise self._tls_error(str(exc.reason or exc)) from None
            raise self._status_error(call, exc, path) from None
        except ConfigException as exc:  # refreshing the credentials (exec plugin) failed
            raise self.error(
                f"Cannot refresh the kubeconfig's credentials: {failures.one_line(exc, 300)}"
            ) from None
        except http.MaxRetryError as exc:
            raise self._transport_error(exc.reason or exc, call, method, path) from None
        except http.HTTPError as exc:
            raise self._transport_error(exc, call, method, path) from None

    def _status_error(self, call: Call, exc: Any, path: str) -> ArgoServerError:
        text = exc.body if isinstance(exc.body, str) else ""
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = None
        headers = getattr(exc, "headers", None) or {}
        ctype = headers.get("content-type", "") if hasattr(headers, "get") else ""
        return failures.status_error(
            self.peer, call, int(exc.status), body, text, content_type=ctype, path=path
        )

    def _tls_error(self, text: str) -> ArgoServerError:
        plain = "WRONG_VERSION_NUMBER" in text or "record layer" in text.lower()
        return failures.tls_failed(self.peer, failures.one_line(text, 200), plain_http=plain)

    def _transport_error(
        self, exc: BaseException, call: Call, method: str, path: str
    ) -> ArgoServerError:
        reason = failures.one_line(str(exc) or type(exc).__name__, 200)
        if isinstance(exc, http.SSLError) or "CERTIFICATE_VERIFY_FAILED" in reason:
            return self._tls_error(reason)
        if isinstance(exc, http.ReadTimeoutError):
            return failures.timed_out(
                self.peer, method, path, self.timeout, idempotent=call.idempotent
            )
        if isinstance(exc, (http.NewConnectionError, http.ConnectTimeoutError)):
            return failures.unreachable(self.peer, reason)
        return failures.connection_lost(self.peer, method, path, reason, idempotent=call.idempotent)

    def _json(self, response: Any) -> dict[str, Any]:
        try:
            data = json.loads(response.data or b"{}")
        except ValueError:
            raise self.error(
                f"Kubernetes API server at {self.peer.address} answered with non-JSON content"
            ) from None
        finally:
            response.release_conn()
        return data if isinstance(data, dict) else {}

    # ------------------------------------------------------------------ primitives
    def create(self, kind: Kind, manifest: Mapping[str, Any], *, dry_run: bool = False) -> dict:
        meta = manifest.get("metadata") or {}
        name = meta.get("name") or meta.get("generateName")
        call = self._call("create", kind, name, "create", idempotent=dry_run)
        return self._json(
            self._send(
                call,
                "POST",
                self._path(kind.plural),
                self.custom.create_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                kind.plural,
                dict(manifest),
                field_validation="Strict",
                dry_run="All" if dry_run else None,
            )
        )

    def _get(self, kind: Kind, name: str) -> dict:
        return self._json(
            self._send(
                self._call("get", kind, name, "get"),
                "GET",
                self._path(kind.plural, name),
                self.custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                kind.plural,
                name,
            )
        )

    def current_version(self, kind: Kind, name: str) -> str | None:
        return (self._get(kind, name).get("metadata") or {}).get("resourceVersion")

    def replace(self, kind: Kind, manifest: Mapping[str, Any]) -> dict:
        name = (manifest.get("metadata") or {}).get("name") or ""
        return self._json(
            self._send(
                self._call("update", kind, name, "update"),
                "PUT",
                self._path(kind.plural, name),
                self.custom.replace_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                kind.plural,
                name,
                dict(manifest),
                field_validation="Strict",
            )
        )

    def workflow_events(
        self, name: str, since: str | None, read_timeout: float
    ) -> Iterator[dict[str, Any]]:
        """The watch API on one workflow, changes after version ``since``; the server ends it
        after ``read_timeout`` seconds (``timeoutSeconds``)."""
        kind = KINDS["Workflow"]
        seconds = max(1, math.ceil(read_timeout))
        response = self._send(
            self._call("watch", kind, name, "watch"),
            "GET",
            self._path(kind.plural) + "?watch=true",
            self.custom.list_namespaced_custom_object,
            GROUP,
            VERSION,
            self.namespace,
            kind.plural,
            watch=True,
            field_selector=f"metadata.name={name}",
            resource_version=since,
            timeout_seconds=seconds,
            allow_watch_bookmarks=True,
            read_timeout=seconds + _WATCH_GRACE,
        )
        try:
            for line in _lines(response):
                try:
                    event = json.loads(line)
                except ValueError:
                    raise StreamFailed(
                        f"unexpected data in the watch: {failures.one_line(line, 120)!r}"
                    ) from None
                kind_of_event = event.get("type") if isinstance(event, dict) else None
                if kind_of_event == "ERROR":  # e.g. 410 Gone: the version is too old
                    status = event.get("object") or {}
                    raise StreamFailed(f"{status.get('code')}: {status.get('message')}")
                if kind_of_event in ("ADDED", "MODIFIED", "DELETED"):
                    yield event
        except http.ReadTimeoutError:
            raise StreamIdle() from None
        except http.HTTPError as exc:
            raise StreamFailed(f"the watch broke ({type(exc).__name__})") from None
        finally:
            response.close()  # mid-stream: the connection cannot serve another request
            response.release_conn()

    # ------------------------------------------------------------------ the Backend interface
    def create_workflow(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> dict:
        """Create a Workflow (``generateName`` works); ``dry_run``: the API server's dry run
        (schema checks only), nothing stored. Never sent twice."""
        return self.create(KINDS["Workflow"], manifest, dry_run=dry_run)

    def get_workflow(self, name: str) -> dict:
        workflow = self._get(KINDS["Workflow"], name)
        status = workflow.get("status") or {}
        if status.get("offloadNodeStatusVersion") and not status.get("nodes"):
            log.warning(
                "Workflow %s keeps its node status in Argo's database (offloaded): only the "
                "Argo Server can read its steps",
                name,
            )
        return workflow

    def list(self, kind: str, label_selector: str | None = None) -> list[dict]:
        k = self.kind_of(kind)
        data = self._json(
            self._send(
                self._call("list", k, None, "list"),
                "GET",
                self._path(k.plural),
                self.custom.list_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                k.plural,
                label_selector=label_selector or None,
            )
        )
        return list(data.get("items") or [])

    def delete(self, kind: str, name: str) -> None:
        k = self.kind_of(kind)
        self._json(
            self._send(
                self._call("delete", k, name, "delete"),
                "DELETE",
                self._path(k.plural, name),
                self.custom.delete_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                k.plural,
                name,
            )
        )

    def workflow_pods(self, name: str) -> list[str]:
        """The workflow's pods (label ``workflows.argoproj.io/workflow``), oldest first."""
        path = f"/api/v1/namespaces/{self.namespace}/pods"
        call = Call("list", "Pod", None, self.namespace, "list", "pods")
        data = self._json(
            self._send(
                call,
                "GET",
                path,
                self.core.list_namespaced_pod,
                self.namespace,
                label_selector=f"{WORKFLOW_LABEL}={name}",
            )
        )
        pods = [p for p in data.get("items") or [] if (p.get("metadata") or {}).get("name")]

        def started(pod: dict[str, Any]) -> tuple[str, str]:
            status, metadata = pod.get("status") or {}, pod["metadata"]
            begun = status.get("startTime") or metadata.get("creationTimestamp") or ""
            return begun, metadata["name"]

        pods.sort(key=started)
        return [p["metadata"]["name"] for p in pods]

    def pod_log(self, pod: str) -> list[str]:
        """The ``main`` container's log of one pod, as lines."""
        path = f"/api/v1/namespaces/{self.namespace}/pods/{pod}/log"
        call = Call("get logs of", "Pod", pod, self.namespace, "get", "pods/log")
        try:
            response = self._send(
                call,
                "GET",
                path,
                self.core.read_namespaced_pod_log,
                pod,
                self.namespace,
                container=MAIN_CONTAINER,
            )
        except ArgoServerError as exc:
            if exc.status == 404:
                raise self.error(
                    f"{exc}; the pod is gone (pods are deleted by Argo's podGC or the cluster; "
                    "the Argo Server can serve archived logs)",
                    404,
                ) from None
            raise
        try:
            return response.data.decode("utf-8", "replace").splitlines()
        finally:
            response.release_conn()

    def workflow_logs(self, name: str, pod: str | None = None) -> Iterator[str]:
        """One pod's log, or every pod's (a pod not started yet is skipped, with a note in
        the log)."""
        if pod:
            yield from self.pod_log(pod)
            return
        self.get_workflow(name)  # an unknown workflow is an error, not an empty log
        for each in self.workflow_pods(name):
            try:
                lines = self.pod_log(each)
            except ArgoServerError as exc:
                if exc.status != 400:  # 400: its container is still waiting to start
                    raise
                log.warning("No log of pod %s yet: %s", each, exc)
                continue
            yield from lines

    def retry_workflow(self, name: str) -> dict:
        raise self.error(
            "Resuming a workflow is Argo's retry, which the Argo Server performs (the Kubernetes "
            "API has no such operation): set ARGO_SERVER=host:port or server.url in argo.yml, "
            f"or run `argo retry {name}` (the argo CLI does it through the kubeconfig)"
        )

    def ui_url(self, name: str | None = None) -> str:
        raise self.error(
            "The Argo UI needs the Argo Server, and kubeconfig mode talks to the Kubernetes "
            "API: set ARGO_SERVER=host:port (e.g. localhost:2746 after `kubectl -n argo "
            "port-forward svc/argo-server 2746:2746`) or server.url in argo.yml"
        )

    def artifact_url(self, name: str, node_id: str, artifact: str) -> str | None:
        return None  # served by the Argo Server only: its key in the repository is shown

    def link(self, name: str) -> str:
        return f"kubectl{self._context_flag} -n {self.namespace} get workflow {name}"
