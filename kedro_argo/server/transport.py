"""Retries of transient failures, as an httpx transport wrapped around the real one.

Retry rule
----------
Only *transient* failures are retried, at most ``retries`` times, with exponential backoff
(``backoff * 2**attempt``, capped at 8 s, with jitter, honouring ``Retry-After`` up to 30 s):

* A failure to *connect* (refused, DNS, connect timeout, no pooled connection): nothing reached
  the server, so every request may be retried, creates included.
* A failure *after the request was sent* (connection dropped, HTTP 429/502/503/504): retried
  only for idempotent requests: GET, HEAD, PUT, DELETE, and what the caller marks idempotent
  with the :data:`IDEMPOTENT` request extension (e.g. a dry-run POST). A create is never sent
  twice: the first attempt may have taken effect, and a second one would start a duplicate
  run.
* Read timeouts are not retried (the caller already waited its timeout); TLS failures and
  every other HTTP status are not transient.

The transport only retries; what a final failure means to the user is the backend's to say
(:mod:`kedro_argo.server.failures`).
"""

from __future__ import annotations

import logging
import random
import ssl
import time
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)

__all__ = ["IDEMPOTENT", "RETRY_STATUSES", "RetryTransport", "proxy_for", "tls_failure"]

IDEMPOTENT = "kedro_argo.idempotent"
"""Request extension: ``True`` / ``False`` overrides the method's default idempotency."""
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 30.0
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_CONNECT_PHASE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_AFTER_SENDING = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


def is_idempotent(request: httpx.Request) -> bool:
    marked = request.extensions.get(IDEMPOTENT)
    return request.method in _IDEMPOTENT_METHODS if marked is None else bool(marked)


def proxy_for(url: str) -> str | None:
    """The ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` for ``url``, unless ``NO_PROXY``
    exempts its host (as the ``argo`` CLI and ``kubectl`` read them)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if not proxies or urllib.request.proxy_bypass_environment(parts.hostname or "", proxies):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


def tls_failure(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind ``exc`` (its cause chain), if any."""
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


class RetryTransport(httpx.BaseTransport):
    """``inner`` with the retry rule of the module docstring."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.retries = max(0, int(retries))
        self.backoff = max(0.0, float(backoff))
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        idempotent = is_idempotent(request)
        attempt = 0
        while True:
            try:
                response = self.inner.handle_request(request)
            except httpx.TransportError as exc:
                connect_phase = isinstance(exc, _CONNECT_PHASE)
                transient = (connect_phase and tls_failure(exc) is None) or (
                    idempotent and isinstance(exc, _AFTER_SENDING)
                )
                if not transient or attempt >= self.retries:
                    raise
                attempt += 1
                delay = self._pause(attempt - 1, None)
                log.info(
                    "%s %s failed (%s); retry %d/%d after %.2f s",
                    request.method,
                    request.url.path,
                    type(exc).__name__,
                    attempt,
                    self.retries,
                    delay,
                )
                continue
            status = response.status_code
            if not (idempotent and status in RETRY_STATUSES and attempt < self.retries):
                return response
            retry_after = response.headers.get("Retry-After", "")
            response.read()
            response.close()
            attempt += 1
            delay = self._pause(attempt - 1, retry_after)
            log.info(
                "Answer %d to %s %s; retry %d/%d after %.2f s",
                status,
                request.method,
                request.url.path,
                attempt,
                self.retries,
                delay,
            )

    def _pause(self, attempt: int, retry_after: str | None) -> float:
        delay = min(MAX_BACKOFF, self.backoff * (2**attempt))
        delay *= 1 + random.random() * 0.25  # jitter
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, min(MAX_RETRY_AFTER, float(retry_after)))
        self._sleep(delay)
        return delay

    def close(self) -> None:
        self.inner.close()
