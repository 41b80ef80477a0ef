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
def kedro_output_to_stderr() -> Iterator[None]:
    """Keep Kedro's logging (its default rich handler writes to stdout) out of what commands
    print on stdout (YAML, URLs, tables), so their output can be piped."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


@contextlib.contextmanager
def interrupted_run() -> Iterator[None]:
    """Ctrl-C: local mode has already stopped every step (SIGTERM, then SIGKILL after the
    grace period); say so in one line and exit 130 like an interrupted shell command."""
    try:
        yield
    except KeyboardInterrupt as exc:
        name = getattr(exc, "workflow_name", None)
        again = f"kedro argo run-local --resume {name}" if name else "run again"
        click.echo(
            "Interrupted: every running step was stopped and no partial object was left in "
            f"the data root; to go on from the finished steps: {again}.",
            err=True,
        )
        sys.exit(130)


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


def _image(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from kedro_argo.argo import IMAGE_REFERENCE_RE

    if value is not None and not IMAGE_REFERENCE_RE.fullmatch(value):
        raise click.BadParameter(
            f"{value!r} is not a container image reference "
            "(e.g. registry.example.com/team/project:1.0)"
        )
    return value


image_option = click.option(
    "--image",
    default=None,
    callback=_image,
    help="Container image for every pod (overrides argo.yml's image), e.g. CI's commit tag.",
)


def _sweeps(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    from kedro_argo.compiler.sweeps import parse_sweep_options

    if not value:
        return None
    try:
        return parse_sweep_options(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def sweep_options(func: F) -> F:
    """``--sweep KEY=V1,V2`` (repeatable: a grid) and ``--max-parallel N``."""
    func = click.option(
        "--max-parallel",
        "max_parallel",
        type=click.IntRange(min=1),
        default=None,
        help="Sweep branches running at once (default: sweeps.max_parallel, else no limit).",
    )(func)
    return click.option(
        "--sweep",
        "sweeps",
        multiple=True,
        metavar="KEY=V1,V2",
        callback=_sweeps,
        help="Run the nodes that use parameter KEY (and all downstream) once per value, in one "
        "workflow; repeat for a grid (default: argo.yml's sweeps).",
    )(func)


skip_unchanged_option = click.option(
    "--skip-unchanged/--no-skip-unchanged",
    "skip_unchanged",
    default=None,
    help="Do not run again a step whose code, parameters and inputs are unchanged since an "
    "earlier successful run of it (default: argo.yml's memoize.enabled).",
)

group_by_option = click.option(
    "--group-by",
    "group_by",
    default=None,
    metavar="none|memory|namespace[:DEPTH]|tag[:PREFIX]",
    help="Which nodes share a pod (default: argo.yml's grouping, else none).",
)


@click.group(name="Kedro-Argo")
def commands() -> None:
    """Kedro-Argo: run Kedro pipelines on Argo Workflows."""


@commands.group(name="argo")
def argo() -> None:
    """Compile Kedro pipelines into Argo Workflows and run them."""


@argo.command()
@click.option("--force", is_flag=True, help="Overwrite the files init writes if they exist.")
@click.option(
    "--image", default=None, callback=_image, help="Container image (default: <package>:latest)."
)
@click.option(
    "--with-dockerfile",
    "dockerfile",
    is_flag=True,
    help="Also write a Dockerfile and .dockerignore (WORKDIR: argo.yml's project_dir).",
)
@click.option(
    "--with-github-actions",
    "github_actions",
    is_flag=True,
    help="Also write .github/workflows/kedro-argo.yml: build, push, run-once on every push.",
)
@click.pass_context
@user_errors
def init(
    ctx: click.Context, force: bool, image: str | None, dockerfile: bool, github_actions: bool
) -> None:
    """Write conf/base/argo.yml with every setting explained (and an image and CI setup).

    With --with-dockerfile / --with-github-actions an existing argo.yml is read, not
    rewritten. No file is overwritten without --force.
    """
    from kedro_argo.scaffold import describe, init_project

    root = project_path(ctx)
    metadata = ctx.find_root().obj
    with kedro_output_to_stderr():
        result = init_project(
            root,
            project_name=metadata.project_name,
            package_name=metadata.package_name,
            image=image,
            dockerfile=dockerfile,
            github_actions=github_actions,
            force=force,
        )
    for line in describe(result):
        click.echo(line)


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
@group_by_option
@image_option
@sweep_options
@skip_unchanged_option
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
    group_by: str | None,
    image: str | None,
    sweeps: dict[str, list[Any]] | None,
    max_parallel: int | None,
    skip_unchanged: bool | None,
) -> None:
    """Compile a pipeline into an Argo manifest (checked before it is written)."""
    from kedro_argo.output import to_yaml, write_text

    if cron is not None and kind != "cron":
        raise click.UsageError(
            f"--cron sets the schedule of a CronWorkflow: add --kind cron (compiling a {kind} "
            "would ignore it)."
        )
    target = output or DEFAULT_OUTPUTS[kind]
    built = build(
        ctx,
        pipeline=pipeline,
        env=env,
        kind=kind,
        runtime_params=params or {},
        name=name,
        cron=cron,
        group_by=group_by,
        image=image,
        sweeps=sweeps,
        max_parallel=max_parallel,
        skip_unchanged=skip_unchanged,
    )
    write_text(to_yaml(built.manifest), target)
    if target != "-":
        plan = built.plan
        nodes = sum(len(s.nodes) for s in plan.steps)
        nested = len(plan.dags) - 1
        click.echo(
            f"Wrote {target}: {built.manifest['kind']} with {len(plan.steps)} steps for "
            f"{nodes} nodes (grouping: {built.grouping}), {len(plan.templates)} step "
            f"template(s){f', {nested} nested DAG(s)' if nested else ''}; "
            f"{len(plan.stored)} dataset(s) passed between "
            "steps through data.root.",
            err=True,
        )


def build(ctx: click.Context, **request: Any) -> Any:
    """Compile the project's pipeline (shared by every command that needs a manifest)."""
    from kedro_argo.compiler.build import BuildRequest, build_manifest

    with kedro_output_to_stderr():
        built = build_manifest(BuildRequest(project_path=project_path(ctx), **request))
    for note in built.notes:
        click.echo(f"Note: {note}", err=True)
    return built


context_option = click.option(
    "--context",
    default=None,
    metavar="NAME",
    help="kubeconfig context (kubeconfig mode: no ARGO_SERVER / server.url, or server.mode: "
    "kubernetes). Default: server.context, else the current context.",
)


def project_config(ctx: click.Context, env: str | None) -> Any:
    """argo.yml alone, for commands that need the server but not a manifest."""
    from kedro_argo.compiler.project import load_argo_config

    with kedro_output_to_stderr():
        return load_argo_config(project_path(ctx), env=env)


@argo.command(name="run-once")
@pipeline_option
@env_option
@params_option
@click.option("--wait", is_flag=True, help="Follow the run; exit 0 only if it succeeds.")
@click.option("--poll-interval", default=5.0, hidden=True, type=float)
@group_by_option
@image_option
@sweep_options
@skip_unchanged_option
@context_option
@click.pass_context
@user_errors
def run_once(
    ctx: click.Context,
    pipeline: str,
    env: str | None,
    params: dict[str, Any],
    wait: bool,
    poll_interval: float,
    group_by: str | None,
    image: str | None,
    sweeps: dict[str, list[Any]] | None,
    max_parallel: int | None,
    context: str | None,
    skip_unchanged: bool | None,
) -> None:
    """Compile, validate and submit one run of a pipeline to the cluster."""
    from kedro_argo.server import connect

    built = build(
        ctx,
        pipeline=pipeline,
        env=env,
        kind="workflow",
        runtime_params=params or {},
        group_by=group_by,
        image=image,
        sweeps=sweeps,
        max_parallel=max_parallel,
        skip_unchanged=skip_unchanged,
    )
    with connect(built.facts.config, context=context) as backend:
        created = backend.create_workflow(built.manifest)
        name = created["metadata"]["name"]
        click.echo(f"Submitted {name}: {backend.link(name)}")
        if wait:
            final = follow(backend, name, poll_interval)
            ctx.exit(report_outcome(backend, final))


@argo.command()
@click.argument("name")
@click.option("--wait", is_flag=True, help="Follow the run; exit 0 only if it succeeds.")
@click.option("--poll-interval", default=5.0, hidden=True, type=float)
@env_option
@context_option
@click.pass_context
@user_errors
def resume(
    ctx: click.Context,
    name: str,
    wait: bool,
    poll_interval: float,
    env: str | None,
    context: str | None,
) -> None:
    """Resume a failed workflow on the cluster (Argo's retry): the steps that succeeded are
    kept, with their intermediate data; the others run again in the same workflow."""
    from kedro_argo.server import connect

    with connect(project_config(ctx, env), context=context) as backend:
        phase = (backend.get_workflow(name).get("status") or {}).get("phase") or "Pending"
        if phase == "Succeeded":
            raise click.ClickException(f"Workflow {name} succeeded: there is nothing to resume.")
        if phase not in ("Failed", "Error"):
            raise click.ClickException(
                f"Workflow {name} is {phase}: only a Failed or Error workflow can be resumed "
                f"(wait for it: kedro argo status {name})."
            )
        backend.retry_workflow(name)
        click.echo(f"Resumed {name}: {backend.link(name)}")
        if wait:
            final = follow(backend, name, poll_interval)
            ctx.exit(report_outcome(backend, final))


def follow(backend: Any, name: str, poll_interval: float) -> dict[str, Any]:
    """Wait for a workflow, showing live per-step progress (plain lines when not a TTY)."""
    from rich.console import Console
    from rich.live import Live

    from kedro_argo.server.status import status_table, step_nodes

    console = Console(stderr=True)
    if console.is_terminal:
        with Live(console=console, refresh_per_second=4) as live:
            return backend.wait_for_workflow(
                name,
                on_update=lambda wf: live.update(status_table(wf)),
                poll_interval=poll_interval,
            )
    seen: dict[str, str] = {}

    def show(workflow: dict[str, Any]) -> None:
        for node in step_nodes(workflow):
            phase = node.get("phase", "Pending")
            if seen.get(node["id"]) != phase:
                seen[node["id"]] = phase
                console.print(f"{node.get('displayName')}: {phase}", highlight=False)

    return backend.wait_for_workflow(name, on_update=show, poll_interval=poll_interval)


def report_outcome(backend: Any, workflow: dict[str, Any]) -> int:
    """Print the final table; on failure, which step failed and its log tail. Exit code."""
    from rich.console import Console

    from kedro_argo.server.status import failed_steps, log_tail, status_table

    console = Console(stderr=True)
    console.print(status_table(workflow))
    phase = (workflow.get("status") or {}).get("phase")
    name = workflow["metadata"]["name"]
    if phase == "Succeeded":
        click.echo(f"Workflow {name} succeeded.")
        return 0
    message = (workflow.get("status") or {}).get("message") or ""
    click.echo(f"Workflow {name} ended {phase}{': ' + message if message else ''}", err=True)
    for node in failed_steps(workflow):
        click.echo(f"Step {node.get('displayName')} failed: {node.get('message', '')}", err=True)
        try:
            tail = log_tail(backend, workflow, node)
        except KedroArgoError as exc:
            tail = [f"(logs unavailable: {exc})"]
        for line in tail:
            click.echo(f"  | {line}", err=True)
    return 1


@argo.command()
@click.option("--cron", default=None, help="Cron expression (default: schedule.cron).")
@click.option("--timezone", default=None, help="IANA timezone (default: schedule.timezone).")
@click.option("--name", default=None, help="CronWorkflow name (default: <project>-<pipeline>).")
@pipeline_option
@env_option
@params_option
@click.option("--list", "list_", is_flag=True, help="List this project's schedules.")
@click.option("--delete", default=None, metavar="NAME", help="Delete a schedule.")
@group_by_option
@image_option
@sweep_options
@skip_unchanged_option
@context_option
@click.pass_context
@user_errors
def schedule(
    ctx: click.Context,
    cron: str | None,
    timezone: str | None,
    name: str | None,
    pipeline: str,
    env: str | None,
    params: dict[str, Any],
    list_: bool,
    delete: str | None,
    group_by: str | None,
    image: str | None,
    sweeps: dict[str, list[Any]] | None,
    max_parallel: int | None,
    context: str | None,
    skip_unchanged: bool | None,
) -> None:
    """Create or update (never duplicate) a CronWorkflow for a pipeline."""
    from kedro_argo.server import connect
    from kedro_argo.server.status import project_selector

    if list_ or delete:
        with connect(project_config(ctx, env), context=context) as backend:
            if delete:
                backend.delete("CronWorkflow", delete)
                click.echo(f"Deleted schedule {delete}.")
                return
            selector = project_selector(ctx.find_root().obj.project_name)
            print_schedules(backend.list("CronWorkflow", selector))
        return
    built = build(
        ctx,
        pipeline=pipeline,
        env=env,
        kind="cron",
        runtime_params=params or {},
        name=name,
        cron=cron,
        timezone=timezone,
        group_by=group_by,
        image=image,
        sweeps=sweeps,
        max_parallel=max_parallel,
        skip_unchanged=skip_unchanged,
    )
    with connect(built.facts.config, context=context) as backend:
        saved = backend.upsert(built.manifest)
    spec = saved.get("spec", built.manifest["spec"])
    where = f" ({spec['timezone']})" if spec.get("timezone") else ""
    click.echo(
        f"Schedule {saved['metadata']['name']}: {', '.join(spec['schedules'])}{where} "
        f"runs pipeline '{pipeline}'."
    )


def print_schedules(items: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "schedules", "timezone", "suspended", "last run")
    for item in items:
        spec = item.get("spec") or {}
        table.add_row(
            item["metadata"]["name"],
            ", ".join(spec.get("schedules") or []),
            spec.get("timezone") or "",
            "yes" if spec.get("suspend") else "no",
            (item.get("status") or {}).get("lastScheduledTime") or "",
        )
    Console().print(table)


@argo.command()
@pipeline_option
@env_option
@params_option
@click.option("--name", default=None, help="WorkflowTemplate name (default: <project>-<pipeline>).")
@group_by_option
@image_option
@sweep_options
@skip_unchanged_option
@context_option
@click.pass_context
@user_errors
def upload(
    ctx: click.Context,
    pipeline: str,
    env: str | None,
    params: dict[str, Any],
    name: str | None,
    group_by: str | None,
    image: str | None,
    sweeps: dict[str, list[Any]] | None,
    max_parallel: int | None,
    context: str | None,
    skip_unchanged: bool | None,
) -> None:
    """Create or update the pipeline as a WorkflowTemplate on the cluster."""
    from kedro_argo.server import connect

    built = build(
        ctx,
        pipeline=pipeline,
        env=env,
        kind="template",
        runtime_params=params or {},
        name=name,
        group_by=group_by,
        image=image,
        sweeps=sweeps,
        max_parallel=max_parallel,
        skip_unchanged=skip_unchanged,
    )
    with connect(built.facts.config, context=context) as backend:
        saved = backend.upsert(built.manifest)
    click.echo(
        f"WorkflowTemplate {saved['metadata']['name']} saved ({len(built.plan.steps)} steps)."
    )


@argo.command(name="list")
@env_option
@context_option
@click.pass_context
@user_errors
def list_(ctx: click.Context, env: str | None, context: str | None) -> None:
    """List this project's WorkflowTemplates and schedules on the cluster."""
    from rich.console import Console
    from rich.table import Table

    from kedro_argo.server import connect
    from kedro_argo.server.status import project_selector

    config = project_config(ctx, env)
    selector = project_selector(ctx.find_root().obj.project_name)
    with connect(config, context=context) as backend:
        templates = backend.list("WorkflowTemplate", selector)
        crons = backend.list("CronWorkflow", selector)
    table = Table("kind", "name", "pipeline", "commit")
    for kind, items in (("WorkflowTemplate", templates), ("CronWorkflow", crons)):
        for item in items:
            annotations = item["metadata"].get("annotations") or {}
            table.add_row(
                kind,
                item["metadata"]["name"],
                annotations.get("kedro.org/pipeline", ""),
                annotations.get("kedro.org/commit", ""),
            )
    Console().print(table)


@argo.command()
@click.argument("name", required=False)
@click.option("--open", "open_", is_flag=True, help="Open it in the browser.")
@env_option
@click.pass_context
@user_errors
def ui(ctx: click.Context, name: str | None, open_: bool, env: str | None) -> None:
    """Print the Argo UI URL (of one workflow, or of the namespace); needs the Argo Server."""
    from kedro_argo.server import connect

    with connect(project_config(ctx, env)) as backend:
        url = backend.ui_url(name)
    click.echo(url)
    if open_:
        import webbrowser

        webbrowser.open(url)


@argo.command()
@click.argument("name")
@env_option
@context_option
@click.pass_context
@user_errors
def status(ctx: click.Context, name: str, env: str | None, context: str | None) -> None:
    """Show a workflow's phase, the state of each step, and the results its steps showed."""
    from rich.console import Console

    from kedro_argo.results import result_lines, workflow_results
    from kedro_argo.server import connect
    from kedro_argo.server.status import status_table

    with connect(project_config(ctx, env), context=context) as backend:
        workflow = backend.get_workflow(name)
        results = workflow_results(
            workflow, lambda node, artifact: backend.artifact_url(name, node, artifact)
        )
    Console().print(status_table(workflow))
    for line in result_lines(results):
        click.echo(line)


@argo.command()
@click.argument("name")
@click.option("--step", default=None, help="Only this step (DAG task or Kedro node name).")
@env_option
@context_option
@click.pass_context
@user_errors
def logs(
    ctx: click.Context, name: str, step: str | None, env: str | None, context: str | None
) -> None:
    """Print a workflow's logs, or one step's."""
    from kedro_argo.server import connect
    from kedro_argo.server.status import find_step, last_pod

    with connect(project_config(ctx, env), context=context) as backend:
        pod = None
        if step:
            workflow = backend.get_workflow(name)
            node = find_step(workflow, step)
            if node.get("phase") in {"Omitted", "Skipped"} or node.get("type") == "Skipped":
                raise click.ClickException(
                    f"Step {step} of {name} never ran ({node.get('phase')}): it has no logs."
                )
            pod = last_pod(workflow, node)
        for line in backend.workflow_logs(name, pod):
            click.echo(line)


@argo.command(name="run-local")
@pipeline_option
@env_option
@params_option
@click.option(
    "--manifest",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Run this manifest (Workflow, WorkflowTemplate or CronWorkflow) instead of compiling.",
)
@click.option("--parallelism", type=click.IntRange(min=1), default=None, help="Steps at once.")
@click.option(
    "--data-root", default=None, help="Intermediate data location (default: data.local_root)."
)
@click.option(
    "--argument",
    "arguments",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a workflow parameter (repeatable).",
)
@click.option("--progress/--no-progress", default=None, help="Live table (default: on a TTY).")
@click.option(
    "--resume",
    default=None,
    metavar="RUN",
    help="Resume the failed or interrupted local run RUN (workflow name or uid): "
    "its succeeded steps are not run again.",
)
@group_by_option
@sweep_options
@skip_unchanged_option
@click.pass_context
@user_errors
def run_local(
    ctx: click.Context,
    pipeline: str,
    env: str | None,
    params: dict[str, Any],
    manifest: Path | None,
    parallelism: int | None,
    data_root: str | None,
    arguments: tuple[str, ...],
    progress: bool | None,
    resume: str | None,
    group_by: str | None,
    sweeps: dict[str, list[Any]] | None,
    max_parallel: int | None,
    skip_unchanged: bool | None,
) -> None:
    """Run the compiled workflow on this machine, each step in its own process."""
    from kedro_argo.local.run import LocalRequest
    from kedro_argo.local.run import run_local as execute

    if resume is not None:
        fixed = ("pipeline", "env", "params", "manifest", "data_root", "arguments")
        given = [
            f"--{name.replace('_', '-')}"
            for name in (*fixed, "group_by", "sweeps", "max_parallel", "skip_unchanged")
            if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
        ]
        if given:
            shown = ", ".join(
                {"--arguments": "--argument", "--sweeps": "--sweep"}.get(g, g) for g in given
            )
            raise click.UsageError(
                f"--resume runs the earlier run again as it was; {shown} cannot change it "
                "(start a new run without --resume instead)."
            )
    if manifest is not None and group_by is not None:
        raise click.UsageError(
            "--group-by applies when compiling; a manifest given with --manifest runs as it is "
            "(compile it with --group-by instead)."
        )
    if manifest is not None and (sweeps or max_parallel is not None):
        raise click.UsageError(
            "--sweep and --max-parallel apply when compiling; a manifest given with --manifest "
            "runs as it is (compile it with them instead)."
        )
    if manifest is not None and skip_unchanged is not None:
        raise click.UsageError(
            "--skip-unchanged applies when compiling; a manifest given with --manifest runs as "
            "it is (compile it with --skip-unchanged instead)."
        )
    pairs = {}
    for item in arguments:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} must look like NAME=VALUE", param_hint="--argument")
        pairs[name] = value
    with kedro_output_to_stderr(), interrupted_run():
        result = execute(
            LocalRequest(
                project_path=project_path(ctx),
                pipeline=pipeline,
                env=env,
                runtime_params=params or {},
                manifest_path=manifest,
                parallelism=parallelism,
                data_root=data_root,
                arguments=pairs,
                progress=progress,
                group_by=group_by,
                sweeps=sweeps,
                max_parallel=max_parallel,
                skip_unchanged=skip_unchanged,
                resume=resume,
            ),
            notify=lambda note: click.echo(f"Note: {note}", err=True),
        )
    if not result.succeeded:
        click.echo(
            f"Error: workflow {result.workflow_name} {result.phase.value.lower()}: "
            f"{result.message} (logs: {result.log_dir}; once fixed: "
            f"kedro argo run-local --resume {result.workflow_name})",
            err=True,
        )
        ctx.exit(1)
    click.echo(f"Workflow {result.workflow_name} succeeded in {result.duration:.1f}s.", err=True)


@argo.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option(
    "--strict-refs",
    is_flag=True,
    help="Unresolved workflowTemplateRef / templateRef are errors (give their files too).",
)
@click.option("--submit", is_flag=True, help="WorkflowTemplate arguments need values.")
@click.option("--quiet", "-q", is_flag=True, help="Print the problems only.")
@click.pass_context
@user_errors
def validate(
    ctx: click.Context, files: tuple[str, ...], strict_refs: bool, submit: bool, quiet: bool
) -> None:
    """Check manifests offline against Argo v4's rules: one line per problem, exit 1 on any.

    Any Workflow, WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow, compiled here or
    written by hand; WorkflowTemplates given together resolve each other's references.
    """
    from kedro_argo.validation import ARGO_VERSION, load_documents, validate_documents

    try:
        documents = load_documents(files)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    found = validate_documents(documents, submit=submit, strict_refs=strict_refs)
    for problem in found:
        click.echo(str(problem))
    errors = sum(p.problem.level == "error" for p in found)
    if not quiet:
        click.echo(
            f"{len(documents)} document(s): {errors} error(s), {len(found) - errors} "
            f"warning(s) (Argo {ARGO_VERSION} schemas and rules).",
            err=True,
        )
    ctx.exit(1 if errors else 0)
