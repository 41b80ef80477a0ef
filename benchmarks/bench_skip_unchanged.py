"""``--skip-unchanged``: what a cold run pays for its cache, and what a warm run saves.

A chain of 6 nodes, each doing ~WORK seconds of CPU work, in a generated Kedro project; the
first node loads ``params:early``, the fifth ``params:late``. Interleaved rounds of:

* ``run-local`` (plain, the reference);
* ``run-local --skip-unchanged`` with an empty cache (every step runs and is recorded);
* ``run-local --skip-unchanged`` again, nothing changed (every step skipped);
* ``run-local --skip-unchanged --params late=…`` (a new value: the last 2 steps run).

Prints medians and their ratios to the plain run. No asserts.

    python benchmarks/bench_skip_unchanged.py [--rounds 3] [--work 1.0]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

KEDRO = str(Path(sys.executable).with_name("kedro"))
NODES = 6

NODES_PY = """\
import time


def work(seconds, value):
    deadline = time.process_time() + seconds
    total = 0
    while time.process_time() < deadline:
        total += 1
    return value + 1


def start(early, seconds):
    return work(seconds, early)


def step(previous, seconds):
    return work(seconds, previous)


def late_step(previous, late, seconds):
    return work(seconds, previous + late)
"""


def registry(count: int) -> str:
    lines = ['node(start, ["params:early", "params:seconds"], "d0", name="n0")']
    for i in range(1, count):
        inputs = [f'"d{i - 1}"', '"params:seconds"']
        if i == count - 2:
            lines.append(
                f'node(late_step, ["d{i - 1}", "params:late", "params:seconds"], "d{i}", '
                f'name="n{i}")'
            )
        else:
            lines.append(f'node(step, [{", ".join(inputs)}], "d{i}", name="n{i}")')
    body = ",\n            ".join(lines)
    return textwrap.dedent(
        f"""\
        from kedro.pipeline import Pipeline, node

        from bench_memo.nodes import late_step, start, step


        def register_pipelines():
            return {{"__default__": Pipeline([
            {body},
            ])}}
        """
    )


def write_project(root: Path, work: float) -> Path:
    package = root / "src" / "bench_memo"
    package.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "bench_memo"
            version = "0.1.0"

            [tool.kedro]
            package_name = "bench_memo"
            project_name = "bench_memo"
            kedro_init_version = "1.0.0"
            source_dir = "src"
            """
        )
    )
    (package / "__init__.py").write_text("")
    (package / "nodes.py").write_text(NODES_PY)
    (package / "pipeline_registry.py").write_text(registry(NODES))
    (package / "settings.py").write_text("")
    (package / "__main__.py").write_text("")
    conf = root / "conf" / "base"
    conf.mkdir(parents=True)
    (root / "conf" / "local").mkdir()
    (conf / "catalog.yml").write_text("{}\n")
    (conf / "parameters.yml").write_text(f"early: 1\nlate: 1\nseconds: {work}\n")
    (conf / "argo.yml").write_text(
        "image: registry.example.com/bench:1\nnodes:\n  defaults:\n    retry: null\n"
    )
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(
        ["git", "-c", "user.email=b@b", "-c", "user.name=b", "commit", "-qm", "bench"],
        cwd=root,
        check=True,
    )
    return root


def timed(project: Path, *args: str) -> float:
    env = dict(os.environ, KEDRO_DISABLE_TELEMETRY="true")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    result = subprocess.run(
        [KEDRO, "argo", "run-local", "--no-progress", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"run-local {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=float, default=1.0, help="CPU seconds per node")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-memo-") as tmp:
        project = write_project(Path(tmp) / "project", args.work)
        cache = project / ".kedro-argo" / "data" / "~memo"
        times: dict[str, list[float]] = {"plain": [], "cold": [], "warm": [], "late": []}
        timed(project)  # warm the .pyc files
        for round_ in range(args.rounds):
            shutil.rmtree(cache, ignore_errors=True)
            times["plain"].append(timed(project))
            times["cold"].append(timed(project, "--skip-unchanged"))
            times["warm"].append(timed(project, "--skip-unchanged"))
            value = f"late={round_ + 2}"
            times["late"].append(timed(project, "--skip-unchanged", "--params", value))
        med = {k: statistics.median(v) for k, v in times.items()}
        print(
            f"\n## --skip-unchanged: {NODES} chained steps of {args.work:g} s CPU each, "
            f"median of {args.rounds}\n"
        )
        print("| run | wall time | vs plain run-local |")
        print("|---|---|---|")
        labels = {
            "plain": "`run-local` (no cache)",
            "cold": "`--skip-unchanged`, empty cache (all run, recorded)",
            "warm": "`--skip-unchanged`, nothing changed (all skipped)",
            "late": "`--skip-unchanged`, `params:late` changed (last 2 run)",
        }
        for key, label in labels.items():
            print(f"| {label} | {med[key]:.2f} s | {med[key] / med['plain']:.2f}× |")


if __name__ == "__main__":
    main()
