"""Helpers for the cluster-command tests: the CLI in-process, clean-error checks, runs."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ..argo_server import HANG_GUARD_S, StubArgoServer
from ..sample_project import KEDRO, base_env, copy_project, update_config
from .local_executor import LocalModeExecutor, write_step_shim

__all__ = [
    "COMMIT",
    "TOKEN",
    "Cli",
    "assert_clean_error",
    "closed_port",
    "copy_project",
    "prepare_env",
    "run_kedro",
    "table_rows",
    "update_config",
    "use_local_mode",
]

TOKEN = "kedro-argo-cluster-secret-5e81c2d9"
"""The stand-in's token: distinctive, so any leak is found by a plain text search."""
COMMIT = "0123abc"
ARGO_VARIABLES = (
    "ARGO_SERVER",
    "ARGO_TOKEN",
    "ARGO_NAMESPACE",
    "ARGO_SECURE",
    "ARGO_INSECURE_SKIP_VERIFY",
    "ARGO_BASE_HREF",
    "ARGO_HTTP1",
)
CONFIG = Path("conf/base/argo.yml")


def prepare_env(mp: pytest.MonkeyPatch) -> None:
    """No ARGO_* or kubeconfig from the caller's shell (no test reaches a real cluster by
    accident), no git lookup, plain wide rich output, no proxy."""
    for var in ARGO_VARIABLES:
        mp.delenv(var, raising=False)
    mp.setenv("KUBECONFIG", os.devnull)  # not a file: kubeconfig mode finds no kubeconfig
    for var in ("KEDRO_ENV", "FORCE_TERMINAL", "FORCE_COLOR", "TTY_INTERACTIVE"):
        mp.delenv(var, raising=False)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        mp.delenv(var, raising=False)
    mp.setenv("KEDRO_ARGO_COMMIT_ID", COMMIT)
    mp.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    mp.setenv("COLUMNS", "250")


@dataclass
class Cli:
    """``kedro argo <args>`` in-process, with the metadata Kedro passes to plugin commands."""

    project: Path
    results: list[Result] = field(default_factory=list)

    def __call__(self, *args: str) -> Result:
        from kedro.framework.startup import bootstrap_project

        from kedro_argo.cli import commands

        metadata = bootstrap_project(self.project)
        result = cli_runner().invoke(commands, ["argo", *args], obj=metadata)
        self.results.append(result)
        return result

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, describe(result)
        return result

    def all_output(self) -> str:
        return "\n".join(r.stdout + r.stderr for r in self.results)


def describe(result: Result) -> str:
    exc = result.exception
    crash = ""
    if exc is not None and not isinstance(exc, SystemExit):
        import traceback

        crash = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return (
        f"exit {result.exit_code}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}{crash}"
    )


def assert_clean_error(result: Result | subprocess.CompletedProcess[str], *fragments: str) -> str:
    """A user error: non-zero exit, exactly one ``Error: …`` line (last), no traceback.

    Returns the error line without its ``Error: `` prefix.
    """
    if isinstance(result, Result):
        assert result.exception is None or isinstance(result.exception, SystemExit), describe(
            result
        )
        code, stdout, stderr = result.exit_code, result.stdout, result.stderr
    else:
        code, stdout, stderr = result.returncode, result.stdout, result.stderr
    output = f"exit {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    assert code != 0, output
    assert "Traceback" not in stdout + stderr, output
    lines = stderr.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("Error: ")]
    assert len(errors) == 1, output
    assert not [line for line in lines[errors[0] + 1 :] if line.strip()], output
    message = lines[errors[0]][len("Error: ") :]
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def table_rows(text: str) -> dict[str, list[str]]:
    """A rich table's body rows, keyed by their first cell; a cell rich wrapped over several
    lines (continuation lines have an empty first cell) is joined back with spaces."""
    rows: dict[str, list[str]] = {}
    last: list[str] | None = None
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│|]", line)[1:-1]]
        if not cells or cells[0] == "step":
            continue
        if cells[0]:
            last = rows[cells[0]] = cells
        elif last is not None and len(cells) == len(last):
            last[:] = [f"{a} {b}".strip() for a, b in zip(last, cells, strict=True)]
    return rows


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def use_local_mode(
    server: StubArgoServer,
    project: Path,
    *,
    shim: bool = False,
    fail: Iterable[str] = (),
    parallelism: int | None = None,
) -> LocalModeExecutor:
    """Make ``server`` run submitted workflows in ``project`` with local mode.

    ``shim``: steps run :func:`~.local_executor.write_step_shim` (milliseconds, Kedro nodes in
    ``fail`` fail) instead of Kedro; the exit handler too. Scratch data and logs go to
    ``<project>/.kedro-argo/stub-cluster`` (inside the copy, so leak checks see them).
    """
    workdir = project / ".kedro-argo" / "stub-cluster"
    kwargs: dict[str, Any] = {"parallelism": parallelism}
    if shim:
        kwargs["python_executable"] = str(write_step_shim(workdir / "bin", fail=fail))
    executor = LocalModeExecutor(project, workdir, **kwargs)
    server.executor = executor
    return executor


def run_kedro(
    project: Path, *args: str, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """The real ``kedro`` command line in the project copy (a child process)."""
    full = base_env(KEDRO_ARGO_COMMIT_ID=COMMIT, COLUMNS="250")
    for var in ARGO_VARIABLES:
        full.pop(var, None)
    full["KUBECONFIG"] = os.devnull  # `env` sets one for kubeconfig mode
    full.update(env)
    return subprocess.run(
        [KEDRO, *args],
        cwd=project,
        env=full,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,  # a hang guard: Kedro's CLI starts slowly on a busy machine
        check=False,
    )


def walk_text(root: Path) -> Iterable[tuple[Path, str]]:
    """Every file under ``root`` with its content (bytes decoded leniently)."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path, path.read_bytes().decode("utf-8", "replace")


def environ_without_argo() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ARGO_")}


def cli_runner() -> CliRunner:
    """stderr kept apart from stdout: the default from click 8.2, opt-in before."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()
