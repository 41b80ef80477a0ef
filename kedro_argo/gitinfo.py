"""The project's git commit, stamped into manifests and served by ``${argo:commit_id}``.

Kept apart from :mod:`kedro_argo.compiler.project` so the resolver's local fallback imports
nothing else.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from kedro_argo.contract import COMMIT_ID_ENV as COMMIT_ENV


def commit_id(project_path: Path) -> str:
    """The git SHA of the project, ``-dirty`` when it has uncommitted changes.

    ``KEDRO_ARGO_COMMIT_ID`` overrides it (CI builds that know the image's commit).
    """
    override = os.environ.get(COMMIT_ENV)
    if override:
        return override
    try:
        sha = _git(project_path, "rev-parse", "HEAD")
        # Untracked files (e.g. the manifest compile just wrote) are not in any image build.
        dirty = _git(project_path, "status", "--porcelain", "--untracked-files=no", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30
    )
    return result.stdout.strip()
