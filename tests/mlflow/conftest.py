"""A virtual environment of its own for the tests that run kedro-mlflow.

kedro-mlflow registers its hooks through the ``kedro.hooks`` entry point as soon as it is
installed, so every Kedro session of an environment holding it runs them: it must never be
installed in the suite's own environment. The environment is made with ``uv`` inside the
suite's (``<sys.prefix>/kedro-argo-mlflow-tests``), kept between runs (uv's cache makes a
fresh one take seconds), with kedro-argo installed editable from this checkout and the same
Kedro and kedro-datasets versions as here. A file lock lets xdist workers share it.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..sample_project import REPO

VENV = Path(sys.prefix) / "kedro-argo-mlflow-tests"


def _uv() -> str:
    found = Path(sys.executable).with_name("uv")
    uv = str(found) if found.is_file() else shutil.which("uv")
    if uv is None:
        pytest.fail("uv is needed to make the kedro-mlflow test environment (make install)")
    return uv


def _run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if result.returncode:
        pytest.fail(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def mlflow_bin() -> Iterator[Path]:
    """``bin`` of an environment with kedro-argo (this checkout), kedro-mlflow and MLflow."""
    uv = _uv()
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with (VENV.parent / f".{VENV.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        python = VENV / "bin" / "python"
        if not python.is_file():
            _run(uv, "venv", "--quiet", "--python", sys.executable, str(VENV))
        _run(
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            "-e",
            str(REPO),
            f"kedro=={importlib.metadata.version('kedro')}",
            f"kedro-datasets=={importlib.metadata.version('kedro-datasets')}",  # kedro-mlflow's
            "kedro-mlflow",
        )
    yield VENV / "bin"
