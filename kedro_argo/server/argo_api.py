"""The Argo Server's REST API (``/api/v1``): the endpoints the commands use, over plain dicts.

Manifests go to the server exactly as given and answers come back exactly as received: there
is no model layer that could drop fields Argo knows and we do not. Connection settings follow
the ``argo`` CLI conventions (``ARGO_SERVER``, ``ARGO_TOKEN``, ``ARGO_NAMESPACE``,
``ARGO_SECURE``, ``ARGO_INSECURE_SKIP_VERIFY``, ``ARGO_BASE_HREF``, ``ARGO_HTTP1``); see
:meth:`ConnectionSettings.from_env`.

Transient failures are retried by :class:`~kedro_argo.server.transport.RetryTransport` (a
create is never sent twice); every failure becomes one line through
:mod:`kedro_argo.server.failures`; the token never appears in a ``repr``, an error or a log
record. Watching reads ``/workflow-events`` (server-sent events or NDJSON) through
:mod:`kedro_argo.server.watch`, which polls when the stream is unavailable.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from kedro_argo import __version__
from kedro_argo.errors import ArgoServerError
from kedro_argo.server import failures
from kedro_argo.server.backend import KINDS, Kind, ObjectsBase
from kedro_argo.server.failures import Call, Peer
from kedro_argo.server.transport import IDEMPOTENT, RetryTransport, proxy_for, tls_failure
from kedro_argo.server.watch import StreamFailed, StreamIdle, StreamUnsupported

log = logging.getLogger(__name__)

__all__ = ["ArgoServerBackend", "ConnectionSettings"]

DEFAULT_NAMESPACE = "argo"
_TRUE = {"1", "t", "true", "y", "yes", "on"}
_FALSE = {"0", "f", "false", "n", "no", "off"}
_UNSUPPORTED = frozenset({404, 405, 501})

TOKEN_HELP = (
    'set ARGO_TOKEN, e.g. export ARGO_TOKEN="Bearer $(kubectl create token <service-account> '
    '-n <namespace>)" or export ARGO_TOKEN="$(argo auth token)"'
)
SERVER_HELP = (
    "is ARGO_SERVER right? is the server running / port-forwarded "
    "(kubectl -n argo port-forward svc/argo-server 2746:2746)?"
)
NO_SERVER = (
    "No Argo Server configured: set ARGO_SERVER=host:port (e.g. localhost:2746) or server.url "
    "in argo.yml"
)


# ----------------------------------------------------------------------------- settings
def _parse_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ArgoServerError(f"{name} must be true or false, not {raw.strip()!r}")


def _normalise_token(raw: str | None) -> str | None:
    """The ``Authorization`` header value: ``Bearer `` is added when no scheme word is given."""
    if raw is None:
        return None
    token = raw.strip()
    if not token:
        return None
    # A header value is "<scheme> <credentials>"; bare tokens (JWTs, argo's v2:...) hold no
    # whitespace, so whitespace means the scheme word (Bearer, Basic, ...) is already there.
    if re.match(r"^[A-Za-z][A-Za-z0-9._-]*\s+\S", token):
        return token
    return f"Bearer {token}"


def _normalise_href(raw: str | None) -> str:
    href = (raw or "").strip().strip("/")
    return f"/{href}" if href else ""


@dataclass(frozen=True)
class ConnectionSettings:
    """Where the Argo Server is and how to talk to it.

    ``server`` is ``host:port`` (the ``argo`` CLI convention) or a URL whose scheme is then
    honoured over ``secure``. ``token`` is the full ``Authorization`` header value.
    """

    server: str
    namespace: str = DEFAULT_NAMESPACE
    token: str | None = None
    secure: bool = True
    insecure_skip_verify: bool = False
    base_href: str = ""
    http1: bool = True

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        server: str | None = None,
        namespace: str | None = None,
    ) -> ConnectionSettings:
        """Settings from ``ARGO_*`` variables; explicit arguments (argo.yml, CLI) beat them.

        Precedence: ``server``/``namespace`` arguments > ``ARGO_SERVER``/``ARGO_NAMESPACE`` >
        (namespace only) ``"argo"``. The token comes from ``ARGO_TOKEN`` only, never from a
        config file or the command line.
        """
        env = os.environ if env is None else env
        server = (server or "").strip() or (env.get("ARGO_SERVER") or "").strip()
        if not server:
            raise ArgoServerError(NO_SERVER)
        namespace = (
            (namespace or "").strip()
            or (env.get("ARGO_NAMESPACE") or "").strip()
            or DEFAULT_NAMESPACE
        )
        return cls(
            server=server,
            namespace=namespace,
            token=_normalise_token(env.get("ARGO_TOKEN")),
            secure=_parse_bool(env, "ARGO_SECURE", True),
            insecure_skip_verify=_parse_bool(env, "ARGO_INSECURE_SKIP_VERIFY", False),
            base_href=_normalise_href(env.get("ARGO_BASE_HREF")),
            http1=_parse_bool(env, "ARGO_HTTP1", True),
        )

    def __post_init__(self) -> None:
        if "://" in self.server:
            parts = urlsplit(self.server)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ArgoServerError(
                    f"ARGO_SERVER must be host:port or an http(s):// URL, not {self.server!r}"
                )

    @property
    def scheme(self) -> str:
        if "://" in self.server:
            return urlsplit(self.server).scheme
        return "https" if self.secure else "http"

    @property
    def host(self) -> str:
        """``host:port`` as given (for messages)."""
        if "://" in self.server:
            return urlsplit(self.server).netloc
        return self.server.strip("/")

    @property
    def base_url(self) -> str:
        """``http(s)://host:port[/base-href]``, no trailing slash."""
        path = ""
        if "://" in self.server:
            path = urlsplit(self.server).path.rstrip("/")
        return f"{self.scheme}://{self.host}{path}{_normalise_href(self.base_href)}"

    def __repr__(self) -> str:
        return (
            f"ConnectionSettings(server={self.server!r}, namespace={self.namespace!r}, "
            f"token={'<set>' if self.token else None}, secure={self.secure}, "
            f"insecure_skip_verify={self.insecure_skip_verify}, base_href={self.base_href!r})"
        )

    __str__ = __repr__


def peer(settings: ConnectionSettings) -> Peer:
    """The Argo Server as failure messages describe it."""
    token_state = (
        "the token in ARGO_TOKEN was rejected (expired or wrong?)"
        if settings.token
        else "ARGO_TOKEN is not set"
    )
    return Peer(
        label="Argo Server",
        address=settings.host,
        address_hint="is ARGO_SERVER / ARGO_BASE_HREF right?",
        reach_hint=SERVER_HELP,
        unauthorized=f"{token_state}; {TOKEN_HELP}",
        rbac_subject="The service account behind ARGO_TOKEN",
        rbac_fix=f"use another namespace or token ({TOKEN_HELP})",
        tls_hint=(
            "Fix the CA (install the server's CA certificate, e.g. SSL_CERT_FILE) or set "
            "ARGO_INSECURE_SKIP_VERIFY=true (insecure: the token is sent to whoever answers)"
        ),
        plain_http_hint="if so set ARGO_SECURE=false",
        https_hint="unset ARGO_SECURE=false",
        check_hint="check with `argo list` before trying again",
        secrets=lambda: [settings.token] if settings.token else [],
    )


# ----------------------------------------------------------------------------- streams
class _StreamFailure(Exception):
    """The event stream broke or sent an error line (internal)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def iter_messages(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """JSON messages from NDJSON lines or server-sent events (``data:``, ``:`` comments)."""
    data: list[str] = []

    def flush() -> Iterator[dict[str, Any]]:
        if data:
            text = "\n".join(data)
            data.clear()
            yield _decode_message(text)

    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line.strip():
            yield from flush()
            continue
        if line.startswith(":"):  # SSE comment / keep-alive
            continue
        field, sep, value = line.partition(":")
        if sep and field in ("data", "event", "id", "retry"):
            if field == "data":
                data.append(value[1:] if value.startswith(" ") else value)
            continue
        yield from flush()
        yield _decode_message(line)
    yield from flush()


def _decode_message(text: str) -> dict[str, Any]:
    try:
        msg = json.loads(text)
    except ValueError as exc:
        raise _StreamFailure(
            f"unexpected data in stream: {failures.one_line(text, 120)!r}"
        ) from exc
    if not isinstance(msg, dict):
        raise _StreamFailure(f"unexpected data in stream: {failures.one_line(text, 120)!r}")
    return msg


# ----------------------------------------------------------------------------- backend
class ArgoServerBackend(ObjectsBase):
    """The Argo Server REST API; all methods take and return plain dicts.

    ``timeout`` bounds every request (connect, read, write); streams use ``stream_timeout`` as
    the longest silence before the watch re-checks the workflow. ``retries`` bounds the retries
    of transient failures (:mod:`kedro_argo.server.transport`). ``transport`` and ``verify`` (an
    ``ssl.SSLContext`` or a CA bundle path) are for tests and unusual setups; by default TLS is
    verified unless ``ARGO_INSECURE_SKIP_VERIFY`` is true. With ``trust_env`` (default),
    ``HTTPS_PROXY``/``NO_PROXY`` and ``SSL_CERT_FILE``/``SSL_CERT_DIR`` apply, as for the
    ``argo`` CLI.
    """

    stream_format = "sse"
    """What streams ask for: ``"sse"`` (``Accept: text/event-stream``; keep-alives every 15 s
    keep proxies from closing idle connections) or ``"ndjson"``. Both are parsed either way."""

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        backoff: float = 0.5,
        stream_timeout: float = 60.0,
        verify: Any = None,
        trust_env: bool = True,
    ) -> None:
        self.settings = settings
        self.namespace = settings.namespace
        self.timeout = float(timeout)
        self.backoff = max(0.0, float(backoff))
        self.stream_timeout = float(stream_timeout)
        self.base_url = settings.base_url
        self.peer = peer(settings)
        headers = {"Accept": "application/json", "User-Agent": f"kedro-argo/{__version__}"}
        if settings.token:
            headers["Authorization"] = settings.token
        if transport is None:
            if verify is None:
                verify = not settings.insecure_skip_verify
            proxy = proxy_for(self.base_url) if trust_env else None
            transport = httpx.HTTPTransport(verify=verify, trust_env=trust_env, proxy=proxy)
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(self.timeout),
            transport=RetryTransport(transport, retries=retries, backoff=self.backoff),
            follow_redirects=False,
            trust_env=False,  # proxies and CA settings are the transport's (above)
        )

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        server: str | None = None,
        namespace: str | None = None,
        **kwargs: Any,
    ) -> ArgoServerBackend:
        return cls(ConnectionSettings.from_env(env, server=server, namespace=namespace), **kwargs)

    def __repr__(self) -> str:
        return f"ArgoServerBackend(base_url={self.base_url!r}, namespace={self.namespace!r})"

    def close(self) -> None:
        self._http.close()

    def error(self, message: str, status: int | None = None) -> ArgoServerError:
        return self.peer.error(message, status)

    # ------------------------------------------------------------------ plumbing
    def _path(self, *parts: str) -> str:
        return "/api/v1/" + "/".join(quote(p, safe="") for p in parts)

    def _call_of(
        self, action: str, kind: str, name: str | None, verb: str, idempotent: bool
    ) -> Call:
        resource = KINDS[kind].resource if kind in KINDS else kind
        return Call(action, kind, name, self.namespace, verb, resource, idempotent)

    def _send(
        self,
        method: str,
        path: str,
        call: Call,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """Send one request (retried by the transport); raise the plugin's error on failure."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        content = None
        hdrs = dict(headers or {})
        if body is not None:
            content = json.dumps(body, separators=(",", ":")).encode()
            hdrs["Content-Type"] = "application/json"
        log.debug("Argo Server request: %s %s", method, path)
        request = self._http.build_request(
            method,
            path,
            params=params,
            content=content,
            headers=hdrs,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            extensions={IDEMPOTENT: call.idempotent},
        )
        try:
            response = self._http.send(request, stream=stream)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, method, path, call.idempotent) from None
        if response.status_code < 400:
            return response
        if stream:
            response.read()
            response.close()
        try:
            data: Any = response.json()
        except ValueError:
            data = None
        raise failures.status_error(
            self.peer,
            call,
            response.status_code,
            data,
            response.text if data is None else "",
            content_type=response.headers.get("content-type", ""),
            path=response.request.url.path,
        )

    def _transport_error(
        self, exc: httpx.HTTPError, method: str, path: str, idempotent: bool
    ) -> ArgoServerError:
        tls = tls_failure(exc) if isinstance(exc, httpx.ConnectError) else None
        if tls is not None:
            text = str(tls)
            plain = "WRONG_VERSION_NUMBER" in text or "record layer" in text.lower()
            reason = failures.one_line(getattr(tls, "reason", None) or tls, 200)
            return failures.tls_failed(self.peer, reason, plain_http=plain)
        reason = failures.one_line(str(exc) or type(exc).__name__, 200)
        if isinstance(exc, httpx.TimeoutException) and not isinstance(
            exc, (httpx.ConnectTimeout, httpx.PoolTimeout)
        ):
            return failures.timed_out(self.peer, method, path, self.timeout, idempotent=idempotent)
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            return failures.unreachable(self.peer, reason)
        return failures.connection_lost(self.peer, method, path, reason, idempotent=idempotent)

    def _call(self, method: str, path: str, call: Call, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, path, call, **kwargs)
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            ctype = response.headers.get("content-type", "?")
            raise self.error(
                f"Argo Server at {self.settings.host} answered {method} {path} with non-JSON "
                f"content ({ctype}); is ARGO_SERVER / ARGO_BASE_HREF right?",
                response.status_code,
            ) from None
        return data if isinstance(data, dict) else {"result": data}

    def _open_stream(
        self, path: str, params: Mapping[str, Any], call: Call, read_timeout: float
    ) -> httpx.Response:
        accept = "text/event-stream" if self.stream_format == "sse" else "application/json"
        timeout = httpx.Timeout(self.timeout, read=max(read_timeout, 0.05))
        return self._send(
            "GET",
            path,
            call,
            params=params,
            headers={"Accept": accept},
            stream=True,
            timeout=timeout,
        )

    def _stream_results(self, response: httpx.Response) -> Iterator[dict[str, Any]]:
        """The ``result`` of each message; ``{"error": ...}`` lines raise ``_StreamFailure``."""
        ctype = response.headers.get("content-type", "")
        if "text/html" in ctype:
            raise _StreamFailure(f"stream answered with {ctype}", 501)
        for msg in iter_messages(response.iter_lines()):
            if msg.get("error"):
                err = msg["error"]
                status = err.get("http_code") if isinstance(err, dict) else None
                if isinstance(err, dict) and err.get("grpc_code") == 12:  # Unimplemented
                    status = 501
                raise _StreamFailure(failures.server_message(msg, json.dumps(err)), status)
            result = msg.get("result")
            if isinstance(result, dict):
                yield result

    # ------------------------------------------------------------------ primitives
    def create(self, kind: Kind, manifest: Mapping[str, Any], *, dry_run: bool = False) -> dict:
        body: dict[str, Any] = {"namespace": self.namespace, kind.body_key: manifest}
        if dry_run:
            body["createOptions"] = {"dryRun": ["All"]}
        meta = manifest.get("metadata") or {}
        name = meta.get("name") or meta.get("generateName")
        return self._call(
            "POST",
            self._path(kind.segment, self.namespace),
            self._call_of("create", kind.name, name, "create", idempotent=dry_run),
            body=body,
        )

    def current_version(self, kind: Kind, name: str) -> str | None:
        found = self._call(
            "GET",
            self._path(kind.segment, self.namespace, name),
            self._call_of("get", kind.name, name, "get", idempotent=True),
            params={"fields": "metadata.name,metadata.resourceVersion"},
        )
        return (found.get("metadata") or {}).get("resourceVersion")

    def replace(self, kind: Kind, manifest: Mapping[str, Any]) -> dict:
        name = (manifest.get("metadata") or {}).get("name") or ""
        return self._call(
            "PUT",
            self._path(kind.segment, self.namespace, name),
            self._call_of("update", kind.name, name, "update", idempotent=True),
            body={"namespace": self.namespace, "name": name, kind.body_key: manifest},
        )

    def workflow_events(
        self, name: str, since: str | None, read_timeout: float
    ) -> Iterator[dict[str, Any]]:
        """The ``/workflow-events`` stream of one workflow (from its current state: the Argo
        Server sends it first, so ``since`` is not needed)."""
        response = self._open_stream(
            self._path("workflow-events", self.namespace),
            {"listOptions.fieldSelector": f"metadata.name={name}"},
            self._call_of("watch", "Workflow", name, "watch", idempotent=True),
            read_timeout,
        )
        try:
            yield from self._stream_results(response)
        except httpx.ReadTimeout:
            raise StreamIdle() from None
        except _StreamFailure as exc:
            if exc.status in _UNSUPPORTED:
                raise StreamUnsupported(str(exc)) from None
            raise StreamFailed(str(exc)) from None
        except httpx.HTTPError as exc:
            raise StreamFailed(f"the stream broke ({type(exc).__name__})") from None
        finally:
            response.close()

    # ------------------------------------------------------------------ the Backend interface
    def create_workflow(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> dict:
        """Create a Workflow; ``dry_run``: validated by Argo, not stored. Never sent twice
        after it may have reached the server (it would start twice)."""
        return self.create(KINDS["Workflow"], manifest, dry_run=dry_run)

    def get_workflow(self, name: str) -> dict:
        return self._call(
            "GET",
            self._path("workflows", self.namespace, name),
            self._call_of("get", "Workflow", name, "get", idempotent=True),
        )

    def retry_workflow(self, name: str) -> dict:
        """Argo's retry of a Failed / Error workflow: its succeeded pods are kept, the rest run
        again in the same workflow (same uid, so the same run prefix of the data root)."""
        return self._call(
            "PUT",
            self._path("workflows", self.namespace, name, "retry"),
            self._call_of("retry", "Workflow", name, "update", idempotent=False),
            body={"name": name, "namespace": self.namespace, "restartSuccessful": False},
        )

    def list(self, kind: str, label_selector: str | None = None) -> list[dict]:
        k = self.kind_of(kind)
        data = self._call(
            "GET",
            self._path(k.segment, self.namespace),
            self._call_of("list", k.name, None, "list", idempotent=True),
            params={"listOptions.labelSelector": label_selector or None},
        )
        return list(data.get("items") or [])  # Argo answers `"items": null` for an empty list

    def delete(self, kind: str, name: str) -> None:
        k = self.kind_of(kind)
        self._call(
            "DELETE",
            self._path(k.segment, self.namespace, name),
            self._call_of("delete", k.name, name, "delete", idempotent=True),
        )

    def workflow_logs(self, name: str, pod: str | None = None) -> Iterator[str]:
        """Log lines (``content``) of one pod's ``main`` container, or of every pod's."""
        parts = ["workflows", self.namespace, name]
        if pod:
            parts.append(pod)
        call = self._call_of("get logs of", "Workflow", name, "get", idempotent=True)
        try:
            response = self._open_stream(
                self._path(*parts, "log"),
                {"logOptions.container": "main"},
                call,
                self.stream_timeout,
            )
            try:
                for entry in self._stream_results(response):
                    yield str(entry.get("content", ""))
            finally:
                response.close()
        except _StreamFailure as exc:
            raise self.error(
                f"Cannot read the logs of Workflow {name!r}: {exc}", exc.status
            ) from None
        except httpx.HTTPError as exc:
            raise self.error(
                f"Log stream of Workflow {name!r} from the Argo Server at {self.settings.host} "
                f"broke ({failures.one_line(str(exc) or type(exc).__name__, 200)})"
            ) from None

    def ui_url(self, name: str | None = None) -> str:
        """The Argo UI page of a workflow, or of the namespace's workflow list."""
        url = f"{self.base_url}/workflows/{quote(self.namespace, safe='')}"
        return f"{url}/{quote(name, safe='')}" if name else url

    def link(self, name: str) -> str:
        return self.ui_url(name)

    def artifact_url(self, name: str, node_id: str, artifact: str) -> str | None:
        """Where the Argo Server serves an output artifact of a workflow's node."""
        parts = (self.namespace, "workflows", name, node_id, "outputs", artifact)
        return f"{self.base_url}/artifact-files/" + "/".join(quote(p, safe="") for p in parts)
