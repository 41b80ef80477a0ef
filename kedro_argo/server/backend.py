"""What the cluster commands need from a cluster, whichever way it is reached.

:class:`Backend` is the small interface the commands use; two classes implement it: the Argo
Server's REST API (:class:`~kedro_argo.server.argo_api.ArgoServerBackend`) and the Kubernetes
API through the user's kubeconfig (:class:`~kedro_argo.server.kube.KubernetesBackend`);
:func:`connect` picks one from ``server.mode`` (``auto`` | ``argo-server`` | ``kubernetes``),
``--context`` and the environment, so the commands never know which they talk to.
:class:`ObjectsBase` holds what both do the same way on top of a few primitives: the upsert
rule and waiting (:mod:`kedro_argo.server.watch`).

Upsert rule: read the object's ``resourceVersion``; absent (404) ⇒ create; present ⇒ replace
carrying it. A 409 (someone else created or changed it in between) is retried once with a
fresh read; a second 409 is one clear error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kedro_argo.errors import ArgoServerError
from kedro_argo.server import failures, watch

log = logging.getLogger(__name__)

__all__ = ["KINDS", "Backend", "Kind", "ObjectsBase", "connect"]

GROUP = "argoproj.io"
VERSION = "v1alpha1"


@dataclass(frozen=True)
class Kind:
    """An Argo kind as each API names it."""

    name: str  # Workflow
    plural: str  # workflows (Kubernetes API, RBAC)
    segment: str  # workflows (Argo Server path)
    body_key: str  # workflow (Argo Server request body)

    @property
    def resource(self) -> str:
        """The RBAC resource, e.g. ``workflows.argoproj.io``."""
        return f"{self.plural}.{GROUP}"


KINDS: Mapping[str, Kind] = {
    k.name: k
    for k in (
        Kind("Workflow", "workflows", "workflows", "workflow"),
        Kind("WorkflowTemplate", "workflowtemplates", "workflow-templates", "template"),
        Kind("CronWorkflow", "cronworkflows", "cron-workflows", "cronWorkflow"),
    )
}
UPSERT_KINDS = ("WorkflowTemplate", "CronWorkflow")


class Backend(Protocol):
    """A cluster the commands talk to: the Argo Server or the Kubernetes API."""

    namespace: str

    def create_workflow(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> dict:
        """Create (start) a Workflow; never sent twice. ``dry_run``: validated, not stored."""
        ...

    def get_workflow(self, name: str) -> dict: ...

    def retry_workflow(self, name: str) -> dict:
        """Argo's retry of a Failed / Error workflow (its succeeded steps are kept)."""
        ...

    def wait_for_workflow(
        self,
        name: str,
        on_update: Callable[[dict[str, Any]], None] | None = None,
        poll_interval: float = 5.0,
        *,
        timeout: float | None = None,
    ) -> dict:
        """Block until the workflow's phase is final; ``on_update`` sees every change."""
        ...

    def workflow_logs(self, name: str, pod: str | None = None) -> Iterator[str]:
        """Log lines of one pod (its ``main`` container), or of every pod of the workflow."""
        ...

    def upsert(self, manifest: Mapping[str, Any]) -> dict:
        """Create or update a WorkflowTemplate / CronWorkflow in place (never a duplicate)."""
        ...

    def list(self, kind: str, label_selector: str | None = None) -> list[dict]: ...

    def delete(self, kind: str, name: str) -> None: ...

    def ui_url(self, name: str | None = None) -> str:
        """The Argo UI page of a workflow or of the namespace (an error without a UI)."""
        ...

    def link(self, name: str) -> str:
        """Where to look at a submitted workflow: its UI page, or a command."""
        ...

    def artifact_url(self, name: str, node_id: str, artifact: str) -> str | None:
        """Where an output artifact of a workflow's node can be fetched (``None``: nowhere
        this backend knows)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Backend: ...

    def __exit__(self, *exc: object) -> None: ...


class ObjectsBase:
    """Upsert and wait, over the primitives a backend implements."""

    namespace: str
    backoff: float = 0.5
    stream_timeout: float = 60.0

    # -- primitives
    def error(self, message: str, status: int | None = None) -> ArgoServerError:
        raise NotImplementedError

    def current_version(self, kind: Kind, name: str) -> str | None:
        """The stored object's ``resourceVersion``; a 404 :class:`ArgoServerError` if none."""
        raise NotImplementedError

    def create(self, kind: Kind, manifest: Mapping[str, Any]) -> dict:
        raise NotImplementedError

    def replace(self, kind: Kind, manifest: Mapping[str, Any]) -> dict:
        """Update; ``manifest`` carries the ``resourceVersion`` it was read at."""
        raise NotImplementedError

    def get_workflow(self, name: str) -> dict:
        raise NotImplementedError

    def workflow_events(
        self, name: str, since: str | None, read_timeout: float
    ) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    # -- shared
    def kind_of(self, kind: str) -> Kind:
        found = KINDS.get(kind)
        if found is None:
            raise ArgoServerError(f"Unknown kind {kind!r}: use one of {', '.join(KINDS)}")
        return found

    def upsert(self, manifest: Mapping[str, Any]) -> dict:
        kind_name = str(manifest.get("kind") or "")
        if kind_name not in UPSERT_KINDS:
            raise ArgoServerError(
                f"Cannot create or update a {kind_name or 'manifest without a kind'} in place: "
                f"only {' and '.join(UPSERT_KINDS)}"
            )
        kind = KINDS[kind_name]
        name = (manifest.get("metadata") or {}).get("name")
        if not name:
            raise ArgoServerError(f"Cannot create or update a {kind.name} without metadata.name")
        where = f'{kind.name} "{name}" in namespace {self.namespace!r}'
        for attempt in (1, 2):
            try:
                version = self.current_version(kind, name)
            except ArgoServerError as exc:
                if exc.status != 404 or failures.is_missing_namespace(exc):
                    raise
                log.info("Creating %s %r in namespace %r", kind.name, name, self.namespace)
                try:
                    return self.create(kind, manifest)
                except ArgoServerError as err:
                    if err.status != 409:
                        raise
                    if attempt == 1:
                        log.info("%s was created meanwhile; reading it again", where)
                        continue
                    raise self.error(
                        f"{where} was created concurrently by someone else (409 Conflict); run "
                        "again to update it",
                        409,
                    ) from None
            updated = dict(manifest)
            metadata = dict(updated.get("metadata") or {})
            if version is not None:
                metadata["resourceVersion"] = version
            updated["metadata"] = metadata
            log.info("Updating %s %r in namespace %r", kind.name, name, self.namespace)
            try:
                return self.replace(kind, updated)
            except ArgoServerError as err:
                if err.status == 409 and attempt == 1:
                    log.info("%s changed meanwhile (409); reading it again", where)
                    continue
                if err.status == 409:
                    raise self.error(
                        f"{where} changed concurrently between read and update twice (409 "
                        f"Conflict, resourceVersion {version}); run again",
                        409,
                    ) from None
                if err.status == 404:
                    raise self.error(
                        f"{where} was deleted concurrently between read and update (404); run "
                        "again",
                        404,
                    ) from None
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def wait_for_workflow(
        self,
        name: str,
        on_update: Callable[[dict[str, Any]], None] | None = None,
        poll_interval: float = 5.0,
        *,
        timeout: float | None = None,
    ) -> dict:
        return watch.wait_for_workflow(
            self, name, on_update, poll_interval=poll_interval, timeout=timeout
        )

    def __enter__(self) -> ObjectsBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        pass


def connect(
    config: Any,
    *,
    context: str | None = None,
    env: Mapping[str, str] | None = None,
    **options: Any,
) -> Backend:
    """The backend argo.yml (``config``), ``--context`` and the environment point at.

    ``server.mode``: ``auto`` (the Argo Server when ``server.url`` or ``ARGO_SERVER`` is set,
    else the kubeconfig), ``argo-server`` (an error without a server), ``kubernetes`` (the
    kubeconfig; ``ARGO_SERVER`` is ignored). ``context`` (``--context``) beats
    ``server.context``; it selects a kubeconfig context, so it is an error with the Argo
    Server. ``options`` go to the backend (``timeout``, ``retries``, ``backoff``…).
    """
    env = os.environ if env is None else env
    server = config.server
    url = (server.url or "").strip() or (env.get("ARGO_SERVER") or "").strip()
    namespace = server.namespace or config.namespace
    mode = server.mode
    if mode == "auto":
        mode = "argo-server" if url else "kubernetes"
    if mode == "argo-server":
        if not url:
            raise ArgoServerError(
                "server.mode is argo-server but no Argo Server is configured: set "
                "ARGO_SERVER=host:port (e.g. localhost:2746 after `kubectl -n argo "
                "port-forward svc/argo-server 2746:2746`) or server.url in argo.yml, or set "
                "server.mode: auto to use the kubeconfig"
            )
        if context:
            source = "server.url" if (server.url or "").strip() else "ARGO_SERVER"
            raise ArgoServerError(
                f"--context selects a kubeconfig context, but the Argo Server at {url} is used "
                f"({source} is set): drop --context, or set server.mode: kubernetes in argo.yml "
                "to go through the kubeconfig"
            )
        from kedro_argo.server.argo_api import ArgoServerBackend

        return ArgoServerBackend.from_env(env, server=server.url, namespace=namespace, **options)
    from kedro_argo.server.kube import KubernetesBackend

    for name in ("transport", "verify", "trust_env"):  # the Argo Server's HTTP options
        options.pop(name, None)
    return KubernetesBackend.from_kubeconfig(
        env, context=context or server.context, namespace=namespace, **options
    )
