"""Results in the Argo UI at compile time (argo.yml's ``ui``): which datasets become outputs of
which step's template, what the pods read back, and what compile refuses or notes
(docs/ui-results.md)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kedro_argo import contract
from kedro_argo.errors import CompileError

from ..test_contract import step_calls
from ..validator import assert_valid
from .support import build_facts, facts, node, templates

NODES = [
    node("prep", ["raw"], ["clean"]),
    node("fit", ["clean"], ["model"]),
    node("score", ["model", "clean"], ["metrics"]),
    node("plot", ["model"], ["figure"]),
    node("other", ["clean"], ["side"]),
]
#: metrics and figure are declared (saved to files), the rest travel in memory
DECLARED = frozenset({"metrics", "figure", "side"})


def config(**ui: Any) -> dict[str, Any]:
    return {
        "image": "registry.example.com/demo:1",
        "data": {"root": "s3://bucket/run"},
        "ui": ui,
    }


def built(for_local: bool = False, nodes=NODES, **ui: Any):  # type: ignore[no-untyped-def]
    project = facts(
        nodes,
        config(**ui),
        exchanged_datasets=frozenset(ds for n in nodes for ds in n.outputs if ds not in DECLARED),
    )
    return build_facts(project, for_local=for_local)


def test_each_result_is_an_output_of_the_one_step_saving_it():
    b = built(parameters=["metrics"], artifacts=["figure"], artifact_repository="default")
    assert_valid(b.manifest)
    by_name = templates(b.manifest)
    calls = step_calls(b.manifest)
    score_call, score_template = calls["score"]
    plot_call, plot_template = calls["plot"]
    assert score_call.result_parameters == ("metrics",) and score_call.result_artifacts == ()
    assert plot_call.result_artifacts == ("figure",) and plot_call.result_parameters == ()
    assert by_name[score_template]["outputs"] == {
        "parameters": [
            {
                "name": "metrics",
                "valueFrom": {"path": contract.result_path("parameters", "metrics"), "default": ""},
            }
        ]
    }
    assert by_name[plot_template]["outputs"] == {
        "artifacts": [
            {
                "name": "figure",
                "path": contract.result_path("artifacts", "figure"),
                "archive": {"none": {}},
                "optional": True,
            }
        ]
    }
    # the other steps share the plain template, which has no outputs and no --results
    plain = {t for name, (_, t) in calls.items() if name not in ("score", "plot")}
    assert len(plain) == 1 and plain.isdisjoint({score_template, plot_template})
    (shared,) = plain
    assert "outputs" not in by_name[shared]
    assert not any(a.startswith("--results") for a in by_name[shared]["container"]["args"])
    assert "artifactRepositoryRef" not in b.manifest["spec"]  # default: the cluster's own
    assert b.notes == ()


def test_no_ui_leaves_the_manifest_as_it_was():
    assert built().manifest == built(parameters=[], artifacts=[]).manifest


def test_a_repository_reference_reaches_the_spec_only_with_artifacts():
    ref = {"config_map": "repos", "key": "minio"}
    b = built(artifacts=["figure"], artifact_repository=ref)
    assert b.manifest["spec"]["artifactRepositoryRef"] == {"configMap": "repos", "key": "minio"}
    assert (
        "artifactRepositoryRef"
        not in built(parameters=["metrics"], artifact_repository=ref).manifest["spec"]
    )


def test_artifacts_without_a_repository_are_left_out_of_a_cluster_manifest_not_a_local_one():
    cluster = built(artifacts=["figure"])
    assert not any("outputs" in t for t in templates(cluster.manifest).values())
    [note] = cluster.notes
    assert note.startswith("ui.artifacts: figure left out: set ui.artifact_repository")
    local = built(for_local=True, artifacts=["figure"])
    assert any("artifacts" in t.get("outputs", {}) for t in templates(local.manifest).values())
    assert local.notes == ()


def test_a_dataset_the_pipeline_does_not_save_is_noted_not_refused():
    b = built(parameters=["metrics", "elsewhere"], artifacts=["raw"], artifact_repository="default")
    assert b.notes == (
        "ui.parameters: elsewhere not saved by a node of pipeline '__default__': not shown",
        "ui.artifacts: raw not saved by a node of pipeline '__default__': not shown",
    )


def test_an_in_memory_artifact_is_refused():
    with pytest.raises(CompileError, match=r"ui.artifacts: model stay\(s\) in memory"):
        built(artifacts=["model"], artifact_repository="default")


def test_two_datasets_shown_under_one_name_are_refused():
    nodes = [node("a", ["raw"], ["ns.score"]), node("b", ["raw"], ["ns-score"])]
    with pytest.raises(CompileError, match="would both be shown as 'ns-score'"):
        built(nodes=nodes, parameters=["ns.score", "ns-score"])


@given(st.text(min_size=1, max_size=40))
def test_result_names_are_argo_output_names(dataset: str):
    name = contract.result_name(dataset)
    assert name and all((c.isalnum() and c.isascii()) or c in "-_" for c in name)
    assert contract.result_path("parameters", dataset).endswith("/parameters/" + name)


def test_results_round_trip_through_the_pod_contract():
    call = contract.StepCall(
        pipeline="p", nodes=("n",), result_parameters=("a.b", 'q"x'), result_artifacts=("ü",)
    )
    assert contract.parse_step_arguments(contract.step_arguments(call)) == call
    with pytest.raises(contract.ContractError, match="must be a JSON object"):
        contract.parse_step_arguments(["step", "--pipeline=p", '--results={"plots": []}'])
