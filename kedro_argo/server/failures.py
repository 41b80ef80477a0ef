"""From a failed request to one line the user can act on: the table both backends use.

A backend describes who it talks to once (:class:`Peer`: the Argo Server or the Kubernetes API
server, and the hints that fit it: which variable or kubeconfig entry to fix) and each request
as a :class:`Call` (what was attempted, on which object, with which RBAC verb). Then
:func:`status_error` turns an HTTP error status into an
:class:`~kedro_argo.errors.ArgoServerError` through :data:`BY_STATUS`, the one table from
status to message (401 → how to refresh credentials, 403 → the RBAC verb/resource/namespace,
404 → unknown namespace or object, 409 → conflict, 400/422 → the server's own message about
the manifest), and the ``unreachable`` / ``tls_failed`` / ``timed_out`` / ``connection_lost``
functions word failures below HTTP.

Every message is one line, and every secret the peer knows of (the ``ARGO_TOKEN`` value, the
kubeconfig's token) is replaced by ``***`` before it leaves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kedro_argo.errors import ArgoServerError

__all__ = [
    "BY_STATUS",
    "Call",
    "Peer",
    "connection_lost",
    "is_missing_namespace",
    "one_line",
    "server_message",
    "status_error",
    "timed_out",
    "tls_failed",
    "unreachable",
]

_MISSING_NAMESPACE = re.compile(r'namespaces? "[^"]*" not found')


def one_line(text: Any, limit: int = 500) -> str:
    """``text`` on one line, whitespace collapsed, at most ``limit`` characters."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def secret_forms(value: str | None) -> list[str]:
    """How a credential can show up in text: the whole ``Authorization`` value and, for
    ``<scheme> <credentials>``, the credentials alone."""
    if not value:
        return []
    forms = [value]
    parts = value.split(None, 1)
    if len(parts) == 2 and len(parts[1]) >= 4:
        forms.append(parts[1])
    return forms


@dataclass(frozen=True)
class Peer:
    """Who a backend's requests go to, and what its failure messages tell the user to check.

    ``rbac_fix`` is formatted with ``verb``, ``resource`` and ``namespace``. ``secrets``
    returns every credential to hide, read when a message is made (tokens can be refreshed).
    """

    label: str  # "Argo Server" | "Kubernetes API server"
    address: str  # host:port or URL, for messages
    address_hint: str  # a wrong path: which setting to check
    reach_hint: str  # unreachable: how to check it runs / is reachable
    unauthorized: str  # 401: what was rejected and how to refresh credentials
    rbac_subject: str  # 403: who lacks permissions
    rbac_fix: str  # 403: what to do ({verb}, {resource}, {namespace})
    tls_hint: str  # certificate verification failed: how to fix or skip it
    plain_http_hint: str  # TLS to a plain-HTTP server
    https_hint: str  # plain HTTP to a TLS server
    check_hint: str  # a create that may have taken effect: how to check
    secrets: Callable[[], Iterable[str]] = field(default=lambda: ())

    def scrub(self, text: str) -> str:
        forms = sorted({f for s in self.secrets() for f in secret_forms(s)}, key=len, reverse=True)
        for secret in forms:
            text = text.replace(secret, "***")
        return text

    def error(self, message: str, status: int | None = None) -> ArgoServerError:
        """The plugin's error: one line, secrets scrubbed."""
        return ArgoServerError(self.scrub(one_line(message, 3000)), status)


@dataclass(frozen=True)
class Call:
    """One request: ``action`` as the message says it (``create``, ``get logs of``…),
    ``verb`` and ``resource`` as RBAC names them (``create``, ``workflows.argoproj.io``)."""

    action: str
    kind: str
    name: str | None
    namespace: str
    verb: str
    resource: str
    idempotent: bool = True

    @property
    def what(self) -> str:
        return f'{self.kind} "{self.name}"' if self.name else f"{self.kind}s"


@dataclass(frozen=True)
class _Answer:
    peer: Peer
    call: Call
    status: int
    message: str  # the server's own message, one line
    structured: bool  # the body was a JSON error (not a proxy's or router's page)
    html: bool
    path: str


def server_message(body: Any, text: str) -> str:
    """The server's own message from an error body: Argo's ``{"code", "message"}`` or
    ``{"error": {...}}``, Kubernetes' ``Status`` (``message``), else the text."""
    if isinstance(body, dict):
        err = body.get("error") if isinstance(body.get("error"), dict) else body
        for key in ("message", "error", "details"):
            if isinstance(err.get(key), str) and err[key].strip():
                return err[key]
    return text.strip() or "(empty answer)"


def _maybe_effect(peer: Peer) -> str:
    return f"; the request may or may not have taken effect: {peer.check_hint}"


def _unauthorized(a: _Answer) -> str:
    return (
        f"{a.peer.label} refused to {a.call.action} {a.call.what} (401 Unauthorized): "
        f"{a.peer.unauthorized} (server said: {a.message})"
    )


def _forbidden(a: _Answer) -> str:
    c = a.call
    fix = a.peer.rbac_fix.format(verb=c.verb, resource=c.resource, namespace=c.namespace)
    return (
        f"{a.peer.label} refused to {c.action} {c.what} in namespace {c.namespace!r} "
        f"(403 Forbidden): {a.message}. {a.peer.rbac_subject} lacks RBAC permissions to "
        f"{c.verb} {c.resource} there; {fix}"
    )


def _not_found(a: _Answer) -> str:
    c = a.call
    if not a.structured:
        return (
            f"{a.peer.label} at {a.peer.address} has no {a.path} (404: {a.message}); "
            f"{a.peer.address_hint}"
        )
    if _MISSING_NAMESPACE.search(a.message):
        return f"Namespace {c.namespace!r} not found on the {a.peer.label} (404): {a.message}"
    if c.name and c.action not in ("create", "lint"):
        return f"{c.what} not found in namespace {c.namespace!r} (404): {a.message}"
    # creating: something the manifest refers to is missing
    return f"Cannot {c.action} {c.what} in namespace {c.namespace!r} (404): {a.message}"


def _conflict(a: _Answer) -> str:
    c = a.call
    if c.action == "create" or "already exists" in a.message:
        return f"{c.what} already exists in namespace {c.namespace!r} (409 Conflict): {a.message}"
    return (
        f"{c.what} in namespace {c.namespace!r} was changed concurrently (409 Conflict): "
        f"{a.message}; read it again and retry"
    )


def _invalid(a: _Answer) -> str:
    if "HTTPS server" in a.message:
        return f"{a.peer.label} at {a.peer.address} speaks HTTPS: {a.peer.https_hint} ({a.message})"
    return f"{a.peer.label} rejected {a.call.what} ({a.status}): {a.message}"


def _other(a: _Answer) -> str:
    if a.html:
        return (
            f"{a.peer.label} at {a.peer.address} answered {a.status} with an HTML page to "
            f"{a.call.action} {a.call.what}; {a.peer.address_hint}"
        )
    msg = f"{a.peer.label} failed to {a.call.action} {a.call.what} (HTTP {a.status}): {a.message}"
    if a.status >= 500 and not a.call.idempotent:
        msg += _maybe_effect(a.peer)
    return msg


BY_STATUS: Mapping[int, Callable[[_Answer], str]] = {
    400: _invalid,
    401: _unauthorized,
    403: _forbidden,
    404: _not_found,
    409: _conflict,
    422: _invalid,
}
"""HTTP status → message; any other status: the server's message with the status (and, for a
5xx answer to a create, that it may have taken effect)."""


def status_error(
    peer: Peer,
    call: Call,
    status: int,
    body: Any,
    text: str = "",
    *,
    content_type: str = "",
    path: str = "",
) -> ArgoServerError:
    """The error for an HTTP error answer (``body``: the decoded JSON, or ``None``)."""
    structured = isinstance(body, dict)
    answer = _Answer(
        peer,
        call,
        status,
        one_line(server_message(body, "" if structured else text), 2000),
        structured,
        not structured and "text/html" in content_type,
        path,
    )
    return peer.error(BY_STATUS.get(status, _other)(answer), status)


def is_missing_namespace(error: ArgoServerError) -> bool:
    """Whether ``error`` is the 404 of a namespace that does not exist."""
    return error.status == 404 and str(error).startswith("Namespace ")


# ----------------------------------------------------------------------------- below HTTP
def unreachable(peer: Peer, reason: str) -> ArgoServerError:
    """Nothing reached the server (refused, DNS, connect timeout)."""
    return peer.error(
        f"Cannot reach the {peer.label} at {peer.address} ({reason}); {peer.reach_hint}"
    )


def tls_failed(peer: Peer, reason: str, *, plain_http: bool) -> ArgoServerError:
    """The TLS handshake failed: ``plain_http`` when the server seems to speak plain HTTP."""
    if plain_http:
        return peer.error(
            f"TLS handshake with the {peer.label} at {peer.address} failed ({reason}): the "
            f"server may speak plain HTTP; {peer.plain_http_hint}"
        )
    return peer.error(
        f"TLS certificate verification failed for the {peer.label} at {peer.address} "
        f"({reason}). {peer.tls_hint}"
    )


def timed_out(
    peer: Peer, method: str, path: str, seconds: float, *, idempotent: bool
) -> ArgoServerError:
    """No answer within the request timeout (not retried: the caller already waited)."""
    msg = f"{peer.label} at {peer.address} did not answer {method} {path} within {seconds:g} s"
    msg += " (timeout)"
    return peer.error(msg + ("" if idempotent else _maybe_effect(peer)))


def connection_lost(
    peer: Peer, method: str, path: str, reason: str, *, idempotent: bool
) -> ArgoServerError:
    """The connection broke after the request was sent."""
    msg = (
        f"Connection to the {peer.label} at {peer.address} failed during {method} {path} ({reason})"
    )
    return peer.error(msg + ("" if idempotent else _maybe_effect(peer)))
