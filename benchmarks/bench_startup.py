"""Step start-up on the sample project: our entrypoint vs the floor vs `kedro run --nodes`.

Measured side by side in one run (interleaved rounds, medians) for a trivial node:

- entrypoint: ``python -m kedro_argo step --pipeline reporting --nodes <node>`` (what pods run);
- floor: a bare script that bootstraps the project and runs the same node in-process;
- kedro run: ``kedro run --nodes <node>`` (what peer plugins run in each pod).

Two projects: the sample as is (all its pipelines are light and share pandas, so the three
differ only by CLI overhead), and the sample plus one registered pipeline whose module takes
1.5 s to import, standing in for the sklearn / torch / spark pipelines real projects have.
`kedro run --nodes` imports every pipeline; the entrypoint imports only the step's own.

Prints the medians and the ratios; no asserts (targets: ≤ 1.2× floor, ≥ 2× faster than
`kedro run --nodes`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "spaceflights"
NODE = "write_report_banner_node"
PIPELINE = "reporting"

FLOOR = """
import sys
from pathlib import Path
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
root = Path.cwd()
bootstrap_project(root)
if hasattr(pipelines, "set_requested"):
    pipelines.set_requested([sys.argv[1]])
with KedroSession.create(project_path=root) as session:
    session.run(pipeline_names=[sys.argv[1]], node_names=[sys.argv[2]])
"""


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


HEAVY_PIPELINE = """
import time

from kedro.pipeline import Pipeline, node

time.sleep(1.5)  # what importing a heavy ML library costs


def create_pipeline(**kwargs):
    return Pipeline([node(lambda x: x, "params:reporting.title", "heavy_out", name="heavy")])
"""


def add_heavy_pipeline(project: Path) -> None:
    package = project / "src" / "spaceflights" / "pipelines" / "heavy"
    package.mkdir()
    (package / "__init__.py").write_text("from .pipeline import create_pipeline\n")
    (package / "pipeline.py").write_text(HEAVY_PIPELINE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    measure("sample project", args.rounds, heavy=False)
    measure("sample project + a heavy pipeline", args.rounds, heavy=True)


def measure(title: str, rounds: int, *, heavy: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "spaceflights"
        shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns("0[2-8]_*"))
        if heavy:
            add_heavy_pipeline(project)
        env = {
            **os.environ,
            "KEDRO_DISABLE_TELEMETRY": "true",
            "KEDRO_ARGO_RUN_ID": "bench-run",
            "KEDRO_ARGO_DATA_ROOT": str(Path(tmp) / "store"),
        }
        kedro = str(Path(sys.executable).with_name("kedro"))
        commands = {
            "entrypoint": [
                sys.executable,
                "-m",
                "kedro_argo",
                "step",
                "--pipeline",
                PIPELINE,
                "--nodes",
                NODE,
            ],
            "floor": [sys.executable, "-c", FLOOR, PIPELINE, NODE],
            "kedro run": [kedro, "run", "--nodes", NODE],
        }
        for cmd in commands.values():  # warm caches (pyc, page cache) once
            timed(cmd, project, env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(rounds):
            for name, cmd in commands.items():
                samples[name].append(timed(cmd, project, env))

    med = {name: statistics.median(values) for name, values in samples.items()}
    print(f"{title}: start-up of node {NODE!r}, median of {rounds} interleaved rounds")
    for name, value in med.items():
        print(f"  {name:<11} {value * 1000:7.0f} ms")
    print(
        f"  entrypoint / floor          = {med['entrypoint'] / med['floor']:.2f}x (target <= 1.2)"
    )
    print(
        f"  kedro run --nodes / entrypoint = {med['kedro run'] / med['entrypoint']:.2f}x "
        "(target >= 2)"
    )


if __name__ == "__main__":
    main()
