"""``kedro argo …``: thin click commands over the library.

Each command parses options (reusing Kedro's own ``--env`` and ``--params`` parsing), calls
one library function and turns :class:`~kedro_argo.errors.KedroArgoError` into a single
``Error: …`` line with exit code 1. Heavy imports happen inside commands so that ``kedro``
itself stays fast. There is deliberately no top-level ``run`` command: packaged Kedro
projects would pick it up instead of their own.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
from kedro.framework.cli.utils import _split_params, env_option

from kedro_argo.errors import KedroArgoError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_OUTPUTS = {
    "workflow": "argo-workflow.yaml",
    "template": "argo-workflow-template.yaml",
    "cron": "argo-cron-workflow.yaml",
}


def user_errors(func: F) -> F:
    """The one boundary where our errors become a clean CLI failure."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KedroArgoError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def project_path(ctx: click.Context) -> Path:
    metadata = ctx.find_root().obj
    if metadata is None or not hasattr(metadata, "project_path"):
        raise click.ClickException(
            "Not inside a Kedro project: run this from the project folder "
            "(the one whose pyproject.toml has a [tool.kedro] section)."
        )
    return Path(metadata.project_path)


@contextlib.contextmanager
def stdout_to_stderr(enabled: bool) -> Iterator[None]:
    """Keep Kedro's logging (rich writes to stdout) out of YAML written to stdout."""
    if not enabled:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


pipeline_option = click.option(
    "--pipeline", "-p", default="__default__", show_default=True, help="Registered pipeline."
)
params_option = click.option(
    "--params",
    type=click.UNPROCESSED,
    default="",
    callback=_split_params,
    help="Kedro parameters, as for `kedro run`: key1=value1,key2.sub=value2.",
)


@click.group(name="Kedro-Argo")
def commands() -> None:
    """Kedro-Argo: run Kedro pipelines on Argo Workflows."""


@commands.group(name="argo")
def argo() -> None:
    """Compile Kedro pipelines into Argo Workflows and run them."""


@argo.command()
@click.option("--force", is_flag=True, help="Overwrite an existing conf/base/argo.yml.")
@click.option("--image", default=None, help="Container image (default: <package>:latest).")
@click.pass_context
@user_errors
def init(ctx: click.Context, force: bool, image: str | None) -> None:
    """Write conf/base/argo.yml with every setting explained."""
    from kedro_argo.scaffold import write_config

    root = project_path(ctx)
    metadata = ctx.find_root().obj
    target = write_config(
        root,
        project_name=metadata.project_name,
        image=image or f"{metadata.package_name.replace('_', '-')}:latest",
        force=force,
    )
    click.echo(
        f"Wrote {target.relative_to(root)}: set `image` and `data.root`, then run "
        "`kedro argo compile`."
    )


@argo.command(name="compile")
@pipeline_option
@env_option
@click.option(
    "--output", "-o", default=None, help="File to write ('-' for stdout). Default by kind."
)
@click.option(
    "--kind",
    type=click.Choice(["workflow", "template", "cron"]),
    default="workflow",
    show_default=True,
    help="Workflow, WorkflowTemplate or CronWorkflow.",
)
@params_option
@click.option("--name", default=None, help="metadata.name (templates and schedules).")
@click.option("--cron", default=None, help="Cron schedule for --kind cron.")
@click.pass_context
@user_errors
def compile_(
    ctx: click.Context,
    pipeline: str,
    env: str | None,
    output: str | None,
    kind: str,
    params: dict[str, Any],
    name: str | None,
    cron: str | None,
) -> None:
    """Compile a pipeline into an Argo manifest (checked before it is written)."""
    from kedro_argo.manifest import to_yaml, write_text
    from kedro_argo.workflow import BuildRequest, build_manifest

    root = project_path(ctx)
    target = output or DEFAULT_OUTPUTS[kind]
    with stdout_to_stderr(target == "-"):
        built = build_manifest(
            BuildRequest(
                project_path=root,
                pipeline=pipeline,
                env=env,
                kind=kind,  # type: ignore[arg-type]
                runtime_params=params or {},
                name=name,
                cron=cron,
            )
        )
        text = to_yaml(built.manifest)
    write_text(text, target)
    if target != "-":
        exchanged = len(built.facts.exchanged_datasets)
        click.echo(
            f"Wrote {target}: {built.manifest['kind']} with {len(built.plan.steps)} steps; "
            f"{exchanged} dataset(s) passed between steps through data.root.",
            err=True,
        )
