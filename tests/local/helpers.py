"""Helpers for local-mode tests: manifest builders, step programs, manifest validation.

Every manifest a test builds by hand goes through ``assert_valid`` (kedro-argo's own Argo v4
validation and Hera's models, ``tests/validator.py``), so local mode is only ever tested on
manifests Argo would accept.
"""

from __future__ import annotations

import copy
import io
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from kedro_argo.local import LocalRunResult, run_workflow

from ..validator import problems


def validation_errors(manifest: dict[str, Any]) -> list[str]:
    """Errors Argo's rules find in ``manifest`` (schema, CEL, lint, Hera's parse), as strings."""
    return problems(copy.deepcopy(manifest))


def assert_valid(manifest: dict[str, Any]) -> dict[str, Any]:
    """Assert Argo would accept ``manifest``; return it."""
    errors = validation_errors(manifest)
    assert not errors, "hand-written manifest rejected by Argo's rules:\n" + "\n".join(errors)
    return manifest


def py(code: str, *args: str, **container: Any) -> dict[str, Any]:
    """A container running ``python -S -c code args...`` (``-S``: faster start)."""
    return {"command": ["python", "-S", "-c", code], "args": list(args), **container}


def container_template(name: str, code: str, *args: str, **extra: Any) -> dict[str, Any]:
    container = extra.pop("container", {})
    return {"name": name, "container": {**py(code, *args), **container}, **extra}


def workflow(
    tasks: list[dict[str, Any]],
    templates: list[dict[str, Any]],
    *,
    kind: str = "Workflow",
    **spec: Any,
) -> dict[str, Any]:
    """A Workflow whose entrypoint ``main`` is a dag of ``tasks``."""
    body = {
        "entrypoint": "main",
        "templateDefaults": {"container": {"image": "registry.local/proj:1"}},
        "templates": [{"name": "main", "dag": {"tasks": tasks}}, *templates],
        **spec,
    }
    meta = {"generateName": "t-"} if kind == "Workflow" else {"name": "t"}
    if kind == "CronWorkflow":
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": kind,
            "metadata": meta,
            "spec": {"schedules": ["0 * * * *"], "workflowSpec": body},
        }
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": kind, "metadata": meta, "spec": body}


# --------------------------------------------------------------------------- step programs
# Each reads the marker directory from $MARKS and its own name from sys.argv[1].

# Record start and end wall-clock times around a sleep of argv[2] seconds.
MARK = (
    "import os,sys,time\n"
    "d,n=os.environ['MARKS'],sys.argv[1]\n"
    "open(os.path.join(d,n+'.start'),'w').write(repr(time.time()))\n"
    "time.sleep(float(sys.argv[2]) if len(sys.argv)>2 else 0)\n"
    "open(os.path.join(d,n+'.end'),'w').write(repr(time.time()))\n"
)

#: Seconds a test or a step program waits for a state before giving up: a hang guard only.
HANG_GUARD_S = 120.0

# Record start and end wall-clock times (as MARK) around waiting until file argv[2] exists and
# contains argv[3] (a state another step or the test reaches), or HANG_GUARD_S passed.
AWAIT = (
    "import os,sys,time\n"
    "d,n,path,text=os.environ['MARKS'],sys.argv[1],sys.argv[2],sys.argv[3]\n"
    "open(os.path.join(d,n+'.start'),'w').write(repr(time.time()))\n"
    f"give_up=time.time()+{HANG_GUARD_S}\n"
    "while time.time()<give_up:\n"
    "    try:\n"
    "        if text in open(path,errors='replace').read(): break\n"
    "    except OSError: pass\n"
    "    time.sleep(0.01)\n"
    "open(os.path.join(d,n+'.end'),'w').write(repr(time.time()))\n"
)

# Register in $MARKS/running, wait until argv[2] runners are registered at once (or one of them
# saw that: $MARKS/limit-reached), stay 0.3 s more, and record the most runners seen at once.
# Waiting for the limit to be reached makes reaching it independent of start-up times.
CONCURRENCY = (
    "import os,sys,time\n"
    "m_dir=os.environ['MARKS'];d=os.path.join(m_dir,'running');os.makedirs(d,exist_ok=True)\n"
    "n,want=sys.argv[1],int(sys.argv[2]);reached=os.path.join(m_dir,'limit-reached')\n"
    "me=os.path.join(d,n);open(me,'w').close();m=0\n"
    f"give_up=time.time()+{HANG_GUARD_S}\n"
    "while not os.path.exists(reached) and time.time()<give_up:\n"
    "    m=max(m,len(os.listdir(d)))\n"
    "    if m>=want: open(reached,'w').close()\n"
    "    else: time.sleep(0.01)\n"
    "t=time.time()+0.3\n"
    "while time.time()<t:\n"
    "    m=max(m,len(os.listdir(d)));time.sleep(0.01)\n"
    "os.remove(me);open(os.path.join(m_dir,n+'.max'),'w').write(str(m))\n"
)

# Fail (exit 1) on the first argv[2] calls, then succeed; log each call's start time.
FLAKY = (
    "import os,sys,time\n"
    "p=os.path.join(os.environ['MARKS'],sys.argv[1])\n"
    "open(p+'.times','a').write(repr(time.time())+'\\n')\n"
    "n=int(open(p).read()) if os.path.exists(p) else 0\n"
    "open(p,'w').write(str(n+1))\n"
    "sys.exit(1 if n<int(sys.argv[2]) else 0)\n"
)


def spawn_and_sleep(name: str) -> dict[str, Any]:
    """A container (a shell) starting a grandchild that sleeps 600 s (its pid appended to
    $MARKS/<name>.pid), then waiting for it. A shell starts in about a millisecond, so even
    a short timeout finds the grandchild started."""
    script = '"$2" -S -c "import time; time.sleep(600)" &\necho $! >> "$MARKS/$1.pid"\nwait\n'
    return {"command": ["sh", "-c", script, "sh", name, sys.executable]}


# Write argv[2:] and the environment as JSON to $MARKS/<name>.json.
DUMP = (
    "import json,os,sys\n"
    "json.dump({'argv':sys.argv[2:],'env':dict(os.environ),'cwd':os.getcwd()},"
    "open(os.path.join(os.environ['MARKS'],sys.argv[1]+'.json'),'w'))\n"
)


def times(marks: Path, name: str) -> tuple[float, float]:
    return float((marks / f"{name}.start").read_text()), float((marks / f"{name}.end").read_text())


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie counts as dead)."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.is_dir() and Path("/proc/self").exists():
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(condition: Callable[[], bool], what: str, timeout: float = HANG_GUARD_S) -> None:
    """Poll ``condition`` until it holds; fail saying ``what`` did not happen after
    ``timeout`` seconds (a hang guard: the state is what is waited for)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.02)


def wait_for_exit(pid: int, what: str, timeout: float = HANG_GUARD_S) -> None:
    """Wait until process ``pid`` has ended (a zombie counts); fail after ``timeout``."""
    try:
        fd = os.pidfd_open(pid)  # Linux: readable once the process has ended
    except (AttributeError, OSError):  # already gone, or no pidfd here: poll
        wait_until(lambda: not pid_alive(pid), what, timeout)
        return
    try:
        select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    if pid_alive(pid):
        pytest.fail(f"{what} did not happen within {timeout:g} s")


def ctrl_c_when(
    command: list[str], *, cwd: Path, env: dict[str, str], log: Path, ready: Callable[[], bool]
) -> tuple[int, str]:
    """Start ``command``, press Ctrl-C (SIGINT to it alone, as a terminal does: local mode's
    steps run in process groups of their own) once ``ready()`` holds; its exit code and
    output. The process is killed if it outlives the hang guard."""
    with log.open("w+") as sink:
        run = subprocess.Popen(command, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            wait_until(ready, f"{' '.join(command[:3])}… being ready to interrupt")
            run.send_signal(signal.SIGINT)
            code = run.wait(timeout=HANG_GUARD_S)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
        sink.seek(0)
        return code, sink.read()


@dataclass
class Run:
    result: LocalRunResult
    marks: Path
    output: str  # what the console printed


def run_local(manifest: dict[str, Any], tmp_path: Path, **kwargs: Any) -> Run:
    """Validate ``manifest``, run it with $MARKS set, capture the console output."""
    marks = tmp_path / "marks"
    marks.mkdir(exist_ok=True)
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    out = io.StringIO()
    console = kwargs.pop("console", None) or Console(file=out, width=200, color_system=None)
    extra_env = {"MARKS": str(marks), **kwargs.pop("extra_env", {})}
    result = run_workflow(
        assert_valid(manifest),
        project_path=project,
        log_dir=kwargs.pop("log_dir", tmp_path / "logs"),
        console=console,
        progress=kwargs.pop("progress", False),
        extra_env=extra_env,
        **kwargs,
    )
    return Run(result, marks, out.getvalue())


# Start a grandchild that notes a SIGTERM in $MARKS/<name>.term (and $MARKS/<name>.term.ready
# once it listens), then both sleep 600 s. On SIGTERM the parent (listening before it starts
# the grandchild) waits for the grandchild: a pod's end would kill it at once otherwise.
GRANDCHILD_NOTES_SIGTERM = (
    "import os,signal,subprocess,sys,time\n"
    "code=('import os,signal,sys,time\\n'\n"
    "      'def h(*a):\\n'\n"
    "      '    open(sys.argv[1],\"w\").close(); sys.exit(0)\\n'\n"
    "      'signal.signal(signal.SIGTERM,h)\\n'\n"
    '      \'open(sys.argv[1]+".ready","w").close()\\n\'\n'
    "      'time.sleep(600)\\n')\n"
    "p=os.path.join(os.environ['MARKS'],sys.argv[1]+'.term')\n"
    "c=None\n"
    "signal.signal(signal.SIGTERM,lambda *a:(c and c.wait(),sys.exit(143)))\n"
    "c=subprocess.Popen([sys.executable,'-S','-c',code,p])\n"
    "time.sleep(600)\n"
)

# Leave a grandchild sleeping 600 s in the background (pid in $MARKS/<name>.pid), exit 0.
LEAVE_BACKGROUND = (
    "import os,subprocess,sys\n"
    "c=subprocess.Popen([sys.executable,'-S','-c','import time; time.sleep(600)'])\n"
    "open(os.path.join(os.environ['MARKS'],sys.argv[1]+'.pid'),'w').write(str(c.pid))\n"
)
