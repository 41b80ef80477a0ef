"""The ``kedro.hooks`` entry point: the ``argo`` config resolver, with no settings.py edit.

``${argo:run_id}``, ``${argo:commit_id}``, ``${argo:workflow_name}`` and ``${argo:sweep}``
can be used in ``catalog.yml`` paths and parameters. Inside a workflow they read the env the
compiled templates set (``sweep``: the branch label, set by the runtime of a swept step);
elsewhere (``kedro run`` on a laptop, a step outside a sweep) they fall back to documented
values, or to the resolver's second argument: ``${argo:run_id, dev}``.

The resolver is registered in ``after_context_created`` (not at import), so a project that
lists ``kedro-argo`` in ``DISABLE_HOOKS_FOR_PLUGINS`` gets no resolver and no surprise.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from kedro_argo.contract import COMMIT_ID_ENV, RUN_ID_ENV, SWEEP_ENV, WORKFLOW_NAME_ENV

RESOLVER = "argo"
_KEYS = {
    "run_id": RUN_ID_ENV,
    "commit_id": COMMIT_ID_ENV,
    "workflow_name": WORKFLOW_NAME_ENV,
    "sweep": SWEEP_ENV,
}
#: ``${argo:sweep}`` outside a branch of a sweep.
NO_SWEEP = "default"


@functools.cache
def _local_run_id() -> str:
    """Outside Argo: one timestamp per process, in Kedro's save-version format."""
    from kedro.io.core import generate_timestamp

    return generate_timestamp()


@functools.cache
def _local_commit_id(project_path: str) -> str:
    from kedro_argo.gitinfo import commit_id

    return commit_id(Path(project_path))


def resolve(key: str, fallback: Any = None, *, project_path: str = ".") -> Any:
    """Value of ``${argo:<key>}``: workflow env first, then the fallback, then local values."""
    if key not in _KEYS:
        raise ValueError(
            f"${{argo:{key}}} is unknown: use one of {', '.join('argo:' + k for k in _KEYS)}"
        )
    value = os.environ.get(_KEYS[key])
    if value:
        return value
    if fallback is not None:
        return fallback
    if key == "run_id":
        return _local_run_id()
    if key == "commit_id":
        return _local_commit_id(project_path)
    if key == "sweep":
        return NO_SWEEP
    return "local"


def register_resolver(project_path: str = ".") -> None:
    from omegaconf import OmegaConf

    def _resolver(key: str, fallback: Any = None) -> Any:
        return resolve(key, fallback, project_path=project_path)

    register = getattr(OmegaConf, "register_resolver", None)
    if register is not None:  # omegaconf >= 2.4
        register(RESOLVER, _resolver, replace=True)
    else:
        OmegaConf.register_new_resolver(RESOLVER, _resolver, replace=True)


class ArgoHooks:
    @hook_impl
    def after_context_created(self, context: Any) -> None:
        register_resolver(str(getattr(context, "project_path", ".")))


hooks = ArgoHooks()
