"""Ctrl-C during ``kedro argo run-local``: no step process survives, nothing half-written is
left in the data root, and running again succeeds.

The project's nodes make the moment deterministic: while a ``block`` file exists, one step
stops in the middle of writing its output object (its ``__reduce__`` runs inside the store's
write, then waits for a signal) and a parallel step waits for a signal too. The test waits for
both (their pid files), presses Ctrl-C (SIGINT to ``run-local`` alone, as a terminal does: the
steps run in their own process groups) and checks what is left.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from kedro_argo.runtime.store import IntermediateStore

from ..local.helpers import HANG_GUARD_S, pid_alive, wait_for_exit, wait_until
from ..mini_project import write_project
from ..sample_project import KEDRO, base_env, kedro

NODES = """\
import os
import signal
from pathlib import Path


class Slow:
    \"\"\"Pickling one (the store writing it) waits for a signal while ``block`` exists.\"\"\"

    def __init__(self, value):
        self.value = value

    def __reduce__(self):
        if Path("block").exists():
            Path("writing.pid").write_text(str(os.getpid()))
            signal.pause()
        return (Slow, (self.value,))


def make(x):
    return Slow(x)


def hold(x):
    if Path("block").exists():
        Path("holding.pid").write_text(str(os.getpid()))
        signal.pause()
    return x + 1


def combine(slow, held):
    return slow.value * 10 + held
"""

REGISTRY = """\
return {
    "__default__": Pipeline(
        [
            node(make, "params:x", "slow", name="make"),
            node(hold, "params:x", "held", name="hold"),
            node(combine, ["slow", "held"], "result", name="combine"),
        ]
    )
}
"""


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_ctrl_c_leaves_no_process_no_partial_object_and_a_rerun_succeeds(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "interrupted",
        package="interrupted",
        registry=REGISTRY,
        nodes=NODES,
        parameters={"x": 4},
        argo={"workflow": {"parallelism": 2}},
    )
    data = tmp_path / "data"
    (project / "block").touch()
    log = (tmp_path / "run-local.log").open("w+")
    run = subprocess.Popen(
        [KEDRO, "argo", "run-local", "--data-root", str(data), "--no-progress"],
        cwd=project,
        env=base_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(
            lambda: (project / "writing.pid").exists() and (project / "holding.pid").exists(),
            "both steps blocking (one of them halfway through writing its output)",
        )
        steps = [int((project / f"{n}.pid").read_text()) for n in ("writing", "holding")]
        assert all(pid_alive(pid) for pid in steps)

        run.send_signal(signal.SIGINT)
        code = run.wait(timeout=HANG_GUARD_S)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    log.seek(0)
    output = log.read()

    assert code == 130, output
    assert "Interrupted: every running step was stopped" in output
    assert "Traceback" not in output, output
    for pid in steps:
        wait_for_exit(pid, f"step process {pid} ending with run-local")
    # The interrupted write left nothing (no object, no temporary file); what is there reads
    # back whole.
    left = stored_files(data) if data.exists() else []
    assert not [p for p in left if p.name.endswith(".tmp")], left
    assert not [p for p in left if "slow" in p.name], left
    store = IntermediateStore()
    for path in left:
        store.get(str(path))

    (project / "block").unlink()
    rerun = kedro(project, "argo", "run-local", "--data-root", str(data), "--no-progress")
    assert "succeeded" in rerun.stderr
    [result] = [p for p in stored_files(data) if p.name.startswith("result")]
    assert store.get(str(result)) == 4 * 10 + 5
