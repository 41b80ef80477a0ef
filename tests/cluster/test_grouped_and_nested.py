"""``kedro argo status`` and ``kedro argo logs --step`` find steps by their Kedro nodes when a
step runs several nodes (``--group-by``) and when steps sit in nested DAG templates.

Two runs per module (per xdist worker), both on the stand-in Argo Server with local mode and the
fast step stand-in (``local_executor.write_step_shim``):

* ``grouped``: the sample's default pipeline submitted with ``run-once --wait --group-by
  memory``; the pod running ``active_modelling_pipeline.train_model_node`` fails (it retries 3
  times: that node's own retry setting), so ``compare_models_node`` is omitted.
* ``nested``: a pipeline too large for one DAG (two namespaces, 201 steps, compiled from
  hand-made project facts): the DAG tasks ``gamma`` and ``delta`` (``delta`` loads what
  ``gamma`` saves) run nested DAG templates; ``gamma.node_139`` and ``gamma.node_140`` share the
  pod ``tail`` (``--group-by tag``); ``gamma.node_3`` fails, so the rest of ``gamma`` and all of
  ``delta`` are omitted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kedro_argo.compiler.build import BuildRequest, build_from_facts
from kedro_argo.compiler.facts import NodeSpec, ProjectFacts
from kedro_argo.config import parse_config
from kedro_argo.server.status import fnv32a

from ..argo_server import StubArgoServer
from .helpers import (
    COMMIT,
    TOKEN,
    Cli,
    assert_clean_error,
    copy_project,
    describe,
    prepare_env,
    table_rows,
    update_config,
    use_local_mode,
)

ACTIVE = tuple(
    f"active_modelling_pipeline.{n}"
    for n in ("split_data_node", "train_model_node", "evaluate_model_node")
)
CANDIDATE = tuple(n.replace("active_", "candidate_") for n in ACTIVE)
PREP = ("preprocess_companies_node", "preprocess_shuttles_node", "create_model_input_table_node")


@dataclass(frozen=True)
class Finished:
    server: StubArgoServer
    project: Path
    name: str
    workflow: dict[str, Any]


@pytest.fixture(autouse=True)
def _wide_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # grouped steps' Kedro nodes fit on one line


def finish(server: StubArgoServer, project: Path, name: str) -> Finished:
    server.wait_for_phase(name)
    server.wait_idle()
    workflow = server.get("Workflow", name)
    assert workflow is not None
    return Finished(server, project, name, workflow)


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Finished]:
    with StubArgoServer(token=TOKEN, executor=None) as server:
        project = copy_project(tmp_path_factory.mktemp("grouped") / "spaceflights")
        update_config(project, nodes={"defaults": {"retry": None}})
        use_local_mode(
            server, project, shim=True, fail=["active_modelling_pipeline.train_model_node"]
        )
        with pytest.MonkeyPatch.context() as mp:
            prepare_env(mp)
            for key, value in server.env().items():
                mp.setenv(key, value)
            mp.chdir(project)
            result = Cli(project)(
                "run-once", "--wait", "--group-by", "memory", "--poll-interval", "0.2"
            )
        assert result.exit_code == 1, describe(result)
        [workflow] = server.workflows
        yield finish(server, project, workflow["metadata"]["name"])


def chain(namespace: str, count: int, first_input: str, group_from: int | None = None):
    """``count`` nodes of ``namespace``, each loading the previous one's output; those from
    ``group_from`` on are tagged ``group.tail``."""
    return [
        NodeSpec(
            name=f"{namespace}.node_{i}",
            inputs=(f"{namespace}.ds_{i - 1}" if i else first_input,),
            outputs=(f"{namespace}.ds_{i}",),
            tags=frozenset({"group.tail"})
            if group_from is not None and i >= group_from
            else frozenset(),
            namespace=namespace,
        )
        for i in range(count)
    ]


def nested_manifest() -> dict[str, Any]:
    """201 steps (202 nodes, two of them in the pod ``tail``): more than one DAG may hold."""
    nodes = chain("gamma", 141, "raw", group_from=139) + chain("delta", 61, "gamma.ds_140")
    config = parse_config(
        {"image": "registry.example.com/demo:1", "data": {"root": "s3://bucket/run"}},
        source="argo.yml",
    )
    facts = ProjectFacts(
        project_path=Path("/nonexistent/demo"),
        project_name="demo",
        package_name="demo",
        env=None,
        pipeline_name="__default__",
        nodes=tuple(nodes),
        registered={"__default__": frozenset(n.name for n in nodes)},
        all_tags=frozenset({"group.tail"}),
        node_tags={n.name: n.tags for n in nodes},
        exchanged_datasets=frozenset(ds for n in nodes for ds in n.outputs),
        versioned_datasets=frozenset(),
        parameters={},
        runtime_params={},
        commit_id=COMMIT,
        config=config,
    )
    built = build_from_facts(facts, BuildRequest(project_path=facts.project_path, group_by="tag"))
    return built.manifest


@pytest.fixture(scope="module")
def nested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Finished]:
    manifest = nested_manifest()
    with StubArgoServer(token=TOKEN, executor=None) as server:
        project = copy_project(tmp_path_factory.mktemp("nested") / "spaceflights")
        use_local_mode(server, project, shim=True, fail=["gamma.node_3"])
        with server.client() as client:
            name = client.create_workflow(manifest)["metadata"]["name"]
        yield finish(server, project, name)


@pytest.fixture
def kedro_argo(monkeypatch: pytest.MonkeyPatch):
    """``kedro argo …`` in a run's project, against its server: ``kedro_argo(run).ok(...)``."""

    def for_run(run: Finished) -> Cli:
        for key, value in run.server.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(run.project)
        return Cli(run.project)

    return for_run


def rows_by_kedro_nodes(text: str) -> dict[str, list[str]]:
    """Status rows keyed by their Kedro node cell (``step | Kedro node | phase | …``)."""
    return {row[1]: row for row in table_rows(text).values()}


def shim_lines(*nodes: str, fail: bool = False) -> list[str]:
    joined = ",".join(nodes)
    last = f"ValueError: {joined} exploded" if fail else f"shim: done {joined}"
    return [f"shim: running {joined} (status )", last]


# --------------------------------------------------------------------------- grouped steps


def test_status_shows_each_grouped_steps_kedro_nodes(grouped: Finished, kedro_argo) -> None:
    out = kedro_argo(grouped).ok("status", grouped.name).stdout
    rows = rows_by_kedro_nodes(out)
    assert set(rows) == {
        ", ".join(PREP),
        ", ".join(ACTIVE),
        ", ".join(CANDIDATE),
        "compare_models_node",
        "write_report_banner_node",
        next(n for n in rows if n.startswith("summarise_prices__")),
        "all of pipeline notify",
    }, out
    assert rows[", ".join(ACTIVE)][2:4] == ["Failed", "4"]  # its train node's retry limit 3
    assert rows[", ".join(CANDIDATE)][2:4] == ["Succeeded", "1"]
    assert rows[", ".join(PREP)][2:4] == ["Succeeded", "1"]
    assert rows["compare_models_node"][2:4] == ["Omitted", "0"]  # never ran: from the spec


@pytest.mark.parametrize("node", ACTIVE)
def test_logs_of_a_grouped_step_by_any_of_its_kedro_nodes(
    grouped: Finished, kedro_argo, node: str
) -> None:
    out = kedro_argo(grouped).ok("logs", grouped.name, "--step", node).stdout
    assert out.splitlines() == shim_lines(*ACTIVE, fail=True)  # the last attempt's pod only


def test_logs_of_a_grouped_step_that_succeeded(grouped: Finished, kedro_argo) -> None:
    step = "candidate_modelling_pipeline.train_model_node"
    out = kedro_argo(grouped).ok("logs", grouped.name, "--step", step).stdout
    assert out.splitlines() == shim_lines(*CANDIDATE)


def test_logs_of_an_omitted_step_by_kedro_node(grouped: Finished, kedro_argo) -> None:
    result = kedro_argo(grouped)("logs", grouped.name, "--step", "compare_models_node")
    assert_clean_error(result, f"Step compare_models_node of {grouped.name} never ran (Omitted)")


# --------------------------------------------------------------------------- nested DAGs


def nodes_by_name(run: Finished) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in run.workflow["status"]["nodes"].values()}


def test_nested_dags_are_reported_as_argo_reports_them(nested: Finished) -> None:
    name = nested.name
    nodes = nodes_by_name(nested)
    node_id = {n: node["id"] for n, node in nodes.items()}
    for node_name, node in nodes.items():  # ids as Argo makes them
        assert node["id"] == (name if node_name == name else f"{name}-{fnv32a(node_name)}")
    root = nodes[name]
    assert root["type"] == "DAG" and root["phase"] == "Failed"
    assert sorted(root["children"]) == sorted([node_id[f"{name}.gamma"], node_id[f"{name}.delta"]])
    gamma = nodes[f"{name}.gamma"]
    assert (gamma["type"], gamma["phase"], gamma["displayName"]) == ("DAG", "Failed", "gamma")
    assert gamma["templateName"] == "kedro-pipeline-gamma"
    assert gamma["boundaryID"] == name
    step = nodes[f"{name}.gamma.gamma-node-1"]
    assert (step["type"], step["phase"], step["displayName"]) == (
        "Pod",
        "Succeeded",
        "gamma-node-1",
    )
    assert step["boundaryID"] == gamma["id"]
    assert step["id"] in gamma["children"]
    assert step["inputs"] == {"parameters": [{"name": "nodes", "value": "gamma.node_1"}]}
    tail = nodes[f"{name}.gamma.tail"]
    assert (tail["type"], tail["phase"]) == ("Skipped", "Omitted")
    assert "inputs" not in tail  # Argo resolves no inputs for what it does not run
    # delta never started: one Skipped node for the DAG task, none for the tasks inside.
    delta = nodes[f"{name}.delta"]
    assert (delta["type"], delta["phase"]) == ("Skipped", "Omitted")
    assert delta["templateName"] == "kedro-pipeline-delta"
    assert not [n for n in nodes if n.startswith(f"{name}.delta.")]


def test_status_of_nested_steps_shows_their_kedro_nodes(nested: Finished, kedro_argo) -> None:
    out = kedro_argo(nested).ok("status", nested.name).stdout
    assert out.splitlines()[0].strip() == f"{nested.name}: Failed"
    rows = table_rows(out)
    assert "gamma" not in rows  # a DAG node is not a step
    assert rows["gamma-node-1"][1:4] == ["gamma.node_1", "Succeeded", "1"]
    assert rows["gamma-node-3"][1:4] == ["gamma.node_3", "Failed", "1"]
    assert rows["tail"][1:4] == ["gamma.node_139, gamma.node_140", "Omitted", "0"]
    # The omitted nested DAG: one row, listing every Kedro node under it (read from the spec).
    delta = ", ".join(f"delta.node_{i}" for i in range(61))
    assert rows["delta"][1:4] == [delta, "Omitted", "0"]


@pytest.mark.parametrize("step", ["gamma.node_1", "gamma-node-1"])
def test_logs_of_a_nested_step_by_kedro_node_or_task(
    nested: Finished, kedro_argo, step: str
) -> None:
    out = kedro_argo(nested).ok("logs", nested.name, "--step", step).stdout
    assert out.splitlines() == shim_lines("gamma.node_1")


def test_logs_of_the_failed_nested_step(nested: Finished, kedro_argo) -> None:
    out = kedro_argo(nested).ok("logs", nested.name, "--step", "gamma.node_3").stdout
    assert out.splitlines() == shim_lines("gamma.node_3", fail=True)


@pytest.mark.parametrize("node", ["gamma.node_140", "delta.node_7"])
def test_logs_of_omitted_nested_steps_say_they_never_ran(
    nested: Finished, kedro_argo, node: str
) -> None:
    result = kedro_argo(nested)("logs", nested.name, "--step", node)
    assert_clean_error(result, f"Step {node} of {nested.name} never ran (Omitted)")
