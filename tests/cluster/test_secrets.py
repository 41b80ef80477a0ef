"""The Argo token never shows: not in any output, file of the project, or log record.

Also the two real ``kedro argo …`` processes of this suite (a plugin loaded by Kedro's own
CLI, as users run it).
"""

from __future__ import annotations

import logging

import pytest

from ..argo_server import StubArgoServer
from .helpers import (
    TOKEN,
    Cli,
    assert_clean_error,
    run_kedro,
    update_config,
    use_local_mode,
    walk_text,
)

RUN = ("run-once", "--pipeline", "data_processing")
# Every CLI call bootstraps the project, whose logging.yml replaces the root logger's handlers
# (caplog's included): capture on these loggers directly.
LOGGERS = ("kedro_argo", "httpx", "httpcore", "kedro", "spaceflights")


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


@pytest.mark.usefixtures("argo_env")
def test_token_never_in_output_files_or_log_records(
    argo_server: StubArgoServer, project, cli: Cli, debug_records: pytest.LogCaptureFixture
) -> None:
    caplog = debug_records
    update_config(project, nodes={"defaults": {"retry": {"limit": 1, "backoff": None}}})
    use_local_mode(argo_server, project, shim=True, fail=["preprocess_shuttles_node"])

    cli.ok("compile", "--pipeline", "data_processing")  # argo-workflow.yaml in the project
    cli.ok("compile", "--kind", "cron", "--cron", "0 6 * * *", "-o", "cron.yaml")
    waited = cli(*RUN, "--wait", "--poll-interval", "0.2")  # fails: log tail printed
    assert waited.exit_code == 1
    name = argo_server.workflows[0]["metadata"]["name"]
    cli.ok("upload", "--pipeline", "data_processing")
    cli.ok("upload", "--pipeline", "data_processing")
    cli.ok("schedule", "--cron", "0 6 * * *", "--timezone", "Europe/Paris")
    cli.ok("schedule", "--list")
    cli.ok("list")
    cli.ok("status", name)
    cli.ok("logs", name)
    cli.ok("logs", name, "--step", "preprocess_shuttles_node")
    cli.ok("ui", name)
    # Errors too (their one-line form is tested in test_errors.py; at DEBUG, Kedro 1.0 logs
    # tracebacks of its own, e.g. for `git describe` outside a repository).
    missing = cli("status", "missing-run")
    assert missing.exit_code != 0 and "not found" in missing.stderr
    argo_server.fail(503, method="POST")
    unavailable = cli(*RUN)
    assert unavailable.exit_code != 0 and "HTTP 503" in unavailable.stderr

    # Outputs.
    assert TOKEN not in cli.all_output()
    # Files (compiled YAML, local-mode logs and data under .kedro-argo, Kedro's own files).
    files = dict(walk_text(project))
    assert project / "argo-workflow.yaml" in files and project / "cron.yaml" in files
    assert any(".kedro-argo" in str(path) for path in files)
    assert [path for path, text in files.items() if TOKEN in text] == []
    # Log records, at DEBUG, including the client's own.
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("Argo Server request: POST") for m in messages)
    assert any(r.name.startswith("httpcore") and r.levelno == logging.DEBUG for r in caplog.records)
    leaked = [r for r in caplog.records if TOKEN in r.getMessage() or TOKEN in str(r.__dict__)]
    assert leaked == []
    assert TOKEN not in caplog.text
    # The token did reach the server, in the Authorization header only.
    assert argo_server.requests and all(r.auth == "ok" for r in argo_server.requests)


@pytest.mark.slow
def test_real_kedro_process_run_once_wait(argo_server: StubArgoServer, project) -> None:
    update_config(project, nodes={"defaults": {"retry": None}})
    use_local_mode(argo_server, project, shim=True, fail=["create_model_input_table_node"])
    result = run_kedro(
        project, "argo", *RUN, "--wait", "--poll-interval", "0.2", env=argo_server.env()
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    [workflow] = argo_server.workflows
    name = workflow["metadata"]["name"]
    assert f"Submitted {name}: {argo_server.url}/workflows/argo/{name}" in result.stdout
    assert "preprocess-companies-node: Succeeded" in result.stderr
    assert "Step create-model-input-table-node failed: exit code 1" in result.stderr
    assert "  | ValueError: create_model_input_table_node exploded" in result.stderr
    assert "Traceback" not in output
    assert TOKEN not in output


@pytest.mark.slow
def test_real_kedro_process_clean_error(argo_server: StubArgoServer, project) -> None:
    env = argo_server.env(ARGO_TOKEN="Bearer wrong-token-4411")
    result = run_kedro(project, "argo", "upload", "--pipeline", "data_processing", env=env)
    assert_clean_error(result, "401 Unauthorized", "ARGO_TOKEN")
    assert "wrong-token-4411" not in result.stdout + result.stderr
    assert argo_server.objects("WorkflowTemplate") == []
