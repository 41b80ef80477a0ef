"""``kedro argo run-local --resume RUN``: a failed or interrupted local run goes on from where
it stopped, as Argo's retry does on a cluster: the steps that succeeded are not run again and
their intermediate data is read from the run's prefix of the data root.

The project's nodes note each call in ``calls.txt`` (one line per node run), so the test sees
exactly what ran; ``broken`` makes one node fail and ``block`` makes it wait for a signal.
"""

from __future__ import annotations

import re
from pathlib import Path

from kedro_argo.runtime.store import IntermediateStore

from ..local.helpers import ctrl_c_when
from ..mini_project import write_project
from ..sample_project import KEDRO, base_env, kedro

NODES = """\
import os
import signal
from pathlib import Path


def _called(name):
    with open("calls.txt", "a") as handle:
        handle.write(name + "\\n")


def first(x):
    _called("first")
    return x + 1


def side(x):
    _called("side")
    return x * 2


def flaky(a):
    _called("flaky")
    if Path("broken").exists():
        raise ValueError("flaky is broken (kedro-argo resume test)")
    if Path("block").exists():
        Path("flaky.pid").write_text(str(os.getpid()))
        signal.pause()
    return a * 10


def combine(c, b):
    _called("combine")
    return c + b
"""

REGISTRY = """\
return {
    "__default__": Pipeline(
        [
            node(first, "params:x", "a", name="first"),
            node(side, "params:x", "b", name="side"),
            node(flaky, "a", "c", name="flaky"),
            node(combine, ["c", "b"], "result", name="combine"),
        ]
    )
}
"""
EXPECTED = (4 + 1) * 10 + 4 * 2


def make_project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "resumable",
        package="resumable",
        registry=REGISTRY,
        nodes=NODES,
        parameters={"x": 4},
        argo={"workflow": {"parallelism": 2}, "nodes": {"defaults": {"retry": None}}},
    )


def calls(project: Path) -> list[str]:
    return sorted((project / "calls.txt").read_text().split())


def result_of(data: Path) -> object:
    [path] = [p for p in data.rglob("*") if p.is_file() and p.name.startswith("result")]
    return IntermediateStore().get(str(path))


def resume_hint(output: str) -> str:
    found = re.search(r"kedro argo run-local --resume (\S+?)[).]?$", output, re.MULTILINE)
    assert found, output
    return found.group(1)


def test_a_failed_run_resumed_after_the_fix_runs_only_what_did_not_succeed(tmp_path: Path):
    project = make_project(tmp_path)
    data = tmp_path / "data"
    (project / "broken").touch()
    failed = kedro(
        project, "argo", "run-local", "--data-root", str(data), "--no-progress", check=False
    )
    assert failed.returncode == 1, failed.stderr
    name = resume_hint(failed.stderr)
    assert calls(project) == ["first", "flaky", "side"]

    (project / "broken").unlink()  # the fix
    resumed = kedro(project, "argo", "run-local", "--resume", name, "--no-progress")
    assert f"Workflow {name} succeeded" in resumed.stderr
    assert "reused" in resumed.stderr  # the summary says which steps were not run again
    # first and side ran once (their outputs were read from the run's prefix), flaky again.
    assert calls(project) == ["combine", "first", "flaky", "flaky", "side"]
    assert result_of(data) == EXPECTED
    # The failed step's first log is kept beside the new one; reused steps keep theirs.
    logs = project / ".kedro-argo/logs" / name
    assert "flaky is broken" in (logs / "flaky.log.1").read_text()
    assert "flaky is broken" not in (logs / "flaky.log").read_text()
    assert "Succeeded" in (logs / "first.log").read_text()

    again = kedro(project, "argo", "run-local", "--resume", name, check=False)
    assert again.returncode == 1
    assert f"Local run {name} succeeded: there is nothing to resume" in again.stderr
    assert "Traceback" not in again.stderr
    assert calls(project) == ["combine", "first", "flaky", "flaky", "side"]


def test_an_interrupted_run_resumes_from_the_steps_that_finished(tmp_path: Path):
    project = make_project(tmp_path)
    data = tmp_path / "data"
    (project / "block").touch()
    code, output = ctrl_c_when(
        [KEDRO, "argo", "run-local", "--data-root", str(data), "--no-progress"],
        cwd=project,
        env=base_env(),
        log=tmp_path / "run-local.log",
        ready=(project / "flaky.pid").exists,
    )
    assert code == 130, output
    name = resume_hint(output)
    assert calls(project) == ["first", "flaky", "side"]

    (project / "block").unlink()
    resumed = kedro(project, "argo", "run-local", "--resume", name, "--no-progress")
    assert f"Workflow {name} succeeded" in resumed.stderr
    assert calls(project) == ["combine", "first", "flaky", "flaky", "side"]
    assert result_of(data) == EXPECTED


def test_resume_refusals_name_the_way_out(tmp_path: Path):
    project = make_project(tmp_path)
    unknown = kedro(project, "argo", "run-local", "--resume", "no-such-run", check=False)
    assert unknown.returncode == 1
    assert "No local run 'no-such-run' to resume" in unknown.stderr
    assert "recent runs: none" in unknown.stderr
    mixed = kedro(project, "argo", "run-local", "--resume", "x", "--params", "x=5", check=False)
    assert mixed.returncode == 2
    assert "--resume runs the earlier run again as it was; --params cannot change it" in (
        mixed.stderr
    )
    assert not (project / "calls.txt").exists()
