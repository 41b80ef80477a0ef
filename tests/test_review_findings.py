"""Review findings on today's features (``--skip-unchanged``, results in the Argo UI, resume).

Each test reproduced one bug found in review (the comment above it says what was wrong); they
all pass since the fixes, and guard against the bugs coming back.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from fsspec.implementations.local import LocalFileSystem

from kedro_argo.runtime import memo
from kedro_argo.runtime.results import json_text

from .mini_project import write_project
from .sample_project import kedro


def _results_of(stderr: str) -> dict[str, str]:
    """``run-local``'s final "Results:" lines: ``{"<step> <dataset>": value}``."""
    lines = stderr.splitlines()
    if "Results:" not in lines:
        return {}
    shown = {}
    for line in lines[lines.index("Results:") + 1 :]:
        found = re.match(r"^  (\S+)\s+(\S+) = (.*)$", line)
        if found:
            shown[f"{found.group(1)} {found.group(2)}"] = found.group(3)
    return shown


# --------------------------------------------------------------------------- skip-unchanged


@pytest.mark.slow
# Was: a skipped sweep branch shows another branch's value of a versioned ui.parameters dataset:
# ResultsRecorder.write loads the latest version, not the one this step put back
def test_a_skipped_branch_shows_its_own_versioned_result(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "swept_results",
        package="swept_results",
        registry=(
            'return {"__default__": Pipeline([node(calc, "params:x", "result", name="calc")])}'
        ),
        nodes="def calc(x):\n    return {'value': x}\n",
        catalog={
            "result": {
                "type": "json.JSONDataset",
                "filepath": "data/result.json",
                "versioned": True,
            }
        },
        parameters={"x": 0},
        # branch x-2 runs first, then x-1: "…-x-2" sorts after "…-x-1" as a version
        argo={
            "nodes": {"defaults": {"retry": None}},
            "ui": {"parameters": ["result"]},
            "sweeps": {"parameters": {"x": [2, 1]}, "max_parallel": 1},
        },
    )
    expected = {
        "sweep.branch(0:x-2).calc result": '{"value":2}',
        "sweep.branch(1:x-1).calc result": '{"value":1}',
    }
    first = kedro(project, "argo", "run-local", "--no-progress", "--skip-unchanged")
    assert _results_of(first.stderr) == expected, first.stderr
    second = kedro(project, "argo", "run-local", "--no-progress", "--skip-unchanged")
    logs = sorted((project / ".kedro-argo/logs").iterdir(), key=lambda p: p.stat().st_mtime)
    branch_logs = sorted(logs[-1].glob("*calc.log"))
    assert len(branch_logs) == 2
    assert all("step skipped: unchanged" in log.read_text() for log in branch_logs)
    # today: "sweep.branch(1:x-1).calc result" = {"value":2}
    assert _results_of(second.stderr) == expected


@pytest.mark.slow
# Was: a skipped grouped step shows an empty value for a ui.parameters dataset kept in the pod's
# memory: nothing caches it and ResultsRecorder.write cannot load it
def test_a_skipped_grouped_step_shows_its_in_memory_result(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "grouped_results",
        package="grouped_results",
        registry=(
            'return {"__default__": Pipeline([node(evaluate, "params:x", "metrics", '
            'name="evaluate"), node(report, "metrics", "report", name="report")])}'
        ),
        nodes=(
            "def evaluate(x):\n    return {'score': x * 10}\n\n\n"
            "def report(m):\n    return f\"score={m['score']}\"\n"
        ),
        catalog={"report": {"type": "text.TextDataset", "filepath": "data/report.txt"}},
        parameters={"x": 1},
        argo={"nodes": {"defaults": {"retry": None}}, "ui": {"parameters": ["metrics"]}},
    )
    args = ("argo", "run-local", "--no-progress", "--skip-unchanged", "--group-by", "memory")
    first = kedro(project, *args)
    assert _results_of(first.stderr) == {"report metrics": '{"score":10}'}, first.stderr
    second = kedro(project, *args)
    # today: "report metrics" = "" (the Argo default), and the step's log says
    # "Cannot show metrics in the Argo UI"
    assert _results_of(second.stderr) == {"report metrics": '{"score":10}'}, second.stderr


class _GcsLike:
    """What gcsfs's ``info()`` gives for objects (the JSON API's object resource): ``etag``
    comes from the object's generation, so it changes on every write and every copy, while
    ``md5Hash`` / ``crc32c`` follow the bytes."""

    def __init__(self, objects: dict[str, dict[str, Any]]) -> None:
        self.objects = objects

    def invalidate_cache(self, path: str | None = None) -> None:
        pass

    def info(self, path: str) -> dict[str, Any]:
        return self.objects[path]


# Was: on GCS memo.checksum uses the per-generation etag (first in _CHECKSUM_KEYS) instead of
# md5Hash/crc32c as docs/skip-unchanged.md says: identical bytes in a new object differ
def test_gcs_objects_with_the_same_bytes_have_the_same_checksum() -> None:
    same_bytes = {"md5Hash": "rL0Y20zC+Fzt72VPzMSk2A==", "crc32c": "yZRlqg==", "size": 3}
    fs = _GcsLike(
        {
            # the upstream step's output in run 1, and the same bytes put back in run 2
            "bucket/data/run-1/a": {
                **same_bytes,
                "type": "file",
                "etag": "CKih16GjycICEAE=",
                "generation": "1700000000000000",
            },
            "bucket/data/run-2/a": {
                **same_bytes,
                "type": "file",
                "etag": "CJ+Wx9ekycICEAE=",
                "generation": "1700000100000000",
            },
        }
    )
    assert memo.checksum(fs, "bucket/data/run-1/a") == memo.checksum(fs, "bucket/data/run-2/a")


# Was: StepMemo.try_reuse: a store error while putting the outputs back escapes (the step fails,
# half its outputs put back) instead of being a miss that runs the step
def test_a_failing_put_back_runs_the_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "data"
    entry_root = root / memo.MEMO_FOLDER / "k"
    (entry_root / "data").mkdir(parents=True)
    for name in ("a", "b"):
        (entry_root / "data" / name).write_bytes(b"cached " + name.encode())
    (entry_root / memo.ENTRY_FILE).write_text(
        json.dumps({"format": memo.FORMAT, "key": "k", "created": time.time(), "declared": {}})
    )
    step = memo.StepMemo(
        key="k",
        entry_root=str(entry_root),
        catalog=None,
        exchanged_outputs={"a": str(root / "run-2" / "a"), "b": str(root / "run-2" / "b")},
        declared_outputs=(),
    )
    copy = LocalFileSystem.copy
    calls = []

    def flaky_copy(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return copy(self, *args, **kwargs)

    monkeypatch.setattr(LocalFileSystem, "copy", flaky_copy)
    assert step.try_reuse() is None  # today: OSError raised out of the step runner


# --------------------------------------------------------------------------- UI results


# Was: json_text shows a pandas Series through tolist() (its labels lost), not to_dict() as
# docs/ui-results.md says
def test_a_pandas_series_result_keeps_its_labels() -> None:
    pd = pytest.importorskip("pandas")
    metrics = pd.Series({"mae": 1.5, "r2_score": 0.9})
    assert json.loads(json_text(metrics)) == {"mae": 1.5, "r2_score": 0.9}  # today [1.5, 0.9]


# Was: json_text sorts keys, so a JSON-able dict with int and str keys raises TypeError and the
# result is not shown
def test_a_dict_with_int_and_str_keys_is_shown() -> None:
    assert json.loads(json_text({1: "a", "b": 2})) == {"1": "a", "b": 2}


# --------------------------------------------------------------------------- resume


@pytest.mark.slow
# Was: run-local --resume: a reused step's results are not read back (_advance_step marks it
# Succeeded without _collect_outputs), so the resumed run shows and returns none of them
def test_a_resumed_run_shows_the_results_of_the_reused_steps(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "resumed_results",
        package="resumed_results",
        registry=(
            'return {"__default__": Pipeline([node(evaluate, "params:x", "metrics", '
            'name="evaluate"), node(report, "metrics", "report", name="report")])}'
        ),
        nodes=(
            "from pathlib import Path\n\n\n"
            "def evaluate(x):\n    return {'score': x * 10}\n\n\n"
            "def report(m):\n"
            "    if Path('broken').exists():\n"
            "        raise ValueError('report is broken')\n"
            "    return f\"score={m['score']}\"\n"
        ),
        catalog={
            "metrics": {"type": "json.JSONDataset", "filepath": "data/metrics.json"},
            "report": {"type": "text.TextDataset", "filepath": "data/report.txt"},
        },
        parameters={"x": 1},
        argo={"nodes": {"defaults": {"retry": None}}, "ui": {"parameters": ["metrics", "report"]}},
    )
    (project / "broken").touch()
    failed = kedro(project, "argo", "run-local", "--no-progress", check=False)
    assert failed.returncode == 1, failed.stderr
    name = re.search(r"--resume (\S+?)\)", failed.stderr).group(1)  # type: ignore[union-attr]
    (project / "broken").unlink()
    resumed = kedro(project, "argo", "run-local", "--no-progress", "--resume", name)
    assert "reused" in resumed.stderr
    # today: only {"report report": '"score=10"'}
    assert _results_of(resumed.stderr) == {
        "evaluate metrics": '{"score":10}',
        "report report": '"score=10"',
    }, resumed.stderr
