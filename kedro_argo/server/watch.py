"""Following a workflow to its final phase, over whatever event stream a backend has.

A backend is an :class:`EventSource`: it reads a workflow (:meth:`~EventSource.get_workflow`)
and opens a stream of its changes (:meth:`~EventSource.workflow_events`: the Argo Server's
``/workflow-events``, or the Kubernetes watch API). :func:`watch_workflow` yields the current
state, then every change, until the phase is final:

* Events that repeat a ``resourceVersion`` are skipped; a DELETED workflow raises.
* A stream the server does not have (:class:`StreamUnsupported`, or opening it answered
  404/405/501) is replaced by polling every ``poll_interval`` seconds, as is one that keeps
  failing (three :class:`StreamFailed` in a row, or streams closed at once with nothing).
* After any interruption (a failure, a silence of ``stream_timeout`` seconds:
  :class:`StreamIdle`, the server closing the stream) the workflow is read once, so no final
  phase is missed, and the stream is opened again from the last version seen.
* 401 and 403 raise at once; ``timeout`` raises when the workflow is still not finished.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from kedro_argo.errors import ArgoServerError

log = logging.getLogger(__name__)

__all__ = [
    "FINAL_PHASES",
    "EventSource",
    "StreamFailed",
    "StreamIdle",
    "StreamUnsupported",
    "wait_for_workflow",
    "watch_workflow",
]

FINAL_PHASES = frozenset({"Succeeded", "Failed", "Error"})
"""``status.phase`` values after which a workflow never changes phase again."""
UNSUPPORTED_STATUSES = frozenset({404, 405, 501})
MAX_FAILURES = 3


class StreamUnsupported(Exception):
    """The server has no event stream for this: poll instead."""


class StreamFailed(Exception):
    """The stream broke or sent an error: read the workflow, then reconnect (bounded)."""


class StreamIdle(Exception):
    """Nothing arrived for ``stream_timeout`` seconds: read the workflow, then reconnect."""


class EventSource(Protocol):
    namespace: str
    backoff: float
    stream_timeout: float

    def get_workflow(self, name: str) -> dict[str, Any]: ...

    def workflow_events(
        self, name: str, since: str | None, read_timeout: float
    ) -> Iterator[dict[str, Any]]:
        """``{"type": ADDED|MODIFIED|DELETED, "object": <Workflow>}`` events of one workflow,
        changes after version ``since`` (or from its current state), for at most about
        ``read_timeout`` seconds of silence."""
        ...

    def error(self, message: str, status: int | None = None) -> ArgoServerError: ...


def resource_version(obj: Mapping[str, Any] | None) -> str | None:
    return ((obj or {}).get("metadata") or {}).get("resourceVersion")


def phase(obj: Mapping[str, Any] | None) -> str:
    return ((obj or {}).get("status") or {}).get("phase") or ""


def watch_workflow(
    source: EventSource,
    name: str,
    *,
    poll_interval: float = 5.0,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[dict[str, Any]]:
    """Events ``{"type": ADDED|MODIFIED, "object": <Workflow>}`` until the phase is final
    (the first event is the current state; see the module docstring)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    wf = source.get_workflow(name)
    last = resource_version(wf)
    yield {"type": "ADDED", "object": wf}
    if phase(wf) in FINAL_PHASES:
        return
    use_stream = True
    failures = 0

    def check_deadline(current: str) -> None:
        if deadline is not None and time.monotonic() >= deadline:
            raise source.error(
                f"Workflow {name!r} in namespace {source.namespace!r} did not finish within "
                f"{timeout:g} s (phase: {current or 'Pending'})"
            )

    while True:
        check_deadline(phase(wf))
        if use_stream:
            read_timeout = source.stream_timeout
            if deadline is not None:
                read_timeout = min(read_timeout, max(deadline - time.monotonic(), 0.05))
            opened = time.monotonic()
            broke = False
            received = 0
            stream = source.workflow_events(name, last, read_timeout)
            try:
                while True:
                    try:
                        event = next(stream)
                    except StopIteration:
                        # A stream closed before its time with nothing in it is a failure
                        # (a proxy dropping it, say); one that lasted its time is not.
                        if not received and time.monotonic() - opened < read_timeout:
                            broke = True
                            failures += 1
                        break
                    except StreamIdle:
                        log.debug("No workflow events for a while; re-checking %s", name)
                        break
                    except StreamUnsupported as exc:
                        broke, use_stream = True, False
                        log.info("Workflow event stream unavailable (%s); polling", exc)
                        break
                    except StreamFailed as exc:
                        broke = True
                        failures += 1
                        log.info("Workflow event stream failed (%s)", source.error(str(exc)))
                        break
                    except ArgoServerError as exc:  # opening the stream failed
                        if exc.status in (401, 403):
                            raise
                        broke = True
                        if exc.status in UNSUPPORTED_STATUSES:
                            use_stream = False
                            log.info("Workflow event stream unavailable (HTTP %s)", exc.status)
                        else:
                            failures += 1
                            log.info("Workflow event stream failed (%s)", exc)
                        break
                    received += 1
                    failures = 0
                    obj = event.get("object")
                    if not isinstance(obj, dict):
                        continue
                    if event.get("type") == "DELETED":
                        raise source.error(
                            f"Workflow {name!r} was deleted from namespace "
                            f"{source.namespace!r} while being watched",
                            404,
                        )
                    version = resource_version(obj)
                    if version is not None and version == last:
                        continue
                    wf, last = obj, version
                    yield {"type": event.get("type") or "MODIFIED", "object": obj}
                    if phase(obj) in FINAL_PHASES:
                        return
                    check_deadline(phase(obj))
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
            if failures >= MAX_FAILURES:
                use_stream = False
                log.info("Workflow event stream keeps failing; polling instead")
            if broke and use_stream:
                sleep(min(poll_interval, source.backoff * (2**failures)))
        else:
            sleep(poll_interval)
        # After any interruption (or between polls) read the workflow once.
        current = source.get_workflow(name)
        if resource_version(current) is None or resource_version(current) != last:
            wf, last = current, resource_version(current)
            yield {"type": "MODIFIED", "object": current}
            if phase(current) in FINAL_PHASES:
                return


def wait_for_workflow(
    source: EventSource,
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
    for event in watch_workflow(source, name, poll_interval=poll_interval, timeout=timeout):
        final = event["object"]
        if on_update is not None:
            on_update(final)
    return final
