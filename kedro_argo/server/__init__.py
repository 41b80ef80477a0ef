"""Talking to a cluster: the Argo Server's REST API (:mod:`.argo_api`) behind one small
interface (:class:`~.backend.Backend`, chosen by :func:`connect`); retries (:mod:`.transport`),
failure messages (:mod:`.failures`), following a run (:mod:`.watch`), and what the commands
show of the workflows it returns (:mod:`.status`)."""

from kedro_argo.server.backend import Backend, connect

__all__ = ["Backend", "connect"]
