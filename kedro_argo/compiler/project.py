"""The only compile-time module that touches Kedro.

It opens the project once and reduces it to plain facts (:class:`ProjectFacts`): the nodes of
the chosen pipeline, the registered pipelines, what the catalog says about each dataset, the
parameters, the git commit and the parsed ``argo.yml``. Everything after this is pure.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from kedro_argo.compiler.facts import NodeSpec, ProjectFacts
from kedro_argo.config import ArgoConfig, parse_config
from kedro_argo.contract import SWEEP_ENV
from kedro_argo.datasets import is_exchanged, is_memory_only, is_parameter
from kedro_argo.errors import ConfigError, ProjectError
from kedro_argo.gitinfo import commit_id

CONFIG_KEY = "argo"
CONFIG_PATTERNS = ["argo*", "argo*/**", "**/argo*"]


def find_config_files(
    project_path: Path,
    conf_source: str,
    env: str | None,
    base_env: str = "base",
    default_env: str = "local",
) -> list[Path]:
    """The ``argo*.yml`` files Kedro would merge for ``env`` (base first)."""
    conf_root = project_path / conf_source
    envs = [base_env, env or os.environ.get("KEDRO_ENV") or default_env]
    found: list[Path] = []
    for name in dict.fromkeys(envs):
        folder = conf_root / name
        if folder.is_dir():
            found += sorted(
                p for p in folder.rglob("argo*") if p.suffix in {".yml", ".yaml", ".json"}
            )
    return found


def load_config(
    context: Any, project_path: Path, conf_source: str, env: str | None
) -> tuple[ArgoConfig, tuple[str, ...]]:
    """Read ``argo.yml`` through the project's own config loader (so ``-e`` overlays work)."""
    loader = context.config_loader
    base_env = getattr(loader, "base_env", None) or "base"
    default_env = getattr(loader, "default_run_env", None) or "local"
    files = find_config_files(project_path, conf_source, env, base_env, default_env)
    if not files:
        raise ConfigError(
            f"No argo.yml found in {conf_source}/{base_env} or {conf_source}/"
            f"{env or default_env}: run `kedro argo init` to create one."
        )
    shown = tuple(str(p.relative_to(project_path)) for p in files)
    loader.config_patterns.setdefault(CONFIG_KEY, CONFIG_PATTERNS)
    if isinstance(getattr(loader, "merge_strategy", None), dict):
        # conf/<env>/argo.yml overrides keys, not whole sections
        loader.merge_strategy.setdefault(CONFIG_KEY, "soft")
    try:
        raw = loader[CONFIG_KEY]
    except Exception as exc:  # Kedro raises several types for bad YAML / duplicate keys
        raise ConfigError(f"{' + '.join(shown)}: cannot be read: {_first_line(exc)}") from None
    return parse_config(raw, source=" + ".join(shown)), shown


def load_argo_config(project_path: Path, *, env: str | None = None) -> ArgoConfig:
    """Only ``argo.yml``: for commands that talk to the server but need no manifest (no
    pipelines imported, no catalog built)."""
    from kedro.framework.project import settings
    from kedro.framework.session import KedroSession

    project_path, _metadata = _bootstrap(project_path)
    env = env or os.environ.get("KEDRO_ENV") or None
    check_environment(project_path, env)
    with KedroSession.create(project_path=project_path, env=env) as session:
        context = session.load_context()
        config, _files = load_config(context, project_path, str(settings.CONF_SOURCE), env)
    return config


def check_environment(project_path: Path, env: str | None) -> None:
    """Refuse an ``--env`` with no folder under the project's conf source (Kedro's own message
    blames whichever config file it reads first)."""
    if not env:
        return
    from kedro.framework.project import settings

    source = str(settings.CONF_SOURCE)
    conf = project_path / source
    if conf.is_dir() and not (conf / env).is_dir():
        known = ", ".join(sorted(p.name for p in conf.iterdir() if p.is_dir())) or "none"
        raise ProjectError(
            f"Kedro environment '{env}' does not exist: there is no folder {source}/{env} "
            f"(environments: {known})."
        )


def _bootstrap(project_path: Path) -> tuple[Path, Any]:
    """Kedro's ``bootstrap_project``, skipped when the ``kedro`` command already did it for
    this very project in this process (it re-reads settings through dynaconf: ~0.1 s)."""
    from kedro.framework import project as kedro_project
    from kedro.framework.startup import bootstrap_project

    project_path = project_path.resolve()
    if not (project_path / "pyproject.toml").is_file():
        raise ProjectError(
            f"{project_path} is not a Kedro project (no pyproject.toml with [tool.kedro])."
        )
    try:
        metadata = _already_bootstrapped(project_path, kedro_project)
        if metadata is None:
            metadata = bootstrap_project(project_path)
    except Exception as exc:
        raise ProjectError(f"Cannot load the Kedro project: {_first_line(exc)}") from None
    return project_path, metadata


def _already_bootstrapped(project_path: Path, kedro_project: Any) -> Any:
    import sys

    from kedro.framework import startup

    read_metadata = getattr(startup, "_get_project_metadata", None)
    if read_metadata is None:  # pragma: no cover - another Kedro layout: bootstrap again
        return None
    metadata = read_metadata(project_path)
    source = str((project_path / metadata.source_dir).resolve())
    same_package = getattr(kedro_project, "PACKAGE_NAME", None) == metadata.package_name
    return metadata if same_package and sys.path[:1] == [source] else None


def load_project(
    project_path: Path,
    *,
    pipeline_name: str = "__default__",
    env: str | None = None,
    runtime_params: Mapping[str, Any] | None = None,
    with_parameters: bool = False,
) -> ProjectFacts:
    """Open the Kedro project at ``project_path`` and reduce it to :class:`ProjectFacts`
    (``with_parameters``: load every parameter's value, as a sweep needs)."""
    from kedro.framework.project import pipelines, settings
    from kedro.framework.session import KedroSession

    project_path, metadata = _bootstrap(project_path)
    env = env or os.environ.get("KEDRO_ENV") or None  # as Kedro itself does; pods get it too
    check_environment(project_path, env)

    with (
        sweep_marker(),
        KedroSession.create(
            project_path=project_path, env=env, runtime_params=dict(runtime_params or {})
        ) as session,
    ):
        context = session.load_context()
        config, files = load_config(context, project_path, str(settings.CONF_SOURCE), env)
        registered = {name: pipelines[name] for name in sorted(pipelines.keys())}
        if pipeline_name not in registered:
            known = ", ".join(registered) or "none"
            raise ProjectError(
                f"Pipeline '{pipeline_name}' is not registered (available: {known})."
            )
        pipeline = registered[pipeline_name]
        if not pipeline.nodes:
            raise ProjectError(f"Pipeline '{pipeline_name}' has no nodes.")
        try:
            catalog = declared_catalog(context)
        except Exception as exc:
            raise ProjectError(
                f"The project's catalog cannot be built here: {_first_line(exc)} (compile reads "
                "it to tell files from in-memory datasets: install the dataset's package here)."
            ) from None
        with compiled_factory_patterns():
            exchanged, versioned = classify_datasets(catalog, pipeline.datasets())
            varying = branch_varying(catalog, pipeline.datasets() - exchanged)
            memory_only = {name for name in exchanged if is_memory_only(catalog, name)}
        # only exposed parameters need their values here (Kedro validates them all: ~0.1 s)
        try:
            wanted = config.parameters or config.sweeps.parameters or with_parameters
            parameters = dict(context.params) if wanted else {}
        except Exception as exc:  # OmegaConf: a ${…} in --params or parameters.yml
            raise ProjectError(
                f"The project's parameters cannot be loaded: {_first_line(exc)} (a ${{…}} in "
                "--params or parameters.yml is resolved by Kedro's config loader)."
            ) from None
        mlflow = uses_kedro_mlflow(session)

    return ProjectFacts(
        project_path=project_path,
        project_name=metadata.project_name,
        package_name=metadata.package_name,
        env=env,
        pipeline_name=pipeline_name,
        nodes=tuple(node_spec(n) for n in pipeline.nodes),
        registered={name: frozenset(n.name for n in p.nodes) for name, p in registered.items()},
        all_tags=frozenset(t for p in registered.values() for n in p.nodes for t in n.tags),
        node_tags={n.name: frozenset(n.tags) for p in registered.values() for n in p.nodes},
        exchanged_datasets=frozenset(exchanged),
        versioned_datasets=frozenset(versioned),
        parameters=parameters,
        runtime_params=dict(runtime_params or {}),
        commit_id=commit_id(project_path),
        config=config,
        config_files=files,
        step_hosts=step_hosts(pipeline, registered),
        memory_only_datasets=frozenset(memory_only),
        mlflow=mlflow,
        branch_varying_datasets=frozenset(varying),
    )


def uses_kedro_mlflow(session: Any) -> bool:
    """Whether kedro-mlflow's hooks run in this project's sessions: it is installed here and
    not in ``DISABLE_HOOKS_FOR_PLUGINS``, or its hook (or a subclass) is in
    ``settings.HOOKS``. Then the
    workflow gets one MLflow run for all its pods (see :mod:`kedro_argo.runtime.mlflow`).
    Nothing is imported to tell (the session has loaded the hooks already)."""
    manager = getattr(session, "_hook_manager", None)
    if manager is None:  # pragma: no cover - another Kedro layout
        import importlib.util

        from kedro.framework.project import settings

        disabled = getattr(settings, "DISABLE_HOOKS_FOR_PLUGINS", ())
        return importlib.util.find_spec("kedro_mlflow") is not None and (
            "kedro-mlflow" not in disabled
        )
    return any(_from_kedro_mlflow(p) for p in manager.get_plugins())


def _from_kedro_mlflow(plugin: Any) -> bool:
    """A hook object of a kedro-mlflow class (or a subclass), or a kedro-mlflow module."""
    if isinstance(plugin, type(os)):
        modules = [plugin.__name__]
    else:
        modules = [getattr(cls, "__module__", None) or "" for cls in type(plugin).__mro__]
    return any(module.split(".")[0] == "kedro_mlflow" for module in modules)


def declared_catalog(context: Any) -> Any:
    """The catalog as the project's catalog and credentials configuration declare it.

    Not ``context.catalog``: that also turns every parameter into a MemoryDataset, which imports
    pandas and numpy (~0.5 s) whatever the project uses, and runs ``after_catalog_created``
    hooks; compile only asks which datasets are declared, of what type, versioned or not.
    """
    from kedro.framework.project import settings

    catalog_class = getattr(settings, "DATA_CATALOG_CLASS", None)
    credentials = getattr(context, "_get_config_credentials", None)
    if catalog_class is None or credentials is None:  # pragma: no cover - other Kedro shapes
        return context.catalog
    try:
        catalog = catalog_class.from_config(
            catalog=context.config_loader["catalog"], credentials=credentials()
        )
    except TypeError:  # a custom catalog class with another constructor
        return context.catalog
    # Classification asks about each dataset several times (in? type? versioned?), and each
    # question matches the name against every factory pattern: remember the answers.
    resolver = getattr(catalog, "config_resolver", None)
    match = getattr(resolver, "match_dataset_pattern", None)
    if match is not None:
        resolver.match_dataset_pattern = functools.lru_cache(maxsize=None)(match)
    return catalog


@contextlib.contextmanager
def compiled_factory_patterns() -> Iterator[None]:
    """While classifying: Kedro matches a name against a factory pattern with
    ``parse.parse(pattern, name)``, which compiles the pattern anew on every call (2,000
    datasets x every pattern). Same answers from patterns compiled once."""
    try:
        import parse as parse_module
        from kedro.io import catalog_config_resolver as resolver_module
    except ImportError:  # pragma: no cover - another Kedro layout: nothing to speed up
        yield
        return
    original = getattr(resolver_module, "parse", None)
    if original is not parse_module.parse:  # pragma: no cover - Kedro changed how it matches
        yield
        return
    compiled = functools.lru_cache(maxsize=None)(parse_module.compile)

    def parse(pattern: str, string: str, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return original(pattern, string, *args, **kwargs)
        return compiled(pattern).parse(string)

    resolver_module.parse = parse
    try:
        yield
    finally:
        resolver_module.parse = original


def step_hosts(target: Any, registered: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Registered pipelines that can run each node of ``target`` exactly as compiled."""
    wanted = {n.name: (tuple(n.inputs), tuple(n.outputs)) for n in target.nodes}
    return {
        name: frozenset(
            n.name for n in p.nodes if wanted.get(n.name) == (tuple(n.inputs), tuple(n.outputs))
        )
        for name, p in registered.items()
    }


def node_spec(node: Any) -> NodeSpec:
    """A Kedro node reduced to the facts the planner needs."""
    return NodeSpec(
        name=node.name,
        inputs=tuple(node.inputs),
        outputs=tuple(node.outputs),
        tags=frozenset(node.tags),
        namespace=node.namespace,
    )


#: What ``${argo:sweep}`` resolves to while compile reads the catalog: a dataset whose
#: configuration then holds it has a path that differs per branch of a sweep.
SWEEP_MARKER = "kedro-argo-sweep-branch-marker"


@contextlib.contextmanager
def sweep_marker() -> Iterator[None]:
    previous = os.environ.get(SWEEP_ENV)
    os.environ[SWEEP_ENV] = SWEEP_MARKER
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(SWEEP_ENV, None)
        else:
            os.environ[SWEEP_ENV] = previous


def branch_varying(catalog: Any, names: Iterable[str]) -> set[str]:
    """Declared datasets whose resolved configuration names ``${argo:sweep}``."""
    resolver = getattr(catalog, "config_resolver", None)
    return {
        name
        for name in names
        if not is_parameter(name)
        and (config := _dataset_config(resolver, name)) is not None
        and SWEEP_MARKER in repr(config)
    }


def classify_datasets(catalog: Any, names: set[str]) -> tuple[set[str], set[str]]:
    """Split datasets into those pods must exchange (see :mod:`kedro_argo.datasets`) and
    those that are versioned (their save version is pinned per workflow run).

    Each dataset's configuration is resolved once, and a dataset type is asked of the
    catalog once per type string (``catalog.get_type`` imports the class: thousands of
    datasets share a handful of types)."""
    resolver = getattr(catalog, "config_resolver", None)
    exchanged: set[str] = set()
    versioned: set[str] = set()
    exchanged_by_type: dict[str, bool] = {}
    for name in names:
        if is_parameter(name):
            continue
        if name not in catalog:
            exchanged.add(name)
            continue
        config = _dataset_config(resolver, name)
        kind = config.get("type") if config is not None else None
        if isinstance(kind, str):
            if kind not in exchanged_by_type:
                exchanged_by_type[kind] = is_exchanged(catalog, name)
            if exchanged_by_type[kind]:
                exchanged.add(name)
            elif config.get("versioned"):
                versioned.add(name)
        elif is_exchanged(catalog, name):
            exchanged.add(name)
        elif is_versioned(catalog, name):
            versioned.add(name)
    return exchanged, versioned


def _dataset_config(resolver: Any, name: str) -> Mapping[str, Any] | None:
    if resolver is None:
        return None
    try:
        config = resolver.resolve_pattern(name)
    except Exception:
        return None
    return config if isinstance(config, Mapping) and config.get("type") else None


def is_versioned(catalog: Any, name: str) -> bool:
    """From the catalog config when there is one: compile must not need every dataset's
    package (the image may have pyspark, the laptop not)."""
    resolver = getattr(catalog, "config_resolver", None)
    if resolver is not None:
        try:
            config = resolver.resolve_pattern(name)
        except Exception:
            config = None
        if isinstance(config, Mapping) and config.get("type"):
            return bool(config.get("versioned"))
    from kedro.io.core import AbstractVersionedDataset

    try:  # a dataset added in code: only the object knows
        dataset = catalog.get(name)
    except Exception as exc:
        raise ProjectError(f"Dataset '{name}' cannot be created: {_first_line(exc)}") from None
    return isinstance(dataset, AbstractVersionedDataset) and dataset._version is not None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
