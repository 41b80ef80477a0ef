"""Overhead of local mode per step, against running the same commands by hand.

A chain of N steps (each depends on the previous one) of ``python -c pass`` runs three ways:

* by hand: ``subprocess.run`` of each command in sequence (the floor: process start-up);
* local mode with ``plan_workflow`` + ``execute_plan`` (scheduling, logs, env, waiting);
* local mode from the manifest via ``run_workflow`` (adds validation and planning).

Printed side by side, with the per-step overhead and the ratio. No asserts.

    python benchmarks/bench_local.py [--steps 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from kedro_argo.local import execute_plan, plan_workflow, run_workflow


def chain_manifest(steps: int) -> dict[str, object]:
    tasks: list[dict[str, object]] = [{"name": "s0", "template": "noop"}]
    tasks += [
        {"name": f"s{i}", "template": "noop", "depends": f"s{i - 1}"} for i in range(1, steps)
    ]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "bench-"},
        "spec": {
            "entrypoint": "main",
            "templateDefaults": {
                "container": {
                    "image": "bench:1",
                    "env": [{"name": "KEDRO_ARGO_RUN_ID", "value": "{{workflow.uid}}"}],
                }
            },
            "templates": [
                {"name": "main", "dag": {"tasks": tasks}},
                {"name": "noop", "container": {"command": ["python", "-c", "pass"]}},
            ],
        },
    }


def by_hand(steps: int, cwd: Path) -> float:
    env = {**os.environ, "KEDRO_ARGO_RUN_ID": "x"}
    start = time.perf_counter()
    for _ in range(steps):
        subprocess.run([sys.executable, "-c", "pass"], cwd=cwd, env=env, check=True)
    return time.perf_counter() - start


def local_mode(steps: int, cwd: Path, logs: Path, *, plan_too: bool) -> float:
    quiet = Console(file=io.StringIO())
    manifest = chain_manifest(steps)
    if plan_too:
        start = time.perf_counter()
        result = run_workflow(
            manifest, project_path=cwd, log_dir=logs, console=quiet, progress=False
        )
    else:
        plan = plan_workflow(manifest, project_path=cwd)
        start = time.perf_counter()
        result = execute_plan(plan, log_dir=logs, console=quiet, progress=False)
    elapsed = time.perf_counter() - start
    assert result.succeeded, result.message  # a broken run would make the numbers lie
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.steps
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        by_hand(2, cwd)  # warm the interpreter's file cache
        rows = {
            "by hand (subprocess.run)": [],
            "local: execute_plan": [],
            "local: run_workflow": [],
        }
        for r in range(args.repeat):
            rows["by hand (subprocess.run)"].append(by_hand(n, cwd))
            rows["local: execute_plan"].append(
                local_mode(n, cwd, cwd / f"logs-e{r}", plan_too=False)
            )
            rows["local: run_workflow"].append(
                local_mode(n, cwd, cwd / f"logs-r{r}", plan_too=True)
            )
    base = statistics.median(rows["by hand (subprocess.run)"])
    print(
        f"{n}-step chain of `python -c pass`, median of {args.repeat} runs, {os.cpu_count()} CPUs"
    )
    print(f"{'':28} {'total':>9} {'per step':>10} {'overhead/step':>14} {'ratio':>7}")
    for label, samples in rows.items():
        total = statistics.median(samples)
        over = (total - base) / n
        print(
            f"{label:28} {total * 1000:7.0f}ms {total / n * 1000:8.1f}ms"
            f" {over * 1000:12.1f}ms {total / base:6.2f}x"
        )


if __name__ == "__main__":
    main()
