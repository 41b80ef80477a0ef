"""Local mode: run a compiled Argo manifest on this machine, one process per DAG task.

Typical use (what ``kedro argo run-local`` does)::

    from kedro_argo.local import load_manifest, run_workflow

    result = run_workflow(
        load_manifest("argo/workflow.yaml"),
        project_path=Path.cwd(),
        log_dir=Path("logs/argo-local"),
        parameters={"model_options__test_size": "0.3"},
    )
    sys.exit(0 if result.succeeded else 1)

:func:`plan_workflow` does every check without running anything (a dry run).
See :mod:`kedro_argo.local.executor` for the semantics and :mod:`kedro_argo.local.support`
for the fields honoured, ignored and refused.
"""

from kedro_argo.local.executor import (
    AttemptRecord,
    LocalRunResult,
    StepPhase,
    StepRecord,
    WorkflowPhase,
    execute_plan,
    run_workflow,
)
from kedro_argo.local.progress import print_summary, summary_table
from kedro_argo.local.resolve import LocalPlan, PlannedDag, PlannedStep, RetryPolicy, plan_workflow
from kedro_argo.local.support import check_supported, load_manifest

__all__ = [
    "AttemptRecord",
    "LocalPlan",
    "LocalRunResult",
    "PlannedDag",
    "PlannedStep",
    "RetryPolicy",
    "StepPhase",
    "StepRecord",
    "WorkflowPhase",
    "check_supported",
    "execute_plan",
    "load_manifest",
    "plan_workflow",
    "print_summary",
    "run_workflow",
    "summary_table",
]
