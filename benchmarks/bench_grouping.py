"""Grouping strategies on the sample project: pods, intermediate bytes, run-local wall time.

On a scratch copy of ``examples/spaceflights`` (the project is not changed), for each
``--group-by`` strategy (none, memory, namespace, tag):

* pods per run: the plan's steps plus the exit handler (cross-checked against the pod logs
  ``run-local`` writes, one per pod);
* bytes written to the intermediate store per run: ``kedro argo run-local --group-by S
  --data-root <fresh folder>``, then the sizes of every file under that folder;
* ``run-local`` wall time, side by side with ``kedro run`` of the same pipeline in the same
  run (interleaved rounds, medians; ``kedro run`` has no exit handler, run-local runs it).

Prints a table, the memory/none pod ratio against the aim (≥ 3×) and, for ``memory``, the
nodes left alone in a pod and what they load. Measures, never asserts.

    python benchmarks/bench_grouping.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sample_project import copy_project as copy_sample  # noqa: E402  (the tests' copy)

KEDRO = str(Path(sys.executable).with_name("kedro"))
STRATEGIES = ("none", "memory", "namespace", "tag")


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEDRO_ARGO_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's machine caches .pyc files
    env["KEDRO_DISABLE_TELEMETRY"] = "true"
    return env


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=child_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:  # a failed run would make the numbers lie
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def store_usage(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    return sum(p.stat().st_size for p in files), len(files)


def plans(project: Path) -> dict[str, dict[str, object]]:
    """Pods and groups of each strategy, from the compiled plan (what the manifest holds)."""
    import logging

    logging.disable(logging.WARNING)
    from kedro_argo.compiler.build import BuildRequest, build_manifest

    out: dict[str, dict[str, object]] = {}
    for strategy in STRATEGIES:
        built = build_manifest(BuildRequest(project_path=project, group_by=strategy))
        exit_handler = 1 if built.manifest["spec"].get("onExit") else 0
        out[strategy] = {
            "steps": len(built.plan.steps),
            "pods": len(built.plan.steps) + exit_handler,
            "nodes": sum(len(s.nodes) for s in built.plan.steps),
            "alone": [s for s in built.plan.steps if len(s.nodes) == 1],
            "facts": built.facts,
        }
    return out


def why_alone(step: Any, facts: Any) -> str:
    """What a lone node loads and saves: nothing in memory links it to another node."""

    def kind(ds: str) -> str:
        if ds.startswith("params:"):
            return "param"
        return "memory" if ds in facts.exchanged_datasets else "file"

    loads = ", ".join(f"{ds} ({kind(ds)})" for ds in sorted(step.inputs)) or "nothing"
    saves = ", ".join(f"{ds} ({kind(ds)})" for ds in sorted(step.outputs))
    return f"{step.nodes[0]}: loads {loads}; saves {saves}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grouping-") as tmp:
        project = copy_sample(Path(tmp) / "spaceflights")
        info = plans(project)
        commands = {
            s: [KEDRO, "argo", "run-local", "--group-by", s, "--no-progress"] for s in STRATEGIES
        }
        commands["kedro run"] = [KEDRO, "run"]
        # warm-up: .pyc files, page cache
        timed(commands["kedro run"], project)
        timed([*commands["memory"], "--data-root", str(Path(tmp) / "warm-up")], project)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        usage: dict[str, tuple[int, int]] = {}
        logs: dict[str, int] = {}
        for r in range(args.rounds):
            for name, cmd in commands.items():
                store = Path(tmp) / f"store-{name}-{r}"
                extra = ["--data-root", str(store)] if name in STRATEGIES else []
                before = set((project / ".kedro-argo" / "logs").glob("*"))
                samples[name].append(timed([*cmd, *extra], project))
                if name in STRATEGIES:
                    usage[name] = store_usage(store)
                    new = set((project / ".kedro-argo" / "logs").glob("*")) - before
                    logs[name] = sum(1 for d in new for _ in d.glob("*.log"))
    med = {name: statistics.median(values) for name, values in samples.items()}
    base = med["kedro run"]
    print(
        f"Sample project ({info['none']['nodes']} nodes in __default__, exit handler `notify`), "
        f"median of {args.rounds} interleaved rounds, {os.cpu_count()} CPUs"
    )
    print("\n| strategy | pods per run | intermediate store per run | run-local | vs `kedro run` |")
    print("|---|---|---|---|---|")
    for s in STRATEGIES:
        size, count = usage[s]
        check = "" if logs[s] == info[s]["pods"] else f" (logs: {logs[s]})"
        print(
            f"| `{s}` | {info[s]['pods']}{check} | {size / 1024:.1f} KiB in {count} objects | "
            f"{med[s]:.1f} s | {med[s] / base:.2f}× |"
        )
    print(f"| `kedro run` | 1 (one process) | – | {base:.1f} s | 1.00× |")
    ratio = info["none"]["pods"] / info["memory"]["pods"]
    verdict = "met" if ratio >= 3 else "not met"
    print(f"\nmemory: {ratio:.2f}x fewer pods than none (aim >= 3x: {verdict})")
    print("Nodes alone in a pod under --group-by memory (no in-memory dataset links them):")
    for step in info["memory"]["alone"]:
        print(f"  {why_alone(step, info['memory']['facts'])}")
    if info["tag"]["steps"] == info["none"]["steps"]:
        print("tag: no node has a group.* tag, so every node keeps its own pod (as none)")


if __name__ == "__main__":
    main()
