"""Ctrl-C during ``kedro argo run-local``: no step process survives, nothing half-written is
left in the data root, and running again succeeds.

The project's nodes make the moment deterministic: while a ``block`` file exists, one step
stops in the middle of writing its output object (its ``__reduce__`` runs inside the store's
write, then waits for a signal) and a parallel step waits for a signal too. The test waits for
both (their pid files), presses Ctrl-C (SIGINT to ``run-local`` alone, as a terminal does: the
steps run in their own process groups) and checks what is left.
"""

from __future__ import annotations

from pathlib import Path

from kedro_argo.runtime.store import IntermediateStore

from ..local.helpers import ctrl_c_when, pid_alive, wait_for_exit
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
    steps: list[int] = []

    def both_blocking() -> bool:
        """Both steps wait for a signal, one halfway through writing its output."""
        pids = [project / f"{n}.pid" for n in ("writing", "holding")]
        if not all(p.exists() for p in pids):
            return False
        try:
            steps[:] = [int(p.read_text()) for p in pids]
        except ValueError:  # a pid file being written
            return False
        assert all(pid_alive(pid) for pid in steps)
        return True

    code, output = ctrl_c_when(
        [KEDRO, "argo", "run-local", "--data-root", str(data), "--no-progress"],
        cwd=project,
        env=base_env(),
        log=tmp_path / "run-local.log",
        ready=both_blocking,
    )
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
