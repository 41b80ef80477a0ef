"""``kedro argo init``: render the jinja2 scaffolds shipped in ``kedro_argo.templates``.

Jinja2 is used for these human-edited files only, never for manifests; values rendered into
them are plain scalars.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from kedro_argo.argo import IMAGE_REFERENCE_RE
from kedro_argo.errors import ConfigError
from kedro_argo.output import write_text

CONFIG_TEMPLATE = "argo.yml.j2"


def render(template: str, **values: str) -> str:
    import jinja2

    source = files("kedro_argo.templates").joinpath(template).read_text(encoding="utf-8")
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    return env.from_string(source).render(**values)


def write_config(project_path: Path, *, project_name: str, image: str, force: bool) -> Path:
    """Write ``conf/base/argo.yml``; refuse to overwrite it unless ``force``."""
    if not IMAGE_REFERENCE_RE.fullmatch(image):
        raise ConfigError(
            f"--image {image!r} is not a container image reference "
            "(e.g. registry.example.com/team/project:1.0)."
        )
    target = project_path / "conf" / "base" / "argo.yml"
    if target.exists() and not force:
        raise ConfigError(
            f"{target.relative_to(project_path)} already exists: use --force to overwrite it."
        )
    write_text(render(CONFIG_TEMPLATE, project_name=project_name, image=image), target)
    return target
