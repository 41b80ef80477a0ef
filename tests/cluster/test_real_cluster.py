"""Opt-in: ``kedro argo run-once --wait`` against a real Argo Server.

Skipped unless ``ARGO_SERVER`` and ``KEDRO_ARGO_TEST_IMAGE`` are set. The image must hold the
sample project (``examples/spaceflights``) with kedro-argo installed, with the project at
``KEDRO_ARGO_TEST_PROJECT_DIR`` (default ``/home/kedro_docker``, argo.yml's ``project_dir``).
The test runs the ``notify`` pipeline (one node, no inputs; its exit handler is ``notify``
too), so it needs no object store. Run it with, e.g.::

    kubectl -n argo port-forward svc/argo-server 2746:2746 &
    ARGO_SERVER=localhost:2746 \\
    ARGO_TOKEN="Bearer $(kubectl -n argo create token argo-server)" \\
    ARGO_NAMESPACE=argo \\
    KEDRO_ARGO_TEST_IMAGE=registry.example.com/spaceflights:test \\
    pytest -m cluster tests/cluster

Other ``ARGO_*`` variables (``ARGO_SECURE``, ``ARGO_INSECURE_SKIP_VERIFY``,
``ARGO_BASE_HREF``) are honoured as by the ``argo`` CLI.

The same run in kubeconfig mode (no Argo Server: the Kubernetes API with the caller's
kubeconfig) is opt-in with ``KEDRO_ARGO_TEST_KUBE_CONTEXT`` (a context of ``KUBECONFIG`` /
``~/.kube/config``; ``ARGO_NAMESPACE`` or the context's namespace is used)::

    KEDRO_ARGO_TEST_KUBE_CONTEXT=kind-argo KEDRO_ARGO_TEST_IMAGE=… pytest -m cluster tests/cluster

The workflow is given 15 minutes (``activeDeadlineSeconds``); Argo deletes it a minute after it
succeeded (``ttlStrategy``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .helpers import ARGO_VARIABLES, describe, update_config

# The suite's autouse fixture clears ARGO_* for every test: keep the caller's values.
REAL_ENV = {name: os.environ[name] for name in ARGO_VARIABLES if os.environ.get(name)}
IMAGE = os.environ.get("KEDRO_ARGO_TEST_IMAGE", "")
PROJECT_DIR = os.environ.get("KEDRO_ARGO_TEST_PROJECT_DIR", "/home/kedro_docker")

KUBECONFIG = os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())
KUBE_CONTEXT = os.environ.get("KEDRO_ARGO_TEST_KUBE_CONTEXT", "")

pytestmark = pytest.mark.cluster


@pytest.mark.skipif(
    "ARGO_SERVER" not in REAL_ENV or not IMAGE,
    reason="needs a real Argo Server: set ARGO_SERVER (and ARGO_TOKEN) and "
    "KEDRO_ARGO_TEST_IMAGE (see this module's docstring)",
)
def test_run_once_wait_notify_pipeline_succeeds(monkeypatch, project, cli) -> None:
    for name, value in REAL_ENV.items():
        monkeypatch.setenv(name, value)
    run_notify_pipeline(project, cli)


@pytest.mark.skipif(
    not KUBE_CONTEXT or not IMAGE,
    reason="needs a real cluster: set KEDRO_ARGO_TEST_KUBE_CONTEXT (a kubeconfig context) and "
    "KEDRO_ARGO_TEST_IMAGE (see this module's docstring)",
)
def test_run_once_wait_through_the_kubeconfig(monkeypatch, project, cli) -> None:
    monkeypatch.setenv("KUBECONFIG", KUBECONFIG)
    if REAL_ENV.get("ARGO_NAMESPACE"):
        monkeypatch.setenv("ARGO_NAMESPACE", REAL_ENV["ARGO_NAMESPACE"])
    update_config(project, server={"mode": "kubernetes"})
    run_notify_pipeline(project, cli, "--context", KUBE_CONTEXT)


def run_notify_pipeline(project, cli, *extra: str) -> None:
    update_config(
        project,
        image=IMAGE,
        image_pull_policy="IfNotPresent",
        project_dir=PROJECT_DIR,
        workflow={"active_deadline_seconds": 900, "ttl": {"seconds_after_success": 60}},
    )
    result = cli("run-once", "--wait", "--pipeline", "notify", "--poll-interval", "2", *extra)
    assert result.exit_code == 0, describe(result)
    submitted = result.stdout.splitlines()[0]
    assert submitted.startswith("Submitted spaceflights-notify-")
    name = submitted.split()[1].rstrip(":")
    assert f"Workflow {name} succeeded." in result.stdout
