"""``withItems`` loops in local mode: an item per child, ``{{item}}`` / ``{{item.key}}`` in the
task's arguments, the loop dag's parallelism, dependents waiting for every item."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_argo.errors import LocalRunError
from kedro_argo.local import WorkflowPhase
from kedro_argo.local.resolve import PlannedDag, plan_workflow

from .helpers import run_local, workflow
from .test_executor import CONC_TEMPLATE, MARK_TEMPLATE, mark_task


def test_map_items_fill_item_keys_and_dependents_wait_for_all(tmp_path: Path) -> None:
    loop = {
        "name": "each",
        "template": "mark",
        "withItems": [{"id": "one", "n": 1}, {"id": "two", "n": 2}],
        "arguments": {"parameters": [{"name": "id", "value": "{{item.id}}-{{item.n}}"}]},
    }
    after = mark_task("after", depends="each")
    run = run_local(workflow([loop, after], [MARK_TEMPLATE]), tmp_path)
    assert run.result.phase is WorkflowPhase.SUCCEEDED, run.output
    names = [s.name for s in run.result.steps]
    assert names == ['each(0:{"id":"one","n":1})', 'each(1:{"id":"two","n":2})', "after"]
    ends = [float((run.marks / f"{i}.end").read_text()) for i in ("one-1", "two-2")]
    assert float((run.marks / "after.start").read_text()) >= max(ends)


def test_scalar_items_and_the_loop_dags_parallelism(tmp_path: Path) -> None:
    inner = {
        "name": "loop",
        "parallelism": 1,
        "dag": {
            "tasks": [
                {
                    "name": "t",
                    "template": "conc",
                    "withItems": ["a", "b", "c"],
                    "arguments": {"parameters": [{"name": "id", "value": "{{item}}"}]},
                }
            ]
        },
    }
    run = run_local(
        workflow([{"name": "grp", "template": "loop"}], [inner, CONC_TEMPLATE], parallelism=3),
        tmp_path,
    )
    assert run.result.phase is WorkflowPhase.SUCCEEDED, run.output
    assert max(int((run.marks / f"{i}.max").read_text()) for i in "abc") == 1


def test_item_tags_outside_a_loop_or_missing_keys_are_refused(tmp_path: Path) -> None:
    outside = workflow([mark_task("{{item}}")], [MARK_TEMPLATE])
    outside["spec"]["templates"][0]["dag"]["tasks"][0]["name"] = "a"
    outside["spec"]["templates"][0]["dag"]["tasks"][0]["arguments"]["parameters"][0]["value"] = (
        "{{item}}"
    )
    with pytest.raises(LocalRunError, match="only set in a task with withItems"):
        plan_workflow(outside, project_path=tmp_path)
    missing = workflow(
        [
            {
                "name": "each",
                "template": "mark",
                "withItems": [{"id": "x"}],
                "arguments": {"parameters": [{"name": "id", "value": "{{item.other}}"}]},
            }
        ],
        [MARK_TEMPLATE],
    )
    with pytest.raises(LocalRunError, match=r"the item has no 'item\.other'"):
        plan_workflow(missing, project_path=tmp_path)
    empty = workflow([{"name": "each", "template": "mark", "withItems": []}], [MARK_TEMPLATE])
    with pytest.raises(LocalRunError, match="withItems must be a non-empty list"):
        plan_workflow(empty, project_path=tmp_path)


def test_a_loop_is_a_dag_of_its_items(tmp_path: Path) -> None:
    loop = {
        "name": "each",
        "template": "mark",
        "withItems": [1, 2],
        "arguments": {"parameters": [{"name": "id", "value": "n{{item}}"}]},
    }
    plan = plan_workflow(workflow([loop], [MARK_TEMPLATE]), project_path=tmp_path)
    (group,) = plan.root.children
    assert isinstance(group, PlannedDag)
    assert [c.name for c in group.children] == ["each(0:1)", "each(1:2)"]
