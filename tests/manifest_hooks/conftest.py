"""Fixtures for the manifest-hook tests.

``site`` is an empty folder of installed distributions, on ``sys.path`` for the test (the
platform packages of ``platform.py`` are written into it); afterwards the folder leaves
``sys.path`` and the modules it provided leave ``sys.modules``, so no other test of the same
xdist worker sees a hook. The sample project is copied once per session (read-only: compile
writes its output elsewhere).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kedro_argo.manifest_hooks import DISABLE_ENV

from ..compile.support import set_compile_env
from ..sample_project import copy_project
from .platform import top_level_modules


@pytest.fixture(autouse=True)
def hook_env(monkeypatch: pytest.MonkeyPatch) -> None:
    set_compile_env(monkeypatch)
    monkeypatch.delenv(DISABLE_ENV, raising=False)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "site-packages"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for name in top_level_modules(folder):
        for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
            del sys.modules[module]
    importlib.invalidate_caches()


@pytest.fixture(scope="session")
def sample_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only copy of examples/spaceflights shared by the session (do not modify)."""
    return copy_project(tmp_path_factory.mktemp("hooks-sample") / "spaceflights")
