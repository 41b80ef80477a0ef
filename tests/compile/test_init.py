"""`kedro argo init`: the scaffold it writes, and the scaffold against the config model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from kedro_argo.config import ArgoConfig, parse_config
from kedro_argo.scaffold import CONFIG_TEMPLATE, render

from ..validator import assert_valid
from .support import (
    CONFIG,
    assert_cli_error,
    invoke,
    is_plain_nesting,
    model_fields,
    models_in,
    run_kedro,
    update_config,
)

SCAFFOLD = render(CONFIG_TEMPLATE, project_name="demo", image="registry.example.com/demo:1")

# A commented-out key line: `# key: …` or `# - …`, keeping the indentation after the `# `.
_COMMENTED_KEY = re.compile(
    r"^(\s*)# ?(\s*(?:(?:[a-z_][a-z0-9_]*|[A-Z][A-Z0-9_]*):(?:\s|$)|- ).*)$"
)


def uncomment(text: str) -> str:
    """The scaffold with every commented-out example key switched on."""
    return "\n".join(_COMMENTED_KEY.sub(r"\1\2", line) for line in text.splitlines()) + "\n"


def present_fields(data: Any, model: type[BaseModel], found: set[str]) -> None:
    """Record ``Model.field`` for every key of ``data`` and recurse into nested models."""
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        if key not in model.model_fields:
            continue
        found.add(f"{model.__name__}.{key}")
        annotation = model.model_fields[key].annotation
        for sub in models_in(annotation):
            # a model, or a model among other choices (``"default" | Ref | None``) given as one
            if is_plain_nesting(annotation) or (
                isinstance(value, dict) and value and set(value) <= set(sub.model_fields)
            ):
                present_fields(value, sub, found)
            elif isinstance(value, dict):  # dict[str, Model]: tags, names, env
                for item in value.values():
                    present_fields(item, sub, found)
            elif isinstance(value, list):  # list[Model]: volumes
                for item in value:
                    present_fields(item, sub, found)


def scaffold_fields() -> set[str]:
    found: set[str] = set()
    present_fields(yaml.safe_load(uncomment(SCAFFOLD)), ArgoConfig, found)
    return found


@pytest.mark.parametrize(
    "field",
    sorted(model_fields()),
)
def test_every_model_field_appears_in_the_scaffold(field: str) -> None:
    """As a key, or as a commented-out example key at the right place."""
    assert field in scaffold_fields()


def test_scaffold_loads_into_the_model() -> None:
    config = parse_config(yaml.safe_load(SCAFFOLD), source="argo.yml")
    assert config.image == "registry.example.com/demo:1"


def test_scaffold_examples_are_valid_config_too() -> None:
    config = parse_config(yaml.safe_load(uncomment(SCAFFOLD)), source="argo.yml")
    assert config.workflow.ttl is not None
    assert config.nodes.defaults.volumes is not None
    assert config.nodes.defaults.env is not None


def leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(leaves(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): data}


# Where the scaffold deliberately differs from an empty argo.yml: the image it is given, and
# recommended pod settings (the model's own default is "no requests, no retries").
SCAFFOLD_CHOICES = ("image", "nodes.defaults.resources.", "nodes.defaults.retry.")


def test_scaffold_values_equal_the_model_defaults() -> None:
    scaffold = leaves(yaml.safe_load(SCAFFOLD))
    defaults = leaves(ArgoConfig().model_dump())
    compared = {k: v for k, v in scaffold.items() if not k.startswith(SCAFFOLD_CHOICES)}
    assert len(compared) > 20
    differing = {k: (v, defaults.get(k, "<not a default>")) for k, v in compared.items()}
    differing = {k: pair for k, pair in differing.items() if pair[0] != pair[1]}
    assert not differing, f"scaffold value vs model default: {differing}"


def test_uncomment_helper_only_touches_key_lines() -> None:
    prose = [line for line in uncomment(SCAFFOLD).splitlines() if line.lstrip().startswith("#")]
    assert prose and all(not _COMMENTED_KEY.match(line) for line in prose)
    assert "#   seconds_after_success" not in uncomment(SCAFFOLD)


# --------------------------------------------------------------------------- the command


@pytest.fixture
def bare_project(project: Path) -> Path:
    (project / CONFIG).unlink()
    return project


def test_init_writes_a_config_that_loads(bare_project: Path) -> None:
    result = invoke(bare_project, "init")
    assert result.exit_code == 0, result.output
    assert "Wrote conf/base/argo.yml" in result.output
    text = (bare_project / CONFIG).read_text()
    assert text == render(CONFIG_TEMPLATE, project_name="spaceflights", image="spaceflights:latest")
    assert parse_config(yaml.safe_load(text), source="argo.yml").image == "spaceflights:latest"


def test_init_takes_the_image(bare_project: Path) -> None:
    result = invoke(bare_project, "init", "--image", "ghcr.io/acme/flights:3")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((bare_project / CONFIG).read_text())["image"] == "ghcr.io/acme/flights:3"


def test_init_refuses_an_image_that_would_break_the_yaml(bare_project: Path) -> None:
    result = invoke(bare_project, "init", "--image", 'reg.io/a:1"x')
    assert_cli_error(result, "is not a container image reference")
    assert not (bare_project / CONFIG).exists()


def test_init_refuses_to_overwrite(project: Path) -> None:
    before = (project / CONFIG).read_bytes()
    result = invoke(project, "init")
    assert_cli_error(result, "conf/base/argo.yml already exists", "--force")
    assert (project / CONFIG).read_bytes() == before


def test_init_force_overwrites(project: Path) -> None:
    result = invoke(project, "init", "--force", "--image", "img:2")
    assert result.exit_code == 0, result.output
    assert (project / CONFIG).read_text() == render(
        CONFIG_TEMPLATE, project_name="spaceflights", image="img:2"
    )


def test_init_then_compile_asks_for_data_root_then_validates(bare_project: Path) -> None:
    assert invoke(bare_project, "init").exit_code == 0
    out = bare_project / "wf.yaml"
    result = invoke(bare_project, "compile", "-o", str(out))
    assert_cli_error(result, "set data.root in argo.yml")
    assert not out.exists()
    update_config(bare_project, data={"root": "s3://bucket/runs"})
    result = invoke(bare_project, "compile", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert_valid(yaml.safe_load(out.read_text()))


def test_init_through_the_kedro_command(bare_project: Path) -> None:
    result = run_kedro(bare_project, "argo", "init", "--image", "img:9")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Wrote conf/base/argo.yml" in result.stdout + result.stderr
    assert parse_config(yaml.safe_load((bare_project / CONFIG).read_text()), source="x").image == (
        "img:9"
    )
