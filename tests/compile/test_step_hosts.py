"""The step host bug: a node also registered in a smaller pipeline under remapped datasets or
parameters must not run from that pipeline (it would save to, or load from, the wrong dataset,
or use the wrong parameter — and exit 0). It runs from a pipeline in which it has exactly the
compiled inputs and outputs, else from the compiled pipeline itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ..mini_project import write_project
from ..sample_project import base_env, kedro
from .support import all_tasks, task_nodes, templates

NODES = """\
def make_text(title):
    return f"{title} from make"


def shout(text):
    return text.upper()
"""

REGISTRY = """\
base = Pipeline(
    [
        node(make_text, "params:title", "text", name="make"),
        node(shout, "text", "result", name="save"),
    ]
)
return {
    "__default__": base,
    # each holds one node of __default__ under the same name, with a dataset remapped; named
    # so that choosing by node name alone (smallest, then alphabetical) would pick them
    "a_remapped_outputs": Pipeline(base.only_nodes("save"), outputs={"result": "result_alt"}),
    "b_remapped_inputs": Pipeline(base.only_nodes("save"), inputs={"text": "text_alt"}),
    "c_remapped_params": Pipeline(
        base.only_nodes("make"), parameters={"params:title": "params:other_title"}
    ),
    # same datasets: a fine (smaller) host
    "d_making": base.only_nodes("make"),
}
"""

CATALOG = {
    "result": {"type": "text.TextDataset", "filepath": "data/result.txt"},
    "result_alt": {"type": "text.TextDataset", "filepath": "data/result_alt.txt"},
}


@pytest.fixture(scope="module")
def hosts_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(
        tmp_path_factory.mktemp("hosts") / "hosts",
        package="hosts_demo",
        registry=REGISTRY,
        nodes=NODES,
        catalog=CATALOG,
        parameters={"title": "hello", "other_title": "wrong"},
    )


def host_of(manifest: dict, node_name: str) -> str:
    (task,) = [t for t in all_tasks(manifest) if node_name in task_nodes(t)]
    args = templates(manifest)[task["template"]]["container"]["args"]
    (pipeline,) = [a.removeprefix("--pipeline=") for a in args if a.startswith("--pipeline=")]
    return pipeline


def test_remapped_pipelines_never_host_the_node(hosts_project: Path, tmp_path: Path) -> None:
    target = tmp_path / "workflow.yaml"
    kedro(hosts_project, "argo", "compile", "-o", str(target), env=base_env())
    manifest = yaml.safe_load(target.read_text())
    # `make`: c_remapped_params uses another parameter; d_making has it exactly
    assert host_of(manifest, "make") == "d_making"
    # `save`: both one-node pipelines remap it, so it runs from the compiled pipeline
    assert host_of(manifest, "save") == "__default__"


def test_the_real_output_is_written_when_run(hosts_project: Path, tmp_path: Path) -> None:
    kedro(
        hosts_project,
        "argo",
        "run-local",
        "--no-progress",
        "--data-root",
        str(tmp_path / "data"),
        env=base_env(),
    )
    assert (hosts_project / "data/result.txt").read_text() == "HELLO FROM MAKE"
    assert not (hosts_project / "data/result_alt.txt").exists()
