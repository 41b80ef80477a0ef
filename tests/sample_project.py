"""Helpers for tests that run the sample project (examples/spaceflights) in a scratch copy."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "spaceflights"
KEDRO = str(Path(sys.executable).with_name("kedro"))
OUTPUT_DIRS = (
    "02_intermediate",
    "03_primary",
    "04_feature",
    "05_model_input",
    "06_models",
    "07_model_output",
    "08_reporting",
)


def copy_project(target: Path) -> Path:
    """A clean copy of the sample project: raw inputs only, no outputs, no local state."""
    shutil.copytree(
        SAMPLE,
        target,
        ignore=shutil.ignore_patterns(*OUTPUT_DIRS, ".kedro-argo", "__pycache__", "logs"),
    )
    for name in OUTPUT_DIRS:
        (target / "data" / name).mkdir(parents=True, exist_ok=True)
    match_installed_kedro(target)
    return target


def match_installed_kedro(project: Path) -> None:
    """Kedro < 1.7 refuses a project whose kedro_init_version differs in major.minor: the
    suite runs the sample on the oldest supported Kedro too."""
    import re

    import kedro

    pyproject = project / "pyproject.toml"
    text = re.sub(
        r'kedro_init_version = "[^"]*"',
        f'kedro_init_version = "{kedro.__version__}"',
        pyproject.read_text(),
    )
    pyproject.write_text(text)


def update_config(project: Path, **changes: Any) -> dict[str, Any]:
    """Merge ``changes`` into the copy's conf/base/argo.yml: nested mappings merge, anything
    else (lists, scalars, None) replaces."""
    import yaml

    def merge(base: dict[str, Any], new: Any) -> dict[str, Any]:
        out = dict(base)
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = value
        return out

    path = project / "conf" / "base" / "argo.yml"
    config = merge(yaml.safe_load(path.read_text()) or {}, changes)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return config


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEDRO_ARGO_")}
    env.update({"KEDRO_DISABLE_TELEMETRY": "true", "PYTHONHASHSEED": "0"})
    env.update(extra)
    return env


def kedro(
    project: Path, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [KEDRO, *args],
        cwd=project,
        env=env or base_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kedro {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def declared_outputs(project: Path) -> dict[str, Any]:
    """Every declared output file's content, keyed by path (versioned: the latest version)."""
    outputs: dict[str, Any] = {}
    data = project / "data"
    for name in OUTPUT_DIRS:
        for path in sorted((data / name).rglob("*")):
            if not path.is_file():
                continue
            rel = path.relative_to(data)
            parts = rel.parts
            if len(parts) >= 4:  # versioned: <dir>/<file>/<version>/<file>
                key = str(Path(*parts[:2]))
                outputs.setdefault(key, [])
                outputs[key].append((parts[2], _content(path)))
                continue
            outputs[str(rel)] = _content(path)
    for key, value in list(outputs.items()):
        if isinstance(value, list):
            outputs[key] = sorted(value)[-1][1]
    return outputs


def _content(path: Path) -> Any:
    if path.suffix == ".pickle":
        with path.open("rb") as handle:
            obj = pickle.load(handle)
        return repr(getattr(obj, "__dict__", obj))
    if path.suffix == ".json":
        return json.loads(path.read_text())
    return path.read_text()
