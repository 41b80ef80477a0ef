"""Talking to a cluster: the Argo Server's REST API (:mod:`.argo_api`) or the Kubernetes API
through the kubeconfig (:mod:`.kube`), behind one small interface (:class:`~.backend.Backend`,
chosen by :func:`connect`); retries (:mod:`.transport`), the one table of failure messages
(:mod:`.failures`), following a run (:mod:`.watch`), and what the commands show of the
workflows a backend returns (:mod:`.status`)."""

from kedro_argo.server.backend import Backend, connect

__all__ = ["Backend", "connect"]
