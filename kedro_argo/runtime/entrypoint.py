"""The in-pod step runner: ``python -m kedro_argo step --pipeline P --nodes a,b …``.

It is the command every compiled template runs (see docs/architecture.md). It bootstraps the
project from the working directory, asks Kedro for only the step's pipeline, runs exactly the
step's nodes and swaps every dataset the step exchanges with other steps (free outputs and
declared MemoryDatasets) for an object on ``$KEDRO_ARGO_DATA_ROOT/$KEDRO_ARGO_RUN_ID/``.
It does not go through the ``kedro`` CLI (slower: it loads every plugin's commands) and does
not rely on the plugin's hooks, so disabling them never breaks a workflow.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RUN_ID_ENV = "KEDRO_ARGO_RUN_ID"
DATA_ROOT_ENV = "KEDRO_ARGO_DATA_ROOT"
CREATED_ENV = "KEDRO_ARGO_WORKFLOW_CREATED"


class StepError(Exception):
    """A problem with the step's setup (not a node failure): reported in one line."""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m kedro_argo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    step = sub.add_parser("step", help="Run Kedro nodes as one Argo workflow step.")
    step.add_argument("--pipeline", required=True, help="Registered pipeline holding the nodes.")
    step.add_argument("--nodes", default=None, help="Comma-separated node names (default: all).")
    step.add_argument("--env", default=None, help="Kedro configuration environment.")
    step.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="Runtime parameter."
    )
    step.add_argument(
        "--pin-version",
        action="append",
        default=[],
        metavar="DATASET",
        help="Versioned input saved by an upstream step of this workflow.",
    )
    return parser.parse_args(argv)


def runtime_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs parsed exactly like ``kedro run --params``."""
    from omegaconf import OmegaConf

    for pair in pairs:
        if "=" not in pair or not pair.partition("=")[0].strip():
            raise StepError(f"--param {pair!r} must look like key=value")
    if not pairs:
        return {}
    container = OmegaConf.to_container(OmegaConf.from_dotlist(list(pairs)))
    return dict(container)  # type: ignore[arg-type]


def workflow_version(created: str | None, run_id: str) -> str | None:
    """One save version shared by every step of a workflow run.

    Kedro's version format, from the workflow's creation second; the millisecond field is
    derived from the run id so two workflows created in the same second still differ.
    """
    if not created:
        return None
    try:
        moment = datetime.fromisoformat(created.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        raise StepError(f"{CREATED_ENV}={created!r} is not an RFC 3339 timestamp") from None
    millis = int(hashlib.sha256(run_id.encode()).hexdigest()[:8], 16) % 1000
    return moment.strftime("%Y-%m-%dT%H.%M.%S") + f".{millis:03d}Z"


def make_runner(
    data_root: str,
    run_id: str,
    producers: Mapping[str, str],
    compression: str,
    version: str | None,
) -> Any:
    """A SequentialRunner that first swaps the datasets the step exchanges with other steps
    (its external inputs and outputs; data internal to a multi-node step stays in memory)
    and clears what an earlier attempt of this step saved at the run's pinned version."""
    from kedro.runner import SequentialRunner

    from kedro_argo.datasets import exchanged_datasets
    from kedro_argo.naming import escape_dataset_name
    from kedro_argo.runtime.store import IntermediateDataset, intermediate_uri

    class StepRunner(SequentialRunner):
        def run(self, pipeline: Any, catalog: Any, *args: Any, **kwargs: Any) -> Any:
            needed = exchanged_datasets(catalog, pipeline.inputs() | pipeline.outputs())
            if needed and not data_root:
                raise StepError(
                    f"{DATA_ROOT_ENV} is not set but this step exchanges {', '.join(needed)} "
                    "with other steps: set data.root in argo.yml and recompile."
                )
            for name in needed:
                catalog[name] = IntermediateDataset(
                    uri=intermediate_uri(data_root, run_id, escape_dataset_name(name)),
                    dataset_name=name,
                    producer=producers.get(name),
                    compression=compression,
                )
            if version is not None:
                for name in sorted(pipeline.all_outputs()):
                    clear_earlier_attempt(catalog, name, version)
            return super().run(pipeline, catalog, *args, **kwargs)

    return StepRunner()


def clear_earlier_attempt(catalog: Any, name: str, version: str) -> None:
    """A retried step saves its versioned outputs at the same pinned version: remove what an
    earlier, failed attempt of this very step left there (no other step saves this dataset),
    or Kedro would refuse to overwrite it and every retry would fail."""
    from kedro.io.core import AbstractVersionedDataset

    if name not in catalog:
        return
    dataset = catalog.get(name)
    if not isinstance(dataset, AbstractVersionedDataset) or dataset._version is None:
        return
    filesystem = getattr(dataset, "_fs", None)
    if filesystem is None:
        return
    path = str(dataset._get_versioned_path(version))
    if filesystem.exists(path):
        logging.getLogger(__name__).warning(
            "Removing %s version %s saved by an earlier attempt of this step", name, version
        )
        filesystem.rm(path, recursive=True)


def run_step(args: argparse.Namespace, project_path: Path) -> None:
    from kedro.framework.project import pipelines
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    run_id = os.environ.get(RUN_ID_ENV)
    if not run_id:
        raise StepError(
            f"{RUN_ID_ENV} is not set: this command runs inside an Argo workflow "
            "(or `kedro argo run-local`); use `kedro run` otherwise."
        )
    data_root = os.environ.get(DATA_ROOT_ENV, "")
    version = workflow_version(os.environ.get(CREATED_ENV), run_id)
    if args.pin_version and version is None:
        raise StepError(f"--pin-version needs {CREATED_ENV} (set by the compiled workflow)")
    bootstrap_project(project_path)
    if hasattr(pipelines, "set_requested"):  # Kedro >= 1.5: import only this pipeline
        pipelines.set_requested([args.pipeline])
    try:
        pipeline = pipelines[args.pipeline]
    except KeyError:
        raise StepError(f"Pipeline '{args.pipeline}' is not registered in this image") from None
    node_names = [n for n in (args.nodes or "").split(",") if n]
    missing = sorted(set(node_names) - {n.name for n in pipeline.nodes})
    if missing:
        raise StepError(
            f"Node(s) {', '.join(missing)} not in pipeline '{args.pipeline}': the image is "
            "older or newer than the compiled workflow; recompile or rebuild."
        )
    producers = {out: node.name for node in pipeline.nodes for out in node.outputs}
    from kedro_argo.runtime.store import compression_from_env

    compression = compression_from_env()
    session = KedroSession.create(
        project_path=project_path, env=args.env, runtime_params=runtime_params(args.param)
    )
    with session:
        if version is not None:
            session.session_id = version
            session._store["session_id"] = version
        runner = make_runner(data_root, run_id, producers, compression, version)
        session.run(
            **_pipeline_argument(session, args.pipeline),
            node_names=node_names or None,
            runner=runner,
            load_versions=dict.fromkeys(args.pin_version, version) or None,
        )


def _pipeline_argument(session: Any, pipeline: str) -> dict[str, Any]:
    """``pipeline_names=[p]`` on Kedro >= 1.2, ``pipeline_name=p`` before."""
    import inspect

    if "pipeline_names" in inspect.signature(session.run).parameters:
        return {"pipeline_names": [pipeline]}
    return {"pipeline_name": pipeline}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    from kedro_argo.errors import KedroArgoError

    try:
        run_step(args, Path.cwd())
    except StepError as exc:
        print(f"kedro-argo: {exc}", file=sys.stderr)
        return 2
    except KedroArgoError as exc:  # e.g. a missing intermediate: its message says it all
        print(f"kedro-argo: step failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        print(f"kedro-argo: step failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
