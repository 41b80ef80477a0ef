"""The in-pod side of the workflow's MLflow run, without MLflow: the record every pod reads,
the status the run ends with, what a step does around its Kedro session (a stand-in MLflow
client records the calls), and the one-line refusals."""

from __future__ import annotations

import importlib.machinery
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kedro_argo import contract
from kedro_argo.runtime import entrypoint
from kedro_argo.runtime import mlflow as workflow_mlflow
from kedro_argo.runtime.entrypoint import StepError
from kedro_argo.runtime.mlflow import RunRecord


def pod(tmp_path: Path, **changes: Any) -> contract.PodEnvironment:
    values: dict[str, Any] = {
        "run_id": "5d1c0e2a-uid",
        "workflow_name": "demo-default-x7k2p",
        "created": "2024-05-01T10:00:00Z",
        "commit_id": "0123abc",
        "pipeline": "__default__",
        "data_root": str(tmp_path / "data"),
        "mlflow": True,
    }
    values.update(changes)
    return contract.PodEnvironment(**values)


RECORD = RunRecord(run_id="abc123", tracking_uri="sqlite:///x.db", experiment_id="1", run_name="p")


@pytest.mark.parametrize(
    ("status", "expected"),
    [("Succeeded", "FINISHED"), ("Failed", "FAILED"), ("Error", "FAILED"), ("", "FAILED")],
)
def test_the_run_ends_with_the_workflows_status(status: str, expected: str) -> None:
    assert workflow_mlflow.final_status(status) == expected


def test_the_run_is_tagged_with_the_workflow(tmp_path: Path) -> None:
    tags = workflow_mlflow.workflow_tags(pod(tmp_path, commit_id=""), "prod")
    assert tags == {
        "kedro-argo.workflow_name": "demo-default-x7k2p",
        "kedro-argo.workflow_uid": "5d1c0e2a-uid",
        "kedro-argo.workflow_created": "2024-05-01T10:00:00Z",
        "kedro-argo.pipeline": "__default__",
        "kedro-argo.env": "prod",
    }
    assert set(tags) <= set(workflow_mlflow.TAGS)


def test_the_record_sits_in_the_runs_data_folder(tmp_path: Path) -> None:
    here = pod(tmp_path)
    assert workflow_mlflow.read_record(here) is None
    workflow_mlflow.write_record(here, RECORD)
    assert workflow_mlflow.read_record(here) == RECORD
    assert (tmp_path / "data" / "5d1c0e2a-uid" / "~mlflow-run").is_file()
    assert workflow_mlflow.read_record(pod(tmp_path, run_id="other")) is None


def test_a_damaged_record_is_one_line(tmp_path: Path) -> None:
    here = pod(tmp_path)
    target = Path(workflow_mlflow.record_uri(here))
    target.parent.mkdir(parents=True)
    target.write_bytes(b"garbage")
    with pytest.raises(StepError, match="MLflow run record cannot be read"):
        workflow_mlflow.read_record(here)


def test_the_record_needs_a_data_root(tmp_path: Path) -> None:
    with pytest.raises(StepError, match=r"data\.root"):
        workflow_mlflow.read_record(pod(tmp_path, data_root=None))


def test_a_step_without_kedro_mlflow_in_the_image_is_told_so(tmp_path: Path) -> None:
    pytest.importorskip("kedro")
    if importlib.util.find_spec("kedro_mlflow") is not None:  # pragma: no cover
        pytest.skip("kedro-mlflow is installed here")
    refused = pytest.raises(StepError, match="kedro-mlflow's hooks do not run here")
    with refused, workflow_mlflow.step_run(pod(tmp_path), exit_status=None):
        pass


# --------------------------------------------------------------------------- around a step


class Client:
    """Stands in for ``mlflow.tracking.MlflowClient``: records every call."""

    calls: list[tuple[Any, ...]] = []

    def __init__(self, tracking_uri: str | None = None, **_: Any) -> None:
        self.uri = tracking_uri

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        self.calls.append(("update_run", self.uri, run_id, status, name))

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        self.calls.append(("set_tag", run_id, key, value))

    def set_terminated(self, run_id: str, status: str) -> None:
        self.calls.append(("set_terminated", run_id, status))


@pytest.fixture
def fake_mlflow(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, ...]]]:
    """kedro-mlflow "installed" and an MLflow client that records what it is asked."""
    kedro_mlflow = types.ModuleType("kedro_mlflow")
    kedro_mlflow.__spec__ = importlib.machinery.ModuleSpec("kedro_mlflow", None)
    mlflow = types.ModuleType("mlflow")
    active: list[str] = []  # MLflow's stack of active runs in this process
    mlflow.active_run = lambda: active[-1] if active else None  # type: ignore[attr-defined]
    mlflow.end_run = lambda: Client.calls.append(("end_run", active.pop()))  # type: ignore[attr-defined]
    mlflow.stack = active  # type: ignore[attr-defined]
    tracking = types.ModuleType("mlflow.tracking")
    tracking.MlflowClient = Client  # type: ignore[attr-defined]
    mlflow.tracking = tracking  # type: ignore[attr-defined]
    for name, module in (("kedro_mlflow", kedro_mlflow), ("mlflow", mlflow)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", tracking)
    monkeypatch.delenv(workflow_mlflow.RUN_ID_ENV, raising=False)
    Client.calls = []
    yield Client.calls


def test_a_step_resumes_the_run_and_leaves_it_running(
    tmp_path: Path, fake_mlflow: list[tuple[Any, ...]]
) -> None:
    here = pod(tmp_path)
    workflow_mlflow.write_record(here, RECORD)
    with workflow_mlflow.step_run(here, exit_status=None):
        assert os.environ[workflow_mlflow.RUN_ID_ENV] == "abc123"  # what kedro-mlflow resumes
    assert workflow_mlflow.RUN_ID_ENV not in os.environ
    assert fake_mlflow == [("update_run", "sqlite:///x.db", "abc123", "RUNNING", "p")]


def test_runs_kedro_mlflow_left_active_are_ended_before_the_status_is_set(
    tmp_path: Path, fake_mlflow: list[tuple[Any, ...]]
) -> None:
    """kedro-mlflow reopens the run before each node and ends it once: MLflow's atexit handler
    would end what is left FINISHED after the step set RUNNING (or the exit handler FAILED)."""
    here = pod(tmp_path)
    workflow_mlflow.write_record(here, RECORD)
    for status, last in ((None, "update_run"), ("Failed", "set_terminated")):
        Client.calls.clear()
        with workflow_mlflow.step_run(here, exit_status=status):
            sys.modules["mlflow"].stack.extend(["abc123", "abc123"])  # type: ignore[attr-defined]
        assert [c[0] for c in fake_mlflow[:2]] == ["end_run", "end_run"]
        assert fake_mlflow[-1][0] == last
        assert sys.modules["mlflow"].active_run() is None  # type: ignore[attr-defined]


def test_a_failed_step_leaves_the_status_kedro_mlflow_set(
    tmp_path: Path, fake_mlflow: list[tuple[Any, ...]]
) -> None:
    here = pod(tmp_path)
    workflow_mlflow.write_record(here, RECORD)
    with pytest.raises(RuntimeError), workflow_mlflow.step_run(here, exit_status=None):
        raise RuntimeError("node failed")
    assert fake_mlflow == [("update_run", "sqlite:///x.db", "abc123", None, "p")]


@pytest.mark.parametrize(
    ("status", "fails", "expected"),
    [("Succeeded", False, "FINISHED"), ("Failed", False, "FAILED"), ("Succeeded", True, "FAILED")],
)
def test_the_exit_pipelines_step_ends_the_run(
    tmp_path: Path, fake_mlflow: list[tuple[Any, ...]], status: str, fails: bool, expected: str
) -> None:
    here = pod(tmp_path)
    workflow_mlflow.write_record(here, RECORD)
    try:
        with workflow_mlflow.step_run(here, exit_status=status):
            if fails:
                raise RuntimeError("exit pipeline failed")
    except RuntimeError:
        assert fails
    assert fake_mlflow[-1] == ("set_terminated", "abc123", expected)
    assert ("update_run", "sqlite:///x.db", "abc123", None, "p") in fake_mlflow


def test_a_step_of_another_workflow_finds_no_run(
    tmp_path: Path, fake_mlflow: list[tuple[Any, ...]]
) -> None:
    refused = pytest.raises(StepError, match="mlflow-start step of this workflow must run first")
    with refused, workflow_mlflow.step_run(pod(tmp_path), exit_status=None):
        pass
    with workflow_mlflow.step_run(pod(tmp_path), exit_status="Failed"):  # start failed: no run
        pass
    assert fake_mlflow == []


def test_tracking_disabled_for_the_pipeline_leaves_mlflow_alone(
    tmp_path: Path, fake_mlflow: list[tuple[Any, ...]]
) -> None:
    here = pod(tmp_path)
    workflow_mlflow.write_record(here, RunRecord("", "sqlite:///x.db", "", ""))
    with workflow_mlflow.step_run(here, exit_status="Succeeded"):
        assert workflow_mlflow.RUN_ID_ENV not in os.environ
    assert fake_mlflow == []


def test_mlflow_end_with_no_recorded_run_has_nothing_to_do(
    tmp_path: Path, fake_mlflow: list[tuple[Any, ...]], capsys: pytest.CaptureFixture[str]
) -> None:
    call = contract.MlflowCall(contract.MLFLOW_END_COMMAND)
    workflow_mlflow.run_command(call, pod(tmp_path), tmp_path, {"X": "1"})
    assert "nothing to end" in capsys.readouterr().out
    assert fake_mlflow == []


# --------------------------------------------------------------------------- the command line


def test_mlflow_commands_outside_a_workflow_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(contract.RUN_ID_ENV, raising=False)
    assert entrypoint.main(["mlflow-start"]) == 2
    assert contract.RUN_ID_ENV in capsys.readouterr().err
    assert entrypoint.main(["mlflow-end", "--nodes=a"]) == 2
    assert "unexpected argument '--nodes=a'" in capsys.readouterr().err


def test_a_step_of_an_mlflow_workflow_without_kedro_mlflow_fails_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if importlib.util.find_spec("kedro_mlflow") is not None:  # pragma: no cover
        pytest.skip("kedro-mlflow is installed here")
    for entry in contract.pod_environment_entries(pod(tmp_path)):
        monkeypatch.setenv(entry["name"], entry["value"])
    assert entrypoint.main(["step", "--pipeline=__default__", "--nodes=a"]) == 2
    assert "kedro-mlflow's hooks do not run here" in capsys.readouterr().err
