"""Units of the ``--skip-unchanged`` cache (kedro_argo/runtime/memo.py): checksums, and when a
step cannot be skipped (end to end: tests/e2e/test_memoize.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
import pytest

from kedro_argo import contract
from kedro_argo.runtime import memo


def test_local_checksums_follow_the_bytes_not_the_file(tmp_path: Path) -> None:
    fs = fsspec.filesystem("file")
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"x" * 3_000_000)
    b.write_bytes(b"x" * 3_000_000)
    assert memo.checksum(fs, str(a)) == memo.checksum(fs, str(b))  # copies read alike
    b.write_bytes(b"x" * 2_999_999 + b"y")
    assert memo.checksum(fs, str(a)) != memo.checksum(fs, str(b))
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "part").write_text("1")
    before = memo.checksum(fs, str(folder))
    (folder / "sub" / "part").write_text("2")
    assert memo.checksum(fs, str(folder)) != before


def test_a_store_without_checksums_cannot_be_compared() -> None:
    fs = fsspec.filesystem("memory")
    fs.pipe_file("/memo-test/object", b"data")
    with pytest.raises(memo.Unknowable, match="gives no checksum"):
        memo.checksum(fs, "/memo-test/object")


def test_the_code_version_is_every_python_file_of_the_package(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "notes.txt").write_text("not code")
    first = memo.code_version(tmp_path / "pkg")
    (tmp_path / "pkg" / "notes.txt").write_text("still not code")
    assert memo.code_version(tmp_path / "pkg") == first
    (tmp_path / "pkg" / "sub" / "b.py").write_text("")
    assert memo.code_version(tmp_path / "pkg") != first
    (tmp_path / "compiled").mkdir()
    (tmp_path / "compiled" / "a.pyc").write_bytes(b"\0")
    with pytest.raises(memo.Unknowable, match="no Python source"):
        memo.code_version(tmp_path / "compiled")


@dataclass
class FakeNode:
    name: str


class FakePipeline:
    def __init__(self, inputs: set[str], outputs: set[str]) -> None:
        self.nodes = [FakeNode("n")]
        self._inputs, self._outputs = inputs, outputs

    def inputs(self) -> set[str]:
        return self._inputs

    def all_outputs(self) -> set[str]:
        return self._outputs


class FailingCatalog:
    def load(self, name: str) -> Any:
        return 1

    def get(self, name: str) -> Any:
        raise RuntimeError(f"no version of {name} exists")


POD = contract.PodEnvironment(
    run_id="r", workflow_name="w", created="", commit_id="c", pipeline="p", data_root="/tmp/x"
)


def prepared(tmp_path: Path, call: contract.StepCall, pod: contract.PodEnvironment = POD) -> Any:
    (tmp_path / "pkg").mkdir(exist_ok=True)
    (tmp_path / "pkg" / "nodes.py").write_text("def node(): ...\n")
    return memo.prepare(
        call=call,
        pod=pod,
        source_dir=tmp_path / "pkg",
        catalog=FailingCatalog(),
        pipeline=FakePipeline({"params:a", "table"}, {"out"}),
        exchanged={},
        in_memory=(),
    )


def test_steps_that_cannot_be_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    step = contract.StepCall(pipeline="p", nodes=("n",))
    # an input Kedro cannot resolve (here: no version yet): the step runs, Kedro says why
    assert prepared(tmp_path, step) is None
    assert "Cannot look at this step's inputs (no version of table exists)" in caplog.text
    # the exit handler (no --nodes) and a workflow without a data root never skip
    assert prepared(tmp_path, contract.StepCall(pipeline="p")) is None
    no_root = contract.PodEnvironment(
        run_id="r", workflow_name="w", created="", commit_id="c", pipeline="p"
    )
    assert prepared(tmp_path, step, no_root) is None
