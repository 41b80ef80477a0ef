"""The pod contract: the command line and environment the compiler writes into every step
template, and that the in-pod entrypoint reads back. One module, so the two cannot drift.

A step pod runs::

    python -m kedro_argo step --pipeline=<host> --nodes=<a,b,c> [--env=<env>]
        [--param=<key>=<value>]... [--export=<JSON list>]
        [--sweep=<branch label> [--shared=<JSON list>]]
        [--results=<JSON {"parameters": [...], "artifacts": [...]}>]

``--results`` names the datasets of the step to show in the Argo UI (argo.yml's ``ui``): once
its nodes ran, the runtime writes each ``parameters`` dataset's value as JSON, and copies each
``artifacts`` dataset's saved file, to :func:`result_path`, where the template's outputs read
them (``outputs.parameters[].valueFrom.path``, ``outputs.artifacts[].path``).

``--sweep`` runs the step in one branch of a parameter sweep (its values arrive as
``--param``): its in-memory data lives under the branch's own prefix of the run, except the
``--shared`` inputs, saved by the steps the branches share.

Every option is written as one ``--flag=value`` item, so no value (a node name, a parameter
text) can ever be read as an option of its own, whatever it starts with. The exit handler runs
the same command without ``--nodes`` (all nodes of its pipeline).

The environment (``spec.templateDefaults.container.env``, so written once per workflow) says
which run this is; see :class:`PodEnvironment`. Light on imports: it is on the pod's start path.

A workflow compiled for a project using kedro-mlflow (see ``docs/mlflow.md``) has two more
commands, which take the step's ``--env`` and ``--param`` options only::

    python -m kedro_argo mlflow-start [--env=<env>] [--param=<key>=<value>]...
    python -m kedro_argo mlflow-end [--env=<env>] [--param=<key>=<value>]...

``mlflow-start`` is the task every root task of the workflow waits for; ``mlflow-end`` is the
exit handler when the workflow has no exit pipeline (else the exit pipeline's step ends the
run). Every pod of such a workflow has ``KEDRO_ARGO_MLFLOW=true``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "COMMIT_ID_ENV",
    "COMPRESSION_ENV",
    "DATA_ROOT_ENV",
    "EXPORTS_PARAMETER",
    "MEMOIZE_ENV",
    "MEMO_MAX_AGE_ENV",
    "MLFLOW_COMMANDS",
    "MLFLOW_END_COMMAND",
    "MLFLOW_ENV",
    "MLFLOW_START_COMMAND",
    "NODES_PARAMETER",
    "PIN_VERSIONS_ENV",
    "PIPELINE_ENV",
    "POD_COMMAND",
    "RESULTS_DIR",
    "RESULTS_DIR_ENV",
    "RESULT_PARAMETER_LIMIT",
    "RUN_ID_ENV",
    "SHARED_PARAMETER",
    "STEP_COMMAND",
    "SWEEP_ENV",
    "SWEEP_PARAMETER",
    "TELEMETRY_ENV",
    "WORKFLOW_CREATED_ENV",
    "WORKFLOW_NAME_ENV",
    "WORKFLOW_STATUS_ENV",
    "ContractError",
    "MlflowCall",
    "PodEnvironment",
    "StepCall",
    "format_nodes",
    "mlflow_arguments",
    "parse_mlflow_arguments",
    "parse_params",
    "parse_step_arguments",
    "pod_environment_entries",
    "read_pod_environment",
    "result_name",
    "result_path",
    "step_arguments",
]

POD_COMMAND = ("python", "-m", "kedro_argo")
STEP_COMMAND = "step"
#: Workflows of projects using kedro-mlflow: create the workflow's MLflow run before the
#: first step / end it with the workflow's status (the exit handler).
MLFLOW_START_COMMAND = "mlflow-start"
MLFLOW_END_COMMAND = "mlflow-end"
MLFLOW_COMMANDS = (MLFLOW_START_COMMAND, MLFLOW_END_COMMAND)

#: Input parameters of a shared step template: the step's Kedro nodes, and (only where some
#: step needs it) the datasets it saves for other steps although its own nodes use them too.
NODES_PARAMETER = "nodes"
EXPORTS_PARAMETER = "exports"
#: Sweeps: the branch label every level and step of a branch takes, and a swept step's inputs
#: saved by shared steps.
SWEEP_PARAMETER = "kedro-sweep"
SHARED_PARAMETER = "shared"

TELEMETRY_ENV = "KEDRO_DISABLE_TELEMETRY"
#: Set in every pod of a run: its presence is what tells the runtime it runs in a workflow.
RUN_ID_ENV = "KEDRO_ARGO_RUN_ID"
WORKFLOW_NAME_ENV = "KEDRO_ARGO_WORKFLOW_NAME"
WORKFLOW_CREATED_ENV = "KEDRO_ARGO_WORKFLOW_CREATED"
COMMIT_ID_ENV = "KEDRO_ARGO_COMMIT_ID"
DATA_ROOT_ENV = "KEDRO_ARGO_DATA_ROOT"
COMPRESSION_ENV = "KEDRO_ARGO_COMPRESSION"
#: The compiled pipeline (a step's host pipeline may be a smaller one).
PIPELINE_ENV = "KEDRO_ARGO_PIPELINE"
#: JSON list: versioned datasets some step of this workflow saves; a step loading one loads
#: the version saved in this run, never a newer one from another run.
PIN_VERSIONS_ENV = "KEDRO_ARGO_PIN_VERSIONS"
#: Exit handler only: ``{{workflow.status}}``.
WORKFLOW_STATUS_ENV = "KEDRO_ARGO_WORKFLOW_STATUS"
#: ``true`` in every pod of a workflow whose steps log into one MLflow run (kedro-mlflow);
#: absent otherwise.
MLFLOW_ENV = "KEDRO_ARGO_MLFLOW"
#: ``true``: a step whose code, parameters and inputs match an earlier successful run of it is
#: not run again (``--skip-unchanged``, :mod:`kedro_argo.runtime.memo`); absent otherwise.
MEMOIZE_ENV = "KEDRO_ARGO_MEMOIZE"
#: Seconds a cache entry stays valid (absent: no limit).
MEMO_MAX_AGE_ENV = "KEDRO_ARGO_MEMO_MAX_AGE"
#: Set by the runtime of a swept step (not in the manifest): what ``${argo:sweep}`` reads.
SWEEP_ENV = "KEDRO_ARGO_SWEEP"


#: Where a step's results are written in the pod (a template's outputs read them there).
RESULTS_DIR = "/tmp/kedro-argo/results"
#: Replaces :data:`RESULTS_DIR` (local mode: a folder per step); not in the manifest.
RESULTS_DIR_ENV = "KEDRO_ARGO_RESULTS_DIR"
#: Bytes of JSON an output parameter may hold; a larger value is replaced by a notice (the
#: workflow's status, where Argo keeps output parameters, is one object of at most 1 MiB).
RESULT_PARAMETER_LIMIT = 64 * 1024
RESULT_KINDS = ("parameters", "artifacts")

_SWEEP_LABEL = re.compile(r"[A-Za-z0-9._-]{1,100}")
_RESULT_NAME_CHARS = re.compile(r"[^-a-zA-Z0-9_]")


class ContractError(ValueError):
    """An argument list or environment that does not follow the contract."""


@dataclass(frozen=True)
class StepCall:
    """What one pod runs: nodes of a registered pipeline, with the run's parameters."""

    pipeline: str
    nodes: tuple[str, ...] = ()  # empty: every node of the pipeline (the exit handler)
    env: str | None = None  # Kedro configuration environment
    params: tuple[str, ...] = ()  # ``key=value`` texts, parsed like ``kedro run --params``
    exports: tuple[str, ...] = ()  # also saved to the store although used inside the step
    sweep: str | None = None  # the branch label, in a sweep
    shared: tuple[str, ...] = ()  # in a sweep: inputs saved outside the branch
    result_parameters: tuple[str, ...] = ()  # datasets shown as output parameters
    result_artifacts: tuple[str, ...] = ()  # datasets shown as output artifacts


def result_name(dataset: str) -> str:
    """The Argo output name showing ``dataset`` (``[-a-zA-Z0-9_]``: other characters, e.g.
    a namespace's dots, become ``-``)."""
    return _RESULT_NAME_CHARS.sub("-", dataset)


def result_path(kind: str, dataset: str, root: str = RESULTS_DIR) -> str:
    """Where the step writes ``dataset``'s result of ``kind`` (``parameters`` or
    ``artifacts``) and the template's output reads it."""
    if kind not in RESULT_KINDS:
        raise ValueError(f"kind must be one of {RESULT_KINDS}, not {kind!r}")
    return f"{root.rstrip('/')}/{kind}/{result_name(dataset)}"


def format_results(parameters: Sequence[str], artifacts: Sequence[str]) -> str:
    return json.dumps(
        {"artifacts": list(artifacts), "parameters": list(parameters)},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )


def format_nodes(nodes: Sequence[str]) -> str:
    """Kedro node names never contain commas (Kedro allows ``[\\w.-]`` only)."""
    return ",".join(nodes)


def format_exports(datasets: Sequence[str]) -> str:
    """Dataset names may hold any character: a JSON list keeps them apart."""
    return json.dumps(list(datasets), ensure_ascii=False, separators=(",", ":"))


def step_arguments(
    call: StepCall,
    *,
    nodes_text: str | None = None,
    exports_text: str | None = None,
    sweep_text: str | None = None,
    shared_text: str | None = None,
    results_text: str | None = None,
) -> list[str]:
    """The container ``args`` for ``call`` (``command`` is :data:`POD_COMMAND`).

    ``nodes_text`` / ``exports_text`` / ``sweep_text`` / ``shared_text`` / ``results_text``
    replace the encoded values, e.g. by a template's ``{{inputs.parameters.nodes}}`` when the
    values arrive as task arguments (or by an escaped text).
    """
    args = [STEP_COMMAND, f"--pipeline={call.pipeline}"]
    if nodes_text is not None or call.nodes:
        args.append(f"--nodes={format_nodes(call.nodes) if nodes_text is None else nodes_text}")
    if call.env:
        args.append(f"--env={call.env}")
    args += [f"--param={pair}" for pair in call.params]
    if exports_text is not None or call.exports:
        text = format_exports(call.exports) if exports_text is None else exports_text
        args.append(f"--export={text}")
    if sweep_text is not None or call.sweep:
        args.append(f"--sweep={call.sweep if sweep_text is None else sweep_text}")
    if shared_text is not None or call.shared:
        text = format_exports(call.shared) if shared_text is None else shared_text
        args.append(f"--shared={text}")
    if results_text is not None or call.result_parameters or call.result_artifacts:
        text = (
            format_results(call.result_parameters, call.result_artifacts)
            if results_text is None
            else results_text
        )
        args.append(f"--results={text}")
    return args


_SINGLE = ("pipeline", "nodes", "env", "export", "sweep", "shared", "results")
_REPEATED = ("param",)


def parse_step_arguments(argv: Sequence[str]) -> StepCall:
    """The inverse of :func:`step_arguments`; :class:`ContractError` on anything else.

    Written by hand rather than with argparse: every item is ``--flag=value`` and the value is
    taken as it is, whatever it looks like (argparse drops a value of exactly ``--``).
    """
    items = list(argv)
    if not items or items[0] != STEP_COMMAND:
        raise ContractError(f"expected '{STEP_COMMAND}' first, got {items[:1] or 'nothing'}")
    single, params = _parse_flags(items[1:], _SINGLE)
    if "pipeline" not in single:
        raise ContractError("--pipeline=<registered pipeline> is required")
    exports: tuple[str, ...] = ()
    if single.get("export"):
        exports = tuple(_json_list(single["export"], "--export"))
    shared: tuple[str, ...] = ()
    if single.get("shared"):
        shared = tuple(_json_list(single["shared"], "--shared"))
    sweep = single.get("sweep")
    if sweep is not None and not _SWEEP_LABEL.fullmatch(sweep):
        raise ContractError(f"--sweep {sweep!r} must be a branch label ([A-Za-z0-9._-], 1-100)")
    if shared and sweep is None:
        raise ContractError("--shared is only meaningful with --sweep")
    result_parameters, result_artifacts = _results(single.get("results"))
    return StepCall(
        pipeline=single["pipeline"],
        nodes=tuple(n for n in single.get("nodes", "").split(",") if n),
        env=single.get("env"),
        params=tuple(params),
        exports=exports,
        sweep=sweep,
        shared=shared,
        result_parameters=result_parameters,
        result_artifacts=result_artifacts,
    )


def _results(text: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if not text:
        return (), ()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if (
        not isinstance(data, dict)
        or set(data) - set(RESULT_KINDS)
        or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in data.values()
        )
    ):
        raise ContractError(
            f"--results {text!r} must be a JSON object of dataset name lists "
            '(e.g. {"parameters": ["metrics"], "artifacts": []})'
        )
    return tuple(data.get("parameters", ())), tuple(data.get("artifacts", ()))


def _parse_flags(items: Sequence[str], names: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """``--flag=value`` items: the single-valued ``names`` (each at most once) and the
    ``--param`` values, checked to look like ``key=value``."""
    single: dict[str, str] = {}
    params: list[str] = []
    for item in items:
        flag, sep, value = item.partition("=")
        name = flag[2:] if flag.startswith("--") else ""
        if not sep or name not in (*names, *_REPEATED):
            known = ", ".join(f"--{n}=…" for n in (*names, *_REPEATED))
            raise ContractError(f"unexpected argument {item!r} (arguments are {known})")
        if name in _REPEATED:
            params.append(value)
        elif name in single:
            raise ContractError(f"--{name} given twice")
        else:
            single[name] = value
    for pair in params:
        if "=" not in pair or not pair.partition("=")[0].strip():
            raise ContractError(f"--param {pair!r} must look like key=value")
    return single, params


@dataclass(frozen=True)
class MlflowCall:
    """``mlflow-start`` / ``mlflow-end``: the Kedro session they open (for kedro-mlflow's
    configuration) gets the steps' configuration environment and parameters."""

    command: str  # MLFLOW_START_COMMAND or MLFLOW_END_COMMAND
    env: str | None = None
    params: tuple[str, ...] = ()


def mlflow_arguments(call: MlflowCall) -> list[str]:
    """The container ``args`` for ``call`` (``command`` is :data:`POD_COMMAND`)."""
    if call.command not in MLFLOW_COMMANDS:
        raise ContractError(
            f"{call.command!r} is not an MLflow command of the pod "
            f"(use {', '.join(MLFLOW_COMMANDS)})"
        )
    args = [call.command]
    if call.env:
        args.append(f"--env={call.env}")
    args += [f"--param={pair}" for pair in call.params]
    return args


def parse_mlflow_arguments(argv: Sequence[str]) -> MlflowCall:
    """The inverse of :func:`mlflow_arguments`; :class:`ContractError` on anything else."""
    items = list(argv)
    if not items or items[0] not in MLFLOW_COMMANDS:
        expected = " or ".join(map(repr, MLFLOW_COMMANDS))
        raise ContractError(f"expected {expected} first, got {items[:1] or 'nothing'}")
    single, params = _parse_flags(items[1:], ("env",))
    return MlflowCall(command=items[0], env=single.get("env"), params=tuple(params))


def _json_list(text: str, what: str) -> list[str]:
    try:
        loaded = json.loads(text)
    except ValueError:
        loaded = None
    if not isinstance(loaded, list) or not all(isinstance(d, str) for d in loaded):
        raise ContractError(f"{what} must be a JSON list of dataset names, not {text!r}")
    return loaded


def parse_params(pairs: Sequence[str]) -> dict[str, object]:
    """``key=value`` pairs parsed exactly like ``kedro run --params`` (OmegaConf dot-list:
    values are YAML, dotted keys nest)."""
    from omegaconf import OmegaConf

    if not pairs:
        return {}
    container = OmegaConf.to_container(OmegaConf.from_dotlist(list(pairs)))
    return dict(container)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PodEnvironment:
    """The run a pod belongs to. In a manifest the values are Argo variables
    (``{{workflow.uid}}``...); in a pod or local mode they are resolved."""

    run_id: str
    workflow_name: str
    created: str  # RFC 3339: the workflow's creation time
    commit_id: str
    pipeline: str
    data_root: str | None = None
    compression: str = "none"
    pin_versions: tuple[str, ...] = ()
    mlflow: bool = False  # the steps log into the workflow's MLflow run (kedro-mlflow)
    memoize: bool = False  # skip steps unchanged since an earlier successful run
    memo_max_age: int | None = None  # seconds a cache entry stays valid; None: no limit


def pod_environment_entries(values: PodEnvironment) -> list[dict[str, str]]:
    """Container ``env`` entries, in a fixed order (the manifest must be reproducible)."""
    entries = [
        (TELEMETRY_ENV, "true"),
        (RUN_ID_ENV, values.run_id),
        (WORKFLOW_NAME_ENV, values.workflow_name),
        (WORKFLOW_CREATED_ENV, values.created),
        (COMMIT_ID_ENV, values.commit_id),
        (PIPELINE_ENV, values.pipeline),
    ]
    if values.data_root:
        entries.append((DATA_ROOT_ENV, values.data_root))
    entries.append((COMPRESSION_ENV, values.compression))
    if values.pin_versions:
        entries.append((PIN_VERSIONS_ENV, format_exports(values.pin_versions)))
    if values.mlflow:
        entries.append((MLFLOW_ENV, "true"))
    if values.memoize:
        entries.append((MEMOIZE_ENV, "true"))
        if values.memo_max_age is not None:
            entries.append((MEMO_MAX_AGE_ENV, str(values.memo_max_age)))
    return [{"name": name, "value": value} for name, value in entries]


def read_pod_environment(environ: Mapping[str, str]) -> PodEnvironment:
    """What :func:`pod_environment_entries` wrote, read back; :class:`ContractError` when the
    process is not a step of a workflow run."""
    run_id = environ.get(RUN_ID_ENV)
    if not run_id:
        raise ContractError(
            f"{RUN_ID_ENV} is not set: this command runs inside an Argo workflow "
            "(or `kedro argo run-local`); use `kedro run` otherwise."
        )
    raw = environ.get(PIN_VERSIONS_ENV)
    pins = tuple(_json_list(raw, PIN_VERSIONS_ENV)) if raw else ()
    max_age = environ.get(MEMO_MAX_AGE_ENV)
    if max_age is not None and not max_age.strip().isdigit():
        raise ContractError(f"{MEMO_MAX_AGE_ENV}={max_age!r} must be a number of seconds")
    return PodEnvironment(
        run_id=run_id,
        workflow_name=environ.get(WORKFLOW_NAME_ENV, ""),
        created=environ.get(WORKFLOW_CREATED_ENV, ""),
        commit_id=environ.get(COMMIT_ID_ENV, ""),
        pipeline=environ.get(PIPELINE_ENV, ""),
        data_root=environ.get(DATA_ROOT_ENV) or None,
        compression=(environ.get(COMPRESSION_ENV) or "none").strip().lower(),
        pin_versions=pins,
        mlflow=(environ.get(MLFLOW_ENV) or "").strip().lower() == "true",
        memoize=(environ.get(MEMOIZE_ENV) or "").strip().lower() == "true",
        memo_max_age=int(max_age) if max_age is not None else None,
    )
