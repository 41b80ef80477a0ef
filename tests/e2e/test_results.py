"""Results (argo.yml's ``ui``) in local mode: the pods write what the template's outputs read,
``run-local`` prints them at the end, and they are what the run saved."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ..sample_project import copy_project, kedro, update_config

pytestmark = pytest.mark.slow


def test_run_local_prints_the_results_the_steps_saved(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "spaceflights")
    update_config(
        project,
        ui={
            "parameters": ["active_modelling_pipeline_metrics", "report_banner"],
            "artifacts": ["model_comparison"],
        },
    )
    run = kedro(project, "argo", "run-local", "--no-progress")
    lines = run.stderr.splitlines()
    shown = lines[lines.index("Results:") + 1 :]
    results = {}
    for line in shown:
        found = re.match(r"^  (\S+)\s+(\S+)(?: = | \(artifact\): )(.*)$", line)
        if found:
            results[found.group(2)] = (found.group(1), found.group(3))
    step, value = results["active_modelling_pipeline_metrics"]
    assert step == "active-modelling-pipeline-evaluate-model-node"
    saved = project / "data/08_reporting/active_modelling_pipeline_metrics.json"
    assert json.loads(value) == json.loads(saved.read_text())
    banner_step, banner = results["report_banner"]  # a text dataset: its string, as JSON
    assert banner_step == "write-report-banner-node"
    assert json.loads(banner) == (project / "data/08_reporting/report_banner.txt").read_text()
    step, where = results["model_comparison"]
    assert step == "compare-models-node"
    copied = Path(where)
    assert copied.is_relative_to(project / ".kedro-argo/logs")
    assert copied.read_bytes() == (project / "data/08_reporting/model_comparison.csv").read_bytes()
    # compile for a cluster: no artifact repository configured, so artifacts are left out
    compiled = kedro(project, "argo", "compile", "-o", str(tmp_path / "wf.yaml"))
    assert "Note: ui.artifacts: model_comparison left out" in compiled.stderr


def test_a_failed_step_shows_no_result(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "spaceflights")
    update_config(
        project,
        ui={"parameters": ["active_modelling_pipeline_metrics"]},
        nodes={"defaults": {"retry": None}},  # the sample retries after 30 s and 60 s
    )
    nodes = project / "src/spaceflights/pipelines/data_science/nodes.py"
    source = nodes.read_text()
    # evaluate_model fails after computing, before its output is saved
    broken = re.sub(
        r"(def evaluate_model\([^)]*\)[^:]*:\n)",
        r'\1    raise ValueError("metrics withheld (kedro-argo results test)")\n',
        source,
        count=1,
    )
    assert broken != source
    nodes.write_text(broken)
    run = kedro(project, "argo", "run-local", "--no-progress", check=False)
    assert run.returncode == 1
    assert "Results:" not in run.stderr
    assert "metrics withheld" in run.stderr
