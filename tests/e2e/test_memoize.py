"""``--skip-unchanged`` (argo.yml's ``memoize``) in local mode: a step whose code, parameters and
inputs are those of an earlier successful run of it is not run again, its outputs are put back
from the cache, and everything that changed (a parameter, a raw input file, the code, an
output overwritten since) runs again (kedro_argo/runtime/memo.py, docs/skip-unchanged.md).

The nodes note each call in ``calls.txt``, so the tests see exactly which nodes ran.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kedro_argo.runtime.memo import ENTRY_FILE, MEMO_FOLDER

from ..mini_project import write_project
from ..sample_project import kedro

pytestmark = pytest.mark.slow

NODES = """\
from pathlib import Path


def _called(name):
    with open("calls.txt", "a") as handle:
        handle.write(name + "\\n")


def first(x):
    _called("first")
    return x + 1


def side(raw):
    _called("side")
    return len(raw)


def combine(a, b):
    _called("combine")
    return {"total": a * 100 + b}


def report(result):
    _called("report")
    return f"total={result['total']}"
"""

REGISTRY = """\
return {
    "__default__": Pipeline(
        [
            node(first, "params:x", "a", name="first"),
            node(side, "raw", "b", name="side"),
            node(combine, ["a", "b"], "result", name="combine"),
            node(report, "result", "report", name="report"),
        ]
    )
}
"""

CATALOG = {
    "raw": {"type": "text.TextDataset", "filepath": "data/raw.txt"},
    "result": {"type": "json.JSONDataset", "filepath": "data/result.json", "versioned": True},
    "report": {"type": "text.TextDataset", "filepath": "data/report.txt"},
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = write_project(
        tmp_path / "memo",
        package="memo_project",
        registry=REGISTRY,
        nodes=NODES,
        catalog=CATALOG,
        parameters={"x": 4},
        argo={"nodes": {"defaults": {"retry": None}}, "ui": {"parameters": ["result"]}},
    )
    (root / "data").mkdir(exist_ok=True)
    (root / "data/raw.txt").write_text("abc")
    return root


def run(project: Path, *extra: str) -> list[str]:
    """Run with --skip-unchanged; the nodes that ran, sorted (calls.txt is reset)."""
    calls = project / "calls.txt"
    calls.unlink(missing_ok=True)
    done = kedro(project, "argo", "run-local", "--no-progress", "--skip-unchanged", *extra)
    assert "succeeded" in done.stderr, done.stderr
    return sorted(calls.read_text().split()) if calls.exists() else []


def test_only_what_changed_runs_again(project: Path) -> None:
    assert run(project) == ["combine", "first", "report", "side"]
    assert (project / "data/report.txt").read_text() == "total=503"
    # nothing changed: nothing runs; every step says why, and the outputs are all there
    assert run(project) == []
    logs = sorted((project / ".kedro-argo/logs").iterdir(), key=lambda p: p.stat().st_mtime)
    for step in ("first", "side", "combine", "report"):
        assert (
            "kedro-argo: step skipped: unchanged since run"
            in (logs[-1] / f"{step}.log").read_text()
        )
    # a skipped step still shows its results (read back from the outputs put back)
    shown = logs[-1] / "combine.results/parameters/result"
    assert json.loads(shown.read_text()) == {"total": 503}
    versions = sorted((project / "data/result.json").iterdir())
    assert len(versions) == 2  # the versioned output was put back at this run's version
    assert [json.loads((v / "result.json").read_text()) for v in versions] == [{"total": 503}] * 2
    # a parameter: the node loading it and everything downstream of it
    assert run(project, "--params", "x=5") == ["combine", "first", "report"]
    assert (project / "data/report.txt").read_text() == "total=603"
    assert run(project, "--params", "x=5") == []
    # back to the first value: its entries are still there; the versioned result comes back
    # from its version of that run, but report.txt (one path) holds x=5's text now, so its
    # step runs to write x=4's again
    assert run(project) == ["report"]
    assert (project / "data/report.txt").read_text() == "total=503"
    # a raw input file
    (project / "data/raw.txt").write_text("abcd")
    assert run(project) == ["combine", "report", "side"]
    assert (project / "data/report.txt").read_text() == "total=504"
    # an output overwritten since it was saved: its step runs to write it again
    (project / "data/report.txt").write_text("edited by hand")
    assert run(project) == ["report"]
    assert (project / "data/report.txt").read_text() == "total=504"
    # the code (any module of the project's package)
    nodes = project / "src/memo_project/nodes.py"
    nodes.write_text(nodes.read_text() + "\n# a comment is a change too\n")
    assert run(project) == ["combine", "first", "report", "side"]


def test_without_the_flag_every_step_runs(project: Path) -> None:
    assert run(project) == ["combine", "first", "report", "side"]
    (project / "calls.txt").unlink()
    kedro(project, "argo", "run-local", "--no-progress")
    assert sorted((project / "calls.txt").read_text().split()) == [
        "combine",
        "first",
        "report",
        "side",
    ]


def test_entries_older_than_max_age_are_not_used(project: Path) -> None:
    argo = project / "conf/base/argo.yml"
    argo.write_text(argo.read_text() + "memoize:\n  enabled: true\n  max_age: 1h\n")
    assert run(project) == ["combine", "first", "report", "side"]
    assert run(project) == []  # within the hour
    entries = sorted((project / ".kedro-argo/data" / MEMO_FOLDER).glob(f"*/{ENTRY_FILE}"))
    assert len(entries) == 4
    for path in entries:
        entry = json.loads(path.read_text())
        if entry["exchanged"] == ["a"]:  # first's: written two hours ago
            entry["created"] -= 2 * 3600
            path.write_text(json.dumps(entry))
    # first runs again; its output is the same object, so what loads it stays skipped
    assert run(project) == ["first"]


@pytest.mark.parametrize("store", ["s3", "gcs"])
def test_the_cache_lives_in_an_object_store_too(
    project: Path, store: str, request: pytest.FixtureRequest
) -> None:
    """The data root in a bucket (moto S3, fake-gcs-server): inputs and outputs are told apart
    by the store's checksums (ETag, md5), the copies are made in the bucket."""
    root = request.getfixturevalue(f"{store}_bucket")
    assert run(project, "--data-root", f"{root}data") == ["combine", "first", "report", "side"]
    assert run(project, "--data-root", f"{root}data") == []
    assert (project / "data/report.txt").read_text() == "total=503"
    assert run(project, "--data-root", f"{root}data", "--params", "x=6") == [
        "combine",
        "first",
        "report",
    ]
    assert (project / "data/report.txt").read_text() == "total=703"
