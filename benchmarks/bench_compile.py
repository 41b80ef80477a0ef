"""Compile time and manifest size on synthetic projects of 100 to 10,000 nodes.

For each size a real Kedro project is generated (``benchmarks/synthetic.py``) and, measured
side by side in one run (interleaved rounds, medians):

1. wall time of ``kedro argo compile -o FILE`` (ungrouped; and ``--group-by namespace``) vs
   ``kedro airflow create`` (kedro-airflow 0.11, one Airflow task per node) on the same project.
   10,000 nodes ungrouped are over Argo's 1 MiB object limit: compile refuses them (the time
   to the refusal and its message are printed) and the comparison uses ``namespace``;
2. the compile work alone: ``build_from_facts`` on facts loaded once with ``load_project``
   (i.e. minus Kedro's bootstrap, session and catalog), as CPU time of the process (it is
   one thread, so other work on a shared machine hardly inflates it), in µs per node, and
   the YAML dump;
3. manifest bytes per node (compact JSON, what Argo's limit counts) per grouping strategy.

Child processes run with bytecode caching on (this sandbox sets PYTHONDONTWRITEBYTECODE=1;
a user's machine caches .pyc files) and a warm-up run of each command first. Prints; no
asserts (target: ours ≤ kedro-airflow at 2,000 nodes; build work < 1 s at 2,000 nodes).

    python benchmarks/bench_compile.py [--sizes 100,500,2000,10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import shape, write_project

KEDRO = str(Path(sys.executable).with_name("kedro"))
STRATEGIES = ("none", "memory", "namespace", "tag")
UNGROUPED_LIMIT = 2000  # above this the ungrouped manifest is over 1 MiB (refused)


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEDRO_ARGO_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["KEDRO_DISABLE_TELEMETRY"] = "true"
    return env


def run(cmd: list[str], cwd: Path, *, check: bool = True) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=child_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout + done.stderr


# --------------------------------------------------------------------------- in-process part


def worker(project: Path, repeat: int, result: Path) -> None:
    """Load the facts once, then time the pure compile per strategy (run in a child)."""
    import logging

    logging.disable(logging.WARNING)
    from kedro_argo.compiler.build import BuildRequest, build_from_facts
    from kedro_argo.compiler.project import load_project
    from kedro_argo.errors import CompileError
    from kedro_argo.output import to_yaml
    from kedro_argo.validation.lint import manifest_size

    start = time.perf_counter()
    facts = load_project(project)
    out: dict[str, object] = {"load_s": time.perf_counter() - start, "nodes": len(facts.nodes)}
    for strategy in STRATEGIES:
        request = BuildRequest(project_path=project, group_by=strategy)
        times, refused, built = [], None, None
        for _ in range(repeat):
            start = time.process_time()  # CPU: one thread, so other work does not inflate it
            try:
                built = build_from_facts(facts, request)
            except CompileError as exc:
                refused = str(exc)
            times.append(time.process_time() - start)
        row: dict[str, object] = {"build_s": statistics.median(times)}
        if refused is not None:
            found = re.search(r"would be (\d+) KiB \((\d+) steps", refused)
            row["refused"] = refused
            row["kib"] = int(found.group(1)) if found else None
            row["steps"] = int(found.group(2)) if found else None
        else:
            assert built is not None
            start = time.process_time()
            text = to_yaml(built.manifest)
            row["yaml_s"] = time.process_time() - start
            row["yaml_bytes"] = len(text.encode())
            row["json_bytes"] = manifest_size(built.manifest)
            row["steps"] = len(built.plan.steps)
            row["dags"] = len(built.plan.dags)
        out[strategy] = row
    result.write_text(json.dumps(out))


def in_process(project: Path, repeat: int) -> dict[str, object]:
    result = project.parent / f"{project.name}.json"
    cmd = [sys.executable, __file__, "--worker", str(project), "--repeat", str(repeat)]
    run([*cmd, "--result", str(result)], project)
    return json.loads(result.read_text())


# --------------------------------------------------------------------------- CLI part


def cli_commands(nodes: int, out: Path) -> dict[str, list[str]]:
    commands: dict[str, list[str]] = {}
    if nodes <= UNGROUPED_LIMIT:
        commands["ours"] = [KEDRO, "argo", "compile", "-o", str(out / "wf.yaml")]
    commands["ours namespace"] = [
        KEDRO,
        "argo",
        "compile",
        "--group-by",
        "namespace",
        "-o",
        str(out / "wf-ns.yaml"),
    ]
    commands["airflow"] = [KEDRO, "airflow", "create", "-t", str(out / "dags")]
    return commands


def cli_times(project: Path, rounds: int) -> tuple[dict[str, float], str | None, float | None]:
    nodes = shape_of(project)
    commands = cli_commands(nodes, project.parent / f"{project.name}-out")
    for cmd in commands.values():  # warm-up: .pyc files, page cache
        run(cmd, project)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, cmd in commands.items():
            samples[name].append(run(cmd, project)[0])
    refusal = refusal_time = None
    if nodes > UNGROUPED_LIMIT:
        cmd = [KEDRO, "argo", "compile", "-o", str(project.parent / "refused.yaml")]
        refusal_time, text = run(cmd, project, check=False)
        refusal = next((line for line in text.splitlines() if line.startswith("Error:")), text)
    return {k: statistics.median(v) for k, v in samples.items()}, refusal, refusal_time


def shape_of(project: Path) -> int:
    return int(re.search(r"synth-(\d+)", project.name).group(1))  # type: ignore[union-attr]


# --------------------------------------------------------------------------- report


def ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.0f} ms"


def report(sizes: list[int], cli: dict[int, tuple], work: dict[int, dict]) -> None:
    print("\n## Compile wall time: `kedro argo compile` vs `kedro airflow create` (medians)\n")
    print("| nodes | shape | ours (none) | ours (namespace) | kedro-airflow | ours / airflow |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        med, _, _ = cli[n]
        ours = med.get("ours", med["ours namespace"])
        label = "" if "ours" in med else " (namespace)"
        print(
            f"| {n:,} | {shape(n).description} | {ms(med.get('ours'))} | "
            f"{ms(med['ours namespace'])} | {ms(med['airflow'])} | "
            f"**{ours / med['airflow']:.2f}×**{label} |"
        )
    for n in sizes:
        _, refusal, refusal_time = cli[n]
        if refusal:
            print(f"\n{n:,} nodes ungrouped: refused after {ms(refusal_time)}: {refusal}")

    print("\n## Compile work alone: `build_from_facts` on facts loaded once (CPU, medians)\n")
    print(
        "| nodes | `load_project` (once, wall) | build, none | µs / node | build, namespace "
        "| µs / node | build, memory | µs / node |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        w = work[n]
        none, ns, mem = w["none"], w["namespace"], w["memory"]
        refused = " (refused: over 1 MiB)" if "refused" in none else ""
        print(
            f"| {n:,} | {ms(w['load_s'])} | {ms(none['build_s'])}{refused} | "
            f"{none['build_s'] / n * 1e6:.0f} | {ms(ns['build_s'])} | "
            f"{ns['build_s'] / n * 1e6:.0f} | {ms(mem['build_s'])} | "
            f"{mem['build_s'] / n * 1e6:.0f} |"
        )
    print("\nYAML dump of the manifest (`output.to_yaml`, part of `compile -o`, not of the build):")
    for n in sizes:
        w = work[n]
        key = "none" if "yaml_s" in w["none"] else "namespace"
        print(f"  {n:>6,} nodes ({key}): {ms(w[key]['yaml_s'])}")

    print("\n## Manifest bytes per node (compact JSON, what the 1 MiB limit counts), pods\n")
    print("| nodes | " + " | ".join(STRATEGIES) + " |")
    print("|---|" + "---|" * len(STRATEGIES))
    for n in sizes:
        cells = []
        for strategy in STRATEGIES:
            row = work[n][strategy]
            if "refused" in row:
                cells.append(f"refused ({row['kib']} KiB, {row['steps']:,} pods)")
            else:
                cells.append(f"{row['json_bytes'] / n:.0f} B ({row['steps']:,} pods)")
        print(f"| {n:,} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,500,2000,10000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--big-rounds", type=int, default=3, help="rounds for > 2,000 nodes")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=5, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.repeat, args.result)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    import kedro
    import kedro_airflow

    print(
        f"Kedro {kedro.__version__}, kedro-airflow {kedro_airflow.__version__}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    cli: dict[int, tuple] = {}
    work: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-compile-") as tmp:
        for n in sizes:
            project = write_project(Path(tmp) / f"synth-{n}", n)
            big = n > UNGROUPED_LIMIT
            rounds = args.big_rounds if big else args.rounds
            started = time.perf_counter()
            cli[n] = cli_times(project, rounds)
            work[n] = in_process(project, 5 if big else 9)
            print(f"  {n:>6,} nodes: {time.perf_counter() - started:.0f} s", flush=True)
    report(sizes, cli, work)


if __name__ == "__main__":
    main()
