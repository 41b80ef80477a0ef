"""``kedro argo init`` and the starter: render the jinja2 scaffolds shipped in
``kedro_argo.templates``.

Jinja2 is used for these human-edited files only, never for manifests. Every value rendered
into them is a plain scalar checked here first (an image reference, an absolute path, a
requirement), so no value can break the YAML, Dockerfile or workflow around it.

``init`` writes ``conf/base/argo.yml`` and, on request, a Dockerfile + ``.dockerignore``
and a GitHub Actions workflow. It never overwrites a file without ``force``: every target is
checked before the first one is written, so a refusal writes nothing. When the extras are
asked for and argo.yml already exists, argo.yml is read (its image and project_dir go into
the new files), not rewritten.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from kedro_argo.argo import IMAGE_REFERENCE_RE
from kedro_argo.errors import ConfigError
from kedro_argo.output import write_text

if TYPE_CHECKING:
    from kedro_argo.config import ArgoConfig

CONFIG_TEMPLATE = "argo.yml.j2"
DOCKERFILE_TEMPLATE = "Dockerfile.j2"
DOCKERIGNORE_TEMPLATE = "dockerignore.j2"
WORKFLOW_TEMPLATE = "github-workflow.yml.j2"
STARTER_TEMPLATE = "starter"  # a cookiecutter template (see kedro_argo.starter)

CONFIG_PATH = Path("conf/base/argo.yml")
DOCKERFILE_PATH = Path("Dockerfile")
DOCKERIGNORE_PATH = Path(".dockerignore")
WORKFLOW_PATH = Path(".github/workflows/kedro-argo.yml")

# Secrets the workflow references (by name only: ${{ secrets.NAME }}).
WORKFLOW_SECRETS = ("REGISTRY_USERNAME", "REGISTRY_PASSWORD", "ARGO_SERVER", "ARGO_TOKEN")
# Kedro's data layers: folders the starter creates (with a .gitkeep, kept by .dockerignore).
DATA_LAYERS = (
    "01_raw",
    "02_intermediate",
    "03_primary",
    "04_feature",
    "05_model_input",
    "06_models",
    "07_model_output",
    "08_reporting",
)

# What may be rendered as a path in the Dockerfile (WORKDIR, useradd) and argo.yml.
_SAFE_PATH_RE = re.compile(r"/[A-Za-z0-9._/-]*")
_DATA_ROOT_RE = re.compile(r"(?:(?:s3|gs|gcs)://[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9._/=-]*)?)")
_REQUIREMENT_RE = re.compile(r"kedro-argo(?:\[[a-z0-9,]+\])?==[A-Za-z0-9.+!-]+")


def render(template: str, **values: str) -> str:
    import jinja2

    source = files("kedro_argo.templates").joinpath(template).read_text(encoding="utf-8")
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    return env.from_string(source).render(**values)


def starter_template_path() -> str:
    """The starter's cookiecutter directory inside the installed package (a real folder:
    the wheel is installed unzipped)."""
    return str(files("kedro_argo.templates").joinpath(STARTER_TEMPLATE))


# --------------------------------------------------------------------------- values


def check_image(image: str, what: str = "--image") -> str:
    if not IMAGE_REFERENCE_RE.fullmatch(image):
        raise ConfigError(
            f"{what} {image!r} is not a container image reference "
            "(e.g. registry.example.com/team/project:1.0)."
        )
    return image


def check_project_name(project_name: str) -> str:
    """The name goes into comments: one printable line, so it cannot add a line of its own."""
    if not project_name.strip() or not project_name.isprintable():
        raise ConfigError(
            f"project name {project_name!r} (pyproject.toml [tool.kedro] project_name) must "
            "be one line of printable text."
        )
    return project_name


def check_data_root(data_root: str) -> str:
    if not (_DATA_ROOT_RE.fullmatch(data_root) or _SAFE_PATH_RE.fullmatch(data_root)):
        raise ConfigError(
            f"data root {data_root!r} must be s3://bucket/prefix, gs://bucket/prefix or an "
            "absolute path (letters, digits, . _ - / only)."
        )
    return data_root


def check_project_dir(project_dir: str, source: str) -> str:
    """argo.yml's project_dir becomes the Dockerfile's WORKDIR and the user's home."""
    if (
        not _SAFE_PATH_RE.fullmatch(project_dir)
        or PurePosixPath(project_dir) == PurePosixPath("/")
        or ".." in PurePosixPath(project_dir).parts
    ):
        raise ConfigError(
            f"{source}: project_dir {project_dir!r} cannot be the image's WORKDIR: use an "
            "absolute path below / (letters, digits, . _ - / only), e.g. /home/kedro_docker."
        )
    return str(PurePosixPath(project_dir))


def image_repository(image: str, what: str = "image") -> tuple[str, str]:
    """``(registry, repository)`` of an image reference: the tag and digest dropped; the
    registry is the first path part when it looks like a host, else Docker Hub."""
    name = check_image(image, what).split("@", 1)[0]
    head, _, last = name.rpartition("/")
    repository = f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]
    first = repository.split("/", 1)[0]
    is_host = "/" in repository and ("." in first or ":" in first or first == "localhost")
    return (first if is_host else "docker.io"), repository


def kedro_argo_requirement(config: ArgoConfig) -> str:
    """``kedro-argo[extras]==<this version>``: the extras the data root and compression need,
    the version that wrote the Dockerfile (pods run the plugin that compiled the workflow)."""
    from importlib.metadata import PackageNotFoundError, version

    from kedro_argo import __version__

    try:
        installed = version("kedro-argo")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        installed = __version__
    root = config.data.root or ""
    extras = []
    if root.startswith("s3://"):
        extras.append("s3")
    if root.startswith(("gs://", "gcs://")):
        extras.append("gcs")
    if config.data.compression == "lz4":
        extras.append("lz4")
    requirement = f"kedro-argo{'[' + ','.join(extras) + ']' if extras else ''}=={installed}"
    if not _REQUIREMENT_RE.fullmatch(requirement):  # pragma: no cover - odd local version
        raise ConfigError(f"Cannot pin kedro-argo in the Dockerfile: {requirement!r}.")
    return requirement


def default_base_image() -> str:
    """``python:<this interpreter's major.minor>-slim``: pods run the Python that compiled."""
    return f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"


# --------------------------------------------------------------------------- files


def render_config(*, project_name: str, image: str, data_root: str | None = None) -> str:
    values = {"project_name": project_name, "image": check_image(image)}
    if data_root:
        values["data_root"] = check_data_root(data_root)
    return render(CONFIG_TEMPLATE, **values)


def render_dockerfile(
    config: ArgoConfig, *, project_name: str, source: str, base_image: str | None = None
) -> str:
    base = base_image or default_base_image()
    if not IMAGE_REFERENCE_RE.fullmatch(base):
        raise ConfigError(f"base image {base!r} is not a container image reference.")
    return render(
        DOCKERFILE_TEMPLATE,
        project_name=project_name,
        project_dir=check_project_dir(config.project_dir, source),
        base_image=base,
        kedro_argo_requirement=kedro_argo_requirement(config),
    )


def render_dockerignore(*, project_name: str) -> str:
    return render(DOCKERIGNORE_TEMPLATE, project_name=project_name)


def render_workflow(config: ArgoConfig, *, project_name: str) -> str:
    if not config.image:
        raise ConfigError("argo.yml has no image: set `image` (or pass --image) first.")
    registry, repository = image_repository(config.image, f"{CONFIG_PATH}: image")
    return render(
        WORKFLOW_TEMPLATE,
        project_name=project_name,
        image_repository=repository,
        registry=registry,
    )


@dataclass(frozen=True)
class InitResult:
    """What ``init`` did, as paths relative to the project."""

    written: tuple[Path, ...]
    kept: tuple[Path, ...] = ()
    config: ArgoConfig | None = None


def init_project(
    project_path: Path,
    *,
    project_name: str,
    package_name: str,
    image: str | None = None,
    data_root: str | None = None,
    dockerfile: bool = False,
    github_actions: bool = False,
    force: bool = False,
    read_config: Callable[[Path], ArgoConfig] | None = None,
) -> InitResult:
    """Write argo.yml and the requested extras; refuse (writing nothing) if any of them
    exists and ``force`` is not set.

    ``read_config`` loads an existing argo.yml the way compile does (base + env overlays);
    default: :func:`kedro_argo.compiler.project.load_argo_config`.
    """
    from kedro_argo.config import parse_config

    check_project_name(project_name)
    if image is not None:
        check_image(image)
    extras = dockerfile or github_actions
    config_file = project_path / CONFIG_PATH
    outputs: dict[Path, str] = {}
    kept: list[Path] = []
    if config_file.exists() and extras:
        # The extras are written around the project's own argo.yml: read, never rewritten.
        kept.append(CONFIG_PATH)
        config = (read_config or _load_project_config)(project_path)
        if image is not None:
            config = config.model_copy(update={"image": image})
    else:
        text = render_config(
            project_name=project_name,
            image=image or f"{package_name.replace('_', '-')}:latest",
            data_root=data_root,
        )
        import yaml

        config = parse_config(yaml.safe_load(text), source=str(CONFIG_PATH))
        outputs[CONFIG_PATH] = text
    if dockerfile:
        outputs[DOCKERFILE_PATH] = render_dockerfile(
            config, project_name=project_name, source=str(CONFIG_PATH)
        )
        outputs[DOCKERIGNORE_PATH] = render_dockerignore(project_name=project_name)
    if github_actions:
        outputs[WORKFLOW_PATH] = render_workflow(config, project_name=project_name)
    refuse_existing(project_path, list(outputs), force)
    for relative, text in outputs.items():
        write_text(text, project_path / relative)
    return InitResult(written=tuple(outputs), kept=tuple(kept), config=config)


def refuse_existing(project_path: Path, targets: Sequence[Path], force: bool) -> None:
    if force:
        return
    existing = [str(t) for t in targets if (project_path / t).exists()]
    if not existing:
        return
    if len(existing) == 1:
        raise ConfigError(f"{existing[0]} already exists: use --force to overwrite it.")
    raise ConfigError(
        f"{', '.join(existing)} already exist: use --force to overwrite them (nothing was written)."
    )


def _load_project_config(project_path: Path) -> ArgoConfig:
    from kedro_argo.compiler.project import load_argo_config

    return load_argo_config(project_path)


# --------------------------------------------------------------------------- the starter


def finish_starter_project(
    project_path: Path,
    *,
    project_name: str,
    package_name: str,
    image: str,
    data_root: str | None,
) -> InitResult:
    """Run by the starter's cookiecutter hook inside the new project: what a wheel cannot
    ship as template files (dotfiles, empty folders), then argo.yml, the Dockerfile and the
    workflow, rendered exactly as ``kedro argo init --with-dockerfile --with-github-actions``
    renders them."""
    gitignore = project_path / "gitignore"
    if gitignore.is_file():
        gitignore.replace(project_path / ".gitignore")
    for folder in ("conf/local", *(f"data/{layer}" for layer in DATA_LAYERS)):
        (project_path / folder).mkdir(parents=True, exist_ok=True)
        (project_path / folder / ".gitkeep").touch()
    return init_project(
        project_path,
        project_name=project_name,
        package_name=package_name,
        image=image,
        data_root=data_root,
        dockerfile=True,
        github_actions=True,
    )


def describe(result: InitResult) -> list[str]:
    """The lines ``init`` (and the starter) print: what was written or kept, what next."""
    lines = [f"Wrote {', '.join(str(p) for p in result.written)}."]
    if result.kept:
        lines.append(
            f"Kept {', '.join(str(p) for p in result.kept)} (it exists; its image and "
            "project_dir were used)."
        )
    config = result.config
    if CONFIG_PATH in result.written:
        lines.append(
            f"Set `image` and `data.root` in {CONFIG_PATH}, then run `kedro argo compile` "
            "(`kedro argo run-local` runs it here first)."
        )
    if WORKFLOW_PATH in result.written and config is not None and config.image:
        registry, repository = image_repository(config.image)
        lines.append(
            f"{WORKFLOW_PATH} pushes {repository}:<commit sha> to {registry}: add the "
            f"repository secrets {', '.join(WORKFLOW_SECRETS)}"
            + (" and set schedule.cron in argo.yml" if not config.schedule.cron else "")
            + "."
        )
    return lines
