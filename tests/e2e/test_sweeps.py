"""A sweep run by local mode: every branch's results equal ``kedro run --params`` with that
branch's values; shared nodes run once; branches keep their data, files and versions apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..mini_project import write_project
from ..sample_project import kedro

NODES = """\
from pathlib import Path


def prepare(scale):
    # one line per run of this node: the shared node must run once for all branches
    with Path("data/prepare-runs.txt").open("a") as handle:
        handle.write("ran\\n")
    return [1.0 * scale, 2.0 * scale, 3.0 * scale, 4.0 * scale]


def split(values, options):
    k = int(len(values) * (1 - options["test_size"]))
    return values[:k], values[k:]


def fit(train, alpha):
    return {"weight": sum(train) * alpha}


def score(model, test):
    return {"score": model["weight"] * sum(test)}


def summary(values):
    return {"n": len(values)}
"""

REGISTRY = """\
return {
    "__default__": Pipeline(
        [
            node(prepare, "params:scale", "values", name="prepare"),
            node(split, ["values", "params:model_options"], ["train", "test"], name="split"),
            node(fit, ["train", "params:alpha"], "model", name="fit"),
            node(score, ["model", "test"], "metrics", name="score"),
            node(summary, "values", "summary", name="summarise"),
        ]
    )
}
"""

CATALOG = {
    # declared outputs inside the branches: a path per branch, or a version per branch
    "metrics": {
        "type": "kedro_datasets.json.JSONDataset",
        "filepath": "data/metrics/${argo:sweep}/metrics.json",
    },
    "model": {
        "type": "kedro_datasets.pickle.PickleDataset",
        "filepath": "data/models/model.pkl",
        "versioned": True,
    },
    "summary": {"type": "kedro_datasets.json.JSONDataset", "filepath": "data/summary.json"},
}
GRID = {"alpha": [0.5, 2.0], "model_options.test_size": [0.25, 0.5]}
LABELS = {
    "alpha-0.5_test_size-0.25": (0.5, 0.25),
    "alpha-0.5_test_size-0.5": (0.5, 0.5),
    "alpha-2.0_test_size-0.25": (2.0, 0.25),
    "alpha-2.0_test_size-0.5": (2.0, 0.5),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "swept",
        package="swept",
        registry=REGISTRY,
        nodes=NODES,
        catalog=CATALOG,
        parameters={"scale": 1, "alpha": 1.0, "model_options": {"test_size": 0.25}},
        argo={"sweeps": {"parameters": GRID, "max_parallel": 2}, "workflow": {"parallelism": 2}},
    )


def test_each_branch_equals_kedro_run_with_its_values(project: Path) -> None:
    run = kedro(project, "argo", "run-local", "--no-progress")
    assert "succeeded" in run.stderr, run.stderr
    assert (project / "data" / "prepare-runs.txt").read_text() == "ran\n"  # shared: once
    swept = {
        p.parent.name: json.loads(p.read_text()) for p in (project / "data" / "metrics").glob("*/*")
    }
    assert sorted(swept) == sorted(LABELS)
    versions = sorted(p.name for p in (project / "data" / "models" / "model.pkl").iterdir())
    assert len(versions) == 4 and all(
        any(v.endswith(f"-{label}") for v in versions) for label in LABELS
    ), versions
    for label, (alpha, test_size) in LABELS.items():
        kedro(
            project,
            "run",
            "--params",
            f"alpha={alpha},model_options.test_size={test_size}",
        )
        expected = json.loads((project / "data/metrics/default/metrics.json").read_text())
        assert swept[label] == expected, label
    summary = json.loads((project / "data" / "summary.json").read_text())
    assert summary == {"n": 4}


def test_a_sweep_from_the_command_line_replaces_argo_yml(project: Path) -> None:
    run = kedro(
        project, "argo", "run-local", "--no-progress", "--sweep", "alpha=3,4", "--max-parallel", "1"
    )
    assert "succeeded" in run.stderr, run.stderr
    names = sorted(p.name for p in (project / "data" / "metrics").iterdir())
    assert names == ["alpha-3", "alpha-4"]
    for label, alpha in (("alpha-3", 3), ("alpha-4", 4)):
        weight = (1.0 + 2.0 + 3.0) * alpha  # test_size 0.25 of argo.yml's parameters
        score = json.loads((project / "data/metrics" / label / "metrics.json").read_text())
        assert score == {"score": weight * 4.0}
