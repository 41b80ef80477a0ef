"""Tiny Kedro projects written on the fly: a few light nodes (no pandas), so a test that runs
them through ``kedro argo run-local`` pays about a second of Kedro start-up per step."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


def write_project(
    root: Path,
    *,
    package: str,
    registry: str,
    nodes: str = "",
    catalog: Mapping[str, Any] | None = None,
    parameters: Mapping[str, Any] | None = None,
    argo: Mapping[str, Any] | None = None,
    settings: str = "",
    conf_files: Mapping[str, Mapping[str, Any] | str] | None = None,
) -> Path:
    """A Kedro 1.x project at ``root``.

    ``registry`` is the body of ``register_pipelines()`` (it may use ``Pipeline``, ``node``
    and everything defined in ``nodes``, the source of ``<package>/nodes.py``) and must return
    the dict of pipelines. ``settings`` is the source of ``<package>/settings.py``; ``conf_files``
    maps more file names of ``conf/base`` (e.g. ``mlflow.yml``) to their content (YAML text,
    or a mapping to dump).
    """
    import kedro

    src = root / "src" / package
    src.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [project]
            name = "{package}"
            version = "0.1.0"

            [tool.kedro]
            package_name = "{package}"
            project_name = "{package}"
            kedro_init_version = "{kedro.__version__}"
            source_dir = "src"
            """
        )
    )
    (src / "__init__.py").write_text('__version__ = "0.1.0"\n')
    (src / "settings.py").write_text(textwrap.dedent(settings))
    (src / "nodes.py").write_text(textwrap.dedent(nodes))
    body = textwrap.indent(textwrap.dedent(registry).strip(), "    ")
    (src / "pipeline_registry.py").write_text(
        "from kedro.pipeline import Pipeline, node\n\n"
        f"from {package}.nodes import *  # noqa: F403\n\n\n"
        f"def register_pipelines():\n{body}\n"
    )
    conf = root / "conf"
    (conf / "local").mkdir(parents=True)
    (conf / "base").mkdir()
    config = {"image": "registry.example.com/mini:1", "data": {"root": "/mnt/data"}}
    config.update(argo or {})
    for name, content in (
        ("catalog.yml", catalog or {}),
        ("parameters.yml", parameters or {}),
        ("argo.yml", config),
    ):
        (conf / "base" / name).write_text(yaml.safe_dump(dict(content), sort_keys=False))
    for name, content in (conf_files or {}).items():
        text = content if isinstance(content, str) else yaml.safe_dump(dict(content))
        (conf / "base" / name).write_text(text)
    (root / "data").mkdir()
    return root
