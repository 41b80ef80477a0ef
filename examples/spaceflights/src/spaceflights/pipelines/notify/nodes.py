"""Nodes of the ``notify`` pipeline (standard library only)."""

from __future__ import annotations

import os

STATUS_ENV_VAR = "KEDRO_ARGO_WORKFLOW_STATUS"


def record_workflow_status() -> dict[str, str]:
    """Read the workflow status from the environment (default ``"unknown"``)."""
    return {"status": os.environ.get(STATUS_ENV_VAR, "unknown")}
