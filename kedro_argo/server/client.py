"""A thin client for the Argo Server REST API (``/api/v1``), over plain dicts.

Manifests go to the server exactly as given and answers come back exactly as received: there
is no model layer that could drop fields Argo knows and we do not. Connection settings follow
the ``argo`` CLI conventions (``ARGO_SERVER``, ``ARGO_TOKEN``, ``ARGO_NAMESPACE``,
``ARGO_SECURE``, ``ARGO_INSECURE_SKIP_VERIFY``, ``ARGO_BASE_HREF``, ``ARGO_HTTP1``); see
:meth:`ConnectionSettings.from_env`.

Every failure becomes an :class:`~kedro_argo.errors.ArgoServerError` with one line that says
what went wrong and what to do. The token never appears in a ``repr``, an error or a log record.

Retry rule
----------
Only *transient* failures are retried, at most ``retries`` times, with exponential backoff
(``backoff * 2**attempt``, capped, honouring ``Retry-After``):

* A failure to *connect* (refused, DNS, connect timeout, no pooled connection): nothing reached
  the server, so every request may be retried, creates included.
* A failure *after the request was sent* (connection dropped, HTTP 429/502/503/504): retried
  only for idempotent requests: GET, PUT (update, stop, terminate, suspend, resume), DELETE,
  lint and dry-run POSTs. A create, a submit, a resubmit or a retry of a workflow is never sent
  twice: the first attempt may have taken effect, and a second one would start a duplicate
  run. The error then says so, and to check with ``argo list`` before trying again.
* Read timeouts are not retried (the caller already waited ``timeout`` seconds); TLS
  verification failures and every other HTTP status are not transient.

Watching
--------
:meth:`ArgoClient.watch_workflow` reads ``/workflow-events`` (NDJSON or server-sent events) and
falls back to polling :meth:`ArgoClient.get_workflow` every ``poll_interval`` seconds when the
stream is unsupported (404/405/501, an HTML page) or keeps failing. After any interruption of
the stream it re-reads the workflow once, so no final phase is missed.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from kedro_argo import __version__
from kedro_argo.errors import ArgoServerError

log = logging.getLogger(__name__)

__all__ = [
    "FINAL_PHASES",
    "ArgoClient",
    "ConnectionSettings",
]

FINAL_PHASES = frozenset({"Succeeded", "Failed", "Error"})
"""``status.phase`` values after which a workflow never changes phase again."""

DEFAULT_NAMESPACE = "argo"
_TRUE = {"1", "t", "true", "y", "yes", "on"}
_FALSE = {"0", "f", "false", "n", "no", "off"}
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_STREAM_UNSUPPORTED = frozenset({404, 405, 501})
_MAX_BACKOFF = 8.0
_MAX_RETRY_AFTER = 30.0

# kind -> (path segment, request-body key)
_KINDS: dict[str, tuple[str, str]] = {
    "Workflow": ("workflows", "workflow"),
    "WorkflowTemplate": ("workflow-templates", "template"),
    "CronWorkflow": ("cron-workflows", "cronWorkflow"),
}
_SUBMIT_KINDS = {
    "workflowtemplate": "WorkflowTemplate",
    "workflowtemplates": "WorkflowTemplate",
    "wftmpl": "WorkflowTemplate",
    "clusterworkflowtemplate": "ClusterWorkflowTemplate",
    "clusterworkflowtemplates": "ClusterWorkflowTemplate",
    "cwftmpl": "ClusterWorkflowTemplate",
    "cronworkflow": "CronWorkflow",
    "cronworkflows": "CronWorkflow",
    "cronwf": "CronWorkflow",
    "cwf": "CronWorkflow",
}

_TOKEN_HELP = (
    'set ARGO_TOKEN, e.g. export ARGO_TOKEN="Bearer $(kubectl create token <service-account> '
    '-n <namespace>)" or export ARGO_TOKEN="$(argo auth token)"'
)
_SERVER_HELP = (
    "is ARGO_SERVER right? is the server running / port-forwarded "
    "(kubectl -n argo port-forward svc/argo-server 2746:2746)?"
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
            raise ArgoServerError(
                "No Argo Server configured: set ARGO_SERVER=host:port (e.g. localhost:2746) "
                "or server.url in argo.yml"
            )
        namespace = (
            (namespace or "").strip()
            or (env.get("ARGO_NAMESPACE") or "").strip()
            or DEFAULT_NAMESPACE
        )
        secure = _parse_bool(env, "ARGO_SECURE", True)
        skip_verify = _parse_bool(env, "ARGO_INSECURE_SKIP_VERIFY", False)
        http1 = _parse_bool(env, "ARGO_HTTP1", True)
        return cls(
            server=server,
            namespace=namespace,
            token=_normalise_token(env.get("ARGO_TOKEN")),
            secure=secure,
            insecure_skip_verify=skip_verify,
            base_href=_normalise_href(env.get("ARGO_BASE_HREF")),
            http1=http1,
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


# ----------------------------------------------------------------------------- helpers
class _StreamFailure(Exception):
    """The event stream broke or sent an error line (internal)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _one_line(text: Any, limit: int = 500) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _param_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _params(parameters: Mapping[str, Any] | Iterable[str] | None) -> list[str] | None:
    if parameters is None:
        return None
    if isinstance(parameters, Mapping):
        return [f"{k}={_param_value(v)}" for k, v in parameters.items()]
    return [str(p) for p in parameters]


def _labels(labels: Mapping[str, str] | str | None) -> str | None:
    if labels is None or isinstance(labels, str):
        return labels or None
    return ",".join(f"{k}={v}" for k, v in labels.items()) or None


def _fields(fields: str | Iterable[str] | None) -> str | None:
    if fields is None or isinstance(fields, str):
        return fields or None
    return ",".join(fields) or None


def _rv(obj: Mapping[str, Any] | None) -> str | None:
    return ((obj or {}).get("metadata") or {}).get("resourceVersion")


def _phase(obj: Mapping[str, Any] | None) -> str:
    return ((obj or {}).get("status") or {}).get("phase") or ""


def _error_message(body: Any, text: str) -> str:
    """Argo's own message from an error body (``{"code", "message"}`` or ``{"error": ...}``)."""
    if isinstance(body, dict):
        err = body.get("error") if isinstance(body.get("error"), dict) else body
        for key in ("message", "error", "details"):
            if isinstance(err.get(key), str) and err[key].strip():
                return err[key]
    return text.strip() or "(empty answer)"


def _tls_failure(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLError):
            return cur
        cur = cur.__cause__ or cur.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
        return ssl.SSLError(text)
    return None


def _iter_messages(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
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
        raise _StreamFailure(f"unexpected data in stream: {_one_line(text, 120)!r}") from exc
    if not isinstance(msg, dict):
        raise _StreamFailure(f"unexpected data in stream: {_one_line(text, 120)!r}")
    return msg


# ----------------------------------------------------------------------------- client
class ArgoClient:
    """Argo Server REST client; all methods take and return plain dicts.

    ``timeout`` bounds every request (connect, read, write); streams use ``stream_timeout`` as
    the longest silence before the watch re-checks the workflow. ``retries`` bounds the retries
    of transient failures (see the module docstring for which requests are retried).
    ``transport`` and ``verify`` (an ``ssl.SSLContext`` or a CA bundle path) are for tests and
    unusual setups; by default TLS is verified unless ``ARGO_INSECURE_SKIP_VERIFY`` is true.
    With ``trust_env`` (default), ``HTTPS_PROXY``/``NO_PROXY`` and ``SSL_CERT_FILE``/
    ``SSL_CERT_DIR`` apply, as for the ``argo`` CLI.
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
        verify: ssl.SSLContext | str | bool | None = None,
        trust_env: bool = True,
    ) -> None:
        self.settings = settings
        self.namespace = settings.namespace
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.backoff = max(0.0, float(backoff))
        self.stream_timeout = float(stream_timeout)
        self.base_url = settings.base_url
        headers = {
            "Accept": "application/json",
            "User-Agent": f"kedro-argo/{__version__}",
        }
        if settings.token:
            headers["Authorization"] = settings.token
        if verify is None:
            verify = not settings.insecure_skip_verify
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(self.timeout),
            verify=verify,
            transport=transport,
            follow_redirects=False,
            trust_env=trust_env,
        )
        self._secrets = [s for s in self._secret_forms(settings.token) if s]

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        server: str | None = None,
        namespace: str | None = None,
        **kwargs: Any,
    ) -> ArgoClient:
        return cls(ConnectionSettings.from_env(env, server=server, namespace=namespace), **kwargs)

    def __repr__(self) -> str:
        return f"ArgoClient(base_url={self.base_url!r}, namespace={self.namespace!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ArgoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing
    @staticmethod
    def _secret_forms(token: str | None) -> list[str]:
        if not token:
            return []
        forms = [token]
        parts = token.split(None, 1)
        if len(parts) == 2 and len(parts[1]) >= 4:
            forms.append(parts[1])
        return forms

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _error(self, message: str, status: int | None = None) -> ArgoServerError:
        return ArgoServerError(self._scrub(_one_line(message, 3000)), status)

    def _path(self, *parts: str) -> str:
        return "/api/v1/" + "/".join(quote(p, safe="") for p in parts)

    @staticmethod
    def _what(kind: str, name: str | None) -> str:
        return f'{kind} "{name}"' if name else f"{kind}s"

    def _sleep_before_retry(self, attempt: int, response: httpx.Response | None) -> float:
        delay = min(_MAX_BACKOFF, self.backoff * (2**attempt))
        delay *= 1 + random.random() * 0.25  # jitter
        if response is not None:
            after = response.headers.get("Retry-After", "")
            if after.strip().isdigit():
                delay = max(delay, min(_MAX_RETRY_AFTER, float(after)))
        time.sleep(delay)
        return delay

    def _transport_error(
        self, exc: httpx.HTTPError, method: str, path: str, *, sent: bool, idempotent: bool
    ) -> ArgoServerError:
        host = self.settings.host
        tls = _tls_failure(exc) if isinstance(exc, httpx.ConnectError) else None
        if tls is not None:
            reason = _one_line(getattr(tls, "reason", None) or tls, 200)
            text = str(tls)
            if "WRONG_VERSION_NUMBER" in text or "record layer" in text.lower():
                return self._error(
                    f"TLS handshake with the Argo Server at {host} failed ({reason}): the server "
                    "may speak plain HTTP; if so set ARGO_SECURE=false"
                )
            return self._error(
                f"TLS certificate verification failed for the Argo Server at {host} ({reason}). "
                "Fix the CA (install the server's CA certificate, e.g. SSL_CERT_FILE) or set "
                "ARGO_INSECURE_SKIP_VERIFY=true (insecure: the token is sent to whoever answers)"
            )
        reason = _one_line(str(exc) or type(exc).__name__, 200)
        if isinstance(exc, httpx.TimeoutException) and not isinstance(
            exc, (httpx.ConnectTimeout, httpx.PoolTimeout)
        ):
            what = f"did not answer {method} {path} within {self.timeout:g} s (timeout)"
            if not idempotent:
                what += (
                    "; the request may or may not have taken effect: check with `argo list` "
                    "before trying again"
                )
            return self._error(f"Argo Server at {host} {what}")
        if not sent:
            return self._error(f"Cannot reach the Argo Server at {host} ({reason}); {_SERVER_HELP}")
        msg = f"Connection to the Argo Server at {host} failed during {method} {path} ({reason})"
        if not idempotent:
            msg += (
                "; the request may or may not have taken effect: check with `argo list` "
                "before trying again"
            )
        return self._error(msg)

    def _status_error(
        self,
        response: httpx.Response,
        *,
        kind: str,
        name: str | None,
        action: str,
        idempotent: bool = True,
    ) -> ArgoServerError:
        status = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        text = response.text if body is None else ""
        server_msg = _one_line(_error_message(body, text), 2000)
        ns = self.namespace
        what = self._what(kind, name)
        if status == 401:
            token_state = (
                "the token in ARGO_TOKEN was rejected (expired or wrong?)"
                if self.settings.token
                else "ARGO_TOKEN is not set"
            )
            msg = f"Argo Server refused to {action} {what} (401 Unauthorized): {token_state}; "
            msg += f"{_TOKEN_HELP} (server said: {server_msg})"
        elif status == 403:
            msg = (
                f"Argo Server refused to {action} {what} in namespace {ns!r} (403 Forbidden): "
                f"{server_msg}. The service account behind ARGO_TOKEN lacks RBAC permissions "
                f"there; use another namespace or token ({_TOKEN_HELP})"
            )
        elif status == 404:
            if body is None:
                msg = (
                    f"Argo Server at {self.settings.host} has no {response.request.url.path} "
                    f"(404: {server_msg}); is ARGO_SERVER / ARGO_BASE_HREF right?"
                )
            elif re.search(r'namespaces? "[^"]*" not found', server_msg):
                msg = f"Namespace {ns!r} not found on the Argo Server (404): {server_msg}"
            elif name and action not in ("create", "lint"):
                msg = f"{what} not found in namespace {ns!r} (404): {server_msg}"
            elif name:  # creating/linting: something the manifest refers to is missing
                msg = f"Cannot {action} {what} in namespace {ns!r} (404): {server_msg}"
            else:
                msg = f"Cannot {action} {what} in namespace {ns!r} (404): {server_msg}"
        elif status == 409:
            if action == "create" or "already exists" in server_msg:
                msg = f"{what} already exists in namespace {ns!r} (409 Conflict): {server_msg}"
            else:
                msg = (
                    f"{what} in namespace {ns!r} was changed concurrently (409 Conflict): "
                    f"{server_msg}; read it again and retry"
                )
        elif status in (400, 422):
            if "HTTPS server" in server_msg:
                msg = (
                    f"Argo Server at {self.settings.host} speaks HTTPS: unset ARGO_SECURE=false "
                    f"({server_msg})"
                )
            else:
                msg = f"Argo Server rejected {what} ({status}): {server_msg}"
        elif body is None and "text/html" in response.headers.get("content-type", ""):
            msg = (
                f"Argo Server at {self.settings.host} answered {status} with an HTML page to "
                f"{action} {what}; is ARGO_SERVER / ARGO_BASE_HREF right?"
            )
        else:
            msg = f"Argo Server failed to {action} {what} (HTTP {status}): {server_msg}"
            if status >= 500 and not idempotent:
                msg += (
                    "; the request may or may not have taken effect: check with `argo list` "
                    "before trying again"
                )
        return self._error(msg, status)

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        kind: str,
        name: str | None = None,
        action: str,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """Send one request with the retry rule of the module docstring; raise on errors."""
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE")
        params = {k: v for k, v in (params or {}).items() if v is not None}
        content = None
        hdrs = dict(headers or {})
        if body is not None:
            content = json.dumps(body, separators=(",", ":")).encode()
            hdrs["Content-Type"] = "application/json"
        attempt = 0
        while True:
            log.debug("Argo Server request: %s %s", method, path)
            request = self._http.build_request(
                method,
                path,
                params=params,
                content=content,
                headers=hdrs,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
            response: httpx.Response | None = None
            try:
                response = self._http.send(request, stream=stream)
            except httpx.HTTPError as exc:
                connect_phase = isinstance(
                    exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
                )
                is_tls = connect_phase and _tls_failure(exc) is not None
                transient = not is_tls and (
                    connect_phase
                    or (
                        idempotent
                        and isinstance(
                            exc, (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
                        )
                    )
                )
                if transient and attempt < self.retries:
                    attempt += 1
                    delay = self._sleep_before_retry(attempt - 1, None)
                    log.info(
                        "Argo Server %s %s failed (%s); retry %d/%d after %.2f s",
                        method,
                        path,
                        type(exc).__name__,
                        attempt,
                        self.retries,
                        delay,
                    )
                    continue
                raise self._transport_error(
                    exc, method, path, sent=not connect_phase, idempotent=idempotent
                ) from None
            status = response.status_code
            if status < 400:
                return response
            if stream:
                response.read()
                response.close()
            if idempotent and status in _RETRY_STATUSES and attempt < self.retries:
                attempt += 1
                delay = self._sleep_before_retry(attempt - 1, response)
                log.info(
                    "Argo Server answered %d to %s %s; retry %d/%d after %.2f s",
                    status,
                    method,
                    path,
                    attempt,
                    self.retries,
                    delay,
                )
                continue
            raise self._status_error(
                response, kind=kind, name=name, action=action, idempotent=idempotent
            )

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, path, **kwargs)
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            ctype = response.headers.get("content-type", "?")
            raise self._error(
                f"Argo Server at {self.settings.host} answered {method} {path} with non-JSON "
                f"content ({ctype}); is ARGO_SERVER / ARGO_BASE_HREF right?",
                response.status_code,
            ) from None
        return data if isinstance(data, dict) else {"result": data}

    # ------------------------------------------------------------------ generic CRUD
    def _create(self, kind: str, obj: Mapping[str, Any], *, dry_run: bool = False, **extra: Any):
        segment, key = _KINDS[kind]
        body: dict[str, Any] = {"namespace": self.namespace, key: obj}
        if dry_run:
            body["createOptions"] = {"dryRun": ["All"]}
        body.update({k: v for k, v in extra.items() if v})
        meta = obj.get("metadata") or {}
        return self._call(
            "POST",
            self._path(segment, self.namespace),
            body=body,
            idempotent=bool(dry_run or extra.get("serverDryRun")),
            kind=kind,
            name=meta.get("name") or meta.get("generateName"),
            action="create",
        )

    def _lint(self, kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        segment, key = _KINDS[kind]
        meta = obj.get("metadata") or {}
        return self._call(
            "POST",
            self._path(segment, self.namespace, "lint"),
            body={"namespace": self.namespace, key: obj},
            idempotent=True,
            kind=kind,
            name=meta.get("name") or meta.get("generateName"),
            action="lint",
        )

    def _get(self, kind: str, name: str, fields: str | Iterable[str] | None = None):
        segment, _ = _KINDS[kind]
        return self._call(
            "GET",
            self._path(segment, self.namespace, name),
            params={"fields": _fields(fields)},
            kind=kind,
            name=name,
            action="get",
        )

    def _list(
        self,
        kind: str,
        label_selector: str | Mapping[str, str] | None = None,
        fields: str | Iterable[str] | None = None,
    ) -> dict[str, Any]:
        segment, _ = _KINDS[kind]
        data = self._call(
            "GET",
            self._path(segment, self.namespace),
            params={
                "listOptions.labelSelector": _labels(label_selector),
                "fields": _fields(fields),
            },
            kind=kind,
            action="list",
        )
        if data.get("items") is None:  # Argo answers `"items": null` for an empty list
            data["items"] = []
        return data

    def _delete(self, kind: str, name: str) -> dict[str, Any]:
        segment, _ = _KINDS[kind]
        return self._call(
            "DELETE",
            self._path(segment, self.namespace, name),
            kind=kind,
            name=name,
            action="delete",
        )

    def _update(self, kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        segment, key = _KINDS[kind]
        name = (obj.get("metadata") or {}).get("name")
        if not name:
            raise ArgoServerError(f"Cannot update a {kind} without metadata.name")
        return self._call(
            "PUT",
            self._path(segment, self.namespace, name),
            body={"namespace": self.namespace, "name": name, key: obj},
            kind=kind,
            name=name,
            action="update",
        )

    def _upsert(self, kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        name = (obj.get("metadata") or {}).get("name")
        if not name:
            raise ArgoServerError(f"Cannot create or update a {kind} without metadata.name")
        try:
            current = self._get(kind, name, fields="metadata.name,metadata.resourceVersion")
        except ArgoServerError as exc:
            if exc.status != 404 or "Namespace" in str(exc):
                raise
            log.info("Creating %s %r in namespace %r", kind, name, self.namespace)
            try:
                return self._create(kind, obj)
            except ArgoServerError as err:
                if err.status == 409:
                    raise self._error(
                        f'{kind} "{name}" in namespace {self.namespace!r} was created '
                        f"concurrently by someone else (409 Conflict); run again to update it",
                        409,
                    ) from None
                raise
        version = _rv(current)
        updated = dict(obj)
        meta = dict(updated.get("metadata") or {})
        if version is not None:
            meta["resourceVersion"] = version
        updated["metadata"] = meta
        log.info("Updating %s %r in namespace %r", kind, name, self.namespace)
        try:
            return self._update(kind, updated)
        except ArgoServerError as err:
            if err.status == 409:
                raise self._error(
                    f'{kind} "{name}" in namespace {self.namespace!r} changed concurrently '
                    f"between read and update (409 Conflict, resourceVersion {version}); run "
                    "again",
                    409,
                ) from None
            if err.status == 404:
                raise self._error(
                    f'{kind} "{name}" in namespace {self.namespace!r} was deleted concurrently '
                    "between read and update (404); run again",
                    404,
                ) from None
            raise

    # ------------------------------------------------------------------ workflows
    def create_workflow(
        self, wf: Mapping[str, Any], *, server_dry_run: bool = False, dry_run: bool = False
    ) -> dict[str, Any]:
        """Create a Workflow; ``dry_run`` = Argo validation only, ``server_dry_run`` = k8s dry run.

        Never retried after the request may have reached the server (it would start twice).
        """
        return self._create(
            "Workflow", wf, dry_run=dry_run, serverDryRun=True if server_dry_run else None
        )

    def lint_workflow(self, wf: Mapping[str, Any]) -> dict[str, Any]:
        return self._lint("Workflow", wf)

    def get_workflow(self, name: str, fields: str | Iterable[str] | None = None) -> dict[str, Any]:
        """``fields``: e.g. ``"metadata.name,status.phase"``, or ``"-status.nodes"`` to exclude."""
        return self._get("Workflow", name, fields)

    def list_workflows(
        self,
        label_selector: str | Mapping[str, str] | None = None,
        fields: str | Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """The WorkflowList dict; ``items`` is always a list. ``fields`` paths start ``items.``."""
        return self._list("Workflow", label_selector, fields)

    def delete_workflow(self, name: str) -> dict[str, Any]:
        return self._delete("Workflow", name)

    def submit_from(
        self,
        kind: str,
        name: str,
        parameters: Mapping[str, Any] | Iterable[str] | None = None,
        labels: Mapping[str, str] | str | None = None,
        generate_name: str | None = None,
        *,
        server_dry_run: bool = False,
    ) -> dict[str, Any]:
        """Start a Workflow from a (Cluster)WorkflowTemplate or CronWorkflow; never retried."""
        resource_kind = _SUBMIT_KINDS.get(kind.replace("-", "").replace("_", "").lower())
        if resource_kind is None:
            raise ArgoServerError(
                f"Cannot submit from {kind!r}: use WorkflowTemplate, ClusterWorkflowTemplate "
                "or CronWorkflow"
            )
        options: dict[str, Any] = {}
        if parameters is not None:
            options["parameters"] = _params(parameters)
        if _labels(labels):
            options["labels"] = _labels(labels)
        if generate_name:
            options["generateName"] = generate_name
        if server_dry_run:
            options["serverDryRun"] = True
        return self._call(
            "POST",
            self._path("workflows", self.namespace, "submit"),
            body={
                "namespace": self.namespace,
                "resourceKind": resource_kind,
                "resourceName": name,
                "submitOptions": options,
            },
            idempotent=server_dry_run,
            kind=resource_kind,
            name=name,
            action="submit a Workflow from",
        )

    def _workflow_action(
        self, name: str, action: str, body: Mapping[str, Any], *, idempotent: bool
    ) -> dict[str, Any]:
        payload = {"namespace": self.namespace, "name": name}
        payload.update({k: v for k, v in body.items() if v is not None})
        return self._call(
            "PUT",
            self._path("workflows", self.namespace, name, action),
            body=payload,
            idempotent=idempotent,
            kind="Workflow",
            name=name,
            action=action,
        )

    def retry_workflow(
        self,
        name: str,
        *,
        restart_successful: bool = False,
        node_field_selector: str | None = None,
        parameters: Mapping[str, Any] | Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """Retry a Failed/Error workflow in place (not retried on transient failures)."""
        return self._workflow_action(
            name,
            "retry",
            {
                "restartSuccessful": restart_successful or None,
                "nodeFieldSelector": node_field_selector,
                "parameters": _params(parameters),
            },
            idempotent=False,
        )

    def resubmit_workflow(
        self,
        name: str,
        *,
        memoized: bool = False,
        parameters: Mapping[str, Any] | Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """Start a new Workflow like ``name``; returns the new one (never retried)."""
        return self._workflow_action(
            name,
            "resubmit",
            {"memoized": memoized or None, "parameters": _params(parameters)},
            idempotent=False,
        )

    def stop_workflow(
        self, name: str, *, message: str | None = None, node_field_selector: str | None = None
    ) -> dict[str, Any]:
        """Stop: running pods finish, exit handlers run."""
        return self._workflow_action(
            name,
            "stop",
            {"message": message, "nodeFieldSelector": node_field_selector},
            idempotent=True,
        )

    def terminate_workflow(self, name: str) -> dict[str, Any]:
        """Terminate: pods are killed, no exit handlers."""
        return self._workflow_action(name, "terminate", {}, idempotent=True)

    # ------------------------------------------------------------------ watch / wait / logs
    def _open_stream(
        self,
        path: str,
        params: Mapping[str, Any],
        *,
        kind: str,
        name: str,
        action: str,
        read_timeout: float | None = None,
    ) -> httpx.Response:
        accept = "text/event-stream" if self.stream_format == "sse" else "application/json"
        read = self.stream_timeout if read_timeout is None else read_timeout
        timeout = httpx.Timeout(self.timeout, read=max(read, 0.05))
        return self._send(
            "GET",
            path,
            params=params,
            headers={"Accept": accept},
            stream=True,
            timeout=timeout,
            kind=kind,
            name=name,
            action=action,
        )

    def _stream_results(self, response: httpx.Response) -> Iterator[dict[str, Any]]:
        """The ``result`` of each message; ``{"error": ...}`` lines raise ``_StreamFailure``."""
        ctype = response.headers.get("content-type", "")
        if "text/html" in ctype:
            raise _StreamFailure(f"stream answered with {ctype}", 501)
        for msg in _iter_messages(response.iter_lines()):
            if msg.get("error"):
                err = msg["error"]
                status = err.get("http_code") if isinstance(err, dict) else None
                if isinstance(err, dict) and err.get("grpc_code") == 12:  # Unimplemented
                    status = 501
                raise _StreamFailure(_error_message(msg, json.dumps(err)), status)
            result = msg.get("result")
            if isinstance(result, dict):
                yield result

    def watch_workflow(
        self, name: str, *, poll_interval: float = 5.0, timeout: float | None = None
    ) -> Iterator[dict[str, Any]]:
        """Events ``{"type": ADDED|MODIFIED, "object": <Workflow>}`` until the phase is final.

        The first event is the current state. Events that repeat a ``resourceVersion`` are
        skipped. A DELETED workflow raises. When the event stream is unavailable the workflow
        is polled every ``poll_interval`` seconds (those events are MODIFIED). ``timeout`` (in
        seconds) raises an :class:`ArgoServerError` if the workflow is still not finished.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        wf = self.get_workflow(name)
        last = _rv(wf)
        yield {"type": "ADDED", "object": wf}
        if _phase(wf) in FINAL_PHASES:
            return
        use_stream = True
        failures = 0

        def check_deadline(phase: str) -> None:
            if deadline is not None and time.monotonic() >= deadline:
                raise self._error(
                    f"Workflow {name!r} in namespace {self.namespace!r} did not finish within "
                    f"{timeout:g} s (phase: {phase or 'Pending'})"
                )

        while True:
            check_deadline(_phase(wf))
            if use_stream:
                broke = False
                received = 0
                stream = self._watch_stream(name, deadline)
                try:
                    while True:
                        try:
                            event = next(stream)
                        except StopIteration:
                            if not received:  # closed at once, without even the current state
                                broke = True
                                failures += 1
                            break
                        except httpx.ReadTimeout:
                            log.debug("No workflow events for a while; re-checking %s", name)
                            break
                        except _StreamFailure as exc:
                            broke = True
                            if exc.status in _STREAM_UNSUPPORTED:
                                use_stream = False
                                log.info("Workflow event stream unavailable (%s); polling", exc)
                            else:
                                failures += 1
                                log.info("Workflow event stream failed (%s)", self._scrub(str(exc)))
                            break
                        except ArgoServerError as exc:  # opening the stream failed
                            if exc.status in (401, 403):
                                raise
                            broke = True
                            if exc.status in _STREAM_UNSUPPORTED:
                                use_stream = False
                                log.info("Workflow event stream unavailable (HTTP %s)", exc.status)
                            else:
                                failures += 1
                                log.info("Workflow event stream failed (%s)", exc)
                            break
                        except httpx.HTTPError as exc:
                            broke = True
                            failures += 1
                            log.info("Workflow event stream broke (%s)", type(exc).__name__)
                            break
                        received += 1
                        failures = 0
                        obj = event.get("object")
                        if not isinstance(obj, dict):
                            continue
                        if event.get("type") == "DELETED":
                            raise self._error(
                                f"Workflow {name!r} was deleted from namespace "
                                f"{self.namespace!r} while being watched",
                                404,
                            )
                        if _rv(obj) is not None and _rv(obj) == last:
                            continue
                        wf, last = obj, _rv(obj)
                        yield {"type": event.get("type") or "MODIFIED", "object": obj}
                        if _phase(obj) in FINAL_PHASES:
                            return
                        check_deadline(_phase(obj))
                finally:
                    stream.close()
                if failures >= 3:
                    use_stream = False
                    log.info("Workflow event stream keeps failing; polling instead")
                if broke and use_stream:
                    time.sleep(min(poll_interval, self.backoff * (2**failures)))
            else:
                time.sleep(poll_interval)
            # After any interruption (or between polls) read the workflow once.
            current = self.get_workflow(name)
            if _rv(current) is None or _rv(current) != last:
                wf, last = current, _rv(current)
                yield {"type": "MODIFIED", "object": current}
                if _phase(current) in FINAL_PHASES:
                    return

    def _watch_stream(self, name: str, deadline: float | None) -> Iterator[dict[str, Any]]:
        params = {"listOptions.fieldSelector": f"metadata.name={name}"}
        read_timeout = self.stream_timeout
        if deadline is not None:
            read_timeout = min(read_timeout, max(deadline - time.monotonic(), 0.05))
        response = self._open_stream(
            self._path("workflow-events", self.namespace),
            params,
            kind="Workflow",
            name=name,
            action="watch",
            read_timeout=read_timeout,
        )
        try:
            yield from self._stream_results(response)
        finally:
            response.close()

    def wait_for_workflow(
        self,
        name: str,
        on_update: Callable[[dict[str, Any]], None] | None = None,
        poll_interval: float = 5.0,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Block until the workflow's phase is final; return the final Workflow dict.

        ``on_update(workflow)`` is called for the current state and for every change.
        """
        final: dict[str, Any] = {}
        for event in self.watch_workflow(name, poll_interval=poll_interval, timeout=timeout):
            final = event["object"]
            if on_update is not None:
                on_update(final)
        return final

    def workflow_log_entries(
        self,
        name: str,
        pod_name: str | None = None,
        container: str = "main",
        *,
        follow: bool = False,
        grep: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Log entries ``{"content": str, "podName": str}`` of one pod or the whole workflow."""
        parts = ["workflows", self.namespace, name]
        if pod_name:
            parts.append(pod_name)
        params = {
            "logOptions.container": container,
            "logOptions.follow": "true" if follow else None,
            "grep": grep,
        }
        try:
            response = self._open_stream(
                self._path(*parts, "log"), params, kind="Workflow", name=name, action="get logs of"
            )
            try:
                yield from self._stream_results(response)
            finally:
                response.close()
        except _StreamFailure as exc:
            raise self._error(
                f"Cannot read the logs of Workflow {name!r}: {exc}", exc.status
            ) from None
        except httpx.HTTPError as exc:
            raise self._error(
                f"Log stream of Workflow {name!r} from the Argo Server at {self.settings.host} "
                f"broke ({_one_line(str(exc) or type(exc).__name__, 200)})"
            ) from None

    def workflow_logs(
        self,
        name: str,
        pod_name: str | None = None,
        container: str = "main",
        *,
        follow: bool = False,
        grep: str | None = None,
    ) -> Iterator[str]:
        """Log lines (``content``) of one pod or of all the workflow's pods."""
        for entry in self.workflow_log_entries(name, pod_name, container, follow=follow, grep=grep):
            yield str(entry.get("content", ""))

    # ------------------------------------------------------------------ workflow templates
    def create_workflow_template(
        self, tpl: Mapping[str, Any], *, dry_run: bool = False
    ) -> dict[str, Any]:
        return self._create("WorkflowTemplate", tpl, dry_run=dry_run)

    def update_workflow_template(self, tpl: Mapping[str, Any]) -> dict[str, Any]:
        """PUT; ``tpl`` must carry the current ``metadata.resourceVersion``."""
        return self._update("WorkflowTemplate", tpl)

    def get_workflow_template(self, name: str) -> dict[str, Any]:
        return self._get("WorkflowTemplate", name)

    def list_workflow_templates(
        self, label_selector: str | Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        return self._list("WorkflowTemplate", label_selector)

    def delete_workflow_template(self, name: str) -> dict[str, Any]:
        return self._delete("WorkflowTemplate", name)

    def upsert_workflow_template(self, tpl: Mapping[str, Any]) -> dict[str, Any]:
        """Create, or update carrying the server's ``resourceVersion`` (GET 404 ⇒ POST)."""
        return self._upsert("WorkflowTemplate", tpl)

    def lint_template(self, tpl: Mapping[str, Any]) -> dict[str, Any]:
        return self._lint("WorkflowTemplate", tpl)

    # ------------------------------------------------------------------ cron workflows
    def create_cron_workflow(
        self, cron: Mapping[str, Any], *, dry_run: bool = False
    ) -> dict[str, Any]:
        return self._create("CronWorkflow", cron, dry_run=dry_run)

    def update_cron_workflow(self, cron: Mapping[str, Any]) -> dict[str, Any]:
        """PUT; ``cron`` must carry the current ``metadata.resourceVersion``."""
        return self._update("CronWorkflow", cron)

    def get_cron_workflow(self, name: str) -> dict[str, Any]:
        return self._get("CronWorkflow", name)

    def list_cron_workflows(
        self, label_selector: str | Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        return self._list("CronWorkflow", label_selector)

    def delete_cron_workflow(self, name: str) -> dict[str, Any]:
        return self._delete("CronWorkflow", name)

    def upsert_cron_workflow(self, cron: Mapping[str, Any]) -> dict[str, Any]:
        """Create, or update carrying the server's ``resourceVersion`` (GET 404 ⇒ POST)."""
        return self._upsert("CronWorkflow", cron)

    def suspend_cron_workflow(self, name: str) -> dict[str, Any]:
        return self._cron_action(name, "suspend")

    def resume_cron_workflow(self, name: str) -> dict[str, Any]:
        return self._cron_action(name, "resume")

    def _cron_action(self, name: str, action: str) -> dict[str, Any]:
        return self._call(
            "PUT",
            self._path("cron-workflows", self.namespace, name, action),
            body={"namespace": self.namespace, "name": name},
            kind="CronWorkflow",
            name=name,
            action=action,
        )

    def lint_cron(self, cron: Mapping[str, Any]) -> dict[str, Any]:
        return self._lint("CronWorkflow", cron)

    # ------------------------------------------------------------------ UI
    def ui_url(self, name: str | None = None) -> str:
        """The Argo UI page of a workflow, or of the namespace's workflow list."""
        url = f"{self.base_url}/workflows/{quote(self.namespace, safe='')}"
        return f"{url}/{quote(name, safe='')}" if name else url
