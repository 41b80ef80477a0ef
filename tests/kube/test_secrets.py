"""The kubeconfig's token never shows: not in any output, file of the project, or log record
(at DEBUG, the kubernetes client's and urllib3's included); the same checks as
tests/cluster/test_secrets.py makes for ARGO_TOKEN. Also one real ``kedro argo …`` process."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest

from ..cluster.helpers import (
    Cli,
    assert_clean_error,
    run_kedro,
    update_config,
    use_local_mode,
    walk_text,
)
from ..kube_server import StubKubeServer
from .conftest import KUBE_TOKEN

RUN = ("run-once", "--pipeline", "data_processing")
# Every CLI call bootstraps the project, whose logging.yml replaces the root logger's handlers
# (caplog's included): capture on these loggers directly.
LOGGERS = ("kedro_argo", "kubernetes", "urllib3", "client", "kedro", "spaceflights")


@pytest.fixture
def debug_records(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in LOGGERS]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.addHandler(caplog.handler)
    yield caplog
    for lg, level in saved:
        lg.removeHandler(caplog.handler)
        lg.setLevel(level)


def test_kubeconfig_token_never_in_output_files_or_log_records(
    kube_server: StubKubeServer,
    kubeconfig: Path,
    project: Path,
    cli: Cli,
    debug_records: pytest.LogCaptureFixture,
) -> None:
    caplog = debug_records
    # A git checkout, as projects are: else Kedro logs its failed `git describe` with a
    # traceback at DEBUG, which would hide a traceback of ours.
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "project"]):
        subprocess.run([*git, *args], cwd=project, check=True, capture_output=True)
    assert KUBE_TOKEN in kubeconfig.read_text()  # it is there to leak
    assert project not in kubeconfig.parents  # ... but not a file of the project
    update_config(project, nodes={"defaults": {"retry": {"limit": 1, "backoff": None}}})
    use_local_mode(kube_server, project, shim=True, fail=["preprocess_shuttles_node"])  # type: ignore[arg-type]

    cli.ok("compile", "--pipeline", "data_processing")
    waited = cli(*RUN, "--wait", "--poll-interval", "0.2")  # fails: log tail printed
    assert waited.exit_code == 1
    name = kube_server.workflows[0]["metadata"]["name"]
    cli.ok("upload", "--pipeline", "data_processing")
    cli.ok("upload", "--pipeline", "data_processing")
    cli.ok("schedule", "--cron", "0 6 * * *", "--timezone", "Europe/Paris")
    cli.ok("schedule", "--list")
    cli.ok("list")
    cli.ok("status", name)
    cli.ok("logs", name)
    cli.ok("logs", name, "--step", "preprocess_shuttles_node")
    # Errors too, one of them from a server that echoes the token back.
    missing = cli("status", "missing-run")
    assert missing.exit_code != 0 and "not found" in missing.stderr
    echo = {
        "kind": "Status",
        "code": 500,
        "message": f"rejected Authorization: Bearer {KUBE_TOKEN}",
    }
    kube_server.fail(500, method="POST", body=echo)
    echoed = cli(*RUN)
    assert_clean_error(echoed, "(HTTP 500): rejected Authorization: ***")
    assert cli("ui").exit_code != 0

    # Outputs.
    assert KUBE_TOKEN not in cli.all_output()
    # Files (compiled YAML, local-mode logs and data under .kedro-argo, Kedro's own files).
    files = dict(walk_text(project))
    assert project / "argo-workflow.yaml" in files
    assert any(".kedro-argo" in str(path) for path in files)
    assert [path for path, text in files.items() if KUBE_TOKEN in text] == []
    # Log records, at DEBUG, including the backend's, the kubernetes client's and urllib3's.
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("Kubernetes API request: POST") for m in messages)
    assert any(r.name.startswith("urllib3") and r.levelno == logging.DEBUG for r in caplog.records)
    leaked = [
        r for r in caplog.records if KUBE_TOKEN in r.getMessage() or KUBE_TOKEN in str(r.__dict__)
    ]
    assert leaked == []
    assert KUBE_TOKEN not in caplog.text
    # The token did reach the server, in the Authorization header only.
    assert kube_server.requests and all(r.auth == "ok" for r in kube_server.requests)
    assert all(KUBE_TOKEN not in r.text() for r in kube_server.requests)


@pytest.mark.slow
def test_real_kedro_process_in_kubeconfig_mode(kube_server: StubKubeServer, project) -> None:
    update_config(project, nodes={"defaults": {"retry": None}})
    use_local_mode(kube_server, project, shim=True, fail=["create_model_input_table_node"])  # type: ignore[arg-type]
    good = kube_server.write_kubeconfig()
    result = run_kedro(
        project, "argo", *RUN, "--wait", "--poll-interval", "0.2", env={"KUBECONFIG": str(good)}
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    [workflow] = kube_server.workflows
    name = workflow["metadata"]["name"]
    assert f"Submitted {name}: kubectl -n argo get workflow {name}" in result.stdout
    assert "Step create-model-input-table-node failed: exit code 1" in result.stderr
    assert "  | ValueError: create_model_input_table_node exploded" in result.stderr
    assert "Traceback" not in output and KUBE_TOKEN not in output

    wrong = kube_server.write_kubeconfig(token="wrong-kube-token-8812")
    refused = run_kedro(project, "argo", "list", env={"KUBECONFIG": str(wrong)})
    assert_clean_error(refused, "401 Unauthorized", "kubeconfig's credentials")
    assert "wrong-kube-token-8812" not in refused.stdout + refused.stderr
